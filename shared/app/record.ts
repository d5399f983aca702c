import type { BucketApi } from './clients/oss';
import type { AppConfig } from './config';
import { TransientFailure } from './errors';
import type { ImmTaskNotice } from './events/mns';
import { isTerminal, type JobRecord } from './jobs/record';
import type { JobStore, TaskResult } from './jobs/store';
import type { Logger } from './log';
import { parseUserData } from './plan';
import { outputTags } from './tags';

export interface CompleteDeps {
  config: AppConfig;
  log: Logger;
  now: () => number;
  bucket(name: string): Promise<BucketApi>;
  store(bucket: BucketApi): JobStore;
  retry: <T>(service: 'imm' | 'oss', operation: () => Promise<T>) => Promise<T>;
}

export type CompleteOutcome =
  | { status: 'ignored'; reason: string; taskId?: string }
  | { status: 'recorded' | 'duplicate'; jobId: string; taskId: string; jobStatus: JobRecord['status']; reason?: string };

/** A notice without our UserData whose task is unknown this long after it ended belongs to somebody else. */
const FOREIGN_NOTICE_AFTER_MS = 10 * 60 * 1000;

/**
 * Records what a task's completion notice says. The task's outcome is written once (create-only) as a task result;
 * the job record is then derived from all its tasks' results and saved until no newer result appears, so repeated,
 * reordered or concurrent notices (one per output with the OSS engine) converge on the same record and tags.
 */
export async function recordTaskNotice(notice: ImmTaskNotice, deps: CompleteDeps): Promise<CompleteOutcome> {
  const ignore = (reason: string): CompleteOutcome => ({ status: 'ignored', reason, taskId: notice.TaskId });
  if (notice.TaskType !== 'MediaConvert') return ignore(`task type ${notice.TaskType} is not ours`);
  if (notice.Status !== 'Succeeded' && notice.Status !== 'Failed') return ignore(`status ${notice.Status} is not final`);

  const located = await locateJob(notice, deps);
  if (typeof located === 'string') return ignore(located);
  const { bucket, store, jobId } = located;
  const job = await deps.retry('oss', () => store.get(jobId));
  if (!job) return ignore(`job record ${jobId} does not exist in bucket ${bucket.bucket}`);
  const base = { jobId, taskId: notice.TaskId };
  if (isTerminal(job.status)) return { status: 'duplicate', ...base, jobStatus: job.status, reason: `job is already ${job.status}` };

  const lease = job.attempts.at(-1)?.leaseExpiresAt;
  if (job.status === 'pending' && lease && Date.parse(lease) > deps.now()) {
    throw new TransientFailure(`job ${jobId} is still being submitted; the notice for task ${notice.TaskId} will be retried`);
  }
  const knownTasks = new Set(job.outputs.flatMap((o) => (o.taskId ? [o.taskId] : [])));
  // Only an IMM job (one task for all outputs) can adopt a task its crashed submitter never recorded.
  if ((knownTasks.size > 0 || job.engine !== 'imm') && !knownTasks.has(notice.TaskId)) return ignore(`task ${notice.TaskId} is not one job ${jobId} tracks`);

  const existing = await deps.retry('oss', () => store.getTaskResult(jobId, notice.TaskId));
  const result = existing ?? (await deps.retry('oss', async () => store.putTaskResult(await taskResult(notice, job, bucket, deps))));

  // Adopt the task for outputs not yet assigned (a notice that beat the submitter's save after its lease ran out).
  let current: JobRecord = knownTasks.size > 0 ? job : { ...job, outputs: job.outputs.map((o) => ({ ...o, taskId: notice.TaskId })), taskId: notice.TaskId };
  const results = new Map<string, TaskResult>([[result.taskId, result]]);
  await loadResults(current, results, store, deps);
  for (let round = 0; round < 5; round++) {
    const derived = deriveRecord(current, results, deps.now());
    if (derived.status !== current.status || JSON.stringify(derived.outputs) !== JSON.stringify(current.outputs)) {
      await deps.retry('oss', () => store.save(derived));
      current = derived;
    }
    const seen = results.size;
    await loadResults(current, results, store, deps);
    if (results.size === seen) break;
  }
  deps.log.info(`job ${current.status}`, { jobId, taskId: notice.TaskId, outputs: current.outputs.map((o) => ({ key: o.key, bytes: o.bytes })), error: current.error });
  return { status: existing ? 'duplicate' : 'recorded', ...base, jobStatus: current.status };
}

