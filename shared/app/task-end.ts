import { isDeepStrictEqual } from 'node:util';
import type { BucketApi } from '../clients/oss';
import type { TaskStatus } from '../engines/engine';
import type { JobError, JobIdentity, JobRecord, OutputIdentity, TaskResult } from '../jobs/job';
import { concludeJob, loadJob, withFacts, type JobState } from '../jobs/lifecycle';
import { planOfJob } from '../jobs/plan';
import type { MediaInfo } from '../jobs/sampling';
import { countAnimationFrames } from '../media/animation-frames';
import { choosePoster } from '../media/poster';
import { planPreviews, type PlannedStoryboard } from '../media/previews';
import { storyboardVtt, VTT_CONTENT_TYPE } from '../media/storyboard';
import { outputContentType, outputDelivery } from '../rules/naming';
import type { Rule } from '../rules/schema';
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
 * GetTask). The outputs are checked, counted and tagged; then either the job ends with this result (its terminal
 * record, written once, carries it) or the result is written once beside the job. A task no attempt recorded (its
 * submitter died after IMM accepted it) is adopted by that result: nothing waits for a lock. A job owing a task
 * retry gets it at once (reconcile catches up if that fails).
 */
export async function recordTaskEnd(ctx: BucketContext, jobId: string, end: TaskEnd, outputsOfTask?: string[], known?: JobState): Promise<TaskEndOutcome> {
  const { life, deps } = ctx;
  const base = { jobId, taskId: end.taskId };
  const state = known ?? (await loadJob(life, jobId));
  if (!state) return { status: 'ignored', reason: `job ${jobId} does not exist in the records of bucket ${ctx.bucket.bucket}`, taskId: end.taskId };
  if (state.facts.ended) return { status: 'duplicate', ...base, jobStatus: state.view.status, reason: `job is already ${state.view.status}` };

  let recorded = false;
  let next = state;
  if (!state.facts.results.has(end.taskId)) {
    const keys = outputKeys(state, end.taskId, outputsOfTask);
    // Engine oss tasks are known by the task index; one it has not indexed is not this job's (UserData named it in error).
    if (!keys) return { status: 'ignored', reason: `task ${end.taskId} is not one job ${jobId} tracks`, taskId: end.taskId };
    const result = await taskResult(ctx, state.facts.job, keys, end, state.facts.attempts.findLast((a) => a.media)?.media);
    const withResult = withFacts(life, { ...state.facts, results: new Map([...state.facts.results, [result.taskId, result]]) });
    if (withResult.view.status === 'succeeded' || withResult.view.status === 'failed') {
      // The job ends with this result: the terminal record carries it, and is the one fact written.
      const concluded = await concludeJob(life, withResult);
      recorded = concluded.wrote;
      next = concluded;
    } else {
      const stored = await life.retry(() => life.store.putTaskResult(result));
      recorded = isDeepStrictEqual(stored, result);
      // Read again after writing: of two notices recording the two tasks of one job at once, at least one sees both.
      next = (await loadJob(life, jobId)) ?? withResult;
    }
  }
  if (!next.facts.ended && (next.view.status === 'succeeded' || next.view.status === 'failed')) next = await concludeJob(life, next);
  if (next.view.status === 'pending') {
    try {
      const advanced = await advanceJob(ctx, jobId, 'task-retry', next);
      if (advanced.status !== 'missing') next = { ...next, view: advanced.view };
    } catch (error) {
      if (!(error instanceof TransientFailure)) throw error;
      deps.log.warn('task retry could not start now; reconcile will start it', { jobId, reason: error.message });
    }
  }
  const view = next.view;
  deps.log.info(`job ${view.status}`, { jobId, taskId: end.taskId, outputs: view.outputs.map((o) => ({ key: o.key, bytes: o.bytes, frames: o.frames })), error: view.error });
  return { status: recorded ? 'recorded' : 'duplicate', ...base, jobStatus: view.status };
}

