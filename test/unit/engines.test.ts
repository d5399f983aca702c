import assert from 'node:assert/strict';
import { NetworkError, PermanentFailure } from '../../shared/platform/errors';
import { describe, it } from 'node:test';
import type { DetectMediaMetaResponse, GetTaskResponse, ImmApi, ListTasksRequest, ListTasksResponse } from '../../shared/clients/imm';
import { PartialSubmitError, taskStatusOf, type Retrier } from '../../shared/engines/engine';
import {
  immEngine,
  immMediaProbe,
  immRuleProblems,
  immTaskLookup,
  immTaskRequest,
  MAX_USER_DATA_BYTES,
  parseFrameRate,
  parseUserData,
  userDataFor,
} from '../../shared/engines/imm';
import { engineRuleProblems } from '../../shared/engines/limits';
import { ImmNotAttachedError, isImmNotAttached, ossAsyncEngine } from '../../shared/engines/oss';
import { ossEngineProblems, ossProcessString } from '../../shared/engines/oss-process';
import { planJob, samplePlan, type JobPlan, type SampledOutput, type SampledPlan } from '../../shared/jobs/plan';
import type { MediaInfo } from '../../shared/jobs/sampling';
import { RuleSchema, type Rule, type RuleInput } from '../../shared/rules/schema';
import { fakeBucket, serviceError } from '../helpers/fake-app';

const SETTINGS = { projectName: 'proj', topicName: 'done' };
const JOB_ID = '0123456789abcdef0123456789abcdef';

/** A rule as the schema reads it (defaults filled in), without the engine checks. */
function rule(outputs: RuleInput['outputs'], engine: 'imm' | 'oss' = 'imm', name = 'preview'): Rule {
  return RuleSchema.parse({ name, prefix: 'videos/', engine, outputs });
}

function plan(outputs: RuleInput['outputs'], options: { engine?: 'imm' | 'oss'; key?: string; bucket?: string; media?: MediaInfo } = {}): SampledPlan {
  const source = { bucket: options.bucket ?? 'bkt', key: options.key ?? 'videos/clip.mp4', eTag: 'E', size: 1 };
  return samplePlan(planJob(source, rule(outputs, options.engine)), options.media);
}

/** A pass-through retrier that records which service each call went to. */
function recordingRetry() {
  const services: string[] = [];
  const retry: Retrier = (service, operation) => {
    services.push(service);
    return operation();
  };
  return { services, retry };
}

const unused = async (): Promise<never> => {
  throw new Error('not expected in this test');
};

/** An ImmApi whose calls are recorded; each method answers with the handler given, or fails the test. */
function fakeImmApi(handlers: Partial<ImmApi> = {}) {
  const calls: unknown[][] = [];
  const api: ImmApi = {
    detectMediaMeta: (projectName, uri) => (calls.push(['detectMediaMeta', projectName, uri]), (handlers.detectMediaMeta ?? unused)(projectName, uri)),
    createMediaConvertTask: (request) => (calls.push(['createMediaConvertTask', request]), (handlers.createMediaConvertTask ?? unused)(request)),
    getTask: (projectName, taskId) => (calls.push(['getTask', projectName, taskId]), (handlers.getTask ?? unused)(projectName, taskId)),
    listTasks: (request) => (calls.push(['listTasks', request]), (handlers.listTasks ?? unused)(request)),
  };
  return { api, calls };
}

describe('taskStatusOf', () => {
  it('keeps the two final states and counts everything else as running', () => {
    assert.deepEqual(['Succeeded', 'Failed', 'Running', 'Queued', 'Cancelled', ''].map(taskStatusOf), ['Succeeded', 'Failed', 'Running', 'Running', 'Running', 'Running']);
  });
});

