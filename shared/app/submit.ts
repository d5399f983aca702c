import type { BucketApi } from '../clients/oss';
import { candidateKeys, type OssEventRecord, type OssTriggerEvent } from '../events/oss';
import type { JobFacts } from '../jobs/lifecycle';
import { newJobRecord, planJob, type JobPlan, type SourceObject } from '../jobs/plan';
import { TransientFailure } from '../platform/errors';
import { matchRules } from '../rules/match';
import type { Rule } from '../rules/schema';
import { advanceJob } from './advance';
import { bucketContext, type AppDeps, type BucketContext } from './context';

export type SubmitOutcome =
  | { status: 'skipped'; key: string; reason: string }
  | { status: 'submitted' | 'deferred' | 'duplicate' | 'failed'; key: string; rule: string; jobId: string; taskIds?: string[]; reason?: string };

/**
 * Handles one OSS trigger payload: every created object that matches rules gets one job per rule. Transient
 * failures are collected and thrown at the end, after the other uploads had their turn, so FC retries the event;
 * job records make that retry safe.
 */
export async function submitUploads(event: OssTriggerEvent, deps: AppDeps): Promise<SubmitOutcome[]> {
  const outcomes: SubmitOutcome[] = [];
  const transient: Error[] = [];
  for (const entry of event.events) {
    try {
      outcomes.push(...(await submitUpload(entry, deps)));
    } catch (error) {
      if (!(error instanceof TransientFailure)) throw error;
      transient.push(error);
    }
  }
  for (const outcome of outcomes) deps.log.info(`upload ${outcome.status}`, { ...outcome });
  if (transient.length > 0) throw new TransientFailure(transient.map((e) => e.message).join('; '));
  return outcomes;
}

async function submitUpload(entry: OssEventRecord, deps: AppDeps): Promise<SubmitOutcome[]> {
  const eventKey = entry.oss.object.key;
  const skip = (reason: string): SubmitOutcome[] => [{ status: 'skipped', key: eventKey, reason }];
  if (!entry.eventName.startsWith('ObjectCreated:')) return skip(`event ${entry.eventName} is not an object creation`);

  const { recordsPrefix, rules } = deps.config;
  const candidates = candidateKeys(eventKey).filter((key) => !key.startsWith(recordsPrefix));
  if (candidates.length === 0) return skip(`a job record (under ${recordsPrefix}) never starts a task`);
  if (!candidates.some((key) => matchRules(rules, key).length > 0)) return skip('matches no rule');

  const ctx = await bucketContext(deps, entry.oss.bucket.name);
  const bucket = ctx.bucket;
  const found = await findObject(bucket, candidates, deps);
  if (!found) return skip('the object no longer exists');
  const { key, info } = found;
  if (key !== eventKey) deps.log.warn('event key was URL-encoded; using the decoded key', { eventKey, key });

  const source: SourceObject = {
    bucket: bucket.bucket,
    key,
    eTag: (entry.oss.object.eTag ?? info.eTag).toUpperCase(),
    size: entry.oss.object.size ?? info.size,
  };
  const outcomes: SubmitOutcome[] = [];
  for (const rule of matchRules(rules, key)) {
    const sizeProblem = sizeLimitProblem(rule, source.size);
    if (sizeProblem) {
      outcomes.push({ status: 'skipped', key, reason: `rule "${rule.name}": ${sizeProblem}` });
      continue;
    }
    outcomes.push(await submitJob(ctx, planJob(source, rule)));
  }
  return outcomes;
}

async function findObject(bucket: BucketApi, candidates: string[], deps: AppDeps) {
  for (const key of candidates) {
    const info = await deps.retry('oss', () => bucket.head(key));
    if (info) return { key, info };
  }
  return undefined;
}

function sizeLimitProblem(rule: Rule, size: number): string | undefined {
  if (rule.minBytes !== undefined && size < rule.minBytes) return `${size} bytes is below minBytes ${rule.minBytes}`;
  if (rule.maxBytes !== undefined && size > rule.maxBytes) return `${size} bytes is above maxBytes ${rule.maxBytes}`;
  return undefined;
}

/** How often a duplicate event checks on the attempt that holds the job. */
const IN_PROGRESS_POLL_MS = 1_000;

/**
 * One job per (object version, rule): registered in the open-jobs index, created create-only, then driven on. A
 * duplicate event finds the job: done or submitted, it stops; held by a live attempt, it waits within its budget
 * (then throws so FC delivers it again, in case that attempt dies); abandoned, it takes over.
 */
async function submitJob(ctx: BucketContext, plan: JobPlan): Promise<SubmitOutcome> {
  const { deps, life } = ctx;
  const base = { key: plan.source.key, rule: plan.rule.name, jobId: plan.jobId };
  // The index entry goes first: a job never exists without it, so reconcile sees every job that might stall.
  await life.retry(() => life.store.markOpen(plan.jobId));
  const job = newJobRecord(plan, life.clock.now());
  const created = (await life.retry(() => life.store.createJob(job))) === 'created';
  if (created) await life.retry(() => life.store.indexJob(job));
  // A job this invocation just created has no attempts yet: its first round needs no read (a rival's claim of the
  // same attempt number makes ours lose, and the next round reads the facts).
  let known: JobFacts | undefined = created ? { job, attempts: [], results: new Map() } : undefined;
  for (;;) {
    const outcome = await advanceJob(ctx, plan.jobId, 'event', known);
    known = undefined;
    if (outcome.status === 'missing') throw new TransientFailure(`job ${plan.jobId} record vanished while being read`);
    if (outcome.status === 'busy') {
      const waitMs = Math.min(IN_PROGRESS_POLL_MS, Math.max(10, outcome.until - life.clock.now() + 10));
      if (life.clock.now() + waitMs >= deps.deadline) throw new TransientFailure(`job ${plan.jobId} is held by another invocation until ${new Date(outcome.until).toISOString()}; retry later`);
      await deps.sleep(waitMs);
      continue;
    }
    const reason = outcome.error ? `${outcome.error.code}: ${outcome.error.message}` : undefined;
    // Whoever created the record, only the invocation whose attempt ran reports the job as its own.
    if (!outcome.acted) return { status: 'duplicate', ...base, reason: `job is already ${outcome.status}` };
    const taskIds = [...new Set(outcome.job.outputs.flatMap((o) => (o.taskId ? [o.taskId] : [])))];
    if (outcome.status === 'failed') return { status: 'failed', ...base, ...(reason ? { reason } : {}) };
    return { status: outcome.status === 'pending' ? 'deferred' : 'submitted', ...base, taskIds, ...(reason ? { reason } : {}) };
  }
}
