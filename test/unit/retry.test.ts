import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { NetworkError, ServiceResponseError, UnknownOutcome, type ServiceErrorInfo } from '../../shared/platform/errors';
import { withRetries, type RetryOptions } from '../../shared/platform/retry';

/** An operation failing with the given errors in turn, then returning 'ok'. */
function failing(...errors: unknown[]) {
  let calls = 0;
  const operation = async () => {
    calls++;
    if (calls <= errors.length) throw errors[calls - 1];
    return 'ok';
  };
  return { operation, calls: () => calls };
}

/** Options with a fake clock: sleeping advances Date.now(); every delay and retry is recorded. */
function harness(overrides: Partial<RetryOptions> = {}) {
  const sleeps: number[] = [];
  const retries: { code: string; attempt: number; delay: number; transient: boolean }[] = [];
  const options: RetryOptions = {
    service: 'imm',
    deadline: Date.now() + 60_000,
    random: () => 1,
    sleep: async (ms) => {
      sleeps.push(ms);
      mock.timers.tick(ms);
    },
    onRetry: (info: ServiceErrorInfo, attempt, delay) => retries.push({ code: info.code, attempt, delay, transient: info.transient }),
    ...overrides,
  };
  return { options, sleeps, retries };
}

const answer = (status: number, code: string, message = code) => new ServiceResponseError({ service: 'imm', status, code, message, requestId: 'r' });
const throttled = answer(400, 'Throttling.User', 'Request was denied due to request throttling.');
const serverError = answer(503, 'ServiceUnavailable', 'internal error');
const reset = new NetworkError('socket hang up', 'ECONNRESET', true);
const timeout = new NetworkError('no answer within 20000 ms', 'ETIMEDOUT', true);
const refused = new NetworkError('connect ECONNREFUSED', 'ECONNREFUSED', false);

describe('withRetries', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 }));
  afterEach(() => mock.timers.reset());

  test('a success is returned at once', async () => {
    const { options, sleeps } = harness();
    assert.equal(await withRetries(async () => 42, options), 42);
    assert.deepEqual(sleeps, []);
  });

  for (const [name, error] of [
    ['throttling (code Throttling.*, HTTP 400)', throttled],
    ['HTTP 429', answer(429, 'TooManyRequests')],
    ['5xx', serverError],
    ['a reset connection', reset],
    ['a timeout', timeout],
    ['a refused connection', refused],
  ] as const) {
    test(`retries ${name}`, async () => {
      const { options, retries } = harness();
      const { operation, calls } = failing(error, error);
      assert.equal(await withRetries(operation, options), 'ok');
      assert.equal(calls(), 3);
      assert.deepEqual(
        retries.map((r) => [r.attempt, r.transient]),
        [
          [1, true],
          [2, true],
        ],
      );
    });
  }

  test('delays grow exponentially up to the cap (random = 1)', async () => {
    const { options, sleeps } = harness({ maxAttempts: 8 });
    const { operation } = failing(...Array.from({ length: 7 }, () => serverError));
    assert.equal(await withRetries(operation, options), 'ok');
    assert.deepEqual(sleeps, [200, 400, 800, 1600, 3200, 5000, 5000]);
  });

  test('delays are jittered: random scales each one (full jitter)', async () => {
    const randoms = [0.5, 0.25, 0, 0.9];
    const { options, sleeps, retries } = harness({ random: () => randoms.shift() ?? 1, baseDelayMs: 100, maxDelayMs: 10_000 });
    const { operation } = failing(throttled, throttled, throttled, throttled);
    assert.equal(await withRetries(operation, options), 'ok');
    assert.deepEqual(sleeps, [50, 50, 0, 720]);
    assert.deepEqual(
      retries.map((r) => r.delay),
      sleeps,
    );
  });

  test('stops at maxAttempts and throws the last error as it came', async () => {
    const { options, sleeps } = harness({ maxAttempts: 3 });
    const last = answer(502, 'BadGateway', 'third');
    const { operation, calls } = failing(serverError, serverError, last, serverError);
    await assert.rejects(withRetries(operation, options), (error) => error === last);
    assert.equal(calls(), 3);
    assert.equal(sleeps.length, 2);
  });

  test('defaults to 6 attempts', async () => {
    const { options } = harness();
    const { operation, calls } = failing(...Array.from({ length: 10 }, () => reset));
    await assert.rejects(withRetries(operation, options), { code: 'ECONNRESET' });
    assert.equal(calls(), 6);
  });

  test('stops when the next delay would pass the deadline', async () => {
    // Delays 200 and 400 fit in 1000 ms; after them 600 ms have passed and the third (800) would end past it.
    const { options, sleeps } = harness({ deadline: Date.now() + 1_000, maxAttempts: 10 });
    const { operation, calls } = failing(...Array.from({ length: 10 }, () => throttled));
    await assert.rejects(withRetries(operation, options), (error) => error === throttled);
    assert.deepEqual(sleeps, [200, 400]);
    assert.equal(calls(), 3);
  });

  test('a deadline already passed means no retry', async () => {
    const { options, sleeps } = harness({ deadline: Date.now() - 1 });
    const { operation, calls } = failing(serverError);
    await assert.rejects(withRetries(operation, options), (error) => error === serverError);
    assert.equal(calls(), 1);
    assert.deepEqual(sleeps, []);
  });

  for (const [name, error] of [
    ['400 InvalidArgument', answer(400, 'InvalidArgument', 'bad')],
    ['403 AccessDenied', answer(403, 'AccessDenied')],
    ['404 ResourceNotFound', answer(404, 'ResourceNotFound')],
    ['409 FileAlreadyExists', answer(409, 'FileAlreadyExists')],
    ['a bug (TypeError)', new TypeError('x is not a function')],
    ['an error that only looks like a 503', Object.assign(new Error('oops'), { status: 503, code: 'ServiceUnavailable' })],
  ] as const) {
    test(`never retries ${name}`, async () => {
      const { options, sleeps, retries } = harness();
      const { operation, calls } = failing(error);
      await assert.rejects(withRetries(operation, options), (thrown) => thrown === error);
      assert.equal(calls(), 1);
      assert.deepEqual(sleeps, []);
      assert.deepEqual(retries, []);
    });
  }

  test('a permanent error after transient ones stops at once', async () => {
    const { options } = harness();
    const invalid = answer(400, 'InvalidArgument');
    const { operation, calls } = failing(throttled, invalid, throttled);
    await assert.rejects(withRetries(operation, options), (thrown) => thrown === invalid);
    assert.equal(calls(), 2);
  });

  test('a delay ending exactly at the deadline is not taken', async () => {
    // random = 1: the first delay is 200 ms, which would end at the deadline itself.
    const { options, sleeps } = harness({ deadline: Date.now() + 200 });
    const { operation, calls } = failing(serverError);
    await assert.rejects(withRetries(operation, options), (error) => error === serverError);
    assert.equal(calls(), 1);
    assert.deepEqual(sleeps, []);
    const later = harness({ deadline: Date.now() + 201 });
    const again = failing(serverError);
    assert.equal(await withRetries(again.operation, later.options), 'ok');
    assert.deepEqual(later.sleeps, [200]);
  });

  test('onRetry is optional', async () => {
    const { options } = harness();
    delete options.onRetry;
    const { operation, calls } = failing(serverError);
    assert.equal(await withRetries(operation, options), 'ok');
    assert.equal(calls(), 2);
  });

  test('without a sleep option, it really waits the delay', async () => {
    const { options } = harness({ baseDelayMs: 40 });
    delete options.sleep;
    const { operation, calls } = failing(serverError);
    const start = performance.now();
    assert.equal(await withRetries(operation, options), 'ok');
    assert.ok(performance.now() - start >= 35, 'no wait');
    assert.equal(calls(), 2);
  });

  test('onRetry sees the service, status and code', async () => {
    const seen: ServiceErrorInfo[] = [];
    const { options } = harness({ service: 'oss', onRetry: (info) => seen.push(info) });
    const { operation } = failing(serverError);
    await withRetries(operation, options);
    assert.deepEqual(seen, [{ service: 'oss', status: 503, code: 'ServiceUnavailable', message: 'internal error', transient: true, ambiguous: true }]);
  });
});

