import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { submitUploads } from '../../shared/app/submit';
import { jobIdFor } from '../../shared/jobs/plan';
import { ConfigError, ServiceResponseError, TransientFailure } from '../../shared/platform/errors';
import { BUCKET, DEFAULT_RULES, fakeApp, fakeOssEngine, serviceError, testConfig, uploadEvent } from '../helpers/fake-app';

const KEY = 'videos/clip.mp4';
const idOf = (key = KEY, eTag = 'ETAG1', rule = 'preview') => jobIdFor({ bucket: BUCKET, key, eTag, size: 1000 }, rule);

/** An upload event whose object carries only the given facts (OSS leaves ETag or size out of some events). */
const eventWith = (key: string, object: { eTag?: string; size?: number }, eventName = 'ObjectCreated:PutObject') => {
  const [entry] = uploadEvent(key).events;
  return { events: [{ ...entry!, eventName, oss: { bucket: { name: BUCKET }, object: { key, ...object } } }] };
};

/** Counts the HEAD requests the bucket receives. */
function countHeads(app: ReturnType<typeof fakeApp>) {
  const heads: string[] = [];
  const head = app.bucket.head.bind(app.bucket);
  app.bucket.head = async (key) => (heads.push(key), head(key));
  return heads;
}

describe('submit: the HEAD an event saves or needs', () => {
  it('an event with ETag and size makes no HEAD; the job takes both from the event', async () => {
    const app = fakeApp();
    const heads = countHeads(app);
    const [outcome] = await submitUploads(eventWith(KEY, { eTag: 'etag1', size: 1000 }), app.deps());
    assert.equal(outcome?.status, 'submitted');
    assert.deepEqual(heads, []);
    const job = (await app.store.getJob(idOf()))!;
    assert.deepEqual([job.eTag, job.size], ['ETAG1', 1000]);
  });

  it('an event without a size makes one HEAD: the size is the object\'s, the ETag stays the event\'s', async () => {
    const app = fakeApp();
    app.bucket.objects.set(KEY, 'video bytes');
    const heads = countHeads(app);
    await submitUploads(eventWith(KEY, { eTag: 'ETAG1' }), app.deps());
    assert.deepEqual(heads, [KEY]);
    // The fake bucket answers ETag "E" and the body's length.
    const job = (await app.store.getJob(idOf()))!;
    assert.deepEqual([job.eTag, job.size], ['ETAG1', 'video bytes'.length]);
  });

  it('an event without an ETag makes one HEAD: the ETag is the object\'s, the size stays the event\'s', async () => {
    const app = fakeApp();
    app.bucket.objects.set(KEY, 'video bytes');
    const heads = countHeads(app);
    await submitUploads(eventWith(KEY, { size: 1000 }), app.deps());
    assert.deepEqual(heads, [KEY]);
    const job = (await app.store.getJob(idOf(KEY, 'E')))!;
    assert.deepEqual([job.eTag, job.size], ['E', 1000]);
  });

  it('a HEAD answered 503 is retried as an oss call', async () => {
    const app = fakeApp();
    app.bucket.objects.set(KEY, 'video');
    app.bucket.failNext('head', serviceError(503, 'ServiceUnavailable'));
    const [outcome] = await submitUploads(eventWith(KEY, { eTag: 'ETAG1' }), app.deps());
    assert.equal(outcome?.status, 'submitted');
    assert.deepEqual(app.retried, ['oss ServiceUnavailable']);
  });

  it('a URL-encoded key: both spellings are looked up, the decoded one is used and the warning names both', async () => {
    // The prefix matches only the decoded key, so the rule match must look at every spelling.
    const app = fakeApp({ config: testConfig({}, [{ ...DEFAULT_RULES[0]!, prefix: 'my videos/' }]) });
    app.bucket.objects.set('my videos/clip.mp4', 'video');
    const heads = countHeads(app);
    const [outcome] = await submitUploads(uploadEvent('my%20videos/clip.mp4'), app.deps());
    assert.equal(outcome?.status, 'submitted');
    assert.equal(outcome?.key, 'my videos/clip.mp4');
    assert.deepEqual(heads, ['my%20videos/clip.mp4', 'my videos/clip.mp4']);
    const warning = app.logs.find((l) => l.level === 'warn');
    assert.deepEqual([warning?.['eventKey'], warning?.['key']], ['my%20videos/clip.mp4', 'my videos/clip.mp4']);
  });
});

