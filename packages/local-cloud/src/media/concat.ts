import { MediaError } from './errors';
import { ffmpegPath, ProcessFailedError, runProcess } from './ffmpeg';
import { probeVideo } from './probe';

export interface ClipPart {
  file: string;
  startTime?: number;
  /** Unset: to the end of the file. */
  duration?: number;
}

/**
 * Joins trimmed clips, in order, into one H.264 MP4 the size of the first clip (IMM merges several Sources into
 * one output the same way). Video only: animations carry no sound.
 */
export async function concatVideos(parts: readonly ClipPart[], output: string): Promise<void> {
  const videos = await Promise.all(parts.map((part) => probeVideo(part.file)));
  const { width, height } = videos[0]!;
  const inputs = parts.flatMap((part) => [
    ...(part.startTime ? ['-ss', String(part.startTime)] : []),
    ...(part.duration ? ['-t', String(part.duration)] : []),
    '-i', part.file,
  ]);
  const normalized = parts.map((_, index) => `[${index}:v]scale=${width}:${height},setsar=1,setpts=PTS-STARTPTS[v${index}]`);
  const joined = `${parts.map((_, index) => `[v${index}]`).join('')}concat=n=${parts.length}:v=1:a=0[out]`;
  try {
    await runProcess(ffmpegPath(), [
      '-hide_banner', '-nostdin', '-v', 'error', '-y',
      ...inputs,
      '-filter_complex', [...normalized, joined].join(';'),
      '-map', '[out]',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '12', '-pix_fmt', 'yuv420p',
      '-f', 'mp4',
      output,
    ]);
  } catch (error) {
    if (error instanceof ProcessFailedError) throw new MediaError('ConversionFailed', error.message);
    throw error;
  }
}
