import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LocalSettingError } from './setting-error';

/** A step of the submit function, recognised by the request that completes it. */
export type CrashStep = 'record-created' | 'task-submitted';

export interface CrashFault {
  /** The function resource in s.yaml whose instance dies (e.g. "submit"). */
  resource: string;
  after: CrashStep;
  /** How many times to crash (default 1). */
  times?: number;
}

export interface StackFaults {
  /** Shares of the functions' OSS requests answered 503. */
  oss?: { serverErrorRate?: number; throttleRate?: number };
  /**
   * IMM API calls throttled or answered 5xx; tasks that end Failed: a share of them and/or the first N run, with
   * `failTaskCode` (default `InternalError`, transient; e.g. `InvalidFile.Media` for a permanent failure).
   */
  imm?: {
    /**
     * IMM's rate limit: calls above this many per second, every action together, answered `Throttling.User` (a sliding
     * one-second window: packages/local-cloud/src/imm/rate-limit.ts). `stack.imm.apiCalls()` / `throttledCalls()` count them.
     */
    qps?: number;
    throttleRate?: number;
    serverErrorRate?: number;
    failTaskRate?: number;
    failFirstTasks?: number;
    failTaskCode?: string;
    /** CreateMediaConvertTask calls whose task is made (and runs) but whose answer is lost: the connection drops. */
    dropCreateAnswerRate?: number;
    dropFirstCreateAnswers?: number;
  };
  /** POST /<key>?x-oss-async-process requests whose task is made (and runs) but whose answer is lost. */
  ossAsync?: { dropAnswerRate?: number; dropFirstAnswers?: number };
  /** OSS trigger events: deliver a share twice (concurrently), and/or late. */
  events?: { duplicateRate?: number; delayMs?: number };
  /** MNS notices (IMM's completion messages): pushed twice, late, or lost (a share, and/or the first N published). */
  notices?: { duplicateRate?: number; delayMs?: number; dropRate?: number; dropFirst?: number };
  crash?: CrashFault;
  random?: () => number;
}

/**
 * Faults from the environment (or `--fault name=value` on the command line), e.g.
 * FAULT_IMM_THROTTLE=0.1 FAULT_IMM_5XX=0.05 FAULT_EVENT_DUPLICATE=1 FAULT_CRASH=submit:record-created,
 * FAULT_IMM_FAIL_TASK=0.2 FAULT_IMM_FAIL_FIRST_TASKS=1 FAULT_IMM_FAIL_TASK_CODE=InvalidFile.Media,
 * FAULT_NOTICE_DROP=0.1 FAULT_NOTICE_DROP_FIRST=1, FAULT_IMM_QPS=20 (IMM answers Throttling.User above 20 calls a second),
 * FAULT_IMM_DROP_CREATE_ANSWER=0.1 FAULT_IMM_DROP_FIRST_CREATE_ANSWERS=1 (the task is made, its answer lost),
 * FAULT_OSS_ASYNC_DROP_ANSWER=0.1 FAULT_OSS_ASYNC_DROP_FIRST_ANSWERS=1 (the same for x-oss-async-process).
 */
