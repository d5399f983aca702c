import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ClientError, OpenApiUtil, ServerError, ThrottlingError } from '@alicloud/openapi-core';
import OSS from 'ali-oss';
import sharp from 'sharp';
import { startLocalImm, type LocalImm, type LocalImmOptions } from '../src/imm/server';
import { generateSampleVideo } from '../src/media';
import { ossClientOptions, startLocalOss, type OssEventRecord } from '../src/oss/server';
import { immCaller, type ImmCaller } from './helpers/imm-openapi-client';
import { startMinimalOss, type MinimalOss } from './helpers/minimal-oss-server';

const REGION = 'cn-hangzhou';
const ACCOUNT = '1234567890';
const PROJECT = 'video-animation';
const BUCKET = 'media-bkt';
const KEY = { accessKeyId: 'LTAI-local-key', accessKeySecret: 'local-secret' };
const STS = { accessKeyId: 'STS.local', accessKeySecret: 'sts-secret', securityToken: 'token-123' };

let dir: string;
let video: Buffer;
let oss: MinimalOss;
let imm: LocalImm;
let call: ImmCaller;
const published: { topic: string; body: string }[] = [];
const servers: LocalImm[] = [];

async function startImm(overrides: Partial<LocalImmOptions> = {}): Promise<LocalImm> {
  const server = await startLocalImm({
    region: REGION,
    accountId: ACCOUNT,
    credentials: [KEY, STS],
    projects: [PROJECT],
    oss: { endpoint: oss.endpoint, ...KEY },
    publish: async (topic, body) => void published.push({ topic, body }),
    workDir: join(dir, `work-${servers.length}`),
    ...overrides,
  });
  servers.push(server);
  return server;
}

const callerFor = (server: LocalImm, credential: { accessKeyId: string; accessKeySecret: string; securityToken?: string } = KEY) =>
  immCaller({ endpoint: server.endpoint, regionId: REGION, ...credential });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-imm-test-'));
  await generateSampleVideo(join(dir, 'clip.mp4'), { seconds: 4, width: 320, height: 240, fps: 25 });
  video = await readFile(join(dir, 'clip.mp4'));
  oss = await startMinimalOss();
  oss.putObject(BUCKET, 'in/clip.mp4', video, 'video/mp4');
  oss.putObject(BUCKET, 'in/junk.mp4', randomBytes(8192), 'video/mp4');
  imm = await startImm();
  call = callerFor(imm);
});

after(async () => {
  for (const server of servers) await server.close();
  await oss.close();
  await rm(dir, { recursive: true, force: true });
});

const animation = (overrides: Record<string, unknown> = {}) => ({ Format: 'gif', URI: `oss://${BUCKET}/out/a.gif`, Interval: 1, Width: 32, Height: 24, ...overrides });
const createRequest = (overrides: Record<string, unknown> = {}) => ({
  ProjectName: PROJECT,
  Sources: [{ URI: `oss://${BUCKET}/in/clip.mp4` }],
  Targets: [{ Image: { Animations: [animation()] } }],
  ...overrides,
});

async function rejectsWith(promise: Promise<unknown>, expected: { code: string; statusCode: number; message?: RegExp; type?: new (...args: never[]) => Error }) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof (expected.type ?? ClientError), `expected ${expected.type?.name ?? 'ClientError'}, got ${String(error)}`);
    const apiError = error as ClientError;
    assert.equal(apiError.code, expected.code);
    assert.equal(apiError.statusCode, expected.statusCode);
    if (expected.message) assert.match(apiError.message, expected.message);
    const data = apiError.data as Record<string, unknown>;
    assert.match(String(data.RequestId), /^[0-9A-F-]{36}$/);
    assert.equal(data.HostId, `imm.${REGION}.aliyuncs.com`);
    return true;
  });
}

function parseNotice(body: string) {
  const envelope = JSON.parse(body) as Record<string, string>;
  return { envelope, content: JSON.parse(envelope.content!) as Record<string, unknown> };
}

