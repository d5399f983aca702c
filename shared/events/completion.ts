import { createHash } from 'node:crypto';
import type { JobOutput, JobRecord } from '../jobs/job';
import * as z from '../platform/zod';

/**
 * The completion events the app publishes to the events topic (EVENTS_TOPIC): CloudEvents 1.0 in structured mode,
 * one JSON object per MNS message. The JSON Schema of the same shape is `schemas/completion-event.v1.json`
 * (test/unit/completion-event.test.ts keeps the two in step); docs/events.md shows one of each type.
 */

export const COMPLETION_EVENT_TYPES = ['video-animation.job.succeeded', 'video-animation.job.failed', 'video-animation.outputs.deleted'] as const;
export type CompletionEventType = (typeof COMPLETION_EVENT_TYPES)[number];

/** The `$id` of the JSON Schema file, also sent as each event's `dataschema`: a new major version gets a new id. */
export const COMPLETION_EVENT_SCHEMA_ID = 'urn:video-animation:schemas:completion-event:v1';

export const EventSourceObjectSchema = z.object({
  bucket: z.string(),
  key: z.string(),
  eTag: z.string(),
  size: z.int().check(z.minimum(0)),
});

/** One extra file of an output kind that makes several (storyboard sheets and their WebVTT index). */
export const EventOutputFileSchema = z.object({
  key: z.string(),
  bytes: z.optional(z.int().check(z.minimum(0))),
});

export const EventOutputSchema = z.object({
  bucket: z.string(),
  key: z.string(),
  /** gif, webp (animations); jpg, png, vtt for the image kinds. */
  format: z.string(),
  kind: z.optional(z.string()),
  width: z.optional(z.int()),
  height: z.optional(z.int()),
  frames: z.optional(z.int()),
  bytes: z.optional(z.int()),
  files: z.optional(z.array(EventOutputFileSchema)),
});

export const CompletionEventDataSchema = z.object({
  jobId: z.string(),
  rule: z.string(),
  source: EventSourceObjectSchema,
  outputs: z.array(EventOutputSchema),
  /** Frames of all outputs: what IMM bills. */
  frames: z.optional(z.int()),
  /** frames × PRICE_PER_FRAME; absent without a price. */
  estimatedCost: z.optional(z.object({ amount: z.number(), currency: z.string() })),
  /** Only on video-animation.job.failed. */
  error: z.optional(z.object({ code: z.string(), message: z.string() })),
  /** The failed job this one re-ran (`video-animation retry`). */
  retryOf: z.optional(z.string()),
});

export const CompletionEventSchema = z.object({
  specversion: z.literal('1.0'),
  id: z.string().check(z.minLength(1)),
  source: z.string().check(z.minLength(1)),
  type: z.enum(COMPLETION_EVENT_TYPES),
  subject: z.string().check(z.minLength(1)),
  time: z.string(),
  datacontenttype: z.literal('application/json'),
  dataschema: z.literal(COMPLETION_EVENT_SCHEMA_ID),
  data: CompletionEventDataSchema,
}).check(
  z.refine((event) => (event.type === 'video-animation.job.failed') === (event.data.error !== undefined), {
    message: 'data.error is present exactly on video-animation.job.failed',
    path: ['data', 'error'],
  }),
);

export type CompletionEvent = z.infer<typeof CompletionEventSchema>;
export type CompletionEventData = z.infer<typeof CompletionEventDataSchema>;
export type EventOutput = z.infer<typeof EventOutputSchema>;

/**
 * A job output as the builder reads it: the record's output, plus what later output kinds and other-bucket outputs
 * add (all optional, so today's JobRecord fits). `bucket` absent = the source's bucket.
 */
export type CompletionJobOutput = JobOutput & {
  width?: number;
  height?: number;
};

/** The job record as the builder reads it. */
export type CompletionJob = Omit<JobRecord, 'outputs'> & { outputs: readonly CompletionJobOutput[] };

export interface CompletionEventContext {
  region: string;
  /** The account that owns the source bucket (FC's context.accountId); part of `source`. */
  accountId: string;
}

/**
 * `source`: the source bucket's ARN, `acs:oss:<region>:<accountId>:<bucket>`; with `subject` (the source key) it
 * names the uploaded object, as CloudEvents suggests for a blob store.
 */
