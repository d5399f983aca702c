import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endAttempt, startAttempt, type JobAttempt } from '../../shared/jobs/attempt';
import { deriveJob } from '../../shared/jobs/derive';
import { identityOf, type JobFacts, type JobRecord, type TaskResult } from '../../shared/jobs/job';
import { claimNextAttempt, concludeJob, saveAttempt, withFacts, type Lifecycle } from '../../shared/jobs/lifecycle';
import { newJobIdentity, planJob, planNeedsMedia, plannedOutputs, samplePlan } from '../../shared/jobs/plan';
import { ossJobStore } from '../../shared/jobs/stores/oss';
import { parseRuleSet } from '../../shared/rules/validate';
import { DEFAULT_POLICY } from '../../shared/wiring/config';
import { fakeBucket, T0 } from '../helpers/fake-app';
import { memoryJobStore } from '../helpers/memory-store';

const source = { bucket: 'media', key: 'videos/a.mp4', eTag: 'E', size: 1 };
const kitRule = parseRuleSet(
  [
    {
      name: 'kit',
      prefix: 'videos/',
      outputs: [
        { format: 'gif', key: 'previews/{basename}', bucket: 'public-previews' },
        { kind: 'poster', key: 'posters/{basename}', candidates: 3 },
        { kind: 'poster', key: 'covers/{basename}', at: 2 },
        { kind: 'storyboard', key: 'boards/{basename}', frames: 12, columns: 4, rows: 2, width: 64 },
      ],
    },
  ],
  { recordsPrefix: '.video-animation/' },
)[0]!;
const plainRule = parseRuleSet([{ name: 'plain', prefix: 'videos/', outputs: [{ format: 'gif', key: 'g/{basename}' }] }], { recordsPrefix: '.video-animation/' })[0]!;

describe('planned outputs: one shape for every kind and its files', () => {
  it('animations in their bucket, a poster with its candidates, a poster at a time, a storyboard with its sheets', () => {
    assert.deepEqual(plannedOutputs(planJob(source, kitRule)), [
      { key: 'previews/a.mp4.gif', format: 'gif', maxFrames: 300, bucket: 'public-previews' },
      { key: 'posters/a.mp4.jpg', kind: 'poster', format: 'jpg', maxFrames: 3, candidates: ['posters/a.mp4-candidate-1.jpg', 'posters/a.mp4-candidate-2.jpg', 'posters/a.mp4-candidate-3.jpg'] },
      { key: 'covers/a.mp4.jpg', kind: 'poster', format: 'jpg', maxFrames: 1 },
      { key: 'boards/a.mp4.vtt', kind: 'storyboard', format: 'jpg', maxFrames: 12, files: ['boards/a.mp4-1.jpg', 'boards/a.mp4-2.jpg'] },
    ]);
    assert.deepEqual(newJobIdentity(planJob(source, kitRule), T0, 'f'.repeat(32)).outputs, plannedOutputs(planJob(source, kitRule)));
    assert.equal(newJobIdentity(planJob(source, kitRule), T0, 'f'.repeat(32)).retryOf, 'f'.repeat(32));
    assert.equal(plannedOutputs(planJob(source, plainRule))[0]!.bucket, undefined, 'the source bucket is not named');
  });

  it('samplePlan lays out the owed previews only, and says nothing of previews a rule has none of', () => {
    const media = { duration: 6, width: 320, height: 180 };
    const all = samplePlan(planJob(source, kitRule), media);
    assert.deepEqual(all.previews?.map((p) => p.kind), ['poster', 'poster', 'storyboard']);
    assert.deepEqual(all.media, media);
    const some = samplePlan(planJob(source, kitRule), media, (p) => p.kind === 'storyboard');
    assert.deepEqual(some.previews?.map((p) => p.kind), ['storyboard']);
    assert.equal('previews' in samplePlan(planJob(source, kitRule), media, () => false), false);
    assert.equal('previews' in samplePlan(planJob(source, plainRule)), false);
    assert.equal('media' in samplePlan(planJob(source, plainRule)), false);
  });

  it('planNeedsMedia: for frames, any storyboard (its cues need the duration), and a poster at a percent', () => {
    assert.equal(planNeedsMedia(plainRule), false);
    assert.equal(planNeedsMedia(kitRule), true);
    const rule = (outputs: unknown[]) => parseRuleSet([{ name: 'r', prefix: 'videos/', outputs }], { recordsPrefix: '.video-animation/' })[0]!;
    assert.equal(planNeedsMedia(rule([{ kind: 'poster', key: 'p/{basename}', at: '50%' }])), true);
    assert.equal(planNeedsMedia(rule([{ kind: 'poster', key: 'p/{basename}', at: 3 }])), false);
    assert.equal(planNeedsMedia(rule([{ kind: 'poster', key: 'p/{basename}' }])), false);
    assert.equal(planNeedsMedia(rule([{ format: 'gif', key: 'g/{basename}', frames: 5 }])), true);
  });
});

