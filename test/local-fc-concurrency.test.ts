import FC, { InvokeFunctionHeaders, InvokeFunctionRequest } from '@alicloud/fc20230330';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { RuntimeOptions } from '@darabonba/typescript';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { LocalFunction } from '@video-animation/local-cloud';
import { LOCAL_CREDENTIALS, startStack, type Stack, type StackOptions } from '../local/stack';
import { loadSpec, SpecError } from '../deploy/spec';

const SPEC = path.join(__dirname, 'fixtures', 'specs', 'concurrency.yaml');

/**
 * Counts the invocations running in the instance at once (the most it saw is in every result); `ms` is how long an
 * invocation takes, `failOnce` fails the first attempt of that id.
 */
const HANDLER = `
let running = 0;
let most = 0;
const failed = new Set();
exports.handler = async (event) => {
  const body = JSON.parse(event.toString('utf8'));
  running++;
  most = Math.max(most, running);
  try {
    await new Promise((resolve) => setTimeout(resolve, body.ms ?? 30));
    if (body.failOnce && !failed.has(body.id)) {
      failed.add(body.id);
      throw new Error('first attempt fails');
    }
    return { id: body.id, most };
  } finally {
    running--;
  }
};
`;

let dir: string;
let codeDir: string;
const stacks: Stack[] = [];

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'local-fc-concurrency-test-'));
  codeDir = path.join(dir, 'code');
  await mkdir(codeDir);
  await writeFile(path.join(codeDir, 'index.js'), HANDLER);
});

after(async () => {
  for (const stack of stacks) await stack.close();
  await rm(dir, { recursive: true, force: true });
});

async function cappedFunction(options: StackOptions = {}, cap?: string): Promise<{ stack: Stack; fn: LocalFunction }> {
  const stack = await startStack({
    specFile: SPEC,
    specEnv: { CODE_DIR: codeDir, ...(cap !== undefined ? { CAP: cap } : {}) },
    dataDir: path.join(dir, `data-${stacks.length}`),
    ossStorage: 'memory',
    build: false,
    delayScale: 0.001,
    ...options,
  });
  stacks.push(stack);
  return { stack, fn: stack.functions.get('concurrency-capped')! };
}

const event = (body: object) => Buffer.from(JSON.stringify(body));
const ids = (fn: LocalFunction) => fn.invocations.map((i) => JSON.parse(JSON.stringify(i.result ?? null))?.id ?? i.error?.message);

describe('s.yaml concurrencyConfig', () => {
  test('loadSpec reads reservedConcurrency; a non-integer is a SpecError naming the field', async () => {
    const spec = await loadSpec(SPEC, { CODE_DIR: codeDir });
    assert.equal(spec.functions[0]?.reservedConcurrency, 2);
    await assert.rejects(loadSpec(SPEC, { CODE_DIR: codeDir, CAP: '1.5' }), (error: unknown) => {
      assert.ok(error instanceof SpecError);
      assert.match(error.message, /concurrencyConfig\.reservedConcurrency/);
      return true;
    });
  });
});

describe('the local FC honours reservedConcurrency', () => {
  test('asynchronous invocations above the cap wait in the queue and run in arrival order; synchronous ones are refused', async () => {
    const { stack, fn } = await cappedFunction();
    const outcomes = Array.from({ length: 6 }, (_, id) => fn.invokeAsync(event({ id, ms: 40 })));
    // Slots are taken as invocations arrive: two run, four wait.
    assert.deepEqual(fn.concurrency(), { limit: 2, running: 2, queued: 4, maxRunning: 2, throttled: 0 });

    await assert.rejects(fn.invoke(event({ id: 'sync' })), { name: 'ResourceThrottled', message: /at most 2 invocations at once/ });
    const client = new FC(new $OpenApiUtil.Config({ ...LOCAL_CREDENTIALS, endpoint: stack.fc.endpoint, protocol: 'http', regionId: 'cn-hangzhou' }));
    const viaApi = (type: 'Sync' | 'Async') =>
      client.invokeFunctionWithOptions(
        'concurrency-capped',
        new InvokeFunctionRequest({ body: Readable.from([event({ id: `api-${type}` })]) }),
        new InvokeFunctionHeaders({ xFcInvocationType: type }),
        new RuntimeOptions({}),
      );
    await assert.rejects(viaApi('Sync'), { statusCode: 429, code: 'ResourceThrottled' });
    assert.equal((await viaApi('Async')).statusCode, 202);
    assert.equal(fn.concurrency().throttled, 2);

    const results = await Promise.all(outcomes);
    await stack.idle();
    assert.ok(results.every((r) => r.ok));
    assert.deepEqual(ids(fn), [0, 1, 2, 3, 4, 5, 'api-Async']);
    // The handler's own count: never more than two at once in the instance.
    assert.ok(fn.invocations.every((i) => (i.result as { most: number }).most <= 2));
    assert.deepEqual({ ...fn.concurrency() }, { limit: 2, running: 0, queued: 0, maxRunning: 2, throttled: 2 });
    assert.deepEqual(
      fn.invocations.map((i) => i.queuedAt !== undefined),
      [false, false, true, true, true, true, true],
    );
  });

  test('a retry after an error queues again behind the invocations already waiting', async () => {
    const { stack, fn } = await cappedFunction({}, '1');
    const outcomes = [fn.invokeAsync(event({ id: 'a', ms: 0, failOnce: true })), fn.invokeAsync(event({ id: 'b' })), fn.invokeAsync(event({ id: 'c' }))];
    assert.ok((await Promise.all(outcomes)).every((r) => r.ok));
    await stack.idle();
    assert.deepEqual(ids(fn), ['first attempt fails', 'b', 'c', 'a']);
    assert.deepEqual(fn.invocations.map((i) => i.attempt), [1, 1, 1, 2]);
    assert.equal(fn.concurrency().maxRunning, 1);
  });

  test('reservedConcurrency: null in the stack options runs the function uncapped', async () => {
    const { stack, fn } = await cappedFunction({ reservedConcurrency: { capped: null } });
    const outcomes = Array.from({ length: 6 }, (_, id) => fn.invokeAsync(event({ id })));
    assert.deepEqual(fn.concurrency(), { running: 6, queued: 0, maxRunning: 6, throttled: 0 });
    await Promise.all(outcomes);
    await stack.idle();
  });

  test('closing the stack ends the invocations still queued without sending them to onFailure', async () => {
    const { stack, fn } = await cappedFunction({}, '1');
    const outcomes = Array.from({ length: 3 }, (_, id) => fn.invokeAsync(event({ id, ms: 20 })));
    assert.equal(fn.concurrency().queued, 2);
    stacks.splice(stacks.indexOf(stack), 1);
    await stack.close();
    const results = await Promise.all(outcomes);
    assert.deepEqual(results.map((r) => r.ok), [false, false, false]);
    assert.deepEqual(stack.failures(), []);
  });
});
