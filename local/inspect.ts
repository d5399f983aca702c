import type OSS from 'ali-oss';
import sharp from 'sharp';
import { readOnlyBucket } from '../cli/oss';
import type { JobOutput, JobRecord } from '../shared/jobs/job';
import { ossJobStore } from '../shared/jobs/stores/oss';
import { readJob } from '../shared/wiring/read-job';

/** What a person checks on an animation: format, size, frames, frame delays, looping. */
export interface AnimationFacts {
  format: string;
  width: number;
  height: number;
  frames: number;
  delaysMs: number[];
  loop: number;
  bytes: number;
}

export async function inspectAnimation(image: Buffer): Promise<AnimationFacts> {
  const meta = await sharp(image, { animated: true }).metadata();
  const frames = meta.pages ?? 1;
  return {
    format: meta.format ?? 'unknown',
    width: meta.width ?? 0,
    height: meta.pageHeight ?? meta.height ?? 0,
    frames,
    delaysMs: meta.delay ?? [],
    loop: meta.loop ?? 0,
    bytes: image.length,
  };
}

/** Every object an output made: a storyboard's sprite sheets and its WebVTT file (its key); otherwise its key. */
export function outputFileKeys(output: Pick<JobOutput, 'key' | 'kind' | 'files'>): string[] {
  return output.kind === 'storyboard' ? [...(output.files ?? []), output.key] : [output.key];
}

/**
 * One line on a file an output made, for the demo and `npm start`: an image's format, size and frames, or a WebVTT
 * file's cues. `frames` 0 (or no cue) means nothing usable was made.
 */
export async function describeOutputFile(key: string, body: Buffer): Promise<{ line: string; usable: boolean }> {
  if (key.endsWith('.vtt')) {
    const cues = (body.toString('utf8').match(/ --> /g) ?? []).length;
    return { line: `WebVTT, ${cues} cues, ${body.length} bytes`, usable: cues > 0 };
  }
  const facts = await inspectAnimation(body);
  return { line: `${facts.format} ${facts.width}x${facts.height}, ${facts.frames} frame${facts.frames === 1 ? '' : 's'}, ${facts.bytes} bytes`, usable: facts.frames > 0 };
}

/**
 * Every job in the bucket as an operator sees it (its terminal record, or the view derived from its facts), newest
 * first; `skip` leaves out job ids the caller has seen (nothing of theirs is downloaded).
 */
export async function listJobRecords(client: OSS, recordsPrefix: string, skip: (jobId: string) => boolean = () => false): Promise<JobRecord[]> {
  const reader = readOnlyBucket(client, String((client as unknown as { options: { bucket?: string } }).options.bucket ?? ''));
  const store = ossJobStore(reader, recordsPrefix);
  const jobsPrefix = `${recordsPrefix}jobs/`;
  const jobIds = new Set<string>();
  let startAfter: string | undefined;
  for (;;) {
    const page = await reader.list(jobsPrefix, { maxKeys: 1000, ...(startAfter ? { startAfter } : {}) });
    // jobs/<id>/<fact> (schemaVersion 3) or jobs/<id>.json (schemaVersion 2)
    for (const key of page.keys) jobIds.add(key.slice(jobsPrefix.length).split('/')[0]!.replace(/\.json$/, ''));
    if (!page.truncated || page.keys.length === 0) break;
    startAfter = page.keys.at(-1);
  }
  const records = await Promise.all([...jobIds].filter((id) => !skip(id)).map((id) => readJob(store, id)));
  return records.filter((r): r is JobRecord => r !== undefined).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
