export type NotifyStrategy = 'BACKOFF_RETRY' | 'EXPONENTIAL_DECAY_RETRY';

/** BACKOFF_RETRY: 3 retries, each 10 to 20 s after the previous attempt, then the message is dropped. */
const BACKOFF_RETRIES = 3;
/**
 * EXPONENTIAL_DECAY_RETRY: waits of 2^n seconds capped at 512 s, 176 retries in all: 1+2+...+256 = 511 s, then
 * 167 waits of 512 s, which together span one day (86,015 s), as MNS documents.
 */
const EXPONENTIAL_RETRIES = 176;
const EXPONENTIAL_CAP_SECONDS = 512;

/**
 * Seconds to wait before retry number `retry` (0-based) after a failed push, or undefined when the strategy
 * has given up and the message is dropped.
 */
export function retryDelaySeconds(strategy: NotifyStrategy, retry: number, random: () => number = Math.random): number | undefined {
  if (strategy === 'BACKOFF_RETRY') {
    return retry < BACKOFF_RETRIES ? 10 + 10 * random() : undefined;
  }
  return retry < EXPONENTIAL_RETRIES ? Math.min(2 ** retry, EXPONENTIAL_CAP_SECONDS) : undefined;
}
