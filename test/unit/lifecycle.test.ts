import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { advanceJob } from '../../shared/app/advance';
import { bucketContext } from '../../shared/app/context';
import { recordTaskNotice } from '../../shared/app/record';
import { submitUploads } from '../../shared/app/submit';
import { endAttempt, startAttempt } from '../../shared/jobs/attempt';
import { jobIdFor, newJobIdentity, planJob, samplePlan } from '../../shared/jobs/plan';
import { TransientFailure } from '../../shared/platform/errors';
import { BUCKET, fakeApp, fakeOssEngine, LEASE_MS, notice, serviceError, testConfig, uploadEvent } from '../helpers/fake-app';

const KEY = 'videos/clip.mp4';
const OUTPUTS = ['animations/clip.mp4.gif', 'animations/clip.mp4.webp'];

async function upload(app: ReturnType<typeof fakeApp>, key = KEY, eTag = 'ETAG1', requestId = 'req') {
  app.bucket.objects.set(key, 'video bytes');
  return submitUploads(uploadEvent(key, eTag), app.deps(requestId));
}

function jobId(app: ReturnType<typeof fakeApp>, key = KEY, eTag = 'ETAG1', ruleName = 'preview') {
  return jobIdFor({ bucket: BUCKET, key, eTag, size: 1000 }, ruleName);
}

/** Outputs IMM "made": objects in the bucket, as a task that succeeded leaves them. */
function produce(app: ReturnType<typeof fakeApp>, keys = OUTPUTS) {
  for (const key of keys) app.bucket.objects.set(key, 'animation bytes');
}

