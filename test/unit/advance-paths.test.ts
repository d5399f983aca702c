import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { advanceJob } from '../../shared/app/advance';
import { bucketContext } from '../../shared/app/context';
import { afterDeletion, startJob } from '../../shared/app/start';
import { recordTaskNotice } from '../../shared/app/record';
import { submitUploads } from '../../shared/app/submit';
import { PartialSubmitError, type ConversionEngine } from '../../shared/engines/engine';
import { endAttempt, startAttempt } from '../../shared/jobs/attempt';
import { loadJob } from '../../shared/jobs/lifecycle';
import { jobIdFor, newJobIdentity, planJob, samplePlan } from '../../shared/jobs/plan';
import { ConfigError, TransientFailure, UnknownOutcome } from '../../shared/platform/errors';
import type { RuleInput } from '../../shared/rules/schema';
import { BUCKET, DEFAULT_RULES, fakeApp, fakeOssEngine, LEASE_MS, notice, serviceError, T0, testConfig, uploadEvent } from '../helpers/fake-app';

const KEY = 'videos/clip.mp4';
const OUTPUTS = ['animations/clip.mp4.gif', 'animations/clip.mp4.webp'];
const idOf = (key = KEY) => jobIdFor({ bucket: BUCKET, key, eTag: 'ETAG1', size: 1000 }, 'preview');
const logsAt = (app: ReturnType<typeof fakeApp>, level: string) => app.logs.filter((l) => l.level === level);
const messages = (app: ReturnType<typeof fakeApp>, level: string) => logsAt(app, level).map((l) => l.message);
const ossConfig = (rules: RuleInput[] = DEFAULT_RULES) => testConfig({}, rules.map((r) => ({ ...r, engine: 'oss' as const })));
const FRAMES_RULES: RuleInput[] = [{ name: 'preview', prefix: 'videos/', outputs: [{ format: 'gif', key: 'animations/{basename}', frames: 10 }] }];

async function upload(app: ReturnType<typeof fakeApp>, requestId = 'req') {
  app.bucket.objects.set(KEY, 'video bytes');
  return submitUploads(uploadEvent(KEY), app.deps(requestId));
}

