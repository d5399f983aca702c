import { createHash } from 'node:crypto';
import type { BucketApi } from '../../clients/oss';
import * as z from '../../platform/zod';
import { JobAttemptSchema, type JobAttempt } from '../attempt';
import { identityOf, JobIdentitySchema, JobRecordSchema, TaskResultSchema, type JobFacts, type TaskResult } from '../job';
import { jobIndexName, latestIndexEntries, OutputOwnerSchema, OutputsDeletedSchema, parseJobIndexName, TaskIndexSchema, type JobIndexEntry, type JobStore } from '../store';

/**
 * The job store as small objects under the records prefix of the records bucket. Create-only writes use
 * x-oss-forbid-overwrite, which holds only on a bucket whose versioning was never enabled (the functions check it:
 * wiring/records-bucket.ts). Layout (all under <RECORDS_PREFIX>):
 *   jobs/<jobId>/job.json               the job's identity (create-only)
 *   jobs/<jobId>/attempt-NNNN.json      one per attempt, created by its winner, then its outcome written by it
 *   jobs/<jobId>/result-<taskId>.json   a task's result (create-only), unless the job ended with it
 *   jobs/<jobId>/end.json               the terminal record (create-only): the job, final
 *   jobs/<jobId>/retry-<jobId>          a link to the job that re-runs this failed one (create-only, empty)
 *   jobs/<jobId>/deleted.json           its outputs were deleted with its source (create-only)
 *   tasks/<taskId>.json                 task -> job, for notices without our UserData (engine oss)
 *   owners/<hash of output key>.json    which source owns an output key (create-only)
 *   open/<jobId>                        present while the job has not ended (reconcile's work list)
 *   index/<day>/<ms>~<jobId>~<status>~<frames>~<rule>   one empty entry per state a job reached (create-only)
 *   sources/<hash of source key>/<jobId>                every job of a source key
 *   reconcile-cursor.json               where reconcile's last bounded run stopped
 * One listing of jobs/<jobId>/ finds every fact of a job. Records of schemaVersion 2 (jobs/<jobId>.json with
 * claims/<jobId>/ and results/<jobId>/ beside it) are read as facts too.
 */
