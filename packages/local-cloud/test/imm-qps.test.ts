import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ClientError, ThrottlingError } from '@alicloud/openapi-core';
import { slidingWindowLimiter } from '../src/imm/rate-limit';
import { startLocalImm, type LocalImm } from '../src/imm/server';
import { immCaller } from './helpers/imm-openapi-client';
import { startMinimalOss, type MinimalOss } from './helpers/minimal-oss-server';

const REGION = 'cn-hangzhou';
const PROJECT = 'video-animation';
const KEY = { accessKeyId: 'LTAI-local-key', accessKeySecret: 'local-secret' };

describe('slidingWindowLimiter: at most n accepted calls in any one-second window', () => {
  test('n calls pass at once, the next waits until the oldest is a second old; refused calls take no slot', () => {
    let now = 0;
    const limiter = slidingWindowLimiter(2, () => now);
    const at = (ms: number) => ((now = ms), limiter.tryAcquire());
    assert.deepEqual([at(0), at(500), at(999), at(999)], [true, true, false, false]);
    // The call at 0 leaves the window at 1000; the one at 500 is still in it.
    assert.deepEqual([at(1000), at(1001), at(1499)], [true, false, false]);
    assert.deepEqual([at(1500), at(1999), at(2000), at(2499)], [true, false, true, false]);
  });

  test('never more than n accepted in any 1000 ms, whatever the arrival pattern', () => {
    let now = 0;
    const limiter = slidingWindowLimiter(5, () => now);
    const accepted: number[] = [];
    // A deterministic, irregular arrival pattern: bursts and gaps.
    for (let i = 0; i < 2000; i++) {
      now += (i * 7919) % 13 === 0 ? 250 : (i * 31) % 5;
      if (limiter.tryAcquire()) accepted.push(now);
    }
    for (let i = 5; i < accepted.length; i++) assert.ok(accepted[i]! - accepted[i - 5]! >= 1000, `6 calls within a second at ${accepted[i]}`);
    assert.ok(accepted.length > 100);
  });

  test('qps must be a whole number of at least 1', () => {
    for (const qps of [0, -1, 1.5, Number.NaN]) assert.throws(() => slidingWindowLimiter(qps), RangeError);
  });
});

describe('FAULT_IMM_QPS on the local IMM', () => {
  let dir: string;
  let oss: MinimalOss;
  let imm: LocalImm;
  let now = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-imm-qps-test-'));
    oss = await startMinimalOss();
    imm = await startLocalImm({
      region: REGION,
      accountId: '1234567890',
      credentials: [KEY],
      projects: [PROJECT],
      oss: { endpoint: oss.endpoint, ...KEY },
      publish: async () => undefined,
      workDir: join(dir, 'work'),
      faults: { qps: 2, now: () => now },
    });
  });

  after(async () => {
    await imm.close();
    await oss.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('calls above the rate are 400 Throttling.User (a ThrottlingError for openapi-core), counted per action', async () => {
    const call = immCaller({ endpoint: imm.endpoint, regionId: REGION, ...KEY });
    const list = () => call('ListTasks', { ProjectName: PROJECT });
    await list();
    // A refused call of another action (the project is unknown) still takes its slot: the limit counts calls.
    await assert.rejects(call('GetTask', { ProjectName: 'no-such-project', TaskId: 't', TaskType: 'MediaConvert' }), (error: unknown) => {
      assert.ok(error instanceof ClientError && !(error instanceof ThrottlingError));
      return true;
    });
    await assert.rejects(list(), (error: unknown) => {
      assert.ok(error instanceof ThrottlingError, String(error));
      assert.equal(error.code, 'Throttling.User');
      assert.equal(error.statusCode, 400);
      assert.match(error.message, /flow control/);
      return true;
    });
    now = 999;
    await assert.rejects(list(), ThrottlingError);
    now = 1000;
    await list();
    assert.deepEqual(imm.apiCalls(), { ListTasks: { calls: 4, throttled: 2 }, GetTask: { calls: 1, throttled: 0 } });
    assert.equal(imm.throttledCalls(), 2);
  });
});
