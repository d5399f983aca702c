import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestStack, type TestStack } from './helpers/stack';

/**
 * The job lifecycle end to end on the local stack, through the built bundles and the real clients: a crash after
 * IMM accepted a task, a lost notice, transient and permanent task failures, two sources sharing an output key.
 */

async function upload(stack: TestStack, key: string, seconds = 1) {
  await stack.client.put(key, await stack.sampleVideo(seconds, `${key.replace(/\W/g, '_')}.mp4`));
  await stack.idle();
}

const tasksFor = (stack: TestStack, key: string) => stack.imm.tasks().filter((t) => JSON.stringify(t.requestedSources).includes(key));

describe('submit crashes right after IMM accepted the task', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({
      faults: { crash: { resource: 'submit', after: 'task-submitted', times: 1 } },
      functionEnv: { JOB_LEASE_SECONDS: '1' },
      delayScale: 1,
    });
  });
  after(async () => stack?.stop());

  it('bills one task: the takeover (or the notice) adopts the task instead of submitting again', async (t) => {
    const key = 'videos/crash/accepted.mp4';
    await upload(stack, key);
    const record = await stack.recordFor(key);
    const crashed = stack.invocations().filter((i) => i.error?.name === 'InstanceCrashed');
    t.diagnostic(`crashes ${crashed.length}, IMM tasks ${tasksFor(stack, key).length}, attempts ${JSON.stringify(record?.attempts.map((a) => [a.trigger, a.outcome]))}`);
    assert.equal(crashed.length, 1);
    assert.equal(tasksFor(stack, key).length, 1, 'one billed task');
    assert.equal(record?.status, 'succeeded');
    // The notice adopts the task by recording its result, or a takeover adopts it (ListTasks): nothing submits again.
    const [first, ...later] = record.attempts.map((a) => a.outcome ?? 'died');
    assert.equal(first, 'died');
    assert.ok(later.every((outcome) => outcome === 'adopted'), String(later));
    assert.equal(stack.failures().length, 0);
  });
});

describe('a completion notice that never arrives', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ faults: { notices: { dropFirst: 1 } }, functionEnv: { RECONCILE_AFTER_SECONDS: '0.5' } });
  });
  after(async () => stack?.stop());

  it('is finished by reconcile: IMM GetTask, outputs checked and tagged as the record function would', async () => {
    const key = 'videos/lost/notice.mp4';
    await upload(stack, key);
    const open = await stack.recordFor(key);
    assert.equal(open?.status, 'submitted', 'without its notice the job stays submitted');
    await new Promise((resolve) => setTimeout(resolve, 600));
    const summary = (await stack.fireTimer('reconcile')) as { actions: Record<string, number> };
    assert.deepEqual(summary.actions, { asked: 1 });
    const done = await stack.recordFor(key);
    assert.equal(done?.status, 'succeeded');
    for (const output of done.outputs) {
      const tags = (await stack.client.getObjectTagging(output.key)).tag;
      assert.equal(tags['job'], done.jobId);
      assert.equal(tags['task'], output.taskId);
    }
    const again = (await stack.fireTimer('reconcile')) as { looked: number };
    assert.equal(again.looked, 0, 'the open-jobs index no longer lists it');
  });
});

describe('task failures', () => {
  it('a transient one (InternalError) gets a new task, which succeeds', async () => {
    const stack = await startTestStack({ faults: { imm: { failFirstTasks: 1 } } });
    try {
      const key = 'videos/retry/once.mp4';
      await upload(stack, key);
      const record = await stack.recordFor(key);
      assert.equal(record?.status, 'succeeded');
      assert.deepEqual(record.attempts.map((a) => [a.trigger, a.outcome]), [['event', 'submitted'], ['task-retry', 'submitted']]);
      const tasks = tasksFor(stack, key);
      assert.deepEqual(tasks.map((t) => [t.status, t.code]), [['Failed', 'InternalError'], ['Succeeded', '']]);
      assert.equal(record.outputs[0]?.taskId, tasks[1]?.taskId);
    } finally {
      await stack.stop();
    }
  });

  it('a permanent one (InvalidFile.Media) fails the job at once with IMM Code and Message', async () => {
    const stack = await startTestStack({ faults: { imm: { failFirstTasks: 1, failTaskCode: 'InvalidFile.Media' } } });
    try {
      const key = 'videos/retry/never.mp4';
      await upload(stack, key);
      const record = await stack.recordFor(key);
      assert.equal(record?.status, 'failed');
      assert.equal(record.error?.code, 'InvalidFile.Media');
      assert.ok(record.error?.message);
      assert.equal(tasksFor(stack, key).length, 1);
    } finally {
      await stack.stop();
    }
  });
});

describe('two sources whose outputs resolve to one key', () => {
  let stack: TestStack;
  before(async () => {
    const rules = [{ name: 'preview', prefix: 'videos/', outputs: [{ format: 'gif', key: 'animations/{barename}', width: 64, interval: 0.5, maxFrames: 3 }] }];
    stack = await startTestStack({ functionEnv: { RULES: JSON.stringify(rules) } });
  });
  after(async () => stack?.stop());

  it('the first keeps the key; the second fails naming the owner and the fix, and overwrites nothing', async () => {
    await upload(stack, 'videos/clip.avi');
    const before = (await stack.client.get('animations/clip.gif')).content as Buffer;
    await upload(stack, 'videos/clip.webm', 2);
    const first = await stack.recordFor('videos/clip.avi');
    const second = await stack.recordFor('videos/clip.webm');
    assert.equal(first?.status, 'succeeded');
    assert.equal(second?.status, 'failed');
    assert.equal(second.error?.code, 'OutputOwned');
    assert.match(second.error!.message, /animations\/clip\.gif belongs to videos\/clip\.avi/);
    assert.equal(tasksFor(stack, 'videos/clip.webm').length, 0, 'nothing was submitted for the second source');
    assert.deepEqual((await stack.client.get('animations/clip.gif')).content, before);
    assert.equal((await stack.client.getObjectTagging('animations/clip.gif')).tag['source'], 'videos/clip.avi');
  });
});
