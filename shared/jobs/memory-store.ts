import type { JobAttempt, JobRecord, TaskResult } from './job';
import { jobIndexName, latestIndexEntries, parseJobIndexName, type JobStore, type OutputOwner, type TaskIndex } from './store';

/** The job store in memory, with the same create-only semantics as the OSS adapter: for unit tests. */
export function memoryJobStore() {
  const jobs = new Map<string, JobRecord>();
  const attempts = new Map<string, Map<number, JobAttempt>>();
  const results = new Map<string, TaskResult>();
  const taskIndex = new Map<string, TaskIndex>();
  const owners = new Map<string, OutputOwner>();
  const open = new Set<string>();
  const index = new Set<string>();
  const sources = new Map<string, Set<string>>();
  let cursor: string | undefined;
  const copy = <T>(value: T): T => structuredClone(value);
  const attemptsOf = (jobId: string) => {
    let map = attempts.get(jobId);
    if (!map) attempts.set(jobId, (map = new Map()));
    return map;
  };

  const store: JobStore = {
    async createJob(job) {
      if (jobs.has(job.jobId)) return 'exists';
      jobs.set(job.jobId, copy(job));
      return 'created';
    },
    getJob: async (jobId) => (jobs.has(jobId) ? copy(jobs.get(jobId)!) : undefined),
    async saveJob(job) {
      jobs.set(job.jobId, copy(job));
    },
    async claimAttempt(jobId, attempt) {
      const map = attemptsOf(jobId);
      if (map.has(attempt.number)) return false;
      map.set(attempt.number, copy(attempt));
      return true;
    },
    async saveAttempt(jobId, attempt) {
      attemptsOf(jobId).set(attempt.number, copy(attempt));
    },
    listAttempts: async (jobId) => [...attemptsOf(jobId).values()].sort((a, b) => a.number - b.number).map(copy),
    async putTaskResult(result) {
      const key = `${result.jobId}/${result.taskId}`;
      if (!results.has(key)) results.set(key, copy(result));
      return copy(results.get(key)!);
    },
    getTaskResult: async (jobId, taskId) => {
      const result = results.get(`${jobId}/${taskId}`);
      return result ? copy(result) : undefined;
    },
    async indexTask(taskId, index) {
      taskIndex.set(taskId, copy(index));
    },
    findTask: async (taskId) => (taskIndex.has(taskId) ? copy(taskIndex.get(taskId)!) : undefined),
    async claimOutput(owner) {
      if (!owners.has(owner.outputKey)) owners.set(owner.outputKey, copy(owner));
      return copy(owners.get(owner.outputKey)!);
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
    async indexJob(job, previous) {
      if (!previous) sources.set(job.key, new Set([...(sources.get(job.key) ?? []), job.jobId]));
      if (previous) index.delete(jobIndexName(previous));
      index.add(jobIndexName(job));
    },
    async listJobIndex({ since }) {
      const entries = [...index].flatMap((name) => parseJobIndexName(name) ?? []).filter((e) => !since || e.createdAt >= since);
      return latestIndexEntries(entries);
    },
    jobsOfSource: async (sourceKey) => [...(sources.get(sourceKey) ?? [])].sort(),
    reconcileCursor: async () => cursor,
    async saveReconcileCursor(after) {
      cursor = after;
    },
  };
  return Object.assign(store, { jobs, attempts, results, owners, open, index });
}
