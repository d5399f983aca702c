import type OSS from 'ali-oss';
import sharp from 'sharp';
import { JobRecordSchema, type JobRecord } from '../shared/jobs/job';

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

/** The job records in the bucket, newest first; `skip` leaves out job ids the caller has seen (not downloaded). */
export async function listJobRecords(client: OSS, recordsPrefix: string, skip: (jobId: string) => boolean = () => false): Promise<JobRecord[]> {
  const records: JobRecord[] = [];
  let continuationToken: string | undefined;
  do {
    const page = await client.listV2({ prefix: `${recordsPrefix}jobs/`, 'max-keys': '1000', ...(continuationToken ? { 'continuation-token': continuationToken } : {}) }, {});
    for (const object of page.objects ?? []) {
      if (skip(object.name.slice(`${recordsPrefix}jobs/`.length).replace(/\.json$/, ''))) continue;
      const body = await client.get(object.name);
      records.push(JobRecordSchema.parse(JSON.parse((body.content as Buffer).toString('utf8'))));
    }
    continuationToken = page.nextContinuationToken || undefined;
  } while (continuationToken);
  return records.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
