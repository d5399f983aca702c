import type OSS from 'ali-oss';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_RECORDS_PREFIX } from '../shared/platform/config';
import { generateSampleVideo } from './media';
import { faultSettingsFromArgs, faultsFromSettings } from './faults';
import { inspectAnimation, listJobRecords } from './inspect';
import { startStack, type Stack } from './stack';

const DROP_DIR = path.resolve('drop');
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

/** `npm start`: run the stack, mirror drop/ into the bucket, and download each finished animation into out/. */
async function start(): Promise<void> {
  const faults = faultsFromSettings(faultSettingsFromArgs(process.argv.slice(3), process.env));
  if (Object.keys(faults).length > 0) console.log(`fault injection on: ${JSON.stringify(faults)}`);
  const stack = await startStack({
    faults,
    log: (line) => {
      const match = /^\[([^\]]+)\] (.*)$/.exec(line);
      console.log(match ? formatLogLine(match[1]!, match[2]!) : line);
    },
    onInvocation: (invocation) => {
      if (invocation.ok === false) console.log(`[fc] ${invocation.functionName} attempt ${invocation.attempt} failed: ${invocation.error?.message}`);
    },
  });
  const client = stack.ossClient();
  console.log(`
video-animation local stack
  OSS endpoint   ${stack.oss.endpoint}   bucket ${stack.bucket}   region oss-${stack.region}
  IMM endpoint   http://${stack.imm.endpoint}
  FC API         http://${stack.fc.endpoint}   (InvokeFunction, GetFunction, ListTriggers; fc20230330 client)
  AccessKey      ${stack.credentials.accessKeyId} / ${stack.credentials.accessKeySecret}
  rules          ${JSON.stringify((stack.spec.rules as { name: string; prefix: string }[]).map((r) => `${r.name}: ${r.prefix}`))}
Drop videos into ${path.relative(process.cwd(), DROP_DIR)}/ (e.g. drop/videos/clip.mp4 becomes key videos/clip.mp4);
finished animations are copied to ${path.relative(process.cwd(), OUT_DIR)}/. Ctrl-C stops.
Operate it from another terminal: npx video-animation status --local   (endpoints in ${path.relative(process.cwd(), stack.endpointsFile)})
`);
  await mkdir(path.join(DROP_DIR, 'videos'), { recursive: true });
  const seen = new Map<string, string>();
  const shown = new Set<string>();
  const timer = setInterval(() => void poll(), 1000);
  async function poll() {
    for (const file of await walk(DROP_DIR)) {
      const info = await stat(file);
      const signature = `${info.size}:${info.mtimeMs}`;
      const previous = seen.get(file);
      seen.set(file, signature);
      // Upload once the file has stopped changing between two polls.
      if (previous !== signature || shown.has(`${file}@${signature}`)) continue;
      shown.add(`${file}@${signature}`);
      const key = path.relative(DROP_DIR, file).split(path.sep).join('/');
      console.log(`[drop] uploading ${key} (${(info.size / 1024).toFixed(0)} KiB)`);
      await upload(client, key, file).catch((error: Error) => console.log(`[drop] upload of ${key} failed: ${error.message}`));
    }
    for (const record of await listJobRecords(client, recordsPrefix(stack), (jobId) => shown.has(jobId))) {
      if (record.status !== 'succeeded' && record.status !== 'failed') continue;
      shown.add(record.jobId);
      if (record.status === 'failed') {
        console.log(`[done] ${record.key} (rule ${record.rule}) FAILED: ${record.error?.code}: ${record.error?.message}`);
        continue;
      }
      for (const output of record.outputs) {
        const target = path.join(OUT_DIR, ...output.key.split('/'));
        await mkdir(path.dirname(target), { recursive: true });
        const body = (await client.get(output.key)).content as Buffer;
        await writeFile(target, body);
        const facts = await inspectAnimation(body);
        console.log(`[done] ${record.key} -> ${output.key}: ${facts.width}x${facts.height}, ${facts.frames} frames, ${(facts.bytes / 1024).toFixed(0)} KiB (copied to ${path.relative(process.cwd(), target)})`);
      }
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

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(full)));
    else if (entry.isFile() && !entry.name.startsWith('.')) files.push(full);
  }
  return files;
}

/** `npm run demo`: one sample video through the whole pipeline on a fresh stack; exit 0 only if every output is there and tagged. */
async function demo(): Promise<number> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'video-animation-demo-'));
  const quiet = process.argv.includes('--quiet');
  const stack = await startStack({ dataDir, log: quiet ? undefined : (line) => console.log(line) });
  try {
    const rules = stack.spec.rules as { name: string; prefix: string }[];
    const rule = rules[0];
    if (!rule) throw new Error('s.yaml has no rules');
    const video = path.join(dataDir, 'sample.mp4');
    await generateSampleVideo(video, { seconds: 4, width: 640, height: 360, fps: 25 });
    const key = `${rule.prefix}demo/sample video ${Date.now()}.mp4`;
    const client = stack.ossClient();
    console.log(`uploading ${key} with ali-oss to ${stack.oss.endpoint}`);
    await client.put(key, video);
    await stack.idle();

    const record = (await listJobRecords(client, recordsPrefix(stack))).find((r) => r.key === key && r.rule === rule.name);
    if (!record) throw new Error(`no job record for ${key}`);
    console.log(`\njob record ${recordsPrefix(stack)}jobs/${record.jobId}.json:\n${JSON.stringify(record, null, 2)}\n`);
    let ok = record.status === 'succeeded';
    for (const output of record.outputs) {
      const body = (await client.get(output.key)).content as Buffer;
      const facts = await inspectAnimation(body);
      const tags = (await (client as OSS & { getObjectTagging(k: string): Promise<{ tag: Record<string, string> }> }).getObjectTagging(output.key)).tag;
      const tagged = tags['job'] === record.jobId && tags['rule'] === record.rule;
      ok &&= tagged && facts.frames > 0;
      console.log(`${output.key}: ${facts.format} ${facts.width}x${facts.height}, ${facts.frames} frames, ${facts.bytes} bytes, tags ${JSON.stringify(tags)}`);
    }
    for (const failure of stack.failures()) console.log(`onFailure: ${JSON.stringify(failure.error)}`);
    console.log(ok ? '\ndemo passed: every output produced and tagged' : '\ndemo FAILED');
    return ok ? 0 : 1;
  } finally {
    await stack.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

const command = process.argv[2];
if (command === 'start') void start();
else if (command === 'demo')
  demo().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
else {
  console.error('usage: tsx local/cli.ts start|demo');
  process.exit(2);
}
