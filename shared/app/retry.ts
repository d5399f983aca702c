import { createHash } from 'node:crypto';
import type { RetryRequest } from '../events/retry';
import { newJobRecord, planOfJob } from '../jobs/plan';
import { advanceJob } from './advance';
import { bucketContext, type AppDeps } from './context';

export type RetryOutcome = { status: 'submitted' | 'deferred' | 'duplicate' | 'failed' | 'skipped'; jobId: string; retryOf: string; reason?: string };

/** The job that re-runs `jobId` for the `n`th time: the same for every caller, so concurrent retries make one job. */
export function retryJobId(jobId: string, n: number): string {
  return createHash('sha256').update(`${jobId}/retry/${n}`).digest('hex').slice(0, 32);
}

/**
 * Re-runs a failed job (a failed job is final: its record stays as it is, as history) as a new job for the same
 * source version and rule, linked both ways (`retryOf`, `retriedBy`). Its id is derived from the failed job and the
 * number of retries it had, so two concurrent retries create one job, whose attempts start one task.
 */
export async function retryFailedJob(request: RetryRequest, deps: AppDeps): Promise<RetryOutcome> {
  const { bucket: bucketName, jobId } = request.retry;
  const ctx = await bucketContext(deps, bucketName);
  const { life } = ctx;
  const skip = (reason: string): RetryOutcome => ({ status: 'skipped', jobId, retryOf: jobId, reason });

  const failed = await life.retry(() => life.store.getJob(jobId));
  if (!failed) return skip(`no job ${jobId} in bucket ${bucketName}`);
  if (failed.status !== 'failed') return skip(`job ${jobId} is ${failed.status}; only failed jobs are retried`);
  const rule = deps.config.rules.find((r) => r.name === failed.rule);
  if (!rule) return skip(`rule "${failed.rule}" no longer exists`);
  const source = await deps.retry('oss', () => ctx.bucket.head(failed.key));
  if (!source) return skip(`${failed.key} no longer exists`);
  if (source.eTag.toUpperCase() !== failed.eTag) return skip(`${failed.key} changed since (ETag ${source.eTag}); the new version has its own job`);

  const id = retryJobId(jobId, (failed.retriedBy?.length ?? 0) + 1);
  const job = { ...newJobRecord({ ...planOfJob(failed, rule), jobId: id }, life.clock.now()), retryOf: jobId };
  await life.retry(() => life.store.markOpen(id));
  if ((await life.retry(() => life.store.createJob(job))) === 'created') await life.retry(() => life.store.indexJob(job));
  // The failed record is final; only its link to the retry is added (a set: a concurrent retry adds the same id).
  await life.retry(() => life.store.saveJob({ ...failed, retriedBy: [...new Set([...(failed.retriedBy ?? []), id])] }));

  const outcome = await advanceJob(ctx, id, 'manual');
  const base = { jobId: id, retryOf: jobId };
  if (outcome.status === 'missing') return { status: 'skipped', ...base, reason: `job ${id} vanished` };
  if (outcome.status === 'busy' || !outcome.acted) return { status: 'duplicate', ...base, reason: 'another retry of this job is running' };
  const reason = outcome.error ? { reason: `${outcome.error.code}: ${outcome.error.message}` } : {};
  return { status: outcome.status === 'pending' ? 'deferred' : outcome.status === 'failed' ? 'failed' : 'submitted', ...base, ...reason };
}
