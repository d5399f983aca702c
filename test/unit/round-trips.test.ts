import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppDeps } from '../../shared/app/context';
import { recordTaskNotice } from '../../shared/app/record';
import { submitUploads } from '../../shared/app/submit';
import type { BucketApi } from '../../shared/clients/oss';
import { startAttempt } from '../../shared/jobs/attempt';
import { jobIdFor, newJobIdentity, planJob, samplePlan } from '../../shared/jobs/plan';
import { ossJobStore } from '../../shared/jobs/stores/oss';
import { BUCKET, fakeApp, fakeBucket, LEASE_MS, notice, PREFIX, testConfig, uploadEvent } from '../helpers/fake-app';

/**
 * Every storage request of a function is a network round trip (several ms against OSS in the cloud), so the use
 * cases issue independent ones together and skip reads whose answer they already hold. These tests count the OSS
 * requests of the real OSS store adapter over a bucket, and their rounds: each request waits a tick as a real one
 * would, and its round is one more than the latest round of the requests that ended before it started, so the
 * number of rounds is the longest chain of requests that had to wait for each other.
 */
const OPERATIONS = ['head', 'getText', 'getBytes', 'putText', 'putTags', 'copyInPlace', 'delete', 'list', 'versioning', 'asyncProcess'] as const;

function countingBucket(bucket: BucketApi) {
  let seq = 0;
  const calls: { op: string; key: string; start: number; end: number; round: number }[] = [];
  for (const op of OPERATIONS) {
    const original = (bucket[op] as (...args: unknown[]) => Promise<unknown>).bind(bucket);
    (bucket as unknown as Record<string, unknown>)[op] = async (...args: unknown[]) => {
      const start = ++seq;
      const round = 1 + Math.max(0, ...calls.filter((c) => c.end !== 0 && c.end < start).map((c) => c.round));
      const call = { op, key: String(args[0] ?? ''), start, end: 0, round };
      calls.push(call);
      await new Promise((resolve) => setImmediate(resolve));
      try {
        return await original(...args);
      } finally {
        call.end = ++seq;
      }
    };
  }
  return {
    bucket,
    /** Requests and rounds since the last reset. */
    take() {
      const taken = calls.splice(0);
      const base = Math.min(...taken.map((c) => c.round)) - 1;
      return { requests: taken.length, rounds: Math.max(0, ...taken.map((c) => c.round - base)), calls: taken.map((c) => `${c.round - base}:${c.op} ${c.key.replace(PREFIX, '')}`) };
    },
  };
}

