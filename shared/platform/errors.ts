/**
 * The one error taxonomy of the app. Everything the code throws on purpose descends from AppError, and its kind
 * alone decides what happens to the event or notice being handled:
 * - transient: thrown out of the handler so FC or MNS delivers it again (throttling, 5xx, network, a lost answer);
 * - permanent: the job ends `failed` with the reason (a service's own 4xx, an output owned by another source, ...);
 * - bad input: logged and acknowledged, never retried (a redelivery would fail the same way);
 * - config: the deployment is wrong (environment, rules, a versioned records bucket); thrown, so it is loud.
 * Anything that is not an AppError is a bug: logged with its stack and rethrown, never recorded as a job's verdict.
 */
export type FailureKind = 'transient' | 'permanent' | 'bad-input' | 'config';

export abstract class AppError extends Error {
  abstract readonly kind: FailureKind;
}

/**
 * Whether delivering the event again may succeed: a TransientFailure, and equally a service's 5xx or throttling
 * answer or a network error still failing after the in-function retries (they are thrown as they are, not wrapped).
 */
export function isTransient(error: unknown): error is AppError {
  return error instanceof AppError && error.kind === 'transient';
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

/** The deployment's configuration is wrong (environment, rules, s.yaml, the records bucket). */
export class ConfigError extends AppError {
  override name = 'ConfigError';
  readonly kind = 'config';
}

/** A verdict of our own that fails the job (the video is unreadable, the window misses it, a rule cannot be sent). */
export class PermanentFailure extends AppError {
  override name = 'PermanentFailure';
  readonly kind = 'permanent';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A cloud service answered with an error: its HTTP status, error code and request id. */
export class ServiceResponseError extends AppError {
  override name = 'ServiceResponseError';
  /** The product that answered: `oss`, `imm`, `mns`, `sts`. */
  readonly service: string;
  readonly status: number;
  readonly code: string;
  readonly requestId: string;
  /** The server's clock (its `Date` header), when it sent one: a RequestTimeTooSkewed answer is corrected from it. */
  readonly serverDate?: number;
  constructor(details: { service: string; status: number; code: string; message: string; requestId: string; serverDate?: number }) {
    super(details.message);
    this.service = details.service;
    this.status = details.status;
    this.code = details.code;
    this.requestId = details.requestId;
    if (details.serverDate !== undefined) this.serverDate = details.serverDate;
  }

  get kind(): FailureKind {
    return isTransientAnswer(this.status, this.code) ? 'transient' : 'permanent';
  }
}

/**
 * No answer: a network failure or a timeout. `sent` says whether the request may have reached the service (the
 * connection was up when it failed); a refused connection or a failed DNS lookup never sent anything.
 */
export class NetworkError extends AppError {
  override name = 'NetworkError';
  readonly kind = 'transient';
  constructor(
    message: string,
    readonly code: string,
    readonly sent: boolean,
  ) {
    super(message);
  }
}

/**
 * A call that starts a billed task failed after the request may have reached the service (a timeout, a reset
 * connection, a 5xx): whether the task exists is unknown, so the call is never sent again blindly. The job's next
 * step looks first (ListTasks by the job's tag), or waits where nothing can be looked up (engine oss).
 */
export class UnknownOutcome extends AppError {
  override name = 'UnknownOutcome';
  readonly kind = 'transient';
  readonly code = UNKNOWN_OUTCOME;
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
  }
}

/** The error code an attempt records when its task-starting call ended without a usable answer. */
export const UNKNOWN_OUTCOME = 'UnknownOutcome';

/** What a failed call says, read off the app's own error types. */
export interface ServiceErrorInfo {
  service: 'imm' | 'oss' | 'mns';
  status?: number;
  code: string;
  message: string;
  transient: boolean;
  /** The request may have been acted on (no answer, or a 5xx): a task-starting call must look before it acts again. */
  ambiguous: boolean;
}

/** The service's own answer says "try again later": 5xx, 429, throttling, or a clock skew the client corrects. */
function isTransientAnswer(status: number, code: string): boolean {
  return status >= 500 || status === 429 || /throttl/i.test(code) || code === 'RequestTimeTooSkewed';
}

/**
 * Sorts a failed call by the type of its error: a service's answer, no answer, or an error that carries its own
 * kind. Undefined for anything else: a bug, which callers rethrow instead of recording.
 */
export function describeServiceError(service: ServiceErrorInfo['service'], error: unknown): ServiceErrorInfo | undefined {
  if (error instanceof ServiceResponseError) {
    return { service, status: error.status, code: error.code, message: error.message, transient: error.kind === 'transient', ambiguous: error.status >= 500 };
  }
  if (error instanceof NetworkError) return { service, code: error.code, message: error.message, transient: true, ambiguous: error.sent };
  if (error instanceof UnknownOutcome) return { service, code: error.code, message: error.message, transient: true, ambiguous: true };
  if (error instanceof PermanentFailure) return { service, code: error.code, message: error.message, transient: false, ambiguous: false };
  if (error instanceof ServiceFailure) return error.info;
  if (error instanceof TransientFailure) return error.info ?? { service, code: 'TransientFailure', message: error.message, transient: true, ambiguous: false };
  return undefined;
}

/** An error that carries a sorted service failure of its own (a partial submission, a missing attachment). */
export abstract class ServiceFailure extends AppError {
  abstract readonly info: ServiceErrorInfo;
  get kind(): FailureKind {
    return this.info.transient ? 'transient' : 'permanent';
  }
}
