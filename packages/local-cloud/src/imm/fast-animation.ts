import sharp from 'sharp';
import { MediaError, planAnimation, plannedFrameCount, type AnimationSpec, type VideoInfo } from '../media';

/**
 * The fast conversion mode (`startLocalImm({ conversion: 'fast' })`, `LOCAL_IMM_CONVERSION=fast`): instead of running
 * ffmpeg, a task writes a small valid animated GIF or WebP with the frame count, size and frame delay the real
 * renderer would have produced (planned from the probed source exactly as renderAnimation plans it), each frame a
 * flat colour different from the one before (so no encoder merges frames and every frame counts). For load tests of
 * the pipeline around IMM, where the pixels do not matter but the frame counts (billing, the record function's own
 * frame count) do.
 */

/** Frames above this many pixels in all are drawn smaller (same count and delay), to keep a burst cheap. */
export const FAST_PIXEL_BUDGET = 24_000_000;
const CACHE_ENTRIES = 32;

export interface FastAnimation {
  bytes: Buffer;
  frames: number;
  /** The planned size (what the real renderer would have written). */
  width: number;
  height: number;
}

/** Encoded animations by (format, size, frames, delay): a burst of one clip through one rule encodes once. */
const encoded = new Map<string, Promise<Buffer>>();

export async function fastAnimation(source: VideoInfo, spec: AnimationSpec): Promise<FastAnimation> {
  const plan = planAnimation(source, spec);
  const frames = plannedFrameCount(plan, source.frameRate);
  if (frames === 0) throw new MediaError('EmptySelection', 'no frame was selected from the video');
  const { width, height } = plan.geometry;
  const delayMs = Math.max(1, Math.round(1000 / plan.frameRate));
  const key = `${spec.format}:${width}x${height}:${frames}:${delayMs}`;
  let bytes = encoded.get(key);
  if (!bytes) {
    bytes = encode(spec.format, width, height, frames, delayMs);
    if (encoded.size >= CACHE_ENTRIES) encoded.delete(encoded.keys().next().value!);
    encoded.set(key, bytes);
    bytes.catch(() => encoded.delete(key));
  }
  return { bytes: await bytes, frames, width, height };
}

async function encode(format: AnimationSpec['format'], width: number, height: number, frames: number, delayMs: number): Promise<Buffer> {
  const scale = Math.min(1, Math.sqrt(FAST_PIXEL_BUDGET / (width * height * frames)));
  const w = Math.max(1, Math.floor(width * scale));
  const h = Math.max(1, Math.floor(height * scale));
  const frameBytes = w * h * 3;
  const raw = Buffer.alloc(frameBytes * frames);
  for (let i = 0; i < frames; i++) {
    // Far apart from one frame to the next in every channel.
    const colour = Buffer.from([(i * 97 + 40) % 256, (i * 57 + 120) % 256, (i * 151 + 200) % 256]);
    const start = i * frameBytes;
    raw.set(colour, start);
    for (let filled = 3; filled < frameBytes; filled *= 2) raw.copyWithin(start + filled, start, start + Math.min(filled, frameBytes - filled));
  }
  const image = sharp(raw, { raw: { width: w, height: h * frames, channels: 3, pageHeight: h } });
  const delay = Array.from({ length: frames }, () => delayMs);
  // Lossless WebP and a low-effort GIF: flat frames compress to almost nothing either way.
  return format === 'gif'
    ? image.gif({ delay, loop: 0, effort: 1 }).toBuffer()
    : image.webp({ delay, loop: 0, lossless: true, effort: 0 }).toBuffer();
}
