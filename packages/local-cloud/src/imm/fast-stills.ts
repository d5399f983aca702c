import sharp from 'sharp';
import { MediaError, type VideoInfo } from '../media';
import type { OssLocation } from './oss-uri';
import { framesPerStillFile, plannedStillFrames, stillClip, stillLayout, stillLocation, type StillTarget } from './stills';

/**
 * The fast conversion mode's `Snapshots` and `Sprites` (see fast-animation.ts for its animations): instead of running
 * ffmpeg, a task writes the files the real renderer (stills.ts) would write, as many, as large and holding as many
 * frames (planned from the probed source by the same selection), each a flat-colour JPEG or PNG. So a job with
 * posters and storyboards completes in load runs, where the pixels do not matter but the files, their count and
 * the frames billed do.
 */

export interface FastStill {
  location: OssLocation;
  format: 'jpg' | 'png';
  bytes: Buffer;
  /** Frames the file stands for: 1 for a snapshot, its tiles for a sprite sheet. */
  frames: number;
  width: number;
  height: number;
}

/** `Mode` keyframe or dhash: the frames depend on the pictures, which the fast mode does not decode. */
export class UnplannableStillError extends Error {
  constructor(readonly mode: string) {
    super(`Mode ${mode} selects frames by their pictures, which the fast conversion mode does not decode; use interval or average, or the ffmpeg mode`);
    this.name = 'UnplannableStillError';
  }
}

const CACHE_ENTRIES = 32;
/** Encoded images by (format, size, colour): a burst of one clip through one rule encodes each file once. */
const encoded = new Map<string, Promise<Buffer>>();

export async function fastStills(source: VideoInfo, sourceLocation: OssLocation, still: StillTarget): Promise<FastStill[]> {
  const frames = plannedStillFrames(still.target, stillClip(source, still));
  if (frames === undefined) throw new UnplannableStillError(still.target.Mode ?? 'interval');
  if (frames === 0) throw new MediaError('EmptySelection', 'no frame of the video matches the selection');
  const { width, height, framesPerFile } = stillLayout(source, still);
  const format = still.target.Format;
  return Promise.all(
    framesPerStillFile(frames, framesPerFile).map(async (fileFrames, i) => ({
      // IMM numbers a target's files from 1 ({index} in the URI).
      location: stillLocation(still.target.URI, sourceLocation, format, i + 1, still.path),
      format,
      bytes: await image(format, width, height, i),
      frames: fileFrames,
      width,
      height,
    })),
  );
}

function image(format: 'jpg' | 'png', width: number, height: number, index: number): Promise<Buffer> {
  // Neighbouring files differ in colour (candidates and sheets are told apart at a glance).
  const colour = { r: (index * 97 + 40) % 256, g: (index * 57 + 120) % 256, b: (index * 151 + 200) % 256 };
  const key = `${format}:${width}x${height}:${colour.r},${colour.g},${colour.b}`;
  let bytes = encoded.get(key);
  if (!bytes) {
    const flat = sharp({ create: { width, height, channels: 3, background: colour } });
    bytes = format === 'jpg' ? flat.jpeg({ quality: 50 }).toBuffer() : flat.png({ compressionLevel: 9, effort: 1 }).toBuffer();
    if (encoded.size >= CACHE_ENTRIES) encoded.delete(encoded.keys().next().value!);
    encoded.set(key, bytes);
    bytes.catch(() => encoded.delete(key));
  }
  return bytes;
}
