import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import OSS from 'ali-oss';
import { ossClientOptions, startLocalOss, type LocalOss } from '../local/oss/server';
import { createBucketClient, type BucketApi } from '../shared/clients/oss';
import type { AppConfig } from '../shared/config';
import type { ConversionEngine } from '../shared/engines/engine';
import { TransientFailure } from '../shared/errors';
import { ossJobStore } from '../shared/jobs/store';
import { createLogger } from '../shared/log';
import { jobIdFor } from '../shared/plan';
import { parseRuleSet } from '../shared/rules/validate';
import { submitUploads, type SubmitDeps } from '../shared/submit';

/**
 * The submit state machine against a real (local) OSS: create-only records, leases, attempt claims. The engine port
 * only counts submissions, since which tasks get started is exactly what these tests check.
 */
const KEY = { accessKeyId: 'LTAItakeover', accessKeySecret: 'takeover-secret' };
const BUCKET = 'media';
const PREFIX = '.video-animation/';
const SOURCE = 'videos/clip.mp4';
const LEASE_MS = 60_000;

let dir: string;
let oss: LocalOss;
let bucket: BucketApi;
let raw: OSS;
let eTag: string;
let submissions: number;

const config: AppConfig = {
  region: 'cn-hangzhou',
  mnsTopic: 'done',
  recordsPrefix: PREFIX,
  immProject: 'p',
  rules: parseRuleSet([{ name: 'preview', prefix: 'videos/', outputs: [{ format: 'gif', key: 'animations/{barename}' }] }], { recordsPrefix: PREFIX }),
};

const engine: ConversionEngine = {
  async submit(plan) {
    submissions++;
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { outputTaskIds: plan.outputs.map(() => `task-${submissions}`) };
  },
};

function deps(budgetMs = 5_000): SubmitDeps {
  return {
    config,
    log: createLogger({}, () => undefined),
    requestId: 'req',
    now: () => Date.now(),
    leaseMs: LEASE_MS,
    deadline: Date.now() + budgetMs,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    bucket: async () => bucket,
    store: (b) => ossJobStore(b, PREFIX),
    engine: async () => engine,
    retry: (_service, operation) => operation(),
  };
}

const event = () => ({
  events: [{ eventName: 'ObjectCreated:PutObject', eventSource: 'acs:oss' as const, eventTime: new Date().toISOString(), oss: { bucket: { name: BUCKET }, object: { key: SOURCE, eTag, size: 5 } } }],
});
const jobId = () => jobIdFor({ bucket: BUCKET, key: SOURCE, eTag, size: 5 }, 'preview');
const iso = (ms: number) => new Date(ms).toISOString();

/** A job whose only attempt started long ago and never finished (its invocation crashed). */
async function writeCrashedJob() {
  const started = Date.now() - 2 * LEASE_MS;
  const record = {
    schemaVersion: 1, jobId: jobId(), bucket: BUCKET, key: SOURCE, eTag, size: 5, rule: 'preview', engine: 'imm', status: 'pending', taskId: null,
    outputs: [{ key: 'animations/clip.gif', format: 'gif', maxFrames: 300 }],
    attempts: [{ number: 1, startedAt: iso(started), requestId: 'crashed', leaseExpiresAt: iso(started + LEASE_MS) }],
    createdAt: iso(started), updatedAt: iso(started), error: null,
  };
  await raw.put(`${PREFIX}jobs/${jobId()}.json`, Buffer.from(JSON.stringify(record)));
}

async function writeClaim(number: number, claimedAt: number) {
  await raw.put(`${PREFIX}claims/${jobId()}/attempt-${number}.json`, Buffer.from(JSON.stringify({ jobId: jobId(), attempt: number, claimedAt: iso(claimedAt) })));
}

async function readJob() {
  return JSON.parse(((await raw.get(`${PREFIX}jobs/${jobId()}.json`)).content as Buffer).toString('utf8')) as { status: string; attempts: { number: number; outcome?: string }[] };
}

describe('submit state machine on OSS', () => {
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'takeover-'));
    oss = await startLocalOss({ dataDir: dir, region: 'cn-hangzhou', accountId: '1', buckets: [BUCKET], credentials: [KEY] });
    bucket = await createBucketClient({ bucket: BUCKET, region: 'cn-hangzhou', credentials: KEY, endpoint: { protocol: 'http', host: `127.0.0.1:${oss.port}` } });
    raw = new OSS(ossClientOptions(oss, BUCKET, KEY));
  });
  after(async () => {
    await oss?.close();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    // A new object version per test: a new job id.
    eTag = ((await raw.put(SOURCE, Buffer.from(`video ${Math.random()}`))).res.headers as Record<string, string>)['etag']!.replace(/"/g, '');
    submissions = 0;
  });

  it('submits once when the same event arrives five times at once', async () => {
    const outcomes = await Promise.all([1, 2, 3, 4, 5].map(() => submitUploads(event(), deps())));
    assert.equal(submissions, 1);
    assert.deepEqual(outcomes.flat().map((o) => o.status).sort(), ['duplicate', 'duplicate', 'duplicate', 'duplicate', 'submitted']);
  });

  it('takes over a job whose attempt crashed once its lease has lapsed', async () => {
    await writeCrashedJob();
    const [outcome] = await submitUploads(event(), deps());
    assert.equal(outcome?.status, 'submitted');
    assert.equal(submissions, 1);
    assert.deepEqual((await readJob()).attempts.map((a) => [a.number, a.outcome]), [[1, undefined], [2, 'submitted']]);
  });

  it('skips an abandoned claim (claimed a lease ago, never saved) and claims the next attempt', async () => {
    await writeCrashedJob();
    await writeClaim(2, Date.now() - 2 * LEASE_MS);
    await submitUploads(event(), deps());
    assert.equal(submissions, 1);
    assert.deepEqual((await readJob()).attempts.map((a) => a.number), [1, 3]);
  });

  it('leaves a freshly claimed attempt to its owner and asks FC to retry later', async () => {
    await writeCrashedJob();
    await writeClaim(2, Date.now());
    await assert.rejects(submitUploads(event(), deps(1_500)), TransientFailure);
    assert.equal(submissions, 0);
    assert.equal((await readJob()).status, 'pending');
  });
});