describe('PartialSubmitError', () => {
  it('names the cause and the started tasks, and copies status and code from the cause', () => {
    const cause = serviceError(503, 'ServiceUnavailable', 'try later');
    const started = [
      { taskId: 't1', outputs: ['a.gif'] },
      { taskId: 't2', outputs: ['b.webp'] },
    ];
    const error = new PartialSubmitError(started, 'oss', cause);
    assert.equal(error.name, 'PartialSubmitError');
    assert.equal(error.message, 'ServiceUnavailable: try later (tasks already started: t1, t2)');
    assert.equal(error.info.status, 503);
    assert.equal(error.info.code, 'ServiceUnavailable');
    assert.equal(error.kind, 'transient');
    assert.equal(error.cause, cause);
    assert.equal(error.started, started);
    assert.ok(error instanceof Error);
  });

  it('has no status when the cause has none (a network error), and sorts like it', () => {
    const cause = new NetworkError('socket hang up', 'ECONNRESET', true);
    const error = new PartialSubmitError([{ taskId: 't1', outputs: ['a.gif'] }], 'imm', cause);
    assert.equal(error.info.status, undefined);
    assert.equal(error.info.code, 'ECONNRESET');
    assert.equal(error.info.ambiguous, true);
    assert.equal(error.message, 'ECONNRESET: socket hang up (tasks already started: t1)');
  });

  it('a cause that is not a service failure (a bug) is thrown as it is', () => {
    const bug = new TypeError('x is undefined');
    assert.throws(() => new PartialSubmitError([], 'imm', bug), (e) => e === bug);
  });
});

describe('userDataFor and parseUserData', () => {
  const jobPlan = (bucket: string, ruleName = 'preview') => ({ jobId: JOB_ID, source: { bucket }, rule: { name: ruleName } }) as unknown as JobPlan;

  it('writes the job, bucket and rule as compact JSON, which parses back', () => {
    const text = userDataFor(jobPlan('bkt'));
    assert.equal(text, `{"app":"video-animation","v":1,"jobId":"${JOB_ID}","bucket":"bkt","rule":"preview"}`);
    assert.deepEqual(parseUserData(text), { app: 'video-animation', v: 1, jobId: JOB_ID, bucket: 'bkt', rule: 'preview' });
  });

  it('takes exactly 2048 bytes and refuses one more', () => {
    const base = Buffer.byteLength(userDataFor(jobPlan('')));
    assert.equal(MAX_USER_DATA_BYTES, 2048);
    assert.equal(Buffer.byteLength(userDataFor(jobPlan('b'.repeat(2048 - base)))), 2048);
    assert.throws(() => userDataFor(jobPlan('b'.repeat(2049 - base))), { message: 'UserData is 2049 bytes; IMM takes at most 2048' });
  });

  it('rejects what is not ours', () => {
    const valid = { app: 'video-animation', v: 1, jobId: JOB_ID, bucket: 'b', rule: 'r' };
    assert.deepEqual(parseUserData(JSON.stringify(valid)), valid);
    for (const bad of [
      { ...valid, app: 'other' },
      { ...valid, app: '' },
      { ...valid, v: 2 },
      { ...valid, jobId: `x${JOB_ID}` },
      { ...valid, jobId: `${JOB_ID}x` },
      { ...valid, jobId: JOB_ID.slice(1) },
      { ...valid, jobId: JOB_ID.toUpperCase() },
      { ...valid, jobId: 'g'.repeat(32) },
      { ...valid, bucket: 1 },
      { ...valid, rule: null },
    ]) {
      assert.equal(parseUserData(JSON.stringify(bad)), undefined, JSON.stringify(bad));
    }
    assert.equal(parseUserData(''), undefined);
    assert.equal(parseUserData('{'), undefined);
    assert.equal(parseUserData('null'), undefined);
  });
});

