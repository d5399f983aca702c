import type { AppDeps } from '../../shared/app/context';
import type { BucketApi, ObjectHeaders } from '../../shared/clients/oss';
import type { ImmApi, ImmTaskInfo } from '../../shared/clients/imm';
import type { ConversionEngine, StartedTask, TaskStatus } from '../../shared/engines/engine';
import { immEngine, immTaskLookup, JOB_TAG } from '../../shared/engines/imm';
import { PartialSubmitError } from '../../shared/engines/engine';
import { memoryJobStore } from './memory-store';
import type { MediaInfo } from '../../shared/jobs/sampling';
import { DEFAULT_POLICY, type AppConfig } from '../../shared/wiring/config';
import { withRetries, type Retrier } from '../../shared/platform/retry';
import { NetworkError, ServiceResponseError } from '../../shared/platform/errors';
import { createLogger } from '../../shared/platform/log';
import type { RuleInput } from '../../shared/rules/schema';
import { parseRuleSet } from '../../shared/rules/validate';

export const BUCKET = 'media';
export const PREFIX = '.video-animation/';
export const LEASE_MS = 60_000;
export const T0 = Date.parse('2026-01-01T00:00:00Z');

/** A clock the test moves by hand. */
export function fakeClock(start = T0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms), set: (ms: number) => void (now = ms) };
}

/** A service's error answer, as the app's clients raise it. */
export function serviceError(status: number, code: string, message = code): ServiceResponseError {
  return new ServiceResponseError({ service: 'oss', status, code, message, requestId: 'test' });
}

/** A bucket in memory: objects, tags, and errors to throw per operation and key. */
export function fakeBucket(name = BUCKET) {
  const objects = new Map<string, string>();
  const tags = new Map<string, Record<string, string>>();
  /** The headers copyInPlace set, by key. */
  const headers = new Map<string, ObjectHeaders>();
  const failures: { op: string; key?: string; error: Error; times: number }[] = [];
  const fail = (op: string, key: string) => {
    const f = failures.find((x) => x.op === op && (x.key === undefined || x.key === key) && x.times > 0);
    if (f) {
      f.times--;
      throw f.error;
    }
  };
  const api: BucketApi = {
    bucket: name,
    async head(key) {
      fail('head', key);
      const body = objects.get(key);
      return body === undefined ? undefined : { size: Buffer.byteLength(body), eTag: 'E' };
    },
    async getText(key) {
      fail('get', key);
      return objects.get(key);
    },
    async getBytes(key) {
      fail('get', key);
      const body = objects.get(key);
      return body === undefined ? undefined : Buffer.from(body, 'latin1');
    },
    async putText(key, body, options = {}) {
      fail('put', key);
      if (options.createOnly && objects.has(key)) return 'exists';
      objects.set(key, body);
      return 'written';
    },
    async putTags(key, value) {
      fail('tag', key);
      tags.set(key, value);
    },
    async copyInPlace(key, { tags: value, from, ...set }) {
      fail('tag', key);
      const body = objects.get(from ?? key);
      if (body === undefined) throw serviceError(404, 'NoSuchKey');
      objects.set(key, body);
      headers.set(key, set);
      tags.set(key, value);
    },
    async deleteMany(keys) {
      for (const key of keys) objects.delete(key);
    },
    async delete(key) {
      objects.delete(key);
    },
    async list(prefix, { startAfter, maxKeys }) {
      const keys = [...objects.keys()].filter((k) => k.startsWith(prefix) && (!startAfter || k > startAfter)).sort();
      return { keys: keys.slice(0, maxKeys), truncated: keys.length > maxKeys };
    },
    async versioning() {
      return undefined;
    },
    async asyncProcess() {
      throw new Error('not used');
    },
  };
  return Object.assign(api, {
    objects,
    tags,
    headers,
    /** The next `times` calls of `op` (on `key`, or any) throw `error`. */
    failNext(op: 'head' | 'get' | 'put' | 'tag', error: Error, options: { key?: string; times?: number } = {}) {
      failures.push({ op, error, times: options.times ?? 1, ...(options.key ? { key: options.key } : {}) });
    },
  });
}

/**
 * IMM at its API (CreateMediaConvertTask, ListTasks by tag, GetTask): tasks with tags and statuses. The real imm
 * engine runs over it with the real retry policy (its backoff moves the fake clock), so what a task-starting call
 * does after an error is the production code's. Calls may be scripted to fail before IMM accepts (`refuseNext`) or
 * after it accepted (`dropAnswerNext`: the task exists, the answer is lost).
 */
