import * as z from '../platform/zod';
import { JOB_STATUSES, type JobAttempt, type JobFacts, type JobIdentity, type JobRecord, type JobStatus, type TaskResult } from './job';

/** Maps a task id to its job, for notices that carry no UserData of ours (OSS async processing). */
export const TaskIndexSchema = z.object({ jobId: z.string(), bucket: z.string(), outputs: z.optional(z.array(z.string())) });
export type TaskIndex = z.infer<typeof TaskIndexSchema>;

/** One line of the job index: all that status and job listings need, read from an object key (no GET per job). */
export interface JobIndexEntry {
  jobId: string;
  rule: string;
  status: JobStatus;
  /** Counted frames once the animations exist, planned frames before; undefined while nothing is planned. */
  frames?: number;
  createdAt: string;
}

/** The index entry's object name: `<createdAt ms, 13 digits>~<jobId>~<status>~<frames>~<rule>` (rule names have no "~"). */
export function jobIndexName(job: Pick<JobRecord, 'jobId' | 'rule' | 'status' | 'frames' | 'createdAt'>): string {
  return [String(Date.parse(job.createdAt)).padStart(13, '0'), job.jobId, job.status, job.frames ?? '', job.rule].join('~');
}

export function parseJobIndexName(name: string): JobIndexEntry | undefined {
  const [ms, jobId, status, frames, rule, ...rest] = name.split('~');
  if (rest.length > 0 || !ms || !jobId || !rule || !/^\d{13}$/.test(ms) || !(JOB_STATUSES as readonly string[]).includes(status ?? '')) return undefined;
  if (frames !== '' && !/^\d+$/.test(frames ?? '')) return undefined;
  return { jobId, rule, status: status as JobStatus, ...(frames ? { frames: Number(frames) } : {}), createdAt: new Date(Number(ms)).toISOString() };
}

/** Of several index entries of one job (a writer saw an older view), the one furthest along. */
export function latestIndexEntries(entries: JobIndexEntry[]): JobIndexEntry[] {
  const rank = (status: JobStatus) => JOB_STATUSES.indexOf(status);
  const byJob = new Map<string, JobIndexEntry>();
  for (const entry of entries) {
    const seen = byJob.get(entry.jobId);
    if (!seen || rank(entry.status) > rank(seen.status) || (rank(entry.status) === rank(seen.status) && (entry.frames ?? 0) > (seen.frames ?? 0))) byJob.set(entry.jobId, entry);
  }
  return [...byJob.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.jobId.localeCompare(b.jobId));
}

/** A job's outputs deleted with its source (`deleteWithSource`): `jobs/<jobId>/deleted.json`, written once. */
export const OutputsDeletedSchema = z.object({ jobId: z.string(), outputs: z.array(z.string()), deletedAt: z.string(), event: z.optional(z.object({ id: z.string(), publishedAt: z.string() })) });
export type OutputsDeleted = z.infer<typeof OutputsDeletedSchema>;

/** Who an output key belongs to: the first source that claimed it. */
export const OutputOwnerSchema = z.object({ outputKey: z.string(), sourceKey: z.string(), jobId: z.string(), claimedAt: z.string() });
export type OutputOwner = z.infer<typeof OutputOwnerSchema>;

/**
 * Where jobs and their facts live: a few primitives, every one either a read, a create-only write (exactly one
 * caller wins) or a write by the single owner of the object. Nothing is ever rewritten to converge: a running job's
 * state is derived from its facts by whoever reads it (jobs/derive.ts), and its end is one create-only record.
 */
export interface JobStore {
  /** Every fact of a job (identity, attempts, results, terminal record, retry links); undefined when there is none. */
  loadJob(jobId: string): Promise<JobFacts | undefined>;
  /** Writes a new job's identity only if none exists (the idempotency key is the job id). */
  createJob(job: JobIdentity): Promise<'created' | 'exists'>;
  /** Claims attempt `attempt.number` of a job; exactly one caller wins each number. */
  claimAttempt(jobId: string, attempt: JobAttempt): Promise<boolean>;
  /** The owner of an attempt records its outcome (once: the attempt is over). */
  saveAttempt(jobId: string, attempt: JobAttempt): Promise<void>;
  /** Writes a task's result once; a later writer gets the first one's result back. */
  putTaskResult(result: TaskResult): Promise<TaskResult>;
  /** Writes the job's terminal record once; answers the stored one (ours, or the one written first). */
  endJob(record: JobRecord): Promise<{ written: boolean; record: JobRecord }>;
  /** Links a failed job to the job that re-runs it (create-only). */
  linkRetry(jobId: string, retryJobId: string): Promise<void>;
  indexTask(taskId: string, index: TaskIndex): Promise<void>;
  findTask(taskId: string): Promise<TaskIndex | undefined>;
  /** Claims an output key for a source; answers whoever owns it now (the caller, if it won or owned it already). */
  claimOutput(owner: OutputOwner): Promise<OutputOwner>;
  /** Who owns an output key, if anyone. */
  outputOwner(outputKey: string): Promise<OutputOwner | undefined>;
  /** Gives up a source's claim on an output key (its outputs were deleted with it). */
  releaseOutput(outputKey: string): Promise<void>;
  /** Records, once, that a job's outputs were deleted with its source; answers the record stored first. */
  markDeleted(deleted: OutputsDeleted): Promise<OutputsDeleted>;
  /** The open-jobs index: one small entry per job that has not ended, so reconcile never scans every record. */
  markOpen(jobId: string): Promise<void>;
  markClosed(jobId: string): Promise<void>;
  /** Open job ids in id order, after `after`, at most `limit`; `more` when the listing went on. */
  listOpen(options: { after?: string; limit: number }): Promise<{ jobIds: string[]; more: boolean }>;
  /** Adds the job index entry named for this state of the job (create-only; entries are never removed). */
  indexJob(job: Pick<JobRecord, 'jobId' | 'rule' | 'status' | 'frames' | 'createdAt'>): Promise<void>;
  /** Lists a new job under its source key. */
  indexSource(sourceKey: string, jobId: string): Promise<void>;
  /** Index entries created at or after `since` (ISO), newest first, one per job (the furthest along). */
  listJobIndex(options: { since?: string }): Promise<JobIndexEntry[]>;
  /** Ids of every job of a source key (all versions, rules and retries). */
  jobsOfSource(sourceKey: string): Promise<string[]>;
  /** Where reconcile's last bounded run stopped, so the next one goes on from there. */
  reconcileCursor(): Promise<string | undefined>;
  saveReconcileCursor(after: string | undefined): Promise<void>;
}
