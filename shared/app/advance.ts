import { PartialSubmitError, type ConversionEngine, type StartedTask, type TaskStatus } from '../engines/engine';
import { outputState, outputTasks } from '../jobs/derive';
import { leaseState, type AttemptTask, type JobAttempt, type JobError, type JobRecord } from '../jobs/job';
import { claimNextAttempt, endAttempt, knownTasks, refreshJob, saveAttempt, type JobFacts } from '../jobs/lifecycle';
import { planOfJob, samplePlan, type JobPlan } from '../jobs/plan';
import { needsMedia, type MediaInfo } from '../jobs/sampling';
import { ConfigError, describeServiceError, TransientFailure } from '../platform/errors';
import type { Rule } from '../rules/schema';
import type { BucketContext } from './context';

export type AdvanceOutcome =
  | { status: 'missing' }
  /** Another invocation holds the job until `until` (epoch ms). */
  | { status: 'busy'; until: number; job: JobRecord }
  /** The job stands where it stood: this invocation started nothing. */
  | { status: JobRecord['status']; acted: boolean; job: JobRecord; error?: JobError };

/** Rounds of claim-and-run one call makes at most (a round ends with a view refresh). */
const MAX_ROUNDS = 4;

/**
 * Drives a job on while it owes a task: claims the next attempt (create-only, so one invocation wins), and runs it.
 * The same path serves the upload event, a takeover of an abandoned attempt, a task retry after a transient task
 * failure, and reconcile. A transient failure of the attempt is thrown (the caller's event is delivered again).
 */
export async function advanceJob(ctx: BucketContext, jobId: string, trigger: JobAttempt['trigger'], known?: JobFacts): Promise<AdvanceOutcome> {
  const { life } = ctx;
  let acted = false;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    // `known`: facts the caller holds that are its view as stored (a job it just created), for the first round only.
    const facts = round === 0 && known ? known : await refreshJob(life, jobId);
    if (!facts) return { status: 'missing' };
    if (facts.job.status !== 'pending') return { status: facts.job.status, acted, job: facts.job, ...(facts.job.error ? { error: facts.job.error } : {}) };
    const lease = leaseState(facts.attempts, life.clock.now());
    if (lease.state === 'held') return { status: 'busy', until: lease.until, job: facts.job };
    const attempt = await claimNextAttempt(life, facts, lease.state === 'abandoned' ? 'takeover' : trigger);
    if (!attempt) continue;
    if (lease.state === 'abandoned') ctx.deps.log.warn('taking over a job whose attempt was abandoned', { jobId, abandoned: lease.attempt, attempt: attempt.number });
    acted = true;
    const ended = await runAttempt(ctx, facts, attempt);
    await saveAttempt(life, jobId, ended);
    if (ended.outcome === 'retrying') {
      await refreshJob(life, jobId);
      throw new TransientFailure(`job ${jobId} attempt ${ended.number}: ${ended.error?.code}: ${ended.error?.message}`);
    }
    if (ended.outcome === 'deferred') {
      const view = await refreshJob(life, jobId);
      return { status: 'pending', acted, job: view?.job ?? facts.job, ...(ended.error ? { error: ended.error } : {}) };
    }
  }
  const facts = await refreshJob(life, jobId);
  if (!facts) return { status: 'missing' };
  return { status: facts.job.status, acted, job: facts.job };
}

