/**
 * IMM's request-rate limit, as the local IMM applies it (fault `FAULT_IMM_QPS=<n>` / StackFaults `imm.qps`).
 *
 * IMM limits the API calls a project accepts per second (`Project.ProjectQueriesPerSecond`: "the maximum number of
 * API calls allowed per second for all APIs in the project", default 100; aliyun/alibabacloud-typescript-sdk
 * imm-20200930/src/models/Project.ts) and answers the calls above it with a throttling error; IMM's limits FAQ
 * (https://help.aliyun.com/en/imm/support/faq-about-limits) says the limit "resets every second".
 *
 * Locally this is a sliding one-second window over every action together: a call is accepted when fewer than `qps`
 * calls were accepted in the 1000 ms before it, so no interval of one second ever holds more than `qps` accepted
 * calls (a fixed window aligned to whole seconds would let up to 2×qps through around a boundary). Refused calls do
 * not count against the window: a client that retries at once gets in as soon as the oldest accepted call is a
 * second old. Deterministic for a given clock: tests inject one.
 */
export interface RateLimiter {
  /** Takes a slot if there is one now: true when the call is accepted, false when it must be throttled. */
  tryAcquire(): boolean;
}

export const WINDOW_MS = 1000;

export function slidingWindowLimiter(qps: number, now: () => number = Date.now): RateLimiter {
  if (!Number.isInteger(qps) || qps < 1) throw new RangeError(`qps must be a whole number of calls per second, at least 1; got ${qps}`);
  // Times of the accepted calls still inside the window, oldest first (a ring would do; qps is small).
  const accepted: number[] = [];
  return {
    tryAcquire() {
      const at = now();
      while (accepted.length > 0 && accepted[0]! <= at - WINDOW_MS) accepted.shift();
      if (accepted.length >= qps) return false;
      accepted.push(at);
      return true;
    },
  };
}
