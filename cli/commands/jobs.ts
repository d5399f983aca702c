import type { Pricing } from '../../shared/jobs/cost';
import type { Cost } from '../../shared/jobs/cost';
import { JOB_STATUSES, type JobError, type JobRecord, type JobStatus } from '../../shared/jobs/job';
import type { JobStore } from '../../shared/jobs/store';
import type { CommandContext, CommandResult } from '../context';
import { UsageError } from '../errors';
import { mapWithConcurrency } from '../pool';
import { ruleNamed } from '../settings';
import { parseSince } from '../since';
import { shortId } from '../job-ids';
import { colorStatus, formatTime } from './format';
import { readJob } from '../../shared/wiring/read-job';

/** Job records read at once: enough to be quick, few enough not to be throttled. */
const READ_CONCURRENCY = 8;

export interface JobRow {
  jobId: string;
  /** Null when the index lists a job whose record is gone. */
  key: string | null;
  rule: string;
  status: JobStatus;
  error: JobError | null;
  /** Counted frames once the animations exist, planned while the job is open; null for a failed job (none were made). */
  frames: number | null;
  estimatedCost: Cost | null;
  createdAt: string;
  finishedAt: string | null;
  retryOf: string | null;
  retriedBy: string[];
}

export function parseStatus(text: string): JobStatus {
  if (!(JOB_STATUSES as readonly string[]).includes(text)) throw new UsageError(`--status "${text}" is not a job status; use one of ${JOB_STATUSES.join(', ')}`);
  return text as JobStatus;
}

/** `jobs`: the newest jobs that pass the filters, from the index; one GET per listed job (at most --limit) for key and error. */
export async function jobs(ctx: CommandContext, options: { status?: string; rule?: string; since?: string; limit: number }): Promise<CommandResult> {
  const wantedStatus = options.status === undefined ? undefined : parseStatus(options.status);
  if (options.rule !== undefined) ruleNamed(ctx.settings, options.rule);
  const since = options.since === undefined ? undefined : parseSince(options.since, ctx.now);
  const target = await ctx.target();
  const matching = (await target.store.listJobIndex(since ? { since } : {})).filter(
    (entry) => (wantedStatus === undefined || entry.status === wantedStatus) && (options.rule === undefined || entry.rule === options.rule),
  );
  const listed = matching.slice(0, options.limit);
  const records = await readJobs(target.store, listed.map((e) => e.jobId), ctx.settings.pricing);
  const rows: JobRow[] = listed.map((entry, i) => {
    const record = records[i];
    // The index entry is written after the record: where they differ, the record is the newer word.
    return record
      ? jobRow(record)
      : { ...emptyRow(entry.jobId), rule: entry.rule, status: entry.status, frames: entry.status === 'failed' ? null : (entry.frames ?? null), createdAt: entry.createdAt };
  });
  return { json: rows, human: render(rows, matching.length, ctx), exitCode: 0 };
}

/** Reads job records a few at a time; a missing one is undefined. */
export function readJobs(store: JobStore, jobIds: readonly string[], pricing?: Pricing): Promise<(JobRecord | undefined)[]> {
  return mapWithConcurrency(jobIds, READ_CONCURRENCY, (jobId) => readJob(store, jobId, pricing));
}

export function jobRow(record: JobRecord): JobRow {
  // A failed job's planned frames were never made, nor billed.
  const failed = record.status === 'failed';
  return {
    jobId: record.jobId,
    key: record.key,
    rule: record.rule,
    status: record.status,
    error: record.error,
    frames: failed ? null : (record.frames ?? null),
    estimatedCost: failed ? null : (record.estimatedCost ?? null),
    createdAt: record.createdAt,
    finishedAt: record.finishedAt ?? null,
    retryOf: record.retryOf ?? null,
    retriedBy: record.retriedBy ?? [],
  };
}

function emptyRow(jobId: string): Omit<JobRow, 'rule' | 'status' | 'createdAt'> {
  return { jobId, key: null, error: null, frames: null, estimatedCost: null, finishedAt: null, retryOf: null, retriedBy: [] };
}

function render(rows: JobRow[], matching: number, ctx: CommandContext): string {
  const { colors, table } = ctx.output;
  if (rows.length === 0) return 'No jobs match.';
  const lines = [
    table(
      ['created (UTC)', 'job', 'status', { head: 'rule', shrink: 'end' }, { head: 'key', shrink: 'middle' }, 'frames', { head: 'error', shrink: 'end' }],
      rows.map((row) => [
        formatTime(row.createdAt),
        shortId(row.jobId),
        colorStatus(colors, row.status),
        row.rule,
        row.key ?? colors.dim('(record missing)'),
        row.frames ?? '-',
        // The code alone fits beside the key; `show` and --json give IMM's message.
        row.error?.code ?? '',
      ]),
    ),
  ];
  if (matching > rows.length) lines.push(`Showing the newest ${rows.length} of ${matching}; --limit shows more.`);
  lines.push(`Details and links of one job or video: ${ctx.commandLine('show', '<jobId | key>')}`);
  if (rows.some((row) => row.status === 'failed')) lines.push(`Re-run the failed jobs: ${ctx.commandLine('retry', '--failed')}`);
  return lines.join('\n');
}