export function faultsFromSettings(settings: Record<string, string | undefined>): StackFaults {
  const rate = (name: string) => {
    const value = settings[name];
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!(n >= 0 && n <= 1)) throw new LocalSettingError(`${name}=${value}: expected a share between 0 and 1`);
    return n;
  };
  const ms = (name: string) => {
    const value = settings[name];
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!(n >= 0)) throw new LocalSettingError(`${name}=${value}: expected milliseconds`);
    return n;
  };
  const count = (name: string) => {
    const value = settings[name];
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new LocalSettingError(`${name}=${value}: expected a whole number`);
    return Number(value);
  };
  const code = (name: string) => {
    const value = settings[name];
    if (value === undefined) return undefined;
    if (!/^[A-Za-z][\w.]*$/.test(value)) throw new LocalSettingError(`${name}=${value}: expected an IMM error code such as InternalError or InvalidFile.Media`);
    return value;
  };
  const perSecond = (name: string) => {
    const value = settings[name];
    if (value === undefined) return undefined;
    if (!/^[1-9]\d*$/.test(value)) throw new LocalSettingError(`${name}=${value}: expected a whole number of API calls per second, at least 1`);
    return Number(value);
  };
  const faults: StackFaults = {};
  const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const oss = defined({ serverErrorRate: rate('FAULT_OSS_5XX'), throttleRate: rate('FAULT_OSS_THROTTLE') });
  const imm = defined({
    qps: perSecond('FAULT_IMM_QPS'),
    throttleRate: rate('FAULT_IMM_THROTTLE'),
    serverErrorRate: rate('FAULT_IMM_5XX'),
    failTaskRate: rate('FAULT_IMM_FAIL_TASK'),
    failFirstTasks: count('FAULT_IMM_FAIL_FIRST_TASKS'),
    failTaskCode: code('FAULT_IMM_FAIL_TASK_CODE'),
    dropCreateAnswerRate: rate('FAULT_IMM_DROP_CREATE_ANSWER'),
    dropFirstCreateAnswers: count('FAULT_IMM_DROP_FIRST_CREATE_ANSWERS'),
  });
  const ossAsync = defined({ dropAnswerRate: rate('FAULT_OSS_ASYNC_DROP_ANSWER'), dropFirstAnswers: count('FAULT_OSS_ASYNC_DROP_FIRST_ANSWERS') });
  const events = defined({ duplicateRate: rate('FAULT_EVENT_DUPLICATE'), delayMs: ms('FAULT_EVENT_DELAY_MS') });
  const notices = defined({
    duplicateRate: rate('FAULT_NOTICE_DUPLICATE'),
    delayMs: ms('FAULT_NOTICE_DELAY_MS'),
    dropRate: rate('FAULT_NOTICE_DROP'),
    dropFirst: count('FAULT_NOTICE_DROP_FIRST'),
  });
  if (Object.keys(oss).length) faults.oss = oss;
  if (Object.keys(imm).length) faults.imm = imm;
  if (Object.keys(ossAsync).length) faults.ossAsync = ossAsync;
  if (Object.keys(events).length) faults.events = events;
  if (Object.keys(notices).length) faults.notices = notices;
  const crash = settings['FAULT_CRASH'];
  if (crash) {
    const match = /^([\w-]+):(record-created|task-submitted)(?::(\d+))?$/.exec(crash);
    if (!match) throw new LocalSettingError(`FAULT_CRASH=${crash}: expected <resource>:record-created|task-submitted[:times]`);
    faults.crash = { resource: match[1]!, after: match[2] as CrashStep, times: Number(match[3] ?? 1) };
  }
  return faults;
}

/** `--fault FAULT_IMM_THROTTLE=0.1` flags, merged over the environment. */
export function faultSettingsFromArgs(args: string[], env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const settings: Record<string, string | undefined> = { ...env };
  args.forEach((arg, i) => {
    if (arg !== '--fault') return;
    const [name, value] = (args[i + 1] ?? '').split('=');
    if (!name || value === undefined) throw new LocalSettingError(`--fault takes NAME=VALUE, got "${args[i + 1] ?? ''}"`);
    settings[name] = value;
  });
  return settings;
}

/** Whether a request completes the step: the create-only PUT of a job record, or IMM's CreateMediaConvertTask. */
function completesStep(step: CrashStep, request: http.IncomingMessage, recordsPrefix: string): boolean {
  if (step === 'task-submitted') return request.headers['x-acs-action'] === 'CreateMediaConvertTask';
  const path = decodeURIComponent((request.url ?? '').split('?')[0] ?? '');
  return request.method === 'PUT' && request.headers['x-oss-forbid-overwrite'] === 'true' && path.includes(`${recordsPrefix}jobs/`);
}

/**
 * A loopback proxy between one function and a local service. It forwards every request untouched (Host and
 * signatures included); when a request completes the chosen step upstream, it kills the function's instance
 * instead of answering, so the step happened but the function never learned it: a crash right after that step.
 */
export async function startCrashProxy(options: {
  upstreamPort: number;
  step: CrashStep;
  recordsPrefix: string;
  shouldCrash: () => boolean;
  crash: (reason: string) => Promise<void>;
}): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    const upstream = http.request(
      { host: '127.0.0.1', port: options.upstreamPort, method: request.method, path: request.url, headers: request.headers },
      (upstreamResponse) => {
        if (upstreamResponse.statusCode! < 300 && completesStep(options.step, request, options.recordsPrefix) && options.shouldCrash()) {
          upstreamResponse.resume();
          void options.crash(`after ${options.step}`).finally(() => response.destroy());
          return;
        }
        response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(response);
      },
    );
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
