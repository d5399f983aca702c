/**
 * A function as the local FC runs it: what FC 3.0 knows of a function and its triggers (the props of an fc3
 * resource in s.yaml). The package reads no deployment file: its user maps its own description to these.
 */
export interface FunctionDescription {
  functionName: string;
  description?: string;
  region: string;
  /** e.g. nodejs20; reported by GetFunction. */
  runtime: string;
  /** `index.handler`: the export `handler` of `<codeDir>/index.js`. */
  handler: string;
  /** The folder of the built code (its index.js is loaded in a worker thread). */
  codeDir: string;
  timeoutSeconds: number;
  memoryMB: number;
  /** The function's configured environment variables. */
  env: Record<string, string>;
  /** Retries of a failed asynchronous invocation (FC's asyncInvokeConfig.maxAsyncRetryAttempts). */
  maxAsyncRetryAttempts: number;
  /** Where a failed asynchronous invocation is recorded (asyncInvokeConfig.destinationConfig.onFailure). */
  onFailureDestination?: string;
  /** At most this many invocations at once (concurrencyConfig.reservedConcurrency); unset: no cap of its own. */
  reservedConcurrency?: number;
  ossTriggers: OssTriggerDescription[];
  mnsTriggers: MnsTriggerDescription[];
  timerTriggers: TimerTriggerDescription[];
}

export interface OssTriggerDescription {
  name: string;
  region: string;
  bucket: string;
  /** e.g. `oss:ObjectCreated:PutObject`, `oss:ObjectCreated:*`. */
  events: string[];
  /** Key filters, compared as raw strings. */
  prefix: string;
  suffix: string;
}

export interface MnsTriggerDescription {
  name: string;
  topic: string;
  notifyContentFormat: 'JSON' | 'STREAM';
  notifyStrategy: 'BACKOFF_RETRY' | 'EXPONENTIAL_DECAY_RETRY';
}

export interface TimerTriggerDescription {
  name: string;
  cronExpression: string;
  enable: boolean;
  /** Passed to the function as the event's `payload`. */
  payload?: string;
}
