import { describeServiceError, UnknownOutcome, type ServiceErrorInfo } from './errors';

/**
 * What a call does, which decides whether it may be sent again:
 * - `idempotent`: reads, create-only writes and overwrites of the caller's own objects; retried on any transient
 *   failure;
 * - `starts-task`: starts a billed task (CreateMediaConvertTask, the x-oss-async-process POST). Retried only when
 *   the failure proves nothing was started (throttled, refused before sending); after an ambiguous one (no answer,
 *   a 5xx) it throws UnknownOutcome, and whoever acts next looks before it starts anything.
 */
export type OperationKind = 'idempotent' | 'starts-task';

/** Runs a call to a cloud service with the app's retry policy for that kind of call. */
export type Retrier = <T>(service: ServiceErrorInfo['service'], operation: () => Promise<T>, kind?: OperationKind) => Promise<T>;

export interface RetryOptions {
  service: ServiceErrorInfo['service'];
  kind?: OperationKind;
  /** Epoch ms after which no new attempt starts (the function's time budget). */
  deadline: number;
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  onRetry?: (info: ServiceErrorInfo, attempt: number, delayMs: number) => void;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/**
 * Runs `operation`, retrying transient failures with full-jitter exponential backoff while the time budget allows;
 * a permanent failure, the last transient one, or a bug (an error that is not a service's) is thrown as it came.
 */
export async function withRetries<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 6;
  const base = options.baseDelayMs ?? 200;
  const cap = options.maxDelayMs ?? 5_000;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const info = describeServiceError(options.service, error);
      if (!info) throw error;
      if (options.kind === 'starts-task' && info.ambiguous) {
        throw new UnknownOutcome(`${options.service} may have started the task without answering (${info.code}: ${info.message}); it is looked up before anything new starts`, {
          cause: error,
        });
      }
      const delay = Math.round(random() * Math.min(cap, base * 2 ** (attempt - 1)));
      if (!info.transient || attempt >= maxAttempts || now() + delay >= options.deadline) throw error;
      options.onRetry?.(info, attempt, delay);
      await sleep(delay);
    }
  }
}
