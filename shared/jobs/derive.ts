import { isTransientTaskCode } from '../platform/errors';
import { estimateCost, type Pricing } from './cost';
import type { JobAttempt, JobError, JobOutput, JobRecord, JobStatus, TaskResult } from './job';

export interface LifecyclePolicy {
  /** Tasks one output may get in all (a first one plus retries after transient task failures). */
  maxTaskAttempts: number;
  /** Attempts one job may get in all, however they ended; past it a job still owing a task fails. */
  maxJobAttempts: number;
}

export const DEFAULT_POLICY: LifecyclePolicy = { maxTaskAttempts: 3, maxJobAttempts: 12 };

/** Where one output stands, read off the facts. */
export type OutputState =
  | { state: 'unsubmitted' }
  | { state: 'running'; taskId: string }
  | { state: 'done'; taskId: string; result: TaskResult }
  /** Its latest task failed transiently and it may have another. */
  | { state: 'retry'; taskId: string; error: JobError }
  | { state: 'failed'; taskId: string; error: JobError };

/** The tasks started for an output, oldest first, over all attempts. */
export function outputTasks(attempts: readonly JobAttempt[], outputKey: string): string[] {
  const ids = attempts.flatMap((a) => a.tasks.filter((t) => t.outputs.includes(outputKey)).map((t) => t.taskId));
  return [...new Set(ids)];
}

export function outputState(attempts: readonly JobAttempt[], results: ReadonlyMap<string, TaskResult>, outputKey: string, policy: LifecyclePolicy): OutputState {
  const tasks = outputTasks(attempts, outputKey);
  const taskId = tasks.at(-1);
  if (taskId === undefined) return { state: 'unsubmitted' };
  const result = results.get(taskId);
  if (!result) return { state: 'running', taskId };
  if (result.status === 'Succeeded') return { state: 'done', taskId, result };
  const error = result.error ?? { code: 'TaskFailed', message: `task ${taskId} failed` };
  if (isTransientTaskCode(error.code) && tasks.length < policy.maxTaskAttempts) return { state: 'retry', taskId, error };
  if (isTransientTaskCode(error.code)) {
    return { state: 'failed', taskId, error: { code: error.code, message: `${error.message} (gave up after ${tasks.length} tasks)` } };
  }
  return { state: 'failed', taskId, error };
}

/**
 * The job as its facts say it is: the attempts (each written only by its owner) and the task results (each written
 * once). Pure: the same facts always give the same record, whoever derives it and in whatever order the facts came.
 *
 * Why the saved view cannot go backwards (the lost-update interleaving): facts are only ever added, never changed by
 * anyone but their single writer, and a terminal fact (a result, a failed attempt) stays. Every writer saves a view
 * derived from the facts it read, then reads the facts again and saves again until the stored view equals what the
 * facts give (jobs/lifecycle.ts `refreshJob`). So if a takeover read `pending` before the record function wrote
 * `succeeded`, the takeover's own re-read sees the result fact (written before that save) and its final save is
 * `succeeded` too; and a stored terminal view is final and never re-derived.
 */
export function deriveJob(
  job: JobRecord,
  attempts: readonly JobAttempt[],
  results: ReadonlyMap<string, TaskResult>,
  policy: LifecyclePolicy,
  pricing?: Pricing,
): Omit<JobRecord, 'updatedAt'> {
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
    const { taskId: _task, bytes: _bytes, tagged: _tagged, plannedFrames: _planned, frames: _frames, ...identity } = output;
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
    };
  });

  const relevant = [...new Set(states.flatMap((s) => ('taskId' in s ? [s.taskId] : [])))].flatMap((id) => {
    const result = results.get(id);
    return result ? [result] : [];
  });
  const startTimes = relevant.flatMap((r) => (r.startTime ? [r.startTime] : [])).sort();
  const endTimes = relevant.flatMap((r) => (r.endTime ? [r.endTime] : [])).sort();
  const submittedAt = attempts.find((a) => a.tasks.length > 0)?.endedAt;
  const finishedAt = status === 'succeeded' || status === 'failed' ? lastTime([...relevant.map((r) => r.recordedAt), ...attempts.flatMap((a) => (a.endedAt ? [a.endedAt] : []))]) : undefined;

  const media = attempts.findLast((a) => a.media)?.media;
  // Counted frames where the animation exists, planned ones where not yet: known (and priced) from submission on.
  const frameCounts = outputs.map((o) => o.frames ?? o.plannedFrames);
  const frames = frameCounts.every((n) => n !== undefined) && frameCounts.length > 0 ? frameCounts.reduce((a, b) => a! + b!, 0)! : undefined;
  const cost = frames !== undefined ? estimateCost(frames, pricing) : undefined;
  const { submittedAt: _s, finishedAt: _f, task: _t, updatedAt: _u, media: _m, frames: _fr, estimatedCost: _c, ...identity } = job;
  return {
    ...identity,
    ...(media ? { media } : {}),
    ...(frames !== undefined ? { frames } : {}),
    ...(cost ? { estimatedCost: cost } : {}),
    status,
    outputs,
    attempts: [...attempts],
    error,
    ...(submittedAt ? { submittedAt } : {}),
    ...(finishedAt ? { finishedAt } : {}),
    ...(startTimes.length > 0 || endTimes.length > 0 ? { task: { ...(startTimes[0] ? { startTime: startTimes[0] } : {}), ...(endTimes.at(-1) ? { endTime: endTimes.at(-1) } : {}) } } : {}),
  };
}

function lastTime(times: string[]): string | undefined {
  return times.sort().at(-1);
}

/** Whether a stored record already says what the facts say (updatedAt aside). */
export function sameView(stored: JobRecord, derived: Omit<JobRecord, 'updatedAt'>): boolean {
  const { updatedAt: _u, ...rest } = stored;
  return JSON.stringify(canonical(rest)) === JSON.stringify(canonical(derived));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => [k, canonical(v)]),
  );
}
