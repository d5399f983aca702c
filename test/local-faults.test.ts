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

  test('--fault flags override the environment', () => {
    const settings = faultSettingsFromArgs(['--fault', 'FAULT_NOTICE_DROP_FIRST=3'], { FAULT_NOTICE_DROP_FIRST: '1' });
    assert.deepEqual(faultsFromSettings(settings), { notices: { dropFirst: 3 } });
  });

  const refused: [Record<string, string>, RegExp][] = [
    [{ FAULT_IMM_FAIL_FIRST_TASKS: '1.5' }, /FAULT_IMM_FAIL_FIRST_TASKS=1.5: expected a whole number/],
    [{ FAULT_NOTICE_DROP_FIRST: '-1' }, /FAULT_NOTICE_DROP_FIRST=-1: expected a whole number/],
    [{ FAULT_NOTICE_DROP: '2' }, /FAULT_NOTICE_DROP=2: expected a share between 0 and 1/],
    [{ FAULT_IMM_FAIL_TASK_CODE: 'not a code' }, /FAULT_IMM_FAIL_TASK_CODE=not a code: expected an IMM error code/],
  ];
  for (const [settings, message] of refused) {
    test(`${JSON.stringify(settings)} is refused`, () => assert.throws(() => faultsFromSettings(settings), message));
  }
});
