import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listJobRecords } from '../local/inspect';
import { generateSampleVideo } from '@video-animation/local-cloud';
import { startStack, type StackOptions } from '../local/stack';
import { buildFunctions } from '../deploy/build';
import { loadSpec } from '../deploy/spec';
import { burstBench, formatBurst } from './burst';
import { cliStartBench, formatCliStart } from './cli-start';
import { firstInvocationBench, formatFirstInvocation } from './first-invocation';
import { formatOssRequests, ossRequestsBench } from './oss-requests';

/**
 * `npm run bench`: figures measured in one run on this machine, as ratios where timing is involved (the machines
 * are shared and noisy):
 * - the OSS requests and sequential rounds of each function for one upload and its notice, with the fixed rule of
 *   bench/rules.ts (one rule, two animations; also the rule of the first-invocation figures), not s.yaml's;
 * - the command line's start: `video-animation --help` against `node -e 0` (BENCH_ROUNDS alternating runs);
 * - first invocation of each function in a fresh process against the local services, against `node -e 0`
 *   (BENCH_ROUNDS alternating runs, default 15), with package size and warm handler time;
 * - a burst of BENCH_BURST_UPLOADS uploads (default 200) against an IMM limited to BENCH_IMM_QPS calls a second
 *   (default 20), with the submit function capped as in s.yaml, capped at 2, and uncapped (s.yaml's rules, poster
 *   included: the fast conversion mode writes its stills);
 * - the reliability scenarios: BENCH_UPLOADS uploads (default 100; 1000 works, it takes a while: every upload is
 *   converted for real).
 */
const UPLOADS = Number(process.env['BENCH_UPLOADS'] ?? 100);
/** Fresh processes per function for the first-invocation figures, alternating with `node -e 0`. */
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 15);
const BURST_UPLOADS = Number(process.env['BENCH_BURST_UPLOADS'] ?? 200);
const BURST_QPS = Number(process.env['BENCH_IMM_QPS'] ?? 20);
const ROOT = path.resolve(__dirname, '..');

async function reliability(title: string, options: StackOptions, uploads: number) {
  const dir = await mkdtemp(path.join(tmpdir(), 'video-animation-bench-'));
  const stack = await startStack({ dataDir: dir, delayScale: 0.01, build: false, ossStorage: 'memory', ...options });
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
  console.log(`${formatCliStart(await cliStartBench({ rounds: ROUNDS })).join('\n')}\n`);
  const bundles = await buildFunctions(await loadSpec(path.join(ROOT, 's.yaml')));
  const bundlesDir = path.dirname(path.dirname(bundles[0]!.file));
  console.log(`${formatOssRequests(await ossRequestsBench()).join('\n')}\n`);
  console.log(formatFirstInvocation(await firstInvocationBench({ rounds: ROUNDS, warmEvents: 20, bundlesDir })).join('\n'));
  // As deployed (s.yaml's cap), sized for this IMM rate by Little's law (2), and uncapped.
  for (const capSubmit of [true, 2, false]) {
    console.log(`\n${formatBurst(await burstBench({ uploads: BURST_UPLOADS, qps: BURST_QPS, capSubmit })).join('\n')}`);
  }
  await reliability('every OSS event delivered twice, concurrently', { faults: { events: { duplicateRate: 1 } } }, UPLOADS);
  await reliability('IMM throttling 10% + 5xx 5%, OSS 5xx 5%, notices duplicated 20%', {
    faults: { imm: { throttleRate: 0.1, serverErrorRate: 0.05 }, oss: { serverErrorRate: 0.05 }, notices: { duplicateRate: 0.2 } },
  }, UPLOADS);
}

void main();
