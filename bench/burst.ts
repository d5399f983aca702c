import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listJobRecords } from '../local/inspect';
import { generateSampleVideo } from '@video-animation/local-cloud';
import { startStack } from '../local/stack';
import { DEFAULT_RECORDS_PREFIX } from '../shared/wiring/config';
import { matchRules } from '../shared/rules/match';
import { parseRuleSet } from '../shared/rules/validate';

/**
 * A burst of uploads against an IMM with a rate limit: how fast the pipeline drains it, how many IMM calls it
 * spends (and has throttled) per upload, and whether every upload still gets exactly one task per matching rule and
 * a finished job record. The local IMM runs in its fast conversion mode (small valid animations, no ffmpeg), so the
 * figures are about the functions, FC's queue and the IMM rate limit, not about video encoding.
 */
export interface BurstOptions {
  uploads: number;
  /** The IMM rate limit (FAULT_IMM_QPS): API calls per second, every action together. */
  qps: number;
  /**
   * The submit function's reserved concurrency: true (default) keeps s.yaml's `concurrencyConfig`, false runs it
   * uncapped, a number caps it at that.
   */
  capSubmit?: boolean | number;
  /** Uploads in flight at once from the uploading client (default 32). */
  uploadConcurrency?: number;
  /** s.yaml to run (default the project's). */
  specFile?: string;
}

export interface BurstResult {
  uploads: number;
  /** The IMM rate limit, calls per second. */
  immQps: number;
  /** The submit function's reserved concurrency in this run; null: uncapped. */
  submitCap: number | null;
  /** Rules that match every upload of the burst. */
  matchingRules: number;
  /** From the first upload to the stack being idle (records written, notices handled). */
  seconds: number;
  uploadsPerSecond: number;
  /** IMM calls IMM accepted, per second of the run: how close the run came to the limit. */
  immAcceptedPerSecond: number;
  imm: {
    /** Per action: calls made and calls answered Throttling.User. */
    calls: Record<string, { calls: number; throttled: number }>;
    total: number;
    throttled: number;
    totalPerUpload: number;
    throttledPerUpload: number;
    /** Accepted calls per upload: the `k` of the sizing rule. */
    acceptedPerUpload: number;
    /** ffprobe runs of the local IMM (cached per ETag in the fast mode: 1-2 for a burst of one clip). */
    probes: number;
  };
  tasks: {
    total: number;
    perUpload: number;
    /** Tasks per rule (tag `Rule`). */
    perRule: Record<string, number>;
    /** (upload, rule) pairs with more than one task, and with none. */
    duplicated: number;
    missing: number;
  };
  submit: {
    /** Invocations (attempts) of submit for the burst. */
    invocations: number;
    /** Attempts beyond the first (FC's async retries after an error). */
    retries: number;
    /** The most submit invocations that ran at once. */
    maxRunning: number;
    /** Handler time of a successful invocation (the `t` of the sizing rule), ms: median and 90th percentile. */
    medianMs: number;
    p90Ms: number;
    /** How long invocations waited in FC's async queue for a slot, ms: the longest. */
    maxQueuedMs: number;
  };
  records: { total: number; succeeded: number; failed: number; unfinished: number; lost: number };
  /** Events handed to the onFailure destination (stack.failures()). */
  onFailure: number;
  /** Little's law on this run's own figures: IMM qps × t / k, the concurrency that keeps submit just under the limit. */
  suggestedConcurrency: number;
}

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
};

