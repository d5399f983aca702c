import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endAttempt, startAttempt } from '../../shared/jobs/attempt';
import { newJobIdentity, planJob } from '../../shared/jobs/plan';
import { memoryJobStore } from '../helpers/memory-store';
import { ossJobStore } from '../../shared/jobs/stores/oss';
import { jobIndexName, latestIndexEntries, parseJobIndexName } from '../../shared/jobs/store';
import { fakeBucket, T0, testConfig } from '../helpers/fake-app';

const identity = newJobIdentity(planJob({ bucket: 'media', key: 'videos/a.mp4', eTag: 'E', size: 1 }, testConfig().rules[0]!), T0);
import { jobStoreContract } from '../helpers/store-contract';

jobStoreContract('in-memory adapter', async () => memoryJobStore());
jobStoreContract('oss adapter on a fake bucket', async () => ossJobStore(fakeBucket(), '.video-animation/'));

describe('oss adapter layout', () => {
  it('keeps every object under the records prefix, a job\'s facts in its own folder, where the README says', async () => {
    const bucket = fakeBucket();
    const store = ossJobStore(bucket, 'records/');
    await store.createJob({ ...identity, jobId: 'j1' });
    await store.claimAttempt('j1', startAttempt(7, 'event', T0, 1000));
    await store.putTaskResult({ jobId: 'j1', taskId: 'a/b', status: 'Succeeded', error: null, outputs: [], recordedAt: 'now' });
    await store.linkRetry('j1', 'j2');
    await store.indexTask('a/b', { jobId: 'j1', bucket: 'media' });
    await store.claimOutput({ outputKey: 'animations/x.gif', sourceKey: 'videos/x.mp4', jobId: 'j1', claimedAt: 'now' });
    await store.markOpen('j1');
    await store.indexJob({ jobId: 'j1', rule: 'preview', status: 'pending', createdAt: '2026-01-01T00:00:00.000Z' });
    await store.indexSource('videos/x.mp4', 'j1');
    await store.saveReconcileCursor('j0');
    assert.deepEqual([...bucket.objects.keys()].sort(), [
      'records/index/2026-01-01/1767225600000~j1~pending~~preview',
      'records/jobs/j1/attempt-0007.json',
      'records/jobs/j1/job.json',
      'records/jobs/j1/result-a%2Fb.json',
      'records/jobs/j1/retry-j2',
      'records/open/j1',
      'records/owners/2521e4db3d51d2f3c11696565e6e51dd6f49c18d.json',
      'records/reconcile-cursor.json',
      `records/sources/${createHash('sha256').update('videos/x.mp4').digest('hex').slice(0, 40)}/j1`,
      'records/tasks/a%2Fb.json',
    ].sort());
    assert.equal(bucket.objects.get('records/open/j1'), '');
  });

  it('loads a job with more than a page of attempts, in number order', async () => {
    const store = ossJobStore(fakeBucket(), 'r/');
    await store.createJob({ ...identity, jobId: 'j' });
    for (let n = 1; n <= 1030; n++) await store.claimAttempt('j', n === 3 ? endAttempt(startAttempt(n, 'event', T0, 1), 'failed', T0) : startAttempt(n, 'event', T0, 1));
    const attempts = (await store.loadJob('j'))!.attempts;
    assert.equal(attempts.length, 1030);
    assert.deepEqual(attempts.slice(0, 4).map((a) => a.number), [1, 2, 3, 4]);
    assert.equal(attempts[2]!.outcome, 'failed');
    assert.equal(attempts.at(-1)!.number, 1030);
  });

  it('refuses a stored object that does not parse (never trusts what it reads)', async () => {
    const bucket = fakeBucket();
    bucket.objects.set('r/jobs/j/job.json', '{"jobId":"j"}');
    await assert.rejects(ossJobStore(bucket, 'r/').loadJob('j'));
  });

  it('reads schemaVersion 2 records: a terminal one as the job, a running one with its claims and results', async () => {
    const bucket = fakeBucket();
    const store = ossJobStore(bucket, 'r/');
    const v2 = {
      ...identity,
      schemaVersion: 2,
      jobId: 'old',
      status: 'submitted',
      outputs: [{ ...identity.outputs[0]!, taskId: 't1' }],
      attempts: [endAttempt(startAttempt(1, 'event', T0, 1), 'submitted', T0, { tasks: [{ taskId: 't1', outputs: [identity.outputs[0]!.key] }] })],
      updatedAt: 'x',
      error: null,
    };
    bucket.objects.set('r/jobs/old.json', JSON.stringify(v2));
    bucket.objects.set('r/claims/old/attempt-0001.json', JSON.stringify(v2.attempts[0]));
    bucket.objects.set('r/results/old/t1.json', JSON.stringify({ jobId: 'old', taskId: 't1', status: 'Succeeded', error: null, outputs: [{ key: identity.outputs[0]!.key, tagged: true }], recordedAt: 'y' }));
    const running = (await store.loadJob('old'))!;
    assert.equal(running.ended, undefined);
    assert.equal(running.job.key, identity.key);
    assert.deepEqual(running.attempts.map((a) => a.number), [1]);
    assert.deepEqual([...running.results.keys()], ['t1']);
    // A new attempt of an old job lands in the new layout and is read with the old facts.
    await store.claimAttempt('old', startAttempt(2, 'takeover', T0, 1));
    assert.deepEqual((await store.loadJob('old'))!.attempts.map((a) => a.number), [1, 2]);

    bucket.objects.set('r/jobs/done.json', JSON.stringify({ ...v2, jobId: 'done', status: 'succeeded', retriedBy: ['n'] }));
    const done = (await store.loadJob('done'))!;
    assert.equal(done.ended?.status, 'succeeded');
    assert.equal(done.ended?.schemaVersion, 2);
    assert.deepEqual(done.retriedBy, ['n']);
  });
});

