import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deriveJob as deriveFromFacts, outputState, outputTasks, type LifecyclePolicy } from '../../shared/jobs/derive';
import type { JobAttempt, TaskResult } from '../../shared/jobs/job';
import { endAttempt, leaseState, startAttempt } from '../../shared/jobs/attempt';
import { newJobIdentity, planJob } from '../../shared/jobs/plan';
import { DEFAULT_POLICY } from '../../shared/wiring/config';
import { testConfig, T0 } from '../helpers/fake-app';

const rule = testConfig().rules[0]!;
const job = newJobIdentity(planJob({ bucket: 'media', key: 'videos/a.mp4', eTag: 'E', size: 1 }, rule), T0);
const [gif, webp] = job.outputs.map((o) => o.key) as [string, string];
const deriveJob = (_job: typeof job, attempts: JobAttempt[], found: Map<string, TaskResult>, policy: LifecyclePolicy) => deriveFromFacts({ job: _job, attempts, results: found, retriedBy: [] }, policy);

const submitted = (number: number, tasks: { taskId: string; outputs: string[] }[]): JobAttempt =>
  endAttempt(startAttempt(number, 'event', T0, 60_000), 'submitted', T0 + 1000, { tasks });
const result = (taskId: string, status: 'Succeeded' | 'Failed', code?: string): TaskResult => ({
  jobId: job.jobId,
  taskId,
  status,
  error: status === 'Failed' ? { code: code ?? 'InternalError', message: `${code} happened` } : null,
  outputs: [gif, webp].map((key) => ({ key, bytes: 10, tagged: status === 'Succeeded' })),
  recordedAt: new Date(T0 + 5000).toISOString(),
  endTime: '2026-01-01T00:00:05Z',
});
const results = (...list: TaskResult[]) => new Map(list.map((r) => [r.taskId, r]));
const both = (taskId: string) => ({ taskId, outputs: [gif, webp] });

describe('leaseState', () => {
  it('is free with no attempt, held while the latest attempt runs within its lease, abandoned after it', () => {
    assert.deepEqual(leaseState([], T0), { state: 'free' });
    const running = startAttempt(1, 'event', T0, 60_000);
    assert.deepEqual(leaseState([running], T0 + 59_999), { state: 'held', until: T0 + 60_000, attempt: 1 });
    assert.deepEqual(leaseState([running], T0 + 60_000), { state: 'abandoned', attempt: 1 });
  });

  it('is free once the latest attempt has an outcome, whatever its lease says', () => {
    const ended = endAttempt(startAttempt(1, 'event', T0, 60_000), 'retrying', T0 + 1);
    assert.deepEqual(leaseState([ended], T0 + 2), { state: 'free' });
    assert.deepEqual(leaseState([startAttempt(1, 'event', T0, 60_000), ended], T0 + 2), { state: 'free' }, 'only the latest attempt counts');
  });
});

