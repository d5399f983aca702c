/**
 * How the functions sort failures: transient ones (throttling, 5xx, network) are retried and finally thrown so FC
 * retries the invocation; permanent ones (4xx) fail the job with the reason.
 */
export interface ServiceErrorInfo {
  service: 'imm' | 'oss';
  status?: number;
  code: string;
  message: string;
  transient: boolean;
}

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ESOCKETTIMEDOUT',
  'ResponseTimeoutError', 'ConnectionTimeoutError', 'RequestError', 'ResponseError', 'UND_ERR_SOCKET',
]);

/** Reads status/code/message off an ali-oss or openapi-core error. */
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

/** Thrown to make FC retry the invocation after in-function retries ran out. */
export class TransientFailure extends Error {
  override name = 'TransientFailure';
  constructor(
    message: string,
    readonly info?: ServiceErrorInfo,
  ) {
    super(message);
  }
}
