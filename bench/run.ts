import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listJobRecords } from '../local/inspect';
import { generateSampleVideo } from '../local/media';
import { startStack, type StackOptions } from '../local/stack';
import { buildFunctions } from '../scripts/build';
import { loadSpec } from '../scripts/spec';

/**
 * `npm run bench`: figures measured in one run on this machine, as ratios where timing is involved (the machines
 * are shared and noisy). BENCH_UPLOADS sets the size of the reliability runs (default 100; the 1000 works,
 * it takes a while: every upload is converted for real).
 */
const UPLOADS = Number(process.env['BENCH_UPLOADS'] ?? 100);
const ROOT = path.resolve(__dirname, '..');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Wall time of a fresh `node -e <code>` process, in ms. */
function timeNode(code: string): number {
  const started = process.hrtime.bigint();
  execFileSync(process.execPath, ['-e', code], { cwd: ROOT, stdio: 'ignore' });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function coldStart() {
  const bundles = await buildFunctions(await loadSpec(path.join(ROOT, 's.yaml')));
  const rounds = 15;
  const baseline: number[] = [];
  const loads = new Map<string, number[]>(bundles.map((b) => [b.name, []]));
  // Interleaved so drift on a shared machine hits every series alike.
  for (let i = 0; i < rounds; i++) {
    baseline.push(timeNode('0'));
    for (const bundle of bundles) loads.get(bundle.name)!.push(timeNode(`require(${JSON.stringify(bundle.file)})`));
  }
  console.log('\ncold start (median of %d fresh processes each)', rounds);
  console.log(`  node -e 0                         ${median(baseline).toFixed(0)} ms  (1.00x)`);
  for (const bundle of bundles) {
    const m = median(loads.get(bundle.name)!);
    console.log(`  require(dist/${bundle.name}/index.js)  ${m.toFixed(0)} ms  (${(m / median(baseline)).toFixed(2)}x)   bundle ${(bundle.bytes / 1024).toFixed(0)} KiB`);
  }
}

async function reliability(title: string, options: StackOptions, uploads: number) {
  const dir = await mkdtemp(path.join(tmpdir(), 'video-animation-bench-'));
  const stack = await startStack({ dataDir: dir, delayScale: 0.01, build: false, ...options });
  try {
    const video = path.join(dir, 'clip.mp4');
    await generateSampleVideo(video, { seconds: 1, width: 320, height: 180, fps: 25 });
    const client = stack.ossClient();
    const started = Date.now();
    const keys = Array.from({ length: uploads }, (_, i) => `videos/bench/${i}.mp4`);
    for (let i = 0; i < keys.length; i += 20) await Promise.all(keys.slice(i, i + 20).map((key) => client.put(key, video)));
    await stack.idle();
    const seconds = (Date.now() - started) / 1000;
    const records = (await listJobRecords(client, '.video-animation/')).filter((r) => r.key.startsWith('videos/bench/'));
    const tasks = stack.imm.tasks().filter((t) => JSON.stringify(t.requestedSources).includes('videos/bench/')).length;
    const succeeded = records.filter((r) => r.status === 'succeeded').length;
    const submitCalls = stack.invocations().filter((i) => i.functionName === 'video-animation-submit').length;
    console.log(`\n${title}`);
    console.log(`  uploads ${uploads}, submit invocations ${submitCalls}, IMM tasks ${tasks} (${(tasks / uploads).toFixed(2)} per upload)`);
    console.log(`  records ${records.length}, succeeded ${succeeded}, lost ${uploads - records.length}, onFailure ${stack.failures().length}, ${(uploads / seconds).toFixed(1)} uploads/s end to end`);
  } finally {
    await stack.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main() {
  await coldStart();
  await reliability('every OSS event delivered twice, concurrently', { faults: { events: { duplicateRate: 1 } } }, UPLOADS);
  await reliability('IMM throttling 10% + 5xx 5%, OSS 5xx 5%, notices duplicated 20%', {
    faults: { imm: { throttleRate: 0.1, serverErrorRate: 0.05 }, oss: { serverErrorRate: 0.05 }, notices: { duplicateRate: 0.2 } },
  }, UPLOADS);
  console.log(`\nbundle files: ${(await stat(path.join(ROOT, 'dist/submit/index.js'))).size} and ${(await stat(path.join(ROOT, 'dist/record/index.js'))).size} bytes`);
}

void main();
