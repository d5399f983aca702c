import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { generateSampleVideo, invocationContext, type OssEventRecord } from '@video-animation/local-cloud';
import { FUNCTION_CREDENTIALS, functionDescription, functionEnvironment, LOCAL_ACCOUNT_ID, startStack } from '../local/stack';
import type { FunctionSpec } from '../deploy/spec';
import { DEFAULT_RECORDS_PREFIX } from '../shared/wiring/config';
import { benchRules, describeBenchRule } from './rules';

/**
 * The way FC really starts a function: a fresh Node process, the bundle alone in a folder with no node_modules above
 * it, the function's environment and FC's context, serving one realistic event against the local services, then
 * exiting. Measured from spawn to exit, alternating with `node -e 0` so drift on a shared machine hits every series
 * alike. The same runner then serves more events in one process for the warm figures.
 */

export interface FunctionFigures {
  name: string;
  /** Median wall time of a fresh process serving its first event, ms. */
  firstInvocationMs: number;
  ratio: number;
  /** Of which: require() of the bundle, and the handler serving the first event (median ms). */
  loadMs: number;
  firstEventMs: number;
  /** Median handler time of later events in one process, ms. */
  warmMs: number;
  packageBytes: number;
  packageGzipBytes: number;
  /** Lines the function wrote that are not its own JSON log lines (must be 0). */
  foreignLines: number;
}

export interface FirstInvocationFigures {
  rounds: number;
  /** Where the local OSS the functions talk to keeps its objects (the bench's stack: memory; `npm start`'s: disk). */
  ossStorage: 'memory' | 'disk';
  /** Jobs on the open-jobs list when the reconcile runs ended (the uploads whose notices the bench kept). */
  openJobs: number;
  baselineMs: number;
  functions: FunctionFigures[];
}

/** Serves the events in argv order and writes each handler's duration (ms); the parent times the whole process. */
const RUNNER = `
const fs = require('node:fs');
const [bundle, eventsFile, contextFile] = process.argv.slice(2);
const timingsFile = eventsFile + '.timings.json';
const events = JSON.parse(fs.readFileSync(eventsFile, 'utf8'));
const context = JSON.parse(fs.readFileSync(contextFile, 'utf8'));
const loadStarted = process.hrtime.bigint();
const { handler } = require(bundle);
const loadMs = Number(process.hrtime.bigint() - loadStarted) / 1e6;
(async () => {
  const timings = [];
  for (let i = 0; i < events.length; i++) {
    const started = process.hrtime.bigint();
    await handler(Buffer.from(events[i]), { ...context, requestId: context.requestId + '-' + i });
    timings.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  fs.writeFileSync(timingsFile, JSON.stringify({ loadMs, timings }));
  process.exit(0);
})().catch((error) => { process.stderr.write(String(error && error.stack || error) + '\\n'); process.exit(1); });
`;

interface Run {
  ms: number;
  stdout: string;
}

interface Served extends Run {
  /** require() of the bundle, ms. */
  loadMs: number;
  /** Each event's handler time, ms. */
  timings: number[];
}

/** Spawns node asynchronously (the local services answer from this process's event loop) and times it to exit. */
function runNode(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code === 0) resolve({ ms, stdout: stdout + stderr });
      else reject(new Error(`node ${args.slice(0, 2).join(' ')} exited ${code}: ${stderr || stdout}`));
    });
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Lines that are not one JSON object: anything a dependency prints (FC bills and indexes every line). */
const foreignLines = (output: string) =>
  output.split('\n').filter((line) => {
    if (!line.trim()) return false;
    try {
      return typeof JSON.parse(line) !== 'object';
    } catch {
      return true;
    }
  }).length;