export function completionEventSource(context: CompletionEventContext, bucket: string): string {
  return `acs:oss:${context.region}:${context.accountId}:${bucket}`;
}

/**
 * The same job and type always give the same id, so a consumer drops a repeat (MNS and the app's own retries are
 * at least once). A job id names one source version and rule, so it never recurs for another upload.
 */
export function completionEventId(jobId: string, type: CompletionEventType): string {
  return createHash('sha256').update(`${type}\n${jobId}`).digest('hex').slice(0, 32);
}

/**
 * The event for a job that reached its end: `job.succeeded` or `job.failed` by the record's status. `time` is when
 * the job finished (the record's `finishedAt`), so a repeat is byte-for-byte the same message.
 */
export function jobEndedEvent(job: CompletionJob, context: CompletionEventContext): CompletionEvent {
  if (job.status !== 'succeeded' && job.status !== 'failed') {
    throw new Error(`job ${job.jobId} is ${job.status}: only a succeeded or failed job has a completion event`);
  }
  const type = job.status === 'succeeded' ? 'video-animation.job.succeeded' : 'video-animation.job.failed';
  const error = job.status === 'failed' ? (job.error ?? { code: 'Unknown', message: 'the job failed without a recorded reason' }) : undefined;
  return envelope(type, job, context, job.finishedAt ?? job.updatedAt, job.outputs, error);
}

/**
 * The event for outputs deleted with their source (rules with `deleteWithSource`): `outputs` are the ones this job
 * owned and that were deleted; `deletedAt` is when (ISO 8601).
 */
export function outputsDeletedEvent(
  job: CompletionJob,
  deleted: readonly CompletionJobOutput[],
  context: CompletionEventContext,
  deletedAt: string,
): CompletionEvent {
  return envelope('video-animation.outputs.deleted', job, context, deletedAt, deleted, undefined);
}

function envelope(
  type: CompletionEventType,
  job: CompletionJob,
  context: CompletionEventContext,
  time: string,
  outputs: readonly CompletionJobOutput[],
  error: { code: string; message: string } | undefined,
): CompletionEvent {
  return {
    specversion: '1.0',
    id: completionEventId(job.jobId, type),
    source: completionEventSource(context, job.bucket),
    type,
    subject: job.key,
    time,
    datacontenttype: 'application/json',
    dataschema: COMPLETION_EVENT_SCHEMA_ID,
    data: {
      jobId: job.jobId,
      rule: job.rule,
      source: { bucket: job.bucket, key: job.key, eTag: job.eTag, size: job.size },
      outputs: outputs.map((output) => eventOutput(output, job.bucket)),
      ...(job.frames !== undefined ? { frames: job.frames } : {}),
      ...(job.estimatedCost ? { estimatedCost: { amount: job.estimatedCost.amount, currency: job.estimatedCost.currency } } : {}),
      ...(error ? { error: { code: error.code, message: error.message } } : {}),
      ...(job.retryOf ? { retryOf: job.retryOf } : {}),
    },
  };
}

function eventOutput(output: CompletionJobOutput, sourceBucket: string): EventOutput {
  return {
    bucket: output.bucket ?? sourceBucket,
    key: output.key,
    format: output.format,
    ...(output.kind !== undefined ? { kind: output.kind } : {}),
    ...(output.width !== undefined ? { width: output.width } : {}),
    ...(output.height !== undefined ? { height: output.height } : {}),
    ...(output.frames !== undefined ? { frames: output.frames } : {}),
    ...(output.bytes !== undefined ? { bytes: output.bytes } : {}),
    ...(output.files ? { files: output.files.map((key) => ({ key, ...(output.fileBytes?.[key] !== undefined ? { bytes: output.fileBytes[key] } : {}) })) } : {}),
  };
}

/** The MNS message body of an event (structured mode: the whole event as JSON). */
export function completionEventMessage(event: CompletionEvent): string {
  return JSON.stringify(event);
}

/** Reads an event back (a consumer's check): throws with what is wrong. */
export function parseCompletionEvent(input: unknown): CompletionEvent {
  const parsed = CompletionEventSchema.safeParse(input);
  if (!parsed.success) throw new Error(`not a video-animation completion event: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
