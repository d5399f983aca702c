import { knownTasks } from './attempt';
import { estimateCost, type Pricing } from './cost';
import type { JobAttempt, JobError, JobFacts, JobOutput, JobRecord, JobStatus, TaskResult } from './job';

export interface LifecyclePolicy {
  /** Tasks one output may get in all (a first one plus retries after transient task failures). */
  maxTaskAttempts: number;
  /** Attempts one job may get in all, however they ended; past it a job still owing a task fails. */
  maxJobAttempts: number;
  /** Whether a task's failure code is the service's own hiccup, worth a new task (the engine's policy). */
  isRetryableTaskCode(code: string): boolean;
}

/** Where one output stands, read off the facts. */
export type OutputState =
  | { state: 'unsubmitted' }
  | { state: 'running'; taskId: string }
  | { state: 'done'; taskId: string; result: TaskResult }
  /** Its latest task failed transiently and it may have another. */
  | { state: 'retry'; taskId: string; error: JobError }
  | { state: 'failed'; taskId: string; error: JobError };

/**
 * The tasks of an output, oldest first: those its attempts started or adopted, then those known only from a
 * result (a notice for a task whose submitter died before recording it: the result is the fact that adopts it).
 */
export function outputTasks(attempts: readonly JobAttempt[], results: ReadonlyMap<string, TaskResult>, outputKey: string): string[] {
  const fromAttempts = attempts.flatMap((a) => a.tasks.filter((t) => t.outputs.includes(outputKey)).map((t) => t.taskId));
  const known = knownTasks(attempts);
  const fromResults = [...results.values()]
    .filter((r) => !known.has(r.taskId) && r.outputs.some((o) => o.key === outputKey))
    .sort((a, b) => (a.startTime ?? a.recordedAt).localeCompare(b.startTime ?? b.recordedAt))
    .map((r) => r.taskId);
  return [...new Set([...fromAttempts, ...fromResults])];
}

export function outputState(attempts: readonly JobAttempt[], results: ReadonlyMap<string, TaskResult>, outputKey: string, policy: LifecyclePolicy): OutputState {
  const tasks = outputTasks(attempts, results, outputKey);
  // A task that made the output settles it, whatever came after (a late duplicate cannot undo an animation).
  const succeeded = tasks.findLast((taskId) => results.get(taskId)?.status === 'Succeeded');
  if (succeeded !== undefined) return { state: 'done', taskId: succeeded, result: results.get(succeeded)! };
  const taskId = tasks.at(-1);
  if (taskId === undefined) return { state: 'unsubmitted' };
  const result = results.get(taskId);
  if (!result) return { state: 'running', taskId };
  const error = result.error ?? { code: 'TaskFailed', message: `task ${taskId} failed` };
  if (!policy.isRetryableTaskCode(error.code)) return { state: 'failed', taskId, error };
  if (tasks.length < policy.maxTaskAttempts) return { state: 'retry', taskId, error };
  return { state: 'failed', taskId, error: { code: error.code, message: `${error.message} (gave up after ${tasks.length} tasks)` } };
}

/**
 * The job as its facts say it is. Pure: the same facts give the same record, whoever derives it and in whatever
 * order the facts came. A terminal record, once written, is the job (with the retry links added since).
 */