/** Runs `items` through `work`, `limit` at a time. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/** Starts a local stack over the built bundles (dist/: build first), uploads the burst, waits for idle, measures. */
export async function burstBench(options: BurstOptions): Promise<BurstResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'video-animation-burst-'));
  const cap = options.capSubmit ?? true;
  const stack = await startStack({
    dataDir: path.join(dir, 'stack'),
    ossStorage: 'memory',
    ...(options.specFile ? { specFile: options.specFile } : {}),
    build: false,
    delayScale: 0.01,
    imm: { conversion: 'fast' },
    faults: { imm: { qps: options.qps } },
    ...(cap === true ? {} : { reservedConcurrency: { submit: cap === false ? null : cap } }),
  });
  try {
    const submitSpec = stack.spec.functions.find((f) => f.resource === 'submit');
    const submit = submitSpec && stack.functions.get(submitSpec.functionName);
    if (!submitSpec || !submit) throw new Error('s.yaml has no submit function');
    const prefix = `${submitSpec.ossTriggers[0]!.prefix}burst/`;
    const recordsPrefix = submitSpec.env['RECORDS_PREFIX'] ?? DEFAULT_RECORDS_PREFIX;
    // The rules as the functions run them; every upload of the burst has the same kind of key.
    const rules = matchRules(parseRuleSet(stack.spec.rules, { recordsPrefix }, 's.yaml vars.rules'), `${prefix}0.mp4`);

    const clip = path.join(dir, 'clip.mp4');
    await generateSampleVideo(clip, { seconds: 1, width: 320, height: 180, fps: 25 });
    const client = stack.ossClient();
    const keys = Array.from({ length: options.uploads }, (_, i) => `${prefix}${i}.mp4`);

    const started = Date.now();
    await pool(keys, options.uploadConcurrency ?? 32, (key) => client.put(key, clip));
    await stack.idle();
    const seconds = (Date.now() - started) / 1000;

    const calls = stack.imm.apiCalls();
    const total = Object.values(calls).reduce((sum, c) => sum + c.calls, 0);
    const throttled = stack.imm.throttledCalls();

    const ours = new Set(keys);
    const tasks = stack.imm.tasks().filter((t) => {
      const uri = (t.requestedSources[0] as { URI?: string } | undefined)?.URI ?? '';
      return ours.has(uri.replace(/^oss:\/\/[^/]+\//, ''));
    });
    const perPair = new Map<string, number>();
    const perRule: Record<string, number> = {};
    for (const task of tasks) {
      const key = ((task.requestedSources[0] as { URI: string }).URI ?? '').replace(/^oss:\/\/[^/]+\//, '');
      const rule = String(task.tags?.['Rule'] ?? '?');
      perRule[rule] = (perRule[rule] ?? 0) + 1;
      perPair.set(`${key}\n${rule}`, (perPair.get(`${key}\n${rule}`) ?? 0) + 1);
    }
    const expectedPairs = keys.flatMap((key) => rules.map((rule) => `${key}\n${rule.name}`));

    const invocations = submit.invocations.filter((i) => i.timerTrigger === undefined);
    const handlerMs = invocations.filter((i) => i.ok && i.endedAt !== undefined).map((i) => i.endedAt! - i.startedAt);
    const medianMs = percentile(handlerMs, 0.5);

    const records = (await listJobRecords(client, recordsPrefix)).filter((r) => ours.has(r.key));
    const succeeded = records.filter((r) => r.status === 'succeeded').length;
    const failed = records.filter((r) => r.status === 'failed').length;
    const accepted = total - throttled;
    const acceptedPerUpload = accepted / options.uploads;

    return {
      uploads: options.uploads,
      immQps: options.qps,
      submitCap: submit.concurrency().limit ?? null,
      matchingRules: rules.length,
      seconds,
      uploadsPerSecond: options.uploads / seconds,
      immAcceptedPerSecond: accepted / seconds,
      imm: {
        calls,
        total,
        throttled,
        totalPerUpload: total / options.uploads,
        throttledPerUpload: throttled / options.uploads,
        acceptedPerUpload,
        probes: stack.imm.probes(),
      },
      tasks: {
        total: tasks.length,
        perUpload: tasks.length / options.uploads,
        perRule,
        duplicated: [...perPair.values()].filter((n) => n > 1).length,
        missing: expectedPairs.filter((pair) => !perPair.has(pair)).length,
      },
      submit: {
        invocations: invocations.length,
        retries: invocations.filter((i) => i.attempt > 1).length,
        maxRunning: submit.concurrency().maxRunning,
        medianMs,
        p90Ms: percentile(handlerMs, 0.9),
        maxQueuedMs: Math.max(0, ...invocations.filter((i) => i.queuedAt !== undefined).map((i) => i.startedAt - i.queuedAt!)),
      },
      records: {
        total: records.length,
        succeeded,
        failed,
        unfinished: records.length - succeeded - failed,
        lost: expectedPairs.length - records.length,
      },
      onFailure: stack.failures().length,
      suggestedConcurrency: acceptedPerUpload > 0 ? (options.qps * (medianMs / 1000)) / acceptedPerUpload : 0,
    };
  } finally {
    await stack.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The result as lines for a terminal or the README. */
export function formatBurst(result: BurstResult): string[] {
  const actions = Object.entries(result.imm.calls)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([action, c]) => `${action} ${c.calls}${c.throttled ? ` (${c.throttled} throttled)` : ''}`)
    .join(', ');
  const rules = Object.entries(result.tasks.perRule)
    .map(([rule, n]) => `${rule} ${n}`)
    .join(', ');
  return [
    `burst of ${result.uploads} uploads, IMM limited to ${result.immQps} calls/s, submit ${result.submitCap === null ? 'uncapped' : `reservedConcurrency ${result.submitCap}`}`,
    `  drained in ${result.seconds.toFixed(1)} s: ${result.uploadsPerSecond.toFixed(1)} uploads/s, IMM accepted ${result.immAcceptedPerSecond.toFixed(1)} calls/s`,
    `  IMM calls per upload ${result.imm.totalPerUpload.toFixed(2)} (accepted ${result.imm.acceptedPerUpload.toFixed(2)}, throttled ${result.imm.throttledPerUpload.toFixed(2)}): ${actions}`,
    `  IMM tasks ${result.tasks.total} (${result.tasks.perUpload.toFixed(2)} per upload; per rule: ${rules || 'none'}; ${result.matchingRules} matching rule(s)), duplicated ${result.tasks.duplicated}, missing ${result.tasks.missing}`,
    `  submit: ${result.submit.invocations} invocations (${result.submit.retries} retries), at most ${result.submit.maxRunning} at once, handler median ${result.submit.medianMs.toFixed(0)} ms (p90 ${result.submit.p90Ms.toFixed(0)}), queued up to ${(result.submit.maxQueuedMs / 1000).toFixed(1)} s`,
    `  records ${result.records.total}: succeeded ${result.records.succeeded}, failed ${result.records.failed}, unfinished ${result.records.unfinished}, lost ${result.records.lost}; onFailure ${result.onFailure}`,
    `  Little's law: qps ${result.immQps} x t ${(result.submit.medianMs / 1000).toFixed(2)} s / k ${result.imm.acceptedPerUpload.toFixed(2)} calls = concurrency ${result.suggestedConcurrency.toFixed(1)}`,
  ];
}
