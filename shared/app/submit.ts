import type { BucketApi } from '../clients/oss';
import { candidateKeys, type OssEventRecord, type OssTriggerEvent } from '../events/oss';
import { planJob, type JobPlan, type SourceObject } from '../jobs/plan';
import { isTransient, TransientFailure } from '../platform/errors';
import { matchRules } from '../rules/match';
import type { Rule } from '../rules/schema';
import { bucketContext, type AppDeps, type BucketContext } from './context';
import { deleteOutputsOfSource, type DeleteOutcome } from './delete';
import { startJob } from './start';

export type SubmitOutcome =
  | { status: 'skipped'; key: string; reason: string }
  | DeleteOutcome
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
      if (!isTransient(error)) throw error;
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
  const { recordsPrefix, rules } = deps.config;
  const candidates = candidateKeys(eventKey).filter((key) => !key.startsWith(recordsPrefix));
  if (entry.eventName.startsWith('ObjectRemoved:')) {
    const deleting = (key: string) => matchRules(rules, key).filter((rule) => rule.deleteWithSource);
    if (!candidates.some((key) => deleting(key).length > 0)) return skip(`event ${entry.eventName}: no rule deletes outputs with their source (deleteWithSource)`);
    const ctx = await bucketContext(deps, entry.oss.bucket.name);
    const deleted = (await Promise.all(candidates.map((key) => deleteOutputsOfSource(ctx, key, deleting(key))))).flat();
    return deleted.length > 0 ? deleted : skip(`event ${entry.eventName}: no job of this source has outputs left to delete`);
  }
  if (!entry.eventName.startsWith('ObjectCreated:')) return skip(`event ${entry.eventName} is not an object creation`);
  if (candidates.length === 0) return skip(`a job record (under ${recordsPrefix}) never starts a task`);
  if (!candidates.some((key) => matchRules(rules, key).length > 0)) return skip('matches no rule');

  const ctx = await bucketContext(deps, entry.oss.bucket.name);
  const bucket = ctx.bucket;
  const { eTag, size } = entry.oss.object;
  // An event that names one possible key with its ETag and size says all a job needs: no HEAD. (An object deleted
  // since then fails its task with the service's own code.)
  const found = candidates.length === 1 && eTag && size !== undefined ? { key: candidates[0]!, eTag, size } : await findObject(bucket, candidates, deps);
  if (!found) return skip('the object no longer exists');
  const { key } = found;
  if (key !== eventKey) deps.log.warn('event key was URL-encoded; using the decoded key', { eventKey, key });

  // What the event says of its own version wins over what a HEAD found (the object may have changed since).
  const source: SourceObject = { bucket: bucket.bucket, key, eTag: (eTag ?? found.eTag).toUpperCase(), size: size ?? found.size };
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
    if (info) return { key, eTag: info.eTag, size: info.size };
  }
  return undefined;
}

function sizeLimitProblem({ minBytes = 0, maxBytes = Number.POSITIVE_INFINITY }: Rule, size: number): string | undefined {
  if (size < minBytes) return `${size} bytes is below minBytes ${minBytes}`;
  if (size > maxBytes) return `${size} bytes is above maxBytes ${maxBytes}`;
  return undefined;
}

/** One job per (object version, rule), started once however often the event comes (app/start.ts). */
async function submitJob(ctx: BucketContext, plan: JobPlan): Promise<SubmitOutcome> {
  const started = await startJob(ctx, plan, 'event');
  const base = { key: plan.source.key, rule: plan.rule.name, jobId: started.jobId };
  if (started.status === 'duplicate') return { status: 'duplicate', ...base, reason: started.reason };
  const taskIds = [...new Set(started.view.outputs.flatMap((o) => (o.taskId ? [o.taskId] : [])))];
  return { status: started.status, ...base, ...(started.status === 'failed' ? {} : { taskIds }), ...(started.reason ? { reason: started.reason } : {}) };
}
