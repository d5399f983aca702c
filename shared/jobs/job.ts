import * as z from '../platform/zod';
import { JobAttemptSchema, type JobAttempt } from './attempt';
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

/**
 * What a job makes, fixed when the job is created: one shape for every kind of output and its files.
 * - animation (no `kind`): `key` is the GIF or WebP;
 * - poster: `key` is the still image; `candidates` the frames IMM captures to choose it from (removed after);
 * - storyboard: `key` is the WebVTT file, `files` its sprite sheets (in the `format`).
 * `bucket`: where the output is written, when not in the source's bucket.
 */
export const OutputIdentitySchema = z.object({
  key: z.string(),
  kind: z.optional(z.enum(['poster', 'storyboard'])),
  format: z.enum(['gif', 'webp', 'jpg', 'png']),
  bucket: z.optional(z.string()),
  /** The frame cap the task runs with (IMM bills per frame); for a preview, the frames it captures. */
  maxFrames: z.int(),
  files: z.optional(z.array(z.string())),
  candidates: z.optional(z.array(z.string())),
});
export type OutputIdentity = z.infer<typeof OutputIdentitySchema>;

export const JobOutputSchema = z.extend(OutputIdentitySchema, {
  /** The task currently answering for this output (the latest one). */
  taskId: z.optional(z.string()),
  /** The frames the task will make (billed per frame), planned before it runs. */
  plannedFrames: z.optional(z.int()),
  /** The frames the animation has, counted by the record function once it exists: what IMM billed. */
  frames: z.optional(z.int()),
  bytes: z.optional(z.int()),
  tagged: z.optional(z.boolean()),
  /** Bytes of each further file (a storyboard's sheets), by key. */
  fileBytes: z.optional(z.record(z.string(), z.int())),
});
export type JobOutput = z.infer<typeof JobOutputSchema>;

/**
 * The job's identity, `jobs/<jobId>/job.json`: one per (source object version, rule), or per re-run of a failed
 * job. Written once, create-only; everything else about the job is a fact beside it or derived from those facts.
 */
/** What names a job's source and rule, in its identity and its record alike. */
const JOB_SOURCE_FIELDS = {
  jobId: z.string(),
  bucket: z.string(),
  key: z.string(),
  eTag: z.string(),
  size: z.int().check(z.minimum(0)),
  rule: z.string(),
  engine: z.enum(['imm', 'oss']),
};

export const JobIdentitySchema = z.object({
  schemaVersion: z.literal(3),
  ...JOB_SOURCE_FIELDS,
  outputs: z.array(OutputIdentitySchema),
  createdAt: z.string(),
  /** The failed job this one re-runs (`video-animation retry`). */
  retryOf: z.optional(z.string()),
});
export type JobIdentity = z.infer<typeof JobIdentitySchema>;

/**
 * The job as its facts say it is: derived by whoever reads it while it runs (jobs/derive.ts), and written once,
 * create-only, when it ends (`jobs/<jobId>/end.json`): a terminal record is a storage fact, never rewritten.
 * schemaVersion 2 records (`jobs/<jobId>.json`, a view saved and re-saved by every writer) stay readable.
 */
export const JobRecordSchema = z.object({
  schemaVersion: z.union([z.literal(2), z.literal(3)]),
  ...JOB_SOURCE_FIELDS,
  status: z.enum(JOB_STATUSES),
  outputs: z.array(JobOutputSchema),
  attempts: z.array(JobAttemptSchema),
  /** The source's duration, size and frame rate, when a rule needed them (`frames`). */
  media: z.optional(MediaInfoSchema),
  /** Frames of all outputs: counted where the animation exists, planned where not yet. */
  frames: z.optional(z.int()),
  /** frames × the configured price per frame (PRICE_PER_FRAME); absent without a price. */
  estimatedCost: z.optional(CostSchema),
  retryOf: z.optional(z.string()),
  /** The jobs that re-ran this one (from the retry links beside it). */
  retriedBy: z.optional(z.array(z.string())),
  createdAt: z.string(),
  /** When the latest fact was written. */
  updatedAt: z.string(),
  submittedAt: z.optional(z.string()),
  finishedAt: z.optional(z.string()),
  task: z.optional(z.object({ startTime: z.optional(z.string()), endTime: z.optional(z.string()) })),
  error: z.nullable(JobErrorSchema),
  /** Its outputs were deleted with its source (`deleteWithSource`). */
  deleted: z.optional(z.object({ outputs: z.array(z.string()), deletedAt: z.string() })),
  /** The completion event published for the job's end, before its terminal record was written (EVENTS_TOPIC). */
  event: z.optional(z.object({ id: z.string(), type: z.string(), publishedAt: z.string() })),
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
  outputs: z.array(
    z.object({ key: z.string(), bytes: z.optional(z.int()), frames: z.optional(z.int()), tagged: z.boolean(), fileBytes: z.optional(z.record(z.string(), z.int())) }),
  ),
  recordedAt: z.string(),
});
export type TaskResult = z.infer<typeof TaskResultSchema>;

/** The identity part of a record (a terminal one, or a schemaVersion 2 view). */
export function identityOf(record: JobRecord): JobIdentity {
  return {
    schemaVersion: 3,
    jobId: record.jobId,
    bucket: record.bucket,
    key: record.key,
    eTag: record.eTag,
    size: record.size,
    rule: record.rule,
    engine: record.engine,
    outputs: record.outputs.map(({ taskId: _t, plannedFrames: _p, frames: _f, bytes: _b, tagged: _g, fileBytes: _fb, ...identity }) => identity),
    createdAt: record.createdAt,
    ...(record.retryOf ? { retryOf: record.retryOf } : {}),
  };
}

export function isTerminal(status: JobStatus): boolean {
  return status === 'succeeded' || status === 'failed';
}

/** Everything stored about one job: the facts a view is derived from. */
export interface JobFacts {
  job: JobIdentity;
  /** Every claimed attempt, by number. */
  attempts: JobAttempt[];
  /** Every written task result, by task id. */
  results: Map<string, TaskResult>;
  /** The terminal record, once one was written: then it is the job, and the other facts are history. */
  ended?: JobRecord;
  /** Jobs that re-run this one (create-only retry links). */
  retriedBy: string[];
  /** Its outputs were deleted with its source: the job is history, and an upload of the same content starts anew. */
  deleted?: { outputs: string[]; deletedAt: string };
}

export type { JobAttempt } from './attempt';