/**
 * The outputs a task makes: as its attempt recorded them, else as the task index says (engine oss), else, for an
 * imm task whose submitter died before recording it, all of the job's (one imm task makes every output of a job).
 */
function outputKeys(state: JobState, taskId: string, outputsOfTask: string[] | undefined): string[] | undefined {
  const fromAttempts = state.facts.attempts.flatMap((a) => a.tasks.filter((t) => t.taskId === taskId).flatMap((t) => t.outputs));
  if (fromAttempts.length > 0) return [...new Set(fromAttempts)];
  if (outputsOfTask) return outputsOfTask;
  return state.facts.job.engine === 'imm' ? state.facts.job.outputs.map((o) => o.key) : undefined;
}

/**
 * The result of an ended task: a failure keeps IMM's Code and Message; a success has every output read, tagged,
 * and its frames counted. A service's permanent error on the way (403 on GET or tagging, ...) makes the result a
 * failure naming it, so the job ends and the notice is acknowledged; a transient one is thrown, so the notice comes
 * again; anything else is a bug, thrown as it is.
 */
async function taskResult(ctx: BucketContext, job: JobIdentity, keys: string[], end: TaskEnd, media: MediaInfo | undefined): Promise<TaskResult> {
  const { deps } = ctx;
  const mine = job.outputs.filter((o) => keys.includes(o.key));
  const times = 'startTime' in end || 'endTime' in end ? { ...(end.startTime ? { startTime: end.startTime } : {}), ...(end.endTime ? { endTime: end.endTime } : {}) } : {};
  const base = { jobId: job.jobId, taskId: end.taskId, recordedAt: new Date(deps.clock.now()).toISOString(), ...times };
  const failed = (error: JobError): TaskResult => ({ ...base, status: 'Failed', error, outputs: mine.map((o) => ({ key: o.key, tagged: false })) });
  if (end.status === 'Failed') return failed({ code: end.code || 'TaskFailed', message: end.message || `task ${end.taskId} failed` });
  const rule = deps.config.rules.find((r) => r.name === job.rule);
  const configured = new Map(rule ? planOfJob(job, rule).outputs.map((o) => [o.resolvedKey, o] as const) : []);
  // The outputs are checked, counted and given their headers and tags together; the first problem in output order
  // decides a failed result.
  const checked = await Promise.all(
    mine.map(async (output): Promise<TaskResult['outputs'][number] | { problem: JobError }> => {
      try {
        const delivery = outputDelivery(rule ?? {}, configured.get(output.key) ?? {}, job.bucket);
        const bucket = output.bucket ? await deps.bucket(output.bucket) : ctx.bucket;
        const tags = outputTags({ source: job.key, rule: job.rule, job: job.jobId, task: end.taskId, format: output.format, ...(output.kind ? { kind: output.kind } : {}) }, rule?.tags ?? {});
        const headers = {
          ...(delivery.cacheControl !== undefined ? { cacheControl: delivery.cacheControl } : {}),
          ...(delivery.contentDisposition !== undefined ? { contentDisposition: delivery.contentDisposition } : {}),
          tags,
        };
        const missing = (key: string): { problem: JobError } =>
          end.status === 'Forgotten'
            ? { problem: { code: 'TaskNotFound', message: `IMM no longer knows task ${end.taskId} (it keeps tasks 7 days) and ${key} does not exist` } }
            : { problem: { code: 'OutputMissing', message: `task ${end.taskId} succeeded but ${key} does not exist` } };
        const recorded = await recordOutput(ctx, { bucket, output, headers, media, rule, sourceKey: job.key }, missing);
        if ('problem' in recorded) return recorded;
        return { key: output.key, tagged: true, ...recorded };
      } catch (error) {
        const info = describeServiceError('oss', error);
        if (!info) throw error;
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

interface OutputToRecord {
  bucket: BucketApi;
  output: OutputIdentity;
  headers: { cacheControl?: string; contentDisposition?: string; tags: Record<string, string> };
  media: MediaInfo | undefined;
  rule: Rule | undefined;
  sourceKey: string;
}

type RecordedOutput = Omit<TaskResult['outputs'][number], 'key' | 'tagged'>;

/**
 * One output of a task that succeeded, by kind. Its headers and tags are set in the same request that checks it is
 * there (a copy of the object onto itself), and what IMM billed is counted:
 * - animation: the whole file is read, its frames are what IMM billed;
 * - poster: chosen automatically, the largest candidate (a black frame compresses to almost nothing) is copied to
 *   the poster's key with its headers, and the candidates are removed;
 * - storyboard: each sheet gets its headers; the WebVTT file, which IMM does not write, is written from the layout.
 */
async function recordOutput(ctx: BucketContext, to: OutputToRecord, missing: (key: string) => { problem: JobError }): Promise<RecordedOutput | { problem: JobError }> {
  const { bucket, output, headers } = to;
  const retry = <T>(operation: () => Promise<T>) => ctx.deps.retry('oss', operation);
  const set = (key: string, format: string, from?: string) => retry(() => bucket.copyInPlace(key, { contentType: outputContentType(format), ...headers, ...(from ? { from } : {}) }));
  if (output.kind === 'poster') {
    const candidates = await Promise.all((output.candidates ?? []).map(async (key) => ({ key, info: await retry(() => bucket.head(key)) })));
    const present = candidates.flatMap(({ key, info }) => (info ? [{ key, bytes: info.size }] : []));
    if (present.length > 0) {
      const chosen = choosePoster(present);
      await set(output.key, output.format, chosen.key);
      await Promise.all(present.map(({ key }) => retry(() => bucket.delete(key))));
      return { bytes: chosen.bytes, frames: output.maxFrames };
    }
    // No candidates (taken at a time, or chosen by an earlier recording that then stopped): the poster itself.
    const poster = await retry(() => bucket.head(output.key));
    if (!poster) return missing(output.key);
    await set(output.key, output.format);
    return { bytes: poster.size, frames: output.maxFrames };
  }
  if (output.kind === 'storyboard') {
    const sheets = await Promise.all((output.files ?? []).map(async (key) => ({ key, info: await retry(() => bucket.head(key)) })));
    const gone = sheets.find((sheet) => !sheet.info);
    if (gone) return missing(gone.key);
    await Promise.all(sheets.map(({ key }) => set(key, output.format)));
    const storyboard = to.rule ? planPreviews(to.rule, to.sourceKey, to.media).find((p): p is PlannedStoryboard => p.kind === 'storyboard' && p.keys.vttKey === output.key) : undefined;
    if (!storyboard || !to.media) {
      return { problem: { code: 'RuleChanged', message: `the storyboard ${output.key} is no longer in its rule, or the video's duration is unknown: its WebVTT cannot be written` } };
    }
    const vtt = storyboardVtt(storyboard.layout, to.media.duration);
    await retry(() => bucket.putText(output.key, vtt, { contentType: VTT_CONTENT_TYPE, ...(headers.cacheControl !== undefined ? { cacheControl: headers.cacheControl } : {}), tags: headers.tags }));
    return { bytes: Buffer.byteLength(vtt), frames: output.maxFrames, fileBytes: Object.fromEntries(sheets.map(({ key, info }) => [key, info!.size])) };
  }
  // The whole animation is read, not just its headers: its frames are what IMM billed.
  const bytes = await retry(() => bucket.getBytes(output.key));
  if (!bytes) return missing(output.key);
  await set(output.key, output.format);
  const frames = countAnimationFrames(bytes);
  if (frames === undefined) ctx.deps.log.warn('cannot count the frames of an output: not a GIF or WebP it can read', { key: output.key });
  return { bytes: bytes.length, ...(frames !== undefined ? { frames } : {}) };
}