const KEY = 'videos/clip.mp4';
const OUTPUTS = ['animations/clip.mp4.gif', 'animations/clip.mp4.webp'];
const jobId = jobIdFor({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, 'preview');

/** An app whose job store is the OSS adapter over one counted bucket (sources, outputs and records together). */
function countedApp(config = testConfig()) {
  const app = fakeApp({ config });
  const counted = countingBucket(fakeBucket());
  const store = ossJobStore(counted.bucket, PREFIX);
  let checked = false;
  const deps = (requestId = 'req'): AppDeps => ({
    ...app.deps(requestId),
    bucket: async () => counted.bucket,
    records: async () => {
      // Once per instance, as the wiring does (wiring/records-bucket.ts).
      if (!checked) await counted.bucket.versioning();
      checked = true;
      return store;
    },
  });
  const coldInstance = () => void (checked = false);
  return { app, counted, store, deps, coldInstance, objects: (counted.bucket as ReturnType<typeof fakeBucket>).objects };
}

describe('requests and round trips per upload and notice (one rule, two outputs)', () => {
  it('a new upload: 9 OSS requests in 4 rounds on a cold instance (8 warm), and no read at all', async () => {
    const { counted, deps, objects, app } = countedApp();
    objects.set(KEY, 'video bytes');
    const [outcome] = await submitUploads(uploadEvent(KEY), deps());
    assert.equal(outcome?.status, 'submitted');
    const { requests, rounds, calls } = counted.take();
    assert.deepEqual(calls.map((c) => c.replace(/[0-9a-f]{32}/g, 'ID').replace(/owners\/\w+/, 'owners/H').replace(/sources\/\w+/, 'sources/H').replace(/index\/.*/, 'index/E')).sort(), [
      '1:versioning ',
      '2:putText open/ID',
      '3:putText jobs/ID/attempt-0001.json',
      '3:putText jobs/ID/job.json',
      '3:putText owners/H.json',
      '3:putText owners/H.json',
      '4:putText index/E',
      '4:putText jobs/ID/attempt-0001.json',
      '4:putText sources/H/ID',
    ]);
    assert.equal(requests, 9);
    assert.equal(rounds, 4);
    assert.equal(app.imm.calls.create, 1);
  });

  it('its notice: 10 OSS requests in 6 rounds on a warm instance; the job ends with one terminal record', async () => {
    const { counted, deps, objects } = countedApp();
    objects.set(KEY, 'video bytes');
    await submitUploads(uploadEvent(KEY), deps());
    for (const key of OUTPUTS) objects.set(key, 'GIF89a');
    counted.take();
    const outcome = await recordTaskNotice(notice('task-1', jobId), deps('record'));
    assert.equal(outcome.status, 'recorded');
    const { requests, rounds, calls } = counted.take();
    assert.deepEqual(calls.map((c) => c.replace(/[0-9a-f]{32}/g, 'ID').replace(/index\/.*/, 'index/E')).sort(), [
      '1:list jobs/ID/',
      '2:getText jobs/ID/attempt-0001.json',
      '2:getText jobs/ID/job.json',
      '3:getBytes animations/clip.mp4.gif',
      '3:getBytes animations/clip.mp4.webp',
      '4:copyInPlace animations/clip.mp4.gif',
      '4:copyInPlace animations/clip.mp4.webp',
      '5:putText jobs/ID/end.json',
      '6:delete open/ID',
      '6:putText index/E',
    ]);
    assert.equal(requests, 10);
    assert.equal(rounds, 6);
    assert.ok(objects.has(`${PREFIX}jobs/${jobId}/end.json`));
  });

  it('the pair on cold instances: at most 20 OSS requests, at most 8 rounds each', async () => {
    const { counted, deps, objects, coldInstance } = countedApp();
    objects.set(KEY, 'video bytes');
    await submitUploads(uploadEvent(KEY), deps());
    const submit = counted.take();
    for (const key of OUTPUTS) objects.set(key, 'GIF89a');
    coldInstance();
    await recordTaskNotice(notice('task-1', jobId), deps('record'));
    const record = counted.take();
    assert.equal(submit.requests + record.requests, 20);
    assert.ok(submit.rounds <= 8 && record.rounds <= 8, `${submit.rounds} and ${record.rounds}`);
  });

  it('a duplicate event is acknowledged within 4 rounds of requests, starting nothing', async () => {
    const { counted, deps, objects, app } = countedApp();
    objects.set(KEY, 'video bytes');
    await submitUploads(uploadEvent(KEY), deps());
    counted.take();
    const [again] = await submitUploads(uploadEvent(KEY), deps('dup'));
    assert.equal(again?.status, 'duplicate');
    const { rounds, calls } = counted.take();
    // The open entry and the create-only writes that lose; then the job's facts, to say why.
    assert.ok(rounds <= 4, calls.join(', '));
    assert.equal(app.imm.calls.create, 1);
  });

  it('a redelivered notice for an ended job stops after reading the terminal record', async () => {
    const { counted, deps, objects } = countedApp();
    objects.set(KEY, 'video bytes');
    await submitUploads(uploadEvent(KEY), deps());
    for (const key of OUTPUTS) objects.set(key, 'GIF89a');
    await recordTaskNotice(notice('task-1', jobId), deps('record'));
    counted.take();
    const again = await recordTaskNotice(notice('task-1', jobId), deps('again'));
    assert.equal(again.status, 'duplicate');
    const { calls } = counted.take();
    assert.deepEqual(calls.map((c) => c.replace(/[0-9a-f]{32}/g, 'ID')), ['1:list jobs/ID/', '2:getText jobs/ID/end.json']);
  });

  it('a first attempt probes the video (IMM) only after it won the claim: a duplicate never pays for a probe', async () => {
    const config = testConfig({}, [
      { name: 'preview', prefix: 'videos/', outputs: [{ format: 'gif', key: 'animations/{basename}', frames: 12 }, { format: 'webp', key: 'animations/{basename}', frames: 12 }] },
    ]);
    const { deps, objects, app } = countedApp(config);
    objects.set(KEY, 'video bytes');
    await Promise.all([submitUploads(uploadEvent(KEY), deps('a')), submitUploads(uploadEvent(KEY), deps('b'))]);
    assert.deepEqual(app.media.calls, [KEY]);
    assert.equal(app.imm.calls.create, 1);
  });

  it('a takeover that adopts the task IMM accepted before the crash probes nothing (the probe would be billed)', async () => {
    const config = testConfig({}, [{ name: 'preview', prefix: 'videos/', outputs: [{ format: 'gif', key: 'animations/{basename}', frames: 12 }] }]);
    const app = fakeApp({ config });
    app.bucket.objects.set(KEY, 'video bytes');
    const plan = planJob({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, app.config.rules[0]!);
    await app.store.markOpen(plan.jobId);
    await app.store.createJob(newJobIdentity(plan, app.clock.now()));
    await app.store.claimAttempt(plan.jobId, startAttempt(1, 'event', app.clock.now(), LEASE_MS, 'crashed'));
    await app.imm.engine.submit(samplePlan(plan, { duration: 60, width: 640, height: 360, frameRate: 25 }), 1);
    app.clock.advance(LEASE_MS);
    await submitUploads(uploadEvent(KEY), app.deps());
    assert.equal((await app.store.getJob(plan.jobId))?.attempts.at(-1)?.outcome, 'adopted');
    assert.deepEqual(app.media.calls, []);
    assert.equal(app.imm.calls.create, 1);
  });
});
