import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endAttempt, startAttempt, type JobAttempt } from '../../shared/jobs/attempt';
import { deriveJob } from '../../shared/jobs/derive';
import type { TaskResult } from '../../shared/jobs/job';
import { newJobIdentity, planJob } from '../../shared/jobs/plan';
import type { JobStore } from '../../shared/jobs/store';
import { DEFAULT_POLICY } from '../../shared/wiring/config';
import { testConfig, T0 } from './fake-app';

/**
 * The job store's contract: create-only identities, claims, results and terminal records have one winner each, an
 * attempt's owner records its outcome, output keys have one owner, the open-jobs index lists in id order with
 * paging, the job index keeps the furthest entry of each job. Every adapter runs it (the OSS adapter over a fake
 * bucket in the unit tests and over the local OSS in test/job-store.test.ts; the in-memory test double), so they
 * cannot drift apart.
 */
const rule = testConfig().rules[0]!;
const job = newJobIdentity(planJob({ bucket: 'media', key: 'videos/a.mp4', eTag: 'E', size: 1 }, rule), T0);
const attempt = (number: number): JobAttempt => startAttempt(number, 'event', T0, 60_000, `req-${number}`);
const result = (status: 'Succeeded' | 'Failed', taskId = 'Media/Convert+1'): TaskResult => ({ jobId: job.jobId, taskId, status, error: null, outputs: [], recordedAt: 'now' });
const entry = (overrides: Partial<{ jobId: string; status: 'pending' | 'submitted' | 'succeeded' | 'failed'; frames: number; createdAt: string }>) => ({
  jobId: job.jobId,
  rule: 'preview',
  status: 'pending' as const,
  createdAt: job.createdAt,
  ...overrides,
});

export function jobStoreContract(name: string, open: () => Promise<JobStore>): void {
  describe(`job store contract: ${name}`, () => {
    it('creates a job once and loads its facts; an unknown job has none', async () => {
      const store = await open();
      assert.equal(await store.loadJob(job.jobId), undefined);
      assert.equal(await store.createJob(job), 'created');
      assert.equal(await store.createJob({ ...job, key: 'other' }), 'exists');
      const facts = await store.loadJob(job.jobId);
      assert.deepEqual(facts?.job, job);
      assert.deepEqual(facts?.attempts, []);
      assert.equal(facts?.results.size, 0);
      assert.deepEqual(facts?.retriedBy, []);
      assert.equal(facts?.ended, undefined);
    });

    it('gives each attempt number to one claimer, lets it record the end, and loads attempts by number', async () => {
      const store = await open();
      await store.createJob(job);
      const claims = await Promise.all([1, 2, 3].map(() => store.claimAttempt(job.jobId, attempt(1))));
      assert.deepEqual(claims.filter(Boolean).length, 1);
      for (const n of [10, 2]) assert.ok(await store.claimAttempt(job.jobId, attempt(n)));
      await store.saveAttempt(job.jobId, endAttempt(attempt(2), 'submitted', T0 + 1, { tasks: [{ taskId: 't', outputs: ['x'] }] }));
      const listed = (await store.loadJob(job.jobId))!.attempts;
      assert.deepEqual(listed.map((a) => [a.number, a.outcome ?? null]), [[1, null], [2, 'submitted'], [10, null]]);
      assert.deepEqual(listed[1]!.tasks, [{ taskId: 't', outputs: ['x'] }]);
    });

    it('writes a task result once and answers the first to a later writer', async () => {
      const store = await open();
      await store.createJob(job);
      assert.equal((await store.putTaskResult(result('Succeeded'))).status, 'Succeeded');
      assert.equal((await store.putTaskResult(result('Failed'))).status, 'Succeeded');
      await store.putTaskResult(result('Failed', 'other'));
      const results = (await store.loadJob(job.jobId))!.results;
      assert.deepEqual([...results.keys()].sort(), ['Media/Convert+1', 'other']);
      assert.equal(results.get('Media/Convert+1')?.status, 'Succeeded');
    });

    it('writes the terminal record once: the first stands, and the job loads as it', async () => {
      const store = await open();
      await store.createJob(job);
      await store.claimAttempt(job.jobId, attempt(1));
      const view = deriveJob({ job, attempts: [endAttempt(attempt(1), 'failed', T0 + 5, { error: { code: 'X', message: 'x' } })], results: new Map(), retriedBy: [] }, DEFAULT_POLICY);
      assert.equal(view.status, 'failed');
      assert.deepEqual(await store.endJob(view), { written: true, record: view });
      const second = await store.endJob({ ...view, status: 'succeeded', error: null });
      assert.equal(second.written, false);
      assert.equal(second.record.status, 'failed');
      const facts = await store.loadJob(job.jobId);
      assert.equal(facts?.ended?.status, 'failed');
      assert.deepEqual(facts?.job, job);
    });

    it('links a failed job to its re-runs, once each', async () => {
      const store = await open();
      await store.createJob(job);
      await store.linkRetry(job.jobId, 'b'.repeat(32));
      await store.linkRetry(job.jobId, 'b'.repeat(32));
      await store.linkRetry(job.jobId, 'c'.repeat(32));
      assert.deepEqual((await store.loadJob(job.jobId))!.retriedBy.sort(), ['b'.repeat(32), 'c'.repeat(32)]);
    });

    it('indexes tasks to jobs', async () => {
      const store = await open();
      await store.indexTask('Media/Convert+1', { jobId: job.jobId, bucket: 'media', outputs: ['a.gif'] });
      assert.deepEqual(await store.findTask('Media/Convert+1'), { jobId: job.jobId, bucket: 'media', outputs: ['a.gif'] });
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

    it('indexes jobs by creation time, one entry per state reached, newest first, the furthest per job', async () => {
      const store = await open();
      const first = entry({ jobId: 'a'.repeat(32), createdAt: '2026-01-01T00:00:00.000Z' });
      const second = entry({ jobId: 'b'.repeat(32), createdAt: '2026-01-02T12:00:00.000Z' });
      await store.indexJob(first);
      await store.indexJob(second);
      await store.indexJob({ ...first, status: 'submitted', frames: 72 });
      await store.indexJob({ ...first, status: 'succeeded', frames: 70 });
      await store.indexJob({ ...first, status: 'succeeded', frames: 70 });
      await store.indexSource('videos/a.mp4', first.jobId);
      assert.deepEqual(await store.listJobIndex({}), [
        { jobId: second.jobId, rule: 'preview', status: 'pending', createdAt: second.createdAt },
        { jobId: first.jobId, rule: 'preview', status: 'succeeded', frames: 70, createdAt: first.createdAt },
      ]);
      assert.deepEqual((await store.listJobIndex({ since: '2026-01-02T00:00:00.000Z' })).map((e) => e.jobId), [second.jobId]);
      assert.deepEqual((await store.listJobIndex({ since: '2026-01-02T12:00:00.001Z' })).map((e) => e.jobId), []);
      assert.deepEqual(await store.jobsOfSource('videos/a.mp4'), [first.jobId]);
      assert.deepEqual(await store.jobsOfSource('videos/none.mp4'), []);
    });
  });
}