describe('deriveJob', () => {
  const derive = (attempts: JobAttempt[], found = results(), policy = DEFAULT_POLICY) => deriveJob(job, attempts, found, policy);

  it('is pending while no task runs, submitted while every output has one', () => {
    assert.equal(derive([]).status, 'pending');
    const view = derive([submitted(1, [both('t1')])]);
    assert.equal(view.status, 'submitted');
    assert.deepEqual(view.outputs.map((o) => o.taskId), ['t1', 't1']);
    assert.equal(view.submittedAt, new Date(T0 + 1000).toISOString());
  });

  it('succeeds only when every output has its result', () => {
    const oneEach = submitted(1, [{ taskId: 'g', outputs: [gif] }, { taskId: 'w', outputs: [webp] }]);
    assert.equal(derive([oneEach], results(result('g', 'Succeeded'))).status, 'submitted');
    const done = derive([oneEach], results(result('g', 'Succeeded'), result('w', 'Succeeded')));
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(done.outputs.map((o) => [o.bytes, o.tagged]), [[10, true], [10, true]]);
    assert.equal(done.finishedAt, new Date(T0 + 5000).toISOString());
    assert.equal(done.error, null);
  });

  it('is pending while some output still has no task (an engine that got part way)', () => {
    const partial = endAttempt(startAttempt(1, 'event', T0, 60_000), 'retrying', T0 + 1, { tasks: [{ taskId: 'g', outputs: [gif] }], error: { code: 'ServiceUnavailable', message: 'x' } });
    const view = derive([partial]);
    assert.equal(view.status, 'pending');
    assert.equal(view.outputs[0]!.taskId, 'g');
    assert.equal(view.outputs[1]!.taskId, undefined);
  });

  it('fails at once on a permanent task failure, with IMM code and message', () => {
    const view = derive([submitted(1, [both('t1')])], results(result('t1', 'Failed', 'InvalidFile.Media')));
    assert.equal(view.status, 'failed');
    assert.deepEqual(view.error, { code: 'InvalidFile.Media', message: 'InvalidFile.Media happened' });
  });

  it('owes a retry after a transient task failure, and fails once MAX_TASK_ATTEMPTS tasks failed', () => {
    const first = [submitted(1, [both('t1')])];
    const view = derive(first, results(result('t1', 'Failed', 'InternalError')));
    assert.equal(view.status, 'pending');
    assert.equal(outputState(first, results(result('t1', 'Failed', 'InternalError')), gif, DEFAULT_POLICY).state, 'retry');

    const three = [submitted(1, [both('t1')]), submitted(2, [both('t2')]), submitted(3, [both('t3')])];
    const failedAll = results(result('t1', 'Failed', 'InternalError'), result('t2', 'Failed', 'ServiceUnavailable'), result('t3', 'Failed', 'InternalError'));
    const given = derive(three, failedAll);
    assert.equal(given.status, 'failed');
    assert.equal(given.error?.code, 'InternalError');
    assert.match(given.error!.message, /gave up after 3 tasks/);
    assert.equal(derive(three, failedAll, { ...DEFAULT_POLICY, maxTaskAttempts: 4 }).status, 'pending');
  });

  it('follows the latest task of each output', () => {
    const attempts = [submitted(1, [both('t1')]), submitted(2, [both('t2')])];
    assert.deepEqual(outputTasks(attempts, new Map(), gif), ['t1', 't2']);
    const view = derive(attempts, results(result('t1', 'Failed', 'InternalError'), result('t2', 'Succeeded')));
    assert.equal(view.status, 'succeeded');
    assert.deepEqual(view.outputs.map((o) => o.taskId), ['t2', 't2']);
  });

  it('fails when an attempt failed (a refused submission, an owned output), with its error', () => {
    const refused = endAttempt(startAttempt(1, 'event', T0, 1), 'failed', T0 + 1, { error: { code: 'InvalidArgument', message: 'bad width' } });
    assert.deepEqual(derive([refused]).error, { code: 'InvalidArgument', message: 'bad width' });
    assert.equal(derive([refused]).status, 'failed');
  });

  it('gives up after maxJobAttempts attempts that started nothing', () => {
    const retries = Array.from({ length: 3 }, (_, i) =>
      endAttempt(startAttempt(i + 1, 'event', T0, 1), 'retrying', T0 + 1, { error: { code: 'ServiceUnavailable', message: 'down' } }),
    );
    const policy = { ...DEFAULT_POLICY, maxJobAttempts: 3 };
    const view = deriveJob(job, retries, results(), policy);
    assert.equal(view.status, 'failed');
    assert.equal(view.error?.code, 'TooManyAttempts');
    assert.match(view.error!.message, /3 attempts \(ServiceUnavailable: down\)/);
    assert.equal(deriveJob(job, retries.slice(0, 2), results(), policy).status, 'pending');
    const running = [...retries.slice(0, 2), startAttempt(3, 'event', T0, 1)];
    assert.equal(deriveJob(job, running, results(), policy).status, 'pending', 'a running last attempt is not given up on');
  });
});

