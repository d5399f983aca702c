import { estimateCost, type Cost, type Pricing } from '../../shared/jobs/cost';
import { outputSampling, WindowOutsideVideo } from '../../shared/jobs/sampling';
import { previewFrames } from '../../shared/media/previews';
import { animationSlot, type Rule } from '../../shared/rules/schema';
import type { CommandContext, CommandResult } from '../context';
import { formatCost, pricingNote, wrapText } from './format';

export interface PlanRow {
  rule: string;
  /** The output's key template, as written in s.yaml. */
  output: string;
  kind: 'animation' | 'poster' | 'storyboard';
  format: 'gif' | 'webp' | 'jpg' | 'png';
  /**
   * What IMM bills for the output on a video of `duration` seconds: an animation's frames; a preview's captured
   * frames (a poster's candidates, or 1 when taken at a time; a storyboard's tiles), one billed frame each (assumed,
   * see PREVIEW_BILLING).
   */
  frames: number;
  estimatedCost: Cost | null;
  /** Why frames is 0, when it is. */
  note?: string;
}

/**
 * How IMM bills `Targets[].Image.Snapshots` and `Sprites`: its billable-items page lists MediaAnimation per output
 * frame, and we found no item for snapshots or sprites in what we could read of it; OSS bills its own
 * `video/snapshots` per captured snapshot. Hence one billed frame per captured frame, said as an assumption.
 */
export const PREVIEW_BILLING =
  'Posters and storyboards: counted as one billed frame per captured frame (a poster takes its candidates, or 1 ' +
  'frame with at; a storyboard 1 per tile), priced like animation frames. Assumed: how IMM bills Image.Snapshots ' +
  'and Image.Sprites is not documented in the billing pages we could read ' +
  '(https://www.alibabacloud.com/help/en/imm/product-overview/billable-items); check your bill.';

/**
 * `plan`: offline, from s.yaml alone: the frames and cost every rule's outputs give a video of that length and frame
 * rate, posters and storyboards included, in the order the rule lists them. A video shorter than an output's budget
 * gives the frames it has, never more (shared/jobs/sampling.ts).
 */
export function plan(ctx: CommandContext, options: { durationSeconds: number; frameRate: number }): CommandResult {
  const { settings, output } = ctx;
  const rows: PlanRow[] = settings.rules.flatMap((rule) => ruleRows(rule, options, settings.pricing));

  const totalFrames = rows.reduce((sum, row) => sum + row.frames, 0);
  const captured = rows.filter((row) => row.kind !== 'animation').reduce((sum, row) => sum + row.frames, 0);
  const total = estimateCost(totalFrames, settings.pricing);
  const table = output.table(
    [{ head: 'rule', shrink: 'end' }, { head: 'output', shrink: 'middle' }, 'kind', 'format', 'frames', 'est. cost'],
    rows.map((row) => [row.rule, row.output, row.kind, row.format, row.frames, formatCost(row.estimatedCost)]),
  );
  const notes = rows.filter((row) => row.note).map((row) => `${row.rule} ${row.output}.${row.format}: ${row.note}`);
  const many = settings.rules.length > 1;
  const human = [
    wrapText(
      `A ${options.durationSeconds} s video at ${options.frameRate} fps makes ${many ? 'up to ' : ''}${totalFrames} frames` +
        `${captured > 0 ? ` (${captured} captured for posters and storyboards)` : ''}${total ? `, about ${formatCost(total)}` : ''}` +
        `${many ? ' (when every rule matches it)' : ''}.`,
      '',
    ),
    table,
    ...notes,
    ...(captured > 0 ? [wrapText(PREVIEW_BILLING, '')] : []),
    pricingNote(settings.pricing),
  ].join('\n');
  return { json: rows, human, exitCode: 0 };
}

/** One row per configured output of the rule, in its `outputs` order. */
function ruleRows(rule: Rule, options: { durationSeconds: number; frameRate: number }, pricing: Pricing | undefined): PlanRow[] {
  const row = (slot: number, { output, kind, format, frames, note }: Omit<PlanRow, 'rule' | 'estimatedCost'>) => ({
    slot,
    row: { rule: rule.name, output, kind, format, frames, estimatedCost: estimateCost(frames, pricing) ?? null, ...(note ? { note } : {}) },
  });
  const animations = rule.outputs.map((out, i) => {
    let frames: number;
    let note: string | undefined;
    try {
      frames = outputSampling(out, { duration: options.durationSeconds, frameRate: options.frameRate }).plannedFrames;
    } catch (error) {
      if (!(error instanceof WindowOutsideVideo)) throw error;
      frames = 0;
      note = error.message;
    }
    return row(animationSlot(rule, i), { output: out.key, kind: 'animation', format: out.format, frames, ...(note ? { note } : {}) });
  });
  const previews = rule.previews.map((preview) => row(preview.slot, { output: preview.key, kind: preview.kind, format: preview.format, frames: previewFrames(preview) }));
  return [...animations, ...previews].sort((a, b) => a.slot - b.slot).map(({ row: r }) => r);
}