describe('signatures', () => {
  test('a request signed with a known key is accepted', async () => {
    await rejectsWith(call('GetTask', { ProjectName: PROJECT, TaskId: 'MediaConvert-none', TaskType: 'MediaConvert' }), {
      code: 'ResourceNotFound',
      statusCode: 400,
    });
  });

  test('a wrong secret is SignatureDoesNotMatch (403)', async () => {
    const caller = callerFor(imm, { accessKeyId: KEY.accessKeyId, accessKeySecret: 'wrong' });
    await rejectsWith(caller('CreateMediaConvertTask', createRequest()), { code: 'SignatureDoesNotMatch', statusCode: 403 });
  });

  test('an unknown AccessKey ID is InvalidAccessKeyId.NotFound (404)', async () => {
    const caller = callerFor(imm, { accessKeyId: 'LTAI-unknown', accessKeySecret: KEY.accessKeySecret });
    await rejectsWith(caller('CreateMediaConvertTask', createRequest()), { code: 'InvalidAccessKeyId.NotFound', statusCode: 404 });
  });

  test('an STS key needs its security token', async () => {
    await rejectsWith(callerFor(imm, STS)('GetTask', { ProjectName: PROJECT, TaskId: 'x', TaskType: 'MediaConvert' }), { code: 'ResourceNotFound', statusCode: 400 });
    await rejectsWith(callerFor(imm, { ...STS, securityToken: 'other' })('GetTask', { ProjectName: PROJECT, TaskId: 'x', TaskType: 'MediaConvert' }), {
      code: 'InvalidSecurityToken.MismatchWithAccessKey',
      statusCode: 400,
    });
  });

  test('Action and Version may travel as query parameters; replayed nonces, stale dates and unsigned requests are refused', async () => {
    const send = async (authorize: boolean, nonce: string, date = new Date()) => {
      const query: Record<string, string> = { Action: 'GetTask', Version: '2020-09-30', ProjectName: PROJECT, TaskId: 'none', TaskType: 'MediaConvert' };
      const headers: Record<string, string> = {
        host: imm.endpoint,
        'x-acs-date': date.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        'x-acs-signature-nonce': nonce,
        'x-acs-content-sha256': createHash('sha256').update('').digest('hex'),
      };
      if (authorize) {
        headers.Authorization = OpenApiUtil.getAuthorization({ method: 'POST', pathname: '/', query, headers } as never, 'ACS3-HMAC-SHA256', headers['x-acs-content-sha256']!, KEY.accessKeyId, KEY.accessKeySecret);
      }
      return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
        const req = httpRequest(`http://${imm.endpoint}/?${new URLSearchParams(query)}`, { method: 'POST', headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()) }));
        });
        req.on('error', reject);
        req.end();
      });
    };
    const nonce = randomUUID();
    assert.deepEqual(pick(await send(true, nonce)), [400, 'ResourceNotFound']);
    assert.deepEqual(pick(await send(true, nonce)), [400, 'SignatureNonceUsed']);
    assert.deepEqual(pick(await send(false, randomUUID())), [400, 'IncompleteSignature']);
    assert.deepEqual(pick(await send(true, randomUUID(), new Date(Date.now() - 20 * 60 * 1000))), [400, 'InvalidTimeStamp.Expired']);
  });
});

function pick(response: { status: number; body: Record<string, unknown> }) {
  return [response.status, response.body.Code];
}

