import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import type { FunctionSpec } from '../../deploy/spec';

export interface FcCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
}

export interface Invocation {
  requestId: string;
  functionName: string;
  kind: 'async' | 'sync';
  attempt: number;
  /** The timer trigger that caused it, if one did. */
  timerTrigger?: string;
  /** When an asynchronous invocation that had to wait for a free slot (reservedConcurrency) was queued. */
  queuedAt?: number;
  /** When it began to run in the instance. */
  startedAt: number;
  endedAt?: number;
  ok?: boolean;
  result?: unknown;
  error?: { name: string; message: string };
}

/** How an asynchronous invocation ended, after FC's retries. */
export type AsyncOutcome = { ok: true; result: unknown } | { ok: false; error: Error };

export interface FailureRecord {
  functionName: string;
  destination: string | undefined;
  requestId: string;
  attempts: number;
  error: { name: string; message: string };
  event: string;
  at: string;
}

export interface InvokerOptions {
  spec: FunctionSpec;
  env: Record<string, string>;
  accountId: string;
  credentials: FcCredentials;
  /** Folder where onFailure destination records are written. */
  failuresDir: string;
  /** Multiplies FC's async retry intervals (tests use a small value). */
  delayScale: number;
  onLog: (functionName: string, line: string) => void;
  onInvocation?: (invocation: Invocation) => void;
}

