import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordTaskNotice } from '../../shared/app/record';
import { retryFailedJob, retryJobId } from '../../shared/app/retry';
import { submitUploads } from '../../shared/app/submit';
import { jobIdFor } from '../../shared/jobs/plan';
import { BUCKET, fakeApp, notice, serviceError, uploadEvent } from '../helpers/fake-app';

const KEY = 'videos/clip.mp4';
const original = jobIdFor({ bucket: BUCKET, key: KEY, eTag: 'E', size: 1000 }, 'preview');
const request = (requestId = 'r1') => ({ retry: { bucket: BUCKET, jobId: original, requestId } });

/** A job IMM failed permanently, with its source still in the bucket (the fake bucket's ETag is "E"). */
async function failedJob() {
  const app = fakeApp();
  app.bucket.objects.set(KEY, 'video');
  await submitUploads(uploadEvent(KEY, 'E'), app.deps());
  await recordTaskNotice(notice('task-1', original, 'Failed', { Code: 'InvalidFile.Media', Message: 'bad' }), app.deps());
  return app;
}

describe('retry: the id of a re-run', () => {
  it('is the same in every release, with and without a request id (ids are stored: a redelivery after an upgrade must find its job)', () => {
    const jobId = '0123456789abcdef0123456789abcdef';
    assert.equal(retryJobId(jobId, 'r1'), '90ab948d6c890127352ccf43cb83646c');
    assert.equal(retryJobId(jobId, undefined), 'bd9d1844b1cb4c479ec384e066d98761');
  });
});

describe('retry: outcomes', () => {
  it('a request delivered again after its re-run started is a duplicate that says why, with no new task', async () => {
    const app = await failedJob();
    assert.equal((await retryFailedJob(request(), app.deps())).status, 'submitted');
    const again = await retryFailedJob(request(), app.deps('again'));
    assert.deepEqual(again, { status: 'duplicate', jobId: retryJobId(original, 'r1'), retryOf: original, reason: 'job is already submitted' });
    assert.equal(app.imm.tasks.length, 2);
  });

  it('a re-run IMM refuses fails, with the reason', async () => {
    const app = await failedJob();
    app.imm.refuseNext(serviceError(400, 'InvalidArgument', 'no'));
    const outcome = await retryFailedJob(request(), app.deps());
    assert.deepEqual(outcome, { status: 'failed', jobId: retryJobId(original, 'r1'), retryOf: original, reason: 'InvalidArgument: no' });
  });

  it("the source's HEAD answered 503 is retried as an oss call", async () => {
    const app = await failedJob();
    app.bucket.failNext('head', serviceError(503, 'ServiceUnavailable'));
    assert.equal((await retryFailedJob(request(), app.deps())).status, 'submitted');
    assert.deepEqual(app.retried, ['oss ServiceUnavailable']);
  });
});