/** A job as a first delivery leaves it before its attempt ran: identity, open entry, attempt 1 claimed and running. */
async function claimedJob(app: ReturnType<typeof fakeApp>) {
  app.bucket.objects.set(KEY, 'video bytes');
  const plan = planJob({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, app.config.rules[0]!);
  await app.store.markOpen(plan.jobId);
  await app.store.createJob(newJobIdentity(plan, app.clock.now()));
  await app.store.claimAttempt(plan.jobId, startAttempt(1, 'event', app.clock.now(), LEASE_MS, 'crashed'));
  return plan;
}

const context = (app: ReturnType<typeof fakeApp>, requestId = 'req') => bucketContext(app.deps(requestId), BUCKET);

describe('advanceJob: jobs it leaves as they are', () => {
  it('a job that does not exist is missing, and nothing is started', async () => {
    const app = fakeApp();
    assert.deepEqual(await advanceJob(await context(app), idOf(), 'reconcile'), { status: 'missing' });
    assert.deepEqual(app.imm.calls, { create: 0, list: 0 });
  });

  it('a job its results ended whose terminal record was never written is concluded, once, without acting', async () => {
    const app = fakeApp();
    await upload(app);
    // The record function wrote the task's result and died before the terminal record.
    await app.store.putTaskResult({
      jobId: idOf(),
      taskId: 'task-1',
      status: 'Succeeded',
      error: null,
      outputs: OUTPUTS.map((key) => ({ key, bytes: 5, tagged: true })),
      recordedAt: new Date(app.clock.now()).toISOString(),
    });
    assert.equal(app.store.ended.has(idOf()), false);
    const endJob = app.store.endJob;
    let ends = 0;
    app.store.endJob = (record) => (ends++, endJob(record));
    const outcome = await advanceJob(await context(app), idOf(), 'reconcile');
    assert.deepEqual(outcome, { status: 'succeeded', acted: false, view: app.store.ended.get(idOf()) });
    assert.equal(app.store.open.size, 0, 'it left the open jobs');
    assert.equal(ends, 1);
    // Ended on record: the record is the answer; nothing is written again.
    const again = await advanceJob(await context(app), idOf(), 'reconcile');
    assert.deepEqual(again, { status: 'succeeded', acted: false, view: app.store.ended.get(idOf()) });
    assert.equal(ends, 1);
    assert.deepEqual(app.imm.calls, { create: 1, list: 0 });
  });

  it('a submitted job is reported as it is, and a duplicate delivery says so', async () => {
    const app = fakeApp();
    await upload(app);
    const outcome = await advanceJob(await context(app), idOf(), 'reconcile');
    assert.deepEqual(outcome, { status: 'submitted', acted: false, view: (await loadJob((await context(app)).life, idOf()))!.view });
    const [duplicate] = await upload(app, 'again');
    assert.deepEqual(duplicate, { status: 'duplicate', key: KEY, rule: 'preview', jobId: idOf(), reason: 'job is already submitted' });
    assert.deepEqual(app.imm.calls, { create: 1, list: 0 });
    assert.equal((await app.store.listAttempts(idOf())).length, 1);
  });

  it('an abandoned job that used all its attempts is left for an operator; one attempt fewer is taken over', async () => {
    for (const before of [12, 11]) {
      const app = fakeApp();
      const plan = await claimedJob(app);
      const [first] = await app.store.listAttempts(plan.jobId);
      await app.store.saveAttempt(plan.jobId, endAttempt(first!, 'retrying', app.clock.now(), { error: { code: 'Throttling', message: 'slow down' } }));
      for (let n = 2; n < before; n++) {
        await app.store.claimAttempt(plan.jobId, endAttempt(startAttempt(n, 'reconcile', app.clock.now(), LEASE_MS), 'retrying', app.clock.now(), { error: { code: 'Throttling', message: 'slow down' } }));
      }
      await app.store.claimAttempt(plan.jobId, startAttempt(before, 'reconcile', app.clock.now(), LEASE_MS));
      app.clock.advance(LEASE_MS);
      const outcome = await advanceJob(await context(app), plan.jobId, 'reconcile');
      const attempts = await app.store.listAttempts(plan.jobId);
      if (before === 12) {
        assert.equal(outcome.status, 'pending');
        assert.equal('acted' in outcome && outcome.acted, false);
        assert.equal(attempts.length, 12, 'no attempt is claimed');
        assert.equal(app.imm.calls.create, 0);
        const [line, ...more] = logsAt(app, 'error');
        assert.equal(more.length, 0);
        assert.deepEqual([line?.['jobId'], line?.['attempts']], [plan.jobId, 12]);
      } else {
        assert.equal(outcome.status, 'submitted');
        assert.deepEqual(attempts.map((a) => [a.number, a.trigger, a.outcome]).at(-1), [12, 'takeover', 'submitted']);
        assert.equal(app.imm.calls.create, 1);
        assert.deepEqual(messages(app, 'error'), []);
      }
    }
  });

  it('two invocations after the same state: the one that loses the claim is busy and starts nothing', async () => {
    const app = fakeApp();
    const plan = await claimedJob(app);
    const [first] = await app.store.listAttempts(plan.jobId);
    await app.store.saveAttempt(plan.jobId, endAttempt(first!, 'retrying', app.clock.now(), { error: { code: 'Throttling', message: 'slow down' } }));
    const ctx = await context(app);
    const seen = (await loadJob(ctx.life, plan.jobId))!;
    assert.equal((await advanceJob(ctx, plan.jobId, 'reconcile')).status, 'submitted');
    const late = await advanceJob(await context(app, 'late'), plan.jobId, 'reconcile', seen);
    assert.equal(late.status, 'busy');
    assert.equal('view' in late && late.view.status, 'pending', 'what it saw');
    assert.equal(app.imm.calls.create, 1);
    assert.equal((await app.store.listAttempts(plan.jobId)).length, 2);
  });

  it('a takeover says which attempt expired and which took over; a job released by its attempt is no takeover', async () => {
    const app = fakeApp();
    const plan = await claimedJob(app);
    app.clock.advance(LEASE_MS);
    await advanceJob(await context(app), plan.jobId, 'reconcile');
    const [warning] = logsAt(app, 'warn');
    assert.deepEqual([warning?.message, warning?.['jobId'], warning?.['abandoned'], warning?.['attempt']], ['taking over a job whose attempt expired', plan.jobId, 1, 2]);
    // ListTasks found nothing: nothing adopted, nothing said about it.
    assert.deepEqual(messages(app, 'warn'), ['taking over a job whose attempt expired']);

    const released = fakeApp();
    const other = await claimedJob(released);
    const [first] = await released.store.listAttempts(other.jobId);
    await released.store.saveAttempt(other.jobId, endAttempt(first!, 'retrying', released.clock.now(), { error: { code: 'Throttling', message: 'slow down' } }));
    await advanceJob(await context(released), other.jobId, 'reconcile');
    assert.deepEqual(messages(released, 'warn'), []);
    assert.deepEqual((await released.store.listAttempts(other.jobId)).map((a) => a.trigger), ['event', 'reconcile']);
  });
});

describe('an attempt: what it refuses, and the log lines an operator reads', () => {
  it('an unsafe source key: the error line names the job, the key and the reason', async () => {
    const app = fakeApp();
    const key = 'videos/../escaped.mp4';
    app.bucket.objects.set(key, 'video');
    await submitUploads(uploadEvent(key), app.deps());
    const [line, ...more] = logsAt(app, 'error');
    assert.equal(more.length, 0);
    assert.deepEqual([line?.['jobId'], line?.['key'], line?.['reason']], [idOf(key), key, 'it has a "." or ".." path segment']);
  });

  it('a rule that no longer makes all of the job outputs fails it with RuleChanged, naming them, and starts nothing', async () => {
    const app = fakeApp();
    const plan = await claimedJob(app);
    app.clock.advance(LEASE_MS);
    const narrowed = testConfig({}, [{ ...DEFAULT_RULES[0]!, outputs: [DEFAULT_RULES[0]!.outputs[0]!] }]);
    const outcome = await advanceJob(await bucketContext({ ...app.deps(), config: narrowed }, BUCKET), plan.jobId, 'reconcile');
    assert.equal(outcome.status, 'failed');
    assert.deepEqual((await app.store.getJob(plan.jobId))?.error, {
      code: 'RuleChanged',
      message: `rule "preview" no longer exists or no longer makes ${OUTPUTS.join(', ')}; upload the video again to run the current rules`,
    });
    assert.deepEqual(app.imm.calls, { create: 0, list: 0 });
  });

  it('a permanent refusal: the error line carries the job, the code and the reason', async () => {
    const app = fakeApp();
    app.imm.refuseNext(serviceError(400, 'InvalidArgument', 'Width is invalid'));
    await upload(app);
    const [line, ...more] = logsAt(app, 'error');
    assert.equal(more.length, 0);
    assert.deepEqual([line?.message, line?.['jobId'], line?.['code'], line?.['reason']], ['attempt failed permanently; job failed', idOf(), 'InvalidArgument', 'Width is invalid']);
  });

  it('an error that is no service answer (a bug) is thrown as it came and logged; the attempt stays open for reconcile', async () => {
    const bug = new TypeError('plan.outputs is not iterable');
    const app = fakeApp({
      engine: () => ({
        async submit() {
          throw bug;
        },
      }),
    });
    await assert.rejects(upload(app), (error) => error === bug);
    const [line, ...more] = logsAt(app, 'error');
    assert.equal(more.length, 0);
    assert.deepEqual([line?.['jobId'], line?.['attempt']], [idOf(), 1]);
    const attempts = await app.store.listAttempts(idOf());
    assert.deepEqual(attempts.map((a) => a.outcome), [undefined], 'no verdict on the job');
    assert.deepEqual([...app.store.open], [idOf()]);
  });

  it('a rule with frames and no IMM project: a ConfigError naming IMM_PROJECT, not logged as a bug, nothing started', async () => {
    const app = fakeApp({ config: testConfig({}, FRAMES_RULES) });
    app.bucket.objects.set(KEY, 'video bytes');
    await assert.rejects(submitUploads(uploadEvent(KEY), { ...app.deps(), mediaProbe: async () => undefined }), (error: Error) => error instanceof ConfigError && /^IMM_PROJECT is required/.test(error.message));
    assert.deepEqual(messages(app, 'error'), []);
    assert.equal(app.imm.calls.create, 0);
  });

  it('what an attempt learned of the source is not asked again: one DetectMediaMeta for two attempts', async () => {
    const app = fakeApp({ config: testConfig({}, FRAMES_RULES) });
    // Throttled on every try of the first attempt: refused for sure, so the event comes again.
    for (let i = 0; i < 6; i++) app.imm.refuseNext(serviceError(429, 'Throttling.User', 'slow down'));
    await assert.rejects(upload(app), TransientFailure);
    assert.equal(app.media.calls.length, 1);
    const [outcome] = await upload(app, 'again');
    assert.equal(outcome?.status, 'submitted');
    assert.equal(app.media.calls.length, 1, 'attempt 2 used what attempt 1 learned');
    const attempts = await app.store.listAttempts(jobIdFor({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, 'preview'));
    assert.deepEqual(attempts.map((a) => a.media?.duration), [60, 60]);
  });
});

describe('never billed twice: a lost answer and adopted tasks', () => {
  it('a lost CreateMediaConvertTask answer is resolved by one ListTasks: the task is adopted, nothing is sent again', async () => {
    const app = fakeApp();
    app.imm.dropAnswerNext();
    const [outcome] = await upload(app);
    assert.equal(outcome?.status, 'submitted');
    assert.deepEqual(app.imm.calls, { create: 1, list: 1 });
    const job = (await app.store.getJob(idOf()))!;
    assert.deepEqual(job.outputs.map((o) => o.taskId), ['task-1', 'task-1']);
    assert.deepEqual(job.attempts.map((a) => [a.number, a.outcome, a.tasks.map((t) => t.taskId)]), [[1, 'submitted', ['task-1']]]);
  });

  it('a partial submission whose last answer was lost adopts only the task it did not record', async () => {
    // An engine with one task per output that can look its tasks up: the second output's answer is lost.
    const app = fakeApp({
      engine: (imm): ConversionEngine => ({
        async submit(plan, attempt) {
          const [first] = await imm.engine.submit({ ...plan, outputs: [plan.outputs[0]!] }, attempt);
          const started = [{ taskId: first!.taskId, outputs: [plan.outputs[0]!.resolvedKey] }];
          imm.dropAnswerNext();
          try {
            await imm.engine.submit({ ...plan, outputs: [plan.outputs[1]!] }, attempt);
          } catch (error) {
            throw new PartialSubmitError(started, 'imm', error);
          }
          throw new Error('the answer was to be lost');
        },
        findJobTasks: imm.engine.findJobTasks!,
      }),
    });
    const [outcome] = await upload(app);
    assert.equal(outcome?.status, 'submitted');
    assert.deepEqual(app.imm.calls, { create: 2, list: 1 });
    const [attempt] = await app.store.listAttempts(idOf());
    assert.deepEqual(attempt?.tasks.map((t) => t.taskId), ['task-1', 'task-2']);
  });

  it('a takeover adopts a failed and a live task: the failed one gets its result, the live one is the current task', async () => {
    const app = fakeApp();
    const plan = await claimedJob(app);
    await app.imm.engine.submit(samplePlan(plan), 1);
    await app.imm.engine.submit(samplePlan(plan), 1);
    app.imm.finish('task-2', 'Failed', 'InternalError', 'oops');
    app.clock.advance(LEASE_MS);
    const outcome = await advanceJob(await context(app), plan.jobId, 'reconcile');
    assert.equal(outcome.status, 'submitted');
    const attempts = await app.store.listAttempts(plan.jobId);
    assert.deepEqual(attempts.at(-1)?.tasks, [
      { taskId: 'task-2', outputs: OUTPUTS },
      { taskId: 'task-1', outputs: OUTPUTS },
    ]);
    assert.deepEqual([...(app.store.results.get(plan.jobId)?.values() ?? [])], [
      {
        jobId: plan.jobId,
        taskId: 'task-2',
        status: 'Failed',
        error: { code: 'InternalError', message: 'oops' },
        startTime: '2026-01-01T00:00:02Z',
        endTime: '2026-01-01T00:10:00Z',
        outputs: OUTPUTS.map((key) => ({ key, tagged: false })),
        recordedAt: new Date(app.clock.now()).toISOString(),
      },
    ]);
    assert.deepEqual((await app.store.getJob(plan.jobId))?.outputs.map((o) => o.taskId), ['task-1', 'task-1']);
    assert.deepEqual(app.imm.calls, { create: 2, list: 1 });
  });
});

describe('engine oss: waiting RECONCILE_AFTER_SECONDS for a task nobody recorded', () => {
  it('defers, saying until when; at exactly that time it submits', async () => {
    const app = fakeApp({ engine: (imm) => fakeOssEngine(imm), config: ossConfig() });
    const plan = await claimedJob(app);
    app.clock.advance(LEASE_MS);
    const deferred = await advanceJob(await context(app), plan.jobId, 'reconcile');
    assert.equal(deferred.status, 'pending');
    const until = new Date(T0 + app.config.reconcileAfterSeconds * 1000).toISOString();
    assert.deepEqual('error' in deferred && deferred.error, {
      code: 'AwaitingUnrecordedTask',
      message: `attempt 1 may have started tasks it could not record; submitting again after ${until} (reconcile does it)`,
    });
    assert.deepEqual((await app.store.listAttempts(plan.jobId)).map((a) => a.outcome), [undefined, 'deferred']);
    app.clock.set(Date.parse(until));
    const outcome = await advanceJob(await context(app), plan.jobId, 'reconcile');
    assert.equal(outcome.status, 'submitted');
    assert.equal(app.imm.calls.create, 2, 'one task per output');
  });

  it('a refusal known to have started nothing (throttled) is not waited for: the next delivery submits at once', async () => {
    const app = fakeApp({ engine: (imm) => fakeOssEngine(imm), config: ossConfig() });
    for (let i = 0; i < 6; i++) app.imm.refuseNext(serviceError(429, 'Throttling', 'slow down'));
    await assert.rejects(upload(app), TransientFailure);
    assert.deepEqual((await app.store.listAttempts(idOf())).map((a) => [a.outcome, a.error?.code]), [['retrying', 'Throttling']]);
    const [outcome] = await upload(app, 'again');
    assert.equal(outcome?.status, 'submitted');
    assert.equal(app.imm.tasks.length, 2);
  });

  /** Engine oss, attempt 1: the gif's task started, the webp's POST got no answer (it may have started one). */
  async function lostWebpAnswer(app: ReturnType<typeof fakeApp>) {
    await assert.rejects(upload(app), TransientFailure);
    assert.deepEqual(
      (await app.store.listAttempts(idOf())).map((a) => [a.outcome, a.error?.code, a.tasks]),
      [['retrying', 'UnknownOutcome', [{ taskId: 'task-1', outputs: [OUTPUTS[0]] }]]],
    );
  }
  const lossyApp = () =>
    fakeApp({ engine: (imm) => fakeOssEngine(imm, { output: 1, error: new UnknownOutcome('oss may have started the task', { cause: undefined }) }), config: ossConfig() });

  it('a task retry waits while an output of the attempt that lost an answer has no task', async () => {
    const app = lossyApp();
    await lostWebpAnswer(app);
    await recordTaskNotice(notice('task-1', idOf(), 'Failed', { Code: 'InternalError', Message: 'oops' }), app.deps('record'));
    const attempts = await app.store.listAttempts(idOf());
    assert.deepEqual(attempts.map((a) => [a.trigger, a.outcome, a.error?.code]).at(-1), ['task-retry', 'deferred', 'AwaitingUnrecordedTask']);
    assert.equal(app.imm.calls.create, 1, 'neither the gif nor the webp is started again yet');
  });

  it('a task retry does not wait for an attempt whose lost output is settled otherwise', async () => {
    const app = lossyApp();
    await lostWebpAnswer(app);
    // The webp's task was found and recorded by its notice (adoption by source).
    await app.store.putTaskResult({ jobId: idOf(), taskId: 'task-9', status: 'Succeeded', error: null, outputs: [{ key: OUTPUTS[1]!, bytes: 5, tagged: true }], recordedAt: new Date(app.clock.now()).toISOString() });
    await recordTaskNotice(notice('task-1', idOf(), 'Failed', { Code: 'InternalError', Message: 'oops' }), app.deps('record'));
    const attempts = await app.store.listAttempts(idOf());
    assert.deepEqual(attempts.map((a) => [a.trigger, a.outcome]).at(-1), ['task-retry', 'submitted']);
    assert.deepEqual(app.imm.tasks.map((t) => t.outputs), [[OUTPUTS[0]], [OUTPUTS[0]]], 'the gif again, at once');
  });
});

describe('startJob', () => {
  it('afterDeletion: a job id of its own per job, shaped like the others', () => {
    const id = idOf();
    const next = afterDeletion(id);
    assert.match(next, /^[0-9a-f]{32}$/);
    assert.notEqual(next, id);
    assert.equal(afterDeletion(id), next, 'the same for every delivery');
    assert.notEqual(afterDeletion(idOf('videos/other.mp4')), next);
  });

  it('an attempt claimed for a job whose identity is missing: a duplicate naming the job, nothing started', async () => {
    const app = fakeApp();
    const plan = planJob({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, app.config.rules[0]!);
    await app.store.claimAttempt(plan.jobId, startAttempt(1, 'event', app.clock.now(), LEASE_MS));
    // The identity write "succeeded" but nothing is there to read (a store that lost it).
    app.store.createJob = async () => 'exists';
    const outcome = await startJob(await context(app), plan, 'event');
    assert.deepEqual(outcome, { status: 'duplicate', jobId: plan.jobId, reason: `job ${plan.jobId} was claimed but its identity is missing` });
    assert.equal(app.imm.calls.create, 0);
  });

  it('the job is listed under its source once, by the invocation that created it, before startJob returns', async () => {
    const app = fakeApp();
    const indexSource = app.store.indexSource;
    const listed: string[] = [];
    app.store.indexSource = async (sourceKey, jobId) => {
      // Slower than the whole attempt, which runs on promises alone.
      await new Promise((resolve) => setImmediate(resolve));
      listed.push(jobId);
      return indexSource(sourceKey, jobId);
    };
    const plan = planJob({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, app.config.rules[0]!);
    const outcome = await startJob(await context(app), plan, 'event');
    assert.equal(outcome.status, 'submitted');
    assert.deepEqual(listed, [plan.jobId]);
    assert.deepEqual(await app.store.jobsOfSource(KEY), [plan.jobId]);
    assert.equal('view' in outcome && outcome.view.retriedBy, undefined, 'a new job is retried by nothing');
    const again = await startJob(await context(app, 'again'), plan, 'event');
    assert.equal(again.status, 'duplicate');
    assert.deepEqual(listed, [plan.jobId], 'a duplicate delivery lists nothing again');
  });
});
