import { ffmpegPath, runProcess } from './ffmpeg';

export interface SampleVideoOptions {
  seconds: number;
  /** Even numbers: H.264 with 4:2:0 chroma needs them. */
  width: number;
  height: number;
  fps: number;
}

/** Writes an H.264 MP4 of ffmpeg's built-in test pattern (moving, with a frame counter): no download needed. */
export async function generateSampleVideo(output: string, options: SampleVideoOptions): Promise<void> {
  const { seconds, width, height, fps } = options;
  await runProcess(ffmpegPath(), [
    '-hide_banner', '-nostdin', '-v', 'error', '-y',
    '-f', 'lavfi',
    '-i', `testsrc=size=${width}x${height}:rate=${fps}:duration=${seconds}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-movflags', '+faststart',
    '-f', 'mp4',
    output,
  ]);
}