describe('immTaskRequest', () => {
  it('sends every field an output sets, braces doubled in target URIs only, and the attempt in Tags', () => {
    const job = plan(
      [
        { format: 'gif', key: 'out/{basename}', width: 320, height: 0.5, scaleType: 'crop', start: 2, duration: 8, interval: 0.5, frameRate: 4, maxFrames: 10 },
        { format: 'webp', key: 'out/{basename}', start: 2, duration: 8 },
      ],
      { key: 'videos/{x}.mp4' },
    );
    assert.deepEqual(immTaskRequest(job, SETTINGS, 3), {
      ProjectName: 'proj',
      Sources: [{ URI: 'oss://bkt/videos/{x}.mp4', StartTime: 2, Duration: 8 }],
      Targets: [
        {
          Image: {
            Animations: [
              { Format: 'gif', URI: 'oss://bkt/out/{{x}}.mp4.gif', Width: 320, Height: 0.5, ScaleType: 'crop', Interval: 0.5, FrameRate: 4, Number: 10 },
              { Format: 'webp', URI: 'oss://bkt/out/{{x}}.mp4.webp', Number: 300 },
            ],
          },
        },
      ],
      Notification: { MNS: { TopicName: 'done' } },
      UserData: `{"app":"video-animation","v":1,"jobId":"${job.jobId}","bucket":"bkt","rule":"preview"}`,
      Tags: { JobId: job.jobId, Rule: 'preview', Attempt: '3' },
    });
  });

  it('is attempt 1 by default, and sends no window when the rule sets none', () => {
    const request = immTaskRequest(plan([{ format: 'gif', key: 'out/{barename}' }]), SETTINGS);
    assert.equal(request.Tags?.['Attempt'], '1');
    assert.deepEqual(request.Sources, [{ URI: 'oss://bkt/videos/clip.mp4' }]);
  });

  it('takes the window of the frames output, which is cut at the video end', () => {
    const job = plan(
      [
        { format: 'webp', key: 'a/{barename}', start: 10, duration: 100, interval: 5 },
        { format: 'gif', key: 'b/{barename}', start: 10, duration: 100, frames: 8 },
      ],
      { media: { duration: 50 } },
    );
    assert.deepEqual(immTaskRequest(job, SETTINGS).Sources, [{ URI: 'oss://bkt/videos/clip.mp4', StartTime: 10, Duration: 40 }]);
  });

  it('copes with a plan without outputs', () => {
    const job = { ...plan([{ format: 'gif', key: 'out/{barename}', start: 1 }]), outputs: [] };
    const request = immTaskRequest(job, SETTINGS);
    assert.deepEqual(request.Sources, [{ URI: 'oss://bkt/videos/clip.mp4' }]);
    assert.deepEqual(request.Targets, [{ Image: {} }], 'an empty list is left out');
  });
});

describe('immRuleProblems', () => {
  it('none when every output shares the first one\'s window', () => {
    assert.deepEqual(immRuleProblems(rule([{ format: 'gif', key: 'a/{barename}', start: 1, duration: 2 }, { format: 'webp', key: 'b/{barename}', start: 1, duration: 2 }])), []);
    assert.deepEqual(immRuleProblems(rule([{ format: 'gif', key: 'a/{barename}' }])), []);
  });

  it('names each output and field that differs from outputs[0]', () => {
    const problems = immRuleProblems(
      rule(
        [
          { format: 'gif', key: 'a/{barename}', start: 1 },
          { format: 'webp', key: 'b/{barename}', start: 1 },
          { format: 'gif', key: 'c/{barename}', start: 2, duration: 5 },
        ],
        'imm',
        'clips',
      ),
    );
    const tail = 'one IMM task samples one window of the video, so split these outputs into two rules';
    assert.deepEqual(problems, [
      `rule "clips" outputs[2].start: 2 differs from outputs[0].start (1); ${tail}`,
      `rule "clips" outputs[2].duration: 5 differs from outputs[0].duration (unset); ${tail}`,
    ]);
    assert.deepEqual(immRuleProblems(rule([{ format: 'gif', key: 'a/{barename}', duration: 3 }, { format: 'gif', key: 'b/{barename}' }], 'imm', 'r')), [
      `rule "r" outputs[1].duration: unset differs from outputs[0].duration (3); ${tail}`,
    ]);
  });
});

describe('engineRuleProblems', () => {
  it('asks the rule\'s own engine', () => {
    const differentStarts: RuleInput['outputs'] = [
      { format: 'gif', key: 'a/{barename}', start: 1 },
      { format: 'gif', key: 'b/{barename}', start: 2 },
    ];
    const durationOnly: RuleInput['outputs'] = [{ format: 'gif', key: 'a/{barename}', duration: 4 }];
    assert.equal(engineRuleProblems(rule(differentStarts, 'imm')).length, 1);
    assert.deepEqual(engineRuleProblems(rule(differentStarts, 'oss')), []);
    assert.deepEqual(engineRuleProblems(rule(durationOnly, 'imm')), []);
    assert.deepEqual(engineRuleProblems(rule(durationOnly, 'oss', 'r')), [
      'rule "r" outputs[0].duration: needs interval or frames with engine oss (OSS has no duration parameter; the window is sent as num frames every inter)',
    ]);
  });
});

