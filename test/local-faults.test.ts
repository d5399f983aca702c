import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { faultSettingsFromArgs, faultsFromSettings } from '../local/faults';

describe('fault switches from the environment and --fault flags', () => {
  test('task failures: a share, the first N, and the code they fail with', () => {
    assert.deepEqual(faultsFromSettings({ FAULT_IMM_FAIL_TASK: '0.25', FAULT_IMM_FAIL_FIRST_TASKS: '1', FAULT_IMM_FAIL_TASK_CODE: 'InvalidFile.Media' }), {
      imm: { failTaskRate: 0.25, failFirstTasks: 1, failTaskCode: 'InvalidFile.Media' },
    });
  });

  test('lost notices: a share and the first N', () => {
    assert.deepEqual(faultsFromSettings({ FAULT_NOTICE_DROP: '0.1', FAULT_NOTICE_DROP_FIRST: '2', FAULT_NOTICE_DUPLICATE: '1' }), {
      notices: { duplicateRate: 1, dropRate: 0.1, dropFirst: 2 },
    });
  });

  test('IMM rate limit: FAULT_IMM_QPS, beside the other IMM faults', () => {
    assert.deepEqual(faultsFromSettings({ FAULT_IMM_QPS: '20', FAULT_IMM_THROTTLE: '0.1' }), { imm: { qps: 20, throttleRate: 0.1 } });
    assert.deepEqual(faultsFromSettings(faultSettingsFromArgs(['--fault', 'FAULT_IMM_QPS=5'], {})), { imm: { qps: 5 } });
  });

  test('lost answers: IMM CreateMediaConvertTask and OSS x-oss-async-process, a share and the first N', () => {
    assert.deepEqual(
      faultsFromSettings({
        FAULT_IMM_DROP_CREATE_ANSWER: '0.2',
        FAULT_IMM_DROP_FIRST_CREATE_ANSWERS: '1',
        FAULT_OSS_ASYNC_DROP_ANSWER: '0.5',
        FAULT_OSS_ASYNC_DROP_FIRST_ANSWERS: '2',
      }),
      { imm: { dropCreateAnswerRate: 0.2, dropFirstCreateAnswers: 1 }, ossAsync: { dropAnswerRate: 0.5, dropFirstAnswers: 2 } },
    );
  });

  test('--fault flags override the environment', () => {
    const settings = faultSettingsFromArgs(['--fault', 'FAULT_NOTICE_DROP_FIRST=3'], { FAULT_NOTICE_DROP_FIRST: '1' });
    assert.deepEqual(faultsFromSettings(settings), { notices: { dropFirst: 3 } });
  });

  const refused: [Record<string, string>, RegExp][] = [
    [{ FAULT_IMM_FAIL_FIRST_TASKS: '1.5' }, /FAULT_IMM_FAIL_FIRST_TASKS=1.5: expected a whole number/],
    [{ FAULT_NOTICE_DROP_FIRST: '-1' }, /FAULT_NOTICE_DROP_FIRST=-1: expected a whole number/],
    [{ FAULT_NOTICE_DROP: '2' }, /FAULT_NOTICE_DROP=2: expected a share between 0 and 1/],
    [{ FAULT_IMM_FAIL_TASK_CODE: 'not a code' }, /FAULT_IMM_FAIL_TASK_CODE=not a code: expected an IMM error code/],
    [{ FAULT_IMM_QPS: '0' }, /FAULT_IMM_QPS=0: expected a whole number of API calls per second, at least 1/],
    [{ FAULT_IMM_QPS: '2.5' }, /FAULT_IMM_QPS=2.5: expected a whole number of API calls per second, at least 1/],
    [{ FAULT_IMM_QPS: 'fast' }, /FAULT_IMM_QPS=fast: expected a whole number/],
    [{ FAULT_IMM_QPS: '' }, /FAULT_IMM_QPS=: expected a whole number/],
    [{ FAULT_IMM_DROP_CREATE_ANSWER: '1.5' }, /FAULT_IMM_DROP_CREATE_ANSWER=1.5: expected a share between 0 and 1/],
    [{ FAULT_OSS_ASYNC_DROP_FIRST_ANSWERS: 'x' }, /FAULT_OSS_ASYNC_DROP_FIRST_ANSWERS=x: expected a whole number/],
  ];
  for (const [settings, message] of refused) {
    test(`${JSON.stringify(settings)} is refused`, () => assert.throws(() => faultsFromSettings(settings), message));
  }
});