export function ossJobStore(bucket: BucketApi, recordsPrefix: string): JobStore {
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  const read = async <T>(key: string, schema: z.ZodMiniType<T>): Promise<T | undefined> => {
    const text = await bucket.getText(key);
    return text === undefined ? undefined : schema.parse(JSON.parse(text));
  };
  const empty = (key: string) => bucket.putText(key, '', { contentType: 'text/plain', createOnly: true });
  const jobPrefix = (jobId: string) => `${recordsPrefix}jobs/${jobId}/`;
  const attemptName = (number: number) => `attempt-${String(number).padStart(4, '0')}.json`;
  const resultName = (taskId: string) => `result-${encodeURIComponent(taskId)}.json`;
  const taskKey = (taskId: string) => `${recordsPrefix}tasks/${encodeURIComponent(taskId)}.json`;
  const ownerKey = (outputKey: string) => `${recordsPrefix}owners/${createHash('sha256').update(outputKey).digest('hex').slice(0, 40)}.json`;
  const openPrefix = `${recordsPrefix}open/`;
  const cursorKey = `${recordsPrefix}reconcile-cursor.json`;
  const indexPrefix = `${recordsPrefix}index/`;
  const sourcePrefix = (sourceKey: string) => `${recordsPrefix}sources/${createHash('sha256').update(sourceKey).digest('hex').slice(0, 40)}/`;

  /** Facts stored the schemaVersion 2 way: a saved view with its claims and results in folders of their own. */
  async function legacyFacts(jobId: string): Promise<JobFacts | undefined> {
    const record = await read(`${recordsPrefix}jobs/${jobId}.json`, JobRecordSchema);
    if (!record) return undefined;
    const base = { job: identityOf(record), retriedBy: record.retriedBy ?? [] };
    if (record.status === 'succeeded' || record.status === 'failed') return { ...base, attempts: record.attempts, results: new Map(), ended: record };
    const [claimKeys, resultKeys] = await Promise.all([listAll(bucket, `${recordsPrefix}claims/${jobId}/`), listAll(bucket, `${recordsPrefix}results/${jobId}/`)]);
    const [claims, results] = await Promise.all([
      Promise.all(claimKeys.map((key) => read(key, JobAttemptSchema))),
      Promise.all(resultKeys.map((key) => read(key, TaskResultSchema))),
    ]);
    const attempts = claims.length > 0 ? claims.filter((a) => a !== undefined) : record.attempts;
    return { ...base, attempts, results: new Map(results.filter((r) => r !== undefined).map((r) => [r.taskId, r])) };
  }

  return {
    async loadJob(jobId) {
      const prefix = jobPrefix(jobId);
      const names = (await listAll(bucket, prefix)).map((key) => key.slice(prefix.length));
      const retriedBy = names.filter((n) => n.startsWith('retry-')).map((n) => n.slice('retry-'.length));
      const deletion = names.includes('deleted.json') ? await read(`${prefix}deleted.json`, OutputsDeletedSchema) : undefined;
      const deleted = deletion ? { deleted: { outputs: deletion.outputs, deletedAt: deletion.deletedAt } } : {};
      if (names.includes('end.json')) {
        const ended = await read(`${prefix}end.json`, JobRecordSchema);
        if (ended) return { job: identityOf(ended), attempts: ended.attempts, results: new Map(), ended, retriedBy, ...deleted };
      }
      const [identity, attempts, results, legacy] = await Promise.all([
        names.includes('job.json') ? read(`${prefix}job.json`, JobIdentitySchema) : undefined,
        Promise.all(names.filter((n) => /^attempt-\d+\.json$/.test(n)).map((n) => read(`${prefix}${n}`, JobAttemptSchema))),
        Promise.all(names.filter((n) => n.startsWith('result-')).map((n) => read(`${prefix}${n}`, TaskResultSchema))),
        names.includes('job.json') ? undefined : legacyFacts(jobId),
      ]);
      const job = identity ?? legacy?.job;
      if (!job) return undefined;
      if (legacy?.ended) return { ...legacy, retriedBy: [...legacy.retriedBy, ...retriedBy] };
      const byNumber = new Map<number, JobAttempt>([...(legacy?.attempts ?? []), ...attempts.filter((a) => a !== undefined)].map((a) => [a.number, a]));
      const byTask = new Map<string, TaskResult>([...(legacy?.results ?? new Map()), ...results.filter((r) => r !== undefined).map((r) => [r.taskId, r] as const)]);
      return { job, attempts: [...byNumber.values()].sort((a, b) => a.number - b.number), results: byTask, retriedBy: [...(legacy?.retriedBy ?? []), ...retriedBy], ...deleted };
    },
    async createJob(job) {
      return (await bucket.putText(`${jobPrefix(job.jobId)}job.json`, json(job), { createOnly: true })) === 'written' ? 'created' : 'exists';
    },
    async claimAttempt(jobId, attempt) {
      return (await bucket.putText(`${jobPrefix(jobId)}${attemptName(attempt.number)}`, json(attempt), { createOnly: true })) === 'written';
    },
    async saveAttempt(jobId, attempt) {
      await bucket.putText(`${jobPrefix(jobId)}${attemptName(attempt.number)}`, json(attempt));
    },
    async putTaskResult(result) {
      const key = `${jobPrefix(result.jobId)}${resultName(result.taskId)}`;
      if ((await bucket.putText(key, json(result), { createOnly: true })) === 'written') return result;
      const first = await read(key, TaskResultSchema);
      if (!first) throw new Error(`task result ${result.taskId} exists but cannot be read`);
      return first;
    },
    async endJob(record) {
      const key = `${jobPrefix(record.jobId)}end.json`;
      if ((await bucket.putText(key, json(record), { createOnly: true })) === 'written') return { written: true, record };
      const first = await read(key, JobRecordSchema);
      if (!first) throw new Error(`terminal record of job ${record.jobId} exists but cannot be read`);
      return { written: false, record: first };
    },
    async linkRetry(jobId, retryJobId) {
      await empty(`${jobPrefix(jobId)}retry-${retryJobId}`);
    },
    async indexTask(taskId, index) {
      await bucket.putText(taskKey(taskId), json(index));
    },
    findTask: (taskId) => read(taskKey(taskId), TaskIndexSchema),
    outputOwner: (outputKey) => read(ownerKey(outputKey), OutputOwnerSchema),
    async releaseOutput(outputKey) {
      await bucket.delete(ownerKey(outputKey));
    },
    async markDeleted(deleted) {
      const key = `${jobPrefix(deleted.jobId)}deleted.json`;
      if ((await bucket.putText(key, json(deleted), { createOnly: true })) === 'written') return deleted;
      const first = await read(key, OutputsDeletedSchema);
      if (!first) throw new Error(`deletion record of job ${deleted.jobId} exists but cannot be read`);
      return first;
    },
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
    async indexJob(job) {
      await empty(`${indexPrefix}${job.createdAt.slice(0, 10)}/${jobIndexName(job)}`);
    },
    async indexSource(sourceKey, jobId) {
      await empty(`${sourcePrefix(sourceKey)}${jobId}`);
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
