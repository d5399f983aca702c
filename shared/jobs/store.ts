import type { BucketApi } from '../clients/oss';
import { JobRecordSchema, type JobRecord } from './record';

/** Where job records live and how they change; the handlers know this port, not OSS. */
export interface JobStore {
  /** Writes a new record only if none exists (the idempotency key is the job id). */
  create(record: JobRecord): Promise<'created' | 'exists'>;
  get(jobId: string): Promise<JobRecord | undefined>;
  /** Overwrites the record (a state transition by the current owner). */
  save(record: JobRecord): Promise<void>;
  /** Claims attempt `number` of a job; exactly one caller wins each number. */
  claimAttempt(jobId: string, number: number): Promise<boolean>;
}

export function recordKey(recordsPrefix: string, jobId: string): string {
  return `${recordsPrefix}jobs/${jobId}.json`;
}

/** Job records as JSON objects in the source bucket; create-only writes use x-oss-forbid-overwrite. */
export function ossJobStore(bucket: BucketApi, recordsPrefix: string): JobStore {
  const serialize = (record: JobRecord) => `${JSON.stringify(record, null, 2)}\n`;
  return {
    async create(record) {
      return bucket.putText(recordKey(recordsPrefix, record.jobId), serialize(record), { createOnly: true }).then((r) => (r === 'written' ? 'created' : 'exists'));
    },
    async get(jobId) {
      const text = await bucket.getText(recordKey(recordsPrefix, jobId));
      if (text === undefined) return undefined;
      return JobRecordSchema.parse(JSON.parse(text));
    },
    async save(record) {
      await bucket.putText(recordKey(recordsPrefix, record.jobId), serialize(record));
    },
    async claimAttempt(jobId, number) {
      const claim = JSON.stringify({ jobId, attempt: number, claimedAt: new Date().toISOString() });
      return (await bucket.putText(`${recordsPrefix}claims/${jobId}/attempt-${number}.json`, claim, { createOnly: true })) === 'written';
    },
  };
}
