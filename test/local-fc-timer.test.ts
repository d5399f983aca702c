import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { timerIntervalMs, UnsupportedTimerError } from '@video-animation/local-cloud';
import { startStack, type Stack, type StackOptions } from '../local/stack';
import { loadSpec, SpecError } from '../deploy/spec';

const SPEC = path.join(__dirname, 'fixtures', 'specs', 'timers.yaml');

/**
 * The handler both fixture functions run: it returns the event it got; payload "fail-first" fails the first call of
 * the instance, "always-fail" every call, "slow" takes 300 ms.
 */
const HANDLER = `
let calls = 0;
exports.handler = async (event, context) => {
  calls++;
  const body = JSON.parse(event.toString('utf8'));
  if (body.payload === 'fail-first' && calls === 1) throw new Error('first call fails');
  if (body.payload === 'always-fail') throw new Error('every call fails');
  if (body.payload === 'slow') await new Promise((resolve) => setTimeout(resolve, 300));
  return { event: body, functionName: context.function.name, calls };
};
`;

let dir: string;
let codeDir: string;
const stacks: Stack[] = [];

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'local-fc-timer-test-'));
  codeDir = path.join(dir, 'code');
  await mkdir(codeDir);
  await writeFile(path.join(codeDir, 'index.js'), HANDLER);
});

after(async () => {
  for (const stack of stacks) await stack.close();
  await rm(dir, { recursive: true, force: true });
});

async function timerStack(specEnv: Record<string, string> = {}, options: StackOptions = {}): Promise<Stack> {
  const stack = await startStack({
    specFile: SPEC,
    specEnv: { CODE_DIR: codeDir, ...specEnv },
    dataDir: path.join(dir, `data-${stacks.length}`),
    ossStorage: 'memory',
    build: false,
    delayScale: 0.001,
    ...options,
  });
  stacks.push(stack);
  return stack;
}

const timerInvocations = (stack: Stack, trigger: string) => stack.invocations().filter((i) => i.timerTrigger === trigger);

describe('timer triggers in s.yaml', () => {
  test('loadSpec reads triggerType timer: cronExpression, enable and payload', async () => {
    const spec = await loadSpec(SPEC, { CODE_DIR: codeDir });
    assert.deepEqual(spec.functions.find((f) => f.resource === 'reconcile')?.timerTriggers, [
      { name: 'every-ten-minutes', cronExpression: '@every 10m', enable: true, payload: 'pending-tasks' },
      { name: 'nightly', cronExpression: 'CRON_TZ=Asia/Shanghai 0 0 4 * * *', enable: false },
    ]);
    assert.deepEqual(spec.functions.find((f) => f.resource === 'ingest')?.timerTriggers, []);
  });

  test('a cron expression that is neither @every nor 6 fields is a SpecError', async () => {
    await assert.rejects(loadSpec(SPEC, { CODE_DIR: codeDir, RECONCILE_CRON: '*/5 * * * *' }), (error: unknown) => {
      assert.ok(error instanceof SpecError);
      assert.match(error.message, /triggers\[0\].*6-field cron expression/s);
      return true;
    });
  });
});

describe('timer schedules the local stack runs', () => {
  const intervals: [string, number][] = [
    ['@every 10m', 600_000],
    ['@every 30s', 30_000],
    ['@every 1h30m', 5_400_000],
    ['@every 1.5h', 5_400_000],
    ['@every 2m30s500ms', 150_500],
    ['0 */5 * * * *', 300_000],
    ['CRON_TZ=Asia/Shanghai 0 */15 * * * ?', 900_000],
    ['0 * * * * *', 60_000],
    ['0 */60 * * * *', 3_600_000],
  ];
  for (const [expression, ms] of intervals) {
    test(`${expression}: every ${ms} ms`, () => assert.equal(timerIntervalMs(expression), ms));
  }

  const refused: [string, RegExp][] = [
    ['@every 10', /"10" is not a positive Go duration/],
    ['@every -5m', /not a positive Go duration/],
    ['@every 0s', /not a positive Go duration/],
    ['@every 10 minutes', /not a positive Go duration/],
    ['0 */7 * * * *', /the local stack runs "@every <Go duration>".*N dividing 60/],
    ['0 0 4 * * *', /the local stack runs/],
    ['30 */5 * * * *', /the local stack runs/],
    ['CRON_TZ=Mars/Olympus 0 */5 * * * *', /CRON_TZ=Mars\/Olympus is not a time zone/],
  ];
  for (const [expression, message] of refused) {
    test(`${expression} is refused, saying what is supported`, () => {
      assert.throws(() => timerIntervalMs(expression), (error: unknown) => error instanceof UnsupportedTimerError && message.test(error.message));
    });
  }

  test('the stack refuses to start with an enabled timer it cannot run, rate override or not; a disabled one (nightly) does not matter', async () => {
    await assert.rejects(timerStack({ RECONCILE_CRON: '0 30 2 * * *' }), /timer "0 30 2 \* \* \*": the local stack runs/);
    await assert.rejects(timerStack({ RECONCILE_CRON: '0 30 2 * * *' }, { timerIntervalMs: 100 }), /timer "0 30 2 \* \* \*": the local stack runs/);
  });
});

