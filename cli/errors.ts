/**
 * The command line is two bundles (scripts/build-cli.ts), each with its own copy of these classes: `instanceof`
 * goes by a brand under a registry symbol, which both copies share, instead of by the class object.
 */
const KIND = Symbol.for('video-animation.cli-error');

function hasKind(value: unknown, kind: string): boolean {
  return typeof value === 'object' && value !== null && (value as { [KIND]?: string })[KIND] === kind;
}

/** Bad input: an unknown option, a bad value, a job that does not exist. Exit code 2; the message says what to do next. */
export class UsageError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasKind(value, 'usage');
  }
  override name = 'UsageError';
  readonly [KIND] = 'usage';
  readonly exitCode = 2;
}

/** The command ran but could not do what was asked (a service refused, a call failed). Exit code 1. */
export class OperationError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return hasKind(value, 'operation');
  }
  override name = 'OperationError';
  readonly [KIND] = 'operation';
  readonly exitCode = 1;
}