describe('request errors', () => {
  const cases: [string, Record<string, unknown>, string, RegExp?][] = [
    ['ProjectName missing', createRequest({ ProjectName: undefined }), 'MissingProjectName'],
    ['Sources missing', createRequest({ Sources: undefined }), 'MissingSources'],
    ['Targets missing', createRequest({ Targets: undefined }), 'MissingTargets'],
    ['Sources not JSON', createRequest({ Sources: '[{' }), 'InvalidJSON', /Sources/],
    ['second animation without Format', createRequest({ Targets: [{ Image: { Animations: [animation(), animation({ Format: undefined })] } }] }), 'InvalidArgument', /Targets\[0\]\.Image\.Animations\[1\]\.Format is required/],
    ['Format png', createRequest({ Targets: [{ Image: { Animations: [animation({ Format: 'png' })] } }] }), 'InvalidArgument', /Targets\[0\]\.Image\.Animations\[0\]\.Format must be gif or webp/],
    ['URI missing', createRequest({ Targets: [{ Image: { Animations: [animation({ URI: undefined })] } }] }), 'InvalidArgument', /Animations\[0\]\.URI is required/],
    ['URI not in OSS', createRequest({ Targets: [{ Image: { Animations: [animation({ URI: 'https://x/y.gif' })] } }] }), 'InvalidArgument', /Animations\[0\]\.URI must be an OSS URI/],
    ['Width 5000', createRequest({ Targets: [{ Image: { Animations: [animation({ Width: 5000 })] } }] }), 'InvalidArgument', /Animations\[0\]\.Width must be an integer in \[1, 4096\]/],
    ['Height 1.5', createRequest({ Targets: [{ Image: { Animations: [animation({ Height: 1.5 })] } }] }), 'InvalidArgument', /Height/],
    ['ScaleType zoom', createRequest({ Targets: [{ Image: { Animations: [animation({ ScaleType: 'zoom' })] } }] }), 'InvalidArgument', /ScaleType must be stretch, crop, fill or fit/],
    ['FrameRate 500', createRequest({ Targets: [{ Image: { Animations: [animation({ FrameRate: 500 })] } }] }), 'InvalidArgument', /FrameRate must be in \[0, 240\]/],
    ['Interval -1', createRequest({ Targets: [{ Image: { Animations: [animation({ Interval: -1 })] } }] }), 'InvalidArgument', /Interval must be >= 0/],
    ['Number 2.5', createRequest({ Targets: [{ Image: { Animations: [animation({ Number: 2.5 })] } }] }), 'InvalidArgument', /Number must be an integer/],
    ['StartTime -1', createRequest({ Targets: [{ Image: { Animations: [animation({ StartTime: -1 })] } }] }), 'InvalidArgument', /StartTime must be >= 0/],
    ['no animation', createRequest({ Targets: [{ Image: { Animations: [] } }] }), 'InvalidArgument', /Targets\[0\]\.Image must hold at least one animation, snapshot or sprite/],
    ['a video target', createRequest({ Targets: [{ URI: `oss://${BUCKET}/out.mp4`, Container: 'mp4', Image: { Animations: [animation()] } }] }), 'InvalidArgument', /Targets\[0\]\.URI is not supported/],
    ['12 sources', createRequest({ Sources: Array(12).fill({ URI: `oss://${BUCKET}/in/clip.mp4` }) }), 'InvalidArgument', /Sources must hold at most 11/],
    ['source not in OSS', createRequest({ Sources: [{ URI: '/in/clip.mp4' }] }), 'InvalidArgument', /Sources\[0\]\.URI must be an OSS URI/],
    ['negative source Duration', createRequest({ Sources: [{ URI: `oss://${BUCKET}/in/clip.mp4`, Duration: -2 }] }), 'InvalidArgument', /Sources\[0\]\.Duration must be >= 0/],
    ['empty topic', createRequest({ Notification: { MNS: { TopicName: '' } } }), 'InvalidArgument', /Notification\.MNS\.TopicName must not be empty/],
    ['unknown template variable', createRequest({ Targets: [{ Image: { Animations: [animation({ URI: `oss://${BUCKET}/{name}.gif` })] } }] }), 'InvalidArgument', /\{name\}/],
    ['UserData over 2048 bytes', createRequest({ UserData: 'é'.repeat(1025) }), 'InvalidArgument', /UserData must be at most 2048 bytes/],
    ['unknown project', createRequest({ ProjectName: 'other-project' }), 'ResourceNotFound', /Project/],
  ];
  for (const [name, parameters, code, message] of cases) {
    test(`${name}: ${code}`, async () => {
      const defined = Object.fromEntries(Object.entries(parameters).filter(([, value]) => value !== undefined));
      await rejectsWith(call('CreateMediaConvertTask', defined), { code, statusCode: 400, message });
    });
  }

  test('UserData of exactly 2048 bytes is accepted', async () => {
    const response = await call('CreateMediaConvertTask', createRequest({ UserData: 'x'.repeat(2048), Targets: [{ Image: { Animations: [animation({ Number: 1 })] } }] }));
    assert.match(String(response.TaskId), /^MediaConvert-/);
    await imm.idle();
  });

  test('GetTask requires ProjectName, TaskId and TaskType', async () => {
    await rejectsWith(call('GetTask', { TaskId: 'x', TaskType: 'MediaConvert' }), { code: 'MissingProjectName', statusCode: 400 });
    await rejectsWith(call('GetTask', { ProjectName: PROJECT, TaskType: 'MediaConvert' }), { code: 'MissingTaskId', statusCode: 400 });
    await rejectsWith(call('GetTask', { ProjectName: PROJECT, TaskId: 'x' }), { code: 'MissingTaskType', statusCode: 400 });
    await rejectsWith(call('GetTask', { ProjectName: PROJECT, TaskId: 'x', TaskType: 'MediaConvert' }), { code: 'ResourceNotFound', statusCode: 400, message: /Task/ });
  });

  test('an unknown action is InvalidAction.NotFound (404)', async () => {
    await rejectsWith(call('DeleteEverything', {}), { code: 'InvalidAction.NotFound', statusCode: 404 });
  });

  test('faults: throttling is a ThrottlingError, server errors are ServerErrors', async () => {
    const throttled = await startImm({ faults: { throttleRate: 1 } });
    await rejectsWith(callerFor(throttled)('CreateMediaConvertTask', createRequest()), { code: 'Throttling.User', statusCode: 400, type: ThrottlingError });
    const draws = [0, 0.1, 0, 0.9];
    const failing = await startImm({ faults: { serverErrorRate: 1, random: () => draws.shift() ?? 0 } });
    await rejectsWith(callerFor(failing)('CreateMediaConvertTask', createRequest()), { code: 'InternalError', statusCode: 500, type: ServerError });
    await rejectsWith(callerFor(failing)('GetTask', {}), { code: 'ServiceUnavailable', statusCode: 503, type: ServerError });
    assert.deepEqual(failing.tasks(), []);
  });
});

