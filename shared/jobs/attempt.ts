import * as z from '../platform/zod';
import { MediaInfoSchema } from './sampling';

/**
 * The attempt: one try at getting a job's tasks started, and the job's only lock. Like an idempotency record, it
 * knows its own status and expiry:
 *
 *   claimed (create-only: one winner per number) ── runs ──> ended with an outcome (written once, by its owner)
 *        │                                                      releases the job at once
 *        └── lease expires with no outcome (its invocation died) ──> expired: anyone may claim the next number
 *                                                                    and take over (ListTasks first)
 *
 * While an attempt is in progress, every other event for the job is a duplicate and is acknowledged at once: the
 * holder finishes, or reconcile takes over after the lease.
 */
export const ATTEMPT_OUTCOMES = ['submitted', 'adopted', 'retrying', 'deferred', 'failed'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

const JobErrorFields = z.object({ code: z.string(), message: z.string() });

/** One IMM task and the outputs it makes (all of them with the imm engine, one with the oss engine). */
export const AttemptTaskSchema = z.object({ taskId: z.string(), outputs: z.array(z.string()) });
export type AttemptTask = z.infer<typeof AttemptTaskSchema>;

/**
 * `jobs/<jobId>/attempt-NNNN.json`. Outcomes:
 * - submitted: it started tasks; adopted: it found tasks an earlier attempt started (ListTasks);
 * - retrying: a transient error stopped it (tasks it did start are kept); deferred: it chose to wait;
 * - failed: a service's permanent answer; the job fails with it.
 */
export const JobAttemptSchema = z.object({
  number: z.int().check(z.minimum(1)),
  /** What started it: the upload event, a takeover of an expired attempt, a task retry, reconcile, a re-run. */
  trigger: z.enum(['event', 'takeover', 'task-retry', 'reconcile', 'notice', 'manual']),
  startedAt: z.string(),
  requestId: z.optional(z.string()),
  leaseExpiresAt: z.string(),
  outcome: z.optional(z.enum(ATTEMPT_OUTCOMES)),
  endedAt: z.optional(z.string()),
  tasks: z._default(z.array(AttemptTaskSchema), []),
  /** What it learned of the source (rules with `frames`), so later attempts need not ask again. */
  media: z.optional(MediaInfoSchema),
  /** The frames each output it submitted will have, by output key. */
  plannedFrames: z.optional(z.record(z.string(), z.int())),
  error: z.optional(JobErrorFields),
});
export type JobAttempt = z.infer<typeof JobAttemptSchema>;

const iso = (ms: number) => new Date(ms).toISOString();

/** A new attempt, holding the job for one lease. */
export function startAttempt(number: number, trigger: JobAttempt['trigger'], now: number, leaseMs: number, requestId?: string): JobAttempt {
  return { number, trigger, startedAt: iso(now), ...(requestId ? { requestId } : {}), leaseExpiresAt: iso(now + leaseMs), tasks: [] };
}

/** The attempt ends with an outcome, which releases the job. */
export function endAttempt(attempt: JobAttempt, outcome: AttemptOutcome, now: number, details: { tasks?: AttemptTask[]; error?: { code: string; message: string } } = {}): JobAttempt {
  return {
    ...attempt,
    outcome,
    endedAt: iso(now),
    tasks: [...attempt.tasks, ...(details.tasks ?? [])],
    ...(details.error ? { error: { code: details.error.code, message: details.error.message } } : {}),
  };
}

/** in-progress: claimed, no outcome, lease running; expired: no outcome and the lease ran out; ended: has an outcome. */
export type AttemptStatus = 'in-progress' | 'expired' | 'ended';

export function attemptStatus(attempt: JobAttempt, now: number): AttemptStatus {
  if (attempt.outcome !== undefined) return 'ended';
  return isExpired(attempt, now) ? 'expired' : 'in-progress';
}

export function isExpired(attempt: JobAttempt, now: number): boolean {
  return Date.parse(attempt.leaseExpiresAt) <= now;
}

/**
 * Who may act on the job now, read off its latest attempt:
 * - free: no attempt yet, or the latest one ended;
 * - held: the latest attempt is in progress: leave the job to it;
 * - abandoned: the latest attempt expired: anyone may take over.
 */
export type LeaseState = { state: 'free' } | { state: 'held'; until: number; attempt: number } | { state: 'abandoned'; attempt: number };

export function leaseState(attempts: readonly JobAttempt[], now: number): LeaseState {
  const latest = attempts.at(-1);
  if (!latest) return { state: 'free' };
  switch (attemptStatus(latest, now)) {
    case 'ended':
      return { state: 'free' };
    case 'in-progress':
      return { state: 'held', until: Date.parse(latest.leaseExpiresAt), attempt: latest.number };
    case 'expired':
      return { state: 'abandoned', attempt: latest.number };
  }
}

/** Every task id the attempts started or adopted. */
export function knownTasks(attempts: readonly JobAttempt[]): Set<string> {
  return new Set(attempts.flatMap((a) => a.tasks.map((t) => t.taskId)));
}
