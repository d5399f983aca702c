import type { JobAttempt } from '../../shared/jobs/attempt';
import type { Pricing } from '../../shared/jobs/cost';
import { deriveJob } from '../../shared/jobs/derive';
import { DEFAULT_POLICY } from '../../shared/wiring/config';
import { identityOf, type JobIdentity, type JobRecord, type TaskResult } from '../../shared/jobs/job';
import { jobIndexName, latestIndexEntries, parseJobIndexName, type JobStore, type OutputOwner, type OutputsDeleted, type TaskIndex } from '../../shared/jobs/store';

/** The job store in memory, with the same create-only semantics as the OSS adapter: a test double for unit tests. */
/** `pricing`: the price the test's app runs with, so the views it reads carry cost estimates as the app's do. */
export function memoryJobStore(pricing?: Pricing) {
  const jobs = new Map<string, JobIdentity>();
  const attempts = new Map<string, Map<number, JobAttempt>>();
  const results = new Map<string, Map<string, TaskResult>>();
  const ended = new Map<string, JobRecord>();
  const retries = new Map<string, Set<string>>();
  const deletions = new Map<string, OutputsDeleted>();
  const taskIndex = new Map<string, TaskIndex>();
  const owners = new Map<string, OutputOwner>();
  const open = new Set<string>();
  const index = new Set<string>();
  const sources = new Map<string, Set<string>>();
  let cursor: string | undefined;
  const copy = <T>(value: T): T => structuredClone(value);
  const of = <K, V>(map: Map<string, Map<K, V>>, jobId: string) => {
    let inner = map.get(jobId);
    if (!inner) map.set(jobId, (inner = new Map()));
    return inner;
  };

  const store: JobStore = {
    async loadJob(jobId) {
      const job = jobs.get(jobId);
      const record = ended.get(jobId);
      const retriedBy = [...(retries.get(jobId) ?? [])];
      const deletion = deletions.get(jobId);
      const deleted = deletion ? { deleted: { outputs: deletion.outputs, deletedAt: deletion.deletedAt } } : {};
      if (record) return copy({ job: job ?? identityOf(record), attempts: record.attempts, results: new Map(), ended: record, retriedBy, ...deleted });
      if (!job) return undefined;
      return copy({
        job,
        attempts: [...of(attempts, jobId).values()].sort((a, b) => a.number - b.number),
        results: new Map(of(results, jobId)),
        retriedBy,
        ...deleted,
      });
    },
    async createJob(job) {
      if (jobs.has(job.jobId)) return 'exists';
      jobs.set(job.jobId, copy(job));
      return 'created';
    },
    async claimAttempt(jobId, attempt) {
      const claims = of(attempts, jobId);
      if (claims.has(attempt.number)) return false;
      claims.set(attempt.number, copy(attempt));
      return true;
    },
    async saveAttempt(jobId, attempt) {
      of(attempts, jobId).set(attempt.number, copy(attempt));
    },
    async putTaskResult(result) {
      const written = of(results, result.jobId);
      const first = written.get(result.taskId);
      if (first) return copy(first);
      written.set(result.taskId, copy(result));
      return result;
    },
    async endJob(record) {
      const first = ended.get(record.jobId);
      if (first) return { written: false, record: copy(first) };
      ended.set(record.jobId, copy(record));
      return { written: true, record };
    },
    async linkRetry(jobId, retryJobId) {
      let links = retries.get(jobId);
      if (!links) retries.set(jobId, (links = new Set()));
      links.add(retryJobId);
    },
    async indexTask(taskId, entry) {
      taskIndex.set(taskId, copy(entry));
    },
    findTask: async (taskId) => (taskIndex.has(taskId) ? copy(taskIndex.get(taskId)!) : undefined),
    outputOwner: async (outputKey) => (owners.has(outputKey) ? copy(owners.get(outputKey)!) : undefined),
    async releaseOutput(outputKey) {
      owners.delete(outputKey);
    },
    async markDeleted(record) {
      const first = deletions.get(record.jobId);
      if (first) return copy(first);
      deletions.set(record.jobId, copy(record));
      return record;
    },
    async claimOutput(owner) {
      const current = owners.get(owner.outputKey);
      if (current) return copy(current);
      owners.set(owner.outputKey, copy(owner));
      return owner;
    },
    async markOpen(jobId) {
      open.add(jobId);
    },
    async markClosed(jobId) {
      open.delete(jobId);
    },
    async listOpen({ after, limit }) {
      const ids = [...open].sort().filter((id) => after === undefined || id > after);
      return { jobIds: ids.slice(0, limit), more: ids.length > limit };
    },
    async indexJob(job) {
      index.add(jobIndexName(job));
    },
    async indexSource(sourceKey, jobId) {
      let jobIds = sources.get(sourceKey);
      if (!jobIds) sources.set(sourceKey, (jobIds = new Set()));
      jobIds.add(jobId);
    },
    async listJobIndex({ since }) {
      const entries = [...index].flatMap((name) => {
        const entry = parseJobIndexName(name);
        return entry && (!since || entry.createdAt >= since) ? [entry] : [];
      });
      return latestIndexEntries(entries);
    },
    jobsOfSource: async (sourceKey) => [...(sources.get(sourceKey) ?? [])].sort(),
    reconcileCursor: async () => cursor,
    async saveReconcileCursor(after) {
      cursor = after;
    },
  };
  /** Test conveniences: the job as an operator sees it, and its attempts. */
  const getJob = async (jobId: string) => {
    const facts = await store.loadJob(jobId);
    return facts ? deriveJob(facts, DEFAULT_POLICY, pricing) : undefined;
  };
  const listAttempts = async (jobId: string) => (await store.loadJob(jobId))?.attempts ?? [];
  /** A job exactly as readers will see it, whatever its status (for tests of readers such as the gallery). */
  const seed = (record: JobRecord) => void ended.set(record.jobId, copy(record));
  return Object.assign(store, { jobs, attempts, results, ended, retries, owners, open, index, sources, getJob, listAttempts, seed });
}