describe('conversion tasks', () => {
  test('create -> Running -> Succeeded: every animation rendered, uploaded and announced', async () => {
    const release = oss.holdGets();
    const requested = createRequest({
      Targets: [
        {
          Image: {
            Animations: [
              { Format: 'gif', URI: `oss://${BUCKET}/out/{barename}-crop.{autoext}`, Width: 100, Height: 100, ScaleType: 'crop', Interval: 0.5, FrameRate: 10 },
              { Format: 'webp', URI: `oss://${BUCKET}/out/{barename}.{autoext}`, Width: 0.5, Height: 0.5, ScaleType: 'fit', Interval: 1, FrameRate: 15 },
            ],
          },
        },
        { Image: { Animations: [{ Format: 'gif', URI: `oss://${BUCKET}/out/capped.gif`, Interval: 0.5, Number: 3, StartTime: 1 }] } },
      ],
      Notification: { MNS: { TopicName: 'imm-done' } },
      UserData: '{"job":"j-1"}',
      Tags: { rule: 'previews' },
    });
    const created = await call('CreateMediaConvertTask', requested);
    assert.deepEqual(Object.keys(created).sort(), ['EventId', 'RequestId', 'TaskId']);
    const getTask = () => call('GetTask', { ProjectName: PROJECT, TaskId: created.TaskId, TaskType: 'MediaConvert' });

    const running = await getTask();
    assert.equal(running.Status, 'Running');
    assert.equal(running.Progress, 0);
    assert.equal(running.EndTime, undefined);
    release();
    await imm.idle();

    const done = await getTask();
    assert.equal(done.Status, 'Succeeded');
    assert.equal(done.Code, '');
    assert.equal(done.Message, '');
    assert.equal(done.Progress, 100);
    assert.equal(done.TaskType, 'MediaConvert');
    assert.equal(done.UserData, '{"job":"j-1"}');
    assert.deepEqual(done.Tags, { rule: 'previews' });
    assert.ok(Date.parse(String(done.EndTime)) >= Date.parse(String(done.StartTime)));

    const crop = oss.getObject(BUCKET, 'out/clip-crop.gif')!;
    assert.equal(crop.contentType, 'image/gif');
    const cropMeta = await sharp(crop.body, { animated: true }).metadata();
    assert.deepEqual([cropMeta.width, cropMeta.pageHeight, cropMeta.pages, cropMeta.loop], [100, 100, 8, 0]);
    assert.deepEqual(cropMeta.delay, Array(8).fill(100));

    const fit = oss.getObject(BUCKET, 'out/clip.webp')!;
    assert.equal(fit.contentType, 'image/webp');
    const fitMeta = await sharp(fit.body, { animated: true }).metadata();
    assert.deepEqual([fitMeta.format, fitMeta.width, fitMeta.pageHeight, fitMeta.pages], ['webp', 160, 120, 4]);

    const capped = await sharp(oss.getObject(BUCKET, 'out/capped.gif')!.body, { animated: true }).metadata();
    assert.deepEqual([capped.width, capped.pageHeight, capped.pages], [320, 240, 3]);

    const task = imm.tasks().find((t) => t.taskId === created.TaskId)!;
    assert.deepEqual(task.outputs.map((o) => [o.uri, o.frames]), [
      [`oss://${BUCKET}/out/clip-crop.gif`, 8],
      [`oss://${BUCKET}/out/clip.webp`, 4],
      [`oss://${BUCKET}/out/capped.gif`, 3],
    ]);

    const notices = published.filter((p) => parseNotice(p.body).content.TaskId === created.TaskId);
    assert.equal(notices.length, 1);
    assert.equal(notices[0]!.topic, 'imm-done');
    const { envelope, content } = parseNotice(notices[0]!.body);
    assert.deepEqual(Object.keys(envelope), ['id', 'source', 'specversion', 'type', 'subject', 'time', 'content']);
    assert.equal(envelope.source, 'acs.imm');
    assert.equal(envelope.specversion, '1.0');
    assert.equal(envelope.type, 'imm:Task:MediaConvert');
    assert.equal(envelope.subject, `acs:imm:${REGION}:${ACCOUNT}:${PROJECT}/imm:Task:MediaConvert`);
    assert.match(envelope.time!, /^\d{13}$/);
    assert.deepEqual(content, {
      ProjectName: PROJECT,
      RequestId: created.RequestId,
      StartTime: done.StartTime,
      EndTime: done.EndTime,
      UserData: '{"job":"j-1"}',
      TaskType: 'MediaConvert',
      TaskId: created.TaskId,
      Status: 'Succeeded',
      Code: '',
      Message: '',
      Sources: requested.Sources,
      Targets: requested.Targets,
    }, 'no Tags: IMM documents none in its notice, so the app must not depend on them');
  });

  test('several sources are joined in order, each trimmed by its StartTime and Duration', async () => {
    const created = await call('CreateMediaConvertTask', createRequest({
      Sources: [{ URI: `oss://${BUCKET}/in/clip.mp4` }, { URI: `oss://${BUCKET}/in/clip.mp4`, StartTime: 1, Duration: 2 }],
      Targets: [{ Image: { Animations: [animation({ URI: `oss://${BUCKET}/out/joined.gif` })] } }],
    }));
    await imm.idle();
    const task = imm.tasks().find((t) => t.taskId === created.TaskId)!;
    assert.equal(task.status, 'Succeeded', task.message);
    assert.equal(task.outputs[0]!.frames, 6);
  });

  const failures: [string, Record<string, unknown>, string, RegExp][] = [
    ['a missing source object', { Sources: [{ URI: `oss://${BUCKET}/in/missing.mp4` }] }, 'ResourceNotFound', /oss:\/\/media-bkt\/in\/missing\.mp4/],
    ['an undecodable source', { Sources: [{ URI: `oss://${BUCKET}/in/junk.mp4` }] }, 'InvalidFile.Media', /decoded/],
    ['a start past the end of the video', { Targets: [{ Image: { Animations: [animation({ StartTime: 10 })] } }] }, 'InvalidArgument', /Animations\[0\]/],
  ];
  for (const [name, overrides, code, message] of failures) {
    test(`${name}: the task fails with ${code} and the notice says so`, async () => {
      const created = await call('CreateMediaConvertTask', createRequest({ ...overrides, Notification: { MNS: { TopicName: 'imm-done' } } }));
      await imm.idle();
      const done = await call('GetTask', { ProjectName: PROJECT, TaskId: created.TaskId, TaskType: 'MediaConvert' });
      assert.equal(done.Status, 'Failed');
      assert.equal(done.Code, code);
      assert.match(String(done.Message), message);
      const notice = published.map((p) => parseNotice(p.body).content).find((c) => c.TaskId === created.TaskId)!;
      assert.deepEqual([notice.Status, notice.Code, notice.Message], ['Failed', code, done.Message]);
    });
  }

  test('faults.failTaskRate fails tasks with InternalError', async () => {
    const flaky = await startImm({ faults: { failTaskRate: 1 } });
    const created = await callerFor(flaky)('CreateMediaConvertTask', createRequest());
    await flaky.idle();
    assert.deepEqual([flaky.tasks()[0]?.taskId, flaky.tasks()[0]?.status, flaky.tasks()[0]?.code], [created.TaskId, 'Failed', 'InternalError']);
  });

  test('a notice that cannot be published is recorded on the task, the server carries on', async () => {
    const lonely = await startImm({ publish: async () => { throw new Error('TopicNotExist'); } });
    const created = await callerFor(lonely)('CreateMediaConvertTask', createRequest({ Notification: { MNS: { TopicName: 'nowhere' } } }));
    await lonely.idle();
    const task = lonely.tasks()[0]!;
    assert.deepEqual([task.taskId, task.status, task.notificationError], [created.TaskId, 'Succeeded', 'TopicNotExist']);
  });
});

