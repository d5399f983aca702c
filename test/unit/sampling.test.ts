import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toWireQuery } from '../../shared/clients/imm';
import { immTaskRequest, parseFrameRate } from '../../shared/engines/imm';
import { engineRuleProblems } from '../../shared/engines/limits';
import { ossProcessString } from '../../shared/engines/oss-process';
import { planJob, samplePlan } from '../../shared/jobs/plan';
import { loopFrameRate, needsMedia, outputSampling, WindowOutsideVideo, type MediaInfo } from '../../shared/jobs/sampling';
import { submitUploads } from '../../shared/app/submit';
import type { RuleInput } from '../../shared/rules/schema';
import { parseRuleSet, RulesConfigError } from '../../shared/rules/validate';
import { fakeApp, serviceError, testConfig, uploadEvent } from '../helpers/fake-app';

const context = { recordsPrefix: '.video-animation/', engineProblems: engineRuleProblems };
const TEN_MINUTES: MediaInfo = { duration: 600, width: 1280, height: 720, frameRate: 25 };
const rules = (outputs: RuleInput['outputs'], engine: 'imm' | 'oss' = 'imm') => parseRuleSet([{ name: 'summary', prefix: 'videos/', engine, outputs }], context);
const sampling = (output: RuleInput['outputs'][number], media?: MediaInfo) => outputSampling(rules([output])[0]!.outputs[0]!, media);
const source = { bucket: 'bkt', key: 'videos/talk.mp4', eTag: 'E', size: 1 };

describe('frames: N frames spread over the window', () => {
  it('spreads them over the whole video by default, at a ~4 s loop', () => {
    assert.deepEqual(sampling({ format: 'gif', key: 'a/{basename}', frames: 12 }, TEN_MINUTES), {
      duration: 600,
      interval: 50,
      number: 12,
      frameRate: 3,
      plannedFrames: 12,
    });
  });

  it('narrows to start and duration, and cuts a window running past the end', () => {
    assert.deepEqual(sampling({ format: 'gif', key: 'a/{basename}', frames: 10, start: 60, duration: 120 }, TEN_MINUTES), {
      start: 60,
      duration: 120,
      interval: 12,
      number: 10,
      frameRate: 3,
      plannedFrames: 10,
    });
    const cut = sampling({ format: 'gif', key: 'a/{basename}', frames: 10, start: 580, duration: 120 }, TEN_MINUTES);
    assert.equal(cut.duration, 20);
    assert.equal(cut.interval, 2);
  });

  it('a window starting past the end fails before anything is billed', () => {
    assert.throws(() => sampling({ format: 'gif', key: 'a/{basename}', frames: 10, start: 600 }, TEN_MINUTES), (error: Error) => error instanceof WindowOutsideVideo && /past the end of the video \(600 s\)/.test(error.message));
  });

  it('a clip shorter than the budget gives all its frames, never more', () => {
    const short = sampling({ format: 'gif', key: 'a/{basename}', frames: 48 }, { duration: 1, frameRate: 25 });
    assert.equal(short.number, 48, 'the budget stays the cap');
    assert.equal(short.plannedFrames, 25, 'one second at 25 fps');
    assert.ok(short.interval! < 1 / 25, 'an interval below the frame interval means every frame');
  });

  it('maxFrames still caps, and frameRate overrides the loop', () => {
    const capped = sampling({ format: 'webp', key: 'a/{basename}', frames: 100, maxFrames: 40, frameRate: 12 }, TEN_MINUTES);
    assert.deepEqual([capped.number, capped.plannedFrames, capped.frameRate, capped.interval], [40, 40, 12, 6]);
  });

  it('the default loop is 2..10 fps, about 4 s long', () => {
    assert.deepEqual([1, 12, 24, 40, 48, 1000].map(loopFrameRate), [2, 3, 6, 10, 10, 10]);
  });

  it('interval outputs keep their own sampling; the window gives their planned frames when known', () => {
    assert.deepEqual(sampling({ format: 'gif', key: 'a/{basename}', start: 0, duration: 10, interval: 0.2, frameRate: 5, maxFrames: 50 }), {
      start: 0,
      duration: 10,
      interval: 0.2,
      number: 50,
      frameRate: 5,
      plannedFrames: 50,
    });
    assert.equal(sampling({ format: 'gif', key: 'a/{basename}', interval: 1, maxFrames: 300 }).plannedFrames, 300, 'unknown length: the cap');
    assert.equal(sampling({ format: 'gif', key: 'a/{basename}', interval: 1, maxFrames: 300 }, { duration: 42.5 }).plannedFrames, 43);
    assert.equal(sampling({ format: 'gif', key: 'a/{basename}', maxFrames: 300 }, { duration: 4, frameRate: 25 }).plannedFrames, 100, 'no interval: every frame');
  });

  it('an interval below the source frame interval gives every frame, not one per interval (IMM falls back to the source interval)', () => {
    const fine = { format: 'gif', key: 'a/{basename}', interval: 0.01, maxFrames: 300 } as const;
    assert.equal(sampling(fine, { duration: 0.5, frameRate: 30 }).plannedFrames, 15);
    assert.equal(sampling(fine, { duration: 0.5 }).plannedFrames, 50, 'frame rate unknown: one per interval');
    assert.equal(sampling({ ...fine, interval: 0.1 }, { duration: 0.5, frameRate: 30 }).plannedFrames, 5, 'an interval above it keeps its own count');
  });

  it('needs the media only for frames outputs', () => {
    assert.equal(needsMedia(rules([{ format: 'gif', key: 'a/{basename}', interval: 1 }])[0]!.outputs), false);
    assert.equal(needsMedia(rules([{ format: 'gif', key: 'a/{basename}', interval: 1 }, { format: 'webp', key: 'a/{basename}', frames: 3 }])[0]!.outputs), true);
    assert.throws(() => sampling({ format: 'gif', key: 'a/{basename}', frames: 3 }), /needs the media duration/);
  });
});

