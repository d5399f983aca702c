/** Bad input: an unknown option, a bad value, a job that does not exist. Exit code 2; the message says what to do next. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = 2;
}

/** The command ran but could not do what was asked (a service refused, a call failed). Exit code 1. */
export class OperationError extends Error {
  override name = 'OperationError';
  readonly exitCode = 1;
}
