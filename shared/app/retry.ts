import { createHash } from 'node:crypto';
import type { RetryRequest } from '../events/retry';
import { loadJob } from '../jobs/lifecycle';
import { planOfJob } from '../jobs/plan';
import { bucketContext, type AppDeps } from './context';
import { startJob } from './start';

export type RetryOutcome = { status: 'submitted' | 'deferred' | 'duplicate' | 'failed' | 'skipped'; jobId: string; retryOf: string; reason?: string };

/**
 * The job that re-runs `jobId` for retry request `requestId`: the same for every delivery of that request, so a
 * request FC delivers twice makes one job and one task. A request without an id (an older command line) re-runs a
 * failed job once.
 */
export function retryJobId(jobId: string, requestId: string | undefined): string {
  return createHash('sha256').update(`${jobId}/retry/${requestId ?? ''}`).digest('hex').slice(0, 32);
}

/**
 * Re-runs a failed job (a failed job is final: its record stays as it is, as history) as a new job for the same
 * source version and rule, linked both ways: the new job's identity names the failed one (`retryOf`), and a
 * create-only link beside the failed job names the new one (`retriedBy`).
 */
export async function retryFailedJob(request: RetryRequest, deps: AppDeps): Promise<RetryOutcome> {
  const { bucket: bucketName, jobId, requestId } = request.retry;
  const ctx = await bucketContext(deps, bucketName);
  const { life } = ctx;
  const skip = (reason: string): RetryOutcome => ({ status: 'skipped', jobId, retryOf: jobId, reason });

  const failed = (await loadJob(life, jobId))?.view;
  if (!failed) return skip(`no job ${jobId} in bucket ${bucketName}`);
  if (failed.status !== 'failed') return skip(`job ${jobId} is ${failed.status}; only failed jobs are retried`);
  const rule = deps.config.rules.find((r) => r.name === failed.rule);
  if (!rule) return skip(`rule "${failed.rule}" no longer exists`);
  const source = await deps.retry('oss', () => ctx.bucket.head(failed.key));
  if (!source) return skip(`${failed.key} no longer exists`);
  if (source.eTag.toUpperCase() !== failed.eTag) return skip(`${failed.key} changed since (ETag ${source.eTag}); the new version has its own job`);

  const id = retryJobId(jobId, requestId);
  await life.retry(() => life.store.linkRetry(jobId, id));
  const started = await startJob(ctx, { ...planOfJob(failed, rule), jobId: id }, 'manual', jobId);
  // A duplicate always says why; a submitted, deferred or failed re-run may.
  return { status: started.status, jobId: started.jobId, retryOf: jobId, ...(started.reason ? { reason: started.reason } : {}) };
}
