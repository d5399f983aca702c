/**
 * A poster: one still of the video. Given `at`, IMM takes one snapshot there. Without it, IMM takes `candidates`
 * snapshots at even intervals (`Mode: average`) and the record function keeps the one with the most detail, for
 * which the JPEG's (or PNG's) byte size is the measure: a black or blank frame compresses to almost nothing, a
 * detailed one does not (measurements in docs/preview-kit.md).
 */

/** The seconds `at` means for a video of `duration` seconds: "NN%" of it, or seconds, kept inside the video. */
export function posterTime(at: number | string, duration: number | undefined): number {
  let seconds: number;
  if (typeof at === 'number') seconds = at;
  else {
    if (duration === undefined) throw new Error(`poster at "${at}": a percent needs the video's duration, which is unknown`);
    seconds = (Number.parseFloat(at) / 100) * duration;
  }
  // A time at or past the end has no frame; the last tenth of a second does.
  return duration === undefined ? seconds : Math.max(0, Math.min(seconds, duration - 0.1));
}

export interface PosterCandidate {
  key: string;
  bytes: number;
}

/** The candidate with the most detail (the largest file); the earliest wins a tie. Throws on an empty list. */
export function choosePoster<C extends PosterCandidate>(candidates: readonly C[]): C {
  if (candidates.length === 0) throw new Error('choosePoster: IMM wrote no candidate snapshot');
  return candidates.reduce((best, c) => (c.bytes > best.bytes ? c : best));
}
