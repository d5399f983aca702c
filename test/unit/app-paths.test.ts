import { unsafeKeyProblem } from '../../shared/rules/naming';
import { afterDeletion } from '../../shared/app/start';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketContext } from '../../shared/app/context';
import { recordTaskNotice } from '../../shared/app/record';
import { reconcileOpenJobs } from '../../shared/app/reconcile';
import { submitUploads } from '../../shared/app/submit';
import { recordTaskEnd } from '../../shared/app/task-end';
import { startAttempt } from '../../shared/jobs/attempt';
import { jobIdFor, newJobIdentity, planJob, samplePlan } from '../../shared/jobs/plan';
import { TransientFailure } from '../../shared/platform/errors';
import { BUCKET, DEFAULT_RULES, fakeApp, fakeOssEngine, LEASE_MS, notice, serviceError, testConfig, uploadEvent } from '../helpers/fake-app';

const KEY = 'videos/clip.mp4';
const idOf = (key = KEY, eTag = 'ETAG1') => jobIdFor({ bucket: BUCKET, key, eTag, size: 1000 }, 'preview');
const produce = (app: ReturnType<typeof fakeApp>, key = 'clip.mp4') => ['gif', 'webp'].forEach((f) => app.bucket.objects.set(`animations/${key}.${f}`, 'anim'));
const messages = (app: ReturnType<typeof fakeApp>, level: string) => app.logs.filter((l) => l.level === level).map((l) => l.message);

