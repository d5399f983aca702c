import type OSS from 'ali-oss';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkSpecConsistency, validateSpecRules } from '../deploy/checks';
import { DeployConfigError } from '../deploy/deploy-resources';
import { loadSpec, SpecError } from '../deploy/spec';
import { DEFAULT_RECORDS_PREFIX } from '../shared/wiring/config';
import { RulesConfigError } from '../shared/rules/validate';
import { createDropWatcher, frameNotes, ignoredReason, loadDropState, outputCopyPath, saveDropState, stamped } from './drop';
import { generateSampleVideo, processAlive, readEndpointsFile } from '@video-animation/local-cloud';
import { faultSettingsFromArgs, faultsFromSettings } from './faults';
import { describeOutputFile, inspectAnimation, listJobRecords, outputFileKeys, type AnimationFacts } from './inspect';
import { LocalSettingError } from './setting-error';
import { conversionFromEnv, LOCAL_ACCOUNT_ID, startStack, type Stack } from './stack';

const DROP_DIR = path.resolve('drop');
/** The local stack's data (objects, records, failures): what npm start, npm run demo and `--local` share. */
const DATA_DIR = path.resolve('.local');
const OUT_DIR = path.resolve('out');
/** Uploads above this size go as multipart uploads, as OSS clients do for big videos. */
const MULTIPART_THRESHOLD = 8 * 1024 * 1024;

/** A function's JSON log line in one readable line. */
function formatLogLine(source: string, line: string): string {
  try {
    const { level, message, fn: _fn, requestId: _r, ...fields } = JSON.parse(line) as Record<string, unknown>;
    const details = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `[${source}] ${level === 'info' ? '' : `${String(level).toUpperCase()} `}${String(message)}${details ? `  ${details}` : ''}`;
  } catch {
    return `[${source}] ${line}`;
  }
}

function recordsPrefix(stack: Stack): string {
  return stack.spec.functions.find((f) => f.resource === 'submit')?.env['RECORDS_PREFIX'] ?? DEFAULT_RECORDS_PREFIX;
}

async function upload(client: OSS, key: string, file: string): Promise<void> {
  const { size } = await stat(file);
  if (size > MULTIPART_THRESHOLD) await client.multipartUpload(key, file, { partSize: 5 * 1024 * 1024 });
  else await client.put(key, file);
}

/**
 * What `npm run build` checks, before anything starts: the same checks (deploy/checks.ts) with the same messages,
 * so the local stack never runs what the build would refuse.
 */
async function checkSpecAsTheBuildDoes(): Promise<void> {
  checkSpecConsistency(await loadSpec('s.yaml', { AccountID: LOCAL_ACCOUNT_ID }));
}

/** Errors that are the user's to fix (s.yaml, the rules, a setting): printed as one message, no stack trace. */
function isUserError(error: unknown): error is Error {
  return error instanceof RulesConfigError || error instanceof SpecError || error instanceof DeployConfigError || error instanceof LocalSettingError;
}

function exitOnUserError(command: string): (error: unknown) => never {
  return (error) => {
    if (isUserError(error)) {
      console.error(`${command} failed: ${error.message}`);
      process.exit(1);
    }
    console.error(error);
    process.exit(1);
  };
}

/** `320x180, 24 frames`: the README's `[done]` line (a still is one frame). */
function animationLine(facts: AnimationFacts): string {
  return `${facts.width}x${facts.height}, ${facts.frames} frame${facts.frames === 1 ? '' : 's'}`;
}

