/**
 * The local IMM's `Targets[].Image.Snapshots` and `Targets[].Image.Sprites`, rendered with ffmpeg in the layout IMM
 * documents (imm-20200930 TargetImageSnapshots / TargetImageSprites; IMM guide "Frame capture", "Sprites from
 * videos"):
 * - frames: `Mode` `interval` (default): from `StartTime` every `Interval` seconds, `Number` of them (0: to the end);
 *   `average`: exactly `Number` frames at even intervals, here the middle of `Number` equal slices of the video;
 *   `keyframe`: the key frames; `dhash`: frames whose picture changes by more than `Threshold` (0-100; ffmpeg's
 *   scene score stands in for IMM's perceptual hash), the first frame always included;
 * - a sprite sheet holds `TileWidth` columns by `TileHeight` rows of tiles (`ScaleWidth` x `ScaleHeight` each),
 *   row by row, `Margin` pixels to the edges and `Pad` between tiles (defaults 6, 6, 2, 2), a new sheet when full;
 * - several files from one target are numbered from 1 through `{index}` in the URI; without it each overwrites the
 *   previous one, as IMM warns.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { MediaError, planGeometry, type Geometry, type VideoInfo } from '../media';
import { ffmpegPath, ProcessFailedError, runProcess } from '../media/ffmpeg';
import { expandUriTemplate, parseOssUri, UnknownTemplateVariableError, type OssLocation } from './oss-uri';

const dimension = z
  .number({ error: 'must be a number' })
  .refine((value) => (Number.isInteger(value) && value >= 1 && value <= 4096) || (value > 0 && value <= 1), {
    error: 'must be an integer in [1, 4096] (pixels) or a decimal in (0, 1] (ratio of the source)',
  });
const seconds = z.number({ error: 'must be a number' }).min(0, { error: 'must be >= 0' });
const count = z.number({ error: 'must be a number' }).int({ error: 'must be an integer' }).min(0, { error: 'must be >= 0' });
const frameSelection = {
  URI: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }),
  Format: z.enum(['jpg', 'png'], { error: 'must be jpg or png' }),
  ScaleType: z.enum(['stretch', 'crop', 'fill', 'fit'], { error: 'must be stretch, crop, fill or fit' }).optional(),
  StartTime: seconds.optional(),
  Interval: seconds.optional(),
  Number: count.optional(),
  Mode: z.enum(['interval', 'keyframe', 'average', 'dhash'], { error: 'must be interval, keyframe, average or dhash' }).optional(),
  Threshold: z.number({ error: 'must be a number' }).min(0, { error: 'must be in [0, 100]' }).max(100, { error: 'must be in [0, 100]' }).optional(),
};

export const snapshotSchema = z.object({ ...frameSelection, Width: dimension.optional(), Height: dimension.optional() });
export const spriteSchema = z.object({
  ...frameSelection,
  TileWidth: count.min(1, { error: 'must be >= 1' }).max(100, { error: 'must be <= 100' }).optional(),
  TileHeight: count.min(1, { error: 'must be >= 1' }).max(100, { error: 'must be <= 100' }).optional(),
  Margin: count.optional(),
  Pad: count.optional(),
  ScaleWidth: dimension.optional(),
  ScaleHeight: dimension.optional(),
});

export type SnapshotTarget = z.infer<typeof snapshotSchema>;
export type SpriteTarget = z.infer<typeof spriteSchema>;

/** A Snapshots or Sprites entry of a request, where it sits (`Targets[0].Image.Sprites[1]`) and its source clip. */
export type StillTarget = { path: string; sourceStartTime?: number; sourceDuration?: number } & (
  | { kind: 'snapshot'; target: SnapshotTarget }
  | { kind: 'sprite'; target: SpriteTarget }
);

export interface RenderedStill {
  location: OssLocation;
  file: string;
  format: 'jpg' | 'png';
  /** Frames the file holds (1 for a snapshot, its tiles for a sheet). */
  frames: number;
  width: number;
  height: number;
}

/** The output location of a target's `index`-th file (1-based): IMM's `{index}` and the usual variables expanded. */
export function stillLocation(template: string, source: OssLocation, format: string, index: number, path: string): OssLocation {
  const withIndex = template.replace(/\{\{|\}\}|\{index\}/g, (token) => (token === '{index}' ? String(index) : token));
  let uri: string;
  try {
    uri = expandUriTemplate(withIndex, source, format);
  } catch (error) {
    if (error instanceof UnknownTemplateVariableError) throw new MediaError('ConversionFailed', `${path}.URI has an ${error.message}`);
    throw error;
  }
  const location = parseOssUri(uri);
  if (!location || location.key.startsWith('/')) throw new MediaError('ConversionFailed', `${path}.URI must be an OSS URI oss://bucket/key, got ${uri}`);
  return location;
}

