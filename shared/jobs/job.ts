import * as z from '../zod';

export const JOB_STATUSES = ['pending', 'submitted', 'succeeded', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

const ErrorSchema = z.object({ code: z.string(), message: z.string() });

export const JobOutputSchema = z.object({
  key: z.string(),
  format: z.enum(['gif', 'webp']),
  /** The frame cap the task ran with (IMM bills per frame). */
  maxFrames: z.int(),
  /** The task producing this output (per output for the OSS engine). */
  taskId: z.optional(z.string()),
  bytes: z.optional(z.int()),
  tagged: z.optional(z.boolean()),
});

export const JobAttemptSchema = z.object({
  number: z.int().check(z.minimum(1)),
  startedAt: z.string(),
  requestId: z.optional(z.string()),
  /** Until then the attempt owns the job; after it a retry may take over (a crashed submit). */
  leaseExpiresAt: z.string(),
  outcome: z.optional(z.enum(['submitted', 'failed', 'retrying'])),
  error: z.optional(ErrorSchema),
});

/** The durable state of one (source object version, rule) pair: `<RECORDS_PREFIX>jobs/<jobId>.json`. */
export const JobRecordSchema = z.object({
  schemaVersion: z.literal(1),
  jobId: z.string(),
  bucket: z.string(),
  key: z.string(),
  eTag: z.string(),
  size: z.int().check(z.minimum(0)),
  rule: z.string(),
  engine: z.enum(['imm', 'oss']),
  status: z.enum(JOB_STATUSES),
  taskId: z.nullable(z.string()),
  outputs: z.array(JobOutputSchema),
  attempts: z.array(JobAttemptSchema),
  createdAt: z.string(),
  updatedAt: z.string(),
  submittedAt: z.optional(z.string()),
  finishedAt: z.optional(z.string()),
  task: z.optional(z.object({ startTime: z.optional(z.string()), endTime: z.optional(z.string()) })),
  error: z.nullable(ErrorSchema),
});

export type JobRecord = z.infer<typeof JobRecordSchema>;
export type JobOutput = z.infer<typeof JobOutputSchema>;
export type JobAttempt = z.infer<typeof JobAttemptSchema>;

export function isTerminal(status: JobStatus): boolean {
  return status === 'succeeded' || status === 'failed';
}