describe('immEngine', () => {
  it('submit starts one task for all outputs, with the attempt in its tags', async () => {
    const { api, calls } = fakeImmApi({ createMediaConvertTask: async () => ({ RequestId: 'r', TaskId: 'task-9' }) });
    const { services, retry } = recordingRetry();
    const job = plan([
      { format: 'gif', key: 'a/{barename}' },
      { format: 'webp', key: 'b/{barename}' },
    ]);
    const started = await immEngine(api, SETTINGS, retry).submit(job, 2);
    assert.deepEqual(started, [{ taskId: 'task-9', outputs: ['a/clip.gif', 'b/clip.webp'] }]);
    assert.deepEqual(calls, [['createMediaConvertTask', immTaskRequest(job, SETTINGS, 2)]]);
    assert.equal((calls[0]![1] as { Tags: Record<string, string> }).Tags['Attempt'], '2');
    assert.deepEqual(services, ['imm']);
  });

  it('findJobTasks lists MediaConvert tasks by the job tag across pages, sorted by start time', async () => {
    const pages: ListTasksResponse[] = [
      {
        RequestId: 'r1',
        NextToken: 'page-2',
        Tasks: [
          { TaskId: 't0', Status: 'Running' },
          { TaskId: 't3', Status: 'Succeeded', Code: 'ok', Message: 'done', StartTime: '2026-01-01T00:00:03Z', EndTime: '2026-01-01T00:01:00Z' },
          { TaskId: 't1', Status: 'Failed', Code: 'InvalidFile.Media', Message: 'bad', StartTime: '2026-01-01T00:00:01Z' },
        ],
      },
      { RequestId: 'r2', NextToken: 'page-3' },
      {
        RequestId: 'r3',
        NextToken: '',
        Tasks: [
          { TaskId: 't2', Status: 'Queued', Code: '', Message: '', StartTime: '2026-01-01T00:00:02Z', EndTime: '' },
          { TaskId: 't00', Status: 'Running' },
        ],
      },
    ];
    const { api, calls } = fakeImmApi({ listTasks: async () => pages.shift()! });
    const { services, retry } = recordingRetry();
    const found = await immEngine(api, SETTINGS, retry).findJobTasks!(JOB_ID);
    const request: ListTasksRequest = { ProjectName: 'proj', TaskTypes: ['MediaConvert'], TagSelector: `JobId=${JOB_ID}`, MaxResults: 100 };
    assert.deepEqual(calls, [
      ['listTasks', request],
      ['listTasks', { ...request, NextToken: 'page-2' }],
      ['listTasks', { ...request, NextToken: 'page-3' }],
    ]);
    assert.deepEqual(services, ['imm', 'imm', 'imm']);
    assert.deepEqual(found, [
      { taskId: 't0', status: 'Running' },
      { taskId: 't00', status: 'Running' },
      { taskId: 't1', status: 'Failed', code: 'InvalidFile.Media', message: 'bad', startTime: '2026-01-01T00:00:01Z' },
      { taskId: 't2', status: 'Running', startTime: '2026-01-01T00:00:02Z' },
      { taskId: 't3', status: 'Succeeded', code: 'ok', message: 'done', startTime: '2026-01-01T00:00:03Z', endTime: '2026-01-01T00:01:00Z' },
    ]);
  });

  it('findJobTasks stops after one page without NextToken', async () => {
    const { api, calls } = fakeImmApi({ listTasks: async () => ({ RequestId: 'r', Tasks: [] }) });
    assert.deepEqual(await immEngine(api, SETTINGS, recordingRetry().retry).findJobTasks!(JOB_ID), []);
    assert.equal(calls.length, 1);
  });
});

describe('immTaskLookup', () => {
  it('asks GetTask and maps the task', async () => {
    const task: GetTaskResponse = { RequestId: 'r', TaskId: 't1', Status: 'Succeeded', StartTime: 's', EndTime: 'e' };
    const { api, calls } = fakeImmApi({ getTask: async () => task });
    const { services, retry } = recordingRetry();
    assert.deepEqual(await immTaskLookup(api, 'proj', retry).getTask('t1'), { taskId: 't1', status: 'Succeeded', startTime: 's', endTime: 'e' });
    assert.deepEqual(calls, [['getTask', 'proj', 't1']]);
    assert.deepEqual(services, ['imm']);
  });

  it('undefined when IMM no longer knows the task', async () => {
    for (const code of ['ResourceNotFound', 'ResourceNotFound.Task']) {
      const { api } = fakeImmApi({ getTask: async () => Promise.reject(serviceError(404, code)) });
      assert.equal(await immTaskLookup(api, 'proj', recordingRetry().retry).getTask('t1'), undefined, code);
    }
  });

  it('rethrows every other error as it is', async () => {
    for (const error of [serviceError(500, 'InternalError'), serviceError(404, 'Task.ResourceNotFound'), Object.assign(new Error('odd'), { code: 404 }), new Error('no code')]) {
      const { api } = fakeImmApi({ getTask: async () => Promise.reject(error) });
      await assert.rejects(immTaskLookup(api, 'proj', recordingRetry().retry).getTask('t1'), (thrown) => thrown === error);
    }
  });
});

