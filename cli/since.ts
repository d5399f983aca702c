import { UsageError } from './errors';

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/**
 * `--since`: a duration back from now (`30m`, `24h`, `7d`, `2w`) or a date / time: `2025-01-31` is midnight UTC
 * (job times are UTC), `2025-01-31T08:00:00+08:00` says its zone, and a time without one is local time (as
 * JavaScript reads ISO 8601). Answers the ISO time the listing starts at.
 */
export function parseSince(text: string, now: number = Date.now()): string {
  const duration = /^(\d+(?:\.\d+)?)([mhdw])$/.exec(text.trim());
  if (duration) return new Date(now - Number(duration[1]) * UNIT_MS[duration[2]!]!).toISOString();
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) {
    const time = Date.parse(text.trim());
    if (!Number.isNaN(time)) return new Date(time).toISOString();
  }
  throw new UsageError(`--since "${text}" is neither a duration (30m, 24h, 7d, 2w) nor a date (2025-01-31 or 2025-01-31T08:00:00Z)`);
}
