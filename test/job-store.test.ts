import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ossClientOptions, startLocalOss, type LocalOss } from '../local/oss/server';
import { createBucketClient } from '../shared/clients/oss';
import type { JobAttempt, TaskResult } from '../shared/jobs/job';
import { startAttempt, endAttempt } from '../shared/jobs/lifecycle';
import { memoryJobStore } from '../shared/jobs/memory-store';
import { ossJobStore } from '../shared/jobs/oss-store';
import { newJobRecord, planJob } from '../shared/jobs/plan';
import type { JobStore } from '../shared/jobs/store';
import { testConfig, T0 } from './helpers/fake-app';

/**
 * The job store's contract, run against the OSS adapter (through ali-oss against the local OSS) and the in-memory
 * adapter the unit tests use, so the two cannot drift apart: create-only claims have one winner, results are written
 * once, output keys have one owner, the open-jobs index lists in id order with paging.
 */
const KEY = { accessKeyId: 'LTAIstorecontract', accessKeySecret: 'store-contract-secret' };
const BUCKET = 'media';
const PREFIX = '.video-animation/';

let dir: string;
let oss: LocalOss;
let counter = 0;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'job-store-'));
  oss = await startLocalOss({ dataDir: dir, region: 'cn-hangzhou', accountId: '1', buckets: [BUCKET], credentials: [KEY] });
});
after(async () => {
  await oss.close();
  await rm(dir, { recursive: true, force: true });
});

const adapters: [string, () => Promise<JobStore>][] = [
  ['memory', async () => memoryJobStore()],
  [
    'oss',
    async () => {
      const options = ossClientOptions(oss, BUCKET, KEY, { v4: false });
      const bucket = await createBucketClient({ bucket: BUCKET, region: 'cn-hangzhou', credentials: KEY, endpoint: { protocol: 'http', host: new URL(options.endpoint as string).host } });
      // Each test gets its own records prefix, so tests do not see each other's objects.
      return ossJobStore(bucket, `${PREFIX}${++counter}/`);
    },
  ],
];

const rule = testConfig().rules[0]!;
const job = newJobRecord(planJob({ bucket: BUCKET, key: 'videos/a.mp4', eTag: 'E', size: 1 }, rule), T0);
const attempt = (number: number): JobAttempt => startAttempt(number, 'event', T0, 60_000, `req-${number}`);
const result = (status: 'Succeeded' | 'Failed'): TaskResult => ({ jobId: job.jobId, taskId: 'Media/Convert+1', status, error: null, outputs: [], recordedAt: 'now' });

for (const [name, open] of adapters) {
  describe(`job store contract: ${name}`, () => {
    it('creates a job once and saves views over it', async () => {
      const store = await open();
      assert.equal(await store.createJob(job), 'created');
      assert.equal(await store.createJob({ ...job, status: 'failed' }), 'exists');
      assert.equal((await store.getJob(job.jobId))?.status, 'pending');
      await store.saveJob({ ...job, status: 'submitted' });
      assert.equal((await store.getJob(job.jobId))?.status, 'submitted');
      assert.equal(await store.getJob('f'.repeat(32)), undefined);
    });

    it('gives each attempt number to one claimer, lets it record the end, and lists attempts by number', async () => {
      const store = await open();
      const claims = await Promise.all([1, 2, 3].map(() => store.claimAttempt(job.jobId, attempt(1))));
      assert.deepEqual(claims.filter(Boolean).length, 1);
      for (const n of [10, 2]) assert.ok(await store.claimAttempt(job.jobId, attempt(n)));
      await store.saveAttempt(job.jobId, endAttempt(attempt(2), 'submitted', T0 + 1, { tasks: [{ taskId: 't', outputs: ['x'] }] }));
      const listed = await store.listAttempts(job.jobId);
      assert.deepEqual(listed.map((a) => [a.number, a.outcome ?? null]), [[1, null], [2, 'submitted'], [10, null]]);
      assert.deepEqual(listed[1]!.tasks, [{ taskId: 't', outputs: ['x'] }]);
    });

    it('writes a task result once and answers the first to a later writer', async () => {
      const store = await open();
      assert.equal((await store.putTaskResult(result('Succeeded'))).status, 'Succeeded');
      assert.equal((await store.putTaskResult(result('Failed'))).status, 'Succeeded');
      assert.equal((await store.getTaskResult(job.jobId, 'Media/Convert+1'))?.status, 'Succeeded');
      assert.equal(await store.getTaskResult(job.jobId, 'other'), undefined);
    });

    it('indexes tasks to jobs', async () => {
      const store = await open();
      await store.indexTask('Media/Convert+1', { jobId: job.jobId, bucket: BUCKET });
      assert.deepEqual(await store.findTask('Media/Convert+1'), { jobId: job.jobId, bucket: BUCKET });
      assert.equal(await store.findTask('nope'), undefined);
    });

    it('gives an output key to the first source that claims it', async () => {
      const store = await open();
      const owner = (sourceKey: string) => ({ outputKey: 'animations/clip.gif', sourceKey, jobId: job.jobId, claimedAt: 'now' });
      const winners = await Promise.all(['videos/clip.avi', 'videos/clip.webm'].map((s) => store.claimOutput(owner(s))));
      assert.equal(winners[0]!.sourceKey, winners[1]!.sourceKey);
      assert.equal((await store.claimOutput(owner('videos/other.mp4'))).sourceKey, winners[0]!.sourceKey);
    });

    it('lists open jobs in id order, a page at a time, and forgets closed ones; keeps a cursor', async () => {
      const store = await open();
      for (const id of ['c', 'a', 'b', 'd']) await store.markOpen(id);
      await store.markOpen('a');
      await store.markClosed('d');
      assert.deepEqual(await store.listOpen({ limit: 2 }), { jobIds: ['a', 'b'], more: true });
      assert.deepEqual(await store.listOpen({ after: 'b', limit: 2 }), { jobIds: ['c'], more: false });
      assert.equal(await store.reconcileCursor(), undefined);
      await store.saveReconcileCursor('b');
      assert.equal(await store.reconcileCursor(), 'b');
      await store.saveReconcileCursor(undefined);
      assert.equal(await store.reconcileCursor(), undefined);
    });
  });
}
