import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordTaskNotice } from '../../shared/app/record';
import { reconcileOpenJobs } from '../../shared/app/reconcile';
import { submitUploads } from '../../shared/app/submit';
import { startAttempt } from '../../shared/jobs/attempt';
import { jobIdFor, newJobIdentity, planJob } from '../../shared/jobs/plan';
import { ConfigError } from '../../shared/platform/errors';
import { BUCKET, fakeApp, LEASE_MS, notice, testConfig, uploadEvent } from '../helpers/fake-app';

const OUTPUTS = (key: string) => [`animations/${key.slice('videos/'.length)}.gif`, `animations/${key.slice('videos/'.length)}.webp`];
const AFTER_MS = 900_000;

async function upload(app: ReturnType<typeof fakeApp>, key = 'videos/clip.mp4') {
  app.bucket.objects.set(key, 'video bytes');
  await submitUploads(uploadEvent(key), app.deps());
  return jobIdFor({ bucket: BUCKET, key, eTag: 'ETAG1', size: 1000 }, 'preview');
}

const produce = (app: ReturnType<typeof fakeApp>, key = 'videos/clip.mp4') => OUTPUTS(key).forEach((k) => app.bucket.objects.set(k, 'animation'));

describe('reconcile', () => {
  it('records a task whose notice was lost, exactly as the record function would, once RECONCILE_AFTER_SECONDS passed', async () => {
    const app = fakeApp();
    const id = await upload(app);
    app.imm.finish('task-1', 'Succeeded');
    produce(app);

    app.clock.advance(AFTER_MS - 1);
    assert.deepEqual((await reconcileOpenJobs(app.deps())).actions, { waiting: 1 });
    assert.equal((await app.store.getJob(id))!.status, 'submitted');

    app.clock.advance(1);
    assert.deepEqual((await reconcileOpenJobs(app.deps())).actions, { asked: 1 });
    const job = (await app.store.getJob(id))!;
    assert.equal(job.status, 'succeeded');
    assert.equal(app.bucket.tags.get(OUTPUTS('videos/clip.mp4')[0]!)?.['task'], 'task-1');
    assert.equal(app.store.open.size, 0);
    assert.deepEqual((await reconcileOpenJobs(app.deps())).looked, 0, 'an ended job is off the list');
  });

  it('leaves a task IMM still runs alone', async () => {
    const app = fakeApp();
    const id = await upload(app);
    app.clock.advance(AFTER_MS);
    await reconcileOpenJobs(app.deps());
    assert.equal((await app.store.getJob(id))!.status, 'submitted');
  });

  it('a lost failure notice with a transient code gets its task retry from reconcile', async () => {
    const app = fakeApp();
    const id = await upload(app);
    app.imm.finish('task-1', 'Failed', 'InternalError', 'boom');
    app.clock.advance(AFTER_MS);
    await reconcileOpenJobs(app.deps());
    const job = (await app.store.getJob(id))!;
    assert.equal(job.status, 'submitted');
    assert.equal(app.imm.tasks.length, 2);
    assert.deepEqual(job.attempts.map((a) => a.trigger), ['event', 'task-retry']);
  });

  it('a task IMM forgot (7 days) counts as succeeded when its outputs exist, else fails as TaskNotFound and is retried', async () => {
    const kept = fakeApp();
    const keptId = await upload(kept);
    kept.imm.tasks.length = 0;
    produce(kept);
    kept.clock.advance(AFTER_MS);
    await reconcileOpenJobs(kept.deps());
    assert.equal((await kept.store.getJob(keptId))!.status, 'succeeded');

    const lost = fakeApp();
    const lostId = await upload(lost);
    lost.imm.tasks.length = 0;
    lost.clock.advance(AFTER_MS);
    await reconcileOpenJobs(lost.deps());
    const job = (await lost.store.getJob(lostId))!;
    assert.equal(job.status, 'submitted', 'a new task was started');
    assert.deepEqual(job.attempts.map((a) => a.trigger), ['event', 'task-retry']);
  });

  it('drives on a pending job whose event FC gave up on, once its lease expired', async () => {
    const app = fakeApp();
    app.bucket.objects.set('videos/clip.mp4', 'video');
    const plan = planJob({ bucket: BUCKET, key: 'videos/clip.mp4', eTag: 'ETAG1', size: 1000 }, app.config.rules[0]!);
    await app.store.markOpen(plan.jobId);
    await app.store.createJob(newJobIdentity(plan, app.clock.now()));
    await app.store.claimAttempt(plan.jobId, startAttempt(1, 'event', app.clock.now(), LEASE_MS));
    assert.deepEqual((await reconcileOpenJobs(app.deps())).actions, { busy: 1 });
    app.clock.advance(LEASE_MS);
    assert.deepEqual((await reconcileOpenJobs(app.deps())).actions, { advanced: 1 });
    const job = (await app.store.getJob(plan.jobId))!;
    assert.equal(job.status, 'submitted');
    assert.deepEqual(job.attempts.map((a) => a.trigger), ['event', 'takeover']);
  });

  it('closes index entries of jobs that ended or vanished', async () => {
    const app = fakeApp();
    const id = await upload(app);
    produce(app);
    await recordTaskNotice(notice('task-1', id), app.deps());
    await app.store.markOpen(id);
    await app.store.markOpen('0'.repeat(32));
    assert.deepEqual((await reconcileOpenJobs(app.deps())).actions, { closed: 1, missing: 1 });
    assert.equal(app.store.open.size, 0);
  });

  it('bounds its work per run and goes on where it stopped', async () => {
    const app = fakeApp({ config: testConfig({ reconcileMaxJobs: 2 }) });
    for (const key of ['videos/a.mp4', 'videos/b.mp4', 'videos/c.mp4']) await upload(app, key);
    const first = await reconcileOpenJobs(app.deps());
    assert.equal(first.looked, 2);
    assert.equal(first.more, true);
    const second = await reconcileOpenJobs(app.deps());
    assert.equal(second.looked, 1);
    assert.equal(second.more, false);
    assert.equal((await reconcileOpenJobs(app.deps())).looked, 2, 'then starts over');
  });

  it('looks at four jobs at a time, and a run that runs out of time stops after a whole batch', async () => {
    const app = fakeApp();
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => `videos/${name}.mp4`);
    for (const key of keys) await upload(app, key);
    const starts: number[] = [];
    let inFlight = 0;
    const loadJob = app.store.loadJob.bind(app.store);
    app.store.loadJob = async (jobId) => {
      starts.push(++inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      return loadJob(jobId);
    };
    const run = await reconcileOpenJobs(app.deps());
    assert.deepEqual(run, { looked: 6, actions: { waiting: 6 }, more: false });
    assert.equal(Math.max(...starts), 4);

    // With the budget spent after the first batch: four looked at, the next run goes on with the other two.
    const deps = app.deps();
    const spend = app.store.loadJob;
    app.store.loadJob = async (jobId) => {
      app.clock.advance(60_000);
      return spend(jobId);
    };
    const short = await reconcileOpenJobs({ ...deps, deadline: app.clock.now() + 1 });
    assert.deepEqual([short.looked, short.more], [4, true]);
    app.store.loadJob = loadJob;
    const rest = await reconcileOpenJobs(app.deps());
    assert.deepEqual([rest.looked, rest.more], [2, false]);
  });

  it('needs BUCKET', async () => {
    const app = fakeApp({ config: testConfig({ bucket: undefined }) });
    await assert.rejects(reconcileOpenJobs(app.deps()), ConfigError);
  });
});