describe('immMediaProbe', () => {
  async function probe(meta: Omit<DetectMediaMetaResponse, 'RequestId'>, key = 'videos/clip.mp4') {
    const { api, calls } = fakeImmApi({ detectMediaMeta: async () => ({ RequestId: 'r', ...meta }) });
    const { services, retry } = recordingRetry();
    const media = await immMediaProbe(api, 'proj', retry).probe('bkt', key);
    return { media, calls, services };
  }

  it('asks DetectMediaMeta with the raw oss:// URI and reads duration, size and the average frame rate', async () => {
    const { media, calls, services } = await probe(
      { Duration: 12.5, VideoWidth: 1280, VideoHeight: 720, VideoStreams: [{ AverageFrameRate: '30000/1001', FrameRate: '25/1' }] },
      'videos/{x} y.mp4',
    );
    assert.deepEqual(calls, [['detectMediaMeta', 'proj', 'oss://bkt/videos/{x} y.mp4']]);
    assert.deepEqual(services, ['imm']);
    assert.deepEqual(media, { duration: 12.5, width: 1280, height: 720, frameRate: 30000 / 1001 });
  });

  it('falls back to FrameRate, and leaves out what IMM does not say', async () => {
    assert.deepEqual((await probe({ Duration: 3, VideoStreams: [{ FrameRate: '25/1' }] })).media, { duration: 3, frameRate: 25 });
    assert.deepEqual((await probe({ Duration: 3, VideoStreams: [{ AverageFrameRate: '0/0', FrameRate: '24' }] })).media, { duration: 3, frameRate: 24 });
    assert.deepEqual((await probe({ Duration: 3, VideoWidth: 0, VideoHeight: 0, VideoStreams: [{}] })).media, { duration: 3 });
    assert.deepEqual((await probe({ Duration: 3, VideoStreams: [] })).media, { duration: 3 });
    assert.deepEqual((await probe({ Duration: 3 })).media, { duration: 3 });
  });

  it('a source without a positive duration is not a video IMM can read: a permanent InvalidFile.Media', async () => {
    for (const Duration of [undefined, 0, -1, '5' as unknown as number]) {
      await assert.rejects(probe({ ...(Duration !== undefined ? { Duration } : {}), VideoWidth: 10 }, 'videos/{a}.mp4'), (error: Error) => {
        assert.equal(error.message, 'IMM found no duration in oss://bkt/videos/{a}.mp4: it is not a video IMM can read');
        assert.ok(error instanceof PermanentFailure);
        assert.equal(error.code, 'InvalidFile.Media');
        return true;
      });
    }
  });
});

describe('parseFrameRate', () => {
  it('reads integers, decimals and fractions', () => {
    assert.deepEqual(['25/1', '30000/1001', '24', '23.976', '12.5/2.5', '12.25/2.45', '10/4', '120'].map(parseFrameRate), [25, 30000 / 1001, 24, 23.976, 5, 5, 2.5, 120]);
  });

  it('undefined for anything else, or a rate that is not positive and finite', () => {
    for (const text of [undefined, '', 'x', 'x25', '25x', '25/', '/25', '25/1/1', '2 5', '25.', '.5', '25/x', '0', '0/1', '0/0', '25/0', '-25', '1e3', '25/1.']) {
      assert.equal(parseFrameRate(text), undefined, String(text));
    }
  });
});