const job = newJobIdentity(planJob(source, plainRule), T0);
const [gif] = job.outputs.map((o) => o.key) as [string];
const result = (taskId: string, status: 'Succeeded' | 'Failed', code: string | undefined, startTime: string, extra: Partial<TaskResult> = {}): TaskResult => ({
  jobId: job.jobId,
  taskId,
  status,
  error: status === 'Failed' ? { code: code!, message: `${code} happened` } : null,
  outputs: [{ key: gif, tagged: status === 'Succeeded', ...(status === 'Succeeded' ? { bytes: 5, frames: 3 } : {}) }],
  recordedAt: '2026-01-01T00:09:00.000Z',
  startTime,
  ...extra,
});
const facts = (attempts: JobAttempt[], results: TaskResult[], extra: Partial<JobFacts> = {}): JobFacts => ({ job, attempts, results: new Map(results.map((r) => [r.taskId, r])), retriedBy: [], ...extra });

describe('deriveJob: tasks known only from their results, times, frames', () => {
  it('orders result-only tasks by start time: the latest one decides', () => {
    const running = startAttempt(1, 'event', T0, 60_000);
    const early = result('t1', 'Failed', 'InternalError', '2026-01-01T00:00:01Z');
    const late = result('t2', 'Failed', 'InvalidFile.Media', '2026-01-01T00:00:02Z');
    // Listed in either order, the task that started last is the output's current one.
    for (const order of [[early, late], [late, early]]) {
      const view = deriveJob(facts([running], order), DEFAULT_POLICY);
      assert.equal(view.status, 'failed');
      assert.equal(view.error?.code, 'InvalidFile.Media');
    }
    const noStart = { ...late, startTime: undefined, recordedAt: '2026-01-01T00:00:00.500Z' };
    delete noStart.startTime;
    assert.equal(deriveJob(facts([running], [early, noStart]), DEFAULT_POLICY).error, null, 'without a start time, the recording time orders it');
  });

  it('a succeeded task reports bytes, frames and the bytes of each file; the view spans task times', () => {
    const submitted = endAttempt(startAttempt(1, 'event', T0, 60_000), 'submitted', T0 + 1000, { tasks: [{ taskId: 't1', outputs: [gif] }] });
    const done = result('t1', 'Succeeded', undefined, '2026-01-01T00:00:03Z', {
      endTime: '2026-01-01T00:00:09Z',
      outputs: [{ key: gif, bytes: 5, frames: 3, tagged: true, fileBytes: { 'x.jpg': 7 } }],
    });
    const view = deriveJob(facts([{ ...submitted, plannedFrames: { [gif]: 4 } }], [done]), DEFAULT_POLICY);
    assert.deepEqual(view.outputs[0], { ...job.outputs[0], plannedFrames: 4, taskId: 't1', frames: 3, bytes: 5, tagged: true, fileBytes: { 'x.jpg': 7 } });
    assert.deepEqual(view.task, { startTime: '2026-01-01T00:00:03Z', endTime: '2026-01-01T00:00:09Z' });
    assert.equal(view.submittedAt, new Date(T0 + 1000).toISOString());
    assert.equal(view.updatedAt, '2026-01-01T00:09:00.000Z');
    assert.equal(view.finishedAt, view.updatedAt);
    assert.equal(view.frames, 3);
    assert.equal('retriedBy' in view, false, 'no retry link, no field');
    assert.deepEqual(deriveJob(facts([submitted], [done], { retriedBy: ['b', 'a'] }), DEFAULT_POLICY).retriedBy, ['a', 'b']);
  });

  it('a job whose attempts ran out ends only once the last has an outcome', () => {
    const policy = { ...DEFAULT_POLICY, maxJobAttempts: 2 };
    const deferred = (n: number) => endAttempt(startAttempt(n, 'event', T0, 60_000), 'deferred', T0 + n);
    const ended = deriveJob(facts([deferred(1), endAttempt(startAttempt(2, 'event', T0, 60_000), 'retrying', T0 + 2, { error: { code: 'X', message: 'y' } })], []), policy);
    assert.deepEqual(ended.error, { code: 'TooManyAttempts', message: 'gave up after 2 attempts (X: y)' });
    assert.equal(deriveJob(facts([deferred(1), deferred(2)], []), policy).error?.message, 'gave up after 2 attempts (last attempt deferred)');
    assert.equal(deriveJob(facts([deferred(1), startAttempt(2, 'event', T0, 60_000)], []), policy).status, 'pending');
    const view = deriveJob(facts([], []), DEFAULT_POLICY);
    assert.equal(view.status, 'pending');
    assert.deepEqual(view.outputs, job.outputs, 'nothing planned yet: the identity alone');
    assert.equal('frames' in view, false);
    assert.equal('task' in view, false);
    assert.equal('submittedAt' in view, false);
  });

  it('identityOf: the record without what its tasks added, the re-run link kept', () => {
    const record = { ...deriveJob(facts([], []), DEFAULT_POLICY), retryOf: 'r', outputs: [{ ...job.outputs[0]!, taskId: 't', plannedFrames: 1, frames: 2, bytes: 3, tagged: true, fileBytes: {} }] } as JobRecord;
    assert.deepEqual(identityOf(record), { ...job, retryOf: 'r' });
    assert.deepEqual(identityOf({ ...record, retryOf: undefined } as unknown as JobRecord), job);
  });
});

