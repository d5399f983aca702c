import type { ConversionEngine, StartedTask, TaskStatus } from '../engines/engine';
import { PartialSubmitError } from '../engines/engine';
import { knownTasks, leaseState, endAttempt, type AttemptTask, type JobAttempt } from '../jobs/attempt';
import { outputState } from '../jobs/derive';
import { isTerminal, type JobError, type JobFacts, type JobIdentity, type JobRecord } from '../jobs/job';
import { claimNextAttempt, concludeJob, loadJob, saveAttempt, type JobState } from '../jobs/lifecycle';
import { planNeedsMedia, planOfJob, plannedOutputs, samplePlan, type JobPlan } from '../jobs/plan';
import type { MediaInfo } from '../jobs/sampling';
import { previewOutputKey } from '../media/previews';
import { ConfigError, describeServiceError, TransientFailure, UNKNOWN_OUTCOME, UnknownOutcome } from '../platform/errors';
import { unsafeKeyProblem } from '../rules/naming';
import type { Rule } from '../rules/schema';
import type { BucketContext } from './context';

export type AdvanceOutcome =
  | { status: 'missing' }
  /** Another invocation holds the job (its attempt is in progress, or it just claimed the next one). */
  | { status: 'busy'; view: JobRecord }
  /** Where the job stands now; `acted`: this invocation ran an attempt. */
  | { status: JobRecord['status']; acted: boolean; view: JobRecord; error?: JobError };

/**
 * Drives a job on while it owes a task: claims the next attempt (create-only, so one invocation wins) and runs it.
 * The same path serves a redelivered event, a takeover of an expired attempt, a task retry after a transient task
 * failure, and reconcile. A job held by a live attempt is left to it at once (no waiting): the caller reports a
 * duplicate, and reconcile takes over if the holder dies. A transient failure of the attempt is thrown after the
 * attempt recorded it, so the caller's event is delivered again.
 */
export async function advanceJob(ctx: BucketContext, jobId: string, trigger: JobAttempt['trigger'], known?: JobState): Promise<AdvanceOutcome> {
  const { life, deps } = ctx;
  const state = known ?? (await loadJob(life, jobId));
  if (!state) return { status: 'missing' };
  if (isTerminal(state.view.status)) {
    // Derived terminal but never written (its writer died): finish the transition.
    const concluded = state.facts.ended ? state : await concludeJob(life, state);
    return { status: concluded.view.status, acted: false, view: concluded.view };
  }
  if (state.view.status !== 'pending') return { status: state.view.status, acted: false, view: state.view };
  const lease = leaseState(state.facts.attempts, life.clock.now());
  if (lease.state === 'held') return { status: 'busy', view: state.view };
  if (lease.state === 'abandoned' && state.facts.attempts.length >= life.policy.maxJobAttempts) {
    deps.log.error('job has used all its attempts and the last one never ended; leaving it for an operator', { jobId, attempts: state.facts.attempts.length });
    return { status: 'pending', acted: false, view: state.view };
  }
  const attempt = await claimNextAttempt(life, state.facts, lease.state === 'abandoned' ? 'takeover' : trigger);
  if (!attempt) return { status: 'busy', view: state.view };
  if (lease.state === 'abandoned') deps.log.warn('taking over a job whose attempt expired', { jobId, abandoned: lease.attempt, attempt: attempt.number });
  return runClaimedAttempt(ctx, state, attempt);
}

/** Runs an attempt this invocation claimed, records its outcome, and ends the job if the outcome ended it. */
export async function runClaimedAttempt(ctx: BucketContext, state: JobState, attempt: JobAttempt, owners?: Promise<JobError | undefined>): Promise<AdvanceOutcome> {
  const { life } = ctx;
  const ended = await runAttempt(ctx, state.facts, attempt, owners);
  const next = await concludeJob(life, await saveAttempt(life, state, ended));
  if (ended.outcome === 'retrying') throw new TransientFailure(`job ${state.facts.job.jobId} attempt ${ended.number}: ${ended.error?.code}: ${ended.error?.message}`);
  return { status: next.view.status, acted: true, view: next.view, ...(ended.error ? { error: ended.error } : {}) };
}

/**
 * One attempt: ownership, adoption of tasks already started, then the submission of what is still owed. It ends
 * with an outcome whatever a service answered; an error that is not a service's (a bug) or a configuration error
 * is thrown instead, leaving the attempt to expire so reconcile takes over, never a verdict on the job.
 */
