import { parseUserData } from '../engines/imm';
import type { ImmTaskNotice } from '../events/mns';
import { outputState } from '../jobs/derive';
import { loadJob } from '../jobs/lifecycle';
import { TransientFailure, UNKNOWN_OUTCOME } from '../platform/errors';
import { bucketContext, type AppDeps, type BucketContext } from './context';
import { recordTaskEnd, type TaskEndOutcome } from './task-end';

/** A notice without our UserData whose task is unknown this long after it ended belongs to somebody else. */
const FOREIGN_NOTICE_AFTER_MS = 10 * 60 * 1000;

/**
 * The record function's use case: a task's completion notice -> the task's result written once, outputs tagged,
 * the job ended or its result written once (and a task retry started when the task failed transiently). A repeated,
 * reordered or concurrent notice finds the fact already written and changes nothing.
 */
export async function recordTaskNotice(notice: ImmTaskNotice, deps: AppDeps): Promise<TaskEndOutcome> {
  const ignore = (reason: string): TaskEndOutcome => ({ status: 'ignored', reason, taskId: notice.TaskId });
  if (notice.TaskType !== 'MediaConvert') return ignore(`task type ${notice.TaskType} is not ours`);
  if (notice.Status !== 'Succeeded' && notice.Status !== 'Failed') return ignore(`status ${notice.Status} is not final`);

  const located = await locateJob(notice, deps);
  if (typeof located === 'string') return ignore(located);
  return recordTaskEnd(located.ctx, located.jobId, {
    taskId: notice.TaskId,
    status: notice.Status,
    ...(notice.Code ? { code: notice.Code } : {}),
    ...(notice.Message ? { message: notice.Message } : {}),
    ...(notice.StartTime ? { startTime: notice.StartTime } : {}),
    ...(notice.EndTime ? { endTime: notice.EndTime } : {}),
  }, located.outputs);
}

/** UserData names the job (engine imm); otherwise the task index does (engine oss), once submit wrote it. */
async function locateJob(notice: ImmTaskNotice, deps: AppDeps): Promise<{ ctx: BucketContext; jobId: string; outputs?: string[] } | string> {
  const userData = parseUserData(notice.UserData);
  if (userData) return { ctx: await bucketContext(deps, userData.bucket), jobId: userData.jobId };
  // oss://<bucket>/<key>: the key is the rest of the URI, whatever it holds (both groups are set on a match).
  const source = /^oss:\/\/([^/]+)\/(.+)/s.exec(notice.Sources?.[0]?.URI ?? '');
  if (!source) return 'neither UserData nor a source bucket names a video-animation job';
  const [, sourceBucket, sourceKey] = source;
  const ctx = await bucketContext(deps, sourceBucket!);
  const index = await ctx.life.retry(() => ctx.life.store.findTask(notice.TaskId));
  if (index) return { ctx, jobId: index.jobId, ...(index.outputs ? { outputs: index.outputs } : {}) };
  const lost = await jobAwaitingLostTask(ctx, sourceKey!);
  if (lost) {
    deps.log.warn('adopting a task whose POST answer was lost, by its source', { jobId: lost.jobId, taskId: notice.TaskId, output: lost.output });
    return { ctx, jobId: lost.jobId, outputs: [lost.output] };
  }
  const ended = Date.parse(notice.EndTime ?? '');
  if (Number.isFinite(ended) && deps.clock.now() - ended > FOREIGN_NOTICE_AFTER_MS) return `task ${notice.TaskId} belongs to no video-animation job`;
  throw new TransientFailure(`task ${notice.TaskId} is not indexed yet; the notice will be retried`);
}

/**
 * Engine oss's notices carry nothing of ours, and a task whose POST answer was lost was never indexed. Its notice
 * still names the source: if exactly one engine oss job of that source has an attempt that ended on an unknown
 * outcome (UnknownOutcome), the task is the one that POST started, for the first output that attempt left without a
 * task (the engine submits outputs in order and stops at the first failure). Anything less certain is left alone.
 */
async function jobAwaitingLostTask(ctx: BucketContext, sourceKey: string): Promise<{ jobId: string; output: string } | undefined> {
  const { life } = ctx;
  const jobIds = await life.retry(() => life.store.jobsOfSource(sourceKey));
  const states = (await Promise.all(jobIds.map((jobId) => loadJob(life, jobId)))).filter((s) => s !== undefined);
  const candidates = states.flatMap((state) => {
    const { job, attempts, results, ended } = state.facts;
    if (ended || job.engine !== 'oss') return [];
    const lost = attempts.findLast((a) => a.outcome === 'retrying' && a.error?.code === UNKNOWN_OUTCOME);
    if (!lost) return [];
    const later = attempts.filter((a) => a.number > lost.number && a.tasks.length > 0);
    if (later.length > 0) return [];
    const output = job.outputs.find((o) => outputState(attempts, results, o.key, life.policy).state === 'unsubmitted');
    return output ? [{ jobId: job.jobId, output: output.key }] : [];
  });
  return candidates.length === 1 ? candidates[0] : undefined;
}