async function locateJob(notice: ImmTaskNotice, deps: CompleteDeps): Promise<{ bucket: BucketApi; store: JobStore; jobId: string } | string> {
  const userData = parseUserData(notice.UserData);
  if (userData) {
    const bucket = await deps.bucket(userData.bucket);
    return { bucket, store: deps.store(bucket), jobId: userData.jobId };
  }
  const sourceBucket = /^oss:\/\/([^/]+)\//.exec(notice.Sources?.[0]?.URI ?? '')?.[1];
  if (!sourceBucket) return 'neither UserData nor a source bucket names a video-animation job';
  const bucket = await deps.bucket(sourceBucket);
  const store = deps.store(bucket);
  const index = await deps.retry('oss', () => store.findTask(notice.TaskId));
  if (index) return { bucket, store, jobId: index.jobId };
  const ended = Date.parse(notice.EndTime ?? '');
  if (Number.isFinite(ended) && deps.now() - ended > FOREIGN_NOTICE_AFTER_MS) return `task ${notice.TaskId} belongs to no video-animation job`;
  throw new TransientFailure(`task ${notice.TaskId} is not indexed yet; the notice will be retried`);
}

/** Checks and tags the task's outputs (Succeeded) or keeps IMM's reason (Failed). */
async function taskResult(notice: ImmTaskNotice, job: JobRecord, bucket: BucketApi, deps: CompleteDeps): Promise<TaskResult> {
  const mine = job.outputs.filter((o) => o.taskId === undefined || o.taskId === notice.TaskId);
  const times = { ...(notice.StartTime ? { startTime: notice.StartTime } : {}), ...(notice.EndTime ? { endTime: notice.EndTime } : {}) };
  const base = { jobId: job.jobId, taskId: notice.TaskId, recordedAt: new Date(deps.now()).toISOString(), ...times };
  if (notice.Status === 'Failed') {
    return {
      ...base,
      status: 'Failed',
      error: { code: notice.Code || 'TaskFailed', message: notice.Message || `task ${notice.TaskId} failed` },
      outputs: mine.map((o) => ({ key: o.key, tagged: false })),
    };
  }
  const rule = deps.config.rules.find((r) => r.name === job.rule);
  const outputs: TaskResult['outputs'] = [];
  let error: TaskResult['error'] = null;
  for (const output of mine) {
    const info = await deps.retry('oss', () => bucket.head(output.key));
    if (!info) {
      error = { code: 'OutputMissing', message: `task ${notice.TaskId} succeeded but ${output.key} does not exist` };
      outputs.push({ key: output.key, tagged: false });
      continue;
    }
    const tags = outputTags({ source: job.key, rule: job.rule, job: job.jobId, task: notice.TaskId, format: output.format }, rule?.tags ?? {});
    await deps.retry('oss', () => bucket.putTags(output.key, tags));
    outputs.push({ key: output.key, bytes: info.size, tagged: true });
  }
  return { ...base, status: error ? 'Failed' : 'Succeeded', error, outputs };
}

async function loadResults(job: JobRecord, results: Map<string, TaskResult>, store: JobStore, deps: CompleteDeps) {
  for (const taskId of new Set(job.outputs.flatMap((o) => (o.taskId ? [o.taskId] : [])))) {
    if (results.has(taskId)) continue;
    const result = await deps.retry('oss', () => store.getTaskResult(job.jobId, taskId));
    if (result) results.set(taskId, result);
  }
}

/** The job record implied by its tasks' results: failed if any failed, succeeded when every output has its result. */
export function deriveRecord(job: JobRecord, results: Map<string, TaskResult>, now: number): JobRecord {
  const outputs = job.outputs.map((output) => {
    const reported = output.taskId ? results.get(output.taskId)?.outputs.find((o) => o.key === output.key) : undefined;
    return reported ? { ...output, tagged: reported.tagged, ...(reported.bytes !== undefined ? { bytes: reported.bytes } : {}) } : output;
  });
  const taskResults = [...results.values()];
  const failed = taskResults.find((r) => r.status === 'Failed');
  const allSubmitted = job.outputs.every((o) => o.taskId !== undefined);
  const allReported = allSubmitted && job.outputs.every((o) => results.has(o.taskId!));
  // A job still pending has outputs left to submit: only its submitter moves it on.
  const status: JobRecord['status'] = failed ? 'failed' : allReported ? 'succeeded' : allSubmitted ? 'submitted' : job.status;
  const at = new Date(now).toISOString();
  const startTimes = taskResults.flatMap((r) => (r.startTime ? [r.startTime] : [])).sort();
  const endTimes = taskResults.flatMap((r) => (r.endTime ? [r.endTime] : [])).sort();
  return {
    ...job,
    status,
    outputs,
    error: failed?.error ?? null,
    task: { ...(startTimes[0] ? { startTime: startTimes[0] } : {}), ...(endTimes.at(-1) ? { endTime: endTimes.at(-1) } : {}) },
    updatedAt: at,
    ...(isTerminal(status) ? { finishedAt: at } : {}),
  };
}
