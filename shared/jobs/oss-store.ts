import { createHash } from 'node:crypto';
import type { BucketApi } from '../clients/oss';
import * as z from '../platform/zod';
import { JobAttemptSchema, JobRecordSchema, TaskResultSchema, type JobRecord } from './job';
import { jobIndexName, latestIndexEntries, OutputOwnerSchema, parseJobIndexName, TaskIndexSchema, type JobIndexEntry, type JobStore } from './store';

/**
 * The job store as JSON objects under the records prefix of the source bucket; create-only writes use
 * x-oss-forbid-overwrite. Layout (all under <RECORDS_PREFIX>):
 *   jobs/<jobId>.json                 the job record (a view derived from the facts below)
 *   claims/<jobId>/attempt-NNNN.json  one per attempt, created by its winner, then written only by it
 *   results/<jobId>/<taskId>.json    each task's result, written once
 *   tasks/<taskId>.json               task -> job, for notices without our UserData (engine oss)
 *   owners/<hash of output key>.json  which source owns an output key
 *   open/<jobId>                      present while the job has not ended (reconcile's work list)
 *   index/<day>/<ms>~<jobId>~<status>~<frames>~<rule>   the job index (empty objects: the name says it all)
 *   sources/<hash of source key>/<jobId>                every job of a source key
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
  const indexPrefix = `${recordsPrefix}index/`;
  const indexKey = (job: JobRecord) => `${indexPrefix}${job.createdAt.slice(0, 10)}/${jobIndexName(job)}`;
  const sourcePrefix = (sourceKey: string) => `${recordsPrefix}sources/${createHash('sha256').update(sourceKey).digest('hex').slice(0, 40)}/`;

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
    async indexJob(job, previous) {
      const next = indexKey(job);
      if (!previous) {
        await Promise.all([bucket.putText(`${sourcePrefix(job.key)}${job.jobId}`, '', { contentType: 'text/plain' }), bucket.putText(next, '', { contentType: 'text/plain' })]);
        return;
      }
      const before = indexKey(previous);
      if (next === before) return;
      // The new entry first: a job is never missing from the index (an extra entry is harmless: readers keep the furthest).
      await bucket.putText(next, '', { contentType: 'text/plain' });
      await bucket.delete(before);
    },
    async listJobIndex({ since }) {
      const startAfter = since ? `${indexPrefix}${since.slice(0, 10)}/` : undefined;
      const entries: JobIndexEntry[] = [];
      for (const key of await listAll(bucket, indexPrefix, startAfter)) {
        const entry = parseJobIndexName(key.slice(key.lastIndexOf('/') + 1));
        if (entry && (!since || entry.createdAt >= since)) entries.push(entry);
      }
      return latestIndexEntries(entries);
    },
    async jobsOfSource(sourceKey) {
      const prefix = sourcePrefix(sourceKey);
      return (await listAll(bucket, prefix)).map((key) => key.slice(prefix.length));
    },
    async reconcileCursor() {
      return (await read(cursorKey, z.object({ after: z.optional(z.string()) })))?.after;
    },
    async saveReconcileCursor(after) {
      await bucket.putText(cursorKey, json(after === undefined ? {} : { after }));
    },
  };
}

async function listAll(bucket: BucketApi, prefix: string, after?: string): Promise<string[]> {
  const keys: string[] = [];
  let startAfter = after;
  for (;;) {
    const page = await bucket.list(prefix, { maxKeys: 1000, ...(startAfter ? { startAfter } : {}) });
    keys.push(...page.keys);
    if (!page.truncated || page.keys.length === 0) return keys;
    startAfter = page.keys.at(-1);
  }
}