/** A job whose first attempt died: after IMM accepted a task (`withTask`) or before. */
async function abandonedJob(app: ReturnType<typeof fakeApp>, withTask: boolean) {
  app.bucket.objects.set(KEY, 'video bytes');
  const plan = planJob({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, app.config.rules[0]!);
  await app.store.markOpen(plan.jobId);
  await app.store.createJob(newJobIdentity(plan, app.clock.now()));
  await app.store.claimAttempt(plan.jobId, startAttempt(1, 'event', app.clock.now(), LEASE_MS, 'crashed'));
  if (withTask) await app.imm.engine.submit(samplePlan(plan), 1);
  return plan.jobId;
}

describe('submit: one job per upload and rule', () => {
  it('creates the job, claims its outputs, starts one task and lists the job as open', async () => {
    const app = fakeApp();
    const [outcome] = await upload(app);
    assert.equal(outcome?.status, 'submitted');
    assert.equal(app.imm.tasks.length, 1);
    const job = (await app.store.getJob(jobId(app)))!;
    assert.equal(job.status, 'submitted');
    assert.deepEqual(job.outputs.map((o) => [o.key, o.taskId]), OUTPUTS.map((k) => [k, 'task-1']));
    assert.deepEqual(job.attempts.map((a) => [a.number, a.trigger, a.outcome]), [[1, 'event', 'submitted']]);
    assert.deepEqual([...app.store.open], [job.jobId]);
    assert.deepEqual([...app.store.owners.values()].map((o) => [o.outputKey, o.sourceKey]), OUTPUTS.map((k) => [k, KEY]));
    assert.equal(app.imm.listCalls(), 0, 'a first attempt has nothing to look up');
  });

  it('a duplicate event finds the job and starts nothing', async () => {
    const app = fakeApp();
    await upload(app);
    const [again] = await upload(app);
    assert.equal(again?.status, 'duplicate');
    assert.equal(app.imm.tasks.length, 1);
  });

  it('concurrent duplicate events start one task', async () => {
    const app = fakeApp();
    app.bucket.objects.set(KEY, 'video bytes');
    const outcomes = (await Promise.all([1, 2, 3].map((i) => submitUploads(uploadEvent(KEY), app.deps(`req-${i}`))))).flat();
    assert.equal(app.imm.tasks.length, 1);
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['duplicate', 'duplicate', 'submitted']);
  });

  it('a duplicate while the holder lives is acknowledged at once: no waiting, nothing started', async () => {
    const app = fakeApp({ budgetMs: 5_000 });
    const id = await abandonedJob(app, false);
    const started = app.clock.now();
    const [outcome] = await submitUploads(uploadEvent(KEY), app.deps());
    assert.equal(outcome?.status, 'duplicate');
    assert.match(outcome?.reason ?? '', /another invocation is working on this job; it finishes it, or reconcile takes over/);
    assert.equal(app.clock.now(), started, 'no time passed waiting');
    assert.equal(app.imm.tasks.length, 0, 'nothing is submitted under a live lease');
    assert.equal((await app.store.listAttempts(id)).length, 1);
  });

  it('takes over an abandoned attempt that started nothing: ListTasks first, then one task', async () => {
    const app = fakeApp();
    const id = await abandonedJob(app, false);
    app.clock.advance(LEASE_MS);
    const [outcome] = await submitUploads(uploadEvent(KEY), app.deps());
    assert.equal(outcome?.status, 'submitted');
    assert.equal(app.imm.listCalls(), 1);
    assert.equal(app.imm.tasks.length, 1);
    const job = (await app.store.getJob(id))!;
    assert.deepEqual(job.attempts.map((a) => [a.number, a.trigger, a.outcome ?? 'none']), [[1, 'event', 'none'], [2, 'takeover', 'submitted']]);
  });

  it('never bills twice: a takeover adopts the task IMM accepted before the crash', async () => {
    const app = fakeApp();
    const id = await abandonedJob(app, true);
    app.clock.advance(LEASE_MS);
    await submitUploads(uploadEvent(KEY), app.deps());
    assert.equal(app.imm.tasks.length, 1, 'no second task');
    const job = (await app.store.getJob(id))!;
    assert.equal(job.status, 'submitted');
    assert.deepEqual(job.attempts.at(-1)?.tasks.map((t) => t.taskId), ['task-1']);
    assert.equal(job.attempts.at(-1)?.outcome, 'adopted');
  });

  it('fails the job at once when IMM refuses the task (4xx), with its code', async () => {
    const app = fakeApp();
    app.imm.refuseNext(serviceError(400, 'InvalidArgument', 'Width is invalid'));
    const [outcome] = await upload(app);
    assert.equal(outcome?.status, 'failed');
    const job = (await app.store.getJob(jobId(app)))!;
    assert.deepEqual(job.error, { code: 'InvalidArgument', message: 'Width is invalid' });
    assert.equal(app.store.open.size, 0, 'an ended job leaves the open-jobs index');
  });

  it('throws on a transient refusal and releases the job, so the retried event submits at once', async () => {
    const app = fakeApp();
    app.imm.refuseNext(serviceError(503, 'ServiceUnavailable'));
    await assert.rejects(upload(app), TransientFailure);
    const [outcome] = await upload(app);
    assert.equal(outcome?.status, 'submitted');
    const job = (await app.store.getJob(jobId(app)))!;
    assert.deepEqual(job.attempts.map((a) => [a.trigger, a.outcome]), [['event', 'retrying'], ['event', 'submitted']]);
  });

  it('partial resubmission: an engine that got part way submits only the missing outputs next time', async () => {
    const app = fakeApp({ engine: (imm) => fakeOssEngine(imm, { output: 1, error: serviceError(503, 'ServiceUnavailable') }) });
    await assert.rejects(upload(app), TransientFailure);
    assert.deepEqual(app.imm.tasks.map((t) => t.outputs), [[OUTPUTS[0]]]);
    await upload(app);
    assert.deepEqual(app.imm.tasks.map((t) => t.outputs), [[OUTPUTS[0]], [OUTPUTS[1]]]);
    const job = (await app.store.getJob(jobId(app)))!;
    assert.equal(job.status, 'submitted');
    assert.deepEqual(job.outputs.map((o) => o.taskId), ['task-1', 'task-2']);
  });

  it('engine oss: after an attempt died mid-submission, waits RECONCILE_AFTER_SECONDS before submitting again', async () => {
    const app = fakeApp({ engine: (imm) => fakeOssEngine(imm) });
    const id = await abandonedJob(app, false);
    app.clock.advance(LEASE_MS);
    const [deferred] = await submitUploads(uploadEvent(KEY), app.deps());
    assert.equal(deferred?.status, 'deferred');
    assert.match(deferred?.reason ?? '', /AwaitingUnrecordedTask/);
    assert.equal(app.imm.tasks.length, 0);
    app.clock.advance(app.config.reconcileAfterSeconds * 1000);
    const ctx = await bucketContext(app.deps(), BUCKET);
    const outcome = await advanceJob(ctx, id, 'reconcile');
    assert.equal(outcome.status, 'submitted');
    assert.equal(app.imm.tasks.length, 2, 'one task per output');
  });
});

