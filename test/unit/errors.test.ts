import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError, BadInput, ConfigError, describeServiceError, isTransientTaskCode, TransientFailure } from '../../shared/platform/errors';

describe('error classes: the kind decides what happens to the event', () => {
  test('TransientFailure', () => {
    const info = { service: 'imm' as const, status: 503, code: 'ServiceUnavailable', message: 'busy', transient: true };
    const error = new TransientFailure('try again', info);
    assert.ok(error instanceof AppError);
    assert.ok(error instanceof Error);
    assert.equal(error.kind, 'transient');
    assert.equal(error.name, 'TransientFailure');
    assert.equal(error.message, 'try again');
    assert.equal(error.info, info);
    assert.equal(new TransientFailure('no info').info, undefined);
  });

  test('BadInput', () => {
    const error = new BadInput('garbage');
    assert.ok(error instanceof AppError);
    assert.equal(error.kind, 'bad-input');
    assert.equal(error.name, 'BadInput');
    assert.equal(error.message, 'garbage');
  });

  test('ConfigError', () => {
    const error = new ConfigError('no region');
    assert.ok(error instanceof AppError);
    assert.equal(error.kind, 'config');
    assert.equal(error.name, 'ConfigError');
    assert.equal(error.message, 'no region');
    assert.match(String(error), /^ConfigError: no region$/);
  });
});

describe('describeServiceError: reading status, code and message', () => {
  test('status (ali-oss) is preferred to statusCode (openapi-core)', () => {
    assert.deepEqual(describeServiceError('oss', { status: 404, statusCode: 500, code: 'NoSuchKey', message: 'gone' }), {
      service: 'oss',
      status: 404,
      code: 'NoSuchKey',
      message: 'gone',
      transient: false,
    });
  });

  test('statusCode is read when there is no numeric status', () => {
    assert.deepEqual(describeServiceError('imm', { status: '503', statusCode: 404, code: 'ResourceNotFound', message: 'no project' }), {
      service: 'imm',
      status: 404,
      code: 'ResourceNotFound',
      message: 'no project',
      transient: false,
    });
  });

  test('a status or statusCode that is not a number is no status', () => {
    assert.deepEqual(describeServiceError('imm', { status: '503', statusCode: '500', code: 'X', message: 'm' }), { service: 'imm', code: 'X', message: 'm', transient: false });
  });

  test('status 0 and negative statuses count as no status (no key at all)', () => {
    for (const status of [0, -1]) {
      const info = describeServiceError('oss', { status, code: 'ConnectionTimeoutError', message: 'connect failed' });
      assert.deepEqual(info, { service: 'oss', code: 'ConnectionTimeoutError', message: 'connect failed', transient: true });
      assert.ok(!('status' in info));
    }
    // Without a status, a permanent-looking code with a harmless message is not transient: status 0 is not "< 500".
    assert.equal(describeServiceError('oss', { status: 0, code: 'Odd', message: 'odd' }).transient, false);
    assert.equal(describeServiceError('oss', { status: 0, code: 'Odd', message: 'socket closed' }).transient, true);
  });

  test('status 1 is a status', () => {
    assert.equal(describeServiceError('oss', { status: 1, code: 'X', message: 'network' }).status, 1);
  });

  test('code "undefined", an empty code or a non-string code fall back to the name', () => {
    for (const code of ['undefined', '', 5, undefined]) {
      const info = describeServiceError('oss', { code, name: 'ResponseError', message: 'm' });
      assert.equal(info.code, 'ResponseError', `code ${String(code)}`);
    }
    assert.equal(describeServiceError('oss', Object.assign(new TypeError('bad'), { code: 'undefined' })).code, 'TypeError');
  });

  test('no usable code and no name: "Error"', () => {
    assert.equal(describeServiceError('imm', { code: 'undefined', name: 42, message: 'm' }).code, 'Error');
    assert.equal(describeServiceError('imm', {}).code, 'Error');
  });

  test('data.Message (openapi-core) is preferred to message', () => {
    const info = describeServiceError('imm', { statusCode: 400, code: 'InvalidArgument', message: 'code: 400, The argument is invalid. request id: x', data: { Message: 'The argument is invalid.' } });
    assert.equal(info.message, 'The argument is invalid.');
    assert.equal(describeServiceError('imm', { code: 'X', message: 'plain', data: { Message: 7 } }).message, 'plain');
    assert.equal(describeServiceError('imm', { code: 'X', message: 'plain', data: {} }).message, 'plain');
  });

  test('something that is not an error object: its string form', () => {
    assert.deepEqual(describeServiceError('oss', 'boom'), { service: 'oss', code: 'Error', message: 'boom', transient: false });
    assert.deepEqual(describeServiceError('oss', null), { service: 'oss', code: 'Error', message: 'null', transient: false });
    assert.deepEqual(describeServiceError('oss', undefined), { service: 'oss', code: 'Error', message: 'undefined', transient: false });
    assert.equal(describeServiceError('oss', { code: 'X', message: 3 }).message, '[object Object]');
  });
});

