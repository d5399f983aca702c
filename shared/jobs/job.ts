import * as z from '../platform/zod';
import { CostSchema } from './cost';
import { MediaInfoSchema } from './sampling';

/**
 * pending: a task is owed (new, taken over, or a transient task failure waiting for its retry);
 * submitted: every output has a task running; succeeded / failed: final.
 */
export const JOB_STATUSES = ['pending', 'submitted', 'succeeded', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const JobErrorSchema = z.object({ code: z.string(), message: z.string() });
export type JobError = z.infer<typeof JobErrorSchema>;

export const JobOutputSchema = z.object({
  key: z.string(),
  format: z.enum(['gif', 'webp']),
  /** The frame cap the task runs with (IMM bills per frame). */
  maxFrames: z.int(),
  /** The task currently answering for this output (the latest one). */
  taskId: z.optional(z.string()),
  /** The frames the task will make (billed per frame), planned before it runs. */
  plannedFrames: z.optional(z.int()),
  /** The frames the animation has, counted by the record function once it exists: what IMM billed. */
  frames: z.optional(z.int()),
  bytes: z.optional(z.int()),
  tagged: z.optional(z.boolean()),
});
export type JobOutput = z.infer<typeof JobOutputSchema>;

/** One IMM task and the outputs it makes (all of them with the imm engine, one with the oss engine). */
export const AttemptTaskSchema = z.object({ taskId: z.string(), outputs: z.array(z.string()) });
export type AttemptTask = z.infer<typeof AttemptTaskSchema>;

export const ATTEMPT_OUTCOMES = ['submitted', 'adopted', 'retrying', 'deferred', 'failed'] as const;

/**
 * One try at getting the job's tasks started, owned by whoever claimed its number (create-only, one winner) and
 * written only by that owner. Until it has an outcome, it holds the job until `leaseExpiresAt`.
 * - submitted: it started tasks; adopted: it found tasks an earlier attempt started (ListTasks, a notice);
 * - retrying: a transient error stopped it (tasks it did start are kept); deferred: it chose to wait;
 * - failed: a permanent error; the job fails with it.
 */
export const JobAttemptSchema = z.object({
  number: z.int().check(z.minimum(1)),
  /** What started it: the upload event, a takeover of an abandoned attempt, a task retry, reconcile, a notice. */
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
  error: z.optional(JobErrorSchema),
});
export type JobAttempt = z.infer<typeof JobAttemptSchema>;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/**
 * The job record, `<RECORDS_PREFIX>jobs/<jobId>.json`: one per (source object version, rule). Its identity fields
 * are written once; status, outputs, attempts and error are a view derived from the facts (attempt claims and task
 * results), saved for readers. See jobs/derive.ts for why that view can never go backwards.
 */
export const JobRecordSchema = z.object({
  schemaVersion: z.literal(2),
  jobId: z.string(),
  bucket: z.string(),
  key: z.string(),
  eTag: z.string(),
  size: z.int().check(z.minimum(0)),
  rule: z.string(),
  engine: z.enum(['imm', 'oss']),
  status: z.enum(JOB_STATUSES),
  outputs: z.array(JobOutputSchema),
  attempts: z.array(JobAttemptSchema),
  /** The source's duration, size and frame rate, when a rule needed them (`frames`). */
  media: z.optional(MediaInfoSchema),
  /** Frames of all outputs: counted where the animation exists, planned where not yet. */
  frames: z.optional(z.int()),
  /** frames × the configured price per frame (PRICE_PER_FRAME); absent without a price. */
  estimatedCost: z.optional(CostSchema),
  /** The failed job this one re-runs (`video-animation retry`). */
  retryOf: z.optional(z.string()),
  /** The jobs that re-ran this one. */
  retriedBy: z.optional(z.array(z.string())),
  createdAt: z.string(),
  updatedAt: z.string(),
  submittedAt: z.optional(z.string()),
  finishedAt: z.optional(z.string()),
  task: z.optional(z.object({ startTime: z.optional(z.string()), endTime: z.optional(z.string()) })),
  error: z.nullable(JobErrorSchema),
});
export type JobRecord = z.infer<typeof JobRecordSchema>;

/** What a task's end established (from its notice, GetTask or ListTasks); written once, so every reader agrees. */
export const TaskResultSchema = z.object({
  jobId: z.string(),
  taskId: z.string(),
  status: z.enum(['Succeeded', 'Failed']),
  error: z.nullable(JobErrorSchema),
  startTime: z.optional(z.string()),
  endTime: z.optional(z.string()),
  outputs: z.array(z.object({ key: z.string(), bytes: z.optional(z.int()), frames: z.optional(z.int()), tagged: z.boolean() })),
  recordedAt: z.string(),
});
export type TaskResult = z.infer<typeof TaskResultSchema>;

export function isTerminal(status: JobStatus): boolean {
  return status === 'succeeded' || status === 'failed';
}

/**
 * Who may act on the job now, read off its latest attempt:
 * - free: no attempt yet, or the latest one ended (it has an outcome);
 * - held: the latest attempt is running and its lease has not expired: leave the job to it;
 * - abandoned: the latest attempt never ended and its lease expired (its invocation died): anyone may take over.
 */
export type LeaseState = { state: 'free' } | { state: 'held'; until: number; attempt: number } | { state: 'abandoned'; attempt: number };

export function leaseState(attempts: readonly JobAttempt[], now: number): LeaseState {
  const latest = attempts.at(-1);
  if (!latest || latest.outcome !== undefined) return { state: 'free' };
  const until = Date.parse(latest.leaseExpiresAt);
  return until > now ? { state: 'held', until, attempt: latest.number } : { state: 'abandoned', attempt: latest.number };
}
