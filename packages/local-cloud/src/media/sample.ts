import sharp from 'sharp';
import { ffmpegPath, runProcess } from './ffmpeg';

export interface SampleVideoOptions {
  seconds: number;
  /** Even numbers: H.264 with 4:2:0 chroma needs them. */
  width: number;
  height: number;
  fps: number;
  /**
   * `test-card` (default): ffmpeg's moving test pattern with a frame counter. `clock`: flat greys that tell each
   * frame's time, for tests that check which frames an animation took (readClockFrames reads them back). Three
   * vertical bands: the tens of the whole second, its units, and the frame's number within its second, in grey
   * steps wide enough to survive lossy WebP (videos up to 69 s, fps up to 6).
   */
  pattern?: 'test-card' | 'clock';
}

/** Grey step of each clock band: tens of seconds (0-6), units of seconds (0-9), frame within the second (0-5). */
const CLOCK_STEPS = [40, 25, 40] as const;

/** Writes an H.264 MP4 of a generated pattern: no download needed. */
export async function generateSampleVideo(output: string, options: SampleVideoOptions): Promise<void> {
  const { seconds, width, height, fps } = options;
  const source =
    options.pattern === 'clock'
      ? `nullsrc=size=${width}x${height}:rate=${fps}:duration=${seconds},format=gray,geq=lum='` +
        `if(lt(X,W/3),${CLOCK_STEPS[0]}*floor(N/${fps}/10),if(lt(X,2*W/3),${CLOCK_STEPS[1]}*mod(floor(N/${fps}),10),${CLOCK_STEPS[2]}*mod(N,${fps})))'`
      : `testsrc=size=${width}x${height}:rate=${fps}:duration=${seconds}`;
  await runProcess(ffmpegPath(), [
    '-hide_banner', '-nostdin', '-v', 'error', '-y',
    '-f', 'lavfi',
    '-i', source,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-movflags', '+faststart',
    '-f', 'mp4',
    output,
  ]);
}

/** The source time (seconds) of every frame of an animated GIF or WebP cut from a `clock` sample video of `fps`. */
export async function readClockFrames(animation: Buffer, fps: number): Promise<number[]> {
  const { data, info } = await sharp(animation, { animated: true }).raw().toBuffer({ resolveWithObject: true });
  const pageHeight = info.pageHeight ?? info.height;
  // The middle of each band.
  const band = (page: number, index: 0 | 1 | 2) => {
    const grey = data[((page * pageHeight + Math.floor(pageHeight / 2)) * info.width + Math.floor(((2 * index + 1) * info.width) / 6)) * info.channels]!;
    return Math.round(grey / CLOCK_STEPS[index]);
  };
  return Array.from({ length: info.height / pageHeight }, (_, page) => {
    const seconds = 10 * band(page, 0) + band(page, 1) + band(page, 2) / fps;
    return Math.round(seconds * 1000) / 1000;
  });
}