/**
 * The ffmpeg frame selection for a target over the clip [start, end) of the source. `bucketSeconds`: for `average`
 * and `interval`, the first frame of each such slice from the seek point is kept (see firstOfEach).
 */
export function selectionFilter(
  target: SnapshotTarget | SpriteTarget,
  clip: { start: number; end: number; frameRate: number },
): { seek: number; filter: string; maxFrames?: number; bucketSeconds?: number } {
  const start = clip.start + (target.StartTime ?? 0);
  const length = clip.end - start;
  if (length <= 0) throw new MediaError('EmptySelection', `StartTime ${target.StartTime ?? 0}s is not before the end of the video (${clip.end}s)`);
  const number = target.Number || undefined;
  switch (target.Mode ?? 'interval') {
    case 'average': {
      const n = number ?? 1;
      const step = length / n;
      return { seek: start + step / 2, filter: firstOfEach(step), maxFrames: n, bucketSeconds: step };
    }
    case 'keyframe':
      return { seek: start, filter: `select='eq(pict_type\\,I)',setpts=N/TB`, ...(number ? { maxFrames: number } : {}) };
    case 'dhash': {
      const threshold = (target.Threshold ?? 0) / 100;
      return { seek: start, filter: `select='eq(n\\,0)+gt(scene\\,${threshold})',setpts=N/TB`, ...(number ? { maxFrames: number } : {}) };
    }
    case 'interval': {
      const interval = Math.max(target.Interval || 1 / clip.frameRate, 1 / clip.frameRate);
      return { seek: start, filter: firstOfEach(interval), ...(number ? { maxFrames: number } : {}), bucketSeconds: interval };
    }
  }
}

/**
 * How many frames selectionFilter keeps from a source of constant `frameRate` whose frames sit at k / frameRate:
 * one per `bucketSeconds` slice among the frames in [seek, end), at most `maxFrames`. Undefined for `keyframe` and
 * `dhash`, whose frames depend on the pictures. (The fast conversion mode writes this many without decoding.)
 */
export function plannedStillFrames(target: SnapshotTarget | SpriteTarget, clip: { start: number; end: number; frameRate: number }): number | undefined {
  const { seek, maxFrames, bucketSeconds } = selectionFilter(target, clip);
  if (bucketSeconds === undefined) return undefined;
  const fps = clip.frameRate;
  const first = Math.ceil(seek * fps - 1e-6);
  const last = Math.ceil((clip.end - 0.0001) * fps) - 1;
  if (last < first) return 0;
  const bucket = (index: number) => Math.floor((index / fps - seek) / roundTo(bucketSeconds, 6) + 0.001);
  // Slices shorter than a frame hold at most one frame each: every frame is kept.
  const frames = bucketSeconds * fps >= 1 ? bucket(last) - bucket(first) + 1 : last - first + 1;
  return maxFrames !== undefined ? Math.min(frames, maxFrames) : frames;
}

/**
 * The first frame at or after each multiple of `seconds` from the seek point. (ffmpeg's fps filter would give, for
 * each slot, the last frame that rounds to it: the frame at 1.4 s for "every 3 s" at 5 fps, not the one at 0.)
 */
function firstOfEach(seconds: number): string {
  const bucket = (t: string) => `floor(${t}/${roundTo(seconds, 6)}+0.001)`;
  return `select='if(isnan(prev_selected_t)\\,1\\,gt(${bucket('t')}\\,${bucket('prev_selected_t')}))',setpts=N/TB`;
}

/** The part of the source a still target samples: the task's source window (Sources[0]), cut to the video. */
export function stillClip(source: VideoInfo, still: StillTarget): { start: number; end: number; frameRate: number } {
  const start = still.sourceStartTime ?? 0;
  const end = still.sourceDuration !== undefined ? Math.min(start + still.sourceDuration, source.durationSeconds) : source.durationSeconds;
  return { start, end, frameRate: source.frameRate };
}

export interface StillLayout {
  /** Each frame's size and scaling. */
  geometry: Geometry;
  /** Each file's size: a snapshot's frame, or a whole sprite sheet (a last sheet not full keeps the grid's size). */
  width: number;
  height: number;
  framesPerFile: number;
  tiles?: { columns: number; rows: number; margin: number; pad: number };
}