describe('deriveJob timestamps and task times', () => {
  it('has no submittedAt, finishedAt or task before anything ran', () => {
    const view = deriveJob(job, [], results(), DEFAULT_POLICY);
    assert.equal('submittedAt' in view, false);
    assert.equal('finishedAt' in view, false);
    assert.equal('task' in view, false);
  });

  it('spans the current tasks: the earliest start and the latest end', () => {
    const attempts = [submitted(1, [{ taskId: 'g', outputs: [gif] }, { taskId: 'w', outputs: [webp] }])];
    const g = { ...result('g', 'Succeeded'), startTime: '2026-01-01T00:00:02Z', endTime: '2026-01-01T00:00:09Z' };
    const w = { ...result('w', 'Succeeded'), startTime: '2026-01-01T00:00:01Z', endTime: '2026-01-01T00:00:07Z' };
    const view = deriveJob(job, attempts, results(g, w), DEFAULT_POLICY);
    assert.deepEqual(view.task, { startTime: '2026-01-01T00:00:01Z', endTime: '2026-01-01T00:00:09Z' });
  });

  it('a failed attempt finishes the job when it ended; results of replaced tasks do not count', () => {
    const refused = endAttempt(startAttempt(2, 'event', T0, 1), 'failed', T0 + 7000, { error: { code: 'X', message: 'y' } });
    const view = deriveJob(job, [submitted(1, [both('t1')]), refused], results(result('t1', 'Failed', 'InternalError')), DEFAULT_POLICY);
    assert.equal(view.finishedAt, new Date(T0 + 7000).toISOString());
    assert.equal(view.error?.code, 'X');
  });

  it('keeps planned frames and media from the attempts', () => {
    const first = { ...submitted(1, [both('t1')]), media: { duration: 60 }, plannedFrames: { [gif]: 12, [webp]: 24 } };
    const second = { ...submitted(2, [{ taskId: 't2', outputs: [webp] }]), plannedFrames: { [webp]: 20 } };
    const view = deriveJob(job, [first, second], results(), DEFAULT_POLICY);
    assert.deepEqual(view.outputs.map((o) => o.plannedFrames), [12, 20]);
    assert.deepEqual(view.media, { duration: 60 });
    assert.equal(deriveJob(job, [], results(), DEFAULT_POLICY).outputs[0]!.plannedFrames, undefined);
  });

  it('a failed result without an error still fails with a reason', () => {
    const bare = { ...result('t1', 'Failed'), error: null };
    const view = deriveJob(job, [submitted(1, [both('t1')])], results(bare), DEFAULT_POLICY);
    assert.deepEqual(view.error, { code: 'TaskFailed', message: 'task t1 failed' });
  });

  it('a failed attempt without an error still fails with a reason', () => {
    const refused = endAttempt(startAttempt(1, 'event', T0, 1), 'failed', T0 + 1);
    assert.deepEqual(deriveJob(job, [refused], results(), DEFAULT_POLICY).error, { code: 'SubmitFailed', message: 'attempt 1 failed' });
  });
});

describe('tasks known only from their result', () => {
  const deriveAll = (attempts: JobAttempt[], found = results()) => deriveJob(job, attempts, found, DEFAULT_POLICY);
  it('a result for a task no attempt recorded adopts it: the output is done with it', () => {
    const orphan = { ...result('t9', 'Succeeded'), startTime: '2026-01-01T00:00:09Z' };
    assert.deepEqual(outputTasks([submitted(1, [both('t1')])], results(orphan), gif), ['t1', 't9']);
    const view = deriveAll([startAttempt(1, 'event', T0, 60_000)], results(orphan));
    assert.equal(view.status, 'succeeded');
    assert.deepEqual(view.outputs.map((o) => o.taskId), ['t9', 't9']);
  });

  it('a success settles an output even when a later task of it is still running', () => {
    const view = deriveAll([submitted(1, [both('t1')]), submitted(2, [both('t2')])], results(result('t1', 'Succeeded')));
    assert.equal(view.status, 'succeeded');
  });

  it('a failed job shows no frames it never made; the terminal record is the job once written', () => {
    const planned = { ...submitted(1, [both('t1')]), plannedFrames: { [gif]: 24, [webp]: 48 } };
    assert.equal(deriveAll([planned]).frames, 72);
    const failed = deriveAll([planned], results(result('t1', 'Failed', 'InvalidFile.Media')));
    assert.equal(failed.status, 'failed');
    assert.equal(failed.frames, undefined);
    const ended = deriveFromFacts({ job, attempts: [], results: new Map(), ended: failed, retriedBy: ['b', 'a'] }, DEFAULT_POLICY);
    assert.deepEqual(ended, { ...failed, retriedBy: ['a', 'b'] });
  });
});