/** `npm start`: run the stack, mirror drop/ into the bucket, and download each finished animation into out/. */
async function start(): Promise<void> {
  const say = (line: string) => console.log(stamped(line));
  await checkSpecAsTheBuildDoes();
  const faults = faultsFromSettings(faultSettingsFromArgs(process.argv.slice(3), process.env));
  if (Object.keys(faults).length > 0) say(`fault injection on: ${JSON.stringify(faults)}`);
  const conversion = conversionFromEnv(process.env['LOCAL_IMM_CONVERSION']);
  if (conversion === 'fast') say('LOCAL_IMM_CONVERSION=fast: the local IMM writes small flat-colour animations and stills with the planned frame counts, no ffmpeg');
  const stack = await startStack({
    dataDir: DATA_DIR,
    // Same ports as the last run, and the conversions a stop interrupted run again.
    restartable: true,
    faults,
    ...(conversion ? { imm: { conversion } } : {}),
    log: (line) => {
      const match = /^\[([^\]]+)\] (.*)$/.exec(line);
      say(match ? formatLogLine(match[1]!, match[2]!) : line);
    },
    onInvocation: (invocation) => {
      if (invocation.ok === false) say(`[fc] ${invocation.functionName} attempt ${invocation.attempt} failed: ${invocation.error?.message}`);
    },
  });
  const client = stack.ossClient();
  // The rules as the functions run them (defaults filled in), for telling a dropped file why it is ignored.
  const rules = validateSpecRules(stack.spec);
  console.log(`
video-animation local stack
  OSS endpoint   ${stack.oss.endpoint}   bucket ${stack.bucket}   region oss-${stack.region}
  IMM endpoint   http://${stack.imm.endpoint}
  FC API         http://${stack.fc.endpoint}   (InvokeFunction, GetFunction, ListTriggers; fc20230330 client)
  AccessKey      ${stack.credentials.accessKeyId} / ${stack.credentials.accessKeySecret}
  rules          ${JSON.stringify(rules.map((r) => `${r.name}: ${r.prefix}`))}
Drop videos into ${path.relative(process.cwd(), DROP_DIR)}/ (e.g. drop/videos/clip.mp4 becomes key videos/clip.mp4);
finished animations are copied to ${path.relative(process.cwd(), OUT_DIR)}/. Ctrl-C stops.
See them in the browser (another terminal): npx video-animation gallery --local
Operate it from another terminal: npx video-animation status --local   (endpoints in ${path.relative(process.cwd(), stack.endpointsFile)})
`);
  await mkdir(path.join(DROP_DIR, 'videos'), { recursive: true });
  // What earlier runs uploaded and reported: a restart uploads no unchanged file again and prints no old result.
  const state = await loadDropState(DATA_DIR);
  const watcher = createDropWatcher({
    dropDir: DROP_DIR,
    stagingDir: path.join(DATA_DIR, 'drop-staging'),
    state,
    ignoredReason: (key) => ignoredReason(rules, key),
    upload: async (key, file) => {
      await upload(client, key, file);
      return ((await client.head(key)).res.headers as Record<string, string | undefined>)['etag'] ?? '';
    },
    saveState: () => saveDropState(DATA_DIR, state),
    say,
  });
  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    void poll()
      .catch((error: Error) => say(`[drop] ${error.message}`))
      .finally(() => (polling = false));
  }, 1000);
  async function poll() {
    await watcher.poll();
    for (const record of await listJobRecords(client, recordsPrefix(stack), (jobId) => jobId in state.reported)) {
      if (record.status !== 'succeeded' && record.status !== 'failed') continue;
      state.reported[record.jobId] = { key: record.key, eTag: record.eTag };
      await saveDropState(DATA_DIR, state);
      if (record.status === 'failed') {
        say(`[done] ${record.key} (rule ${record.rule}) FAILED: ${record.error?.code}: ${record.error?.message}`);
        continue;
      }
      for (const fileKey of record.outputs.flatMap(outputFileKeys)) {
        const copy = outputCopyPath(OUT_DIR, fileKey);
        const body = (await client.get(fileKey)).content as Buffer;
        const what = fileKey.endsWith('.vtt') ? (await describeOutputFile(fileKey, body)).line : animationLine(await inspectAnimation(body));
        if ('refused' in copy) {
          say(`[done] ${record.key} -> ${JSON.stringify(fileKey)}: ${what} (not copied to ${path.relative(process.cwd(), OUT_DIR)}/: ${copy.refused})`);
          continue;
        }
        await mkdir(path.dirname(copy.path), { recursive: true });
        await writeFile(copy.path, body);
        say(`[done] ${record.key} -> ${fileKey}: ${what}, ${(body.length / 1024).toFixed(0)} KiB (copied to ${path.relative(process.cwd(), copy.path)})`);
      }
      for (const note of frameNotes(rules.find((r) => r.name === record.rule), record)) say(`[done] note: ${note}`);
    }
  }
  const stop = async () => {
    clearInterval(timer);
    await stack.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

/** The storyboard block s.yaml carries commented out in its first rule (the same two lines). */
const DEMO_STORYBOARD = { kind: 'storyboard', key: 'storyboards/{dirname}/{basename}' };

/**
 * s.yaml's rules, with its commented storyboard added to the first rule when that rule has none: the demo shows a
 * poster, a sprite sheet and its WebVTT beside the animations whatever s.yaml keeps on.
 */
async function rulesWithStoryboard(): Promise<{ rules: { name: string; prefix: string; outputs: { kind?: string }[] }[]; added: boolean }> {
  const spec = await loadSpec('s.yaml', { AccountID: LOCAL_ACCOUNT_ID });
  const rules = spec.rules as { name: string; prefix: string; outputs: { kind?: string }[] }[];
  const [first, ...others] = rules;
  if (!first) throw new Error('s.yaml has no rules');
  if (first.outputs.some((o) => o.kind === 'storyboard')) return { rules, added: false };
  return { rules: [{ ...first, outputs: [...first.outputs, DEMO_STORYBOARD] }, ...others], added: true };
}

/**
 * `npm run demo`: one sample video through the whole pipeline; exit 0 only if every output is there and tagged.
 * It runs on the data folder `npm start` uses (when no stack is running there), so `npm start` and the gallery show
 * its video and animations afterwards; copies of both stay in out/demo/.
 */
async function demo(): Promise<number> {
  const running = await readEndpointsFile(DATA_DIR).catch(() => undefined);
  const shared = !(running && processAlive(running.pid));
  const dataDir = shared ? DATA_DIR : await mkdtemp(path.join(tmpdir(), 'video-animation-demo-'));
  const quiet = process.argv.includes('--quiet');
  await checkSpecAsTheBuildDoes();
  const conversion = conversionFromEnv(process.env['LOCAL_IMM_CONVERSION']);
  const demoRules = await rulesWithStoryboard();
  const stack = await startStack({
    dataDir,
    log: quiet ? undefined : (line) => console.log(line),
    ...(conversion ? { imm: { conversion } } : {}),
    ...(demoRules.added ? { functionEnv: { RULES: JSON.stringify(demoRules.rules) } } : {}),
  });
  const keep = path.join(OUT_DIR, 'demo');
  try {
    const rule = demoRules.rules[0]!;
    if (demoRules.added) console.log(`The demo adds s.yaml's commented storyboard to rule ${rule.name}, to show every kind of preview (uncomment it to keep it).`);
    await mkdir(keep, { recursive: true });
    const stampText = new Date().toISOString().replace(/[:.]/g, '-');
    const video = path.join(keep, `sample video ${stampText}.mp4`);
    await generateSampleVideo(video, { seconds: 4, width: 640, height: 360, fps: 25 });
    const key = `${rule.prefix}demo/${path.basename(video)}`;
    const client = stack.ossClient();
    // What the user's product would receive: the events topic's messages (the functions' EVENTS_TOPIC).
    const events: string[] = [];
    const eventsTopic = [...stack.functions.values()].map((f) => f.environment['EVENTS_TOPIC']).find((t) => !!t);
    if (eventsTopic) stack.mns.subscribe(eventsTopic, { name: 'demo', notifyContentFormat: 'STREAM', notifyStrategy: 'BACKOFF_RETRY', deliver: async (body) => void events.push(body.toString('utf8')) });
    console.log(`uploading ${key} with ali-oss to ${stack.oss.endpoint}`);
    await client.put(key, video);
    await stack.idle();
    await stack.mns.idle();
    for (const event of events) console.log(`
completion event received from topic ${eventsTopic} (what your application gets):
${JSON.stringify(JSON.parse(event), null, 2)}`);

    const record = (await listJobRecords(client, recordsPrefix(stack))).find((r) => r.key === key && r.rule === rule.name);
    if (!record) throw new Error(`no job record for ${key}`);
    console.log(`\njob ${record.jobId} (facts under ${recordsPrefix(stack)}jobs/${record.jobId}/):\n${JSON.stringify(record, null, 2)}\n`);
    let ok = record.status === 'succeeded';
    const kept = [video];
    for (const output of record.outputs) {
      for (const fileKey of outputFileKeys(output)) {
        const body = (await client.get(fileKey)).content as Buffer;
        const file = await describeOutputFile(fileKey, body);
        const tags = (await (client as OSS & { getObjectTagging(k: string): Promise<{ tag: Record<string, string> }> }).getObjectTagging(fileKey)).tag;
        const tagged = tags['job'] === record.jobId && tags['rule'] === record.rule;
        ok &&= tagged && file.usable;
        // Under the key's first folder: a poster and a storyboard sheet of one video share a file name (clip.mp4.jpg).
        const segments = fileKey.split('/');
        const copy = path.join(keep, ...(segments.length > 1 ? [segments[0]!] : []), segments.at(-1)!);
        await mkdir(path.dirname(copy), { recursive: true });
        await writeFile(copy, body);
        kept.push(copy);
        console.log(`${output.kind ?? 'animation'} ${fileKey}: ${file.line}, tags ${JSON.stringify(tags)}`);
      }
    }
    if (shared) {
      // npm start would otherwise print this job as news and copy it to out/ again: it is already reported here.
      const state = await loadDropState(dataDir);
      state.reported[record.jobId] = { key: record.key, eTag: record.eTag };
      await saveDropState(dataDir, state);
    }
    for (const failure of stack.failures()) console.log(`onFailure: ${JSON.stringify(failure.error)}`);
    console.log(ok ? '\ndemo passed: every output produced and tagged' : '\ndemo FAILED');
    console.log(`\nWhat it made is kept in ${path.relative(process.cwd(), keep)}/:\n${kept.map((f) => `  ${path.relative(process.cwd(), f)}`).join('\n')}`);
    console.log(
      shared
        ? `See it in the gallery: npm start   (the local stack, with this video in its bucket), then in another terminal:\n  npx video-animation gallery --local   and open the address it prints.\nDrop your own videos into drop/videos/ while npm start runs.`
        : `A local stack was already running on ${path.relative(process.cwd(), DATA_DIR)}/, so the demo ran on a throwaway one; to see a video in the gallery,\ndrop it into drop/videos/ and run: npx video-animation gallery --local`,
    );
    return ok ? 0 : 1;
  } finally {
    await stack.close();
    if (!shared) await rm(dataDir, { recursive: true, force: true });
  }
}

const command = process.argv[2];
if (command === 'start') start().catch(exitOnUserError('npm start'));
else if (command === 'demo') demo().then((code) => process.exit(code), exitOnUserError('npm run demo'));
else {
  console.error('usage: tsx local/cli.ts start|demo');
  process.exit(2);
}
