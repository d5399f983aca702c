import { MediaError } from './errors';
import { ffprobePath, ProcessFailedError, runProcess } from './ffmpeg';

export interface VideoInfo {
  /**
   * Displayed width: stretched by the sample aspect ratio (720x576 at SAR 64:45 shows as 1024x576), after the
   * rotation the player (and ffmpeg's autorotate) applies.
   */
  width: number;
  height: number;
  /** Seconds of video, from its first frame. */
  durationSeconds: number;
  /**
   * Whether the duration is the video stream's own (MP4, MOV, AVI; MKV/WebM's per-stream DURATION tag), not the
   * container's, which an audio track may make longer than the video: only then can a short decode mean a cut file.
   */
  streamDuration: boolean;
  frameRate: number;
  /**
   * Seconds from the container's start to the video stream's first frame (an FLV whose audio starts before its
   * video). ffmpeg shifts timestamps so the container starts at 0; the video's own time is `t - videoStartSeconds`.
   */
  videoStartSeconds: number;
}

interface ProbeOutput {
  streams?: {
    width?: number;
    height?: number;
    avg_frame_rate?: string;
    r_frame_rate?: string;
    duration?: string;
    start_time?: string;
    sample_aspect_ratio?: string;
    tags?: { rotate?: string; DURATION?: string };
    side_data_list?: { rotation?: number }[];
  }[];
  format?: { duration?: string; start_time?: string };
}

/** Reads the first video stream of a file; MediaError `UndecodableMedia` when there is none or ffprobe cannot read it. */
export async function probeVideo(file: string): Promise<VideoInfo> {
  let stdout: string;
  try {
    ({ stdout } = await runProcess(ffprobePath(), [
      '-v', 'error',
      '-select_streams', 'v:0',
      '-show_entries', 'stream=width,height,avg_frame_rate,r_frame_rate,duration,start_time,sample_aspect_ratio:stream_tags=rotate,DURATION:stream_side_data=rotation:format=duration,start_time',
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

  const containerStart = Number(probe.format?.start_time ?? 0);
  const streamStart = Number(stream.start_time ?? containerStart);
  const videoStartSeconds = Number.isFinite(streamStart - containerStart) ? Math.max(0, streamStart - containerStart) : 0;
  // A container's duration runs from its own start; without a stream duration, the video's is what is left of it.
  const ownDuration = stream.duration !== undefined ? Number(stream.duration) : parseClock(stream.tags?.DURATION);
  const streamDuration = ownDuration !== undefined && Number.isFinite(ownDuration) && ownDuration > 0;
  const durationSeconds = streamDuration ? ownDuration : Number(probe.format?.duration) - videoStartSeconds;
  const frameRate = parseRate(stream.avg_frame_rate) ?? parseRate(stream.r_frame_rate);
  if (!Number.isFinite(durationSeconds) || durationSeconds <= 0 || frameRate === undefined) {
    throw new MediaError('UndecodableMedia', 'the video stream has no usable duration or frame rate');
  }
  const rotation = Number(stream.tags?.rotate ?? stream.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? 0);
  const quarterTurn = Math.abs(rotation) % 180 === 90;
  // Non-square pixels: the wider side grows, as players show it (no pixel is thrown away).
  const sar = parseRate(stream.sample_aspect_ratio?.replace(':', '/')) ?? 1;
  const displayWidth = sar > 1 ? Math.round(stream.width * sar) : stream.width;
  const displayHeight = sar < 1 ? Math.round(stream.height / sar) : stream.height;
  return {
    width: quarterTurn ? displayHeight : displayWidth,
    height: quarterTurn ? displayWidth : displayHeight,
    durationSeconds,
    streamDuration,
    frameRate,
    videoStartSeconds,
  };
}

/** `00:00:03.003000000` (Matroska's DURATION tag) in seconds. */
function parseClock(text: string | undefined): number | undefined {
  const match = /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(text ?? '');
  return match ? Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]) : undefined;
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
