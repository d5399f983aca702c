import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ffmpegPath } from '@video-animation/local-cloud';
import sharp from 'sharp';

/**
 * A 320x180 video that starts black for `blackSeconds`, then shows 4 s of a test pattern: its first frame is black,
 * so a poster or a storyboard tile taken there is too.
 */
export async function darkThenPatternVideo(dir: string, blackSeconds: number): Promise<Buffer> {
  const file = path.join(dir, 'dark.mp4');
  // prettier-ignore
  await promisify(execFile)(ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `color=black:s=320x180:r=25:d=${blackSeconds}`,
    '-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=25:d=4',
    '-filter_complex', '[0:v][1:v]concat=n=2:v=1[v]', '-map', '[v]', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', file,
  ]);
  return readFile(file);
}

/** Mean brightness and largest spread (colour channels) of an image or a region of it. */
export async function imageStats(image: Buffer, region?: { left: number; top: number; width: number; height: number }) {
  const input = region ? await sharp(image).extract(region).toBuffer() : image;
  const colour = (await sharp(input).stats()).channels.slice(0, 3);
  return { mean: colour.reduce((sum, c) => sum + c.mean, 0) / colour.length, spread: Math.max(...colour.map((c) => c.stdev)) };
}
