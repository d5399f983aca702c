import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobAttempt, TaskResult } from '../../shared/jobs/job';
import { endAttempt, startAttempt } from '../../shared/jobs/lifecycle';
import { newJobRecord, planJob } from '../../shared/jobs/plan';
import type { JobStore } from '../../shared/jobs/store';
import { testConfig, T0 } from './fake-app';

/**
 * The job store's contract: create-only claims have one winner, results are written once, output keys have one
 * owner, the open-jobs index lists in id order with paging. Every adapter runs it (the OSS adapter over a fake
 * bucket in the unit tests and over the local OSS in test/job-store.test.ts; the in-memory adapter), so the
 * adapters cannot drift apart.
 */
const rule = testConfig().rules[0]!;
const job = newJobRecord(planJob({ bucket: 'media', key: 'videos/a.mp4', eTag: 'E', size: 1 }, rule), T0);
const attempt = (number: number): JobAttempt => startAttempt(number, 'event', T0, 60_000, `req-${number}`);
const result = (status: 'Succeeded' | 'Failed'): TaskResult => ({ jobId: job.jobId, taskId: 'Media/Convert+1', status, error: null, outputs: [], recordedAt: 'now' });


export function jobStoreContract(name: string, open: () => Promise<JobStore>): void {
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
      await store.indexTask('Media/Convert+1', { jobId: job.jobId, bucket: 'media' });
      assert.deepEqual(await store.findTask('Media/Convert+1'), { jobId: job.jobId, bucket: 'media' });
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

    it('indexes jobs by creation time, follows their status and frames, newest first, one entry per job', async () => {
      const store = await open();
      const first = { ...job, jobId: 'a'.repeat(32), createdAt: '2026-01-01T00:00:00.000Z' };
      const second = { ...job, jobId: 'b'.repeat(32), key: 'videos/b.mp4', createdAt: '2026-01-02T12:00:00.000Z' };
      await store.indexJob(first);
      await store.indexJob(second);
      await store.indexJob({ ...first, status: 'succeeded', frames: 72 }, first);
      assert.deepEqual(await store.listJobIndex({}), [
        { jobId: second.jobId, rule: 'preview', status: 'pending', createdAt: second.createdAt },
        { jobId: first.jobId, rule: 'preview', status: 'succeeded', frames: 72, createdAt: first.createdAt },
      ]);
      assert.deepEqual((await store.listJobIndex({ since: '2026-01-02T00:00:00.000Z' })).map((e) => e.jobId), [second.jobId]);
      assert.deepEqual((await store.listJobIndex({ since: '2026-01-02T12:00:00.001Z' })).map((e) => e.jobId), []);
      assert.deepEqual(await store.jobsOfSource('videos/a.mp4'), [first.jobId]);
      assert.deepEqual(await store.jobsOfSource('videos/none.mp4'), []);
    });

    it('a stale entry left by a concurrent writer loses to the furthest one', async () => {
      const store = await open();
      await store.indexJob(job);
      await store.indexJob({ ...job, status: 'submitted', frames: 72 }, job);
      // A writer that read the pending view saves failed, removing the (already gone) pending entry.
      await store.indexJob({ ...job, status: 'failed', frames: 72 }, job);
      assert.deepEqual((await store.listJobIndex({})).map((e) => e.status), ['failed']);
    });
  });
}