describe('end to end with the local OSS', () => {
  test('a video uploaded with ali-oss becomes a GIF and a WebP in the local OSS, with OSS events and the notice', async () => {
    const events: OssEventRecord[] = [];
    const localOss = await startLocalOss({
      storage: 'memory',
      region: REGION,
      accountId: ACCOUNT,
      buckets: [BUCKET],
      credentials: [KEY],
      onEvent: (event) => void events.push(event),
    });
    try {
      const client = new OSS(ossClientOptions(localOss, BUCKET, KEY));
      await client.put('uploads/my clip+1.mp4', join(dir, 'clip.mp4'));
      const server = await startImm({ oss: { endpoint: localOss.endpoint, ...KEY } });
      const created = await callerFor(server)('CreateMediaConvertTask', createRequest({
        Sources: [{ URI: `oss://${BUCKET}/uploads/my clip+1.mp4` }],
        Targets: [{ Image: { Animations: [
          { Format: 'gif', URI: `oss://${BUCKET}/previews/{barename}.{autoext}`, Width: 160, ScaleType: 'fit', Interval: 1, FrameRate: 10 },
          { Format: 'webp', URI: `oss://${BUCKET}/previews/{barename}.{autoext}`, Width: 0.25, Height: 0.25, Interval: 0.5, FrameRate: 10, Number: 5 },
        ] } }],
        Notification: { MNS: { TopicName: 'e2e-done' } },
      }));
      await server.idle();
      assert.equal(server.tasks()[0]?.status, 'Succeeded', server.tasks()[0]?.message);

      const gif = await client.get('previews/my clip+1.gif');
      assert.equal((gif.res.headers as Record<string, string>)['content-type'], 'image/gif');
      const gifMeta = await sharp(gif.content as Buffer, { animated: true }).metadata();
      assert.deepEqual([gifMeta.width, gifMeta.pageHeight, gifMeta.pages, gifMeta.loop], [160, 120, 4, 0]);
      const webpMeta = await sharp((await client.get('previews/my clip+1.webp')).content as Buffer, { animated: true }).metadata();
      assert.deepEqual([webpMeta.format, webpMeta.width, webpMeta.pageHeight, webpMeta.pages], ['webp', 80, 60, 5]);

      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(
        events.map((event) => [event.eventName, event.oss.object.key]),
        [
          ['ObjectCreated:PutObject', 'uploads/my clip+1.mp4'],
          ['ObjectCreated:PutObject', 'previews/my clip+1.gif'],
          ['ObjectCreated:PutObject', 'previews/my clip+1.webp'],
        ],
      );
      const notice = published.find((p) => p.topic === 'e2e-done')!;
      assert.deepEqual(parseNotice(notice.body).content.TaskId, created.TaskId);
      assert.equal(parseNotice(notice.body).content.Status, 'Succeeded');
    } finally {
      await localOss.close();
    }
  });
});

