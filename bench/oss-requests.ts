import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateSampleVideo } from '@video-animation/local-cloud';
import { loadSpec } from '../deploy/spec';
import { LOCAL_ACCOUNT_ID, startStack } from '../local/stack';
import { benchRules, describeBenchRule } from './rules';
import { longestChain, requestsWithin, startOssRequestLog, type OssRequest } from '../test/helpers/oss-request-log';

export interface FunctionRequests {
  functionName: string;
  requests: OssRequest[];
  /** The longest chain of requests each of which started after the one before it was answered. */
  chain: OssRequest[];
  rounds: number;
}

export interface OssRequestFigures {
  /** The rule measured (bench/rules.ts, not s.yaml's: the counts stay comparable) and how many outputs it makes. */
  rule: string;
  outputs: number;
  functions: FunctionRequests[];
}

/** Where the functions of the bench's stack see the notice: after submit has ended, so every request has one owner. */
const NOTICE_DELAY_MS = 500;

/**
 * One upload (the bench's rule, bench/rules.ts) and its completion notice through the built functions, with a recording proxy between
 * the functions and the local OSS (objects in memory): each function's OSS requests, and its sequential rounds (the
 * longest chain of requests each of which waited for the one before). Each function runs in a fresh instance, so its
 * first invocation's once-per-instance records-bucket check is counted too. `build`: build the bundles first (default:
 * use those in dist/).
 */
async function oneUpload(options: { build?: boolean }): Promise<OssRequestFigures> {
  const dir = await mkdtemp(path.join(tmpdir(), 'video-animation-requests-'));
  const log = await startOssRequestLog();
  const spec = await loadSpec('s.yaml', { AccountID: LOCAL_ACCOUNT_ID });
  const prefix = spec.functions.find((f) => f.ossTriggers.length > 0)!.ossTriggers[0]!.prefix;
  const stack = await startStack({
    dataDir: dir,
    delayScale: 0.01,
    build: options.build ?? false,
    ossStorage: 'memory',
    imm: { conversion: 'fast' },
    faults: { notices: { delayMs: NOTICE_DELAY_MS } },
    functionEnv: { OSS_ENDPOINT: log.endpoint, RULES: JSON.stringify(benchRules(prefix)) },
  });
  log.forwardTo(stack.oss.port);
  try {
    const video = path.join(dir, 'clip.mp4');
    await generateSampleVideo(video, { seconds: 2, width: 320, height: 180, fps: 25 });
    await stack.ossClient().put(`${prefix}bench-requests/clip.mp4`, video);
    await stack.idle();

    const invocations = stack.invocations().filter((i) => i.timerTrigger === undefined);
    const names = invocations.map((i) => i.functionName.replace(/^video-animation-/, ''));
    if (JSON.stringify(names) !== JSON.stringify(['submit', 'record'])) throw new Error(`expected one submit and one record invocation, got: ${names.join(', ')}`);
    const all = log.requests();
    const functions = invocations.map((invocation) => {
      const requests = requestsWithin(all, invocation.startedAt, invocation.endedAt ?? Infinity);
      const chain = longestChain(requests);
      return { functionName: invocation.functionName, requests, chain, rounds: chain.length };
    });
    const owned = functions.reduce((n, f) => n + f.requests.length, 0);
    if (owned !== all.length) throw new Error(`${all.length - owned} of ${all.length} OSS requests came outside the invocations`);
    const client = stack.ossClient();
    const ended = ((await client.listV2({ prefix: '.video-animation/jobs/', 'max-keys': '1000' }, {})).objects ?? []).find((o) => o.name.endsWith('/end.json'));
    if (!ended) throw new Error('the job did not end: the figures would be of a broken run');
    const job = JSON.parse(String((await client.get(ended.name)).content)) as { rule: string; outputs: unknown[] };
    return { rule: job.rule, outputs: job.outputs.length, functions };
  } finally {
    await stack.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The figures of `runs` uploads, each on a fresh stack: the requests must be the same every time; the rounds are the
 * fewest seen, an upper bound (a proxy sees two requests sent together as one after the other when the first is answered before the
 * second arrives, never the reverse, so noise only adds rounds).
 */
export async function ossRequestsBench(options: { build?: boolean; runs?: number } = {}): Promise<OssRequestFigures & { runs: number }> {
  const runs = options.runs ?? 3;
  const first = await oneUpload(options);
  for (let i = 1; i < runs; i++) {
    const next = await oneUpload({});
    next.functions.forEach((f, j) => {
      const seen = first.functions[j]!;
      if (f.requests.length !== seen.requests.length) throw new Error(`${f.functionName}: ${seen.requests.length} OSS requests in run 1, ${f.requests.length} in run ${i + 1}`);
      if (f.rounds < seen.rounds) first.functions[j] = f;
    });
  }
  return { ...first, runs };
}

/** `PUT owners/<hash>.json` and the like: method, the key under the records prefix (hashes shortened), create-only mark, status. */
function describeRequest(request: OssRequest): string {
  const [pathPart, query] = request.url.split('?');
  const key = decodeURIComponent(pathPart!.replace(/^\/[^/]+\/?/, '')).replace(/^\.video-animation\//, '').replace(/[0-9a-f]{32,40}/g, (h) => `${h.slice(0, 6)}…`);
  const what = key === '' ? `?${(query ?? '').split('&')[0]}` : key;
  return `${request.method} ${what}${request.createOnly ? ' (create-only)' : ''} ${request.status ?? '-'}`;
}

export function formatOssRequests(figures: OssRequestFigures & { runs: number }): string[] {
  const total = figures.functions.reduce((n, f) => n + f.requests.length, 0);
  return [
    `OSS requests: one upload (rule ${describeBenchRule()}: ${figures.outputs} outputs, not s.yaml's) and its notice, counted by a proxy in front of the local OSS (memory); rounds: fewest of ${figures.runs} runs`,
    ...figures.functions.flatMap((f) => [
      `  ${f.functionName.replace(/^video-animation-/, '').padEnd(8)} ${String(f.requests.length).padStart(3)} requests  ${String(f.rounds).padStart(2)} sequential rounds`,
      ...f.requests.map((r) => `             ${f.chain.includes(r) ? '*' : ' '} ${describeRequest(r)}`),
    ]),
    `  (* the longest chain of requests that waited for each other: the sequential rounds)`,
    `  total    ${String(total).padStart(3)} requests   goals: <= 20 requests, <= 8 sequential rounds per function`,
  ];
}
