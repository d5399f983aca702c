import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { bucketContext } from '../../shared/app/context';
import { recordTaskNotice } from '../../shared/app/record';
import { submitUploads } from '../../shared/app/submit';
import { recordTaskEnd } from '../../shared/app/task-end';
import type { TaskResult } from '../../shared/jobs/job';
import { jobIdFor } from '../../shared/jobs/plan';
import { BUCKET, DEFAULT_RULES, fakeApp, fakeOssEngine, notice, serviceError, testConfig, uploadEvent } from '../helpers/fake-app';

/** The facts recording a task writes: the task's result (once, beside the job or in its terminal record) and the outcome. */
const KEY = 'videos/clip.mp4';
const GIF = 'animations/clip.mp4.gif';
const WEBP = 'animations/clip.mp4.webp';
const jobId = jobIdFor({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, 'preview');

/** A submitted job: engine imm (one task for both outputs) or engine oss (one task per output). */
async function submitted(engine: 'imm' | 'oss' = 'imm') {
  const app =
    engine === 'oss'
      ? fakeApp({ engine: (imm) => fakeOssEngine(imm), config: testConfig({}, DEFAULT_RULES.map((r) => ({ ...r, engine: 'oss' as const }))) })
      : fakeApp();
  app.bucket.objects.set(KEY, 'video');
  const [outcome] = await submitUploads(uploadEvent(KEY), app.deps());
  assert.equal(outcome?.status, 'submitted');
  app.bucket.objects.set(GIF, 'GIF89a');
  app.bucket.objects.set(WEBP, 'RIFF');
  return app;
}

const resultOf = (app: ReturnType<typeof fakeApp>, taskId: string) => app.store.results.get(jobId)?.get(taskId);
const copies = (app: ReturnType<typeof fakeApp>) => {
  const keys: string[] = [];
  const copy = app.bucket.copyInPlace;
  app.bucket.copyInPlace = (key, options) => (keys.push(key), copy(key, options));
  return keys;
};

describe('the result of a task, written beside its job', () => {
  it('carries the task\'s times, each output\'s bytes and tags, and when it was recorded; no frames where none were counted', async () => {
    const app = await submitted('oss');
    const recordedAt = new Date(app.clock.now()).toISOString();
    const outcome = await recordTaskNotice(notice('task-1', jobId), app.deps());
    assert.deepEqual(outcome, { status: 'recorded', jobId, taskId: 'task-1', jobStatus: 'submitted' });
    assert.deepEqual(resultOf(app, 'task-1'), {
      jobId,
      taskId: 'task-1',
      recordedAt,
      startTime: '2026-01-01T00:00:01Z',
      endTime: '2026-01-01T00:00:30Z',
      status: 'Succeeded',
      error: null,
      outputs: [{ key: GIF, tagged: true, bytes: 6 }],
    } satisfies TaskResult);
  });

  it('an animation it can read has its frames counted, without a warning', async () => {
    const app = await submitted('oss');
    const frames = 3;
    const pixels = Buffer.alloc(8 * 8 * frames * 3, 0).map((_, i) => Math.floor(i / (8 * 8 * 3)) * 80);
    const gif = await sharp(pixels, { raw: { width: 8, height: 8 * frames, channels: 3, pageHeight: 8 } }).gif({ delay: [100, 100, 100], loop: 0 }).toBuffer();
    app.bucket.objects.set(GIF, gif.toString('latin1'));
    await recordTaskNotice(notice('task-1', jobId), app.deps());
    assert.deepEqual(resultOf(app, 'task-1')?.outputs, [{ key: GIF, tagged: true, bytes: gif.length, frames }]);
    assert.deepEqual(app.logs.filter((l) => l.level === 'warn'), []);
  });

  it('a notice with only one of the task\'s times keeps that one', async () => {
    for (const [missing, expected] of [
      [{ StartTime: '' }, { endTime: '2026-01-01T00:00:30Z' }],
      [{ EndTime: '' }, { startTime: '2026-01-01T00:00:01Z' }],
    ] as const) {
      const app = await submitted('oss');
      await recordTaskNotice({ ...notice('task-1', jobId), ...missing }, app.deps());
      const times = Object.fromEntries(Object.entries(resultOf(app, 'task-1')!).filter(([k]) => k.endsWith('Time')));
      assert.deepEqual(times, expected);
    }
  });

  it('a task learned without times (GetTask forgot them) is recorded without them', async () => {
    const app = await submitted('oss');
    await recordTaskEnd(await bucketContext(app.deps(), BUCKET), jobId, { taskId: 'task-1', status: 'Succeeded' });
    assert.deepEqual(Object.keys(resultOf(app, 'task-1')!).sort(), ['error', 'jobId', 'outputs', 'recordedAt', 'status', 'taskId']);
  });

  it('an engine oss task known to its attempt is recorded for its own output only, without the task index', async () => {
    const app = await submitted('oss');
    const outcome = await recordTaskEnd(await bucketContext(app.deps(), BUCKET), jobId, { taskId: 'task-2', status: 'Succeeded' });
    assert.equal(outcome.status, 'recorded');
    assert.deepEqual(resultOf(app, 'task-2')?.outputs.map((o) => o.key), [WEBP]);
    assert.deepEqual((await app.store.getJob(jobId))!.outputs.map((o) => o.tagged ?? false), [false, true]);
  });

  it('a transient task failure without a message: the result names the task, its outputs untagged; a new task starts', async () => {
    const app = await submitted();
    const outcome = await recordTaskNotice(notice('task-1', jobId, 'Failed', { Code: 'InternalError' }), app.deps());
    assert.deepEqual(outcome, { status: 'recorded', jobId, taskId: 'task-1', jobStatus: 'submitted' }, 'the job is where the retry left it');
    const result = resultOf(app, 'task-1')!;
    assert.deepEqual([result.status, result.error, result.outputs], [
      'Failed',
      { code: 'InternalError', message: 'task task-1 failed' },
      [{ key: GIF, tagged: false }, { key: WEBP, tagged: false }],
    ]);
    assert.equal(app.imm.tasks.length, 2);
  });
});

describe('a result that ends the job is written once, in the terminal record', () => {
  for (const [status, ended] of [
    ['succeeded', notice('task-1', jobId)],
    ['failed', notice('task-1', jobId, 'Failed', { Code: 'InvalidFile.Media', Message: 'not a video' })],
  ] as const) {
    it(`${status}: no result beside the job, the terminal record written, the job closed`, async () => {
      const app = await submitted();
      const outcome = await recordTaskNotice(ended, app.deps());
      assert.deepEqual(outcome, { status: 'recorded', jobId, taskId: 'task-1', jobStatus: status });
      assert.equal(app.store.results.get(jobId)?.size ?? 0, 0);
      assert.equal(app.store.ended.get(jobId)?.status, status);
      assert.equal(app.store.open.size, 0);
    });
  }

  it('a notice for a job that already ended is a duplicate, saying so, and reads nothing', async () => {
    const app = await submitted();
    await recordTaskNotice(notice('task-1', jobId), app.deps());
    const copied = copies(app);
    const again = await recordTaskNotice(notice('task-1', jobId), app.deps());
    assert.deepEqual(again, { status: 'duplicate', jobId, taskId: 'task-1', jobStatus: 'succeeded', reason: 'job is already succeeded' });
    assert.deepEqual(copied, []);
  });
});

describe('a task recorded again', () => {
  it('while its job runs on: a duplicate, with no request to the bucket and nothing written', async () => {
    const app = await submitted('oss');
    await recordTaskNotice(notice('task-1', jobId), app.deps());
    const before = resultOf(app, 'task-1');
    const copied = copies(app);
    app.clock.advance(1000);
    const again = await recordTaskNotice(notice('task-1', jobId), app.deps());
    assert.deepEqual(again, { status: 'duplicate', jobId, taskId: 'task-1', jobStatus: 'submitted' });
    assert.deepEqual(copied, []);
    assert.deepEqual(resultOf(app, 'task-1'), before);
  });

  for (const [status, result] of [
    ['succeeded', { status: 'Succeeded', error: null, outputs: [{ key: GIF, tagged: true, bytes: 6 }, { key: WEBP, tagged: true, bytes: 4 }] }],
    ['failed', { status: 'Failed', error: { code: 'InvalidFile.Media', message: 'not a video' }, outputs: [{ key: GIF, tagged: false }, { key: WEBP, tagged: false }] }],
  ] as const) {
    it(`after a recording that stopped before ending the job (${status}): the job ends, and the notice is a duplicate`, async () => {
      const app = await submitted();
      await app.store.putTaskResult({ jobId, taskId: 'task-1', recordedAt: new Date(app.clock.now()).toISOString(), ...result, outputs: [...result.outputs] });
      assert.equal(app.store.ended.has(jobId), false);
      const outcome = await recordTaskNotice(notice('task-1', jobId), app.deps());
      assert.deepEqual(outcome, { status: 'duplicate', jobId, taskId: 'task-1', jobStatus: status });
      assert.equal(app.store.ended.get(jobId)?.status, status);
      assert.equal(app.store.open.size, 0);
    });
  }
});

describe('two notices of one job at once', () => {
  it('the one whose write comes last reads the other\'s result again after writing, and ends the job', async () => {
    // Notice task-2 reads the job (no result yet) and, before it writes, notice task-1 records all of its own: task-1
    // saw no task-2 result, so only task-2, reading again after its write, can see both.
    const app = await submitted('oss');
    const put = app.store.putTaskResult;
    let interleaved = false;
    app.store.putTaskResult = async (result) => {
      if (result.taskId === 'task-2' && !interleaved) {
        interleaved = true;
        assert.deepEqual(await recordTaskNotice(notice('task-1', jobId), app.deps('first')), { status: 'recorded', jobId, taskId: 'task-1', jobStatus: 'submitted' });
      }
      return put(result);
    };
    const outcome = await recordTaskNotice(notice('task-2', jobId), app.deps('second'));
    assert.ok(interleaved);
    assert.deepEqual(outcome, { status: 'recorded', jobId, taskId: 'task-2', jobStatus: 'succeeded' });
    assert.equal(app.store.ended.get(jobId)?.status, 'succeeded');
  });
});

describe('the task retry a failed task owes', () => {
  it('that cannot start now is left to reconcile: the warning names the job and the reason', async () => {
    const app = await submitted();
    app.imm.refuseNext(serviceError(503, 'ServiceUnavailable'));
    const outcome = await recordTaskNotice(notice('task-1', jobId, 'Failed', { Code: 'InternalError' }), app.deps());
    assert.deepEqual(outcome, { status: 'recorded', jobId, taskId: 'task-1', jobStatus: 'pending' });
    const warning = app.logs.find((l) => l.level === 'warn' && l.message === 'task retry could not start now; reconcile will start it');
    assert.equal(warning?.['jobId'], jobId);
    assert.match(String(warning?.['reason']), /ServiceUnavailable/);
  });

  it('that fails with a bug throws it as it is', async () => {
    const app = await submitted();
    const bug = new TypeError('the store broke');
    app.store.claimAttempt = async () => {
      throw bug;
    };
    await assert.rejects(recordTaskNotice(notice('task-1', jobId, 'Failed', { Code: 'InternalError' }), app.deps()), (error) => error === bug);
  });
});