describe('submit: what it skips, and why', () => {
  it('skips what is not an object creation, a job record, no rule match, or a vanished object', async () => {
    const app = fakeApp();
    const event = (key: string, eventName = 'ObjectCreated:PutObject') => ({ events: [{ ...uploadEvent(key).events[0]!, eventName }] });
    const reasons = async (e: Parameters<typeof submitUploads>[0]) => (await submitUploads(e, app.deps())).map((o) => [o.status, 'reason' in o ? o.reason : undefined]);
    assert.deepEqual(await reasons(event(KEY, 'ObjectRemoved:DeleteObject')), [['skipped', 'event ObjectRemoved:DeleteObject: no rule deletes outputs with their source (deleteWithSource)']]);
    assert.deepEqual(await reasons(event('.video-animation/jobs/x.mp4')), [['skipped', 'a job record (under .video-animation/) never starts a task']]);
    assert.deepEqual(await reasons(event('photos/a.jpg')), [['skipped', 'matches no rule']]);
    // An event without ETag and size is looked up (HEAD); one that has them needs no HEAD.
    const { eTag: _e, size: _s, ...bare } = uploadEvent(KEY).events[0]!.oss.object;
    assert.deepEqual(await reasons({ events: [{ ...uploadEvent(KEY).events[0]!, oss: { bucket: { name: BUCKET }, object: bare } }] } as never), [['skipped', 'the object no longer exists']]);
    assert.equal(app.imm.tasks.length, 0);
    assert.deepEqual(messages(app, 'info'), ['upload skipped', 'upload skipped', 'upload skipped', 'upload skipped']);
  });

  it('uses the decoded key when the event key was URL-encoded and only the decoded one exists', async () => {
    const app = fakeApp();
    app.bucket.objects.set('videos/my clip.mp4', 'video');
    const [outcome] = await submitUploads(uploadEvent('videos/my%20clip.mp4'), app.deps());
    assert.equal(outcome?.status, 'submitted');
    assert.equal(outcome?.key, 'videos/my clip.mp4');
    assert.deepEqual(messages(app, 'warn'), ['event key was URL-encoded; using the decoded key']);
  });

  it('skips sources outside a rule size range, naming the rule and the limit', async () => {
    const app = fakeApp({
      config: testConfig({}, [
        { name: 'small', prefix: 'videos/', maxBytes: 100, outputs: [{ format: 'gif', key: 's/{basename}' }] },
        { name: 'big', prefix: 'videos/', minBytes: 5000, outputs: [{ format: 'gif', key: 'b/{basename}' }] },
      ]),
    });
    app.bucket.objects.set(KEY, 'video');
    const outcomes = await submitUploads(uploadEvent(KEY, 'E', 1000), app.deps());
    assert.deepEqual(outcomes.map((o) => 'reason' in o && o.reason), ['rule "small": 1000 bytes is above maxBytes 100', 'rule "big": 1000 bytes is below minBytes 5000']);
  });

  it('finishes the other uploads of an event before throwing for the transient one', async () => {
    const app = fakeApp();
    app.bucket.objects.set('videos/a.mp4', 'video');
    app.bucket.objects.set('videos/b.mp4', 'video');
    app.imm.refuseNext(serviceError(503, 'ServiceUnavailable', 'busy'));
    const event = { events: [uploadEvent('videos/a.mp4').events[0]!, uploadEvent('videos/b.mp4').events[0]!] };
    await assert.rejects(
      submitUploads(event, app.deps()),
      (error: Error) => error instanceof TransientFailure && /attempt 1: UnknownOutcome: imm may have started the task without answering \(ServiceUnavailable: busy\)/.test(error.message),
    );
    assert.equal(app.imm.tasks.length, 1, 'b was submitted');
    assert.equal(app.imm.calls.list, 1, 'a 5xx is resolved by looking (ListTasks) before anything starts again');
    assert.equal(app.imm.calls.create, 2, 'a: one CreateMediaConvertTask, never re-sent; b: one');
    assert.equal((await app.store.getJob(idOf('videos/b.mp4')))?.status, 'submitted');
  });

  it('logs a takeover, an adoption and a permanent failure', async () => {
    const app = fakeApp();
    app.bucket.objects.set(KEY, 'video');
    const plan = planJob({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, app.config.rules[0]!);
    await app.store.createJob(newJobIdentity(plan, app.clock.now()));
    await app.store.claimAttempt(plan.jobId, startAttempt(1, 'event', app.clock.now(), LEASE_MS));
    await app.imm.engine.submit(samplePlan(plan), 1);
    app.clock.advance(LEASE_MS);
    await submitUploads(uploadEvent(KEY), app.deps());
    assert.deepEqual(messages(app, 'warn'), ['taking over a job whose attempt expired', 'adopted tasks an earlier attempt started']);
    const adopted = app.logs.find((l) => l.message === 'adopted tasks an earlier attempt started');
    assert.deepEqual(adopted?.['tasks'], ['task-1:Running']);

    const refused = fakeApp();
    refused.imm.refuseNext(serviceError(400, 'InvalidArgument', 'no'));
    refused.bucket.objects.set(KEY, 'video');
    await submitUploads(uploadEvent(KEY), refused.deps());
    assert.deepEqual(messages(refused, 'error'), ['attempt failed permanently; job failed']);
  });
});

describe('record: locating the job', () => {
  const bare = (taskId: string, extra: Record<string, unknown> = {}) => ({ ...notice(taskId, 'x'), UserData: '', ...extra });

  it('ignores notices that are not ours or not final', async () => {
    const app = fakeApp();
    const reasons = async (n: Omit<ReturnType<typeof notice>, 'Status'> & { Status: string }) => {
      const outcome = await recordTaskNotice(n, app.deps());
      assert.equal(outcome.status, 'ignored');
      return 'reason' in outcome ? outcome.reason : '';
    };
    assert.equal(await reasons({ ...notice('t', idOf()), TaskType: 'DocConvert' }), 'task type DocConvert is not ours');
    assert.equal(await reasons({ ...notice('t', idOf()), Status: 'Running' }), 'status Running is not final');
    assert.equal(await reasons(bare('t')), 'neither UserData nor a source bucket names a video-animation job');
    assert.equal(await reasons(notice('t', idOf())), `job ${idOf()} does not exist in the records of bucket ${BUCKET}`);
  });

  it('finds an engine oss job through the task index; waits for an unindexed task, then gives up on it', async () => {
    const app = fakeApp({ engine: (imm) => fakeOssEngine(imm), config: testConfig({}, DEFAULT_RULES.map((r) => ({ ...r, engine: 'oss' as const }))) });
    app.bucket.objects.set(KEY, 'video');
    await submitUploads(uploadEvent(KEY), app.deps());
    produce(app);
    const sources = [{ URI: `oss://${BUCKET}/${KEY}` }];
    const outcome = await recordTaskNotice(bare('task-1', { Sources: sources }), app.deps());
    assert.equal(outcome.status, 'recorded');

    const unknown = bare('task-9', { Sources: sources, EndTime: new Date(app.clock.now()).toISOString() });
    await assert.rejects(recordTaskNotice(unknown, app.deps()), (error: Error) => error instanceof TransientFailure && error.message === 'task task-9 is not indexed yet; the notice will be retried');
    app.clock.advance(10 * 60 * 1000 + 1);
    const given = await recordTaskNotice(unknown, app.deps());
    assert.deepEqual(given, { status: 'ignored', reason: 'task task-9 belongs to no video-animation job', taskId: 'task-9' });
    app.clock.advance(-1);
    await assert.rejects(recordTaskNotice(unknown, app.deps()), TransientFailure, 'exactly ten minutes is still "not yet"');
  });

  it('ignores a task an engine oss job does not track', async () => {
    const app = fakeApp({ engine: (imm) => fakeOssEngine(imm), config: testConfig({}, DEFAULT_RULES.map((r) => ({ ...r, engine: 'oss' as const }))) });
    app.bucket.objects.set(KEY, 'video');
    await submitUploads(uploadEvent(KEY), app.deps());
    const outcome = await recordTaskNotice(notice('task-77', idOf()), app.deps());
    assert.deepEqual(outcome, { status: 'ignored', reason: `task task-77 is not one job ${idOf()} tracks`, taskId: 'task-77' });
  });

  it('a task retry that cannot start now is left to reconcile, with a warning', async () => {
    const app = fakeApp();
    app.bucket.objects.set(KEY, 'video');
    await submitUploads(uploadEvent(KEY), app.deps());
    app.imm.refuseNext(serviceError(503, 'ServiceUnavailable'));
    const outcome = await recordTaskNotice(notice('task-1', idOf(), 'Failed', { Code: 'InternalError' }), app.deps());
    assert.equal(outcome.status, 'recorded');
    assert.equal(outcome.status === 'recorded' && outcome.jobStatus, 'pending');
    assert.ok(messages(app, 'warn').includes('task retry could not start now; reconcile will start it'));
    await reconcileOpenJobs(app.deps());
    assert.equal((await app.store.getJob(idOf()))?.status, 'submitted');
  });

  it('logs the job outcome with its outputs', async () => {
    const app = fakeApp();
    app.bucket.objects.set(KEY, 'video');
    await submitUploads(uploadEvent(KEY), app.deps());
    produce(app);
    await recordTaskNotice(notice('task-1', idOf()), app.deps());
    const line = app.logs.find((l) => l.message === 'job succeeded');
    assert.deepEqual(line?.['outputs'], [{ key: 'animations/clip.mp4.gif', bytes: 4 }, { key: 'animations/clip.mp4.webp', bytes: 4 }]);
    assert.equal(line?.['taskId'], 'task-1');
  });
});

describe('adoption by notice', () => {
  it('a notice for a task no attempt recorded is recorded at once, even while the dead attempt still holds the job', async () => {
    const app = fakeApp();
    app.bucket.objects.set(KEY, 'video');
    const plan = planJob({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, app.config.rules[0]!);
    await app.store.markOpen(plan.jobId);
    await app.store.createJob(newJobIdentity(plan, app.clock.now()));
    await app.store.claimAttempt(plan.jobId, startAttempt(1, 'event', app.clock.now(), LEASE_MS));
    await app.imm.engine.submit(samplePlan(plan), 1);
    produce(app);
    const outcome = await recordTaskNotice(notice('task-1', plan.jobId), app.deps());
    assert.deepEqual(outcome, { status: 'recorded', jobId: plan.jobId, taskId: 'task-1', jobStatus: 'succeeded' });
    assert.equal((await app.store.listAttempts(plan.jobId)).length, 1, 'no attempt is claimed for it');
    assert.equal(app.store.open.size, 0);
  });
});

describe('reconcile edges', () => {
  it('without an IMM project it cannot ask, says so, and waits', async () => {
    const app = fakeApp();
    app.bucket.objects.set(KEY, 'video');
    await submitUploads(uploadEvent(KEY), app.deps());
    app.clock.advance(900_000);
    const deps = { ...app.deps(), taskLookup: async () => undefined };
    assert.deepEqual((await reconcileOpenJobs(deps)).actions, { waiting: 1 });
    assert.ok(messages(app, 'warn').includes('cannot ask IMM about open tasks: IMM_PROJECT is not set'));
  });

  it('a transient failure on one job is counted, logged, and does not stop the run', async () => {
    const app = fakeApp();
    for (const key of ['videos/a.mp4', 'videos/b.mp4']) {
      app.bucket.objects.set(key, 'video');
      await submitUploads(uploadEvent(key), app.deps());
    }
    app.clock.advance(900_000);
    // Six answers in a row outlast the retry policy's six attempts.
    app.bucket.failNext('get', serviceError(503, 'SlowDown'), { key: 'animations/a.mp4.gif', times: 6 });
    app.imm.finish('task-1', 'Succeeded');
    app.imm.finish('task-2', 'Succeeded');
    produce(app, 'a.mp4');
    produce(app, 'b.mp4');
    const summary = await reconcileOpenJobs(app.deps());
    assert.equal(summary.looked, 2);
    assert.equal(summary.actions['failed-transiently'], 1);
    assert.equal(summary.actions['asked'], 1);
    assert.ok(messages(app, 'warn').includes('reconcile could not finish a job this run'));
    assert.deepEqual(messages(app, 'info').filter((m) => m === 'reconcile run').length, 1);
  });

  it('stops at its deadline and goes on next run', async () => {
    const app = fakeApp();
    for (const key of ['videos/a.mp4', 'videos/b.mp4']) {
      app.bucket.objects.set(key, 'video');
      await submitUploads(uploadEvent(key), app.deps());
    }
    const deps = { ...app.deps(), deadline: app.clock.now() };
    const summary = await reconcileOpenJobs(deps);
    assert.deepEqual([summary.looked, summary.more], [0, true]);
  });

  it('records a forgotten task from its outputs when they exist', async () => {
    const app = fakeApp();
    app.bucket.objects.set(KEY, 'video');
    await submitUploads(uploadEvent(KEY), app.deps());
    produce(app);
    const ctx = await bucketContext(app.deps(), BUCKET);
    const outcome = await recordTaskEnd(ctx, idOf(), { taskId: 'task-1', status: 'Forgotten' });
    assert.equal(outcome.status, 'recorded');
    assert.equal((await app.store.getJob(idOf()))?.status, 'succeeded');
  });
});

describe('unsafe source keys', () => {
  for (const key of ['videos/../../escaped.mp4', 'videos/./a.mp4', 'videos/a\u0007b.mp4']) {
    it(`${JSON.stringify(key)} fails its job at once with UnsafeKey, starting nothing`, async () => {
      const app = fakeApp();
      app.bucket.objects.set(key, 'video');
      const [outcome] = await submitUploads(uploadEvent(key), app.deps());
      assert.equal(outcome?.status, 'failed');
      assert.match(outcome?.reason ?? '', /^UnsafeKey: the source key .* is refused: /);
      assert.equal(app.imm.tasks.length, 0);
      assert.equal(app.store.open.size, 0, 'the failed job is closed: never retried');
      assert.ok(messages(app, 'error').includes('source key refused: it cannot be converted safely'));
    });
  }

  it('unsafeKeyProblem names the reason; plain keys pass', () => {
    assert.equal(unsafeKeyProblem('/videos/a.mp4'), 'it starts with "/"');
    assert.equal(unsafeKeyProblem('videos/a\u0000.mp4'), 'it contains a control character');
    assert.equal(unsafeKeyProblem('videos/../a.mp4'), 'it has a "." or ".." path segment');
    for (const key of ['videos/a.mp4', 'videos/a..b.mp4', 'videos/.hidden/x.mp4', 'videos/猫 clip (1).mp4']) assert.equal(unsafeKeyProblem(key), undefined, key);
  });
});

describe('outputs deleted with their source', () => {
  const deletingConfig = () => testConfig({}, DEFAULT_RULES.map((r) => ({ ...r, deleteWithSource: true })));
  const removal = (key: string) => ({ events: [{ ...uploadEvent(key).events[0]!, eventName: 'ObjectRemoved:DeleteObject' }] });

  it('deletes the outputs the source owns, records it once, and a second removal changes nothing', async () => {
    const app = fakeApp({ config: deletingConfig() });
    app.bucket.objects.set(KEY, 'video');
    await submitUploads(uploadEvent(KEY), app.deps());
    produce(app);
    await recordTaskNotice(notice('task-1', idOf()), app.deps());
    app.bucket.objects.delete(KEY);
    const [outcome] = await submitUploads(removal(KEY), app.deps());
    assert.deepEqual(outcome, { status: 'deleted', key: KEY, rule: 'preview', jobId: idOf(), outputs: ['animations/clip.mp4.gif', 'animations/clip.mp4.webp'] });
    assert.equal(app.bucket.objects.has('animations/clip.mp4.gif'), false);
    assert.equal(app.bucket.objects.has('animations/clip.mp4.webp'), false);
    assert.deepEqual((await app.store.getJob(idOf()))?.deleted?.outputs, ['animations/clip.mp4.gif', 'animations/clip.mp4.webp']);
    assert.equal(app.store.owners.size, 0, 'the keys are free again');
    const [again] = await submitUploads(removal(KEY), app.deps());
    assert.equal(again?.status, 'skipped');
  });

  it("never deletes another source's outputs", async () => {
    const app = fakeApp({ config: deletingConfig() });
    app.bucket.objects.set(KEY, 'video');
    await submitUploads(uploadEvent(KEY), app.deps());
    produce(app);
    await recordTaskNotice(notice('task-1', idOf()), app.deps());
    // Another source took the keys over (its claim is the one on record).
    for (const key of ['animations/clip.mp4.gif', 'animations/clip.mp4.webp']) {
      await app.store.releaseOutput(key);
      await app.store.claimOutput({ outputKey: key, sourceKey: 'videos/other.mp4', jobId: 'x', claimedAt: 'now' });
    }
    const [outcome] = await submitUploads(removal(KEY), app.deps());
    assert.deepEqual(outcome && 'outputs' in outcome ? outcome.outputs : undefined, []);
    assert.ok(app.bucket.objects.has('animations/clip.mp4.gif'));
  });

  it('the same content uploaded again afterwards is a first upload: a new job, one new task', async () => {
    const app = fakeApp({ config: deletingConfig() });
    app.bucket.objects.set(KEY, 'video');
    await submitUploads(uploadEvent(KEY), app.deps());
    produce(app);
    await recordTaskNotice(notice('task-1', idOf()), app.deps());
    await submitUploads(removal(KEY), app.deps());
    app.bucket.objects.set(KEY, 'video');
    const [outcome] = await submitUploads(uploadEvent(KEY), app.deps());
    assert.equal(outcome?.status, 'submitted');
    assert.equal(outcome && 'jobId' in outcome ? outcome.jobId : undefined, afterDeletion(idOf()));
    assert.equal(app.imm.tasks.length, 2);
    const [duplicate] = await submitUploads(uploadEvent(KEY), app.deps('dup'));
    assert.equal(duplicate?.status, 'duplicate');
    assert.equal(app.imm.tasks.length, 2);
  });

  it('a removal without a rule that deletes with its source is skipped, saying why', async () => {
    const app = fakeApp();
    const [outcome] = await submitUploads(removal(KEY), app.deps());
    assert.deepEqual(outcome, { status: 'skipped', key: KEY, reason: 'event ObjectRemoved:DeleteObject: no rule deletes outputs with their source (deleteWithSource)' });
  });
});

describe('engine oss: a lost POST answer', () => {
  const ossConfig = () => testConfig({}, DEFAULT_RULES.map((r) => ({ ...r, engine: 'oss' as const })));
  const bare = (taskId: string) => ({ ...notice(taskId, 'x'), UserData: '', Sources: [{ URI: `oss://${BUCKET}/${KEY}` }] });

  it('the notice of the unindexed task is placed by its source: the first output the attempt left without a task', async () => {
    const app = fakeApp({ engine: (imm) => fakeOssEngine(imm), config: ossConfig() });
    app.bucket.objects.set(KEY, 'video');
    app.imm.dropAnswerNext();
    await assert.rejects(submitUploads(uploadEvent(KEY), app.deps()), TransientFailure);
    assert.equal(app.imm.tasks.length, 1, 'the POST made its task; its answer was lost');
    assert.equal(app.imm.calls.create, 1, 'and it was not sent again');
    // The redelivered event waits: the attempt may have started a task it could not record.
    const [deferred] = await submitUploads(uploadEvent(KEY), app.deps('again'));
    assert.equal(deferred?.status, 'deferred');
    produce(app);
    const outcome = await recordTaskNotice(bare('task-1'), app.deps());
    assert.equal(outcome.status, 'recorded');
    const job = (await app.store.getJob(idOf()))!;
    assert.deepEqual(job.outputs.map((o) => o.taskId), ['task-1', undefined], 'the gif, the first output, got it');
    assert.ok(messages(app, 'warn').includes('adopting a task whose POST answer was lost, by its source'));
  });

  it('two candidate jobs of one source: nothing is guessed', async () => {
    const app = fakeApp({ engine: (imm) => fakeOssEngine(imm), config: testConfig({}, [{ ...DEFAULT_RULES[0]!, engine: 'oss' as const }, { ...DEFAULT_RULES[0]!, name: 'again', engine: 'oss' as const, outputs: [{ format: 'gif', key: 'more/{basename}' }] }]) });
    app.bucket.objects.set(KEY, 'video');
    // The first delivery loses the first rule's answer (and stops there); the redelivery loses the second rule's.
    app.imm.dropAnswerNext();
    await assert.rejects(submitUploads(uploadEvent(KEY), app.deps()), TransientFailure);
    app.imm.dropAnswerNext();
    await assert.rejects(submitUploads(uploadEvent(KEY), app.deps('again')), TransientFailure);
    assert.equal(app.imm.tasks.length, 2);
    await assert.rejects(recordTaskNotice({ ...bare('task-1'), EndTime: new Date(app.clock.now()).toISOString() }, app.deps()), TransientFailure);
  });
});

describe('edges the mutation run pointed at', () => {
  it('a size exactly at a rule limit is inside it', async () => {
    const app = fakeApp({
      config: testConfig({}, [{ name: 'exact', prefix: 'videos/', minBytes: 1000, maxBytes: 1000, outputs: [{ format: 'gif', key: 'e/{basename}' }] }]),
    });
    app.bucket.objects.set(KEY, 'video');
    const [outcome] = await submitUploads(uploadEvent(KEY, 'E', 1000), app.deps());
    assert.equal(outcome?.status, 'submitted');
  });

  it('a takeover adopts a failed task IMM reports without code or message, with reasons of its own', async () => {
    const app = fakeApp();
    app.bucket.objects.set(KEY, 'video');
    const plan = planJob({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, app.config.rules[0]!);
    await app.store.createJob(newJobIdentity(plan, app.clock.now()));
    await app.store.claimAttempt(plan.jobId, startAttempt(1, 'event', app.clock.now(), LEASE_MS));
    await app.imm.engine.submit(samplePlan(plan), 1);
    app.imm.finish('task-1', 'Failed');
    app.clock.advance(LEASE_MS);
    await submitUploads(uploadEvent(KEY), app.deps());
    const result = [...(app.store.results.get(plan.jobId)?.values() ?? [])][0];
    assert.deepEqual(result?.error, { code: 'TaskFailed', message: 'task task-1 failed' });
    assert.deepEqual(result?.outputs.map((o) => o.tagged), [false, false]);
    // TaskFailed is not one of IMM's hiccups: the job fails with it, and nothing new is started.
    assert.equal((await app.store.getJob(plan.jobId))?.error?.code, 'TaskFailed');
    assert.equal(app.imm.tasks.length, 1);
  });
});
