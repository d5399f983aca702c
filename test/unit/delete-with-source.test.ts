import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppDeps } from '../../shared/app/context';
import { recordTaskNotice } from '../../shared/app/record';
import { submitUploads } from '../../shared/app/submit';
import type { CompletionEvent } from '../../shared/events/completion';
import { jobIdFor } from '../../shared/jobs/plan';
import type { OutputsDeleted } from '../../shared/jobs/store';
import type { RuleInput } from '../../shared/rules/schema';
import { BUCKET, DEFAULT_RULES, fakeApp, notice, serviceError, testConfig, uploadEvent } from '../helpers/fake-app';

const KEY = 'videos/clip.mp4';
const GIF = 'animations/clip.mp4.gif';
const WEBP = 'animations/clip.mp4.webp';
const idOf = (key = KEY, rule = 'preview') => jobIdFor({ bucket: BUCKET, key, eTag: 'ETAG1', size: 1000 }, rule);
const deleting = (rules: RuleInput[] = DEFAULT_RULES) => testConfig({}, rules.map((r) => ({ ...r, deleteWithSource: true })));
const removal = (key: string) => ({ events: [{ ...uploadEvent(key).events[0]!, eventName: 'ObjectRemoved:DeleteObject' }] });

/** The source uploaded, its job succeeded and its outputs exist. */
async function succeeded(app: ReturnType<typeof fakeApp>, key = KEY) {
  app.bucket.objects.set(key, 'video');
  await submitUploads(uploadEvent(key), app.deps());
  for (const output of [GIF, WEBP]) app.bucket.objects.set(output, 'animation');
  await recordTaskNotice(notice('task-1', idOf(key)), app.deps());
}

/**
 * Every key the bucket is asked to delete, in order, with the requests that carried them (a DELETE, or a
 * DeleteMultipleObjects for several keys); a request naming a key in `failOnce` is answered 503 the first time.
 */
function watchDeletes(app: ReturnType<typeof fakeApp>, failOnce: string[] = []) {
  const deletes = Object.assign([] as string[], { requests: [] as string[][] });
  const failing = new Set(failOnce);
  const sent = (keys: string[]) => {
    deletes.push(...keys);
    deletes.requests.push(keys);
    if (keys.filter((key) => failing.delete(key)).length > 0) throw serviceError(503, 'ServiceUnavailable');
  };
  const remove = app.bucket.delete.bind(app.bucket);
  const removeMany = app.bucket.deleteMany.bind(app.bucket);
  app.bucket.delete = async (key) => (sent([key]), remove(key));
  app.bucket.deleteMany = async (keys) => (sent([...keys]), removeMany(keys));
  return deletes;
}

/** The deletion records the store is asked to write. */
function watchMarks(app: ReturnType<typeof fakeApp>) {
  const marks: OutputsDeleted[] = [];
  const mark = app.store.markDeleted.bind(app.store);
  app.store.markDeleted = async (record) => (marks.push(record), mark(record));
  return marks;
}

/** An events topic that takes a second per publish; `failures` publishes are answered 503 first. */
function topic(app: ReturnType<typeof fakeApp>, failures = 0) {
  const published: CompletionEvent[] = [];
  const events: NonNullable<AppDeps['events']> = {
    accountId: '1234567890',
    async publish(event) {
      if (failures-- > 0) throw serviceError(503, 'ServiceUnavailable');
      published.push(event);
      app.clock.advance(1000);
    },
  };
  return { published, events };
}

describe('outputs deleted with their source: what is deleted', () => {
  it('deletes each output key once, publishes one outputs.deleted event, then records the deletion with it', async () => {
    const app = fakeApp({ config: deleting() });
    await succeeded(app);
    const deletes = watchDeletes(app);
    const marks = watchMarks(app);
    const { published, events } = topic(app);
    const deletedAt = new Date(app.clock.now()).toISOString();

    const outcomes = await submitUploads(removal(KEY), { ...app.deps(), events });
    assert.deepEqual(outcomes, [{ status: 'deleted', key: KEY, rule: 'preview', jobId: idOf(), outputs: [GIF, WEBP] }]);
    assert.deepEqual(deletes.requests, [[GIF, WEBP]], 'one DeleteMultipleObjects for both outputs');

    assert.equal(published.length, 1);
    const [event] = published;
    assert.equal(event?.type, 'video-animation.outputs.deleted');
    assert.equal(event?.subject, KEY);
    assert.equal(event?.time, deletedAt);
    assert.equal(event?.source, 'acs:oss:cn-hangzhou:1234567890:media');
    assert.equal(event?.data.jobId, idOf());
    assert.deepEqual(event?.data.outputs.map((o) => o.key), [GIF, WEBP]);

    // Published after a second: the record says when the event went out.
    const publishedAt = new Date(Date.parse(deletedAt) + 1000).toISOString();
    assert.deepEqual(marks, [{ jobId: idOf(), outputs: [GIF, WEBP], deletedAt, event: { id: event!.id, publishedAt } }]);

    const line = app.logs.find((l) => l.message === 'outputs deleted with their source');
    assert.deepEqual([line?.['jobId'], line?.['key'], line?.['outputs']], [idOf(), KEY, [GIF, WEBP]]);
  });

  it('without an events topic nothing is published and the record names no event', async () => {
    const app = fakeApp({ config: deleting() });
    await succeeded(app);
    const marks = watchMarks(app);
    const deletedAt = new Date(app.clock.now()).toISOString();
    await submitUploads(removal(KEY), app.deps());
    assert.deepEqual(marks, [{ jobId: idOf(), outputs: [GIF, WEBP], deletedAt }]);
  });

  it('a delete answered 503 is retried as an oss call, a publish answered 503 as an mns call', async () => {
    const app = fakeApp({ config: deleting() });
    await succeeded(app);
    const deletes = watchDeletes(app, [GIF]);
    const { published, events } = topic(app, 1);
    const deps: AppDeps = { ...app.deps(), events };
    const [outcome] = await submitUploads(removal(KEY), deps);
    assert.equal(outcome?.status, 'deleted');
    assert.deepEqual(deletes.requests, [[GIF, WEBP], [GIF, WEBP]], 'the multi-delete sent again whole');
    assert.equal(app.bucket.objects.has(GIF), false);
    assert.equal(published.length, 1);
    assert.deepEqual([...app.retried].sort(), ['mns ServiceUnavailable', 'oss ServiceUnavailable']);
  });

  it('an output without an owner marker is left alone: it may be anyone\'s', async () => {
    const app = fakeApp({ config: deleting() });
    await succeeded(app);
    await app.store.releaseOutput(WEBP);
    const deletes = watchDeletes(app);
    const [outcome] = await submitUploads(removal(KEY), app.deps());
    assert.deepEqual(outcome && 'outputs' in outcome ? outcome.outputs : undefined, [GIF]);
    assert.deepEqual([...deletes], [GIF]);
    assert.ok(app.bucket.objects.has(WEBP));
  });
});