describe('output ownership', () => {
  const collidingRules = [{ name: 'preview', prefix: 'videos/', outputs: [{ format: 'gif' as const, key: 'animations/{barename}' }] }];

  it('a second source resolving to the same output key fails naming the key, the owner and the fix', async () => {
    const app = fakeApp({ config: testConfig({}, collidingRules) });
    await upload(app, 'videos/clip.avi');
    const [outcome] = await upload(app, 'videos/clip.webm');
    assert.equal(outcome?.status, 'failed');
    assert.equal(app.imm.tasks.length, 1, 'the second source submits nothing');
    const job = (await app.store.getJob(jobId(app, 'videos/clip.webm')))!;
    assert.equal(job.error?.code, 'OutputOwned');
    assert.match(job.error!.message, /animations\/clip\.gif belongs to videos\/clip\.avi/);
    assert.match(job.error!.message, /\{basename\}/);
  });

  it('a new version of the same source replaces its own outputs', async () => {
    const app = fakeApp({ config: testConfig({}, collidingRules) });
    await upload(app, 'videos/clip.avi', 'V1');
    const [second] = await upload(app, 'videos/clip.avi', 'V2');
    assert.equal(second?.status, 'submitted');
    assert.equal(app.imm.tasks.length, 2);
  });

  it('two concurrent sources: exactly one wins the key', async () => {
    const app = fakeApp({ config: testConfig({}, collidingRules) });
    const outcomes = (await Promise.all([upload(app, 'videos/clip.avi'), upload(app, 'videos/clip.webm')])).flat();
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['failed', 'submitted']);
    assert.equal(app.imm.tasks.length, 1);
  });
});

