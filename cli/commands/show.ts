import type { JobAttempt, JobRecord } from '../../shared/jobs/job';
import type { CommandContext, CommandResult } from '../context';
import { UsageError } from '../errors';
import type { Target } from '../target';
import { isJobIdPrefix, resolveJobId } from '../job-ids';
import { jobRow, readJobs, type JobRow } from './jobs';
import { colorStatus, formatCost, formatTime, wrapText } from './format';
import { readJob } from '../../shared/wiring/read-job';

/** Signed links work this long: long enough to open, short enough not to be shared for good. */
export const URL_VALID_SECONDS = 3600;

export interface ShownOutput {
  key: string;
  /** poster or storyboard; absent for an animation. */
  kind?: 'poster' | 'storyboard';
  format: 'gif' | 'webp' | 'jpg' | 'png';
  /** A storyboard's sprite sheets (its key is the WebVTT file). */
  files?: string[];
  bytes: number | null;
  /** Counted in the animation once it exists; planned while the job is open; null for a failed job's unmade output. */
  frames: number | null;
  /** A signed GET URL valid for an hour; null until the job succeeded (the animation may not exist yet). */
  url: string | null;
}

export interface ShownJob extends JobRow {
  taskIds: string[];
  attempts: JobAttempt[];
  outputs: ShownOutput[];
}

/** `show <sourceKey | jobId>`: every job of a video (all versions, rules and retries), or that one job, with links. */
export async function show(ctx: CommandContext, options: { subject: string }): Promise<CommandResult> {
  const target = await ctx.target();
  const { subject } = options;
  // A job id (or a unique prefix of one) names that job; anything else, or a prefix no job has, is a source key.
  const jobId = isJobIdPrefix(subject) ? await resolveJobId(target.store, subject) : undefined;
  const byId = jobId === undefined ? undefined : await readJob(target.store, jobId, ctx.settings.pricing);
  const records = byId ? [byId] : (await readJobs(target.store, await target.store.jobsOfSource(subject), ctx.settings.pricing)).filter((r): r is JobRecord => r !== undefined);
  if (records.length === 0) {
    throw new UsageError(`no job with id or source key "${subject}": list jobs with ${ctx.commandLine('jobs')}, or process the video with ${ctx.commandLine('backfill', '--prefix', subject)}`);
  }
  const shown = await Promise.all(records.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map((record) => shownJob(record, target)));
  return { json: shown, human: shown.map((job) => render(job, ctx)).join('\n\n'), exitCode: 0 };
}

async function shownJob(record: JobRecord, target: Target): Promise<ShownJob> {
  return {
    ...jobRow(record),
    taskIds: [...new Set(record.attempts.flatMap((a) => a.tasks.map((t) => t.taskId)))],
    attempts: record.attempts,
    outputs: await shownOutputs(record, target),
  };
}

/** A job's outputs with counted (or planned) frames, and signed links once the job succeeded (`show` and `gallery`). */
export function shownOutputs(record: JobRecord, target: Pick<Target, 'signedUrl'>): Promise<ShownOutput[]> {
  return Promise.all(
    record.outputs.map(async (output) => ({
      key: output.key,
      ...(output.kind ? { kind: output.kind } : {}),
      format: output.format,
      ...(output.files ? { files: output.files } : {}),
      bytes: output.bytes ?? null,
      frames: output.frames ?? (record.status === 'failed' ? null : (output.plannedFrames ?? null)),
      url: record.status === 'succeeded' ? await target.signedUrl(output.key, URL_VALID_SECONDS, output.bucket) : null,
    })),
  );
}

function render(job: ShownJob, ctx: CommandContext): string {
  const { colors, table } = ctx.output;
  const lines = [
    `${colors.bold(job.key ?? '')}  rule ${job.rule}  ${colorStatus(colors, job.status)}`,
    `  job ${job.jobId}`,
    `  created ${formatTime(job.createdAt)} UTC${job.finishedAt ? `, finished ${formatTime(job.finishedAt)} UTC` : ''}`,
    job.status === 'failed' ? '  no frames made' : `  ${job.frames ?? '-'} frames${job.estimatedCost ? `, about ${formatCost(job.estimatedCost)}` : ''}`,
  ];
  if (job.retryOf) lines.push(`  a retry of job ${job.retryOf}`);
  if (job.retriedBy.length > 0) lines.push(`  retried as ${job.retriedBy.join(', ')}`);
  if (job.error) lines.push(colors.red(wrapText(`failed: ${job.error.code}: ${job.error.message}`, '  ', '    ')));
  for (const attempt of job.attempts) {
    lines.push(`  attempt ${attempt.number} (${attempt.trigger}) ${formatTime(attempt.startedAt)}: ${attempt.outcome ?? 'running'}${attempt.error ? `, ${attempt.error.code}` : ''}`);
    const tasks = attempt.tasks.map((t) => t.taskId);
    if (tasks.length > 0) lines.push(wrapText(`task${tasks.length > 1 ? 's' : ''} ${tasks.join(', ')}`, '    ', '      '));
  }
  lines.push(table([{ head: 'output', shrink: 'middle' }, 'format', 'bytes', 'frames'], job.outputs.map((o) => [o.key, o.format, o.bytes ?? '-', o.frames ?? '-'])));
  for (const output of job.outputs) if (output.url) lines.push(`${output.key}:\n  ${output.url}`);
  if (job.outputs.some((o) => o.url)) lines.push(colors.dim(`(links work for ${URL_VALID_SECONDS / 3600} hour)`));
  return lines.join('\n');
}