describe('submit: the outcome of each upload', () => {
  it('a submitted job names its task once, though the task makes both outputs; the log line carries the outcome', async () => {
    const app = fakeApp();
    const [outcome] = await submitUploads(uploadEvent(KEY), app.deps());
    const expected = { status: 'submitted', key: KEY, rule: 'preview', jobId: idOf(), taskIds: ['task-1'] };
    assert.deepEqual(outcome, expected);
    const line = app.logs.find((l) => l.message === 'upload submitted')!;
    assert.deepEqual({ status: line['status'], key: line['key'], rule: line['rule'], jobId: line['jobId'], taskIds: line['taskIds'] }, expected);
  });

  it('one task per output (engine oss): every task id, in output order', async () => {
    const app = fakeApp({ engine: (imm) => fakeOssEngine(imm), config: testConfig({}, DEFAULT_RULES.map((r) => ({ ...r, engine: 'oss' as const }))) });
    const [outcome] = await submitUploads(uploadEvent(KEY), app.deps());
    assert.deepEqual(outcome && 'taskIds' in outcome ? outcome.taskIds : undefined, ['task-1', 'task-2']);
  });

  it('a deferred job has no task yet: an empty list of task ids', async () => {
    const app = fakeApp({ engine: (imm) => fakeOssEngine(imm), config: testConfig({}, DEFAULT_RULES.map((r) => ({ ...r, engine: 'oss' as const }))) });
    app.imm.dropAnswerNext();
    await assert.rejects(submitUploads(uploadEvent(KEY), app.deps()), TransientFailure);
    const [deferred] = await submitUploads(uploadEvent(KEY), app.deps('again'));
    assert.equal(deferred?.status, 'deferred');
    assert.deepEqual(deferred && 'taskIds' in deferred ? deferred.taskIds : undefined, []);
  });

  it('a failed job lists no task ids, only its reason', async () => {
    const app = fakeApp();
    app.imm.refuseNext(serviceError(400, 'InvalidArgument', 'no'));
    const [outcome] = await submitUploads(uploadEvent(KEY), app.deps());
    assert.deepEqual(outcome, { status: 'failed', key: KEY, rule: 'preview', jobId: idOf(), reason: 'InvalidArgument: no' });
  });

  it('a rule whose size range excludes the source is skipped, with its own outcome, while another rule runs', async () => {
    const app = fakeApp({
      config: testConfig({}, [
        { name: 'small', prefix: 'videos/', maxBytes: 100, outputs: [{ format: 'gif', key: 's/{basename}' }] },
        { name: 'any', prefix: 'videos/', outputs: [{ format: 'gif', key: 'a/{basename}' }] },
      ]),
    });
    const outcomes = await submitUploads(uploadEvent(KEY), app.deps());
    assert.deepEqual(outcomes[0], { status: 'skipped', key: KEY, reason: 'rule "small": 1000 bytes is above maxBytes 100' });
    assert.equal(outcomes[1]?.status, 'submitted');
    assert.equal(app.imm.tasks.length, 1);
  });

  it('an event that neither creates nor removes an object is skipped, saying which event it was', async () => {
    const app = fakeApp();
    const outcomes = await submitUploads(eventWith(KEY, { eTag: 'E', size: 1 }, 'ObjectModified:UpdateObjectMeta'), app.deps());
    assert.deepEqual(outcomes, [{ status: 'skipped', key: KEY, reason: 'event ObjectModified:UpdateObjectMeta is not an object creation' }]);
    assert.equal(app.imm.tasks.length, 0);
  });
});

describe('submit: failures', () => {
  it('every transient failure of an event is reported, in event order, in the one error that makes FC deliver again', async () => {
    const app = fakeApp();
    app.store.markOpen = async (jobId) => {
      throw new TransientFailure(`records of ${jobId} are busy`);
    };
    const event = { events: [uploadEvent('videos/a.mp4').events[0]!, uploadEvent('videos/b.mp4').events[0]!] };
    await assert.rejects(submitUploads(event, app.deps()), (error: Error) => {
      assert.ok(error instanceof TransientFailure);
      assert.equal(error.message, `records of ${idOf('videos/a.mp4')} are busy; records of ${idOf('videos/b.mp4')} are busy`);
      return true;
    });
  });

  it('a 5xx still failing after the retries is transient too: the later uploads of the event go first, then FC delivers again', async () => {
    const app = fakeApp();
    const markOpen = app.store.markOpen.bind(app.store);
    app.store.markOpen = async (jobId) => {
      if (jobId === idOf('videos/a.mp4')) throw serviceError(503, 'ServiceUnavailable');
      return markOpen(jobId);
    };
    const event = { events: [uploadEvent('videos/a.mp4').events[0]!, uploadEvent('videos/b.mp4').events[0]!] };
    await assert.rejects(submitUploads(event, app.deps()), (error: Error) => error instanceof TransientFailure && /ServiceUnavailable|503/.test(error.message));
    assert.equal(app.imm.tasks.length, 1, 'b.mp4 got its task although a.mp4 failed before it');
  });

  it('a failure that is not transient is thrown as it is, not disguised as one FC should retry', async () => {
    const app = fakeApp();
    const broken = new ConfigError('the records bucket has versioning enabled');
    await assert.rejects(submitUploads(uploadEvent(KEY), { ...app.deps(), records: async () => Promise.reject(broken) }), (error) => error === broken);

    const denied = fakeApp();
    denied.store.markOpen = async () => {
      throw serviceError(403, 'AccessDenied');
    };
    await assert.rejects(submitUploads(uploadEvent(KEY), denied.deps()), (error) => error instanceof ServiceResponseError && error.code === 'AccessDenied');
  });
});