describe('frames on the wire', () => {
  it('IMM: Interval = window / frames, Number = frames, the window in Sources', () => {
    const [rule] = rules([
      { format: 'gif', key: 'a/{basename}', frames: 12, start: 30, width: 320 },
      { format: 'webp', key: 'a/{basename}', frames: 24, start: 30 },
    ]);
    const query = toWireQuery(immTaskRequest(samplePlan(planJob(source, rule!), TEN_MINUTES), { projectName: 'p', topicName: 't' }));
    assert.equal(query['Sources'], '[{"URI":"oss://bkt/videos/talk.mp4","StartTime":30,"Duration":570}]');
    assert.equal(
      query['Targets'],
      '[{"Image":{"Animations":[' +
        '{"Format":"gif","URI":"oss://bkt/a/talk.mp4.gif","Width":320,"Interval":47.5,"FrameRate":3,"Number":12},' +
        '{"Format":"webp","URI":"oss://bkt/a/talk.mp4.webp","Interval":23.75,"FrameRate":6,"Number":24}]}}]',
    );
  });

  it('OSS: inter_ in whole milliseconds and num_, the start as ss_', () => {
    const [rule] = rules([{ format: 'gif', key: 'a/{basename}', frames: 7, start: 1.5, duration: 10 }], 'oss');
    const plan = samplePlan(planJob(source, rule!), TEN_MINUTES);
    assert.equal(
      ossProcessString(plan, plan.outputs[0]!, { topicName: 't' }).split('|')[0],
      'video/animation,f_gif,ss_1500,num_7,inter_1429,fps_2',
    );
  });

  it('engine oss accepts a duration with frames (no interval needed)', () => {
    assert.doesNotThrow(() => rules([{ format: 'gif', key: 'a/{basename}', frames: 7, duration: 10 }], 'oss'));
  });
});

describe('frames in rules', () => {
  it('frames and interval are mutually exclusive, naming both fields', () => {
    assert.throws(
      () => rules([{ format: 'gif', key: 'a/{basename}', frames: 10, interval: 1 }]),
      (error: Error) => error instanceof RulesConfigError && /outputs\[0\]\.frames and outputs\[0\]\.interval: set one, not both/.test(error.message),
    );
  });

  it('frames is 1..1000', () => {
    for (const frames of [0, 1001, 2.5]) assert.throws(() => rules([{ format: 'gif', key: 'a/{basename}', frames }]), RulesConfigError, String(frames));
  });

  it('parses IMM frame rates', () => {
    assert.deepEqual(['25/1', '30000/1001', '24', '0/0', '', undefined, 'x'].map(parseFrameRate), [25, 30000 / 1001, 24, undefined, undefined, undefined, undefined]);
  });
});

