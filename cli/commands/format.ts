import type { Cost, Pricing } from '../../shared/jobs/cost';
import type { JobStatus } from '../../shared/jobs/job';
import { TABLE_WIDTH, type Colors } from '../output';

/** Amounts per frame are small fractions: up to 6 decimals, trailing zeros dropped. */
export function formatCost(cost: Cost | null | undefined): string {
  if (!cost) return '-';
  return `${Number(cost.amount.toFixed(6))} ${cost.currency}`;
}

export function pricingNote(pricing: Pricing | undefined): string {
  return pricing
    ? `Costs: frames x ${pricing.pricePerFrame} ${pricing.currency} per frame (s.yaml vars.pricing), without IMM's request fees and OSS.`
    : 'Costs: unknown until s.yaml vars.pricing has a price per frame (PRICE_PER_FRAME=0.0001 in .env).';
}

export function colorStatus(colors: Colors, status: JobStatus): string {
  if (status === 'failed') return colors.red(status);
  if (status === 'succeeded') return colors.green(status);
  return colors.yellow(status);
}

/** `2025-01-31 08:00:12` in UTC: sortable, and the same whoever reads it. */
export function formatTime(iso: string | undefined): string {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '-';
}

/** Prose (IMM's messages, task lists) wrapped at word boundaries to fit TABLE_WIDTH columns, each line indented. */
export function wrapText(text: string, indent: string, continuation: string = indent): string {
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const lead = lines.length === 0 ? indent : continuation;
    if (line !== lead && line.length + 1 + word.length > TABLE_WIDTH) {
      lines.push(line);
      line = continuation + word;
    } else {
      line = line === lead ? lead + word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join('\n');
}