async function runAttempt(ctx: BucketContext, facts: JobFacts, attempt: JobAttempt, owners?: Promise<JobError | undefined>): Promise<JobAttempt> {
  const { deps, life } = ctx;
  const { job } = facts;
  const end = (outcome: NonNullable<JobAttempt['outcome']>, details: { tasks?: AttemptTask[]; error?: JobError } = {}) =>
    endAttempt(attempt, outcome, life.clock.now(), details);

  const unsafe = unsafeKeyProblem(job.key);
  if (unsafe) {
    deps.log.error('source key refused: it cannot be converted safely', { jobId: job.jobId, key: job.key, reason: unsafe });
    return end('failed', { error: { code: 'UnsafeKey', message: `the source key ${JSON.stringify(job.key)} is refused: ${unsafe}; upload it under a plain key` } });
  }
  const rule = deps.config.rules.find((r) => r.name === job.rule);
  const plan = rule ? planFor(job, rule) : undefined;
  if (!rule || !plan) {
    return end('failed', {
      error: { code: 'RuleChanged', message: `rule "${job.rule}" no longer exists or no longer makes ${job.outputs.map((o) => o.key).join(', ')}; upload the video again to run the current rules` },
    });
  }

  let started: StartedTask[] = [];
  let learned: Partial<JobAttempt> = {};
  try {
    const conflict = await (owners ?? claimOutputs(ctx, job));
    if (conflict) return end('failed', { error: conflict });

    const engine = await deps.engine(rule, ctx.bucket);
    if (attempt.number > 1 && engine.findJobTasks) {
      const adopted = await adoptStartedTasks(ctx, facts, engine);
      if (adopted.length > 0) return end('adopted', { tasks: adopted });
    }

    const owed = job.outputs.filter((o) => {
      const state = outputState(facts.attempts, facts.results, o.key, life.policy).state;
      return state === 'unsubmitted' || state === 'retry';
    });
    if (!engine.findJobTasks) {
      const wait = uncertainWait(ctx, facts.attempts.filter((a) => a.number !== attempt.number), owed.map((o) => o.key));
      if (wait) return end('deferred', { error: wait });
    }

    const media = planNeedsMedia(rule) ? await learnMedia(ctx, facts) : undefined;
    const owes = (key: string) => owed.some((w) => w.key === key);
    const sampled = samplePlan({ ...plan, outputs: plan.outputs.filter((o) => owes(o.resolvedKey)) }, media, (preview) => owes(previewOutputKey(preview)));
    learned = { ...(media ? { media } : {}), plannedFrames: Object.fromEntries(sampled.outputs.map((o) => [o.resolvedKey, o.sampling.plannedFrames])) };
    try {
      started = await engine.submit(sampled, attempt.number);
    } catch (error) {
      if (error instanceof PartialSubmitError) started = error.started;
      const cause = error instanceof PartialSubmitError ? error.cause : error;
      // The task-starting call got no usable answer: look before anything is started again (same attempt).
      if (cause instanceof UnknownOutcome && engine.findJobTasks) {
        const found = await adoptStartedTasks(ctx, { ...facts, attempts: [...facts.attempts, { ...attempt, tasks: started }] }, engine);
        if (found.length > 0) return { ...end('submitted', { tasks: [...started, ...found] }), ...learned };
      }
      throw error;
    }
    await indexTasks(ctx, job, started);
    return { ...end('submitted', { tasks: started }), ...learned };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const info = describeServiceError(rule.engine, error);
    if (!info) {
      deps.log.error('attempt stopped by an unexpected error; the job stays open for reconcile', { jobId: job.jobId, attempt: attempt.number, error });
      throw error;
    }
    const failure = { code: info.code, message: info.message };
    if (info.transient) return { ...end('retrying', { tasks: started, error: failure }), ...learned };
    deps.log.error('attempt failed permanently; job failed', { jobId: job.jobId, code: info.code, reason: info.message });
    return { ...end('failed', { tasks: started, error: failure }), ...learned };
  }
}

/**
 * The source's duration and the rest, for outputs with a frame budget: what an earlier attempt learned, else one
 * DetectMediaMeta (shared by every rule of the upload). A source IMM cannot read fails the job here, with IMM's
 * code and message, before any conversion is billed.
 */
async function learnMedia(ctx: BucketContext, facts: JobFacts): Promise<MediaInfo> {
  const known = facts.attempts.findLast((a) => a.media)?.media;
  if (known) return known;
  let media = ctx.media.get(facts.job.key);
  if (!media) {
    media = ctx.deps.mediaProbe().then((probe) => {
      if (!probe) throw new ConfigError('IMM_PROJECT is required: a rule with frames learns the video duration with IMM DetectMediaMeta');
      return probe.probe(facts.job.bucket, facts.job.key);
    });
    // Kept even when it fails: the upload's other rules get the same answer (a 4xx is billed); a redelivery asks anew.
    ctx.media.set(facts.job.key, media);
  }
  return media;
}

/** The job's plan with the rule as configured now; undefined when the rule no longer makes the job's outputs. */
function planFor(job: JobIdentity, rule: Rule): JobPlan | undefined {
  const plan = planOfJob(job, rule);
  const keys = new Set(plannedOutputs(plan).map((o) => o.key));
  return job.outputs.every((o) => keys.has(o.key)) ? plan : undefined;
}

