import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketContext } from '../../shared/app/context';
import { recordTaskNotice } from '../../shared/app/record';
import { submitUploads } from '../../shared/app/submit';
import { recordTaskEnd } from '../../shared/app/task-end';
import { startAttempt } from '../../shared/jobs/attempt';
import { jobIdFor, newJobIdentity, planJob, samplePlan } from '../../shared/jobs/plan';
import { TransientFailure } from '../../shared/platform/errors';
import type { RuleInput } from '../../shared/rules/schema';
import { BUCKET, fakeApp, LEASE_MS, notice, serviceError, testConfig, uploadEvent } from '../helpers/fake-app';

/**
 * What recording a task does to each file it made, request by request: one copy in place per file carrying its
 * Content-Type, Cache-Control, Content-Disposition and tags; a poster's candidates removed; the WebVTT written.
 */
const KEY = 'videos/clip.mp4';

/** The requests the record function sends to the bucket, in order, with their options. */
function recordRequests(app: ReturnType<typeof fakeApp>) {
  const requests: { op: string; key: string; options?: unknown }[] = [];
  const bucket = app.bucket;
  const { head, getBytes, copyInPlace, putText, delete: remove } = bucket;
  bucket.head = (key) => (requests.push({ op: 'head', key }), head(key));
  bucket.getBytes = (key) => (requests.push({ op: 'get', key }), getBytes(key));
  bucket.copyInPlace = (key, options) => (requests.push({ op: 'copy', key, options }), copyInPlace(key, options));
  bucket.putText = (key, body, options) => (requests.push({ op: 'put', key, options }), putText(key, body, options));
  bucket.delete = (key) => (requests.push({ op: 'delete', key }), remove(key));
  const of = (op: string) => requests.filter((r) => r.op === op);
  return { requests, of };
}