describe('lifecycle operations', () => {
  const life = (store = memoryJobStore(), publish?: Lifecycle['publish']): Lifecycle => ({
    store,
    clock: { now: () => T0 },
    policy: DEFAULT_POLICY,
    leaseMs: 60_000,
    requestId: 'req',
    retry: (operation) => operation(),
    ...(publish ? { publish } : {}),
  });

  it('claims the number after the latest attempt; the first is 1', async () => {
    const store = memoryJobStore();
    await store.createJob(job);
    assert.equal((await claimNextAttempt(life(store), facts([], []), 'event'))?.number, 1);
    assert.equal((await claimNextAttempt(life(store), facts([startAttempt(4, 'event', T0, 1)], []), 'event'))?.number, 5);
    assert.equal(await claimNextAttempt(life(store), facts([], []), 'event'), undefined, 'number 1 is taken');
  });

  it('saving an attempt keeps the attempts in order, replaces its claim, and indexes the state it reached', async () => {
    const store = memoryJobStore();
    const l = life(store);
    const state = withFacts(l, facts([startAttempt(1, 'event', T0, 1), startAttempt(3, 'event', T0, 1)], []));
    const next = await saveAttempt(l, state, endAttempt(startAttempt(2, 'event', T0, 1), 'submitted', T0, { tasks: [{ taskId: 't', outputs: [gif] }] }));
    assert.deepEqual(next.facts.attempts.map((a) => [a.number, a.outcome ?? null]), [[1, null], [2, 'submitted'], [3, null]]);
    const again = await saveAttempt(l, next, endAttempt(startAttempt(2, 'event', T0, 1), 'failed', T0, { error: { code: 'E', message: 'm' } }));
    assert.equal(again.facts.attempts.length, 3, 'the same number replaces its claim');
    assert.deepEqual([...store.index].length, 1, 'one index entry for the state reached (not for the terminal one)');
  });

  it('concluding: the event first, then the record that says so; an ended job is not published again; a running one not at all', async () => {
    const store = memoryJobStore();
    const published: string[] = [];
    const l = life(store, async (view) => (published.push(view.jobId), { id: 'e1', type: 'video-animation.job.failed', publishedAt: 'now' }));
    const failing = withFacts(l, facts([endAttempt(startAttempt(1, 'event', T0, 1), 'failed', T0, { error: { code: 'E', message: 'm' } })], []));
    await store.markOpen(job.jobId);
    const concluded = await concludeJob(l, failing);
    assert.equal(concluded.wrote, true);
    assert.deepEqual(concluded.facts.ended?.event, { id: 'e1', type: 'video-animation.job.failed', publishedAt: 'now' });
    assert.deepEqual(published, [job.jobId]);
    assert.equal(store.open.size, 0);
    const again = await concludeJob(l, concluded);
    assert.equal(again.wrote, false);
    assert.deepEqual(published, [job.jobId], 'not published twice');
    const running = withFacts(l, facts([startAttempt(1, 'event', T0, 1)], []));
    assert.deepEqual(await concludeJob(l, running), { ...running, wrote: false });
    assert.deepEqual(published.length, 1);
    // Without events, the record has no event.
    const quiet = await concludeJob(life(memoryJobStore()), failing);
    assert.equal(quiet.facts.ended?.event, undefined);
  });
});

