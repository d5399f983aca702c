import { estimateCost, type Cost } from '../../shared/jobs/cost';
import { JOB_STATUSES, type JobStatus } from '../../shared/jobs/job';
import type { JobIndexEntry } from '../../shared/jobs/store';
import type { CommandContext, CommandResult } from '../context';
import { parseSince } from '../since';
import { formatCost, formatTime, pricingNote } from './format';

export interface StatusSummary {
  jobs: number;
  byStatus: Record<JobStatus, number>;
  /** Open (pending or submitted) for longer than RECONCILE_AFTER_SECONDS: reconcile should have finished them. */
  stuck: number;
  /** Frames of the succeeded jobs, counted in the animations: what IMM billed. */
  frames: number;
  /** Frames the open jobs are planned to make. */
  openFrames: number;
  /** `frames` x vars.pricing; null without a price. */
  estimatedCost: Cost | null;
}

export interface StatusReport extends StatusSummary {
  /** The listing covers jobs created at or after this time (ISO); null: every job. */
  since: string | null;
  reconcileAfterSeconds: number;
  byRule: Record<string, StatusSummary>;
}

/** `status`: counts by status and rule, stuck jobs, frames and cost, from the job index alone (no GET per job). */
export async function status(ctx: CommandContext, options: { since?: string }): Promise<CommandResult> {
  const since = options.since === undefined ? undefined : parseSince(options.since, ctx.now);
  const target = await ctx.target();
  const entries = await target.store.listJobIndex(since ? { since } : {});
  const stuckBefore = ctx.now - ctx.settings.reconcileAfterSeconds * 1000;
  const summarize = (list: JobIndexEntry[]) => summary(list, stuckBefore, ctx);
  const rules = [...new Set([...ctx.settings.rules.map((r) => r.name), ...entries.map((e) => e.rule)])];
  const report: StatusReport = {
    since: since ?? null,
    reconcileAfterSeconds: ctx.settings.reconcileAfterSeconds,
    ...summarize(entries),
    byRule: Object.fromEntries(rules.map((rule) => [rule, summarize(entries.filter((e) => e.rule === rule))])),
  };
  return { json: report, human: render(report, ctx, target.bucket), exitCode: 0 };
}

function summary(entries: JobIndexEntry[], stuckBefore: number, ctx: CommandContext): StatusSummary {
  const byStatus = Object.fromEntries(JOB_STATUSES.map((s) => [s, 0])) as Record<JobStatus, number>;
  let stuck = 0;
  let frames = 0;
  let openFrames = 0;
  for (const entry of entries) {
    byStatus[entry.status]++;
    const open = entry.status === 'pending' || entry.status === 'submitted';
    if (open && Date.parse(entry.createdAt) < stuckBefore) stuck++;
    if (entry.status === 'succeeded') frames += entry.frames ?? 0;
    if (open) openFrames += entry.frames ?? 0;
  }
  return { jobs: entries.length, byStatus, stuck, frames, openFrames, estimatedCost: estimateCost(frames, ctx.settings.pricing) ?? null };
}

function render(report: StatusReport, ctx: CommandContext, bucket: string): string {
  const { colors, table } = ctx.output;
  const row = (name: string, s: StatusSummary) => [
    name,
    s.byStatus.pending,
    s.byStatus.submitted,
    s.byStatus.succeeded,
    s.byStatus.failed ? colors.red(String(s.byStatus.failed)) : 0,
    s.stuck ? colors.yellow(String(s.stuck)) : 0,
    s.frames,
    formatCost(s.estimatedCost),
  ];
  const lines = [
    `Jobs in bucket ${bucket}${report.since ? ` created since ${formatTime(report.since)} UTC` : ''}: ${report.jobs}`,
    table(
      [{ head: 'rule', shrink: 'end' }, 'pending', 'submitted', 'succeeded', 'failed', 'stuck', 'frames', 'est. cost'],
      [...Object.entries(report.byRule).map(([name, s]) => row(name, s)), row(colors.bold('all'), report)],
    ),
  ];
  if (report.openFrames > 0) lines.push(`Open jobs will add about ${report.openFrames} frames.`);
  if (report.byStatus.failed > 0) lines.push(`See why jobs failed: ${ctx.commandLine('jobs', '--status', 'failed')}`, `Re-run them: ${ctx.commandLine('retry', '--failed')}`);
  if (report.stuck > 0) {
    lines.push(
      colors.yellow(`${report.stuck} job(s) open longer than ${report.reconcileAfterSeconds} s, when reconcile should have finished them:`),
      `  ${ctx.commandLine('jobs', '--status', 'submitted')} (or --status pending)`,
    );
  }
  lines.push(pricingNote(ctx.settings.pricing));
  return lines.join('\n');
}