describe('ossProcessString: edges', () => {
  /** A sampled output built by hand, as a plan holds it (no schema in the way). */
  function output(fields: Partial<Omit<SampledOutput, 'sampling'>> & { sampling?: Partial<SampledOutput['sampling']> }): SampledOutput {
    return { format: 'gif', key: 'k', maxFrames: 300, resolvedKey: 'out/x.gif', ...fields, sampling: { number: 300, plannedFrames: 300, ...fields.sampling } };
  }
  const job = plan([{ format: 'gif', key: 'out/{barename}' }]);
  const head = (o: SampledOutput) => ossProcessString(job, o, { topicName: 't' }).split('|')[0];

  it('a size of 1 or more is pixels, below 1 a percent; float noise rounds away', () => {
    assert.equal(head(output({ width: 1, height: 0.99 })), 'video/animation,f_gif,num_300,w_1,ph_99');
    assert.equal(head(output({ width: 0.29, height: 0.07 })), 'video/animation,f_gif,num_300,pw_29,ph_7');
  });

  it('a start with float noise is whole milliseconds; an interval below half a millisecond is inter_1', () => {
    assert.equal(head(output({ sampling: { start: 0.29, interval: 0.0002 } })), 'video/animation,f_gif,ss_290,num_300,inter_1');
    assert.equal(head(output({ sampling: { start: 0, interval: 0.0007 } })), 'video/animation,f_gif,ss_0,num_300,inter_1');
  });

  it('a frames output over a short clip sends inter_1', () => {
    const short = plan([{ format: 'webp', key: 'out/{barename}', frames: 1000, maxFrames: 1000 }], { engine: 'oss', media: { duration: 0.2 } });
    assert.equal(ossProcessString(short, short.outputs[0]!, { topicName: 't' }).split('|')[0], 'video/animation,f_webp,num_1000,inter_1,fps_10');
  });

  it('braces are doubled before Base64 (URL-safe, no padding)', () => {
    const tail = ossProcessString(job, output({ resolvedKey: 'a{b}c?>' }), { topicName: 'topic?' }).split('|')[1];
    const encode = (text: string) => Buffer.from(text).toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    assert.equal(tail, `sys/saveas,b_${encode('bkt')},o_${encode('a{{b}}c?>')}/notify,topic_${encode('topic?')}`);
    assert.equal(tail, 'sys/saveas,b_Ymt0,o_YXt7Yn19Yz8-/notify,topic_dG9waWM_');
  });

  it('the refusal names every problem of the output', () => {
    assert.throws(() => ossProcessString(job, output({ resolvedKey: 'o.gif', start: 0.0005, interval: 0.0336 }), { topicName: 't' }), {
      message:
        'output o.gif cannot be sent to OSS: start: 0.0005 must be a whole number of milliseconds with engine oss (OSS takes ss in integer ms); ' +
        'interval: 0.0336 must be a whole number of milliseconds with engine oss (OSS takes inter in integer ms)',
    });
  });
});

describe('ossEngineProblems: edges', () => {
  it('duration with frames or interval is fine; whole percents and milliseconds with float noise are fine', () => {
    assert.deepEqual(
      ossEngineProblems(
        rule(
          [
            { format: 'gif', key: 'a/{barename}', duration: 3, frames: 10 },
            { format: 'gif', key: 'b/{barename}', duration: 3, interval: 0.29 },
            { format: 'webp', key: 'c/{barename}', width: 0.29, height: 0.57, start: 0.29 },
          ],
          'oss',
        ),
      ),
      [],
    );
  });

  it('a value just below a whole number is refused too, with the nearest valid value, never 0', () => {
    assert.deepEqual(
      ossEngineProblems(rule([{ format: 'gif', key: 'a/{barename}', width: 0.004, height: 0.996, start: 1.0006, interval: 0.0336 }], 'oss', 'r')),
      [
        'rule "r" outputs[0].start: 1.0006 must be a whole number of milliseconds with engine oss (OSS takes ss in integer ms)',
        'rule "r" outputs[0].interval: 0.0336 must be a whole number of milliseconds with engine oss (OSS takes inter in integer ms)',
        'rule "r" outputs[0].width: 0.004 must be a whole percent of the source, e.g. 0.01, with engine oss (OSS takes pw as an integer percent)',
        'rule "r" outputs[0].height: 0.996 must be a whole percent of the source, e.g. 1, with engine oss (OSS takes ph as an integer percent)',
      ],
    );
  });
});

