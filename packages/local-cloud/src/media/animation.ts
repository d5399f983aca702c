import { stat } from 'node:fs/promises';
import { MediaError } from './errors';
import { ffmpegPath, ProcessFailedError, runProcess } from './ffmpeg';
import { probeVideo, type VideoInfo } from './probe';

export type AnimationFormat = 'gif' | 'webp';
export type ScaleType = 'stretch' | 'crop' | 'fill' | 'fit';

/**
 * One animated image to cut from a video, with IMM's TargetImageAnimations semantics
 * (the OSS `video/animation` parameters map onto it one to one).
 */
export interface AnimationSpec {
  format: AnimationFormat;
  /** Integer = pixels; in (0,1) = ratio of the source. Unset: the source's, or kept in proportion when only the other is set. */
  width?: number;
  height?: number;
  /** Default `stretch`. */
  scaleType?: ScaleType;
  /** Seconds between sampled frames; unset/0 or below the source frame interval = every source frame. */
  interval?: number;
  /** Playback frames per second; unset/0 = 1 / interval. */
  frameRate?: number;
  /** Seconds into the selected source range at which sampling starts. */
  startTime?: number;
  /** Maximum frames; unset/0 = no limit. */
  number?: number;
  /** The source clip (IMM `Sources[].StartTime` / `Duration`), in seconds. */
  sourceStartTime?: number;
  sourceDuration?: number;
}

export interface AnimationResult {
  frames: number;
  width: number;
  height: number;
  bytes: number;
}

/** How the sampled frames are resized: scale to `scaled*`, then crop or pad to `width`×`height`. */
export interface Geometry {
  scaledWidth: number;
  scaledHeight: number;
  width: number;
  height: number;
  fitting: 'none' | 'crop' | 'pad';
}

export interface AnimationPlan {
  geometry: Geometry;
  startSeconds: number;
  durationSeconds: number;
  intervalSeconds: number;
  frameRate: number;
  maxFrames?: number;
}

/** Resolves a spec against the probed source: sizes, time range, sampling and playback rates. Pure. */
export function planAnimation(source: Pick<VideoInfo, 'width' | 'height' | 'durationSeconds' | 'frameRate'>, spec: AnimationSpec): AnimationPlan {
  const clipStart = spec.sourceStartTime ?? 0;
  const clipEnd = spec.sourceDuration !== undefined ? Math.min(clipStart + spec.sourceDuration, source.durationSeconds) : source.durationSeconds;
  const startSeconds = clipStart + (spec.startTime ?? 0);
  const durationSeconds = clipEnd - startSeconds;
  if (durationSeconds <= 0) {
    throw new MediaError('EmptySelection', `start ${startSeconds}s is not before the end ${clipEnd}s of the selected video range`);
  }
  const sourceInterval = 1 / source.frameRate;
  const intervalSeconds = Math.max(spec.interval || 0, sourceInterval);
  return {
    geometry: planGeometry(source, spec),
    startSeconds,
    durationSeconds,
    intervalSeconds,
    frameRate: spec.frameRate || 1 / intervalSeconds,
    maxFrames: spec.number || undefined,
  };
}

/**
 * How many frames renderAnimation's ffmpeg select keeps: one per `interval` bucket among the source frames of the
 * selected range (frame k at k / frameRate, the range half-open), capped by `maxFrames`. The interval is never below
 * the source frame interval, so consecutive frames fall in the same or the next bucket and every bucket up to the
 * last frame's gets one: the count is that bucket's index + 1 (no loop over the frames of a long video).
 */
export function plannedFrameCount(plan: AnimationPlan, sourceFrameRate: number): number {
  const end = plan.durationSeconds - 0.0001;
  // The last source frame before the end of the range.
  const lastFrame = Math.ceil(end * sourceFrameRate) - 1;
  if (end <= 0 || lastFrame < 0) return 0;
  const frames = Math.floor(lastFrame / sourceFrameRate / plan.intervalSeconds + 0.001) + 1;
  return plan.maxFrames ? Math.min(frames, plan.maxFrames) : frames;
}

export function planGeometry(source: Pick<VideoInfo, 'width' | 'height'>, spec: Pick<AnimationSpec, 'width' | 'height' | 'scaleType'>): Geometry {
  const requestedWidth = toPixels(spec.width, source.width);
  const requestedHeight = toPixels(spec.height, source.height);
  const width = requestedWidth ?? (requestedHeight !== undefined ? proportional(source.width, requestedHeight / source.height) : source.width);
  const height = requestedHeight ?? (requestedWidth !== undefined ? proportional(source.height, requestedWidth / source.width) : source.height);

  switch (spec.scaleType ?? 'stretch') {
    case 'stretch':
      return { scaledWidth: width, scaledHeight: height, width, height, fitting: 'none' };
    case 'crop': {
      const scale = Math.max(width / source.width, height / source.height);
      const scaledWidth = Math.max(width, proportional(source.width, scale));
      const scaledHeight = Math.max(height, proportional(source.height, scale));
      return { scaledWidth, scaledHeight, width, height, fitting: 'crop' };
    }
    case 'fill':
    case 'fit': {
      const scale = Math.min(width / source.width, height / source.height);
      const scaledWidth = Math.min(width, proportional(source.width, scale));
      const scaledHeight = Math.min(height, proportional(source.height, scale));
      return spec.scaleType === 'fill'
        ? { scaledWidth, scaledHeight, width, height, fitting: 'pad' }
        : { scaledWidth, scaledHeight, width: scaledWidth, height: scaledHeight, fitting: 'none' };
    }
  }
}

