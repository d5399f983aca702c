import type { BucketApi } from './clients/oss';
import type { AppConfig } from './config';
import type { ConversionEngine } from './engines/engine';
import { PartialSubmitError } from './engines/oss-async';
import { describeServiceError, TransientFailure } from './errors';
import { candidateKeys, type OssEventRecord, type OssTriggerEvent } from './events/oss';
import type { JobAttempt, JobRecord } from './jobs/record';
import type { JobStore } from './jobs/store';
import type { Logger } from './log';
import { planJob, type JobPlan, type SourceObject } from './plan';
import { matchRules } from './rules/match';
import type { Rule } from './rules/schema';

export interface SubmitDeps {
  config: AppConfig;
  log: Logger;
  requestId: string;
  now: () => number;
  /** How long an attempt owns a pending job before a retry may take over. */
  leaseMs: number;
  /** Epoch ms by which the invocation must be done with its work (the function's time budget). */
  deadline: number;
  sleep(ms: number): Promise<void>;
  bucket(name: string): Promise<BucketApi>;
  store(bucket: BucketApi): JobStore;
  engine(rule: Rule, bucket: BucketApi): Promise<ConversionEngine>;
  retry: <T>(service: 'imm' | 'oss', operation: () => Promise<T>) => Promise<T>;
}

export type SubmitOutcome =
  | { status: 'skipped'; key: string; reason: string }
  | { status: 'submitted' | 'duplicate' | 'failed'; key: string; rule: string; jobId: string; taskIds?: string[]; reason?: string };

/**
 * Handles one OSS trigger payload: every created object that matches rules gets one job per rule. Transient
 * failures are collected and thrown at the end, after the other uploads had their turn, so FC retries the event;
 * job records make that retry safe.
 */
export async function submitUploads(event: OssTriggerEvent, deps: SubmitDeps): Promise<SubmitOutcome[]> {
  const outcomes: SubmitOutcome[] = [];
  const transient: Error[] = [];
  for (const record of event.events) {
    try {
      outcomes.push(...(await submitUpload(record, deps)));
    } catch (error) {
      if (!(error instanceof TransientFailure)) throw error;
      transient.push(error);
    }
  }
  for (const outcome of outcomes) deps.log.info(`upload ${outcome.status}`, { ...outcome });
  if (transient.length > 0) throw new TransientFailure(transient.map((e) => e.message).join('; '));
  return outcomes;
}

async function submitUpload(record: OssEventRecord, deps: SubmitDeps): Promise<SubmitOutcome[]> {
  const eventKey = record.oss.object.key;
  const skip = (reason: string): SubmitOutcome[] => [{ status: 'skipped', key: eventKey, reason }];
  if (!record.eventName.startsWith('ObjectCreated:')) return skip(`event ${record.eventName} is not an object creation`);

  const { recordsPrefix, rules } = deps.config;
  const candidates = candidateKeys(eventKey).filter((key) => !key.startsWith(recordsPrefix));
  if (candidates.length === 0) return skip(`a job record (under ${recordsPrefix}) never starts a task`);
  if (!candidates.some((key) => matchRules(rules, key).length > 0)) return skip('matches no rule');

  const bucket = await deps.bucket(record.oss.bucket.name);
  const found = await findObject(bucket, candidates, deps);
  if (!found) return skip('the object no longer exists');
  const { key, info } = found;
  if (key !== eventKey) deps.log.warn('event key was URL-encoded; using the decoded key', { eventKey, key });

  const source: SourceObject = {
    bucket: bucket.bucket,
    key,
    eTag: (record.oss.object.eTag ?? info.eTag).toUpperCase(),
    size: record.oss.object.size ?? info.size,
  };
  const outcomes: SubmitOutcome[] = [];
  for (const rule of matchRules(rules, key)) {
    const sizeProblem = sizeLimitProblem(rule, source.size);
    if (sizeProblem) {
      outcomes.push({ status: 'skipped', key, reason: `rule "${rule.name}": ${sizeProblem}` });
      continue;
    }
    outcomes.push(await submitJob(planJob(source, rule), bucket, deps));
  }
  return outcomes;
}