describe('fault injection on tasks', () => {
  test('failFirstTasks with failTaskCode: the first task fails with that code and an IMM-like message, the next one succeeds', async () => {
    const server = await startImm({ faults: { failFirstTasks: 1, failTaskCode: 'InvalidFile.Media' } });
    const caller = callerFor(server);
    const first = await caller('CreateMediaConvertTask', createRequest());
    const second = await caller('CreateMediaConvertTask', createRequest());
    await server.idle();
    const status = async (taskId: unknown) => {
      const task = await caller('GetTask', { ProjectName: PROJECT, TaskId: taskId, TaskType: 'MediaConvert' });
      return [task.Status, task.Code, task.Message];
    };
    assert.deepEqual(await status(first.TaskId), ['Failed', 'InvalidFile.Media', 'The media file cannot be decoded: it is not a media file or its format is not supported. (local fault injection)']);
    assert.deepEqual(await status(second.TaskId), ['Succeeded', '', '']);
  });

  test('failTaskRate fails with InternalError unless failTaskCode says otherwise', async () => {
    const transient = await startImm({ faults: { failTaskRate: 1 } });
    await callerFor(transient)('CreateMediaConvertTask', createRequest());
    await transient.idle();
    assert.deepEqual([transient.tasks()[0]?.code, transient.tasks()[0]?.message], ['InternalError', 'The request processing has failed due to some unknown error, exception or failure. (local fault injection)']);
    const permanent = await startImm({ faults: { failTaskRate: 1, failTaskCode: 'InvalidFile.Media' } });
    await callerFor(permanent)('CreateMediaConvertTask', createRequest());
    await permanent.idle();
    assert.equal(permanent.tasks()[0]?.code, 'InvalidFile.Media');
  });
});

describe('lost answers (dropCreateAnswer faults)', () => {
  const request = () => createRequest({ Notification: { MNS: { TopicName: 'lost-answers' } } });
  const droppedConnection = /socket hang up|ECONNRESET/;

  test('dropFirstCreateAnswers: the task is made, runs and is announced, but the call fails on a dropped connection', async () => {
    const server = await startImm({ faults: { dropFirstCreateAnswers: 1 } });
    const caller = callerFor(server);
    await assert.rejects(caller('CreateMediaConvertTask', request()), droppedConnection);
    assert.equal(server.tasks().length, 1);
    const answered = await caller('CreateMediaConvertTask', request());
    await server.idle();
    const [lost, kept] = server.tasks();
    assert.deepEqual([server.tasks().length, lost?.status, kept?.status, kept?.taskId], [2, 'Succeeded', 'Succeeded', answered.TaskId]);
    const announced = published.filter((p) => p.topic === 'lost-answers').map((p) => parseNotice(p.body).content.TaskId);
    assert.deepEqual(announced.sort(), [lost!.taskId, kept!.taskId].sort());
    // Only CreateMediaConvertTask loses answers: the lost task can be found and read.
    assert.equal((await caller('GetTask', { ProjectName: PROJECT, TaskId: lost!.taskId, TaskType: 'MediaConvert' })).Status, 'Succeeded');
  });

  test('dropCreateAnswerRate: a share of the calls lose their answer, every call makes its task', async () => {
    let draws = 0;
    // Every other draw is below the rate.
    const server = await startImm({ conversion: 'fast', faults: { dropCreateAnswerRate: 0.5, random: () => (draws++ % 2 === 0 ? 0.1 : 0.9) } });
    const caller = callerFor(server);
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) outcomes.push(await caller('CreateMediaConvertTask', request()).then(() => 'answered', () => 'dropped'));
    await server.idle();
    assert.deepEqual(outcomes, ['dropped', 'answered', 'dropped', 'answered']);
    assert.equal(server.tasks().length, 4);
  });
});

