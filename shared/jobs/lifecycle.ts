import { TransientFailure } from '../platform/errors';
import type { Pricing } from './cost';
import { deriveJob, sameView, type LifecyclePolicy } from './derive';
import { isTerminal, type AttemptOutcome, type AttemptTask, type JobAttempt, type JobError, type JobRecord, type TaskResult } from './job';
import type { JobStore } from './store';

/** Every clock reading of the core goes through this (tests pass a fake one). */
export interface Clock {
  now(): number;
}

/** What the lifecycle operations need: the store, a clock, the policy, and the retry policy for store calls. */
export interface Lifecycle {
  store: JobStore;
  clock: Clock;
  policy: LifecyclePolicy;
  /** The price per frame, for the cost estimate in job records. */
  pricing?: Pricing;
  /** How long an attempt owns the job before another invocation may take over. */
  leaseMs: number;
  requestId: string;
  /** Store calls go through the app's retry policy (OSS throttling and 5xx). */
  retry: <T>(operation: () => Promise<T>) => Promise<T>;
}

/** A job with the facts its view was derived from. */
export interface JobFacts {
  job: JobRecord;
  attempts: JobAttempt[];
  results: Map<string, TaskResult>;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** Transition: a new attempt, holding the job for one lease. */
export function startAttempt(number: number, trigger: JobAttempt['trigger'], now: number, leaseMs: number, requestId?: string): JobAttempt {
  return { number, trigger, startedAt: iso(now), ...(requestId ? { requestId } : {}), leaseExpiresAt: iso(now + leaseMs), tasks: [] };
}

/** Transition: the attempt ends with an outcome, which releases the job. */
export function endAttempt(attempt: JobAttempt, outcome: AttemptOutcome, now: number, details: { tasks?: AttemptTask[]; error?: JobError } = {}): JobAttempt {
  return {
    ...attempt,
    outcome,
    endedAt: iso(now),
    tasks: [...attempt.tasks, ...(details.tasks ?? [])],
    ...(details.error ? { error: { code: details.error.code, message: details.error.message } } : {}),
  };
}

/** Every task id the job's attempts started or adopted. */
export function knownTasks(attempts: readonly JobAttempt[]): Set<string> {
  return new Set(attempts.flatMap((a) => a.tasks.map((t) => t.taskId)));
}

/**
 * Reads the job and its facts; results are cached across calls (they never change once written). The attempts are
 * listed while the record is read, then the missing results are read together: one read after the other would be no
 * more consistent (a writer can act between any two reads; refreshJob re-reads after every save for that reason).
 */
export async function loadFacts(life: Lifecycle, jobId: string, results = new Map<string, TaskResult>()): Promise<JobFacts | undefined> {
  const listing = life.retry(() => life.store.listAttempts(jobId));
  // A terminal record carries its attempts: the listing is not waited for (nor its failure reported).
  listing.catch(() => undefined);
  const job = await life.retry(() => life.store.getJob(jobId));
  if (!job) return undefined;
  if (isTerminal(job.status)) return { job, attempts: job.attempts, results };
  const attempts = await listing;
  const missing = [...knownTasks(attempts)].filter((taskId) => !results.has(taskId));
  const found = await Promise.all(missing.map((taskId) => life.retry(() => life.store.getTaskResult(jobId, taskId))));
  for (const result of found) if (result) results.set(result.taskId, result);
  return { job, attempts, results };
}

/** Rounds after which a view that keeps changing is left to the next delivery. */
const MAX_REFRESH_ROUNDS = 6;

/**
 * Brings the stored job view in line with its facts and returns it. A stored terminal view is final. Otherwise the
 * view is derived, saved, and the facts read again, until what is stored is what the facts say: the last writer
 * always re-checks, so a writer holding stale facts cannot leave its view behind (see jobs/derive.ts). The
 * open-jobs entry exists before any non-terminal view (submit and retry write it before they create the job; each
 * non-terminal save writes it again) and is removed once a terminal one is confirmed; the job index follows every
 * saved view.
 */
export async function refreshJob(life: Lifecycle, jobId: string): Promise<JobFacts | undefined> {
  const results = new Map<string, TaskResult>();
  let savedTerminal = false;
  for (let round = 0; round < MAX_REFRESH_ROUNDS; round++) {
    const facts = await loadFacts(life, jobId, results);
    if (!facts) return undefined;
    const derived = isTerminal(facts.job.status) ? facts.job : deriveJob(facts.job, facts.attempts, facts.results, life.policy, life.pricing);
    if (isTerminal(facts.job.status) || sameView(facts.job, derived)) {
      if (savedTerminal) await life.retry(() => life.store.markClosed(jobId));
      return facts;
    }
    const view: JobRecord = { ...derived, updatedAt: iso(life.clock.now()) };
    // The stored view is not terminal, so its open-jobs entry was written before it (jobs are created after their
    // entry); writing it again only restores one a concurrent reconcile removed, and need not go first.
    await Promise.all([...(isTerminal(view.status) ? [] : [life.retry(() => life.store.markOpen(jobId))]), life.retry(() => life.store.saveJob(view))]);
    await life.retry(() => life.store.indexJob(view, facts.job));
    savedTerminal = isTerminal(view.status);
  }
  throw new TransientFailure(`job ${jobId} kept changing while it was being saved; it will be looked at again`);
}

/** Claims the attempt after the latest one; undefined when another invocation won that number. */
export async function claimNextAttempt(life: Lifecycle, facts: JobFacts, trigger: JobAttempt['trigger']): Promise<JobAttempt | undefined> {
  const number = (facts.attempts.at(-1)?.number ?? 0) + 1;
  const attempt = startAttempt(number, trigger, life.clock.now(), life.leaseMs, life.requestId);
  return (await life.retry(() => life.store.claimAttempt(facts.job.jobId, attempt))) ? attempt : undefined;
}

/** The attempt's owner records how it ended. */
export async function saveAttempt(life: Lifecycle, jobId: string, attempt: JobAttempt): Promise<void> {
  await life.retry(() => life.store.saveAttempt(jobId, attempt));
}
