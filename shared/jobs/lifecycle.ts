import { startAttempt, type JobAttempt } from './attempt';
import type { Pricing } from './cost';
import { deriveJob, type LifecyclePolicy } from './derive';
import { isTerminal, type JobFacts, type JobRecord } from './job';
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
  /** Publishes the completion event of a job that ended (absent: no events); answers what went out. */
  publish?: (view: JobRecord) => Promise<NonNullable<JobRecord['event']>>;
}

/** A job's facts and the view derived from them. */
export interface JobState {
  facts: JobFacts;
  view: JobRecord;
}

export async function loadJob(life: Lifecycle, jobId: string): Promise<JobState | undefined> {
  const facts = await life.retry(() => life.store.loadJob(jobId));
  return facts ? { facts, view: deriveJob(facts, life.policy, life.pricing) } : undefined;
}

/** The state after this invocation added facts of its own (no read-back: the store holds what we just wrote). */
export function withFacts(life: Lifecycle, facts: JobFacts): JobState {
  return { facts, view: deriveJob(facts, life.policy, life.pricing) };
}

/** Claims the attempt after the latest one; undefined when another invocation won that number. */
export async function claimNextAttempt(life: Lifecycle, facts: JobFacts, trigger: JobAttempt['trigger']): Promise<JobAttempt | undefined> {
  const number = (facts.attempts.at(-1)?.number ?? 0) + 1;
  const attempt = startAttempt(number, trigger, life.clock.now(), life.leaseMs, life.requestId);
  return (await life.retry(() => life.store.claimAttempt(facts.job.jobId, attempt))) ? attempt : undefined;
}

/** The attempt's owner records how it ended, and the job index gets the state it reached. */
export async function saveAttempt(life: Lifecycle, state: JobState, attempt: JobAttempt): Promise<JobState> {
  const attempts = [...state.facts.attempts.filter((a) => a.number !== attempt.number), attempt].sort((a, b) => a.number - b.number);
  const next = withFacts(life, { ...state.facts, attempts });
  await Promise.all([life.retry(() => life.store.saveAttempt(state.facts.job.jobId, attempt)), ...(isTerminal(next.view.status) ? [] : [indexState(life, next.view)])]);
  return next;
}

/** The job index entry for the state a job reached (create-only: writing it twice is harmless). */
export function indexState(life: Lifecycle, view: JobRecord): Promise<void> {
  return life.retry(() => life.store.indexJob(view));
}

/**
 * The terminal transition: the completion event goes out (at least once: its id is the same for every writer), the
 * terminal record is written once with when it went out (the first writer's stands, and is returned), then the job
 * gets its index entry and leaves the open-jobs index. A failure or crash before the record leaves the job open:
 * a redelivered notice or reconcile comes back and does the same steps, so no ended job lacks its event.
 */
export async function concludeJob(life: Lifecycle, state: JobState): Promise<JobState & { wrote: boolean }> {
  const { facts, view } = state;
  if (!isTerminal(view.status)) return { ...state, wrote: false };
  const event = facts.ended || !life.publish ? undefined : await life.publish(view);
  const stored = facts.ended ? { written: false, record: facts.ended } : await life.retry(() => life.store.endJob(event ? { ...view, event } : view));
  await Promise.all([indexState(life, stored.record), life.retry(() => life.store.markClosed(facts.job.jobId))]);
  const concluded = { ...facts, ended: stored.record };
  return { facts: concluded, view: deriveJob(concluded, life.policy, life.pricing), wrote: stored.written };
}