/** The size of the files a target writes, and the frames each holds. */
export function stillLayout(source: VideoInfo, still: StillTarget): StillLayout {
  const { target } = still;
  if (still.kind === 'snapshot') {
    const geometry = planGeometry(source, { width: still.target.Width, height: still.target.Height, scaleType: target.ScaleType });
    return { geometry, width: geometry.width, height: geometry.height, framesPerFile: 1 };
  }
  const geometry = planGeometry(source, { width: still.target.ScaleWidth, height: still.target.ScaleHeight, scaleType: target.ScaleType });
  const tiles = { columns: still.target.TileWidth ?? 6, rows: still.target.TileHeight ?? 6, margin: still.target.Margin ?? 2, pad: still.target.Pad ?? 2 };
  return {
    geometry,
    width: 2 * tiles.margin + tiles.columns * geometry.width + (tiles.columns - 1) * tiles.pad,
    height: 2 * tiles.margin + tiles.rows * geometry.height + (tiles.rows - 1) * tiles.pad,
    framesPerFile: tiles.columns * tiles.rows,
    tiles,
  };
}

/** Frames per file, in file order, for `frames` frames selected: full files, then what is left. */
export function framesPerStillFile(frames: number, framesPerFile: number): number[] {
  return Array.from({ length: Math.ceil(frames / framesPerFile) }, (_, i) => Math.min(framesPerFile, frames - i * framesPerFile));
}

/** Renders one Snapshots or Sprites entry into `dir`; the files in output order with their OSS locations. */
export async function renderStill(input: string, source: VideoInfo, sourceLocation: OssLocation, still: StillTarget, dir: string): Promise<RenderedStill[]> {
  const clip = stillClip(source, still);
  const clipEnd = clip.end;
  const selection = selectionFilter(still.target, clip);
  const { target } = still;
  const layout = stillLayout(source, still);
  const { geometry } = layout;
  const filters = [
    selection.filter,
    `scale=${geometry.scaledWidth}:${geometry.scaledHeight}`,
    ...(geometry.fitting === 'crop' ? [`crop=${geometry.width}:${geometry.height}`] : []),
    ...(geometry.fitting === 'pad' ? [`pad=${geometry.width}:${geometry.height}:(ow-iw)/2:(oh-ih)/2:black`] : []),
    ...(layout.tiles ? [`tile=${layout.tiles.columns}x${layout.tiles.rows}:margin=${layout.tiles.margin}:padding=${layout.tiles.pad}`] : []),
  ];
  const perFile = layout.framesPerFile;
  const maxFiles = selection.maxFrames !== undefined ? Math.ceil(selection.maxFrames / perFile) : undefined;
  const size = { width: layout.width, height: layout.height };
  const pattern = join(dir, `${still.kind}-%d.${target.Format}`);
  // -ss and -to count from the container's start: a video that starts after it (an FLV whose audio comes first) is
  // shifted by its start, and a seek to 0 before its first frame (which finds no frame at all) never happens.
  const containerTime = (seconds: number) => String(roundTo(seconds + source.videoStartSeconds, 6));
  // prettier-ignore
  const args = [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-ss', containerTime(selection.seek), ...(clipEnd < source.durationSeconds ? ['-to', containerTime(clipEnd)] : []),
    '-i', input,
    '-vf', filters.join(','),
    // Exactly the selected frames: image2's default constant rate would repeat a frame to fill the gaps.
    '-vsync', '0',
    ...(maxFiles !== undefined ? ['-frames:v', String(maxFiles)] : []),
    ...(target.Format === 'jpg' ? ['-q:v', '3'] : []),
    '-start_number', '1', pattern,
  ];
  try {
    await runProcess(ffmpegPath(), args);
  } catch (error) {
    if (error instanceof ProcessFailedError) throw new MediaError('ConversionFailed', `${still.path}: ffmpeg failed: ${error.message}`);
    throw error;
  }
  const prefix = `${still.kind}-`;
  const produced = (await readdir(dir)).filter((name) => name.startsWith(prefix) && name.endsWith(`.${target.Format}`));
  const indexes = produced.map((name) => Number(name.slice(prefix.length, -(target.Format.length + 1)))).sort((a, b) => a - b);
  if (indexes.length === 0) throw new MediaError('EmptySelection', "no frame of the video matches the selection");
  const totalFrames = selection.maxFrames;
  return indexes.map((index, i) => ({
    location: stillLocation(target.URI, sourceLocation, target.Format, index, still.path),
    file: join(dir, `${prefix}${index}.${target.Format}`),
    format: target.Format,
    ...size,
    frames: still.kind === 'snapshot' ? 1 : i < indexes.length - 1 || totalFrames === undefined ? perFile : totalFrames - perFile * (indexes.length - 1),
  }));
}

/** Reads a rendered still for upload. */
export function readStill(still: RenderedStill): Promise<Buffer> {
  return readFile(still.file);
}

export const STILL_CONTENT_TYPES = { jpg: 'image/jpeg', png: 'image/png' } as const;

function roundTo(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
