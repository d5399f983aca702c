import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import type { AppDeps } from '../../shared/app/context';
import type { Decoded } from '../../shared/events/decode';
import { BadInput, ConfigError, TransientFailure } from '../../shared/platform/errors';
import { fcHandler } from '../../shared/wiring/handler';

const ENV = {
  MNS_TOPIC: 'handler-topic',
  FC_REGION: 'cn-hangzhou',
  IMM_PROJECT: 'proj',
  RULES: '[{"name":"p","prefix":"videos/","outputs":[{"format":"gif","key":"a/{basename}"}]}]',
};
/** Every variable loadConfig reads: unset unless ENV sets it, so the machine's environment cannot leak in. */
const READ = ['IMM_PROJECT', 'MNS_TOPIC', 'RECORDS_PREFIX', 'IMM_ENDPOINT', 'OSS_ENDPOINT', 'RULES', 'JOB_LEASE_SECONDS', 'RECONCILE_AFTER_SECONDS', 'RECONCILE_MAX_JOBS', 'MAX_TASK_ATTEMPTS', 'BUCKET', 'PRICE_PER_FRAME', 'PRICE_CURRENCY', 'FC_REGION', 'ALIBABA_CLOUD_REGION'];

/** Decodes "good:<text>" to <text>; anything else is malformed. */
function decode(event: Buffer | string): Decoded<string> {
  const text = event.toString();
  return text.startsWith('good:') ? { ok: true, value: text.slice(5) } : { ok: false, reason: `no "good:" in ${text}`, bytes: 42 };
}

let saved: Record<string, string | undefined>;
let lines: Record<string, unknown>[];

beforeEach(() => {
  saved = Object.fromEntries(READ.map((k) => [k, process.env[k]]));
  for (const k of READ) delete process.env[k];
  Object.assign(process.env, ENV);
  lines = [];
  mock.method(console, 'log', (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>));
});

afterEach(() => {
  mock.restoreAll();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

function handler(run: (value: string, runtime: AppDeps) => Promise<unknown>) {
  return fcHandler({ name: 'record', payload: 'notice', decode, run });
}

describe('fcHandler', () => {
  test('a successful run returns its value; the runtime carries the config and the request id', async () => {
    let seen: { value: string; runtime: AppDeps } | undefined;
    const result = await handler(async (value, runtime) => {
      seen = { value, runtime };
      return { done: value };
    })(Buffer.from('good:job-1'), { requestId: 'req-1', region: 'cn-beijing', credentials: { accessKeyId: 'id', accessKeySecret: 'secret' } });
    assert.deepEqual(result, { done: 'job-1' });
    assert.equal(seen?.value, 'job-1');
    assert.equal(seen?.runtime.requestId, 'req-1');
    assert.equal(seen?.runtime.config.mnsTopic, 'handler-topic');
    assert.equal(seen?.runtime.config.region, 'cn-beijing');
    assert.equal(seen?.runtime.config.immProject, 'proj');
    assert.deepEqual(lines, []);
  });

  test('the runtime logger names the function and the request', async () => {
    await handler(async (_value, runtime) => runtime.log.info('hello', { n: 1 }))('good:x', { requestId: 'req-2' });
    assert.deepEqual(lines, [{ fn: 'record', requestId: 'req-2', n: 1, level: 'info', message: 'hello' }]);
  });

  test('without a context: FC_REGION and an unknown request', async () => {
    const result = await handler(async (_value, runtime) => [runtime.config.region, runtime.requestId])('good:x');
    assert.deepEqual(result, ['cn-hangzhou', 'unknown']);
  });

  test('a malformed payload is acknowledged with its reason and an error line; run is not called', async () => {
    let ran = false;
    const result = await handler(async () => {
      ran = true;
    })('garbage', { requestId: 'req-3' });
    assert.deepEqual(result, { acknowledged: true, reason: 'no "good:" in garbage' });
    assert.equal(ran, false);
    assert.deepEqual(lines, [{ fn: 'record', requestId: 'req-3', reason: 'no "good:" in garbage', bytes: 42, level: 'error', message: 'malformed notice acknowledged without retry' }]);
  });

  test('a malformed payload is acknowledged even when the configuration is broken', async () => {
    delete process.env['MNS_TOPIC'];
    const result = await handler(async () => 'ran')('garbage');
    assert.deepEqual(result, { acknowledged: true, reason: 'no "good:" in garbage' });
  });

  test('a broken configuration throws a ConfigError before run', async () => {
    delete process.env['MNS_TOPIC'];
    let ran = false;
    await assert.rejects(
      handler(async () => {
        ran = true;
      })('good:x'),
      (error) => error instanceof ConfigError && /MNS_TOPIC/.test(error.message),
    );
    assert.equal(ran, false);
  });

  test('bad input found by the use case is acknowledged with an error line', async () => {
    const result = await handler(async () => {
      throw new BadInput('no such rule');
    })('good:x', { requestId: 'req-4' });
    assert.deepEqual(result, { acknowledged: true, reason: 'no such rule' });
    assert.deepEqual(lines, [{ fn: 'record', requestId: 'req-4', reason: 'no such rule', level: 'error', message: 'bad notice acknowledged without retry' }]);
  });

  test('a transient failure is logged as a warning and thrown for redelivery', async () => {
    const failure = new TransientFailure('job busy');
    await assert.rejects(
      handler(async () => {
        throw failure;
      })('good:x', { requestId: 'req-5' }),
      (error) => error === failure,
    );
    assert.deepEqual(lines, [{ fn: 'record', requestId: 'req-5', reason: 'job busy', level: 'warn', message: 'transient failure; the notice will be delivered again' }]);
  });

  for (const [name, failure] of [
    ['an unexpected error', Object.assign(new Error('boom'), { code: 'Oops' })],
    ['a ConfigError from the use case', new ConfigError('IMM_PROJECT is not set')],
  ] as const) {
    test(`${name} is logged as an error and thrown`, async () => {
      await assert.rejects(
        handler(async () => {
          throw failure;
        })('good:x', { requestId: 'req-6' }),
        (error) => error === failure,
      );
      assert.equal(lines.length, 1);
      const [line] = lines;
      assert.equal(line?.['level'], 'error');
      assert.equal(line?.['message'], 'record failed');
      assert.equal(line?.['fn'], 'record');
      assert.equal(line?.['requestId'], 'req-6');
      assert.deepEqual(line?.['error'], JSON.parse(JSON.stringify(Object.assign({ name: failure.name, message: failure.message }, failure))));
    });
  }

  test('a thrown non-error is logged and thrown as it came', async () => {
    await assert.rejects(
      handler(async () => {
        throw 'plain string';
      })('good:x'),
      (error) => error === 'plain string',
    );
    assert.deepEqual(lines, [{ fn: 'record', error: 'plain string', level: 'error', message: 'record failed' }]);
  });
});