async function findObject(bucket: BucketApi, candidates: string[], deps: SubmitDeps) {
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

/** pending (create-only, leased) -> submitted | failed; a duplicate event finds the record and stops. */
async function submitJob(plan: JobPlan, bucket: BucketApi, deps: SubmitDeps): Promise<SubmitOutcome> {
  const store = deps.store(bucket);
  const base = { key: plan.source.key, rule: plan.rule.name, jobId: plan.jobId };
  const log = deps.log.child(base);

  let job = newJobRecord(plan, attempt(1, deps));
  if ((await deps.retry('oss', () => store.create(job))) === 'exists') {
    const taken = await takeOver(plan, store, deps);
    if ('duplicate' in taken) return { status: 'duplicate', ...base, reason: taken.duplicate };
    log.warn('taking over a pending job whose attempt expired', { attempt: taken.job.attempts.at(-1)?.number });
    job = taken.job;
  }

  // Outputs that already have a task (an earlier attempt got part way with the OSS engine) are not submitted again.
  const taskIds = new Map(job.outputs.flatMap((o) => (o.taskId ? [[o.key, o.taskId] as const] : [])));
  const remaining: JobPlan = { ...plan, outputs: plan.outputs.filter((o) => !taskIds.has(o.resolvedKey)) };
  let failure: unknown;
  try {
    const engine = await deps.engine(plan.rule, bucket);
    const { outputTaskIds } = await engine.submit(remaining);
    remaining.outputs.forEach((o, i) => taskIds.set(o.resolvedKey, outputTaskIds[i]!));
  } catch (error) {
    failure = error;
    if (error instanceof PartialSubmitError) error.startedTaskIds.forEach((id, i) => taskIds.set(remaining.outputs[i]!.resolvedKey, id));
  }
  const at = iso(deps.now());
  job = {
    ...job,
    taskId: job.taskId ?? taskIds.get(job.outputs[0]?.key ?? '') ?? null,
    outputs: job.outputs.map((output) => (taskIds.has(output.key) ? { ...output, taskId: taskIds.get(output.key) } : output)),
    updatedAt: at,
  };
  const distinctTasks = [...new Set(taskIds.values())];

  if (failure === undefined) {
    job = { ...job, status: 'submitted', attempts: finishAttempt(job.attempts, { outcome: 'submitted' }), submittedAt: at };
    await deps.retry('oss', () => store.save(job));
    await indexTasks(store, distinctTasks, plan, deps);
    return { status: 'submitted', ...base, taskIds: distinctTasks };
  }

  const info = describeServiceError(plan.rule.engine === 'imm' ? 'imm' : 'oss', failure);
  if (info.transient) {
    // Keep the tasks already started and release the lease, so FC's retry takes over at once and submits the rest.
    job = { ...job, attempts: finishAttempt(job.attempts, { outcome: 'retrying', error: info, leaseExpiresAt: at }) };
    await store.save(job).catch((saveError: unknown) => log.error('could not save the attempt', { error: saveError }));
    await indexTasks(store, distinctTasks, plan, deps);
    throw new TransientFailure(`job ${plan.jobId}: ${info.code}: ${info.message}`, info);
  }
  job = {
    ...job,
    status: 'failed',
    error: { code: info.code, message: info.message },
    attempts: finishAttempt(job.attempts, { outcome: 'failed', error: info }),
    finishedAt: at,
  };
  await deps.retry('oss', () => store.save(job));
  log.error('task submission refused; job failed', { code: info.code, reason: info.message });
  return { status: 'failed', ...base, reason: `${info.code}: ${info.message}` };
}

async function indexTasks(store: JobStore, taskIds: string[], plan: JobPlan, deps: SubmitDeps) {
  for (const taskId of taskIds) await deps.retry('oss', () => store.indexTask(taskId, { jobId: plan.jobId, bucket: plan.source.bucket }));
}

/** How often a duplicate checks on the attempt that owns the job. */
const IN_PROGRESS_POLL_MS = 1_000;

/**
 * The job exists already. Done or submitted: a duplicate. Pending under a live lease: another invocation is on it,
 * so wait for it within this invocation's budget (then throw so FC retries later). Pending with an expired lease:
 * its attempt crashed; claim the next attempt number (create-only, one winner) and carry on with it. A claim older
 * than a lease whose winner never saved the record was abandoned too: the number after it is claimed instead.
 */
async function takeOver(plan: JobPlan, store: JobStore, deps: SubmitDeps): Promise<{ duplicate: string } | { job: JobRecord }> {
  const waitOrGiveUp = async (ms: number, why: string) => {
    if (deps.now() + ms >= deps.deadline) throw new TransientFailure(`job ${plan.jobId} ${why}; retry later`);
    await deps.sleep(ms);
  };
  for (;;) {
    const existing = await deps.retry('oss', () => store.get(plan.jobId));
    if (!existing) throw new TransientFailure(`job ${plan.jobId} record vanished while being read`);
    if (existing.status !== 'pending') return { duplicate: `job is already ${existing.status}` };
    const current = existing.attempts.at(-1);
    const leaseEnds = current ? Date.parse(current.leaseExpiresAt) : 0;
    if (leaseEnds > deps.now()) {
      await waitOrGiveUp(Math.min(IN_PROGRESS_POLL_MS, leaseEnds - deps.now() + 10), `is being submitted by attempt ${current?.number} (lease until ${current?.leaseExpiresAt})`);
      continue;
    }
    let number = (current?.number ?? 0) + 1;
    for (;;) {
      if (await deps.retry('oss', () => store.claimAttempt(plan.jobId, number))) {
        const job: JobRecord = { ...existing, attempts: [...existing.attempts, attempt(number, deps)], updatedAt: iso(deps.now()) };
        await deps.retry('oss', () => store.save(job));
        return { job };
      }
      const claimedAt = await deps.retry('oss', () => store.claimedAt(plan.jobId, number));
      if (claimedAt === undefined || deps.now() - claimedAt <= deps.leaseMs) break;
      number++;
    }
    await waitOrGiveUp(IN_PROGRESS_POLL_MS, `attempt ${number} was claimed by another invocation`);
  }
}

function newJobRecord(plan: JobPlan, first: JobAttempt): JobRecord {
  return {
    schemaVersion: 1,
    jobId: plan.jobId,
    bucket: plan.source.bucket,
    key: plan.source.key,
    eTag: plan.source.eTag,
    size: plan.source.size,
    rule: plan.rule.name,
    engine: plan.rule.engine,
    status: 'pending',
    taskId: null,
    outputs: plan.outputs.map((o) => ({ key: o.resolvedKey, format: o.format, maxFrames: o.maxFrames })),
    attempts: [first],
    createdAt: first.startedAt,
    updatedAt: first.startedAt,
    error: null,
  };
}

function attempt(number: number, deps: SubmitDeps): JobAttempt {
  const now = deps.now();
  return { number, startedAt: iso(now), requestId: deps.requestId, leaseExpiresAt: iso(now + deps.leaseMs) };
}

function finishAttempt(
  attempts: JobAttempt[],
  result: { outcome: NonNullable<JobAttempt['outcome']>; error?: { code: string; message: string }; leaseExpiresAt?: string },
): JobAttempt[] {
  return attempts.map((a, i) =>
    i === attempts.length - 1
      ? {
          ...a,
          outcome: result.outcome,
          ...(result.error ? { error: { code: result.error.code, message: result.error.message } } : {}),
          ...(result.leaseExpiresAt ? { leaseExpiresAt: result.leaseExpiresAt } : {}),
        }
      : a,
  );
}

const iso = (ms: number) => new Date(ms).toISOString();
