import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordTaskNotice } from '../../shared/app/record';
import { submitUploads } from '../../shared/app/submit';
import { ossJobStore } from '../../shared/jobs/oss-store';
import { startAttempt } from '../../shared/jobs/lifecycle';
import { jobIdFor, newJobRecord, planJob, samplePlan } from '../../shared/jobs/plan';
import { BUCKET, fakeApp, fakeBucket, LEASE_MS, notice, testConfig, uploadEvent } from '../helpers/fake-app';

/**
 * Every storage request of a function is a network round trip (a few ms against OSS, more on a cold instance), so
 * the use cases issue independent ones together and skip reads whose answer they already hold. These tests pin
 * that down: each operation under watch logs its start, yields once (as a real request would), then logs its end,
 * so "b started before a ended" means the two were in flight together.
 */

type Log = string[];

/** Wraps the named async methods of `target` so each logs `start:<name>` and, a tick later, `end:<name>`. */
function watch<T extends object>(target: T, names: (keyof T & string)[], log: Log): T {
  for (const name of names) {
    const original = (target[name] as (...args: unknown[]) => Promise<unknown>).bind(target);
    (target as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      log.push(`start:${name}`);
      await new Promise((resolve) => setImmediate(resolve));
      try {
        return await original(...args);
      } finally {
        log.push(`end:${name}`);
      }
    };
  }
  return target;
}

const KEY = 'videos/clip.mp4';

/** The test rule with a frame budget: its jobs need the video's duration (DetectMediaMeta). */
const framedConfig = () =>
  testConfig({}, [
    {
      name: 'preview',
      prefix: 'videos/',
      outputs: [
        { format: 'gif', key: 'animations/{basename}', frames: 12 },
        { format: 'webp', key: 'animations/{basename}', frames: 12 },
      ],
    },
  ]);
