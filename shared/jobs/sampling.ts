import { PermanentFailure } from '../platform/errors';
import * as z from '../platform/zod';
import type { Output } from '../rules/schema';

/** What the job learned of its source (IMM DetectMediaMeta): seconds, pixels, frames per second. */
export const MediaInfoSchema = z.object({
  duration: z.number(),
  width: z.optional(z.number()),
  height: z.optional(z.number()),
  frameRate: z.optional(z.number()),
});
export type MediaInfo = z.infer<typeof MediaInfoSchema>;

/** How one output samples its source, in the units both engines speak, and the frames that gives (IMM bills them). */
export interface Sampling {
  /** Seconds into the source where sampling starts; unset: the beginning. */
  start?: number;
  /** Seconds of source sampled; unset: to the end. */
  duration?: number;
  /** Seconds between sampled frames; unset: the engine's default. */
  interval?: number;
  /** The frame cap sent (IMM `Number`, OSS `num_`). */
  number: number;
  /** Playback frames per second; unset: the engine's default (1/interval). */
  frameRate?: number;
  /** The frames the output will have: what the task is billed for, known before it runs. */
  plannedFrames: number;
}

/** A `frames` output's window does not overlap the video: the job fails before anything is billed. */
export class WindowOutsideVideo extends PermanentFailure {
  override name = 'WindowOutsideVideo';
  constructor(message: string) {
    super('WindowOutsideVideo', message);
  }
}

/**
 * Playback rate of a `frames` output without frameRate: a loop of about 4 seconds, between 2 and 10 frames per
 * second (12 frames: 3 fps; 24: 6 fps; 48 and more: 10 fps), slow enough to see each moment of the video.
 */
export function loopFrameRate(frames: number): number {
  return Math.max(2, Math.min(10, Math.round(frames / 4)));
}

/**
 * How an output samples its source. With `frames`, exactly that many frames spread evenly over the window: the
 * whole video by default, narrowed by start and duration, cut at the video's end; a clip with fewer frames than
 * the budget gives all it has, never more (an interval below the source's frame interval means every frame).
 * Without, the rule's own interval and cap; the planned frames then use the window when it is known.
 */
export function outputSampling(output: Output, media?: MediaInfo): Sampling {
  if (output.frames !== undefined) {
    if (!media) throw new Error('a frames output needs the media duration (DetectMediaMeta)');
    const start = output.start ?? 0;
    const end = Math.min(output.duration !== undefined ? start + output.duration : Infinity, media.duration);
    const window = end - start;
    if (!(window > 0)) {
      throw new WindowOutsideVideo(`the window starting at ${start} s is past the end of the video (${media.duration} s); lower the output's start`);
    }
    const number = Math.min(output.frames, output.maxFrames);
    const available = media.frameRate ? Math.max(1, Math.floor(window * media.frameRate + 1e-9)) : number;
    return {
      ...(output.start !== undefined ? { start } : {}),
      duration: window,
      interval: window / output.frames,
      number,
      frameRate: output.frameRate ?? loopFrameRate(number),
      plannedFrames: Math.min(number, available),
    };
  }
  const windowSeconds = knownWindow(output, media);
  // Every frame of the window: what no interval, or one below the source's frame interval (IMM falls back to it), gives.
  const everyFrame = windowSeconds !== undefined && media?.frameRate ? Math.floor(windowSeconds * media.frameRate + 1e-9) : undefined;
  const byInterval =
    output.interval !== undefined && windowSeconds !== undefined ? Math.min(Math.ceil(windowSeconds / output.interval - 1e-9), everyFrame ?? Infinity) : undefined;
  const byFrameRate = output.interval === undefined ? everyFrame : undefined;
  return {
    ...(output.start !== undefined ? { start: output.start } : {}),
    ...(output.duration !== undefined ? { duration: output.duration } : {}),
    ...(output.interval !== undefined ? { interval: output.interval } : {}),
    // OSS has no duration parameter: the cap is what bounds the window there (IMM gets both).
    number: output.duration !== undefined && output.interval !== undefined ? Math.min(output.maxFrames, Math.ceil(output.duration / output.interval - 1e-9)) : output.maxFrames,
    ...(output.frameRate !== undefined ? { frameRate: output.frameRate } : {}),
    plannedFrames: Math.max(1, Math.min(output.maxFrames, byInterval ?? byFrameRate ?? output.maxFrames)),
  };
}

function knownWindow(output: Output, media?: MediaInfo): number | undefined {
  const start = output.start ?? 0;
  if (media) return Math.max(0, Math.min(output.duration ?? Infinity, media.duration - start));
  return output.duration;
}

/** Whether any output of the rule needs the video's duration before its task can be planned. */
export function needsMedia(outputs: readonly Output[]): boolean {
  return outputs.some((o) => o.frames !== undefined);
}