async function submitted(rules: RuleInput[], ruleName = rules[0]!.name) {
  const app = fakeApp({ config: testConfig({}, rules) });
  app.bucket.objects.set(KEY, 'video');
  const [outcome] = await submitUploads(uploadEvent(KEY), app.deps());
  assert.equal(outcome?.status, 'submitted');
  return { app, jobId: jobIdFor({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, ruleName) };
}

describe('recording a task: every file gets its headers and tags in one request', () => {
  // A rule that does not match comes first, with other headers: the job's own rule decides them.
  const rules: RuleInput[] = [
    { name: 'elsewhere', prefix: 'other/', cacheControl: 'no-store', tags: { team: 'other' }, outputs: [{ format: 'gif', key: 'x/{basename}' }] },
    {
      name: 'preview',
      prefix: 'videos/',
      cacheControl: 'max-age=60',
      contentDisposition: 'inline',
      tags: { team: 'video' },
      outputs: [
        { format: 'gif', key: 'animations/{basename}' },
        { kind: 'poster', key: 'posters/{basename}', candidates: 2 },
        { kind: 'poster', key: 'stills/{basename}', at: 1 },
        { kind: 'storyboard', key: 'boards/{basename}', frames: 4, columns: 2, rows: 1, width: 32 },
      ],
    },
  ];

  async function recorded() {
    const { app, jobId } = await submitted(rules, 'preview');
    app.bucket.objects.set('animations/clip.mp4.gif', 'GIF89a');
    app.bucket.objects.set('posters/clip.mp4-candidate-1.jpg', 'small');
    app.bucket.objects.set('posters/clip.mp4-candidate-2.jpg', 'the larger one');
    app.bucket.objects.set('stills/clip.mp4.jpg', 'still');
    app.bucket.objects.set('boards/clip.mp4-1.jpg', 'sheet one');
    app.bucket.objects.set('boards/clip.mp4-2.jpg', 'sheet2');
    const requests = recordRequests(app);
    const outcome = await recordTaskNotice(notice('task-1', jobId), app.deps());
    assert.deepEqual(outcome, { status: 'recorded', jobId, taskId: 'task-1', jobStatus: 'succeeded' });
    return { app, jobId, ...requests };
  }

  it('one copy per file with the rule\'s headers, the format\'s Content-Type and the tags of its kind', async () => {
    const { jobId, of } = await recorded();
    const tags = (format: string, kind?: string) => ({ source: KEY, rule: 'preview', job: jobId, task: 'task-1', format, ...(kind ? { kind } : {}), team: 'video' });
    const headers = { cacheControl: 'max-age=60', contentDisposition: 'inline' };
    const copies = of('copy').sort((a, b) => a.key.localeCompare(b.key));
    assert.deepEqual(copies, [
      { op: 'copy', key: 'animations/clip.mp4.gif', options: { contentType: 'image/gif', ...headers, tags: tags('gif') } },
      { op: 'copy', key: 'boards/clip.mp4-1.jpg', options: { contentType: 'image/jpeg', ...headers, tags: tags('jpg', 'storyboard') } },
      { op: 'copy', key: 'boards/clip.mp4-2.jpg', options: { contentType: 'image/jpeg', ...headers, tags: tags('jpg', 'storyboard') } },
      { op: 'copy', key: 'posters/clip.mp4.jpg', options: { contentType: 'image/jpeg', ...headers, tags: tags('jpg', 'poster'), from: 'posters/clip.mp4-candidate-2.jpg' } },
      { op: 'copy', key: 'stills/clip.mp4.jpg', options: { contentType: 'image/jpeg', ...headers, tags: tags('jpg', 'poster') } },
    ]);
    // The WebVTT is written, not copied: Cache-Control and tags, no Content-Disposition (it is not a download).
    assert.deepEqual(of('put'), [{ op: 'put', key: 'boards/clip.mp4.vtt', options: { contentType: 'text/vtt', cacheControl: 'max-age=60', tags: tags('jpg', 'storyboard') } }]);
  });

  it('reads each file once: the animation whole, the rest by HEAD; removes exactly the candidates', async () => {
    const { app, of } = await recorded();
    assert.deepEqual(of('get').map((r) => r.key), ['animations/clip.mp4.gif']);
    assert.deepEqual(
      of('head').map((r) => r.key).sort(),
      ['boards/clip.mp4-1.jpg', 'boards/clip.mp4-2.jpg', 'posters/clip.mp4-candidate-1.jpg', 'posters/clip.mp4-candidate-2.jpg', 'stills/clip.mp4.jpg'],
      'a poster taken at a time has no candidates to look for',
    );
    assert.deepEqual(of('delete').map((r) => r.key).sort(), ['posters/clip.mp4-candidate-1.jpg', 'posters/clip.mp4-candidate-2.jpg']);
    assert.equal(app.bucket.objects.get('posters/clip.mp4.jpg'), 'the larger one');
    assert.equal(app.bucket.objects.get('stills/clip.mp4.jpg'), 'still');
  });

  it('the WebVTT has one cue per tile, over the whole video, pointing into its sheet', async () => {
    const { app } = await recorded();
    assert.equal(
      app.bucket.objects.get('boards/clip.mp4.vtt'),
      [
        'WEBVTT',
        '',
        '00:00:00.000 --> 00:00:15.000',
        'clip.mp4-1.jpg#xywh=2,2,32,18',
        '',
        '00:00:15.000 --> 00:00:30.000',
        'clip.mp4-1.jpg#xywh=36,2,32,18',
        '',
        '00:00:30.000 --> 00:00:45.000',
        'clip.mp4-2.jpg#xywh=2,2,32,18',
        '',
        '00:00:45.000 --> 00:01:00.000',
        'clip.mp4-2.jpg#xywh=36,2,32,18',
        '',
      ].join('\n'),
    );
  });

  it('the record counts every output: bytes, frames billed, sheet sizes, tagged', async () => {
    const { app, jobId } = await recorded();
    const job = (await app.store.getJob(jobId))!;
    const vttBytes = Buffer.byteLength(app.bucket.objects.get('boards/clip.mp4.vtt')!);
    assert.deepEqual(
      job.outputs.map((o) => [o.key, o.bytes, o.frames, o.tagged, o.fileBytes]),
      [
        ['animations/clip.mp4.gif', 6, undefined, true, undefined],
        ['posters/clip.mp4.jpg', 14, 2, true, undefined],
        ['stills/clip.mp4.jpg', 5, 1, true, undefined],
        ['boards/clip.mp4.vtt', vttBytes, 4, true, { 'boards/clip.mp4-1.jpg': 9, 'boards/clip.mp4-2.jpg': 6 }],
      ],
    );
  });

  it('an animation whose frames cannot be counted is recorded without frames, with a warning naming it', async () => {
    const { app } = await recorded();
    const warning = app.logs.find((l) => l.level === 'warn' && l['key'] === 'animations/clip.mp4.gif');
    assert.ok(warning, 'the warning names the output');
  });
});

describe('recording a task: a rule without headers or tags', () => {
  it('sets the Content-Type and the app\'s tags only, on the copies and on the WebVTT; an output\'s own header is its own', async () => {
    const rules: RuleInput[] = [
      {
        name: 'plain',
        prefix: 'videos/',
        outputs: [
          { format: 'webp', key: 'animations/{basename}' },
          { format: 'gif', key: 'animations/{basename}', contentDisposition: 'attachment' },
          { kind: 'storyboard', key: 'boards/{basename}', frames: 2, columns: 2, rows: 1, width: 32 },
        ],
      },
    ];
    const { app, jobId } = await submitted(rules);
    app.bucket.objects.set('animations/clip.mp4.webp', 'RIFF');
    app.bucket.objects.set('animations/clip.mp4.gif', 'GIF89a');
    app.bucket.objects.set('boards/clip.mp4.jpg', 'sheet');
    const { of } = recordRequests(app);
    await recordTaskNotice(notice('task-1', jobId), app.deps());
    const tags = { source: KEY, rule: 'plain', job: jobId, task: 'task-1' };
    assert.deepEqual(
      of('copy').map((r) => [r.key, r.options]).sort(),
      [
        ['animations/clip.mp4.gif', { contentType: 'image/gif', contentDisposition: 'attachment', tags: { ...tags, format: 'gif' } }],
        ['animations/clip.mp4.webp', { contentType: 'image/webp', tags: { ...tags, format: 'webp' } }],
        ['boards/clip.mp4.jpg', { contentType: 'image/jpeg', tags: { ...tags, format: 'jpg', kind: 'storyboard' } }],
      ],
    );
    assert.deepEqual(of('put').map((r) => r.options), [{ contentType: 'text/vtt', tags: { ...tags, format: 'jpg', kind: 'storyboard' } }]);
  });
});

describe('recording a task: storyboards and rule changes', () => {
  it('two storyboards of one rule: each WebVTT points into its own sheets', async () => {
    const rules: RuleInput[] = [
      {
        name: 'boards',
        prefix: 'videos/',
        outputs: [
          { kind: 'storyboard', key: 'small/{basename}', frames: 2, columns: 2, rows: 1, width: 32 },
          { kind: 'storyboard', key: 'large/{basename}', frames: 2, columns: 1, rows: 1, width: 64 },
        ],
      },
    ];
    const { app, jobId } = await submitted(rules);
    for (const key of ['small/clip.mp4.jpg', 'large/clip.mp4-1.jpg', 'large/clip.mp4-2.jpg']) app.bucket.objects.set(key, 'sheet');
    await recordTaskNotice(notice('task-1', jobId), app.deps());
    assert.equal((await app.store.getJob(jobId))!.status, 'succeeded');
    assert.deepEqual(app.bucket.objects.get('small/clip.mp4.vtt')!.split('\n').filter((l) => l.includes('#xywh')), ['clip.mp4.jpg#xywh=2,2,32,18', 'clip.mp4.jpg#xywh=36,2,32,18']);
    assert.deepEqual(app.bucket.objects.get('large/clip.mp4.vtt')!.split('\n').filter((l) => l.includes('#xywh')), ['clip.mp4-1.jpg#xywh=2,2,64,36', 'clip.mp4-2.jpg#xywh=2,2,64,36']);
  });

  const storyboardRule: RuleInput = { name: 'boards', prefix: 'videos/', cacheControl: 'max-age=60', outputs: [{ format: 'gif', key: 'animations/{basename}' }, { kind: 'storyboard', key: 'boards/{basename}', frames: 2, columns: 2, rows: 1, width: 32, height: 18 }] };
  const produce = (app: ReturnType<typeof fakeApp>) => {
    app.bucket.objects.set('animations/clip.mp4.gif', 'GIF89a');
    app.bucket.objects.set('boards/clip.mp4.jpg', 'sheet');
  };
  const ruleChanged = { code: 'RuleChanged', message: 'the storyboard boards/clip.mp4.vtt is no longer in its rule, or the video\'s duration is unknown: its WebVTT cannot be written' };

  it('a storyboard its rule no longer has fails the job with RuleChanged, and no WebVTT is written', async () => {
    const { app, jobId } = await submitted([storyboardRule]);
    produce(app);
    const changed = testConfig({}, [{ ...storyboardRule, outputs: [storyboardRule.outputs[0]!] }]);
    await recordTaskNotice(notice('task-1', jobId), { ...app.deps(), config: changed });
    const job = (await app.store.getJob(jobId))!;
    assert.deepEqual([job.status, job.error], ['failed', ruleChanged]);
    assert.equal(app.bucket.objects.has('boards/clip.mp4.vtt'), false);
  });

  it('a job whose rule was removed: the animation gets the app\'s tags and no rule headers; a storyboard fails with RuleChanged', async () => {
    const { app, jobId } = await submitted([storyboardRule]);
    produce(app);
    const { of } = recordRequests(app);
    await recordTaskNotice(notice('task-1', jobId), { ...app.deps(), config: testConfig({}, [{ ...storyboardRule, name: 'renamed' }]) });
    assert.deepEqual((await app.store.getJob(jobId))!.error, ruleChanged);
    assert.deepEqual(of('copy').find((r) => r.key === 'animations/clip.mp4.gif')?.options, {
      contentType: 'image/gif',
      tags: { source: KEY, rule: 'boards', job: jobId, task: 'task-1', format: 'gif' },
    });
  });

  it('a storyboard whose video duration was never learned fails with RuleChanged', async () => {
    // The submitter died before recording its attempt (and the media it probed): the task is adopted by its notice.
    const app = fakeApp({ config: testConfig({}, [storyboardRule]) });
    app.bucket.objects.set(KEY, 'video');
    const plan = planJob({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, app.config.rules[0]!);
    await app.store.createJob(newJobIdentity(plan, app.clock.now()));
    await app.store.claimAttempt(plan.jobId, startAttempt(1, 'event', app.clock.now(), LEASE_MS));
    await app.imm.engine.submit(samplePlan(plan, { duration: 60, width: 640, height: 360, frameRate: 25 }), 1);
    produce(app);
    await recordTaskNotice(notice('task-1', plan.jobId), app.deps());
    assert.deepEqual((await app.store.getJob(plan.jobId))!.error, ruleChanged);
  });
});

describe('recording a task: outputs that are not there, and errors on the way', () => {
  const rules: RuleInput[] = [{ name: 'preview', prefix: 'videos/', outputs: [{ format: 'gif', key: 'animations/{basename}' }] }];

  it('a task IMM no longer knows, whose output is missing, is recorded as TaskNotFound naming both, and a new task starts', async () => {
    const { app, jobId } = await submitted(rules);
    const outcome = await recordTaskEnd(await bucketContext(app.deps(), BUCKET), jobId, { taskId: 'task-1', status: 'Forgotten' });
    assert.deepEqual(outcome, { status: 'recorded', jobId, taskId: 'task-1', jobStatus: 'submitted' });
    assert.deepEqual(app.store.results.get(jobId)?.get('task-1')?.error, {
      code: 'TaskNotFound',
      message: 'IMM no longer knows task task-1 (it keeps tasks 7 days) and animations/clip.mp4.gif does not exist',
    });
    assert.equal(app.imm.tasks.length, 2);
  });

  it('an error that is not a service\'s (a bug) is thrown as it is, and nothing is recorded', async () => {
    const { app, jobId } = await submitted(rules);
    app.bucket.objects.set('animations/clip.mp4.gif', 'GIF89a');
    const bug = new TypeError('cannot read the answer');
    app.bucket.failNext('get', bug);
    await assert.rejects(recordTaskNotice(notice('task-1', jobId), app.deps()), (error) => error === bug);
    assert.equal((await app.store.getJob(jobId))!.status, 'submitted');
  });

  it('a transient error is thrown as a TransientFailure carrying the OSS error, so the notice comes again', async () => {
    const { app, jobId } = await submitted(rules);
    app.bucket.objects.set('animations/clip.mp4.gif', 'GIF89a');
    app.bucket.failNext('tag', serviceError(503, 'ServiceUnavailable'), { times: 6 });
    await assert.rejects(recordTaskNotice(notice('task-1', jobId), app.deps()), (error) => {
      assert.ok(error instanceof TransientFailure);
      assert.deepEqual([error.info?.service, error.info?.code, error.info?.transient], ['oss', 'ServiceUnavailable', true]);
      return true;
    });
    assert.equal((await app.store.getJob(jobId))!.status, 'submitted');
  });
});