/** The code a function instance runs: load the bundle once, then call handler(Buffer, context) per message. */
const INSTANCE_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bundle = require(workerData.bundle);
const handlerName = workerData.handler.split('.').pop();
const logger = Object.fromEntries(['debug', 'info', 'warn', 'error'].map((level) => [level, (...args) => console.log(JSON.stringify({ level, message: args.map(String).join(' ') }))]));
parentPort.on('message', async ({ id, event, context }) => {
  try {
    const result = await bundle[handlerName](Buffer.from(event), { ...context, logger });
    parentPort.postMessage({ id, ok: true, result: result === undefined ? null : JSON.parse(JSON.stringify(result)) });
  } catch (error) {
    parentPort.postMessage({ id, ok: false, error: { name: (error && error.name) || 'Error', message: (error && error.message) || String(error) } });
  }
});
`;

/** The context FC hands `handler(event, context)`: request id, region, account, the role's credentials, the function. */
export function invocationContext(spec: FunctionSpec, details: { requestId: string; accountId: string; credentials: FcCredentials }) {
  return {
    requestId: details.requestId,
    region: spec.region,
    accountId: details.accountId,
    credentials: details.credentials,
    function: { name: spec.functionName, handler: spec.handler, memory: spec.memoryMB, timeout: spec.timeoutSeconds },
    service: { name: spec.functionName, logProject: '', logStore: '' },
  };
}

/** What the function's concurrency cap holds at a moment (LocalFunction.concurrency()). */
export interface ConcurrencyState {
  /** `concurrencyConfig.reservedConcurrency`; undefined: no cap. */
  limit?: number;
  /** Invocations running in the instance now. */
  running: number;
  /** Asynchronous invocations waiting for a slot, in arrival order. */
  queued: number;
  /** The most invocations that ever ran at once. */
  maxRunning: number;
  /** Synchronous invocations refused because every slot was taken. */
  throttled: number;
}

/**
 * Runs one function the way FC does: its bundle in an instance of its own (a worker thread with the function's
 * environment), `handler(Buffer, context)` with an FC-like context, synchronous calls for MNS pushes, and
 * asynchronous calls for OSS events and timers with FC's retries and onFailure destination.
 *
 * The function's reserved concurrency (s.yaml `concurrencyConfig.reservedConcurrency`) caps the invocations running
 * at once (all of them run in the one worker, concurrently, as FC would run them on that many instances): an
 * asynchronous invocation above the cap waits in FC's async queue, first come first served, and runs when a slot
 * frees (FC retries those "for up to 5 hours", unbilled, not counted against maxAsyncRetryAttempts; a retry after an
 * error queues again like a new arrival); a synchronous one above the cap is refused at once with
 * `ResourceThrottled` (HTTP 429 on the FC API). A cap of 0 pauses the function: asynchronous events wait forever.
 */
export class LocalFunction {
  readonly name: string;
  readonly invocations: Invocation[] = [];
  readonly failures: FailureRecord[] = [];
  private worker: Worker;
  private readonly pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Invocations not caused by a timer, running or waiting for a retry. */
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  /** Timer invocations under way, retries included: they are waited for as a snapshot, never until none is left. */
  private readonly timerRuns = new Set<Promise<AsyncOutcome>>();
  private closed = false;
  private readonly limit: number | undefined;
  private running = 0;
  private maxRunning = 0;
  private throttledSync = 0;
  /** Asynchronous invocations waiting for a slot: each is handed one already taken. */
  private readonly slotQueue: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(private readonly options: InvokerOptions) {
    this.name = options.spec.functionName;
    this.limit = options.spec.reservedConcurrency;
    this.worker = this.startInstance();
  }

  /** The environment the instance runs with (s.yaml's, plus what the stack sets: endpoints, FC_*). */
  get environment(): Readonly<Record<string, string>> {
    return this.options.env;
  }

  /** The concurrency cap and what it holds now. */
  concurrency(): ConcurrencyState {
    return {
      ...(this.limit !== undefined ? { limit: this.limit } : {}),
      running: this.running,
      queued: this.slotQueue.length,
      maxRunning: this.maxRunning,
      throttled: this.throttledSync,
    };
  }

  private takeSlot(): void {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
  }

  private hasFreeSlot(): boolean {
    return this.limit === undefined || this.running < this.limit;
  }

  /** Waits in the async queue for a slot (at once when one is free and nobody is ahead). */
  private acquireSlot(): Promise<void> {
    if (this.hasFreeSlot() && this.slotQueue.length === 0) {
      this.takeSlot();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.slotQueue.push({ resolve, reject }));
  }

  private releaseSlot(): void {
    this.running--;
    while (this.slotQueue.length > 0 && this.hasFreeSlot()) {
      this.takeSlot();
      this.slotQueue.shift()!.resolve();
    }
  }

  /** FC starts a fresh instance after one dies; so does this. */
  private startInstance(): Worker {
    const worker = new Worker(INSTANCE_SOURCE, {
      eval: true,
      env: { ...this.options.env },
      stdout: true,
      stderr: true,
      workerData: { bundle: path.join(this.options.spec.codeDir, 'index.js'), handler: this.options.spec.handler },
    });
    for (const stream of [worker.stdout, worker.stderr]) {
      createInterface({ input: stream }).on('line', (line) => this.options.onLog(this.name, line));
    }
    worker.on('message', (message: { id: string; ok: boolean; result?: unknown; error?: { name: string; message: string } }) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(Object.assign(new Error(message.error?.message), { name: message.error?.name ?? 'Error' }));
    });
    worker.on('error', (error) => this.failPending(error));
    return worker;
  }

  /** Kills the instance mid-invocation (fault injection): every running invocation fails as FC reports a crash. */
  async crash(reason: string): Promise<void> {
    const dead = this.worker;
    this.worker = this.startInstance();
    this.failPending(Object.assign(new Error(`instance crashed: ${reason}`), { name: 'InstanceCrashed' }));
    this.options.onLog(this.name, JSON.stringify({ level: 'warn', message: `fault injection: instance crashed ${reason}` }));
    await dead.terminate();
  }

  private failPending(error: Error) {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  /**
   * A synchronous invocation (what an MNS topic trigger does); rejects when the handler throws or times out, or at
   * once with `ResourceThrottled` when the function's reserved concurrency is all in use. `kind: 'async'` is one
   * attempt of an asynchronous invocation: it waits for a slot in the async queue instead.
   */
  async invoke(event: Buffer, kind: Invocation['kind'] = 'sync', details: { attempt?: number; requestId?: string; timerTrigger?: string } = {}): Promise<unknown> {
    if (this.closed) throw closedError();
    let queuedAt: number | undefined;
    if (kind === 'sync') {
      if (!this.hasFreeSlot()) {
        this.throttledSync++;
        throw Object.assign(new Error(`Reserved concurrency exceeded: ${this.name} runs at most ${this.limit} invocations at once`), { name: 'ResourceThrottled' });
      }
      this.takeSlot();
    } else {
      // invokeAsync counts the wait as work under way for idle() (timer invocations aside, as ever).
      if (!(this.hasFreeSlot() && this.slotQueue.length === 0)) queuedAt = Date.now();
      await this.acquireSlot();
    }
    try {
      return await this.run(event, kind, details, queuedAt);
    } finally {
      this.releaseSlot();
    }
  }

  /** One invocation in the instance, its slot already taken. */
  private run(event: Buffer, kind: Invocation['kind'], details: { attempt?: number; requestId?: string; timerTrigger?: string }, queuedAt: number | undefined): Promise<unknown> {
    const { attempt = 1, requestId = randomUUID(), timerTrigger } = details;
    if (this.closed) return Promise.reject(closedError());
    const invocation: Invocation = {
      requestId,
      functionName: this.name,
      kind,
      attempt,
      ...(timerTrigger ? { timerTrigger } : {}),
      ...(queuedAt !== undefined ? { queuedAt } : {}),
      startedAt: Date.now(),
    };
    this.invocations.push(invocation);
    // Timer invocations are waited for apart (timerRunsSettled): they overlap without end when timers fire often.
    const counted = timerTrigger === undefined;
    if (counted) this.track(+1);
    const context = invocationContext(this.options.spec, { requestId, accountId: this.options.accountId, credentials: this.options.credentials });
    const id = randomUUID();
    const result = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(Object.assign(new Error(`Function timed out after ${this.options.spec.timeoutSeconds} seconds`), { name: 'FunctionTimeout' }));
      }, this.options.spec.timeoutSeconds * 1000);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
    this.worker.postMessage({ id, event, context });
    return result.then(
      (value) => {
        Object.assign(invocation, { endedAt: Date.now(), ok: true, result: value });
        this.options.onInvocation?.(invocation);
        if (counted) this.track(-1);
        return value;
      },
      (error: Error) => {
        Object.assign(invocation, { endedAt: Date.now(), ok: false, error: { name: error.name, message: error.message } });
        this.options.onInvocation?.(invocation);
        if (counted) this.track(-1);
        throw error;
      },
    );
  }

  /**
   * An asynchronous invocation (what OSS and timer triggers do): retried on error up to maxAsyncRetryAttempts with
   * growing intervals, then handed to the onFailure destination. Resolves (never rejects) when it has finished
   * either way. `requestId` is the id FC answered the caller with (the FC API's `x-fc-request-id`); every retry
   * keeps it, as FC's do.
   */
  invokeAsync(event: Buffer, origin: { timerTrigger?: string; requestId?: string } = {}): Promise<AsyncOutcome> {
    const { requestId = randomUUID(), timerTrigger } = origin;
    const run = async (): Promise<AsyncOutcome> => {
      const attempts = this.options.spec.maxAsyncRetryAttempts + 1;
      let lastError: Error = new Error('not invoked');
      for (let attempt = 1; attempt <= attempts; attempt++) {
        try {
          return { ok: true, result: await this.invoke(event, 'async', { attempt, requestId, ...(timerTrigger ? { timerTrigger } : {}) }) };
        } catch (error) {
          lastError = error as Error;
          if (this.closed) return { ok: false, error: lastError };
          // FC retries async invocations after roughly 1 s, then with growing intervals.
          if (attempt < attempts) await sleep(1000 * 2 ** (attempt - 1) * this.options.delayScale);
        }
      }
      await this.recordFailure(requestId, attempts, lastError, event);
      return { ok: false, error: lastError };
    };
    if (timerTrigger) {
      const outcome = run();
      this.timerRuns.add(outcome);
      void outcome.finally(() => this.timerRuns.delete(outcome));
      return outcome;
    }
    this.track(+1);
    return run().finally(() => this.track(-1));
  }

  /** Resolves when no invocation of this function is running or waiting for a retry, timer invocations aside. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves when the timer invocations running now (retries included) have finished; later ones are not waited for. */
  async timerRunsSettled(): Promise<void> {
    await Promise.all([...this.timerRuns]);
  }

  /** Ends the instance: running invocations fail, none is retried or starts any more. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.slotQueue.splice(0)) waiter.reject(closedError());
    this.failPending(closedError());
    await this.worker.terminate();
  }

  private async recordFailure(requestId: string, attempts: number, error: Error, event: Buffer) {
    const failure: FailureRecord = {
      functionName: this.name,
      destination: this.options.spec.onFailureDestination,
      requestId,
      attempts,
      error: { name: error.name, message: error.message },
      event: event.toString('utf8'),
      at: new Date().toISOString(),
    };
    this.failures.push(failure);
    await mkdir(this.options.failuresDir, { recursive: true });
    await writeFile(path.join(this.options.failuresDir, `${this.name}-${requestId}.json`), `${JSON.stringify(failure, null, 2)}\n`);
    this.options.onLog(this.name, JSON.stringify({ level: 'error', message: `event sent to onFailure destination ${failure.destination ?? '(none)'} after ${attempts} attempts`, error: failure.error }));
  }

  private track(delta: number) {
    this.inFlight += delta;
    if (this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

const closedError = () => Object.assign(new Error('the local stack is closed'), { name: 'StackClosed' });

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
