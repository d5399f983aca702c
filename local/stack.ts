import OSS from 'ali-oss';
import * as z from '../shared/platform/zod';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_RECORDS_PREFIX } from '../shared/wiring/config';
import { outputDelivery } from '../shared/rules/naming';
import { parseRuleSet } from '../shared/rules/validate';
import { loadSpec, SpecError, type FunctionSpec, type OssTrigger, type ServiceSpec, type TimerTrigger } from '../deploy/spec';
import { type ConversionMode, createAsyncProcessHandler, type FunctionDescription, createLocalMns, type FailureRecord, type FcCredentials, type Invocation, type LocalBucket, type LocalFcApi, LocalFunction, type LocalImm, type LocalMns, type LocalOss, type LocalOssOptions, ossClientOptions, type OssEventRecord, removeEndpointsFile, startLocalFcApi, startLocalImm, startLocalMnsServer, type LocalMnsServer, startLocalOss, timerEvent, timerIntervalMs, writeEndpointsFile } from '@video-animation/local-cloud';
import { startCrashProxy, type StackFaults } from './faults';
import { listenOnSavedPort, loadSavedPorts, savePorts } from './ports';
import { LocalSettingError } from './setting-error';

export const LOCAL_ACCOUNT_ID = '1234567890123456';

/** The AccessKey any client uses against the local stack (loopback only; override with env). */
export const LOCAL_CREDENTIALS = {
  accessKeyId: process.env['LOCAL_ACCESS_KEY_ID'] ?? 'LTAIlocalstackkey',
  accessKeySecret: process.env['LOCAL_ACCESS_KEY_SECRET'] ?? 'local-stack-secret-not-for-cloud-use',
};

/** The STS credentials every function instance gets in its context (what the function's role would give). */
export const FUNCTION_CREDENTIALS: FcCredentials = {
  accessKeyId: 'STS.localfunctionrole',
  accessKeySecret: 'local-function-sts-secret',
  securityToken: 'local-function-sts-token',
};

/** `LOCAL_IMM_CONVERSION` (for `npm start` / `npm run demo`): `ffmpeg` (default) or `fast`. */
export function conversionFromEnv(value: string | undefined): ConversionMode | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'ffmpeg' || value === 'fast') return value;
  throw new LocalSettingError(`LOCAL_IMM_CONVERSION=${value}: expected ffmpeg (real conversions) or fast (small valid animations and stills, no ffmpeg)`);
}