describe('isImmNotAttached and ImmNotAttachedError', () => {
  const ossSaid = 'ResourceNotFound: The specified Attachment not found';

  it('recognises OSS\'s answer for a bucket without an IMM project, and nothing else', () => {
    assert.equal(isImmNotAttached(serviceError(404, 'Imm Client', ossSaid)), true);
    assert.equal(isImmNotAttached({ code: 'Imm Client', message: ossSaid }), false, 'only an answer from OSS counts');
    assert.equal(isImmNotAttached(serviceError(404, 'Imm client', ossSaid)), false);
    assert.equal(isImmNotAttached(serviceError(404, 'NoSuchKey', ossSaid)), false);
    assert.equal(isImmNotAttached(serviceError(404, 'Imm Client', 'ResourceNotFound: project')), false);
    assert.equal(isImmNotAttached(serviceError(404, 'Imm Client', 'The specified Attachment is broken')), false);
    assert.equal(isImmNotAttached({ code: 'Imm Client', message: ['ResourceNotFound', 'Attachment'] }), false);
    assert.equal(isImmNotAttached({ code: 'Imm Client' }), false);
    assert.equal(isImmNotAttached(null), false);
    assert.equal(isImmNotAttached(undefined), false);
  });

  it('says how to attach the bucket, quotes OSS, and stays a 4xx with OSS\'s code', () => {
    const cause = serviceError(404, 'Imm Client', ossSaid);
    const error = new ImmNotAttachedError('media', cause);
    assert.equal(error.name, 'ImmNotAttachedError');
    assert.equal(error.bucket, 'media');
    assert.equal(error.cause, cause);
    assert.equal(
      error.message,
      'bucket "media" has no IMM project attached, so OSS cannot run x-oss-async-process for engine oss. ' +
        'Attach the bucket to an IMM project in the same region: in the OSS console under Data Processing > IMM, ' +
        'or with IMM AttachOSSBucket (OSSBucket=media, ProjectName=<your project>). OSS said: Imm Client: ResourceNotFound: The specified Attachment not found',
    );
    assert.equal(error.info.status, 404);
    assert.equal(error.info.code, 'Imm Client');
    assert.equal(error.kind, 'permanent');
  });

  it('a 5xx or missing status becomes 400, so it is never retried', () => {
    assert.equal(new ImmNotAttachedError('b', serviceError(499, 'Imm Client', ossSaid)).info.status, 499);
    assert.equal(new ImmNotAttachedError('b', serviceError(500, 'Imm Client', ossSaid)).info.status, 400);
    assert.equal(new ImmNotAttachedError('b', serviceError(503, 'Imm Client', ossSaid)).kind, 'permanent');
  });
});

