import type OSS from 'ali-oss';
import sharp from 'sharp';
import type { BucketApi } from '../shared/clients/oss';
import type { JobRecord } from '../shared/jobs/job';
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

/**
 * Every job in the bucket as an operator sees it (its terminal record, or the view derived from its facts), newest
 * first; `skip` leaves out job ids the caller has seen (nothing of theirs is downloaded).
 */
export async function listJobRecords(client: OSS, recordsPrefix: string, skip: (jobId: string) => boolean = () => false): Promise<JobRecord[]> {
  const reader = readOnlyBucket(client);
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

/** What the job store reads (listing and text), over ali-oss; anything else is not for an inspector. */
function readOnlyBucket(client: OSS): BucketApi {
  const readOnly = async (): Promise<never> => {
    throw new Error('the inspector only reads');
  };
  return {
    bucket: String((client as unknown as { options: { bucket?: string } }).options.bucket ?? ''),
    async getText(key) {
      try {
        return ((await client.get(key)).content as Buffer).toString('utf8');
      } catch (error) {
        if ((error as { status?: number }).status === 404) return undefined;
        throw error;
      }
    },
    async list(prefix, { startAfter, maxKeys }) {
      const page = await client.listV2({ prefix, 'max-keys': String(maxKeys), ...(startAfter ? { 'start-after': startAfter } : {}) }, {});
      return { keys: (page.objects ?? []).map((o) => o.name), truncated: Boolean(page.isTruncated) };
    },
    head: readOnly,
    getBytes: readOnly,
    putText: readOnly,
    putTags: readOnly,
    delete: readOnly,
    versioning: readOnly,
    asyncProcess: readOnly,
  };
}
