import { MediaError } from './errors';
import { ffprobePath, ProcessFailedError, runProcess } from './ffmpeg';

export interface VideoInfo {
  /** Displayed width, after the rotation the player (and ffmpeg's autorotate) applies. */
  width: number;
  height: number;
  durationSeconds: number;
  frameRate: number;
}

interface ProbeOutput {
  streams?: {
    width?: number;
    height?: number;
    avg_frame_rate?: string;
    r_frame_rate?: string;
    duration?: string;
    tags?: { rotate?: string };
    side_data_list?: { rotation?: number }[];
  }[];
  format?: { duration?: string };
}

/** Reads the first video stream of a file; MediaError `UndecodableMedia` when there is none or ffprobe cannot read it. */
export async function probeVideo(file: string): Promise<VideoInfo> {
  let stdout: string;
  try {
    ({ stdout } = await runProcess(ffprobePath(), [
      '-v', 'error',
      '-select_streams', 'v:0',
      '-show_entries', 'stream=width,height,avg_frame_rate,r_frame_rate,duration:stream_tags=rotate:stream_side_data=rotation:format=duration',
      '-of', 'json',
      file,
    ]));
  } catch (error) {
    if (error instanceof ProcessFailedError) throw new MediaError('UndecodableMedia', `cannot read media: ${error.message}`);
    throw error;
  }
  const probe = JSON.parse(stdout) as ProbeOutput;
  const stream = probe.streams?.[0];
  if (!stream?.width || !stream.height) throw new MediaError('UndecodableMedia', 'the file has no decodable video stream');

  const durationSeconds = Number(stream.duration ?? probe.format?.duration);
  const frameRate = parseRate(stream.avg_frame_rate) ?? parseRate(stream.r_frame_rate);
  if (!Number.isFinite(durationSeconds) || durationSeconds <= 0 || frameRate === undefined) {
    throw new MediaError('UndecodableMedia', 'the video stream has no usable duration or frame rate');
  }
  const rotation = Number(stream.tags?.rotate ?? stream.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? 0);
  const quarterTurn = Math.abs(rotation) % 180 === 90;
  return {
    width: quarterTurn ? stream.height : stream.width,
    height: quarterTurn ? stream.width : stream.height,
    durationSeconds,
    frameRate,
  };
}

function parseRate(rate: string | undefined): number | undefined {
  if (!rate) return undefined;
  const [numerator, denominator = '1'] = rate.split('/');
  const value = Number(numerator) / Number(denominator);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/** What `ffprobe -show_format -show_streams -of json` reports (only the fields read are typed). */
export interface MediaProbe {
  format: Record<string, unknown> & { tags?: Record<string, string> };
  streams: (Record<string, unknown> & { codec_type?: string; tags?: Record<string, string>; side_data_list?: { rotation?: number }[] })[];
}

/** Every stream and the container of a media file; MediaError `UndecodableMedia` when ffprobe cannot read it or finds no stream. */
export async function probeMedia(file: string): Promise<MediaProbe> {
  let stdout: string;
  try {
    ({ stdout } = await runProcess(ffprobePath(), ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', file]));
  } catch (error) {
    if (error instanceof ProcessFailedError) throw new MediaError('UndecodableMedia', `cannot read media: ${error.message}`);
    throw error;
  }
  const probe = JSON.parse(stdout) as Partial<MediaProbe>;
  if (!probe.format || !probe.streams?.length) throw new MediaError('UndecodableMedia', 'the file has no media stream');
  return { format: probe.format, streams: probe.streams };
}
