import * as z from '../zod';
import type { BucketApi } from '../clients/oss';
import { JobRecordSchema, type JobRecord } from './record';

/** What one task's completion notice established; written once, so redeliveries and concurrent notices converge. */
export const TaskResultSchema = z.object({
  jobId: z.string(),
  taskId: z.string(),
  status: z.enum(['Succeeded', 'Failed']),
  error: z.nullable(z.object({ code: z.string(), message: z.string() })),
  startTime: z.optional(z.string()),
  endTime: z.optional(z.string()),
  outputs: z.array(z.object({ key: z.string(), bytes: z.optional(z.int()), tagged: z.boolean() })),
  recordedAt: z.string(),
});
export type TaskResult = z.infer<typeof TaskResultSchema>;

/** Maps a task id to its job, for notices that carry no UserData of ours (OSS async processing). */
export const TaskIndexSchema = z.object({ jobId: z.string(), bucket: z.string() });
export type TaskIndex = z.infer<typeof TaskIndexSchema>;

const ClaimSchema = z.object({ jobId: z.string(), attempt: z.int(), claimedAt: z.string() });

/** Where job records live and how they change; the handlers know this port, not OSS. */
export interface JobStore {
  /** Writes a new record only if none exists (the idempotency key is the job id). */
  create(record: JobRecord): Promise<'created' | 'exists'>;
  get(jobId: string): Promise<JobRecord | undefined>;
  /** Overwrites the record (a state transition). */
  save(record: JobRecord): Promise<void>;
  /** Claims attempt `number` of a job; exactly one caller wins each number. */
  claimAttempt(jobId: string, number: number): Promise<boolean>;
  /** When attempt `number` was claimed (epoch ms), if it was. */
  claimedAt(jobId: string, number: number): Promise<number | undefined>;
  indexTask(taskId: string, index: TaskIndex): Promise<void>;
  findTask(taskId: string): Promise<TaskIndex | undefined>;
  /** Writes a task's result once; a second writer gets the first one's result back. */
  putTaskResult(result: TaskResult): Promise<TaskResult>;
  getTaskResult(jobId: string, taskId: string): Promise<TaskResult | undefined>;
}

export function recordKey(recordsPrefix: string, jobId: string): string {
  return `${recordsPrefix}jobs/${jobId}.json`;
}

/** Job records and their companions as JSON objects in the source bucket; create-only writes use x-oss-forbid-overwrite. */
export function ossJobStore(bucket: BucketApi, recordsPrefix: string): JobStore {
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  const read = async <T>(key: string, schema: z.ZodMiniType<T>): Promise<T | undefined> => {
    const text = await bucket.getText(key);
    return text === undefined ? undefined : schema.parse(JSON.parse(text));
  };
  const resultKey = (jobId: string, taskId: string) => `${recordsPrefix}results/${jobId}/${encodeURIComponent(taskId)}.json`;
  const claimKey = (jobId: string, number: number) => `${recordsPrefix}claims/${jobId}/attempt-${number}.json`;
  const taskKey = (taskId: string) => `${recordsPrefix}tasks/${encodeURIComponent(taskId)}.json`;
  return {
    async create(record) {
      return (await bucket.putText(recordKey(recordsPrefix, record.jobId), json(record), { createOnly: true })) === 'written' ? 'created' : 'exists';
    },
    get: (jobId) => read(recordKey(recordsPrefix, jobId), JobRecordSchema),
    async save(record) {
      await bucket.putText(recordKey(recordsPrefix, record.jobId), json(record));
    },
    async claimAttempt(jobId, number) {
      const claim = { jobId, attempt: number, claimedAt: new Date().toISOString() };
      return (await bucket.putText(claimKey(jobId, number), json(claim), { createOnly: true })) === 'written';
    },
    async claimedAt(jobId, number) {
      const claim = await read(claimKey(jobId, number), ClaimSchema);
      return claim ? Date.parse(claim.claimedAt) : undefined;
    },
    async indexTask(taskId, index) {
      await bucket.putText(taskKey(taskId), json(index));
    },
    findTask: (taskId) => read(taskKey(taskId), TaskIndexSchema),
    async putTaskResult(result) {
      if ((await bucket.putText(resultKey(result.jobId, result.taskId), json(result), { createOnly: true })) === 'written') return result;
      const first = await read(resultKey(result.jobId, result.taskId), TaskResultSchema);
      if (!first) throw new Error(`task result ${result.taskId} exists but cannot be read`);
      return first;
    },
    getTaskResult: (jobId, taskId) => read(resultKey(jobId, taskId), TaskResultSchema),
  };
}