export async function firstInvocationBench(options: { rounds: number; warmEvents: number; bundlesDir: string }): Promise<FirstInvocationFigures> {
  const dir = await mkdtemp(path.join(tmpdir(), 'video-animation-first-'));
  // Conversions are not what is measured here: the fast mode writes a small valid animation at once.
  const ossStorage = 'memory';
  const stack = await startStack({ dataDir: path.join(dir, 'stack'), delayScale: 0.01, build: false, ossStorage, imm: { conversion: 'fast' } });
  try {
    const byResource = (resource: string) => stack.spec.functions.find((f) => f.resource === resource)!;
    const [submit, record, reconcile] = [byResource('submit'), byResource('record'), byResource('reconcile')];
    const recordTrigger = record.mnsTriggers[0]!;

    // Notices of the tasks the measured submits start go to a topic of the bench's own, pushed the way the record
    // trigger would push them: each becomes a realistic first event for a fresh record process.
    const benchTopic = 'video-animation-bench-first-invocation';
    const notices: Buffer[] = [];
    stack.mns.subscribe(benchTopic, {
      name: 'bench-capture',
      notifyContentFormat: recordTrigger.notifyContentFormat,
      notifyStrategy: recordTrigger.notifyStrategy,
      deliver: async (payload) => void notices.push(payload),
    });

    // Uploads the trigger does not see (CopyObject is not among its events), announced to the fresh process as the
    // PutObject event OSS would have sent: every measured submit handles a video nobody has handled yet.
    const prefix = submit.ossTriggers[0]!.prefix;
    const client = stack.ossClient();
    const clip = path.join(dir, 'clip.mp4');
    await generateSampleVideo(clip, { seconds: 4, width: 320, height: 180, fps: 25 });
    await client.put('bench-source/clip.mp4', clip);
    const needed = options.rounds * 2 + options.warmEvents * 2 + 1;
    const uploadEvents: string[] = [];
    for (let i = 0; i < needed; i++) {
      const key = `${prefix}bench-first/${i}.mp4`;
      await client.copy(key, 'bench-source/clip.mp4');
      const copied = stack.ossEvents().findLast((e) => e.oss.object.key === key)!;
      const event: OssEventRecord = { ...copied, eventName: 'ObjectCreated:PutObject' };
      uploadEvents.push(JSON.stringify({ events: [event] }));
    }
    await stack.idle();
    if (stack.invocations().length > 0) throw new Error('the copies fired the submit trigger: the bench would measure handled videos');

    const bundles = new Map<string, string>();
    for (const fn of [submit, record, reconcile]) {
      const folder = path.join(dir, 'code', fn.resource);
      await mkdir(folder, { recursive: true });
      const file = path.join(folder, 'index.js');
      await copyFile(path.join(options.bundlesDir, fn.resource, 'index.js'), file);
      bundles.set(fn.resource, file);
    }
    const runner = path.join(dir, 'code', 'runner.js');
    await writeFile(runner, RUNNER);

    let eventFiles = 0;
    const serve = async (fn: FunctionSpec, events: string[]): Promise<Served> => {
      const eventsFile = path.join(dir, `events-${eventFiles++}.json`);
      const contextFile = `${eventsFile}.context.json`;
      await writeFile(eventsFile, JSON.stringify(events));
      await writeFile(contextFile, JSON.stringify(invocationContext(functionDescription(fn), { requestId: `bench-${fn.resource}`, accountId: LOCAL_ACCOUNT_ID, credentials: FUNCTION_CREDENTIALS })));
      const extra = { MNS_TOPIC: benchTopic, RULES: JSON.stringify(benchRules(prefix)) };
      const run = await runNode([runner, bundles.get(fn.resource)!, eventsFile, contextFile], functionEnvironment(fn, { ...stack, extra }));
      const { loadMs, timings } = JSON.parse(await readFile(`${eventsFile}.timings.json`, 'utf8')) as { loadMs: number; timings: number[] };
      return { ...run, loadMs, timings };
    };

    // Notices for the record runs come from submits that are not measured.
    for (const event of uploadEvents.splice(0, options.rounds + options.warmEvents)) await serve(submit, [event]);
    await stack.idle();
    const recordEvents = notices.splice(0).map((n) => n.toString('utf8'));
    if (recordEvents.length < options.rounds + options.warmEvents) throw new Error(`only ${recordEvents.length} notices for ${options.rounds + options.warmEvents} uploads`);
    const timerEvent = JSON.stringify({ triggerTime: new Date().toISOString(), triggerName: reconcile.timerTriggers[0]?.name ?? 'reconcile', payload: '' });

    const baseline: number[] = [];
    const series = new Map([submit, record, reconcile].map((f) => [f.resource, { ms: [] as number[], loadMs: [] as number[], firstEventMs: [] as number[], foreign: 0 }]));
    const measure = async (fn: FunctionSpec, event: string) => {
      const run = await serve(fn, [event]);
      const entry = series.get(fn.resource)!;
      entry.ms.push(run.ms);
      entry.loadMs.push(run.loadMs);
      entry.firstEventMs.push(run.timings[0]!);
      entry.foreign += foreignLines(run.stdout);
    };
    for (let i = 0; i < options.rounds; i++) {
      baseline.push((await runNode(['-e', '0'], { PATH: process.env['PATH'] ?? '' })).ms);
      await measure(submit, uploadEvents.shift()!);
      await measure(record, recordEvents.shift()!);
      await measure(reconcile, timerEvent);
    }

    const warm = new Map<string, { ms: number; foreign: number }>();
    for (const [fn, events] of [
      [submit, uploadEvents.splice(0, options.warmEvents + 1)],
      [record, recordEvents.splice(0, options.warmEvents + 1)],
      [reconcile, Array.from({ length: options.warmEvents + 1 }, () => timerEvent)],
    ] as const) {
      const run = await serve(fn, events);
      warm.set(fn.resource, { ms: median(run.timings.slice(1)), foreign: foreignLines(run.stdout) });
    }
    await stack.idle();

    const recordsPrefix = reconcile.env['RECORDS_PREFIX'] ?? DEFAULT_RECORDS_PREFIX;
    const openJobs = ((await client.listV2({ prefix: `${recordsPrefix}open/`, 'max-keys': '1000' }, {})).objects ?? []).length;
    const baselineMs = median(baseline);
    const functions: FunctionFigures[] = [];
    for (const fn of [submit, record, reconcile]) {
      const code = await readFile(bundles.get(fn.resource)!);
      const cold = series.get(fn.resource)!;
      const ms = median(cold.ms);
      functions.push({
        name: fn.resource,
        firstInvocationMs: ms,
        ratio: ms / baselineMs,
        loadMs: median(cold.loadMs),
        firstEventMs: median(cold.firstEventMs),
        warmMs: warm.get(fn.resource)!.ms,
        packageBytes: code.length,
        packageGzipBytes: gzipSync(code, { level: 9 }).length,
        foreignLines: cold.foreign + warm.get(fn.resource)!.foreign,
      });
    }
    return { rounds: options.rounds, ossStorage, openJobs, baselineMs, functions };
  } finally {
    await stack.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatFirstInvocation(figures: FirstInvocationFigures): string[] {
  const ratio = (name: string) => `${figures.functions.find((f) => f.name === name)!.ratio.toFixed(2)}x`;
  return [
    `first invocation: fresh process, bundle alone, one realistic event against the local services, local OSS in ${figures.ossStorage} (median of ${figures.rounds} runs alternating with node -e 0)`,
    `  rule ${describeBenchRule()} (bench/rules.ts, not s.yaml's): submit gets a new upload, record its completion notice`,
    `  node -e 0    ${figures.baselineMs.toFixed(0).padStart(5)} ms  1.00x`,
    ...figures.functions.map(
      (f) =>
        `  ${f.name.padEnd(10)}  ${f.firstInvocationMs.toFixed(0).padStart(5)} ms  ${f.ratio.toFixed(2)}x  (load ${f.loadMs.toFixed(0)} ms, first event ${f.firstEventMs.toFixed(0)} ms)   ` +
        `package ${(f.packageGzipBytes / 1024).toFixed(1)} KB gzipped (${(f.packageBytes / 1024).toFixed(0)} KB)   warm ${f.warmMs.toFixed(1)} ms   non-JSON lines ${f.foreignLines}`,
    ),
    `  submit ${ratio('submit')} and record ${ratio('record')} of node -e 0 (goal: within 1.80x, local OSS in ${figures.ossStorage})`,
    `  goals: first invocation <= 1.80x, package <= 200 KB gzipped, no non-JSON line; reconcile's event is a timer tick over the ${figures.openJobs} jobs the measured uploads left open`,
  ];
}
