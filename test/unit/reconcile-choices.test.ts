import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppDeps } from '../../shared/app/context';
import { recordTaskNotice } from '../../shared/app/record';
import { reconcileOpenJobs } from '../../shared/app/reconcile';
import { submitUploads } from '../../shared/app/submit';
import { jobIdFor } from '../../shared/jobs/plan';
import { ConfigError, ServiceResponseError, TransientFailure } from '../../shared/platform/errors';
import { BUCKET, DEFAULT_RULES, fakeApp, fakeOssEngine, notice, serviceError, testConfig, uploadEvent } from '../helpers/fake-app';

const KEY = 'videos/clip.mp4';
const ID = jobIdFor({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, 'preview');
const AFTER_MS = 900_000;
/** Open-jobs entries without a record behind them: reconcile removes each as `missing`. */
const entry = (name: string) => name.padStart(32, '0');
const ossApp = () => fakeApp({ engine: (imm) => fakeOssEngine(imm), config: testConfig({}, DEFAULT_RULES.map((r) => ({ ...r, engine: 'oss' as const }))) });

/** Deps whose IMM lookup records the tasks reconcile asks about (GetTask requests). */
function asking(app: ReturnType<typeof fakeApp>) {
  const asked: string[] = [];
  const deps = (): AppDeps => ({ ...app.deps(), taskLookup: async () => ({ getTask: async (taskId) => (asked.push(taskId), app.imm.lookup.getTask(taskId)) }) });
  return { asked, deps };
}

const fieldsOf = (app: ReturnType<typeof fakeApp>, message: string, names: string[]) =>
  app.logs.filter((l) => l.message === message).map((l) => Object.fromEntries(names.map((n) => [n, l[n]])));

describe('reconcile: which open jobs a run looks at', () => {
  it('when nothing is left after the cursor, the run starts over from the first entry, within its bound', async () => {
    const app = fakeApp({ config: testConfig({ reconcileMaxJobs: 2 }) });
    for (const name of ['d', 'e', 'f']) await app.store.markOpen(entry(name));
    assert.deepEqual(await reconcileOpenJobs(app.deps()), { looked: 2, actions: { missing: 2 }, more: true });
    // The entry after the cursor went away; three new ones sort before the cursor.
    await app.store.markClosed(entry('f'));
    for (const name of ['a', 'b', 'c']) await app.store.markOpen(entry(name));
    assert.deepEqual(await reconcileOpenJobs(app.deps()), { looked: 2, actions: { missing: 2 }, more: true });
    assert.deepEqual([...app.store.open], [entry('c')]);
  });

  it('a last batch that ends past the deadline still ends the run: nothing more, the cursor cleared', async () => {
    const app = fakeApp();
    for (const name of ['1', '2', '3', '4']) await app.store.markOpen(entry(name));
    await app.store.saveReconcileCursor(entry('0'));
    const load = app.store.loadJob.bind(app.store);
    app.store.loadJob = async (jobId) => {
      app.clock.advance(60_000);
      return load(jobId);
    };
    const summary = await reconcileOpenJobs(app.deps());
    assert.deepEqual(summary, { looked: 4, actions: { missing: 4 }, more: false });
    assert.equal(await app.store.reconcileCursor(), undefined);
    assert.deepEqual(fieldsOf(app, 'reconcile run', ['looked', 'actions', 'more']), [{ looked: 4, actions: { missing: 4 }, more: false }]);
  });

  it('names BUCKET when it is not set', async () => {
    const app = fakeApp({ config: testConfig({ bucket: undefined }) });
    await assert.rejects(reconcileOpenJobs(app.deps()), (error: Error) => error instanceof ConfigError && error.message.startsWith('BUCKET is required'));
  });
});

describe('reconcile: failures of one job', () => {
  it('a transient one is counted and logged with the job and the reason; the others go on', async () => {
    const app = fakeApp();
    for (const name of ['1', '2']) await app.store.markOpen(entry(name));
    const load = app.store.loadJob.bind(app.store);
    app.store.loadJob = async (jobId) => {
      if (jobId === entry('1')) throw new TransientFailure('records are busy');
      return load(jobId);
    };
    assert.deepEqual((await reconcileOpenJobs(app.deps())).actions, { 'failed-transiently': 1, missing: 1 });
    assert.deepEqual(fieldsOf(app, 'reconcile could not finish a job this run', ['jobId', 'reason']), [{ jobId: entry('1'), reason: 'records are busy' }]);
  });

  it('a 5xx still failing after the retries is counted as transient as well, not an abort of the whole run', async () => {
    const app = fakeApp();
    for (const name of ['1', '2']) await app.store.markOpen(entry(name));
    const load = app.store.loadJob.bind(app.store);
    app.store.loadJob = async (jobId) => {
      if (jobId === entry('1')) throw serviceError(503, 'ServiceUnavailable');
      return load(jobId);
    };
    assert.deepEqual((await reconcileOpenJobs(app.deps())).actions, { 'failed-transiently': 1, missing: 1 });
  });

  it('any other is thrown as it is, not counted as transient', async () => {
    const app = fakeApp();
    for (const name of ['1', '2']) await app.store.markOpen(entry(name));
    app.store.loadJob = async () => {
      throw serviceError(403, 'AccessDenied');
    };
    await assert.rejects(reconcileOpenJobs(app.deps()), (error) => error instanceof ServiceResponseError && error.code === 'AccessDenied');
  });
});

describe('reconcile: what it asks IMM', () => {
  it('a task is due RECONCILE_AFTER_SECONDS after the attempt that started it, though that attempt started others', async () => {
    const app = ossApp();
    await submitUploads(uploadEvent(KEY), app.deps());
    const { asked, deps } = asking(app);
    app.clock.advance(AFTER_MS - 1);
    assert.deepEqual((await reconcileOpenJobs(deps())).actions, { waiting: 1 });
    assert.deepEqual(asked, []);
    app.clock.advance(1);
    await reconcileOpenJobs(deps());
    assert.deepEqual(asked, ['task-1', 'task-2']);
  });

  it('a retried task is due from its own attempt, not from the first one', async () => {
    const app = fakeApp();
    await submitUploads(uploadEvent(KEY), app.deps());
    app.clock.advance(600_000);
    // The first task failed with a transient code: the record function starts another one now.
    await recordTaskNotice(notice('task-1', ID, 'Failed', { Code: 'InternalError' }), app.deps());
    assert.equal(app.imm.tasks.length, 2);
    const { asked, deps } = asking(app);
    app.clock.advance(AFTER_MS - 1);
    assert.deepEqual((await reconcileOpenJobs(deps())).actions, { waiting: 1 });
    app.clock.advance(1);
    assert.deepEqual((await reconcileOpenJobs(deps())).actions, { asked: 1 });
    assert.deepEqual(asked, ['task-2']);
  });

  it('only running tasks are asked about, and each ended one is logged with its job and task', async () => {
    const app = ossApp();
    await submitUploads(uploadEvent(KEY), app.deps());
    app.imm.finish('task-1', 'Succeeded');
    app.imm.finish('task-2', 'Succeeded');
    app.bucket.objects.set('animations/clip.mp4.gif', 'animation');
    app.bucket.objects.set('animations/clip.mp4.webp', 'animation');
    await recordTaskNotice(notice('task-1', ID), app.deps());
    const { asked, deps } = asking(app);
    app.clock.advance(AFTER_MS);
    assert.deepEqual((await reconcileOpenJobs(deps())).actions, { asked: 1 });
    assert.deepEqual(asked, ['task-2']);
    assert.deepEqual(fieldsOf(app, 'task ended without a recorded notice; recording it', ['jobId', 'taskId']), [{ jobId: ID, taskId: 'task-2' }]);
    assert.equal((await app.store.getJob(ID))?.status, 'succeeded');
  });

  it('a task IMM no longer knows is logged with its job and task', async () => {
    const app = fakeApp();
    await submitUploads(uploadEvent(KEY), app.deps());
    app.imm.tasks.length = 0;
    app.clock.advance(AFTER_MS);
    await reconcileOpenJobs(app.deps());
    assert.deepEqual(fieldsOf(app, 'IMM no longer knows the task; recording from its outputs', ['jobId', 'taskId']), [{ jobId: ID, taskId: 'task-1' }]);
  });

  it('without an IMM project it logs the job and the tasks it could not ask about', async () => {
    const app = ossApp();
    await submitUploads(uploadEvent(KEY), app.deps());
    app.clock.advance(AFTER_MS);
    assert.deepEqual((await reconcileOpenJobs({ ...app.deps(), taskLookup: async () => undefined })).actions, { waiting: 1 });
    assert.deepEqual(fieldsOf(app, 'cannot ask IMM about open tasks: IMM_PROJECT is not set', ['jobId', 'tasks']), [{ jobId: ID, tasks: ['task-1', 'task-2'] }]);
  });
});

describe('reconcile: pending jobs', () => {
  it('a task retry the record function could not start is started by reconcile, as an attempt of its own', async () => {
    const app = fakeApp();
    await submitUploads(uploadEvent(KEY), app.deps());
    app.imm.refuseNext(serviceError(503, 'ServiceUnavailable'));
    await recordTaskNotice(notice('task-1', ID, 'Failed', { Code: 'InternalError' }), app.deps());
    assert.equal((await app.store.getJob(ID))?.status, 'pending');
    assert.deepEqual((await reconcileOpenJobs(app.deps())).actions, { advanced: 1 });
    const job = (await app.store.getJob(ID))!;
    assert.equal(job.status, 'submitted');
    assert.deepEqual(job.attempts.map((a) => a.trigger), ['event', 'task-retry', 'reconcile']);
  });
});