/** An upload submitted, with the outputs its task made: what a completion notice finds. */
async function convertedUpload(app: ReturnType<typeof fakeApp>): Promise<string> {
  app.bucket.objects.set(KEY, 'video bytes');
  await submitUploads(uploadEvent(KEY), app.deps());
  for (const key of ['animations/clip.mp4.gif', 'animations/clip.mp4.webp']) app.bucket.objects.set(key, 'GIF89a');
  return jobIdFor({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, 'preview');
}

const before = (log: Log, a: string, b: string) => {
  const i = log.indexOf(a);
  const j = log.indexOf(b);
  assert.ok(i >= 0 && j >= 0, `${a} and ${b} both happen: ${log.join(' ')}`);
  return i < j;
};

describe('round trips per upload and notice', () => {
  it('a new upload claims its first attempt without reading back the job it just created', async () => {
    const app = fakeApp();
    const log: Log = [];
    watch(app.store, ['createJob', 'getJob', 'listAttempts', 'claimAttempt'], log);
    app.bucket.objects.set(KEY, 'video bytes');
    const [outcome] = await submitUploads(uploadEvent(KEY), app.deps());
    assert.equal(outcome?.status, 'submitted');
    const claim = log.indexOf('start:claimAttempt');
    assert.deepEqual(log.slice(0, claim), ['start:createJob', 'end:createJob']);
  });

  it('a duplicate upload event reads the job before it claims anything', async () => {
    const app = fakeApp();
    app.bucket.objects.set(KEY, 'video bytes');
    await submitUploads(uploadEvent(KEY), app.deps());
    const log: Log = [];
    watch(app.store, ['getJob', 'claimAttempt'], log);
    const [again] = await submitUploads(uploadEvent(KEY), app.deps());
    assert.equal(again?.status, 'duplicate');
    assert.ok(log.includes('start:getJob'));
    assert.ok(!log.includes('start:claimAttempt'));
  });

  it('a refresh lists the attempts while it reads the job, and reads the results together', async () => {
    const app = fakeApp();
    const id = await convertedUpload(app);
    const log: Log = [];
    watch(app.store, ['getJob', 'listAttempts', 'getTaskResult', 'putTaskResult'], log);
    const outcome = await recordTaskNotice(notice('task-1', id), app.deps());
    assert.equal(outcome.status, 'recorded');
    assert.ok(before(log, 'start:listAttempts', 'end:getJob'), log.join(' '));
    // The refresh before the result is written reads it once (missing); nothing reads it again before the put.
    const put = log.indexOf('start:putTaskResult');
    assert.equal(log.slice(0, put).filter((entry) => entry === 'start:getTaskResult').length, 1, log.join(' '));
  });

  it('a recorded notice for a job that already ended does not wait for its attempts', async () => {
    const app = fakeApp();
    const id = await convertedUpload(app);
    await recordTaskNotice(notice('task-1', id), app.deps());
    const log: Log = [];
    watch(app.store, ['getJob', 'listAttempts'], log);
    const again = await recordTaskNotice(notice('task-1', id), app.deps());
    assert.equal(again.status, 'duplicate');
    assert.deepEqual(log.filter((e) => e.startsWith('end:')).at(-1), 'end:getJob', 'the answer came before the listing ended');
  });

  it('a first attempt claims its outputs together while IMM probes the video', async () => {
    const app = fakeApp({ config: framedConfig() });
    const log: Log = [];
    watch(app.store, ['claimOutput'], log);
    watch(app.media, ['probe'], log);
    app.bucket.objects.set(KEY, 'video bytes');
    const [outcome] = await submitUploads(uploadEvent(KEY), app.deps());
    assert.equal(outcome?.status, 'submitted');
    assert.deepEqual(log.slice(0, 3).sort(), ['start:claimOutput', 'start:claimOutput', 'start:probe']);
  });

  it('a takeover that adopts the task IMM accepted before the crash probes nothing (the probe would be billed)', async () => {
    const app = fakeApp({ config: framedConfig() });
    app.bucket.objects.set(KEY, 'video bytes');
    const plan = planJob({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, app.config.rules[0]!);
    await app.store.markOpen(plan.jobId);
    await app.store.createJob(newJobRecord(plan, app.clock.now()));
    await app.store.claimAttempt(plan.jobId, startAttempt(1, 'event', app.clock.now(), LEASE_MS, 'crashed'));
    await app.imm.engine.submit(samplePlan(plan, { duration: 60, width: 640, height: 360, frameRate: 25 }), 1);
    app.clock.advance(LEASE_MS);
    await submitUploads(uploadEvent(KEY), app.deps());
    assert.equal((await app.store.getJob(plan.jobId))?.attempts.at(-1)?.outcome, 'adopted');
    assert.deepEqual(app.media.calls, []);
  });

  it('a notice reads and tags the outputs together', async () => {
    const app = fakeApp();
    const id = await convertedUpload(app);
    const log: Log = [];
    watch(app.bucket, ['getBytes'], log);
    await recordTaskNotice(notice('task-1', id), app.deps());
    assert.deepEqual(log.slice(0, 2), ['start:getBytes', 'start:getBytes']);
  });

  it("the OSS store writes a new job's index and source entries together; an update puts the new entry before deleting the old", async () => {
    const bucket = fakeBucket();
    const store = ossJobStore(bucket, 'records/');
    const job = newJobRecord(planJob({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, fakeApp().config.rules[0]!), Date.parse('2026-01-01T00:00:00Z'));
    const log: Log = [];
    watch(bucket, ['putText', 'delete'], log);
    await store.indexJob(job);
    assert.deepEqual(log, ['start:putText', 'start:putText', 'end:putText', 'end:putText']);
    log.length = 0;
    await store.indexJob({ ...job, status: 'submitted' }, job);
    assert.deepEqual(log, ['start:putText', 'end:putText', 'start:delete', 'end:delete']);
  });
});
