import { outputState } from '../jobs/derive';
import { isTerminal } from '../jobs/job';
import { concludeJob, loadJob } from '../jobs/lifecycle';
import { ConfigError, isTransient } from '../platform/errors';
import { advanceJob } from './advance';
import { bucketContext, type AppDeps, type BucketContext } from './context';
import { recordTaskEnd } from './task-end';

/** What reconcile did with one open job. */
export type ReconcileAction =
  | 'closed' // ended already: its open-jobs entry was removed
  | 'missing' // no record behind the entry: removed
  | 'waiting' // open, but not for long enough to act
  | 'busy' // an attempt holds it
  | 'advanced' // a pending job was driven on (takeover, task retry, deferred submission)
  | 'asked' // IMM was asked about its tasks (lost notices)
  | 'failed-transiently'; // something transient stopped it; the next run tries again

export interface ReconcileSummary {
  looked: number;
  actions: Partial<Record<ReconcileAction, number>>;
  /** Whether open jobs remain beyond this run's bound (the next run goes on from there). */
  more: boolean;
}

/**
 * The reconcile function's use case, run on a timer: finishes what lost notices and abandoned events left open.
 * It reads the open-jobs index (never every record), at most RECONCILE_MAX_JOBS entries per run within the time
 * budget, going on next run where this one stopped. Per job:
 * - ended: the index entry is removed;
 * - pending and not held (an event FC gave up on, a task retry, a deferred oss submission): driven on through the
 *   same path as a retried event (takeover rules, ListTasks adoption);
 * - submitted for longer than RECONCILE_AFTER_SECONDS: IMM GetTask for each running task; an ended task is recorded
 *   exactly as the record function would (same code path, tags included). A task IMM no longer knows (it keeps task
 *   info 7 days) counts as succeeded if all its outputs exist, else as failed with TaskNotFound (a new task follows
 *   while the job has task attempts left).
 */
export async function reconcileOpenJobs(deps: AppDeps): Promise<ReconcileSummary> {
  if (!deps.config.bucket) throw new ConfigError('BUCKET is required by the reconcile function: the bucket whose jobs it looks after');
  const ctx = await bucketContext(deps, deps.config.bucket);
  const { store } = ctx.life;
  const after = await ctx.life.retry(() => store.reconcileCursor());
  let page = await ctx.life.retry(() => store.listOpen({ ...(after ? { after } : {}), limit: deps.config.reconcileMaxJobs }));
  if (page.jobIds.length === 0 && after) page = await ctx.life.retry(() => store.listOpen({ limit: deps.config.reconcileMaxJobs }));

  const summary: ReconcileSummary = { looked: 0, actions: {}, more: page.more };
  let last: string | undefined;
  // A few jobs at a time (each is a handful of sequential reads); the cursor only passes a batch that is done.
  for (let i = 0; i < page.jobIds.length; i += RECONCILE_BATCH) {
    if (deps.clock.now() >= deps.deadline) {
      summary.more = true;
      break;
    }
    const batch = page.jobIds.slice(i, i + RECONCILE_BATCH);
    const actions = await Promise.all(batch.map((jobId) => reconcileOrReport(ctx, jobId)));
    for (const action of actions) summary.actions[action] = (summary.actions[action] ?? 0) + 1;
    summary.looked += batch.length;
    last = batch.at(-1);
  }
  await ctx.life.retry(() => store.saveReconcileCursor(summary.more ? last : undefined));
  deps.log.info('reconcile run', { ...summary });
  return summary;
}

/** Open jobs reconciled at once. */
const RECONCILE_BATCH = 4;

async function reconcileOrReport(ctx: BucketContext, jobId: string): Promise<ReconcileAction> {
  try {
    return await reconcileJob(ctx, jobId);
  } catch (error) {
    if (!isTransient(error)) throw error;
    ctx.deps.log.warn('reconcile could not finish a job this run', { jobId, reason: error.message });
    return 'failed-transiently';
  }
}

export async function reconcileJob(ctx: BucketContext, jobId: string): Promise<ReconcileAction> {
  const { life, deps } = ctx;
  const state = await loadJob(life, jobId);
  if (!state) {
    await life.retry(() => life.store.markClosed(jobId));
    return 'missing';
  }
  const { facts, view } = state;
  if (isTerminal(view.status)) {
    // Ended (its writer may have died before the index entry or the close), or ended by facts nobody concluded.
    await concludeJob(life, state);
    return 'closed';
  }
  if (view.status === 'pending') {
    const outcome = await advanceJob(ctx, jobId, 'reconcile', state);
    return outcome.status === 'busy' ? 'busy' : 'advanced';
  }

  // submitted: ask IMM about tasks that have run for longer than a notice takes.
  const now = life.clock.now();
  const afterMs = deps.config.reconcileAfterSeconds * 1000;
  const running = new Map<string, number>();
  for (const output of facts.job.outputs) {
    const outputNow = outputState(facts.attempts, facts.results, output.key, life.policy);
    if (outputNow.state !== 'running') continue;
    const since = facts.attempts.find((a) => a.tasks.some((t) => t.taskId === outputNow.taskId))?.endedAt;
    running.set(outputNow.taskId, since ? Date.parse(since) : 0);
  }
  const due = [...running].filter(([, since]) => now - since >= afterMs).map(([taskId]) => taskId);
  if (due.length === 0) return 'waiting';
  const lookup = await deps.taskLookup();
  if (!lookup) {
    deps.log.warn('cannot ask IMM about open tasks: IMM_PROJECT is not set', { jobId, tasks: due });
    return 'waiting';
  }
  let known: typeof state | undefined = state;
  for (const taskId of due) {
    const task = await lookup.getTask(taskId);
    if (task?.status === 'Running') continue;
    deps.log.warn(task ? 'task ended without a recorded notice; recording it' : 'IMM no longer knows the task; recording from its outputs', { jobId, taskId });
    await recordTaskEnd(ctx, jobId, task ? { ...task, status: task.status } : { taskId, status: 'Forgotten' }, undefined, known);
    // The facts changed: a further task is recorded against a fresh read.
    known = undefined;
  }
  return 'asked';
}
