import type { Cost, Pricing } from '../../shared/jobs/cost';
import type { JobStatus } from '../../shared/jobs/job';
import type { Colors } from '../output';

/** Amounts per frame are small fractions: up to 6 decimals, trailing zeros dropped. */
export function formatCost(cost: Cost | null | undefined): string {
  if (!cost) return '-';
  return `${Number(cost.amount.toFixed(6))} ${cost.currency}`;
}

export function pricingNote(pricing: Pricing | undefined): string {
  return pricing
    ? `Costs: frames x ${pricing.pricePerFrame} ${pricing.currency} per frame (s.yaml vars.pricing); IMM's request fees and OSS are not included.`
    : 'Costs: unknown until s.yaml vars.pricing has a price per MediaAnimation frame (e.g. PRICE_PER_FRAME=0.0001 in .env).';
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

/** Long texts (IMM's messages) cut for a table cell; --json and `show` keep them whole. */
export function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}