describe('submit with frames', () => {
  const summaryRules: RuleInput[] = [
    { name: 'gif', prefix: 'videos/', outputs: [{ format: 'gif', key: 'g/{basename}', frames: 12 }] },
    { name: 'webp', prefix: 'videos/', outputs: [{ format: 'webp', key: 'w/{basename}', frames: 24 }] },
    { name: 'plain', prefix: 'videos/', outputs: [{ format: 'gif', key: 'p/{basename}', interval: 1, maxFrames: 10 }] },
  ];

  it('asks DetectMediaMeta once per upload, for the rules that need it, and records what it learned and planned', async () => {
    const app = fakeApp({ config: testConfig({}, summaryRules) });
    app.bucket.objects.set('videos/talk.mp4', 'video');
    const outcomes = await submitUploads(uploadEvent('videos/talk.mp4'), app.deps());
    assert.deepEqual(outcomes.map((o) => o.status), ['submitted', 'submitted', 'submitted']);
    assert.deepEqual(app.media.calls, ['videos/talk.mp4'], 'one DetectMediaMeta for the upload');
    const jobs = await Promise.all([...app.store.jobs.keys()].map(async (id) => (await app.store.getJob(id))!));
    const byRule = Object.fromEntries(jobs.map((j) => [j.rule, j]));
    assert.deepEqual(byRule['gif']!.media, { duration: 60, width: 640, height: 360, frameRate: 25 });
    assert.deepEqual(byRule['gif']!.outputs.map((o) => o.plannedFrames), [12]);
    assert.deepEqual(byRule['webp']!.outputs.map((o) => o.plannedFrames), [24]);
    assert.equal(byRule['plain']!.media, undefined, 'a rule without frames learns nothing');
    assert.deepEqual(byRule['plain']!.outputs.map((o) => o.plannedFrames), [10]);
  });

  it('a source IMM cannot read fails the job with IMM code and message, and no task is started', async () => {
    const app = fakeApp({ config: testConfig({}, summaryRules.slice(0, 1)) });
    app.bucket.objects.set('videos/broken.mp4', 'not a video');
    app.media.sources.set('videos/broken.mp4', serviceError(400, 'InvalidFile.Media', 'The media file is invalid.'));
    const [outcome] = await submitUploads(uploadEvent('videos/broken.mp4'), app.deps());
    assert.equal(outcome?.status, 'failed');
    assert.equal(app.imm.tasks.length, 0);
    assert.deepEqual((await app.store.getJob([...app.store.jobs.keys()][0]!))!.error, { code: 'InvalidFile.Media', message: 'The media file is invalid.' });
  });

  it('a transient DetectMediaMeta failure is retried by the next delivery, which asks again', async () => {
    const app = fakeApp({ config: testConfig({}, summaryRules.slice(0, 1)) });
    app.bucket.objects.set('videos/talk.mp4', 'video');
    app.media.sources.set('videos/talk.mp4', serviceError(503, 'ServiceUnavailable'));
    await assert.rejects(submitUploads(uploadEvent('videos/talk.mp4'), app.deps()));
    app.media.sources.delete('videos/talk.mp4');
    const [outcome] = await submitUploads(uploadEvent('videos/talk.mp4'), app.deps());
    assert.equal(outcome?.status, 'submitted');
    assert.equal(app.media.calls.length, 2);
  });

  it('a window past the end fails the job as WindowOutsideVideo', async () => {
    const app = fakeApp({ config: testConfig({}, [{ name: 'late', prefix: 'videos/', outputs: [{ format: 'gif', key: 'g/{basename}', frames: 5, start: 120 }] }]) });
    app.bucket.objects.set('videos/talk.mp4', 'video');
    await submitUploads(uploadEvent('videos/talk.mp4'), app.deps());
    assert.equal((await app.store.getJob([...app.store.jobs.keys()][0]!))!.error?.code, 'WindowOutsideVideo');
    assert.equal(app.imm.tasks.length, 0);
  });
});