export function fakeImm(clock: ReturnType<typeof fakeClock>) {
  const tasks: (TaskStatus & { jobId: string; outputs: string[]; attempt: number })[] = [];
  const script: { accept: boolean; error: Error }[] = [];
  const calls = { create: 0, list: 0 };
  let counter = 0;
  const api: ImmApi = {
    async createMediaConvertTask(request) {
      calls.create++;
      const step = script.shift();
      if (step && !step.accept) throw step.error;
      const task = {
        taskId: `task-${++counter}`,
        status: 'Running' as const,
        jobId: request.Tags?.[JOB_TAG] ?? '',
        outputs: request.Targets.flatMap((t) => (t.Image.Animations ?? []).map((a) => a.URI.replace(/^oss:\/\/[^/]+\//, '').replace(/([{}])\1/g, '$1'))),
        attempt: Number(request.Tags?.['Attempt'] ?? 0),
        startTime: `2026-01-01T00:00:${String(counter).padStart(2, '0')}Z`,
      };
      tasks.push(task);
      if (step) throw step.error;
      return { RequestId: 'r', TaskId: task.taskId, EventId: 'e' };
    },
    async listTasks(request) {
      calls.list++;
      const jobId = request.TagSelector?.replace(`${JOB_TAG}=`, '');
      return { RequestId: 'r', Tasks: tasks.filter((t) => t.jobId === jobId).map(toInfo) };
    },
    async getTask(_project, taskId) {
      const task = tasks.find((t) => t.taskId === taskId);
      if (!task) throw new ServiceResponseError({ service: 'imm', status: 404, code: 'ResourceNotFound', message: 'no such task', requestId: 'r' });
      return { RequestId: 'r', ...toInfo(task) };
    },
    async detectMediaMeta() {
      throw new Error('the tests use fakeMediaProbe');
    },
  };
  const retry: Retrier = (service, operation, kind) =>
    withRetries(operation, { service, ...(kind ? { kind } : {}), deadline: Number.POSITIVE_INFINITY, now: clock.now, random: () => 0.5, sleep: async (ms) => clock.advance(ms) });
  const engine = immEngine(api, { projectName: 'project', topicName: 'done' }, retry);
  return {
    tasks,
    api,
    engine,
    calls,
    listCalls: () => calls.list,
    /** The next CreateMediaConvertTask fails with `error` before IMM accepts anything. */
    refuseNext(error: Error) {
      script.push({ accept: false, error });
    },
    /** The next CreateMediaConvertTask makes its task, and the answer is lost with `error` (a reset, a timeout, a 5xx). */
    dropAnswerNext(error: Error = new NetworkError('POST imm: socket hang up', 'ECONNRESET', true)) {
      script.push({ accept: true, error });
    },
    finish(taskId: string, status: 'Succeeded' | 'Failed', code?: string, message?: string) {
      const task = tasks.find((t) => t.taskId === taskId)!;
      Object.assign(task, { status, ...(code ? { code } : {}), ...(message ? { message } : {}), endTime: '2026-01-01T00:10:00Z' });
    },
    lookup: immTaskLookup(api, 'project', retry),
  };
}

function toInfo(task: TaskStatus): ImmTaskInfo {
  return {
    TaskId: task.taskId,
    Status: task.status,
    ...(task.code ? { Code: task.code } : {}),
    ...(task.message ? { Message: task.message } : {}),
    ...(task.startTime ? { StartTime: task.startTime } : {}),
    ...(task.endTime ? { EndTime: task.endTime } : {}),
  };
}

/** DetectMediaMeta as the lifecycle sees it: media facts per source key (default: a 60 s, 25 fps video), or an error. */
export function fakeMediaProbe() {
  const sources = new Map<string, MediaInfo | Error>();
  const calls: string[] = [];
  return {
    sources,
    calls,
    async probe(_bucket: string, key: string): Promise<MediaInfo> {
      calls.push(key);
      const found = sources.get(key) ?? { duration: 60, width: 640, height: 360, frameRate: 25 };
      if (found instanceof Error) throw found;
      return found;
    },
  };
}

/** An engine like engine oss: one task per output, no way to find tasks again. */
export function fakeOssEngine(imm: ReturnType<typeof fakeImm>, failAt?: { output: number; error: Error }): ConversionEngine {
  return {
    async submit(plan, attempt) {
      const started: StartedTask[] = [];
      for (const [index, output] of plan.outputs.entries()) {
        if (failAt && failAt.output === index) {
          const error = failAt.error;
          failAt = undefined;
          throw started.length ? new PartialSubmitError(started, 'oss', error) : error;
        }
        const [task] = await imm.engine.submit({ ...plan, outputs: [output] }, attempt);
        // One task per output, as the oss engine starts them (the fake IMM saw all outputs of the plan it was given).
        started.push({ taskId: task!.taskId, outputs: [output.resolvedKey] });
      }
      return started;
    },
  };
}

export const DEFAULT_RULES: RuleInput[] = [
  {
    name: 'preview',
    prefix: 'videos/',
    outputs: [
      { format: 'gif', key: 'animations/{basename}' },
      { format: 'webp', key: 'animations/{basename}' },
    ],
  },
];

export function testConfig(overrides: Partial<AppConfig> = {}, rules: RuleInput[] = DEFAULT_RULES): AppConfig {
  return {
    region: 'cn-hangzhou',
    mnsTopic: 'done',
    recordsPrefix: PREFIX,
    immProject: 'project',
    bucket: BUCKET,
    reconcileAfterSeconds: 900,
    reconcileMaxJobs: 100,
    policy: DEFAULT_POLICY,
    rules: parseRuleSet(rules, { recordsPrefix: PREFIX }),
    ...overrides,
  };
}

/** AppDeps over the in-memory store, a fake bucket, a fake IMM and a fake clock; `logs` collects log lines. */
export function fakeApp(options: { config?: AppConfig; engine?: (imm: ReturnType<typeof fakeImm>) => ConversionEngine; budgetMs?: number } = {}) {
  const clock = fakeClock();
  const bucket = fakeBucket();
  const config = options.config ?? testConfig();
  const store = memoryJobStore(config.pricing);
  const imm = fakeImm(clock);
  const logs: { level: string; message: string; [k: string]: unknown }[] = [];
  const engine = options.engine ? options.engine(imm) : imm.engine;
  const media = fakeMediaProbe();
  const deps = (requestId = 'req'): AppDeps => ({
    config,
    log: createLogger({ requestId }, (line) => logs.push(JSON.parse(line))),
    clock,
    requestId,
    leaseMs: LEASE_MS,
    deadline: clock.now() + (options.budgetMs ?? 30_000),
    bucket: async () => bucket,
    records: async () => store,
    engine: async () => engine,
    mediaProbe: async () => media,
    taskLookup: async () => imm.lookup,
    // The real retry policy; its backoff moves the fake clock, so retries run instantly. `retried` lists each retry
    // as `<service> <code>`, the service the caller named (as the runtime's retry log line shows it).
    retry: (service, operation, kind) =>
      withRetries(operation, {
        service,
        ...(kind ? { kind } : {}),
        deadline: clock.now() + 60_000,
        now: clock.now,
        random: () => 0.5,
        sleep: async (ms) => clock.advance(ms),
        onRetry: (info) => retried.push(`${info.service} ${info.code}`),
      }),
  });
  const retried: string[] = [];
  return { clock, bucket, store, imm, media, logs, config, deps, retried };
}

/** The OSS trigger event for one upload. */
export function uploadEvent(key: string, eTag = 'ETAG1', size = 1000) {
  return {
    events: [
      {
        eventName: 'ObjectCreated:PutObject',
        eventSource: 'acs:oss' as const,
        eventTime: '2026-01-01T00:00:00.000Z',
        oss: { bucket: { name: BUCKET }, object: { key, eTag, size } },
      },
    ],
  };
}

/** An IMM completion notice as the record function receives it (decoded). */
export function notice(taskId: string, jobId: string, status: 'Succeeded' | 'Failed' = 'Succeeded', extra: { Code?: string; Message?: string } = {}) {
  return {
    TaskType: 'MediaConvert',
    TaskId: taskId,
    Status: status,
    Code: extra.Code ?? '',
    Message: extra.Message ?? '',
    UserData: JSON.stringify({ app: 'video-animation', v: 1, jobId, bucket: BUCKET, rule: 'preview' }),
    StartTime: '2026-01-01T00:00:01Z',
    EndTime: '2026-01-01T00:00:30Z',
  };
}
