import { estimateCost, type Cost } from '../../shared/jobs/cost';
import { outputSampling, WindowOutsideVideo } from '../../shared/jobs/sampling';
import type { CommandContext, CommandResult } from '../context';
import { formatCost, pricingNote } from './format';

export interface PlanRow {
  rule: string;
  /** The output's key template, as written in s.yaml. */
  output: string;
  format: 'gif' | 'webp';
  /** Frames a video of `duration` seconds gives this output: what IMM bills. */
  frames: number;
  estimatedCost: Cost | null;
  /** Why frames is 0, when it is. */
  note?: string;
}

/**
 * `plan`: offline, from s.yaml alone: the frames and cost every rule's outputs give a video of that length and frame
 * rate. A video shorter than an output's budget gives the frames it has, never more (shared/jobs/sampling.ts).
 */
export function plan(ctx: CommandContext, options: { durationSeconds: number; frameRate: number }): CommandResult {
  const { settings, output } = ctx;
  const rows: PlanRow[] = settings.rules.flatMap((rule) =>
    rule.outputs.map((out) => {
      let frames: number;
      let note: string | undefined;
      try {
        frames = outputSampling(out, { duration: options.durationSeconds, frameRate: options.frameRate }).plannedFrames;
      } catch (error) {
        if (!(error instanceof WindowOutsideVideo)) throw error;
        frames = 0;
        note = error.message;
      }
      return { rule: rule.name, output: out.key, format: out.format, frames, estimatedCost: estimateCost(frames, settings.pricing) ?? null, ...(note ? { note } : {}) };
    }),
  );

  const totalFrames = rows.reduce((sum, row) => sum + row.frames, 0);
  const total = estimateCost(totalFrames, settings.pricing);
  const table = output.table(
    [{ head: 'rule', shrink: 'end' }, { head: 'output', shrink: 'middle' }, 'format', 'frames', 'est. cost'],
    rows.map((row) => [row.rule, row.output, row.format, row.frames, formatCost(row.estimatedCost)]),
  );
  const notes = rows.filter((row) => row.note).map((row) => `${row.rule} ${row.output}.${row.format}: ${row.note}`);
  const human = [
    `A ${options.durationSeconds} s video at ${options.frameRate} fps makes ${settings.rules.length > 1 ? 'up to ' : ''}${totalFrames} frames${total ? `, about ${formatCost(total)}` : ''}${settings.rules.length > 1 ? ' (when every rule matches it)' : ''}.`,
    table,
    ...notes,
    pricingNote(settings.pricing),
  ].join('\n');
  return { json: rows, human, exitCode: 0 };
}