export interface StackOptions {
  specFile?: string;
  /** Objects, failures and scratch files (default `.local/`). */
  dataDir?: string;
  /**
   * npm start's mode: the servers take the ports of the last run when free (`<dataDir>/ports.json`), and the local
   * IMM keeps its tasks in `<dataDir>/imm-tasks.json` and runs again, once everything listens, the tasks that were
   * running when the stack stopped (logged as `[imm] resuming ...`).
   */
  restartable?: boolean;
  /**
   * `disk` (default): the local OSS keeps its objects in `<dataDir>/oss` and they survive restarts (`npm start`).
   * `memory`: nothing on disk, gone at close (tests and the bench: faster).
   */
  ossStorage?: 'disk' | 'memory';
  /** Values for s.yaml's `${env(...)}` (e.g. BUCKET). */
  specEnv?: Record<string, string>;
  /** Extra environment for both functions (e.g. RULES). */
  functionEnv?: Record<string, string>;
  /** Build the bundles from s.yaml first (default true). */
  build?: boolean;
  /** Multiplies FC and MNS retry intervals (tests use a small value). */
  delayScale?: number;
  /** Overrides every mns_topic trigger's notifyContentFormat. */
  notifyContentFormat?: 'JSON' | 'STREAM';
  /** IMM's publisher Base64-encodes message bodies. */
  base64Messages?: boolean;
  /** Fault injection (see local/faults.ts). */
  faults?: StackFaults;
  /** Receives each log line of the stack and the functions. */
  log?: (line: string) => void;
  /**
   * Buckets beside s.yaml's trigger buckets (e.g. a second bucket for outputs), and settings for any bucket: an
   * entry naming a trigger bucket gives it those settings (e.g. `{ name: bucket, versioning: 'Enabled' }`).
   */
  buckets?: LocalBucket[];
  /** The local OSS's clock offset in ms (see LocalOssOptions.clockOffsetMs): makes the clients' clocks look skewed. */
  ossClockOffsetMs?: number;
  /** Buckets with no IMM project attached: OSS async processing (`engine: oss`) answers OSS's error there. */
  bucketsWithoutImm?: string[];
  /** Called when an invocation ends (ok or not). */
  onInvocation?: (invocation: Invocation) => void;
  /** Fires every enabled timer trigger this often instead of at its cronExpression's rate (tests use e.g. 200). */
  timerIntervalMs?: number;
  /**
   * The local IMM: `conversion: 'fast'` writes small valid animations with the planned frame counts (and flat
   * stills for posters and storyboards) instead of running ffmpeg, and caches probes per ETag
   * (packages/local-cloud/src/imm/fast-animation.ts, fast-stills.ts); `concurrency`: tasks converted at once
   * (default 1 with ffmpeg, 4 in the fast mode).
   */
  imm?: { conversion?: ConversionMode; concurrency?: number };
  /**
   * Overrides s.yaml's `concurrencyConfig.reservedConcurrency` per function resource (e.g. `{ submit: null }` runs
   * submit uncapped, `{ submit: 4 }` caps it at 4).
   */
  reservedConcurrency?: Record<string, number | null>;
  /**
   * HTTP endpoints subscribed to the events topic (EVENTS_TOPIC), pushed and signed as MNS pushes (XML format by
   * default, as MNS's): e.g. examples/consumer/server.mjs at `http://127.0.0.1:8080/events?token=...`.
   */
  eventEndpoints?: { endpoint: string; notifyContentFormat?: 'XML' | 'JSON' | 'SIMPLIFIED' }[];
}

export interface Stack {
  spec: ServiceSpec;
  region: string;
  bucket: string;
  oss: LocalOss;
  imm: LocalImm;
  mns: LocalMns;
  /** MNS's HTTP API over `mns` (the functions' MNS_ENDPOINT): PublishMessage, queues, HTTP endpoint subscriptions. */
  mnsApi: LocalMnsServer;
  /** The FC 3.0 API (InvokeFunction, GetFunction, ListTriggers) over the functions, for the official fc20230330 client. */
  fc: LocalFcApi;
  functions: Map<string, LocalFunction>;
  credentials: typeof LOCAL_CREDENTIALS;
  /** `<dataDir>/endpoints.json`: the endpoints and key of this stack, for the command line (`--local`); removed by close(). */
  endpointsFile: string;
  /** An ali-oss client for the bucket, signed with the local credentials. */
  ossClient(options?: { bucket?: string; accessKeySecret?: string; authorizationV4?: boolean }): OSS;
  invocations(): Invocation[];
  /** Every OSS event the local OSS emitted, in order. */
  ossEvents(): OssEventRecord[];
  failures(): FailureRecord[];
  logs(): { source: string; line: string }[];
  /**
   * Resolves when no event-driven invocation, conversion or notice delivery is under way and the timer invocations
   * running meanwhile have finished (timers keep firing: see the comment in startStack).
   */
  idle(): Promise<void>;
  /**
   * Invokes the function of s.yaml resource `resource` now through its timer trigger (`triggerName`, or its only
   * one; enabled or not), as FC does on schedule: asynchronously, with FC's retries. Resolves with the handler's
   * result, or rejects with the last error once the retries are spent (the onFailure record is written first).
   */
  fireTimer(resource: string, triggerName?: string): Promise<unknown>;
  /** Stops the timers and every server. */
  close(): Promise<void>;
}

