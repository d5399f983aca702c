import * as z from '../platform/zod';
import type { JobAttempt, JobRecord, TaskResult } from './job';

/** Maps a task id to its job, for notices that carry no UserData of ours (OSS async processing). */
export const TaskIndexSchema = z.object({ jobId: z.string(), bucket: z.string() });
export type TaskIndex = z.infer<typeof TaskIndexSchema>;

/** Who an output key belongs to: the first source that claimed it. */
export const OutputOwnerSchema = z.object({ outputKey: z.string(), sourceKey: z.string(), jobId: z.string(), claimedAt: z.string() });
export type OutputOwner = z.infer<typeof OutputOwnerSchema>;

/**
 * Where jobs and their facts live, as named operations; the use cases know this port, not OSS. Every "claim" and
 * "create" is create-only (exactly one caller wins); everything else is written by a single owner or is a view.
 */
export interface JobStore {
  /** Writes a new job record only if none exists (the idempotency key is the job id). */
  createJob(job: JobRecord): Promise<'created' | 'exists'>;
  getJob(jobId: string): Promise<JobRecord | undefined>;
  /** Saves the derived view of the job. */
  saveJob(job: JobRecord): Promise<void>;
  /** Claims attempt `attempt.number` of a job; exactly one caller wins each number. */
  claimAttempt(jobId: string, attempt: JobAttempt): Promise<boolean>;
  /** The owner of an attempt records how it went. */
  saveAttempt(jobId: string, attempt: JobAttempt): Promise<void>;
  /** Every claimed attempt, by number. */
  listAttempts(jobId: string): Promise<JobAttempt[]>;
  /** Writes a task's result once; a later writer gets the first one's result back. */
  putTaskResult(result: TaskResult): Promise<TaskResult>;
  getTaskResult(jobId: string, taskId: string): Promise<TaskResult | undefined>;
  indexTask(taskId: string, index: TaskIndex): Promise<void>;
  findTask(taskId: string): Promise<TaskIndex | undefined>;
  /** Claims an output key for a source; answers whoever owns it now (the caller, if it won or owned it already). */
  claimOutput(owner: OutputOwner): Promise<OutputOwner>;
  /** The open-jobs index: one small entry per job that has not ended, so reconcile never scans every record. */
  markOpen(jobId: string): Promise<void>;
  markClosed(jobId: string): Promise<void>;
  /** Open job ids in id order, after `after`, at most `limit`; `more` when the listing went on. */
  listOpen(options: { after?: string; limit: number }): Promise<{ jobIds: string[]; more: boolean }>;
  /** Where reconcile's last bounded run stopped, so the next one goes on from there. */
  reconcileCursor(): Promise<string | undefined>;
  saveReconcileCursor(after: string | undefined): Promise<void>;
}