describe('the OSS store adapter: deletion, owners, and what it refuses to guess', () => {
  it('records a deletion once, answers the first, and loads the job with it', async () => {
    const bucket = fakeBucket();
    const store = ossJobStore(bucket, 'r/');
    await store.createJob(job);
    const first = { jobId: job.jobId, outputs: [gif], deletedAt: 'then' };
    assert.deepEqual(await store.markDeleted(first), first);
    assert.deepEqual(await store.markDeleted({ ...first, deletedAt: 'later' }), first);
    assert.ok(bucket.objects.has(`r/jobs/${job.jobId}/deleted.json`));
    assert.deepEqual((await store.loadJob(job.jobId))?.deleted, { outputs: [gif], deletedAt: 'then' });
    await store.claimAttempt(job.jobId, startAttempt(1, 'event', T0, 1));
    const view = deriveJob((await store.loadJob(job.jobId))!, DEFAULT_POLICY);
    assert.deepEqual(await store.endJob(view), { written: true, record: view });
    assert.deepEqual((await store.loadJob(job.jobId))?.deleted, { outputs: [gif], deletedAt: 'then' }, 'an ended job keeps its deletion');
  });

  it('finds and releases an output owner', async () => {
    const store = ossJobStore(fakeBucket(), 'r/');
    assert.equal(await store.outputOwner('o.gif'), undefined);
    const owner = { outputKey: 'o.gif', sourceKey: 'v.mp4', jobId: 'j', claimedAt: 'now' };
    await store.claimOutput(owner);
    assert.deepEqual(await store.outputOwner('o.gif'), owner);
    await store.releaseOutput('o.gif');
    assert.equal(await store.outputOwner('o.gif'), undefined);
  });

  it('a create-only write that lost to an object it cannot read is an error, never a guess', async () => {
    const bucket = fakeBucket();
    const store = ossJobStore(bucket, 'r/');
    bucket.getText = async () => undefined;
    bucket.putText = async () => 'exists';
    await assert.rejects(store.putTaskResult(result('t', 'Failed', 'E', 'x')), /task result t exists but cannot be read/);
    await assert.rejects(store.endJob(deriveJob(facts([], []), DEFAULT_POLICY)), /terminal record of job .* exists but cannot be read/);
    await assert.rejects(store.markDeleted({ jobId: 'j', outputs: [], deletedAt: 'x' }), /deletion record of job j exists but cannot be read/);
    await assert.rejects(store.claimOutput({ outputKey: 'o', sourceKey: 's', jobId: 'j', claimedAt: 'x' }), /owner of o exists but cannot be read/);
  });

  it('empty markers are create-only and plain text; the open entry is plain text; the cursor clears to {}', async () => {
    const bucket = fakeBucket();
    const puts: [string, unknown][] = [];
    const put = bucket.putText.bind(bucket);
    bucket.putText = async (key, body, options) => (puts.push([key, options]), put(key, body, options));
    const store = ossJobStore(bucket, 'r/');
    await store.linkRetry('j', 'k');
    await store.markOpen('j');
    await store.saveReconcileCursor(undefined);
    assert.deepEqual(puts, [
      ['r/jobs/j/retry-k', { contentType: 'text/plain', createOnly: true }],
      ['r/open/j', { contentType: 'text/plain' }],
      ['r/reconcile-cursor.json', undefined],
    ]);
    assert.equal(bucket.objects.get('r/reconcile-cursor.json'), '{}\n');
  });

  it('the job index: since is inclusive, entries of other days are not listed', async () => {
    const store = ossJobStore(fakeBucket(), 'r/');
    const at = '2026-01-02T03:04:05.006Z';
    await store.indexJob({ jobId: 'a'.repeat(32), rule: 'r', status: 'pending', createdAt: at });
    await store.indexJob({ jobId: 'b'.repeat(32), rule: 'r', status: 'pending', createdAt: '2026-01-01T23:59:59.999Z' });
    assert.deepEqual((await store.listJobIndex({ since: at })).map((e) => e.jobId), ['a'.repeat(32)]);
  });

  it('a schemaVersion 2 job still running: attempts from its claims (the view\'s when none), results from its folder', async () => {
    const bucket = fakeBucket();
    const store = ossJobStore(bucket, 'r/');
    const v2 = { ...deriveJob(facts([endAttempt(startAttempt(1, 'event', T0, 1), 'submitted', T0, { tasks: [{ taskId: 't1', outputs: [gif] }] })], []), DEFAULT_POLICY), schemaVersion: 2 };
    bucket.objects.set(`r/jobs/${job.jobId}.json`, JSON.stringify(v2));
    const read = (await store.loadJob(job.jobId))!;
    assert.deepEqual(read.attempts.map((a) => a.number), [1], 'no claims in its folder: the view\'s attempts');
    assert.equal(read.results.size, 0);
    bucket.objects.set(`r/claims/${job.jobId}/attempt-0002.json`, JSON.stringify(startAttempt(2, 'takeover', T0, 1)));
    bucket.objects.set(`r/results/${job.jobId}/t1.json`, JSON.stringify(result('t1', 'Succeeded', undefined, 's')));
    const again = (await store.loadJob(job.jobId))!;
    assert.deepEqual(again.attempts.map((a) => a.number), [2], 'its claims, when it has any');
    assert.deepEqual([...again.results.keys()], ['t1']);
    bucket.objects.set(`r/jobs/${job.jobId}/attempt-0003.json`, JSON.stringify(startAttempt(3, 'takeover', T0, 1)));
    bucket.objects.set(`r/jobs/${job.jobId}/attempt-x.json.bak`, 'not a claim');
    assert.deepEqual((await store.loadJob(job.jobId))!.attempts.map((a) => a.number), [2, 3], 'new claims beside old ones, in order');
  });
});