/** Starts local OSS, IMM and MNS on loopback and runs the built functions against them, wired as s.yaml says. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dataDir = path.resolve(options.dataDir ?? '.local');
  const delayScale = options.delayScale ?? 1;
  const collected: { source: string; line: string }[] = [];
  const log = (source: string, line: string) => {
    collected.push({ source, line });
    options.log?.(`[${source}] ${line}`);
  };

  const spec = await loadSpec(options.specFile ?? 's.yaml', { AccountID: LOCAL_ACCOUNT_ID, ...options.specEnv });
  // The endpoints pushed the completion events: s.yaml's vars.localEventSubscribers and the caller's.
  const subscribers: NonNullable<StackOptions['eventEndpoints']> = [...localEventSubscribers(spec), ...(options.eventEndpoints ?? [])];
  // Refused before any server starts, so a refusal leaves nothing running.
  const namesEventsTopic = spec.functions.some((fn) => !!(options.functionEnv?.['EVENTS_TOPIC'] ?? fn.env['EVENTS_TOPIC']));
  if (subscribers.length > 0 && !namesEventsTopic) {
    throw new SpecError('s.yaml vars.localEventSubscribers (or eventEndpoints) name endpoints, but no function has an EVENTS_TOPIC: set vars.events to \'true\'');
  }
  // Refuse a timer the local stack cannot run before anything starts, whether or not timerIntervalMs overrides its rate.
  const schedules = spec.functions.flatMap((fn) =>
    fn.timerTriggers
      .filter((t) => t.enable)
      .map((trigger) => {
        const scheduledMs = timerIntervalMs(trigger.cronExpression);
        return { fn, trigger, intervalMs: options.timerIntervalMs ?? scheduledMs };
      }),
  );
  const unknownCaps = Object.keys(options.reservedConcurrency ?? {}).filter((resource) => !spec.functions.some((f) => f.resource === resource));
  if (unknownCaps.length > 0) throw new Error(`reservedConcurrency names no function resource of s.yaml: ${unknownCaps.join(', ')}`);
  // Loaded only to build: the build pulls in esbuild and the rule validator, which stacks over built bundles do not need.
  if (options.build !== false) await (await import('../deploy/build')).buildFunctions(spec);
  const submitSpec = spec.functions.find((f) => f.ossTriggers.length > 0);
  const bucket = submitSpec?.ossTriggers[0]?.bucket;
  if (!submitSpec || !bucket) throw new SpecError('s.yaml has no function with an OSS trigger');
  const region = submitSpec.region;

  const functionCredentials = FUNCTION_CREDENTIALS;
  const signers = [LOCAL_CREDENTIALS, functionCredentials];

  const functions = new Map<string, LocalFunction>();
  const ossEvents: OssEventRecord[] = [];
  const faults = options.faults ?? {};
  const random = faults.random ?? Math.random;
  const routeEvent: NonNullable<LocalOssOptions['onEvent']> = (record) => {
    ossEvents.push(record);
    for (const fn of spec.functions) {
      if (!fn.ossTriggers.some((t) => triggerMatches(t, record.oss.bucket.name, record.eventName, record.oss.object.key))) continue;
      const deliver = () => functions.get(fn.functionName)?.invokeAsync(Buffer.from(JSON.stringify({ events: [record] })));
      // OSS delivers at least once: with the fault on, a share of events arrive twice, at the same time.
      const copies = random() < (faults.events?.duplicateRate ?? 0) ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        if (faults.events?.delayMs) pendingDeliveries.add(setTimeout(deliver, faults.events.delayMs));
        else deliver();
      }
    }
  };
  const pendingDeliveries = new Set<NodeJS.Timeout>();

  const savedPorts = options.restartable ? await loadSavedPorts(dataDir) : {};
  const portLog = (line: string) => log('stack', line);

  // The buckets s.yaml's rules write outputs to exist too (in the cloud the user creates them; `doctor` checks that).
  // A spec without vars.rules (rules given to the functions as RULES) names none.
  const outputBuckets = (spec.rules === undefined ? [] : parseRuleSet(spec.rules, { recordsPrefix: submitSpec.env['RECORDS_PREFIX'] ?? DEFAULT_RECORDS_PREFIX }, 's.yaml vars.rules')).flatMap((rule) => [
    ...rule.outputs.map((output) => outputDelivery(rule, output, bucket).bucket),
    outputDelivery(rule, {}, bucket).bucket,
  ]);
  const stackBuckets = [...new Set([...spec.functions.flatMap((f) => f.ossTriggers.map((t) => t.bucket)), ...outputBuckets])];
  const configured = options.buckets ?? [];
  const oss = await listenOnSavedPort('oss', savedPorts.oss, (port) => startLocalOss({
    port,
    ...(options.ossStorage === 'memory' ? { storage: 'memory' as const } : { dataDir: path.join(dataDir, 'oss') }),
    region,
    accountId: LOCAL_ACCOUNT_ID,
    buckets: [...stackBuckets.filter((name) => !configured.some((b) => b.name === name)), ...configured],
    ...(options.ossClockOffsetMs ? { clockOffsetMs: options.ossClockOffsetMs } : {}),
    credentials: signers,
    onEvent: routeEvent,
    // Bound once the local IMM (which needs this OSS's address) is up.
    asyncProcess: (request) => asyncProcess!(request),
    // Injected OSS faults hit the functions' calls; uploaders and the IMM stand-in see a healthy OSS.
    ...(faults.oss ? { faults: { ...faults.oss, random, accessKeyIds: [functionCredentials.accessKeyId] } } : {}),
  }), portLog);

  const mns = createLocalMns({ delayScale, accountId: LOCAL_ACCOUNT_ID, ...(faults.notices ? { faults: { ...faults.notices, random } } : {}) });
  // The functions publish completion events over HTTP, signed with their role's STS credentials; each one is logged.
  const mnsApi = await listenOnSavedPort(
    'mns',
    savedPorts.mns,
    (port) => startLocalMnsServer({ port, mns, credentials: signers, onPublish: (m) => log('mns', `${m.topic}: ${describeEvent(m.messageBody)}`) }),
    portLog,
  );
  const projects = [...new Set(spec.functions.map((f) => f.env['IMM_PROJECT']).filter((p): p is string => !!p))];
  const imm = await listenOnSavedPort('imm', savedPorts.imm, (port) => startLocalImm({
    port,
    ...(options.restartable ? { stateFile: path.join(dataDir, 'imm-tasks.json') } : {}),
    region,
    accountId: LOCAL_ACCOUNT_ID,
    credentials: signers,
    projects,
    oss: { endpoint: oss.endpoint, ...LOCAL_CREDENTIALS, ...(options.ossClockOffsetMs ? { clockOffsetMs: options.ossClockOffsetMs } : {}) },
    publish: async (topic, body) => {
      mns.publish(topic, body, options.base64Messages ? { base64Message: true } : {});
    },
    workDir: path.join(dataDir, 'imm'),
    ...(options.imm?.conversion ? { conversion: options.imm.conversion } : {}),
    concurrency: options.imm?.concurrency ?? (options.imm?.conversion === 'fast' ? 4 : 1),
    ...(faults.imm ? { faults: { ...faults.imm, random } } : {}),
  }), portLog);
  const asyncProcess = createAsyncProcessHandler({
    imm,
    projectName: projects[0] ?? 'video-animation',
    attachedBuckets: [...stackBuckets, ...configured.map((b) => b.name)].filter((b) => !(options.bucketsWithoutImm ?? []).includes(b)),
    ...(faults.ossAsync ? { faults: { ...faults.ossAsync, random } } : {}),
  });
  const proxies: { close(): Promise<void> }[] = [];

  await mkdir(dataDir, { recursive: true });
  for (const fn of spec.functions) {
    const env = functionEnvironment(fn, { oss, imm, mnsApi, region, extra: options.functionEnv ?? {} });
    // The events topic the deployed stack creates (`<app>-events`); creating it again keeps its subscriptions.
    if (env['EVENTS_TOPIC']) mns.createTopic(env['EVENTS_TOPIC']);
    const crash = faults.crash?.resource === fn.resource ? faults.crash : undefined;
    let crashesLeft = crash?.times ?? 1;
    if (crash) {
      const proxy = await startCrashProxy({
        upstreamPort: crash.after === 'record-created' ? oss.port : imm.port,
        step: crash.after,
        recordsPrefix: fn.env['RECORDS_PREFIX'] ?? DEFAULT_RECORDS_PREFIX,
        shouldCrash: () => crashesLeft-- > 0,
        crash: (reason) => instance.crash(reason),
      });
      proxies.push(proxy);
      env[crash.after === 'record-created' ? 'OSS_ENDPOINT' : 'IMM_ENDPOINT'] = `http://127.0.0.1:${proxy.port}`;
    }
    const capOverride = options.reservedConcurrency?.[fn.resource];
    const instance: LocalFunction = new LocalFunction({
      spec: functionDescription(fn, capOverride),
      env,
      accountId: LOCAL_ACCOUNT_ID,
      credentials: functionCredentials,
      failuresDir: path.join(dataDir, 'failures'),
      delayScale,
      onLog: (name, line) => log(name, line),
      ...(options.onInvocation ? { onInvocation: options.onInvocation } : {}),
    });
    functions.set(fn.functionName, instance);
    for (const trigger of fn.mnsTriggers) {
      mns.subscribe(trigger.topic, {
        name: `${fn.functionName}/${trigger.name}`,
        notifyContentFormat: options.notifyContentFormat ?? trigger.notifyContentFormat,
        notifyStrategy: trigger.notifyStrategy,
        deliver: async (payload) => {
          await instance.invoke(payload, 'sync');
        },
      });
    }
  }

  const eventTopics = new Set([...functions.values()].map((f) => f.environment['EVENTS_TOPIC']).filter((t): t is string => !!t));
  for (const topic of eventTopics) {
    subscribers.forEach((subscriber, i) =>
      mnsApi.subscribeHttpEndpoint(topic, {
        name: `events-endpoint-${i + 1}`,
        endpoint: subscriber.endpoint,
        notifyContentFormat: subscriber.notifyContentFormat ?? 'XML',
        // Three retries within a minute: a stopped endpoint does not keep idle() waiting for a day.
        notifyStrategy: 'BACKOFF_RETRY',
      }),
    );
  }

  const fc = await listenOnSavedPort(
    'fc',
    savedPorts.fc,
    (port) => startLocalFcApi({ port, region, accountId: LOCAL_ACCOUNT_ID, credentials: [LOCAL_CREDENTIALS], specs: spec.functions.map((fn) => functionDescription(fn)), functions }),
    portLog,
  );
  if (options.restartable) {
    await savePorts(dataDir, { oss: oss.port, imm: imm.port, fc: fc.port, mns: mnsApi.port });
    // Everything listens and the notices have their subscribers: the conversions a stop interrupted can finish.
    const resumed = imm.resumeInterrupted();
    if (resumed.length > 0) log('imm', `resuming ${resumed.length} conversion task(s) that were running when the stack stopped: ${resumed.join(', ')}`);
  }
  const endpointsFile = await writeEndpointsFile(dataDir, {
    pid: process.pid,
    region,
    bucket,
    accountId: LOCAL_ACCOUNT_ID,
    ossEndpoint: oss.endpoint,
    immEndpoint: imm.endpoint,
    fcEndpoint: fc.endpoint,
    credentials: LOCAL_CREDENTIALS,
    startedAt: new Date().toISOString(),
  });

  // FC invokes a function on a timer asynchronously: failures are retried and end at onFailure, never thrown here.
  const runTimer = (fn: FunctionSpec, trigger: TimerTrigger) =>
    functions.get(fn.functionName)!.invokeAsync(timerEvent(trigger, new Date()), { timerTrigger: trigger.name });
  const timers = schedules.map(({ fn, trigger, intervalMs }) => setInterval(() => void runTimer(fn, trigger), intervalMs));

  // Timers fire forever, so "nothing is running" may never happen. idle() therefore waits for the event-driven work
  // (OSS events, notices, conversions) to finish and for the timer invocations running at the time to end, and it
  // counts as activity everything but timer invocations themselves: a timer pass that found nothing to do leaves no
  // trace and lets the stack settle, while one that did work (submitted a task, wrote an object that fires an event)
  // shows up as tasks, deliveries or invocations and keeps idle() waiting for what it started. A timer invocation
  // that starts in the last 50 ms before idle() resolves is not waited for; tests that need one use fireTimer().
  const idle = async () => {
    // Each part can start work in another (an upload fires an event, a task publishes a notice): settle until quiet.
    for (let quietRounds = 0; quietRounds < 2; ) {
      const before = activity();
      await Promise.all([...functions.values()].map((f) => f.idle()));
      await Promise.all([...functions.values()].map((f) => f.timerRunsSettled()));
      await imm.idle();
      await mns.idle();
      await new Promise((resolve) => setTimeout(resolve, 50));
      quietRounds = activity() === before ? quietRounds + 1 : 0;
    }
  };
  const activity = () =>
    [...functions.values()].reduce((n, f) => n + f.invocations.filter((i) => i.timerTrigger === undefined).length, 0) +
    imm.tasks().length +
    mns.deliveries().length;

  return {
    spec,
    region,
    bucket,
    oss,
    imm,
    mns,
    mnsApi,
    fc,
    functions,
    credentials: LOCAL_CREDENTIALS,
    endpointsFile,
    ossClient: (o = {}) =>
      new OSS(
        ossClientOptions(
          oss,
          o.bucket ?? bucket,
          { ...LOCAL_CREDENTIALS, ...(o.accessKeySecret ? { accessKeySecret: o.accessKeySecret } : {}) },
          { v4: o.authorizationV4 ?? false },
        ),
      ),
    invocations: () => [...functions.values()].flatMap((f) => f.invocations),
    ossEvents: () => [...ossEvents],
    failures: () => [...functions.values()].flatMap((f) => f.failures),
    logs: () => collected,
    idle,
    fireTimer: (resource, triggerName) => {
      const fn = spec.functions.find((f) => f.resource === resource);
      if (!fn) return Promise.reject(new Error(`s.yaml has no function resource ${resource}`));
      const candidates = fn.timerTriggers.filter((t) => triggerName === undefined || t.name === triggerName);
      if (candidates.length !== 1) {
        const names = fn.timerTriggers.map((t) => t.name).join(', ') || 'none';
        return Promise.reject(new Error(`resource ${resource}: name one timer trigger${triggerName ? `, not ${triggerName}` : ''} (it has: ${names})`));
      }
      return runTimer(fn, candidates[0]!).then((outcome) => {
        if (!outcome.ok) throw outcome.error;
        return outcome.result;
      });
    },
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      for (const timer of pendingDeliveries) clearTimeout(timer);
      await removeEndpointsFile(dataDir);
      await fc.close();
      mns.close();
      await mnsApi.close();
      await Promise.all(proxies.map((p) => p.close()));
      await Promise.all([...functions.values()].map((f) => f.close()));
      await imm.close();
      await oss.close();
    },
  };
}

/**
 * What the local FC runs for an fc3 resource of s.yaml; `reservedConcurrency` overrides s.yaml's cap (null: none).
 */
