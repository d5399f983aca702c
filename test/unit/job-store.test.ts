import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endAttempt, startAttempt } from '../../shared/jobs/lifecycle';
import { memoryJobStore } from '../../shared/jobs/memory-store';
import { ossJobStore } from '../../shared/jobs/oss-store';
import { jobIndexName, latestIndexEntries, parseJobIndexName } from '../../shared/jobs/store';
import { fakeBucket, T0 } from '../helpers/fake-app';
import { jobStoreContract } from '../helpers/store-contract';

jobStoreContract('in-memory adapter', async () => memoryJobStore());
jobStoreContract('oss adapter on a fake bucket', async () => ossJobStore(fakeBucket(), '.video-animation/'));

describe('oss adapter layout', () => {
  it('keeps every object under the records prefix, where the README says', async () => {
    const bucket = fakeBucket();
    const store = ossJobStore(bucket, 'records/');
    await store.claimAttempt('j1', startAttempt(7, 'event', T0, 1000));
    await store.putTaskResult({ jobId: 'j1', taskId: 'a/b', status: 'Succeeded', error: null, outputs: [], recordedAt: 'now' });
    await store.indexTask('a/b', { jobId: 'j1', bucket: 'media' });
    await store.claimOutput({ outputKey: 'animations/x.gif', sourceKey: 'videos/x.mp4', jobId: 'j1', claimedAt: 'now' });
    await store.markOpen('j1');
    await store.saveReconcileCursor('j0');
    assert.deepEqual([...bucket.objects.keys()].sort(), [
      'records/claims/j1/attempt-0007.json',
      'records/open/j1',
      'records/owners/2521e4db3d51d2f3c11696565e6e51dd6f49c18d.json',
      'records/reconcile-cursor.json',
      'records/results/j1/a%2Fb.json',
      'records/tasks/a%2Fb.json',
    ].sort());
    assert.equal(bucket.objects.get('records/open/j1'), '');
  });

  it('lists more than a page of attempts, in number order', async () => {
    const store = ossJobStore(fakeBucket(), 'r/');
    for (let n = 1; n <= 230; n++) await store.claimAttempt('j', n === 3 ? endAttempt(startAttempt(n, 'event', T0, 1), 'failed', T0) : startAttempt(n, 'event', T0, 1));
    const attempts = await store.listAttempts('j');
    assert.equal(attempts.length, 230);
    assert.deepEqual(attempts.slice(0, 4).map((a) => a.number), [1, 2, 3, 4]);
    assert.equal(attempts[2]!.outcome, 'failed');
    assert.equal(attempts.at(-1)!.number, 230);
  });

  it('refuses a stored object that does not parse (never trusts what it reads)', async () => {
    const bucket = fakeBucket();
    bucket.objects.set('r/jobs/j.json', '{"jobId":"j"}');
    await assert.rejects(ossJobStore(bucket, 'r/').getJob('j'));
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