describe('withRetries for a call that starts a billed task', () => {
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 }));
  afterEach(() => mock.timers.reset());

  for (const [name, error] of [
    ['a reset after the request went out', reset],
    ['a timeout', timeout],
    ['a 5xx', serverError],
    ['a 502 from a gateway', answer(502, 'BadGateway')],
  ] as const) {
    test(`is never sent again after ${name}: UnknownOutcome, with the cause`, async () => {
      const { options, sleeps, retries } = harness({ kind: 'starts-task' });
      const { operation, calls } = failing(error, error);
      await assert.rejects(withRetries(operation, options), (thrown) => {
        assert.ok(thrown instanceof UnknownOutcome);
        assert.equal(thrown.cause, error);
        assert.equal(thrown.kind, 'transient');
        assert.match(thrown.message, /^imm may have started the task without answering/);
        return true;
      });
      assert.equal(calls(), 1);
      assert.deepEqual(sleeps, []);
      assert.deepEqual(retries, []);
    });
  }

  for (const [name, error] of [
    ['throttled (nothing was started)', throttled],
    ['a 429', answer(429, 'TooManyRequests')],
    ['a refused connection (nothing was sent)', refused],
  ] as const) {
    test(`is retried when ${name}`, async () => {
      const { options } = harness({ kind: 'starts-task' });
      const { operation, calls } = failing(error, error);
      assert.equal(await withRetries(operation, options), 'ok');
      assert.equal(calls(), 3);
    });
  }

  test('a permanent answer is thrown as it came; a bug too', async () => {
    for (const error of [answer(400, 'InvalidArgument'), new TypeError('bug')]) {
      const { options } = harness({ kind: 'starts-task' });
      const { operation, calls } = failing(error);
      await assert.rejects(withRetries(operation, options), (thrown) => thrown === error);
      assert.equal(calls(), 1);
    }
  });
});
