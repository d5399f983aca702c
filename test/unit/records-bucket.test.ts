import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../shared/platform/errors';
import { checkRecordsBucket } from '../../shared/wiring/records-bucket';
import { fakeBucket, serviceError } from '../helpers/fake-app';

/** A bucket whose versioning answers are scripted, counting the GET /?versioning calls. */
function bucketWith(name: string, ...answers: (('Enabled' | 'Suspended' | undefined) | Error)[]) {
  const bucket = fakeBucket(name);
  let calls = 0;
  bucket.versioning = async () => {
    const answer = answers[Math.min(calls++, answers.length - 1)];
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return Object.assign(bucket, { calls: () => calls });
}

describe('the records bucket must hold create-only writes', () => {
  it('a bucket whose versioning was never enabled is checked once per instance', async () => {
    const bucket = bucketWith('records-plain', undefined);
    await checkRecordsBucket(bucket);
    await checkRecordsBucket(bucket);
    assert.equal(bucket.calls(), 1);
  });

  for (const status of ['Enabled', 'Suspended'] as const) {
    it(`versioning ${status} stops the function with a ConfigError naming the bucket and the fix`, async () => {
      const bucket = bucketWith(`records-${status.toLowerCase()}`, status);
      await assert.rejects(checkRecordsBucket(bucket), (error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, new RegExp(`records bucket "records-${status.toLowerCase()}" has versioning ${status}`));
        assert.match(error.message, /RECORDS_BUCKET/);
        return true;
      });
    });
  }

  it('a failed check is not remembered: the next invocation asks again', async () => {
    const bucket = bucketWith('records-flaky', serviceError(503, 'ServiceUnavailable'), undefined);
    await assert.rejects(checkRecordsBucket(bucket));
    await checkRecordsBucket(bucket);
    assert.equal(bucket.calls(), 2);
  });
});
