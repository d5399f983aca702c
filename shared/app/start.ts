import { startAttempt, type JobAttempt } from '../jobs/attempt';
import type { JobRecord } from '../jobs/job';
import { createHash } from 'node:crypto';
import { loadJob, withFacts } from '../jobs/lifecycle';
import { newJobIdentity, type JobPlan } from '../jobs/plan';
import { advanceJob, claimOutputs, runClaimedAttempt, type AdvanceOutcome } from './advance';
import type { BucketContext } from './context';

/** The job of an upload of the same content after the job `jobId` had its outputs deleted with its source. */
export function afterDeletion(jobId: string): string {
  return createHash('sha256').update(`${jobId}/after-deletion`).digest('hex').slice(0, 32);
}

export type StartOutcome = ({ status: 'duplicate'; reason: string } | { status: 'submitted' | 'deferred' | 'failed'; view: JobRecord; reason?: string }) & {
  /** The job it started or found (another than the plan's when the plan's had its outputs deleted). */
  jobId: string;
};

/**
 * Starts a job: the upload event's, or a re-run's. The open-jobs entry goes first, so a job never exists without
 * it and reconcile sees every job that might stall. Then, together: the job's identity (create-only), the claim of
 * attempt 1 (create-only: of duplicate deliveries exactly one wins and runs it; the others learn at once that the
 * job is taken), and the output keys. Whoever created the job lists it under its source meanwhile.
 */
export async function startJob(ctx: BucketContext, plan: JobPlan, trigger: JobAttempt['trigger'], retryOf?: string): Promise<StartOutcome> {
  const { life } = ctx;
  await life.retry(() => life.store.markOpen(plan.jobId));
  const now = life.clock.now();
  const job = newJobIdentity(plan, now, retryOf);
  const first = startAttempt(1, trigger, now, life.leaseMs, life.requestId);
  const owners = claimOutputs(ctx, job);
  // Settled here: awaited by the attempt if this invocation wins it, and moot if it does not.
  owners.catch(() => undefined);
  const [created, claimed] = await Promise.all([life.retry(() => life.store.createJob(job)), life.retry(() => life.store.claimAttempt(plan.jobId, first))]);
  const listed = created === 'created' ? life.retry(() => life.store.indexSource(job.key, job.jobId)) : Promise.resolve();
  let outcome: AdvanceOutcome;
  try {
    if (claimed) {
      outcome = await runClaimedAttempt(ctx, withFacts(life, { job, attempts: [first], results: new Map(), retriedBy: [] }), first, owners);
    } else {
      const state = await loadJob(life, plan.jobId);
      // The same content uploaded again after its outputs were deleted with it: a new job, the same for every delivery.
      if (state?.facts.deleted) return await startJob(ctx, { ...plan, jobId: afterDeletion(plan.jobId) }, trigger, retryOf);
      outcome = await advanceJob(ctx, plan.jobId, trigger, state);
    }
  } finally {
    await listed;
  }
  const jobId = plan.jobId;
  if (outcome.status === 'missing') return { status: 'duplicate', jobId, reason: `job ${plan.jobId} was claimed but its identity is missing` };
  if (outcome.status === 'busy') return { status: 'duplicate', jobId, reason: 'another invocation is working on this job; it finishes it, or reconcile takes over' };
  if (!outcome.acted) return { status: 'duplicate', jobId, reason: `job is already ${outcome.status}` };
  const reason = outcome.error ? { reason: `${outcome.error.code}: ${outcome.error.message}` } : {};
  const status = outcome.status === 'failed' ? 'failed' : outcome.status === 'pending' ? 'deferred' : 'submitted';
  return { status, jobId, view: outcome.view, ...reason };
}