describe('ossAsyncEngine', () => {
  const outputs: RuleInput['outputs'] = [
    { format: 'gif', key: 'a/{barename}', interval: 1, maxFrames: 5 },
    { format: 'webp', key: 'b/{barename}', width: 0.5 },
    { format: 'gif', key: 'c/{barename}' },
  ];

  /** A fake bucket whose asyncProcess records its calls and answers from `answers` in order. */
  function scriptedBucket(answers: (string | Error)[]) {
    const bucket = fakeBucket('media');
    const calls: [string, string][] = [];
    bucket.asyncProcess = async (key, process) => {
      calls.push([key, process]);
      const answer = answers.shift();
      if (answer === undefined) throw new Error('no answer scripted');
      if (answer instanceof Error) throw answer;
      return { TaskId: answer, RequestId: 'r' };
    };
    return { bucket, calls };
  }

  it('POSTs one processing string per output, in order, and returns one task per output', async () => {
    const job = plan(outputs, { engine: 'oss', bucket: 'media' });
    const { bucket, calls } = scriptedBucket(['t1', 't2', 't3']);
    const { services, retry } = recordingRetry();
    const started = await ossAsyncEngine(bucket, { topicName: 'done' }, retry).submit(job, 1);
    assert.deepEqual(started, [
      { taskId: 't1', outputs: ['a/clip.gif'] },
      { taskId: 't2', outputs: ['b/clip.webp'] },
      { taskId: 't3', outputs: ['c/clip.gif'] },
    ]);
    assert.deepEqual(calls, [
      ['videos/clip.mp4', 'video/animation,f_gif,num_5,inter_1000|sys/saveas,b_bWVkaWE,o_YS9jbGlwLmdpZg/notify,topic_ZG9uZQ'],
      ['videos/clip.mp4', 'video/animation,f_webp,num_300,pw_50|sys/saveas,b_bWVkaWE,o_Yi9jbGlwLndlYnA/notify,topic_ZG9uZQ'],
      ['videos/clip.mp4', 'video/animation,f_gif,num_300|sys/saveas,b_bWVkaWE,o_Yy9jbGlwLmdpZg/notify,topic_ZG9uZQ'],
    ]);
    assert.deepEqual(services, ['oss', 'oss', 'oss']);
  });

  it('a storyboard is one more video/sprite POST after the animations, its task making the storyboard (its VTT key)', async () => {
    const job = plan([outputs[0]!, { kind: 'storyboard', key: 's/{barename}', frames: 12, columns: 4, rows: 3, width: 64 }], {
      engine: 'oss',
      bucket: 'media',
      media: { duration: 6, width: 320, height: 180 },
    });
    const { bucket, calls } = scriptedBucket(['t1', 't2']);
    const started = await ossAsyncEngine(bucket, { topicName: 'done' }, recordingRetry().retry).submit(job, 1);
    assert.deepEqual(started, [
      { taskId: 't1', outputs: ['a/clip.gif'] },
      { taskId: 't2', outputs: ['s/clip.vtt'] },
    ]);
    assert.deepEqual(
      calls.map(([, process]) => process),
      [
        'video/animation,f_gif,num_5,inter_1000|sys/saveas,b_bWVkaWE,o_YS9jbGlwLmdpZg/notify,topic_ZG9uZQ',
        `video/sprite,f_jpg,m_avg,num_12,sw_64,sh_36,tw_4,th_3,pad_2,margin_2|sys/saveas,b_bWVkaWE,o_${Buffer.from('s/clip.jpg').toString('base64url')}/notify,topic_ZG9uZQ`,
      ],
    );
  });

  it('a poster (which validation refuses with engine oss) fails the submission before any POST', async () => {
    const { bucket, calls } = scriptedBucket(['t1', 't2']);
    const job = plan([outputs[0]!, { kind: 'poster', key: 'p/{barename}' }], { engine: 'oss' });
    await assert.rejects(ossAsyncEngine(bucket, { topicName: 'done' }, recordingRetry().retry).submit(job, 1), {
      name: 'PermanentFailure',
      code: 'UnsupportedByEngine',
      message: 'poster p/clip.jpg cannot be sent to OSS: engine oss makes storyboards only',
    });
    assert.equal(calls.length, 0);
  });

  it('a later output failing carries the tasks already started in a PartialSubmitError', async () => {
    const failure = serviceError(503, 'ServiceUnavailable', 'busy');
    const { bucket, calls } = scriptedBucket(['t1', 't2', failure]);
    const submitting = ossAsyncEngine(bucket, { topicName: 'done' }, recordingRetry().retry).submit(plan(outputs, { engine: 'oss', bucket: 'media' }), 1);
    await assert.rejects(submitting, (error: PartialSubmitError) => {
      assert.ok(error instanceof PartialSubmitError);
      assert.deepEqual(error.started, [
        { taskId: 't1', outputs: ['a/clip.gif'] },
        { taskId: 't2', outputs: ['b/clip.webp'] },
      ]);
      assert.equal(error.cause, failure);
      assert.equal(error.info.status, 503);
      assert.equal(error.info.code, 'ServiceUnavailable');
      return true;
    });
    assert.equal(calls.length, 3);
  });

  it('the first output failing throws the error itself and stops', async () => {
    const failure = serviceError(403, 'AccessDenied');
    const { bucket, calls } = scriptedBucket([failure, 't2']);
    await assert.rejects(ossAsyncEngine(bucket, { topicName: 'done' }, recordingRetry().retry).submit(plan(outputs, { engine: 'oss' }), 1), (error) => error === failure);
    assert.equal(calls.length, 1);
  });

  it('a bucket without IMM attached is an ImmNotAttachedError naming the bucket', async () => {
    const failure = serviceError(404, 'Imm Client', 'ResourceNotFound: The specified Attachment not found');
    const { bucket } = scriptedBucket([failure]);
    await assert.rejects(ossAsyncEngine(bucket, { topicName: 'done' }, recordingRetry().retry).submit(plan(outputs, { engine: 'oss' }), 1), (error: ImmNotAttachedError) => {
      assert.ok(error instanceof ImmNotAttachedError);
      assert.equal(error.bucket, 'media');
      assert.equal(error.cause, failure);
      return true;
    });
  });

  it('an output OSS cannot express fails before any POST', async () => {
    const { bucket, calls } = scriptedBucket(['t1']);
    const job = plan([{ format: 'gif', key: 'a/{barename}' }, { format: 'gif', key: 'b/{barename}', duration: 3 }], { engine: 'oss' });
    await assert.rejects(ossAsyncEngine(bucket, { topicName: 'done' }, recordingRetry().retry).submit(job, 1), /output b\/clip\.gif cannot be sent to OSS: duration/);
    assert.deepEqual(calls, []);
  });
});