describe('ListTasks', () => {
  let server: LocalImm;
  let caller: ImmCaller;
  /** TaskId by name, in creation order. */
  const ids: Record<string, string> = {};
  const created: Record<string, Record<string, unknown>> = {};
  const byTaskId = (names: string[]) => names.map((name) => ids[name]!).sort();
  const listed = (response: Record<string, unknown>) => (response.Tasks as Record<string, unknown>[]).map((task) => task.TaskId as string);

  before(async () => {
    server = await startImm();
    caller = callerFor(server);
    const requests: Record<string, Record<string, unknown>> = {
      job1Preview: createRequest({ Tags: { JobId: 'job-1', rule: 'previews' }, UserData: '{"job":"job-1"}' }),
      job2Preview: createRequest({ Tags: { JobId: 'job-2', rule: 'previews' } }),
      job1Thumb: createRequest({ Tags: { JobId: 'job-1', rule: 'thumbs' } }),
      untagged: createRequest(),
      missingSource: createRequest({ Tags: { JobId: 'job=3' }, Sources: [{ URI: `oss://${BUCKET}/in/missing.mp4` }] }),
    };
    for (const [name, request] of Object.entries(requests)) {
      created[name] = request;
      ids[name] = String((await caller('CreateMediaConvertTask', request)).TaskId);
    }
    await server.idle();
  });

  test('TagSelector key=value lists the tasks created with that tag, with TaskInfo fields and Tags as an object', async () => {
    const response = await caller('ListTasks', { ProjectName: PROJECT, TagSelector: 'JobId=job-1' });
    assert.deepEqual(Object.keys(response).sort(), ['MaxResults', 'NextToken', 'ProjectName', 'RequestId', 'Tasks']);
    assert.deepEqual([response.ProjectName, response.NextToken, response.MaxResults], [PROJECT, '', '2']);
    assert.deepEqual(listed(response), byTaskId(['job1Preview', 'job1Thumb']));
    const task = (response.Tasks as Record<string, unknown>[]).find((t) => t.TaskId === ids.job1Preview)!;
    assert.deepEqual(Object.keys(task), ['TaskId', 'TaskType', 'Status', 'Code', 'Message', 'StartTime', 'EndTime', 'UserData', 'Tags', 'Progress']);
    assert.deepEqual([task.TaskType, task.Status, task.Code, task.Progress, task.UserData], ['MediaConvert', 'Succeeded', '', 100, '{"job":"job-1"}']);
    assert.deepEqual(task.Tags, { JobId: 'job-1', rule: 'previews' });

    assert.deepEqual(listed(await caller('ListTasks', { ProjectName: PROJECT, TagSelector: 'rule=previews' })), byTaskId(['job1Preview', 'job2Preview']));
    assert.deepEqual(listed(await caller('ListTasks', { ProjectName: PROJECT, TagSelector: 'JobId=job=3' })), [ids.missingSource]);
    assert.deepEqual(listed(await caller('ListTasks', { ProjectName: PROJECT, TagSelector: 'JobId=job-9' })), []);
  });

  test('TaskTypes (a JSON array on the wire, as the SDK sends it) and Status filter', async () => {
    assert.equal(listed(await caller('ListTasks', { ProjectName: PROJECT, TaskTypes: ['MediaConvert'] })).length, 5);
    assert.deepEqual(listed(await caller('ListTasks', { ProjectName: PROJECT, TaskTypes: ['VideoLabelClassification'] })), []);
    assert.deepEqual(listed(await caller('ListTasks', { ProjectName: PROJECT, Status: 'Failed' })), [ids.missingSource]);
    assert.deepEqual(listed(await caller('ListTasks', { ProjectName: PROJECT, Status: 'Running' })), []);
    assert.deepEqual(listed(await caller('ListTasks', { ProjectName: PROJECT, Status: 'Succeeded', TagSelector: 'JobId=job-2' })), [ids.job2Preview]);
  });

  test('MaxResults pages through every task with NextToken, in TaskId order by default', async () => {
    const pages: string[][] = [];
    let nextToken: string | undefined;
    do {
      const response = await caller('ListTasks', { ProjectName: PROJECT, MaxResults: 2, ...(nextToken ? { NextToken: nextToken } : {}) });
      pages.push(listed(response));
      assert.equal(response.MaxResults, String(pages.at(-1)!.length));
      nextToken = response.NextToken as string;
    } while (nextToken);
    assert.deepEqual(pages.map((page) => page.length), [2, 2, 1]);
    assert.deepEqual(pages.flat(), Object.values(ids).sort());
  });

  test('Sort and Order: by StartTime, newest first', async () => {
    const response = await caller('ListTasks', { ProjectName: PROJECT, Sort: 'StartTime', Order: 'desc' });
    const times = (response.Tasks as { StartTime: string }[]).map((t) => t.StartTime);
    assert.deepEqual(times, [...times].sort().reverse());
  });

  test('StartTimeRange and EndTimeRange (JSON {Start, End}) select by time', async () => {
    const all = await caller('ListTasks', { ProjectName: PROJECT, StartTimeRange: { Start: '2020-01-01T00:00:00+08:00', End: new Date(Date.now() + 60_000).toISOString() } });
    assert.equal(listed(all).length, 5);
    assert.deepEqual(listed(await caller('ListTasks', { ProjectName: PROJECT, EndTimeRange: { Start: new Date(Date.now() + 60_000).toISOString() } })), []);
  });

  test('RequestDefinition=true adds TaskRequestDefinition, the creation parameters as a JSON string; GetTask too, with EventId', async () => {
    const response = await caller('ListTasks', { ProjectName: PROJECT, TagSelector: 'JobId=job-2', RequestDefinition: true });
    const [task] = response.Tasks as Record<string, unknown>[];
    assert.deepEqual(JSON.parse(String(task!.TaskRequestDefinition)), {
      ProjectName: PROJECT,
      Sources: created.job2Preview!.Sources,
      Targets: created.job2Preview!.Targets,
      Tags: { JobId: 'job-2', rule: 'previews' },
    });
    const without = await caller('ListTasks', { ProjectName: PROJECT, TagSelector: 'JobId=job-2', RequestDefinition: false });
    assert.equal((without.Tasks as Record<string, unknown>[])[0]!.TaskRequestDefinition, undefined);

    const got = await caller('GetTask', { ProjectName: PROJECT, TaskId: ids.job2Preview, TaskType: 'MediaConvert', RequestDefinition: true });
    assert.equal(got.TaskRequestDefinition, task!.TaskRequestDefinition);
    assert.equal(got.EventId, server.tasks().find((t) => t.taskId === ids.job2Preview)?.eventId);
    assert.deepEqual(got.Tags, { JobId: 'job-2', rule: 'previews' });
  });

  const refused: [string, Record<string, unknown>, string, RegExp?][] = [
    ['no ProjectName', {}, 'MissingProjectName'],
    ['an unknown project', { ProjectName: 'other-project' }, 'ResourceNotFound', /Project/],
    ['MaxResults 0', { ProjectName: PROJECT, MaxResults: 0 }, 'InvalidArgument', /MaxResults/],
    ['MaxResults 101', { ProjectName: PROJECT, MaxResults: 101 }, 'InvalidArgument', /MaxResults/],
    ['a TagSelector without =', { ProjectName: PROJECT, TagSelector: 'JobId' }, 'InvalidArgument', /TagSelector must be key=value/],
    ['TaskTypes not JSON', { ProjectName: PROJECT, TaskTypes: 'MediaConvert' }, 'InvalidJSON', /TaskTypes/],
    ['a made-up NextToken', { ProjectName: PROJECT, NextToken: 'not-a-token' }, 'InvalidArgument', /NextToken/],
    ['Status Done', { ProjectName: PROJECT, Status: 'Done' }, 'InvalidArgument', /Status/],
    ['Sort by size', { ProjectName: PROJECT, Sort: 'Size' }, 'InvalidArgument', /Sort/],
  ];
  for (const [what, parameters, code, message] of refused) {
    test(`${what}: ${code}`, async () => {
      await rejectsWith(caller('ListTasks', parameters), { code, statusCode: 400, message });
    });
  }
});

