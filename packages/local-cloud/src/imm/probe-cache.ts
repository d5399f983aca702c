import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { probeMedia, probeVideo, type MediaProbe, type VideoInfo } from '../media';
import type { OssObjects } from './oss-objects';
import type { OssLocation } from './oss-uri';

/** Reads what ffprobe says about an OSS object; rejects with ali-oss's error or MediaError as they come. */
export interface MediaProber {
  /** Every stream and the container (DetectMediaMeta). */
  media(location: OssLocation): Promise<MediaProbe>;
  /** The first video stream, as the renderer plans with it. */
  video(location: OssLocation): Promise<VideoInfo>;
}

/** Downloads the object and runs ffprobe on it, every time (the default: what IMM's answer depends on is read fresh). */
export function downloadingProber(objects: OssObjects, workDir: string): MediaProber {
  async function withDownload<T>(location: OssLocation, read: (file: string) => Promise<T>): Promise<T> {
    const file = join(workDir, `probe-${randomUUID()}`);
    try {
      await objects.download(location, file);
      return await read(file);
    } finally {
      await rm(file, { force: true });
    }
  }
  return {
    media: (location) => withDownload(location, probeMedia),
    video: (location) => withDownload(location, probeVideo),
  };
}

/**
 * The fast conversion mode's prober: one HEAD per call, and ffprobe only for content it has not seen. Results are
 * kept per OSS ETag (which changes with the content; the same bytes uploaded under a hundred keys share one), so a
 * burst of uploads of one clip costs one download and one ffprobe run per kind of probe, not one per call. Calls for
 * the same ETag made while its probe runs wait for that probe. Failures are not kept: the next call tries again.
 */
export function cachingProber(objects: OssObjects, inner: MediaProber): MediaProber & { probes(): number } {
  const media = new Map<string, Promise<MediaProbe>>();
  const video = new Map<string, Promise<VideoInfo>>();
  let probes = 0;
  async function cached<T>(cache: Map<string, Promise<T>>, location: OssLocation, probe: () => Promise<T>): Promise<T> {
    const { eTag, size } = await objects.head(location);
    // An object without an ETag (not something OSS does) is never shared.
    const id = eTag ? `${eTag}:${size}` : `${location.bucket}/${location.key}:${randomUUID()}`;
    let entry = cache.get(id);
    if (!entry) {
      probes++;
      entry = probe();
      cache.set(id, entry);
      entry.catch(() => cache.delete(id));
    }
    return entry;
  }
  return {
    media: (location) => cached(media, location, () => inner.media(location)),
    video: (location) => cached(video, location, () => inner.video(location)),
    /** How many probes actually ran (cache misses). */
    probes: () => probes,
  };
}
