import { randomUUID } from 'node:crypto';
import { retryJobId } from '../../shared/app/retry';
import type { JobRecord } from '../../shared/jobs/job';
import type { CommandContext, CommandResult } from '../context';
import { OperationError, UsageError } from '../errors';
import { isJobIdPrefix, resolveJobId, shortId } from '../job-ids';
import { ruleNamed } from '../settings';
import { mapWithConcurrency } from '../pool';
import { readJobs } from './jobs';

/** Retry requests in flight at once. */
const REQUEST_CONCURRENCY = 4;

export interface RetryRow {
  /** The failed job. */
  jobId: string;
  /** requested: FC accepted the retry; skipped: the job is not failed; error: the request did not reach FC. */
  status: 'requested' | 'skipped' | 'error';
  /** The job the retry creates (derived from the failed job: `show` finds it once the function has run). */
  newJobId: string | null;
  reason?: string;
}

export interface RetryOptions {
  jobIds: string[];
  failed: boolean;
  rule?: string;
}

/**
 * `retry`: asks the submit function (FC InvokeFunction, async) to re-run failed jobs as new jobs of the same video
 * version and rule. `--failed` takes every failed job not retried yet: a retry that failed again is itself a failed
 * job, so running it again moves on to the newest failures only.
 */
export async function retry(ctx: CommandContext, options: RetryOptions): Promise<CommandResult> {
  if (options.jobIds.length > 0 && options.failed) throw new UsageError('give job ids or --failed, not both');
  if (options.jobIds.length === 0 && !options.failed) {
    throw new UsageError(`name the jobs to retry (${ctx.commandLine('retry', '<jobId...>')}) or pass --failed; list failed jobs with ${ctx.commandLine('jobs', '--status', 'failed')}`);
  }
  if (options.rule !== undefined && !options.failed) throw new UsageError('--rule goes with --failed');
  if (options.rule !== undefined) ruleNamed(ctx.settings, options.rule);
  for (const id of options.jobIds) {
    if (!isJobIdPrefix(id)) throw new UsageError(`"${id}" is not a job id (8 to 32 of its hex digits); list failed jobs with ${ctx.commandLine('jobs', '--status', 'failed')}`);
  }

  const target = await ctx.target();
  let jobs: JobRecord[];
  if (options.failed) {
    const entries = (await target.store.listJobIndex({})).filter((e) => e.status === 'failed' && (options.rule === undefined || e.rule === options.rule));
    jobs = (await readJobs(target.store, entries.map((e) => e.jobId))).filter((job): job is JobRecord => job !== undefined && (job.retriedBy ?? []).length === 0);
  } else {
    const ids = await Promise.all(options.jobIds.map((id) => resolveJobId(target.store, id)));
    const records = await readJobs(target.store, [...new Set(ids.filter((id): id is string => id !== undefined))]);
    const missing = options.jobIds.filter((id, i) => !records.some((r) => r !== undefined && r.jobId === ids[i]));
    if (missing.length > 0) throw new UsageError(`no job ${missing.join(', ')} in bucket ${target.bucket}; list failed jobs with ${ctx.commandLine('jobs', '--status', 'failed')}`);
    jobs = records.filter((r): r is JobRecord => r !== undefined);
  }

  const invoker = jobs.some((job) => job.status === 'failed') ? await target.invoker() : undefined;
  const requesting = ctx.output.progress('requesting retries', jobs.length);
  const rows = await mapWithConcurrency(jobs, REQUEST_CONCURRENCY, async (job): Promise<RetryRow> => {
    try {
      if (job.status !== 'failed' || !invoker) return { jobId: job.jobId, status: 'skipped', newJobId: null, reason: `it is ${job.status}; only failed jobs are retried` };
      // One id per request: FC may deliver it twice, and the submit function makes one re-run of it.
      const requestId = randomUUID();
      await invoker.invokeAsync(ctx.settings.submitFunction, { retry: { bucket: target.bucket, jobId: job.jobId, requestId } });
      return { jobId: job.jobId, status: 'requested', newJobId: retryJobId(job.jobId, requestId) };
    } catch (error) {
      if (!(error instanceof OperationError)) throw error;
      return { jobId: job.jobId, status: 'error', newJobId: null, reason: error.message };
    } finally {
      requesting.tick();
    }
  });
  requesting.stop();
  const exitCode = rows.some((row) => row.status !== 'requested') ? 1 : 0;
  return { json: rows, human: render(rows, options, ctx), exitCode };
}

function render(rows: RetryRow[], options: RetryOptions, ctx: CommandContext): string {
  const { colors, table } = ctx.output;
  if (rows.length === 0) return options.failed ? 'No failed jobs left to retry.' : 'Nothing to retry.';
  const lines = [
    table(
      ['failed job', 'retry', 'new job', { head: 'reason', shrink: 'end' }],
      rows.map((row) => [
        shortId(row.jobId),
        row.status === 'requested' ? colors.green(row.status) : colors.red(row.status),
        row.newJobId ? shortId(row.newJobId) : '-',
        row.reason ?? '',
      ]),
    ),
  ];
  if (rows.some((row) => row.status === 'requested')) lines.push(`Each retry runs as a new job; once it has run: ${ctx.commandLine('show', '<new job>')}`);
  return lines.join('\n');
}