describe('job index names', () => {
  const entry = { jobId: 'f'.repeat(32), rule: 'pre_view-2', status: 'succeeded' as const, frames: 72, createdAt: '2026-03-04T05:06:07.089Z' };

  it('round-trip through the object name', () => {
    const name = jobIndexName(entry);
    assert.equal(name, `1772600767089~${'f'.repeat(32)}~succeeded~72~pre_view-2`);
    assert.deepEqual(parseJobIndexName(name), entry);
    const { frames: _f, ...unplanned } = entry;
    assert.equal(jobIndexName(unplanned), `1772600767089~${'f'.repeat(32)}~succeeded~~pre_view-2`);
    assert.deepEqual(parseJobIndexName(jobIndexName(unplanned)), unplanned);
  });

  it('refuses names that are not index entries', () => {
    for (const name of ['', 'x~y', `177260076708~j~succeeded~1~r`, `1772600767089~j~done~1~r`, `1772600767089~j~failed~x~r`, `1772600767089~j~failed~1~r~extra`, `1772600767089~~failed~1~r`, `1772600767089~j~failed~1~`]) {
      assert.equal(parseJobIndexName(name), undefined, name);
    }
  });

  it('keeps the furthest entry per job: terminal over submitted over pending, then more frames', () => {
    const at = (status: 'pending' | 'submitted' | 'succeeded', frames?: number) => ({ ...entry, status, ...(frames !== undefined ? { frames } : { frames: undefined }) });
    assert.equal(latestIndexEntries([at('pending'), at('succeeded', 1), at('submitted', 5)])[0]?.status, 'succeeded');
    assert.equal(latestIndexEntries([at('submitted', 5), at('submitted', 9), at('submitted', 7)])[0]?.frames, 9);
    const other = { ...entry, jobId: 'e'.repeat(32), createdAt: '2026-03-05T00:00:00.000Z' };
    assert.deepEqual(latestIndexEntries([entry, other]).map((e) => e.jobId), [other.jobId, entry.jobId], 'newest first');
  });
});