/** One attempt: ownership, adoption of tasks already started, then the submission of what is still owed. */
async function runAttempt(ctx: BucketContext, facts: JobFacts, attempt: JobAttempt): Promise<JobAttempt> {
  const { deps, life } = ctx;
  const { job } = facts;
  const end = (outcome: NonNullable<JobAttempt['outcome']>, details: { tasks?: AttemptTask[]; error?: JobError } = {}) =>
    endAttempt(attempt, outcome, life.clock.now(), details);

  const rule = deps.config.rules.find((r) => r.name === job.rule);
  const plan = rule ? planFor(job, rule) : undefined;
  if (!rule || !plan) {
    return end('failed', {
      error: { code: 'RuleChanged', message: `rule "${job.rule}" no longer exists or no longer makes ${job.outputs.map((o) => o.key).join(', ')}; upload the video again to run the current rules` },
    });
  }

  let started: StartedTask[] = [];
  try {
    // A first attempt probes the video (IMM DetectMediaMeta, a slow call) while it claims the outputs: the answer is
    // memoized per upload for the await below, and an ownership conflict leaves it unawaited (its failure is moot).
    // Later attempts may adopt tasks instead of submitting, so they probe only when they submit.
    if (attempt.number === 1 && needsMedia(plan.outputs)) learnMedia(ctx, facts).catch(() => undefined);
    const conflict = await claimOutputs(ctx, job);
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
      const wait = uncertainWait(ctx, facts, owed.map((o) => o.key));
      if (wait) return end('deferred', { error: wait });
    }

    const media = needsMedia(plan.outputs) ? await learnMedia(ctx, facts) : undefined;
    const sampled = samplePlan({ ...plan, outputs: plan.outputs.filter((o) => owed.some((w) => w.key === o.resolvedKey)) }, media);
    const learned = {
      ...(media ? { media } : {}),
      plannedFrames: Object.fromEntries(sampled.outputs.map((o) => [o.resolvedKey, o.sampling.plannedFrames])),
    };
    try {
      started = await engine.submit(sampled, attempt.number);
    } catch (error) {
      if (error instanceof PartialSubmitError) started = error.started;
      return endAfterError(error, learned);
    }
    await indexTasks(ctx, job, started);
    return { ...end('submitted', { tasks: started }), ...learned };
  } catch (error) {
    return endAfterError(error);
  }

  /**
   * Whatever stopped the attempt (claiming outputs, ListTasks, DetectMediaMeta, the submission, indexing), it ends
   * with an outcome, so the job is released at once instead of waiting out the lease; tasks already started stay.
   */
  function endAfterError(error: unknown, learned: Partial<JobAttempt> = {}): JobAttempt {
    if (error instanceof ConfigError) throw error;
    const info = describeServiceError(rule!.engine === 'imm' ? 'imm' : 'oss', error);
    const failure = { code: info.code, message: info.message };
    if (info.transient || error instanceof TransientFailure) return { ...end('retrying', { tasks: started, error: failure }), ...learned };
    deps.log.error('attempt failed permanently; job failed', { jobId: job.jobId, code: info.code, reason: info.message });
    return { ...end('failed', { tasks: started, error: failure }), ...learned };
  }
}

/**
 * The source's duration and the rest, for outputs with a frame budget: what an earlier attempt learned, else one
 * DetectMediaMeta (shared by every rule of the upload). A source IMM cannot read fails the
 * job here, with IMM's code and message, before any conversion is billed.
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
function planFor(job: JobRecord, rule: Rule): JobPlan | undefined {
  const plan = planOfJob(job, rule);
  const keys = new Set(plan.outputs.map((o) => o.resolvedKey));
  return job.outputs.every((o) => keys.has(o.key)) ? plan : undefined;
}

/**
 * Output ownership: each output key belongs to the first source that claimed it (create-only marker), so two sources
 * that resolve to one key (clip.avi and clip.webm under `{barename}`) cannot overwrite each other's animations. A new
 * version of the same source replaces its own outputs.
 */
async function claimOutputs(ctx: BucketContext, job: JobRecord): Promise<JobError | undefined> {
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
 * attempt recorded (a submitter that crashed after IMM accepted). Ended ones get their results written at once.
 */
async function adoptStartedTasks(ctx: BucketContext, facts: JobFacts, engine: ConversionEngine): Promise<AttemptTask[]> {
  const known = knownTasks(facts.attempts);
  const found = (await engine.findJobTasks!(facts.job.jobId)).filter((t) => !known.has(t.taskId));
  // Failed ones first, so a live task, if any, ends up as the outputs' current task.
  const ordered = [...found.filter((t) => t.status === 'Failed'), ...found.filter((t) => t.status !== 'Failed')];
  const outputs = facts.job.outputs.map((o) => o.key);
  for (const task of ordered.filter((t) => t.status === 'Failed')) await writeFailedResult(ctx, facts.job.jobId, task, outputs);
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
 * Engine oss cannot find its tasks again: an attempt that died (or lost its connection) mid-POST may have started a
 * task nobody recorded. The tightest safe rule: owed outputs of such an attempt are submitted again only once
 * RECONCILE_AFTER_SECONDS have passed since it started (by then its task has normally finished and notified).
 */
function uncertainWait(ctx: BucketContext, facts: JobFacts, owed: string[]): JobError | undefined {
  const now = ctx.life.clock.now();
  const waitMs = ctx.deps.config.reconcileAfterSeconds * 1000;
  const uncertain = facts.attempts.filter(
    (a) => (a.outcome === undefined || (a.outcome === 'retrying' && isUnknownOutcome(a.error))) && owed.some((key) => outputTasks([a], key).length === 0),
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

/** An error after which the request may have reached OSS: a network failure or a timeout, not an HTTP answer. */
function isUnknownOutcome(error: JobError | undefined): boolean {
  return !error || /timeout|socket|network|ECONN|EPIPE|UND_ERR|RequestError|ResponseError/i.test(`${error.code} ${error.message}`);
}

/** Engine oss notices carry no UserData of ours: the task -> job index finds the job. */
async function indexTasks(ctx: BucketContext, job: JobRecord, tasks: StartedTask[]): Promise<void> {
  if (job.engine !== 'oss') return;
  for (const task of tasks) await ctx.life.retry(() => ctx.life.store.indexTask(task.taskId, { jobId: job.jobId, bucket: job.bucket }));
}
