import { createHash } from 'node:crypto';
import type { BucketApi } from '../clients/oss';
import * as z from '../platform/zod';
import { JobAttemptSchema, JobRecordSchema, TaskResultSchema } from './job';
import { OutputOwnerSchema, TaskIndexSchema, type JobStore } from './store';

/**
 * The job store as JSON objects under the records prefix of the source bucket; create-only writes use
 * x-oss-forbid-overwrite. Layout (all under <RECORDS_PREFIX>):
 *   jobs/<jobId>.json                 the job record (a view derived from the facts below)
 *   claims/<jobId>/attempt-NNNN.json  one per attempt, created by its winner, then written only by it
 *   results/<jobId>/<taskId>.json    each task's result, written once
 *   tasks/<taskId>.json               task -> job, for notices without our UserData (engine oss)
 *   owners/<hash of output key>.json  which source owns an output key
 *   open/<jobId>                      present while the job has not ended (reconcile's work list)
 *   reconcile-cursor.json             where reconcile's last bounded run stopped
 */
export function ossJobStore(bucket: BucketApi, recordsPrefix: string): JobStore {
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  const read = async <T>(key: string, schema: z.ZodMiniType<T>): Promise<T | undefined> => {
    const text = await bucket.getText(key);
    return text === undefined ? undefined : schema.parse(JSON.parse(text));
  };
  const jobKey = (jobId: string) => `${recordsPrefix}jobs/${jobId}.json`;
  const claimsPrefix = (jobId: string) => `${recordsPrefix}claims/${jobId}/`;
  const claimKey = (jobId: string, number: number) => `${claimsPrefix(jobId)}attempt-${String(number).padStart(4, '0')}.json`;
  const resultKey = (jobId: string, taskId: string) => `${recordsPrefix}results/${jobId}/${encodeURIComponent(taskId)}.json`;
  const taskKey = (taskId: string) => `${recordsPrefix}tasks/${encodeURIComponent(taskId)}.json`;
  const ownerKey = (outputKey: string) => `${recordsPrefix}owners/${createHash('sha256').update(outputKey).digest('hex').slice(0, 40)}.json`;
  const openPrefix = `${recordsPrefix}open/`;
  const cursorKey = `${recordsPrefix}reconcile-cursor.json`;

  return {
    async createJob(job) {
      return (await bucket.putText(jobKey(job.jobId), json(job), { createOnly: true })) === 'written' ? 'created' : 'exists';
    },
    getJob: (jobId) => read(jobKey(jobId), JobRecordSchema),
    async saveJob(job) {
      await bucket.putText(jobKey(job.jobId), json(job));
    },
    async claimAttempt(jobId, attempt) {
      return (await bucket.putText(claimKey(jobId, attempt.number), json(attempt), { createOnly: true })) === 'written';
    },
    async saveAttempt(jobId, attempt) {
      await bucket.putText(claimKey(jobId, attempt.number), json(attempt));
    },
    async listAttempts(jobId) {
      const keys = await listAll(bucket, claimsPrefix(jobId));
      const attempts = await Promise.all(keys.map((key) => read(key, JobAttemptSchema)));
      return attempts.filter((a) => a !== undefined).sort((a, b) => a.number - b.number);
    },
    async putTaskResult(result) {
      if ((await bucket.putText(resultKey(result.jobId, result.taskId), json(result), { createOnly: true })) === 'written') return result;
      const first = await read(resultKey(result.jobId, result.taskId), TaskResultSchema);
      if (!first) throw new Error(`task result ${result.taskId} exists but cannot be read`);
      return first;
    },
    getTaskResult: (jobId, taskId) => read(resultKey(jobId, taskId), TaskResultSchema),
    async indexTask(taskId, index) {
      await bucket.putText(taskKey(taskId), json(index));
    },
    findTask: (taskId) => read(taskKey(taskId), TaskIndexSchema),
    async claimOutput(owner) {
      const key = ownerKey(owner.outputKey);
      if ((await bucket.putText(key, json(owner), { createOnly: true })) === 'written') return owner;
      const current = await read(key, OutputOwnerSchema);
      if (!current) throw new Error(`owner of ${owner.outputKey} exists but cannot be read`);
      return current;
    },
    async markOpen(jobId) {
      await bucket.putText(`${openPrefix}${jobId}`, '', { contentType: 'text/plain' });
    },
    async markClosed(jobId) {
      await bucket.delete(`${openPrefix}${jobId}`);
    },
    async listOpen({ after, limit }) {
      const page = await bucket.list(openPrefix, { ...(after ? { startAfter: `${openPrefix}${after}` } : {}), maxKeys: limit });
      return { jobIds: page.keys.map((key) => key.slice(openPrefix.length)), more: page.truncated };
    },
    async reconcileCursor() {
      return (await read(cursorKey, z.object({ after: z.optional(z.string()) })))?.after;
    },
    async saveReconcileCursor(after) {
      await bucket.putText(cursorKey, json(after === undefined ? {} : { after }));
    },
  };
}

async function listAll(bucket: BucketApi, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let startAfter: string | undefined;
  for (;;) {
    const page = await bucket.list(prefix, { maxKeys: 100, ...(startAfter ? { startAfter } : {}) });
    keys.push(...page.keys);
    if (!page.truncated || page.keys.length === 0) return keys;
    startAfter = page.keys.at(-1);
  }
}