export function functionDescription(fn: FunctionSpec, reservedConcurrency?: number | null): FunctionDescription {
  const cap = reservedConcurrency === undefined ? fn.reservedConcurrency : (reservedConcurrency ?? undefined);
  return {
    functionName: fn.functionName,
    ...(fn.description !== undefined ? { description: fn.description } : {}),
    region: fn.region,
    runtime: fn.runtime,
    handler: fn.handler,
    codeDir: fn.codeDir,
    timeoutSeconds: fn.timeoutSeconds,
    memoryMB: fn.memoryMB,
    env: fn.env,
    maxAsyncRetryAttempts: fn.maxAsyncRetryAttempts,
    ...(fn.onFailureDestination !== undefined ? { onFailureDestination: fn.onFailureDestination } : {}),
    ...(cap !== undefined ? { reservedConcurrency: cap } : {}),
    ossTriggers: fn.ossTriggers.map(({ name, region, bucket, events, prefix, suffix }) => ({ name, region, bucket, events, prefix, suffix })),
    mnsTriggers: fn.mnsTriggers.map(({ name, topic, notifyContentFormat, notifyStrategy }) => ({ name, topic, notifyContentFormat, notifyStrategy })),
    timerTriggers: fn.timerTriggers.map(({ name, cronExpression, enable, payload }) => ({ name, cronExpression, enable, ...(payload !== undefined ? { payload } : {}) })),
  };
}

