/**
 * The one error taxonomy of the app. Every failure the code raises on purpose is one of four kinds, and the kind
 * alone decides what happens to the event or notice being handled:
 * - transient: thrown out of the handler so FC or MNS delivers it again (throttling, 5xx, network, a busy job);
 * - permanent: the job ends `failed` with the reason (a 4xx from IMM, an output owned by another source, ...);
 * - bad input: logged and acknowledged, never retried (a redelivery would fail the same way);
 * - config: the deployment is wrong (environment, rules); thrown, so it is loud and ends in onFailure.
 */
export type FailureKind = 'transient' | 'permanent' | 'bad-input' | 'config';

export abstract class AppError extends Error {
  abstract readonly kind: FailureKind;
}

/** What a cloud service's error says, read off an ali-oss or openapi-core error. */
export interface ServiceErrorInfo {
  service: 'imm' | 'oss';
  status?: number;
  code: string;
  message: string;
  transient: boolean;
}

/** Thrown to make FC (or MNS) deliver the event again after in-function retries ran out. */
export class TransientFailure extends AppError {
  override name = 'TransientFailure';
  readonly kind = 'transient';
  constructor(
    message: string,
    readonly info?: ServiceErrorInfo,
  ) {
    super(message);
  }
}

/** Input that can never be handled: acknowledged with a log line. */
export class BadInput extends AppError {
  override name = 'BadInput';
  readonly kind = 'bad-input';
}

/** The deployment's configuration is wrong (environment, rules, s.yaml). */
export class ConfigError extends AppError {
  override name = 'ConfigError';
  readonly kind = 'config';
}

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ESOCKETTIMEDOUT',
  'ResponseTimeoutError', 'ConnectionTimeoutError', 'RequestError', 'ResponseError', 'UND_ERR_SOCKET',
]);

/** Reads status/code/message off an ali-oss or openapi-core error and sorts it: transient or permanent. */
export function describeServiceError(service: 'imm' | 'oss', error: unknown): ServiceErrorInfo {
  const e = (error ?? {}) as { status?: unknown; statusCode?: unknown; code?: unknown; name?: unknown; message?: unknown; data?: { Message?: unknown } };
  const rawStatus = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const status = rawStatus !== undefined && rawStatus > 0 ? rawStatus : undefined;
  const code = typeof e.code === 'string' && e.code && e.code !== 'undefined' ? e.code : typeof e.name === 'string' ? e.name : 'Error';
  const message = typeof e.data?.Message === 'string' ? e.data.Message : typeof e.message === 'string' ? e.message : String(error);
  const transient =
    status === undefined
      ? NETWORK_CODES.has(code) || /timeout|socket|network/i.test(message)
      : status >= 500 || status === 429 || /throttl/i.test(code) || code === 'RequestTimeTooSkewed';
  return { service, ...(status !== undefined ? { status } : {}), code, message, transient };
}

/**
 * Task failure codes worth a new task: IMM's own hiccups, not the input's fault. Everything else (InvalidFile.Media,
 * InvalidArgument, ResourceNotFound, AccessDenied, ...) fails the job at once. `TaskNotFound` is ours: IMM forgot
 * a task (it keeps task info 7 days) whose outputs never appeared.
 */
const TRANSIENT_TASK_CODES = new Set(['InternalError', 'ServiceUnavailable', 'InternalFailure', 'TaskNotFound']);

export function isTransientTaskCode(code: string): boolean {
  return TRANSIENT_TASK_CODES.has(code) || /timeout|timedout|throttl/i.test(code);
}