describe('outputs deleted with their source: which jobs', () => {
  it('only the jobs of rules that delete with their source: every such rule, no other', async () => {
    const rule = (name: string, deleteWithSource: boolean): RuleInput => ({ name, prefix: 'videos/', deleteWithSource, outputs: [{ format: 'gif', key: `${name}/{basename}` }] });
    const app = fakeApp({ config: testConfig({}, [rule('first', true), rule('second', true), rule('kept', false)]) });
    app.bucket.objects.set(KEY, 'video');
    await submitUploads(uploadEvent(KEY), app.deps());
    for (const name of ['first', 'second', 'kept']) app.bucket.objects.set(`${name}/clip.mp4.gif`, 'animation');
    const deletes = watchDeletes(app);

    const outcomes = await submitUploads(removal(KEY), app.deps());
    const byRule = outcomes.map((o) => ['rule' in o ? o.rule : '', o.status, 'outputs' in o ? o.outputs : undefined] as const).sort(([a], [b]) => a.localeCompare(b));
    assert.deepEqual(byRule, [
      ['first', 'deleted', ['first/clip.mp4.gif']],
      ['second', 'deleted', ['second/clip.mp4.gif']],
    ]);
    assert.deepEqual([...deletes].sort(), ['first/clip.mp4.gif', 'second/clip.mp4.gif']);
    assert.ok(app.bucket.objects.has('kept/clip.mp4.gif'));
    assert.equal((await app.store.getJob(idOf(KEY, 'kept')))?.deleted, undefined);
  });

  it("a job listed under the source that is another source's is not touched", async () => {
    const app = fakeApp({ config: deleting() });
    await succeeded(app);
    app.bucket.objects.set('videos/other.mp4', 'video');
    await submitUploads(uploadEvent('videos/other.mp4'), app.deps());
    // A stray entry in the source index: the record behind it names another key.
    await app.store.indexSource(KEY, idOf('videos/other.mp4'));
    const marks = watchMarks(app);

    const outcomes = await submitUploads(removal(KEY), app.deps());
    assert.deepEqual(outcomes.map((o) => 'jobId' in o && o.jobId), [idOf()]);
    assert.deepEqual(marks.map((m) => m.jobId), [idOf()]);
    assert.equal((await app.store.getJob(idOf('videos/other.mp4')))?.deleted, undefined);
  });

  it('a URL-encoded removal event finds the job of the decoded key', async () => {
    // The prefix matches only the decoded key, so the rule check must look at every spelling.
    const app = fakeApp({ config: deleting([{ ...DEFAULT_RULES[0]!, prefix: 'my videos/' }]) });
    app.bucket.objects.set('my videos/clip.mp4', 'video');
    const [submitted] = await submitUploads(uploadEvent('my%20videos/clip.mp4'), app.deps());
    assert.equal(submitted?.status, 'submitted');
    for (const output of [GIF, WEBP]) app.bucket.objects.set(output, 'animation');

    const outcomes = await submitUploads(removal('my%20videos/clip.mp4'), app.deps());
    assert.deepEqual(outcomes, [{ status: 'deleted', key: 'my videos/clip.mp4', rule: 'preview', jobId: idOf('my videos/clip.mp4'), outputs: [GIF, WEBP] }]);
  });

  it('a repeated removal event finds the jobs already marked, and says so', async () => {
    const app = fakeApp({ config: deleting() });
    await succeeded(app);
    await submitUploads(removal(KEY), app.deps());
    const deletes = watchDeletes(app);
    const again = await submitUploads(removal(KEY), app.deps());
    assert.deepEqual(again, [{ status: 'skipped', key: KEY, reason: 'event ObjectRemoved:DeleteObject: no job of this source has outputs left to delete' }]);
    assert.deepEqual([...deletes], []);
  });
});