describe('record: a task notice', () => {
  it('records a success: outputs checked and tagged, job succeeded, open entry removed', async () => {
    const app = fakeApp();
    await upload(app);
    produce(app);
    const outcome = await recordTaskNotice(notice('task-1', jobId(app)), app.deps());
    assert.equal(outcome.status, 'recorded');
    const job = (await app.store.getJob(jobId(app)))!;
    assert.equal(job.status, 'succeeded');
    assert.deepEqual(job.outputs.map((o) => [o.bytes, o.tagged]), [[15, true], [15, true]]);
    assert.equal(app.bucket.tags.get(OUTPUTS[0]!)?.['source'], KEY);
    assert.equal(app.store.open.size, 0);
  });

  it('a redelivered notice changes nothing', async () => {
    const app = fakeApp();
    await upload(app);
    produce(app);
    await recordTaskNotice(notice('task-1', jobId(app)), app.deps());
    const before = JSON.stringify(await app.store.getJob(jobId(app)));
    const again = await recordTaskNotice(notice('task-1', jobId(app)), app.deps());
    assert.equal(again.status, 'duplicate');
    assert.equal(JSON.stringify(await app.store.getJob(jobId(app))), before);
  });

  it('succeeds only when every output has a result: one task per output, notices in any order or at once', async () => {
    for (const order of [['task-1', 'task-2'], ['task-2', 'task-1'], 'concurrent'] as const) {
      const app = fakeApp({ engine: (imm) => fakeOssEngine(imm) });
      await upload(app);
      produce(app);
      const id = jobId(app);
      if (order === 'concurrent') {
        await Promise.all([recordTaskNotice(notice('task-1', id), app.deps('a')), recordTaskNotice(notice('task-2', id), app.deps('b'))]);
      } else {
        await recordTaskNotice(notice(order[0], id), app.deps());
        assert.equal((await app.store.getJob(id))!.status, 'submitted', `${order}: one of two outputs is not success`);
        await recordTaskNotice(notice(order[1], id), app.deps());
      }
      assert.equal((await app.store.getJob(id))!.status, 'succeeded', String(order));
    }
  });

  it('adopts a task no attempt recorded by its result, at once, without claiming anything', async () => {
    const app = fakeApp();
    const id = await abandonedJob(app, true);
    produce(app);
    const outcome = await recordTaskNotice(notice('task-1', id), app.deps());
    assert.equal(outcome.status, 'recorded');
    const job = (await app.store.getJob(id))!;
    assert.equal(job.status, 'succeeded');
    assert.deepEqual(job.outputs.map((o) => o.taskId), ['task-1', 'task-1']);
    assert.deepEqual(job.attempts.map((a) => [a.trigger, a.outcome ?? 'none']), [['event', 'none']]);
  });

  it('a transient task failure starts a new task right away, up to MAX_TASK_ATTEMPTS in all', async () => {
    const app = fakeApp();
    await upload(app);
    const id = jobId(app);
    for (const taskId of ['task-1', 'task-2']) {
      await recordTaskNotice(notice(taskId, id, 'Failed', { Code: 'InternalError', Message: 'oops' }), app.deps());
      assert.equal((await app.store.getJob(id))!.status, 'submitted', 'a retry task is running');
    }
    assert.equal(app.imm.tasks.length, 3);
    assert.deepEqual((await app.store.getJob(id))!.attempts.map((a) => a.trigger), ['event', 'task-retry', 'task-retry']);
    await recordTaskNotice(notice('task-3', id, 'Failed', { Code: 'InternalError', Message: 'oops' }), app.deps());
    const job = (await app.store.getJob(id))!;
    assert.equal(job.status, 'failed');
    assert.equal(app.imm.tasks.length, 3);
    assert.match(job.error!.message, /gave up after 3 tasks/);
  });

  it('a permanent task failure fails the job at once with IMM Code and Message', async () => {
    const app = fakeApp();
    await upload(app);
    await recordTaskNotice(notice('task-1', jobId(app), 'Failed', { Code: 'InvalidFile.Media', Message: 'not a video' }), app.deps());
    const job = (await app.store.getJob(jobId(app)))!;
    assert.equal(job.status, 'failed');
    assert.deepEqual(job.error, { code: 'InvalidFile.Media', message: 'not a video' });
    assert.equal(app.imm.tasks.length, 1);
  });

  it('a permanent OSS error while recording ends the job naming it, and the notice is acknowledged', async () => {
    const app = fakeApp();
    await upload(app);
    produce(app);
    app.bucket.failNext('tag', serviceError(403, 'AccessDenied', 'You have no right to access this object.'));
    const outcome = await recordTaskNotice(notice('task-1', jobId(app)), app.deps());
    assert.equal(outcome.status, 'recorded');
    const job = (await app.store.getJob(jobId(app)))!;
    assert.equal(job.status, 'failed');
    assert.equal(job.error?.code, 'AccessDenied');
    assert.match(job.error!.message, /recording animations\/clip\.mp4\.gif failed/);
  });

  it('a transient OSS error while recording throws, so the notice comes again and then succeeds', async () => {
    const app = fakeApp();
    await upload(app);
    produce(app);
    app.bucket.failNext('get', serviceError(503, 'ServiceUnavailable'), { key: OUTPUTS[0]!, times: 6 });
    await assert.rejects(recordTaskNotice(notice('task-1', jobId(app)), app.deps()), TransientFailure);
    assert.equal((await app.store.getJob(jobId(app)))!.status, 'submitted');
    await recordTaskNotice(notice('task-1', jobId(app)), app.deps());
    assert.equal((await app.store.getJob(jobId(app)))!.status, 'succeeded');
  });

  it('a task whose outputs are missing fails the job with OutputMissing', async () => {
    const app = fakeApp();
    await upload(app);
    await recordTaskNotice(notice('task-1', jobId(app)), app.deps());
    assert.equal((await app.store.getJob(jobId(app)))!.error?.code, 'OutputMissing');
  });
});