describe('timers in the local FC', () => {
  test('enabled timers fire asynchronously with FC timer events until close(); disabled ones never fire', async () => {
    const stack = await timerStack({}, { timerIntervalMs: 100 });
    const started = Date.now();
    while (timerInvocations(stack, 'every-ten-minutes').filter((i) => i.ok).length < 3) {
      assert.ok(Date.now() - started < 5000, 'three timer invocations within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const [first] = timerInvocations(stack, 'every-ten-minutes');
    assert.deepEqual([first!.functionName, first!.kind, first!.attempt], ['timers-reconcile', 'async', 1]);
    const { event, functionName } = first!.result as { event: Record<string, unknown>; functionName: string };
    assert.equal(functionName, 'timers-reconcile');
    assert.deepEqual(Object.keys(event), ['triggerTime', 'triggerName', 'payload']);
    assert.match(String(event.triggerTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual([event.triggerName, event.payload], ['every-ten-minutes', 'pending-tasks']);
    assert.deepEqual(timerInvocations(stack, 'nightly'), []);
    assert.ok(stack.invocations().every((i) => i.functionName === 'timers-reconcile'));

    await stack.close();
    stacks.splice(stacks.indexOf(stack), 1);
    const count = stack.invocations().length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(stack.invocations().length, count);
  });

  test('idle() settles while timers keep firing, after the timer invocations running at the time have ended', async () => {
    const stack = await timerStack({ RECONCILE_PAYLOAD: 'slow' }, { timerIntervalMs: 100 });
    await new Promise((resolve) => setTimeout(resolve, 250));
    const idleCalledAt = Date.now();
    await stack.idle();
    const settledAt = Date.now();
    assert.ok(settledAt - idleCalledAt < 3000, `idle() took ${settledAt - idleCalledAt} ms`);
    const runningWhenCalled = timerInvocations(stack, 'every-ten-minutes').filter((i) => i.startedAt <= idleCalledAt);
    assert.ok(runningWhenCalled.length > 0);
    assert.ok(runningWhenCalled.every((i) => i.endedAt !== undefined && i.endedAt <= settledAt));
    // Timers went on firing meanwhile.
    assert.ok(timerInvocations(stack, 'every-ten-minutes').some((i) => i.startedAt > idleCalledAt));
  });

  test('fireTimer() runs a trigger now, enabled or not, and resolves with the result', async () => {
    const stack = await timerStack();
    const result = (await stack.fireTimer('reconcile', 'every-ten-minutes')) as { event: Record<string, unknown> };
    assert.deepEqual([result.event.triggerName, result.event.payload], ['every-ten-minutes', 'pending-tasks']);
    const nightly = (await stack.fireTimer('reconcile', 'nightly')) as { event: Record<string, unknown> };
    assert.deepEqual([nightly.event.triggerName, nightly.event.payload], ['nightly', '']);
    assert.deepEqual(stack.invocations().map((i) => i.timerTrigger), ['every-ten-minutes', 'nightly']);

    await assert.rejects(stack.fireTimer('reconcile'), /resource reconcile: name one timer trigger \(it has: every-ten-minutes, nightly\)/);
    await assert.rejects(stack.fireTimer('reconcile', 'hourly'), /name one timer trigger, not hourly/);
    await assert.rejects(stack.fireTimer('ingest'), /it has: none/);
    await assert.rejects(stack.fireTimer('nothing'), /s.yaml has no function resource nothing/);
  });

  test('fireTimer() goes through FC retries: a failed attempt is retried, spent retries reject and reach onFailure', async () => {
    const flaky = await timerStack({ RECONCILE_PAYLOAD: 'fail-first' });
    const result = (await flaky.fireTimer('reconcile', 'every-ten-minutes')) as { calls: number };
    assert.equal(result.calls, 2);
    assert.deepEqual(flaky.invocations().map((i) => [i.attempt, i.ok, i.timerTrigger]), [
      [1, false, 'every-ten-minutes'],
      [2, true, 'every-ten-minutes'],
    ]);

    const broken = await timerStack({ RECONCILE_PAYLOAD: 'always-fail' });
    await assert.rejects(broken.fireTimer('reconcile', 'every-ten-minutes'), /every call fails/);
    const [failure] = broken.failures();
    assert.deepEqual([failure?.functionName, failure?.attempts, failure?.error.message], ['timers-reconcile', 2, 'every call fails']);
    assert.equal(JSON.parse(failure!.event).triggerName, 'every-ten-minutes');
  });
});