/**
 * Output ownership: each output key belongs to the first source that claimed it (create-only marker), so two sources
 * that resolve to one key (clip.avi and clip.webm under `{barename}`) cannot overwrite each other's animations. A new
 * version of the same source replaces its own outputs. Claiming again is harmless, so a first attempt claims them
 * alongside its own claim.
 */
export async function claimOutputs(ctx: BucketContext, job: JobIdentity): Promise<JobError | undefined> {
  const { life } = ctx;
  const claimedAt = new Date(life.clock.now()).toISOString();
  const owners = await Promise.all(
    job.outputs.map((output) => life.retry(() => life.store.claimOutput({ outputKey: output.key, sourceKey: job.key, jobId: job.jobId, claimedAt }))),
  );
  for (const [i, output] of job.outputs.entries()) {
    const owner = owners[i]!;
    if (owner.sourceKey !== job.key) {
      return {
        code: 'OutputOwned',
        message:
          `output ${output.key} belongs to ${owner.sourceKey} (job ${owner.jobId}); converting ${job.key} would overwrite it. ` +
          `Make rule "${job.rule}"'s key template keep the source's extension, e.g. {basename} instead of {barename}, then upload again.`,
      };
    }
  }
  return undefined;
}

/**
 * Never billed twice: before submitting again, look the job's tasks up by its tag (IMM ListTasks) and adopt those no
 * fact records (a submitter that crashed, or lost IMM's answer, after IMM accepted). Ended ones get their results
 * written at once. Failed ones first, so a live task, if any, ends up as the outputs' current task.
 */
async function adoptStartedTasks(ctx: BucketContext, facts: JobFacts, engine: ConversionEngine): Promise<AttemptTask[]> {
  const known = new Set([...knownTasks(facts.attempts), ...facts.results.keys()]);
  const found = (await engine.findJobTasks!(facts.job.jobId)).filter((t) => !known.has(t.taskId));
  const ordered = [...found.filter((t) => t.status === 'Failed'), ...found.filter((t) => t.status !== 'Failed')];
  const outputs = facts.job.outputs.map((o) => o.key);
  await Promise.all(ordered.filter((t) => t.status === 'Failed').map((task) => writeFailedResult(ctx, facts.job.jobId, task, outputs)));
  if (ordered.length > 0) ctx.deps.log.warn('adopted tasks an earlier attempt started', { jobId: facts.job.jobId, tasks: ordered.map((t) => `${t.taskId}:${t.status}`) });
  return ordered.map((t) => ({ taskId: t.taskId, outputs }));
}

async function writeFailedResult(ctx: BucketContext, jobId: string, task: TaskStatus, outputs: string[]): Promise<void> {
  const result = {
    jobId,
    taskId: task.taskId,
    status: 'Failed' as const,
    error: { code: task.code || 'TaskFailed', message: task.message || `task ${task.taskId} failed` },
    ...(task.startTime ? { startTime: task.startTime } : {}),
    ...(task.endTime ? { endTime: task.endTime } : {}),
    outputs: outputs.map((key) => ({ key, tagged: false })),
    recordedAt: new Date(ctx.life.clock.now()).toISOString(),
  };
  await ctx.life.retry(() => ctx.life.store.putTaskResult(result));
}

/**
 * Engine oss cannot find its tasks again: an attempt that died, or got no answer to its POST, may have started a
 * task nobody recorded. Owed outputs of such an attempt are submitted again only once RECONCILE_AFTER_SECONDS have
 * passed since it started (by then its task has normally finished and notified, and its result adopts it).
 */
function uncertainWait(ctx: BucketContext, earlier: readonly JobAttempt[], owed: string[]): JobError | undefined {
  const now = ctx.life.clock.now();
  const waitMs = ctx.deps.config.reconcileAfterSeconds * 1000;
  const uncertain = earlier.filter(
    (a) => (a.outcome === undefined || (a.outcome === 'retrying' && a.error?.code === UNKNOWN_OUTCOME)) && owed.some((key) => !a.tasks.some((t) => t.outputs.includes(key))),
  );
  const latest = uncertain.at(-1);
  if (!latest) return undefined;
  const until = Date.parse(latest.startedAt) + waitMs;
  if (now >= until) return undefined;
  return {
    code: 'AwaitingUnrecordedTask',
    message: `attempt ${latest.number} may have started tasks it could not record; submitting again after ${new Date(until).toISOString()} (reconcile does it)`,
  };
}

/** Engine oss notices carry no UserData of ours: the task -> job index finds the job and the output. */
async function indexTasks(ctx: BucketContext, job: JobIdentity, tasks: StartedTask[]): Promise<void> {
  if (job.engine !== 'oss') return;
  await Promise.all(tasks.map((task) => ctx.life.retry(() => ctx.life.store.indexTask(task.taskId, { jobId: job.jobId, bucket: job.bucket, outputs: task.outputs }))));
}