describe('describeServiceError: transient or permanent', () => {
  test('with a status: 5xx, 429, throttling codes and RequestTimeTooSkewed are transient', () => {
    const transient: [number, string][] = [
      [500, 'InternalError'],
      [502, 'BadGateway'],
      [503, 'ServiceUnavailable'],
      [599, 'X'],
      [429, 'TooManyRequests'],
      [400, 'Throttling.User'],
      [403, 'Throttling'],
      [400, 'ThrottlingException'],
      [403, 'RequestTimeTooSkewed'],
    ];
    for (const [status, code] of transient) {
      assert.equal(describeServiceError('imm', { status, code, message: 'x' }).transient, true, `${status} ${code}`);
    }
  });

  test('with a status: other 4xx are permanent, even when the message reads like a network error', () => {
    const permanent: [number, string, string][] = [
      [400, 'InvalidArgument', 'bad'],
      [403, 'AccessDenied', 'denied'],
      [404, 'ResourceNotFound', 'not found'],
      [409, 'FileAlreadyExists', 'exists'],
      [428, 'X', 'x'],
      [430, 'X', 'x'],
      [499, 'X', 'x'],
      [400, 'InvalidArgument', 'network timeout on socket'],
      [400, 'ECONNRESET', 'reset'],
      [403, 'RequestTimeTooSkewedNot', 'x'],
    ];
    for (const [status, code, message] of permanent) {
      assert.equal(describeServiceError('imm', { status, code, message }).transient, false, `${status} ${code}`);
    }
  });

  test('without a status: every network code is transient, whatever the message', () => {
    const codes = [
      'ECONNRESET',
      'ECONNREFUSED',
      'ETIMEDOUT',
      'EPIPE',
      'EAI_AGAIN',
      'ENOTFOUND',
      'ESOCKETTIMEDOUT',
      'ResponseTimeoutError',
      'ConnectionTimeoutError',
      'RequestError',
      'ResponseError',
      'UND_ERR_SOCKET',
    ];
    for (const code of codes) {
      assert.equal(describeServiceError('oss', { code, message: 'x' }).transient, true, code);
    }
  });

  test('without a status: a message about a timeout, socket or network is transient', () => {
    for (const message of ['Request Timeout', 'socket hang up', 'NETWORK unreachable', 'read timeout after 10000ms']) {
      assert.equal(describeServiceError('oss', { code: 'SomeError', message }).transient, true, message);
    }
  });

  test('without a status: other codes and messages are permanent', () => {
    for (const [code, message] of [
      ['SomeError', 'bad things'],
      ['EACCES', 'permission denied'],
      ['Throttling', 'x'],
    ]) {
      assert.equal(describeServiceError('oss', { code, message }).transient, false, code);
    }
  });
});

describe('isTransientTaskCode', () => {
  test('IMM hiccups and our TaskNotFound are worth a new task', () => {
    for (const code of ['InternalError', 'ServiceUnavailable', 'InternalFailure', 'TaskNotFound']) assert.equal(isTransientTaskCode(code), true, code);
  });

  test('timeouts and throttling, by pattern and in any case', () => {
    for (const code of ['Timeout', 'Task.Timeout', 'ProcessTimedOut', 'timedout', 'Throttling.User', 'REQUEST_THROTTLED']) {
      assert.equal(isTransientTaskCode(code), true, code);
    }
  });

  test('the input is at fault: no new task', () => {
    for (const code of ['InvalidFile.Media', 'InvalidArgument', 'ResourceNotFound', 'AccessDenied', '', 'InternalErrorX', 'Internal', 'Timed']) {
      assert.equal(isTransientTaskCode(code), false, code);
    }
  });
});