export function deriveJob(facts: JobFacts, policy: LifecyclePolicy, pricing?: Pricing): JobRecord {
  const retried = {
    ...(facts.retriedBy.length > 0 ? { retriedBy: [...facts.retriedBy].sort() } : {}),
    ...(facts.deleted ? { deleted: facts.deleted } : {}),
  };
  if (facts.ended) return { ...facts.ended, ...retried };
  const { job, attempts, results } = facts;
  const states = job.outputs.map((o) => outputState(attempts, results, o.key, policy));
  const failedAttempt = attempts.find((a) => a.outcome === 'failed');
  const failedOutput = states.find((s): s is Extract<OutputState, { state: 'failed' }> => s.state === 'failed');
  const latest = attempts.at(-1);

  let status: JobStatus;
  let error: JobError | null = null;
  if (failedAttempt) {
    status = 'failed';
    error = failedAttempt.error ?? { code: 'SubmitFailed', message: `attempt ${failedAttempt.number} failed` };
  } else if (failedOutput) {
    status = 'failed';
    error = failedOutput.error;
  } else if (states.every((s) => s.state === 'done')) {
    status = 'succeeded';
  } else if (states.every((s) => s.state === 'done' || s.state === 'running')) {
    status = 'submitted';
  } else if (attempts.length >= policy.maxJobAttempts && latest?.outcome !== undefined) {
    status = 'failed';
    const last = latest.error ? `${latest.error.code}: ${latest.error.message}` : `last attempt ${latest.outcome}`;
    error = { code: 'TooManyAttempts', message: `gave up after ${attempts.length} attempts (${last})` };
  } else {
    status = 'pending';
  }

  const outputs: JobOutput[] = job.outputs.map((output, i) => {
    const state = states[i]!;
    const identity = { ...output };
    const plannedFrames = attempts.findLast((a) => a.plannedFrames?.[output.key] !== undefined)?.plannedFrames?.[output.key];
    const planned = plannedFrames !== undefined ? { plannedFrames } : {};
    if (state.state === 'unsubmitted') return { ...identity, ...planned };
    const reported = state.state === 'done' ? state.result.outputs.find((o) => o.key === output.key) : undefined;
    return {
      ...identity,
      ...planned,
      taskId: state.taskId,
      ...(reported?.frames !== undefined ? { frames: reported.frames } : {}),
      ...(reported?.bytes !== undefined ? { bytes: reported.bytes } : {}),
      ...(reported ? { tagged: reported.tagged } : {}),
      ...(reported?.fileBytes ? { fileBytes: reported.fileBytes } : {}),
    };
  });

  const relevant = [...new Set(states.flatMap((s) => ('taskId' in s ? [s.taskId] : [])))].flatMap((id) => {
    const result = results.get(id);
    return result ? [result] : [];
  });
  const startTimes = relevant.flatMap((r) => (r.startTime ? [r.startTime] : [])).sort();
  const endTimes = relevant.flatMap((r) => (r.endTime ? [r.endTime] : [])).sort();
  const submittedAt = attempts.find((a) => a.tasks.length > 0)?.endedAt;
  const factTimes = [job.createdAt, ...attempts.flatMap((a) => [a.startedAt, ...(a.endedAt ? [a.endedAt] : [])]), ...[...results.values()].map((r) => r.recordedAt)];
  const updatedAt = lastTime(factTimes)!;
  const finishedAt = status === 'succeeded' || status === 'failed' ? updatedAt : undefined;

  const media = attempts.findLast((a) => a.media)?.media;
  // Counted frames where the animation exists, planned ones where not yet; a failed job made none to count.
  const frameCounts = outputs.map((o) => o.frames ?? (status === 'failed' ? undefined : o.plannedFrames));
  const frames = frameCounts.length > 0 && frameCounts.every((n) => n !== undefined) ? frameCounts.reduce((a, b) => a! + b!, 0)! : undefined;
  const cost = frames !== undefined ? estimateCost(frames, pricing) : undefined;
  return {
    schemaVersion: 3,
    jobId: job.jobId,
    bucket: job.bucket,
    key: job.key,
    eTag: job.eTag,
    size: job.size,
    rule: job.rule,
    engine: job.engine,
    status,
    outputs,
    attempts: [...attempts],
    ...(media ? { media } : {}),
    ...(frames !== undefined ? { frames } : {}),
    ...(cost ? { estimatedCost: cost } : {}),
    ...(job.retryOf ? { retryOf: job.retryOf } : {}),
    ...retried,
    createdAt: job.createdAt,
    updatedAt,
    ...(submittedAt ? { submittedAt } : {}),
    ...(finishedAt ? { finishedAt } : {}),
    ...(startTimes.length > 0 || endTimes.length > 0 ? { task: { ...(startTimes[0] ? { startTime: startTimes[0] } : {}), ...(endTimes.at(-1) ? { endTime: endTimes.at(-1) } : {}) } } : {}),
    error,
  };
}

function lastTime(times: string[]): string | undefined {
  return [...times].sort().at(-1);
}
