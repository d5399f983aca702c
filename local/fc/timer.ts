import type { TimerTrigger } from '../../deploy/spec';

/** Go's time.ParseDuration units (FC's `@every` takes a Go duration), in milliseconds. */
const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;
const CRON = /^(?:CRON_TZ=(\S+)\s+)?(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)$/;

export class UnsupportedTimerError extends Error {
  override name = 'UnsupportedTimerError';
}

const SUPPORTED =
  'the local stack runs "@every <Go duration>" (e.g. @every 30s, @every 10m, @every 1h30m) and cron expressions ' +
  'firing every N minutes, "0 */N * * * *" or "0 * * * * *" with N dividing 60, optionally after CRON_TZ=<zone>';

/**
 * Milliseconds between two firings of a timer trigger's cronExpression; UnsupportedTimerError for what the local
 * stack does not run. A minute-step cron expression fires every N minutes from the stack's start, not on the
 * wall clock's N-minute marks as FC does: the same rate, which is what a local run needs.
 */
export function timerIntervalMs(cronExpression: string): number {
  const every = /^@every (.*)$/.exec(cronExpression);
  if (every) {
    const text = every[1]!.trim();
    const ms = DURATION.test(text) ? [...text.matchAll(DURATION_PART)].reduce((sum, [, value, unit]) => sum + Number(value) * DURATION_UNITS[unit!]!, 0) : NaN;
    if (!(ms > 0)) throw new UnsupportedTimerError(`timer "${cronExpression}": "${text}" is not a positive Go duration such as 30s, 10m or 1h30m`);
    return ms;
  }
  const cron = CRON.exec(cronExpression.trim());
  if (cron) {
    const [, zone, seconds, minutes, hours, dayOfMonth, month, dayOfWeek] = cron;
    if (zone !== undefined && !isTimeZone(zone)) throw new UnsupportedTimerError(`timer "${cronExpression}": CRON_TZ=${zone} is not a time zone (e.g. Asia/Shanghai)`);
    const step = minutes === '*' ? 1 : Number(/^\*\/(\d+)$/.exec(minutes!)?.[1]);
    const everyDay = hours === '*' && month === '*' && (dayOfMonth === '*' || dayOfMonth === '?') && (dayOfWeek === '*' || dayOfWeek === '?');
    if (seconds === '0' && everyDay && step >= 1 && step <= 60 && 60 % step === 0) return step * 60_000;
  }
  throw new UnsupportedTimerError(`timer "${cronExpression}": ${SUPPORTED}`);
}

/** FC's timer event: `{"triggerTime":"2023-12-26T07:49:00Z","triggerName":"...","payload":"..."}`. */
export function timerEvent(trigger: TimerTrigger, at: Date): Buffer {
  return Buffer.from(
    JSON.stringify({ triggerTime: at.toISOString().replace(/\.\d{3}Z$/, 'Z'), triggerName: trigger.name, payload: trigger.payload ?? '' }),
    'utf8',
  );
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