describe('DetectMediaMeta', () => {
  test('a video: format, size, duration in seconds and its video stream with frame rates as fractions', async () => {
    const meta = await call('DetectMediaMeta', { ProjectName: PROJECT, SourceURI: `oss://${BUCKET}/in/clip.mp4` });
    assert.match(String(meta.RequestId), /^[0-9A-F-]{36}$/);
    assert.deepEqual(
      [meta.FormatName, meta.Size, meta.Duration, meta.VideoWidth, meta.VideoHeight, meta.StreamCount],
      ['mov,mp4,m4a,3gp,3g2,mj2', video.length, 4, 320, 240, 1],
    );
    const [stream] = meta.VideoStreams as Record<string, unknown>[];
    assert.deepEqual(
      [stream!.Index, stream!.CodecName, stream!.Width, stream!.Height, stream!.FrameRate, stream!.AverageFrameRate, stream!.FrameCount, stream!.Duration, stream!.PixelFormat],
      [0, 'h264', 320, 240, '25/1', '25/1', 100, 4, 'yuv420p'],
    );
    assert.equal(meta.AudioStreams, undefined);
  });

  test('a file that is not media is 400 InvalidFile.Media; a missing object is ResourceNotFound', async () => {
    await rejectsWith(call('DetectMediaMeta', { ProjectName: PROJECT, SourceURI: `oss://${BUCKET}/in/junk.mp4` }), {
      code: 'InvalidFile.Media',
      statusCode: 400,
      message: /not a media file.*oss:\/\/media-bkt\/in\/junk\.mp4/,
    });
    await rejectsWith(call('DetectMediaMeta', { ProjectName: PROJECT, SourceURI: `oss://${BUCKET}/in/missing.mp4` }), {
      code: 'ResourceNotFound',
      statusCode: 400,
      message: /Object.*oss:\/\/media-bkt\/in\/missing\.mp4/,
    });
  });

  test('SourceURI is required and must be an OSS URI', async () => {
    await rejectsWith(call('DetectMediaMeta', { ProjectName: PROJECT }), { code: 'MissingSourceURI', statusCode: 400 });
    await rejectsWith(call('DetectMediaMeta', { ProjectName: PROJECT, SourceURI: 'https://example.com/a.mp4' }), { code: 'InvalidArgument', statusCode: 400, message: /SourceURI/ });
  });
});
