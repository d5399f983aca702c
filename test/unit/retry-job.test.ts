import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordTaskNotice } from '../../shared/app/record';
import { retryFailedJob, retryJobId } from '../../shared/app/retry';
import { submitUploads } from '../../shared/app/submit';
import { decodeSubmitPayload } from '../../shared/events/decode';
import { jobIdFor } from '../../shared/jobs/plan';
import { BUCKET, fakeApp, notice, serviceError, testConfig, uploadEvent } from '../helpers/fake-app';

const KEY = 'videos/clip.mp4';
// The fake bucket answers ETag "E" for every object, as the upload events here say.
const original = jobIdFor({ bucket: BUCKET, key: KEY, eTag: 'E', size: 1000 }, 'preview');
const request = (jobId = original, requestId = 'r1') => ({ retry: { bucket: BUCKET, jobId, requestId } });

/** A job that failed permanently (IMM said the file is bad), and its bucket. */
async function failedJob() {
  const app = fakeApp();
  app.bucket.objects.set(KEY, 'video');
  await submitUploads(uploadEvent(KEY, 'E'), app.deps());
  await recordTaskNotice(notice('task-1', original, 'Failed', { Code: 'InvalidFile.Media', Message: 'bad' }), app.deps());
  assert.equal((await app.store.getJob(original))?.status, 'failed');
  app.bucket.objects.set(KEY, 'video');
  return app;
}

describe('retry of a failed job', () => {
  it('runs it again as a new job, linked both ways, with one new task', async () => {
    const app = await failedJob();
    const outcome = await retryFailedJob(request(), app.deps());
    const id = retryJobId(original, 'r1');
    assert.deepEqual(outcome, { status: 'submitted', jobId: id, retryOf: original });
    assert.equal(app.imm.tasks.length, 2);
    const retry = (await app.store.getJob(id))!;
    assert.equal(retry.retryOf, original);
    assert.equal(retry.status, 'submitted');
    assert.deepEqual(retry.attempts.map((a) => a.trigger), ['manual']);
    const old = (await app.store.getJob(original))!;
    assert.equal(old.status, 'failed', 'the failed record stays as history');
    assert.deepEqual(old.retriedBy, [id]);
    assert.deepEqual((await app.store.jobsOfSource(KEY)).sort(), [original, id].sort());
  });

  it('two concurrent deliveries of one retry request make one job and one task', async () => {
    const app = await failedJob();
    const outcomes = await Promise.all([retryFailedJob(request(), app.deps('a')), retryFailedJob(request(), app.deps('b'))]);
    assert.deepEqual(outcomes.map((o) => o.jobId), [retryJobId(original, 'r1'), retryJobId(original, 'r1')]);
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['duplicate', 'submitted']);
    assert.equal(app.imm.tasks.length, 2);
    assert.deepEqual((await app.store.getJob(original))?.retriedBy, [retryJobId(original, 'r1')]);
  });

  it('a retry request delivered again after its re-run failed transiently makes no second job', async () => {
    // The count of re-runs moves once the first delivery linked its job; the id comes from the request, so the
    // second delivery lands on the same job and finds it taken.
    const app = await failedJob();
    app.imm.refuseNext(serviceError(503, 'ServiceUnavailable'));
    await assert.rejects(retryFailedJob(request(), app.deps('first')));
    const again = await retryFailedJob(request(), app.deps('again'));
    assert.equal(again.jobId, retryJobId(original, 'r1'));
    assert.equal(again.status, 'submitted');
    assert.equal(app.imm.tasks.length, 2, 'one task for the failed job, one for its single re-run');
    assert.deepEqual((await app.store.getJob(original))?.retriedBy, [retryJobId(original, 'r1')]);
  });

  it('a second retry request for the same failed job is a second new job; a request without an id re-runs once', async () => {
    const app = await failedJob();
    await retryFailedJob(request(), app.deps());
    const second = await retryFailedJob(request(original, 'r2'), app.deps());
    assert.equal(second.jobId, retryJobId(original, 'r2'));
    assert.notEqual(retryJobId(original, 'r1'), retryJobId(original, 'r2'));
    assert.match(retryJobId(original, 'r1'), /^[0-9a-f]{32}$/);
    assert.equal(retryJobId(original, undefined), retryJobId(original, undefined));
    assert.deepEqual((await app.store.getJob(original))?.retriedBy?.length, 2);
  });

  it('refuses, with the reason, what cannot be retried', async () => {
    const app = await failedJob();
    const skipped = async (req: ReturnType<typeof request>) => {
      const outcome = await retryFailedJob(req, app.deps());
      assert.equal(outcome.status, 'skipped');
      return outcome.reason;
    };
    assert.equal(await skipped(request('0'.repeat(32))), `no job ${'0'.repeat(32)} in bucket ${BUCKET}`);

    const fine = fakeApp();
    fine.bucket.objects.set(KEY, 'video');
    await submitUploads(uploadEvent(KEY, 'E'), fine.deps());
    assert.equal((await retryFailedJob(request(), fine.deps())).reason, `job ${original} is submitted; only failed jobs are retried`);

    app.bucket.objects.delete(KEY);
    assert.equal(await skipped(request()), `${KEY} no longer exists`);
    app.bucket.objects.set(KEY, 'a new version');
    const changed = app.bucket.head;
    app.bucket.head = async (key) => ({ ...(await changed(key))!, eTag: 'NEWER' });
    assert.equal(await skipped(request()), `${KEY} changed since (ETag NEWER); the new version has its own job`);

    const ruleless = { ...app.deps(), config: testConfig({}, [{ name: 'other', prefix: 'videos/', outputs: [{ format: 'gif', key: 'o/{basename}' }] }]) };
    assert.equal((await retryFailedJob(request(), ruleless)).reason, 'rule "preview" no longer exists');
  });
});

describe('decodeSubmitPayload', () => {
  it('tells retry requests from OSS events, and explains each refusal', () => {
    const retry = decodeSubmitPayload(JSON.stringify(request()));
    assert.deepEqual(retry, { ok: true, value: { kind: 'retry', request: request() } });
    const upload = decodeSubmitPayload(Buffer.from(JSON.stringify(uploadEvent(KEY))));
    assert.equal(upload.ok && upload.value.kind, 'uploads');
    const badRetry = decodeSubmitPayload('{"retry":{"bucket":"media","jobId":"nope"}}');
    assert.ok(!badRetry.ok && /^not a retry request: .*must be a job id/s.test(badRetry.reason), JSON.stringify(badRetry));
    const neither = decodeSubmitPayload('{"events":[]}');
    assert.ok(!neither.ok && /^not an OSS trigger event/.test(neither.reason));
    const junk = decodeSubmitPayload('junk');
    assert.ok(!junk.ok && junk.reason.startsWith('not JSON') && junk.bytes === 4);
  });
});
