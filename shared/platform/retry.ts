import { describeServiceError, type ServiceErrorInfo } from './errors';

export interface RetryOptions {
  service: 'imm' | 'oss';
  /** Epoch ms after which no new attempt starts (the function's time budget). */
  deadline: number;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  onRetry?: (info: ServiceErrorInfo, attempt: number, delayMs: number) => void;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Runs `operation`, retrying transient failures (throttling, 5xx, network) with full-jitter exponential backoff
 * while the time budget allows; a permanent failure or the last transient one is thrown as it came.
 */
export async function withRetries<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 6;
  const base = options.baseDelayMs ?? 200;
  const cap = options.maxDelayMs ?? 5_000;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const info = describeServiceError(options.service, error);
      const delay = Math.round(random() * Math.min(cap, base * 2 ** (attempt - 1)));
      if (!info.transient || attempt >= maxAttempts || Date.now() + delay >= options.deadline) throw error;
      options.onRetry?.(info, attempt, delay);
      await sleep(delay);
    }
  }
}