/** The function's s.yaml environment with the endpoints pointed at the stack, as FC would set region variables. */
export function functionEnvironment(
  fn: FunctionSpec,
  stack: { oss: LocalOss; imm: LocalImm; mnsApi?: { endpoint: string }; region: string; extra: Record<string, string> },
): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '',
    ...fn.env,
    FC_REGION: stack.region,
    FC_ACCOUNT_ID: LOCAL_ACCOUNT_ID,
    FC_FUNCTION_NAME: fn.functionName,
    OSS_ENDPOINT: stack.oss.endpoint,
    IMM_ENDPOINT: `http://${stack.imm.endpoint}`,
    ...(stack.mnsApi ? { MNS_ENDPOINT: stack.mnsApi.endpoint } : {}),
    ...stack.extra,
  };
}

const LocalEventSubscribersSchema = z.nullish(
  z.array(
    z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL of your endpoint, e.g. http://127.0.0.1:8080/events?token=...' }),
  ),
);

/**
 * `vars.localEventSubscribers`: URLs of HTTP endpoints (your application, on this machine) that the local stack
 * subscribes to the events topic, each pushed every completion event as MNS pushes it (XML, signed). The cloud
 * stack ignores it: there, subscribe the endpoint to the topic yourself.
 */
export function localEventSubscribers(spec: ServiceSpec): { endpoint: string }[] {
  const parsed = LocalEventSubscribersSchema.safeParse(spec.vars['localEventSubscribers']);
  if (!parsed.success) {
    throw new SpecError(parsed.error.issues.map((issue) => `s.yaml vars.localEventSubscribers${issue.path.map((p) => `[${String(p)}]`).join('')}: ${issue.message}`).join('; '));
  }
  return (parsed.data ?? []).map((endpoint) => ({ endpoint }));
}

/** OSS trigger semantics: event in the configured list (or ObjectCreated:*), key prefix and suffix as raw strings. */
export function triggerMatches(trigger: OssTrigger, bucket: string, eventName: string, key: string): boolean {
  const family = eventName.split(':')[0];
  const eventOk = trigger.events.includes(`oss:${eventName}`) || trigger.events.includes(`oss:${family}:*`);
  return trigger.bucket === bucket && eventOk && key.startsWith(trigger.prefix) && key.endsWith(trigger.suffix);
}

/** A published message for the log: a completion event as `type subject (id)`, anything else as its first 200 characters. */
function describeEvent(body: string): string {
  try {
    const event = JSON.parse(body) as { type?: unknown; subject?: unknown; id?: unknown };
    if (typeof event.type === 'string' && typeof event.subject === 'string') return `${event.type} ${event.subject} (id ${String(event.id)})`;
  } catch {
    // not JSON: shown as it is
  }
  return body.slice(0, 200);
}
