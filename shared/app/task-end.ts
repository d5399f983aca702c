import { isDeepStrictEqual } from 'node:util';
import type { TaskStatus } from '../engines/engine';
import { isTerminal, leaseState, type JobError, type JobRecord, type TaskResult } from '../jobs/job';
import { claimNextAttempt, endAttempt, knownTasks, refreshJob, saveAttempt, type JobFacts } from '../jobs/lifecycle';
import { countAnimationFrames } from '../media/animation-frames';
import { describeServiceError, TransientFailure } from '../platform/errors';
import { advanceJob } from './advance';
import type { BucketContext } from './context';
import { outputTags } from './output-tags';

/** A task that ended (its notice, or GetTask), or one IMM no longer knows (`forgotten`). */
export type TaskEnd = (TaskStatus & { status: 'Succeeded' | 'Failed' }) | { taskId: string; status: 'Forgotten' };

export type TaskEndOutcome =
  | { status: 'ignored'; reason: string; taskId: string }
  | { status: 'recorded' | 'duplicate'; jobId: string; taskId: string; jobStatus: JobRecord['status']; reason?: string };

/**
 * Records that a task ended, the same way whoever learned it (the record function from a notice, reconcile from
 * GetTask): a task the job does not know yet is adopted (imm engine: a crashed submitter never saved it) under a
 * claimed attempt; its result is written once (outputs checked and tagged); the job view is refreshed; and a job
 * owing a task retry gets it at once (reconcile catches up if that fails).
 */
export async function recordTaskEnd(ctx: BucketContext, jobId: string, end: TaskEnd): Promise<TaskEndOutcome> {
  const { life, deps } = ctx;
  const base = { jobId, taskId: end.taskId };
  let facts = await refreshJob(life, jobId);
  if (!facts) return { status: 'ignored', reason: `job record ${jobId} does not exist in bucket ${ctx.bucket.bucket}`, taskId: end.taskId };
  if (isTerminal(facts.job.status)) return { status: 'duplicate', ...base, jobStatus: facts.job.status, reason: `job is already ${facts.job.status}` };

  if (!knownTasks(facts.attempts).has(end.taskId)) {
    if (facts.job.engine !== 'imm') return { status: 'ignored', reason: `task ${end.taskId} is not one job ${jobId} tracks`, taskId: end.taskId };
    facts = await adoptTask(ctx, facts, end.taskId);
  }

  // The refresh read the task's result if it was there; one written since wins the create-only put (and ours is a duplicate).
  let recorded = false;
  if (!facts.results.has(end.taskId)) {
    const result = await taskResult(ctx, facts.job, facts.attempts, end);
    recorded = isDeepStrictEqual(await life.retry(() => life.store.putTaskResult(result)), result);
  }

  let view = await refreshJob(life, jobId);
  if (view?.job.status === 'pending') {
    try {
      await advanceJob(ctx, jobId, 'task-retry');
    } catch (error) {
      if (!(error instanceof TransientFailure)) throw error;
      deps.log.warn('task retry could not start now; reconcile will start it', { jobId, reason: error.message });
    }
    view = await refreshJob(life, jobId);
  }
  const jobStatus = view?.job.status ?? facts.job.status;
  deps.log.info(`job ${jobStatus}`, { jobId, taskId: end.taskId, outputs: view?.job.outputs.map((o) => ({ key: o.key, bytes: o.bytes })), error: view?.job.error });
  return { status: recorded ? 'recorded' : 'duplicate', ...base, jobStatus };
}

/**
 * A notice (or GetTask) for a task no attempt recorded: its submitter crashed after IMM accepted it. While that
 * attempt still holds the job, the notice waits (transient: delivered again); after, the task is adopted under a
 * claimed attempt, so exactly one invocation adopts it.
 */