function toPixels(value: number | undefined, sourcePixels: number): number | undefined {
  if (value === undefined) return undefined;
  return value < 1 ? proportional(sourcePixels, value) : Math.round(value);
}

function proportional(pixels: number, ratio: number): number {
  return Math.max(1, Math.round(pixels * ratio));
}

/**
 * Converts `input` (any video ffmpeg reads) into an animated GIF or WebP at `output`, looping forever.
 * Frames are sampled one per `interval` bucket from the start time, so the count does not drift when the
 * interval is not a multiple of the source frame interval.
 */
export async function renderAnimation(input: string, output: string, spec: AnimationSpec): Promise<AnimationResult> {
  const source = await probeVideo(input);
  const plan = planAnimation(source, spec);
  const { geometry } = plan;

  // No input seek: `-ss` on a stream that does not start at 0 (an FLV whose first frame is at 1.7 s) drops the frames
  // before the seek point's keyframe, or every frame. The graph selects the window on the video's own time instead
  // (the container starts at 0, the video at videoStartSeconds). The range is half-open. Bucket index of a
  // timestamp: the small bias keeps exact multiples of the interval in their own bucket.
  const videoTime = `(t-${source.videoStartSeconds})`;
  const from = plan.startSeconds;
  const end = plan.startSeconds + plan.durationSeconds - 0.0001;
  const bucket = (t: string) => `floor((${t}-${from})/${plan.intervalSeconds}+0.001)`;
  const filters = [
    `select='gte(${videoTime},${from})*lt(${videoTime},${end})*if(isnan(prev_selected_t),1,gt(${bucket(videoTime)},${bucket(`(prev_selected_t-${source.videoStartSeconds})`)}))'`,
    // A fine time base before the even timestamps: in the source's (1/10 in a 10 fps AVI) N/frameRate rounds to
    // uneven ticks, and the encoder turns them into delays like 170, 160, 10, 330 ms (0 ms frames in WebP).
    'settb=1/1000000',
    `setpts=N/(${plan.frameRate}*TB)`,
    `scale=${geometry.scaledWidth}:${geometry.scaledHeight}`,
    ...(geometry.fitting === 'crop' ? [`crop=${geometry.width}:${geometry.height}`] : []),
    ...(geometry.fitting === 'pad' ? [`pad=${geometry.width}:${geometry.height}:(ow-iw)/2:(oh-ih)/2:black`] : []),
    'setsar=1',
  ];
  // One palette from every pixel of every frame: palettegen's stats_mode=diff leaves out the colours only the last
  // frame has, which then comes out in the previous frame's colours.
  const graph =
    spec.format === 'gif'
      ? `[0:v]${filters.join(',')},split[frames][forPalette];[forPalette]palettegen[palette];[frames][palette]paletteuse[out]`
      : `[0:v]${filters.join(',')}[out]`;
  const encoding =
    spec.format === 'gif'
      ? ['-f', 'gif']
      : ['-c:v', 'libwebp_anim', '-lossless', '0', '-q:v', '75', '-f', 'webp'];

  let progress: string;
  try {
    ({ stdout: progress } = await runProcess(ffmpegPath(), [
      '-hide_banner', '-nostdin', '-nostats', '-v', 'error', '-y',
      '-i', input,
      '-filter_complex', graph,
      '-map', '[out]',
      // Passthrough keeps exactly the selected frames; -r gives the encoder a 1/frameRate time base so frame
      // delays come out exact (GIF stores centiseconds, WebP milliseconds).
      '-vsync', '0',
      '-r', String(plan.frameRate),
      ...(plan.maxFrames ? ['-frames:v', String(plan.maxFrames)] : []),
      '-loop', '0',
      ...encoding,
      '-progress', 'pipe:1',
      output,
    ]));
  } catch (error) {
    if (error instanceof ProcessFailedError) throw new MediaError('ConversionFailed', error.message);
    throw error;
  }
  const frames = Number([...progress.matchAll(/^frame=(\d+)$/gm)].pop()?.[1] ?? 0);
  if (frames === 0) throw new MediaError('EmptySelection', 'no frame was selected from the video');
  const planned = plannedFrameCount(plan, source.frameRate);
  // One frame of slack for the window's edge (a last frame a hair before the end, a rounded duration). Checked only
  // against the video stream's own duration: a container's may run on with audio after the last frame.
  if (source.streamDuration && frames < planned - 1) {
    throw new MediaError(
      'IncompleteMedia',
      `the video stops early: ${frames} of the ${planned} planned frames could be decoded (its header says ${source.durationSeconds} s); the file is truncated or damaged`,
    );
  }
  const { size } = await stat(output);
  return { frames, width: geometry.width, height: geometry.height, bytes: size };
}