describe('no lost update', () => {
  it('a takeover that read the job before the record function finished cannot bring it back', async () => {
    // Attempt 1 died after IMM accepted task-1. A retried event reads the job (pending, abandoned) and is about to
    // claim attempt 2; meanwhile the notice adopts task-1 (as attempt 2), records it and saves `succeeded`.
    const app = fakeApp();
    const id = await abandonedJob(app, true);
    produce(app);
    app.clock.advance(LEASE_MS);
    const claim = app.store.claimAttempt;
    let interleaved = false;
    app.store.claimAttempt = async (jobIdArg, attempt) => {
      if (!interleaved && attempt.trigger === 'takeover') {
        interleaved = true;
        assert.equal((await recordTaskNotice(notice('task-1', id), app.deps('record'))).status, 'recorded');
        assert.equal((await app.store.getJob(id))!.status, 'succeeded');
      }
      return claim(jobIdArg, attempt);
    };
    await submitUploads(uploadEvent(KEY), app.deps('takeover'));
    assert.ok(interleaved);
    // The takeover adopted task-1 (ListTasks) instead of starting one; the terminal record stands.
    assert.equal(app.imm.tasks.length, 1);
    assert.equal((await app.store.getJob(id))!.status, 'succeeded');
    assert.equal(app.store.ended.get(id)?.status, 'succeeded');
    assert.deepEqual((await app.store.listJobIndex({})).map((e) => e.status), ['succeeded'], 'the index keeps the furthest entry');
    assert.equal(app.store.open.size, 0, 'the adoption did not reopen the job');
  });

  it('two notices recording the two tasks of one job at once: the one that reads last ends the job', async () => {
    // Engine oss: one task per output. The first notice writes its result; before it reads the facts again, the
    // second notice records its own task. Neither saw the other's result when it started, yet the job ends.
    const app = fakeApp({ engine: (imm) => fakeOssEngine(imm) });
    await upload(app);
    produce(app);
    const id = jobId(app);
    const put = app.store.putTaskResult;
    let interleaved = false;
    app.store.putTaskResult = async (result) => {
      const stored = await put(result);
      if (!interleaved) {
        interleaved = true;
        assert.equal((await recordTaskNotice(notice('task-2', id), app.deps('other'))).status, 'recorded');
      }
      return stored;
    };
    await recordTaskNotice(notice('task-1', id), app.deps('first'));
    assert.ok(interleaved);
    const job = (await app.store.getJob(id))!;
    assert.equal(job.status, 'succeeded');
    assert.ok(app.store.ended.has(id), 'the terminal record is written');
    assert.equal(app.store.open.size, 0);
  });
});

describe('advanceJob', () => {
  it('fails a job whose rule no longer exists', async () => {
    const app = fakeApp();
    const id = await abandonedJob(app, false);
    app.clock.advance(LEASE_MS);
    const other = fakeApp({ config: testConfig({}, [{ name: 'other', prefix: 'videos/', outputs: [{ format: 'gif', key: 'x/{basename}' }] }]) });
    const deps = { ...app.deps(), config: other.config };
    const outcome = await advanceJob(await bucketContext(deps, BUCKET), id, 'reconcile');
    assert.equal(outcome.status, 'failed');
    assert.equal((await app.store.getJob(id))!.error?.code, 'RuleChanged');
  });

  it('leaves a job held by a live attempt alone', async () => {
    const app = fakeApp();
    const id = await abandonedJob(app, false);
    const outcome = await advanceJob(await bucketContext(app.deps(), BUCKET), id, 'reconcile');
    assert.equal(outcome.status, 'busy');
  });

  it('ended attempts release the job immediately', async () => {
    const app = fakeApp();
    const id = await abandonedJob(app, false);
    const [first] = await app.store.listAttempts(id);
    await app.store.saveAttempt(id, endAttempt(first!, 'retrying', app.clock.now(), { error: { code: 'Throttling', message: 'slow down' } }));
    const outcome = await advanceJob(await bucketContext(app.deps(), BUCKET), id, 'reconcile');
    assert.equal(outcome.status, 'submitted');
    assert.equal(app.imm.listCalls(), 1);
  });
});

