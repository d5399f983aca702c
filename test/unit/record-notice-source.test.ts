import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordTaskNotice } from '../../shared/app/record';
import { endAttempt, startAttempt, type AttemptTask, type JobAttempt } from '../../shared/jobs/attempt';
import { deriveJob } from '../../shared/jobs/derive';
import { newJobIdentity, planJob } from '../../shared/jobs/plan';
import { TransientFailure, UNKNOWN_OUTCOME } from '../../shared/platform/errors';
import type { RuleInput } from '../../shared/rules/schema';
import { DEFAULT_POLICY } from '../../shared/wiring/config';
import { BUCKET, fakeApp, LEASE_MS, notice, testConfig } from '../helpers/fake-app';

/**
 * A notice without our UserData (engine oss): found by the task index, else, for a task whose POST answer was lost,
 * by its source when exactly one job awaits such a task; a notice naming nothing of ours is ignored, saying why.
 */
const KEY = 'videos/clip.mp4';
const GIF = 'animations/clip.mp4.gif';
const WEBP = 'animations/clip.mp4.webp';
const outputs = [{ format: 'gif', key: 'animations/{basename}' }, { format: 'webp', key: 'animations/{basename}' }] as const;
const RULES: RuleInput[] = [
  { name: 'preview', prefix: 'videos/', engine: 'oss', outputs: [...outputs] },
  { name: 'by-imm', prefix: 'videos/', engine: 'imm', outputs: [{ format: 'gif', key: 'imm/{basename}' }] },
];

/** A notice as engine oss's tasks send it: no UserData, the source's URI. */
const bare = (taskId: string, extra: Record<string, unknown> = {}) => ({ ...notice(taskId, 'x'), UserData: '', Sources: [{ URI: `oss://${BUCKET}/${KEY}` }], ...extra });

function setup() {
  const app = fakeApp({ config: testConfig({}, RULES) });
  app.bucket.objects.set(GIF, 'GIF89a');
  app.bucket.objects.set(WEBP, 'RIFF');
  // The notices below ended just now: an unknown task is "not indexed yet", not "somebody else's".
  const recent = { EndTime: new Date(app.clock.now()).toISOString() };
  return { app, recent };
}

/** A job of the source, listed under it, with the attempts given (and, if `ended`, its terminal record). */
async function seedJob(app: ReturnType<typeof fakeApp>, eTag: string, attempts: JobAttempt[], options: { rule?: string; ended?: boolean } = {}) {
  const rule = app.config.rules.find((r) => r.name === (options.rule ?? 'preview'))!;
  const plan = planJob({ bucket: BUCKET, key: KEY, eTag, size: 1000 }, rule);
  const job = newJobIdentity(plan, app.clock.now());
  await app.store.createJob(job);
  await app.store.indexSource(KEY, plan.jobId);
  for (const attempt of attempts) await app.store.saveAttempt(plan.jobId, attempt);
  if (options.ended) {
    const view = deriveJob({ job, attempts, results: new Map(), retriedBy: [] }, DEFAULT_POLICY);
    await app.store.endJob({ ...view, status: 'failed', error: { code: 'Gone', message: 'ended' } });
  }
  return plan.jobId;
}

/** An attempt that ended long ago. */
const attempt = (number: number, outcome: NonNullable<JobAttempt['outcome']>, code?: string, tasks: AttemptTask[] = []) =>
  endAttempt(startAttempt(number, 'event', 0, LEASE_MS), outcome, 0, { tasks, ...(code ? { error: { code, message: code } } : {}) });
/** An attempt whose POST answer was lost (after the tasks it did record). */
const lost = (number: number, tasks: AttemptTask[] = []) => attempt(number, 'retrying', UNKNOWN_OUTCOME, tasks);

describe('a notice located by the task index', () => {
  it('records the outputs the index names, though the attempt that started the task never recorded it', async () => {
    const { app } = setup();
    // The attempt still holds the job (it is starting the gif's task).
    const jobId = await seedJob(app, 'E1', [startAttempt(1, 'event', app.clock.now(), LEASE_MS)]);
    await app.store.indexTask('task-7', { jobId, bucket: BUCKET, outputs: [WEBP] });
    const outcome = await recordTaskNotice(bare('task-7'), app.deps());
    assert.deepEqual(outcome, { status: 'recorded', jobId, taskId: 'task-7', jobStatus: 'pending' });
    assert.deepEqual(app.store.results.get(jobId)?.get('task-7')?.outputs.map((o) => o.key), [WEBP]);
    assert.equal(app.imm.tasks.length, 0, 'nothing started while the attempt holds the job');
  });
});

