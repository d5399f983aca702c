import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRetryableTaskCode } from '../../shared/engines/imm';
import {
  AppError,
  BadInput,
  ConfigError,
  describeServiceError,
  NetworkError,
  PermanentFailure,
  ServiceResponseError,
  TransientFailure,
  UnknownOutcome,
} from '../../shared/platform/errors';

const answer = (status: number, code: string, message = 'm') => new ServiceResponseError({ service: 'imm', status, code, message, requestId: 'r' });

describe('error classes: one base, and the kind decides what happens to the event', () => {
  it('every error the app raises on purpose is an AppError with its kind', () => {
    const cases: [AppError, string][] = [
      [new TransientFailure('busy'), 'transient'],
      [new BadInput('bad'), 'bad-input'],
      [new ConfigError('env'), 'config'],
      [new PermanentFailure('InvalidFile.Media', 'unreadable'), 'permanent'],
      [new NetworkError('reset', 'ECONNRESET', true), 'transient'],
      [new UnknownOutcome('lost', { cause: new Error('x') }), 'transient'],
      [answer(503, 'ServiceUnavailable'), 'transient'],
      [answer(403, 'AccessDenied'), 'permanent'],
    ];
    for (const [error, kind] of cases) {
      assert.ok(error instanceof AppError, error.name);
      assert.ok(error instanceof Error);
      assert.equal(error.kind, kind, error.name);
    }
    assert.equal(new TransientFailure('x').name, 'TransientFailure');
    assert.equal(new BadInput('x').name, 'BadInput');
    assert.equal(new ConfigError('x').name, 'ConfigError');
    assert.equal(new UnknownOutcome('x', { cause: 1 }).code, 'UnknownOutcome');
  });
});

describe('describeServiceError: sorted by the type of the error, never by its text', () => {
  it('a service answer: 5xx, 429, throttling and clock skew are transient, other 4xx permanent', () => {
    assert.deepEqual(describeServiceError('imm', answer(400, 'InvalidFile.Media', 'bad file')), {
      service: 'imm',
      status: 400,
      code: 'InvalidFile.Media',
      message: 'bad file',
      transient: false,
      ambiguous: false,
    });
    for (const [status, code] of [[500, 'InternalError'], [503, 'ServiceUnavailable'], [429, 'TooMany'], [400, 'Throttling.User'], [403, 'RequestTimeTooSkewed']] as const) {
      assert.equal(describeServiceError('oss', answer(status, code))?.transient, true, `${status} ${code}`);
    }
    assert.equal(describeServiceError('oss', answer(403, 'AccessDenied', 'timeout in the text'))?.transient, false, 'the text says nothing');
    assert.equal(describeServiceError('oss', answer(499, 'X'))?.transient, false);
  });

  it('a 5xx may have been acted on; a throttled or refused call was not', () => {
    assert.equal(describeServiceError('imm', answer(500, 'InternalError'))?.ambiguous, true);
    assert.equal(describeServiceError('imm', answer(502, 'BadGateway'))?.ambiguous, true);
    assert.equal(describeServiceError('imm', answer(429, 'Throttling'))?.ambiguous, false);
    assert.equal(describeServiceError('imm', answer(499, 'X'))?.ambiguous, false);
  });

  it('no answer: transient, ambiguous once the request may have gone out', () => {
    assert.deepEqual(describeServiceError('oss', new NetworkError('no answer within 10 ms', 'ETIMEDOUT', true)), {
      service: 'oss',
      code: 'ETIMEDOUT',
      message: 'no answer within 10 ms',
      transient: true,
      ambiguous: true,
    });
    assert.equal(describeServiceError('oss', new NetworkError('refused', 'ECONNREFUSED', false))?.ambiguous, false);
  });

  it('errors that carry their own verdict', () => {
    assert.deepEqual(describeServiceError('imm', new PermanentFailure('WindowOutsideVideo', 'past the end')), {
      service: 'imm',
      code: 'WindowOutsideVideo',
      message: 'past the end',
      transient: false,
      ambiguous: false,
    });
    assert.equal(describeServiceError('imm', new UnknownOutcome('lost', { cause: 1 }))?.ambiguous, true);
    assert.deepEqual(describeServiceError('oss', new TransientFailure('busy')), { service: 'oss', code: 'TransientFailure', message: 'busy', transient: true, ambiguous: false });
    const info = { service: 'oss' as const, code: 'X', message: 'y', transient: true, ambiguous: false };
    assert.equal(describeServiceError('oss', new TransientFailure('busy', info)), info);
  });

  it('anything else is a bug: no verdict at all', () => {
    assert.equal(describeServiceError('imm', new TypeError("Cannot read properties of undefined (reading 'x')")), undefined);
    assert.equal(describeServiceError('imm', Object.assign(new Error('socket hang up'), { status: 503, code: 'ECONNRESET' })), undefined, 'look-alikes are not ours');
    assert.equal(describeServiceError('imm', new ConfigError('env')), undefined);
    assert.equal(describeServiceError('imm', 'a string'), undefined);
    assert.equal(describeServiceError('imm', undefined), undefined);
  });
});

describe('isRetryableTaskCode (IMM task failures worth a new task)', () => {
  it('IMM hiccups and our TaskNotFound yes; the input\'s fault no', () => {
    for (const code of ['InternalError', 'ServiceUnavailable', 'InternalFailure', 'TaskNotFound', 'Throttling.User', 'ProcessTimeout', 'Task.TimedOut']) assert.equal(isRetryableTaskCode(code), true, code);
    for (const code of ['InvalidFile.Media', 'InvalidArgument', 'ResourceNotFound', 'AccessDenied', 'OutputOwned', '']) assert.equal(isRetryableTaskCode(code), false, code);
  });
});