async function adoptTask(ctx: BucketContext, facts: JobFacts, taskId: string): Promise<JobFacts> {
  const { life } = ctx;
  const lease = leaseState(facts.attempts, life.clock.now());
  if (lease.state === 'held') throw new TransientFailure(`job ${facts.job.jobId} is being worked on by attempt ${lease.attempt}; task ${taskId} will be recorded later`);
  const attempt = await claimNextAttempt(life, facts, 'notice');
  if (!attempt) throw new TransientFailure(`job ${facts.job.jobId} was claimed by another invocation; task ${taskId} will be recorded later`);
  await saveAttempt(life, facts.job.jobId, endAttempt(attempt, 'adopted', life.clock.now(), { tasks: [{ taskId, outputs: facts.job.outputs.map((o) => o.key) }] }));
  const refreshed = await refreshJob(life, facts.job.jobId);
  if (!refreshed) throw new TransientFailure(`job ${facts.job.jobId} vanished`);
  return refreshed;
}

/**
 * The result of an ended task: a failure keeps IMM's Code and Message; a success has every output read, tagged,
 * and its frames counted. A permanent OSS error on the way (403 on HEAD or tagging, ...) makes the result a failure naming it,
 * so the job ends and the notice is acknowledged; a transient one is thrown, so the notice comes again.
 */
async function taskResult(ctx: BucketContext, job: JobRecord, attempts: JobFacts['attempts'], end: TaskEnd): Promise<TaskResult> {
  const { deps } = ctx;
  const keys = new Set(attempts.flatMap((a) => a.tasks.filter((t) => t.taskId === end.taskId).flatMap((t) => t.outputs)));
  const mine = job.outputs.filter((o) => keys.has(o.key));
  const times = 'startTime' in end || 'endTime' in end ? { ...(end.startTime ? { startTime: end.startTime } : {}), ...(end.endTime ? { endTime: end.endTime } : {}) } : {};
  const base = { jobId: job.jobId, taskId: end.taskId, recordedAt: new Date(deps.clock.now()).toISOString(), ...times };
  const failed = (error: JobError): TaskResult => ({ ...base, status: 'Failed', error, outputs: mine.map((o) => ({ key: o.key, tagged: false })) });
  if (end.status === 'Failed') return failed({ code: end.code || 'TaskFailed', message: end.message || `task ${end.taskId} failed` });
  const rule = deps.config.rules.find((r) => r.name === job.rule);
  // The outputs are read and tagged together; the first problem in output order decides a failed result.
  const checked = await Promise.all(
    mine.map(async (output): Promise<TaskResult['outputs'][number] | { problem: JobError }> => {
      try {
        // The whole animation is read, not just its headers: its frames are what IMM billed.
        const bytes = await deps.retry('oss', () => ctx.bucket.getBytes(output.key));
        if (!bytes) {
          return end.status === 'Forgotten'
            ? { problem: { code: 'TaskNotFound', message: `IMM no longer knows task ${end.taskId} (it keeps tasks 7 days) and ${output.key} does not exist` } }
            : { problem: { code: 'OutputMissing', message: `task ${end.taskId} succeeded but ${output.key} does not exist` } };
        }
        const tags = outputTags({ source: job.key, rule: job.rule, job: job.jobId, task: end.taskId, format: output.format }, rule?.tags ?? {});
        await deps.retry('oss', () => ctx.bucket.putTags(output.key, tags));
        const frames = countAnimationFrames(bytes);
        if (frames === undefined) deps.log.warn('cannot count the frames of an output: not a GIF or WebP it can read', { jobId: job.jobId, key: output.key });
        return { key: output.key, bytes: bytes.length, ...(frames !== undefined ? { frames } : {}), tagged: true };
      } catch (error) {
        const info = describeServiceError('oss', error);
        if (info.transient) throw new TransientFailure(`recording ${output.key}: ${info.code}: ${info.message}`, info);
        return {
          problem: { code: info.code, message: `recording ${output.key} failed: ${info.message} (check the record function's OSS permissions on the output prefix)` },
        };
      }
    }),
  );
  const outputs: TaskResult['outputs'] = [];
  for (const check of checked) {
    if ('problem' in check) return failed(check.problem);
    outputs.push(check);
  }
  return { ...base, status: 'Succeeded', error: null, outputs };
}