describe('a notice whose task was never indexed: the job awaiting a lost task, by its source', () => {
  it('of all the jobs of the source, only an open engine oss job whose latest lost attempt has nothing after it adopts it', async () => {
    const { app, recent } = setup();
    // The one: its lost attempt started the gif's task, then lost the webp's answer.
    const awaiting = await seedJob(app, 'A', [lost(1, [{ taskId: 'task-1', outputs: [GIF] }])]);
    // Each of these would be a second candidate (or, H: a retrying attempt without an error, a crash), and then nothing is adopted:
    await seedJob(app, 'B', [lost(1)], { ended: true });
    await seedJob(app, 'C', [lost(1)], { rule: 'by-imm' });
    await seedJob(app, 'D', [attempt(1, 'retrying', 'ServiceUnavailable')]);
    await seedJob(app, 'E', [attempt(1, 'failed', UNKNOWN_OUTCOME)]);
    await seedJob(app, 'H', [attempt(1, 'retrying')], { rule: 'preview' });
    await seedJob(app, 'F', [lost(1), attempt(2, 'submitted', undefined, [{ taskId: 'task-2', outputs: [GIF] }])]);
    await seedJob(app, 'G', [attempt(1, 'submitted', undefined, [{ taskId: 'task-3', outputs: [GIF, WEBP] }]), lost(2)]);
    // A source listing can name a job whose records are gone.
    await app.store.indexSource(KEY, 'gone');

    const outcome = await recordTaskNotice(bare('task-9', recent), app.deps());
    assert.deepEqual([outcome.status, 'jobId' in outcome && outcome.jobId], ['recorded', awaiting]);
    assert.deepEqual(app.store.results.get(awaiting)?.get('task-9')?.outputs.map((o) => o.key), [WEBP], 'the first output the attempt left without a task');
    const warning = app.logs.find((l) => l.level === 'warn' && l.message === 'adopting a task whose POST answer was lost, by its source');
    assert.deepEqual([warning?.['jobId'], warning?.['taskId'], warning?.['output']], [awaiting, 'task-9', WEBP]);
  });

  it('an attempt after the lost one that started nothing leaves the job awaiting the task', async () => {
    const { app, recent } = setup();
    const awaiting = await seedJob(app, 'A', [lost(1), attempt(2, 'deferred')]);
    const outcome = await recordTaskNotice(bare('task-9', recent), app.deps());
    assert.deepEqual([outcome.status, 'jobId' in outcome && outcome.jobId], ['recorded', awaiting]);
    assert.deepEqual(app.store.results.get(awaiting)?.get('task-9')?.outputs.map((o) => o.key), [GIF]);
  });

  it('no job awaits a task: a recent notice is retried, an old one is ignored', async () => {
    const { app, recent } = setup();
    await seedJob(app, 'G', [attempt(1, 'submitted', undefined, [{ taskId: 'task-3', outputs: [GIF, WEBP] }])]);
    await assert.rejects(recordTaskNotice(bare('task-9', recent), app.deps()), TransientFailure);
    assert.deepEqual(await recordTaskNotice(bare('task-9', { EndTime: '2025-12-31T23:00:00Z' }), app.deps()), {
      status: 'ignored',
      reason: 'task task-9 belongs to no video-animation job',
      taskId: 'task-9',
    });
  });
});

describe('a notice that names nothing of ours', () => {
  for (const [what, Sources] of [
    ['no source', []],
    ['a source that is not an oss:// URI', [{ URI: `xoss://${BUCKET}/${KEY}` }]],
    ['a source URI without an object', [{ URI: `oss://${BUCKET}/` }]],
  ] as const) {
    it(`${what}: ignored, saying why, without a look at any bucket`, async () => {
      const { app, recent } = setup();
      let looked = 0;
      const deps = { ...app.deps(), bucket: async () => (looked++, app.bucket), records: async () => (looked++, app.store) };
      const outcome = await recordTaskNotice(bare('task-9', { ...recent, Sources }), deps);
      assert.deepEqual(outcome, { status: 'ignored', reason: 'neither UserData nor a source bucket names a video-animation job', taskId: 'task-9' });
      assert.equal(looked, 0);
    });
  }
});
