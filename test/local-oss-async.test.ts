import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OSS from 'ali-oss';
import sharp from 'sharp';
import { type AsyncProcessHandler, createAsyncProcessHandler, createLocalMns, generateSampleVideo, type LocalImm, type LocalMns, type LocalOss, ossClientOptions, startLocalImm, startLocalOss } from '@video-animation/local-cloud';
import { NetworkError } from '../shared/clients/http';
import { createBucketClient, type BucketApi } from '../shared/clients/oss';
import type { Retrier } from '../shared/engines/engine';
import { ossAsyncEngine } from '../shared/engines/oss';
import { planJob, samplePlan } from '../shared/jobs/plan';
import { withRetries } from '../shared/platform/retry';
import { parseRuleSet } from '../shared/rules/validate';

const REGION = 'cn-hangzhou';
const ACCOUNT = '1234567890';
const PROJECT = 'video-animation';
const BUCKET = 'media-bkt';
const TOPIC = 'animations';
const KEY = { accessKeyId: 'LTAI5tLocalTestKey', accessKeySecret: 'local-test-secret' };
const SOURCE_KEY = 'videos/clip.mp4';

let dir: string;
let oss: LocalOss;
let imm: LocalImm;
let mns: LocalMns;
let client: OSS;
let bucket: BucketApi;
/** Message bodies pushed to a subscription of TOPIC. */
const notices: string[] = [];

const retry: Retrier = (service, operation) => withRetries(operation, { service, deadline: Date.now() + 10_000, sleep: async () => {} });
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

async function animationOf(key: string) {
  const { content } = await client.get(key);
  return sharp(content as Buffer, { animated: true }).metadata();
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-oss-async-test-'));
  mns = createLocalMns({ accountId: ACCOUNT });
  mns.subscribe(TOPIC, {
    name: 'collector',
    notifyContentFormat: 'STREAM',
    notifyStrategy: 'BACKOFF_RETRY',
    deliver: async (payload) => void notices.push(payload.toString('utf8')),
  });
  // The local OSS needs the handler when it starts, the handler needs the IMM, and the IMM needs the OSS's address.
  let handler: AsyncProcessHandler | undefined;
  oss = await startLocalOss({
    storage: 'memory',
    region: REGION,
    accountId: ACCOUNT,
    buckets: [BUCKET],
    credentials: [KEY],
    asyncProcess: (req) => handler!(req),
  });
  imm = await startLocalImm({
    region: REGION,
    accountId: ACCOUNT,
    credentials: [KEY],
    projects: [PROJECT],
    oss: { endpoint: oss.endpoint, ...KEY },
    publish: async (topic, body) => void mns.publish(topic, body),
    workDir: join(dir, 'imm'),
  });
  handler = createAsyncProcessHandler({ imm, projectName: PROJECT, attachedBuckets: [BUCKET] });

  const video = join(dir, 'clip.mp4');
  await generateSampleVideo(video, { seconds: 3, width: 320, height: 240, fps: 25 });
  client = new OSS(ossClientOptions(oss, BUCKET, KEY));
  await client.put(SOURCE_KEY, video);
  bucket = await createBucketClient({ bucket: BUCKET, region: REGION, credentials: KEY, endpoint: { protocol: 'http', host: `127.0.0.1:${oss.port}` } });
});

after(async () => {
  await imm.close();
  mns.close();
  await oss.close();
  await rm(dir, { recursive: true, force: true });
});

async function settle(): Promise<void> {
  await imm.idle();
  await mns.idle();
}

describe('ossAsyncEngine against local OSS, IMM and MNS', () => {
  test('a gif and a webp output become two IMM tasks whose animations and notices match the rule', async () => {
    const [rule] = parseRuleSet(
      [
        {
          name: 'previews',
          prefix: 'videos/',
          engine: 'oss',
          outputs: [
            // 2 s sampled every 0.5 s: num_4; 4 fps playback: 250 ms per frame.
            { format: 'gif', key: 'previews/{barename}', width: 160, height: 120, duration: 2, interval: 0.5, frameRate: 4 },
            // From 1 s, every 0.25 s, at most 3 frames; half width, quarter height; playback 1/interval = 4 fps.
            { format: 'webp', key: 'previews/{barename}', width: 0.5, height: 0.25, start: 1, interval: 0.25, maxFrames: 3 },
          ],
        },
      ],
      { recordsPrefix: 'animation-jobs/' },
    );
    const head = await bucket.head(SOURCE_KEY);
    const plan = planJob({ bucket: BUCKET, key: SOURCE_KEY, eTag: head!.eTag, size: head!.size }, rule!);
    notices.length = 0;

    const outputTaskIds = (await ossAsyncEngine(bucket, { topicName: TOPIC }, retry).submit(samplePlan(plan), 1)).map((t) => t.taskId);
    await settle();

    assert.equal(outputTaskIds.length, 2);
    assert.equal(new Set(outputTaskIds).size, 2);
    const gif = await animationOf('previews/clip.gif');
    assert.deepEqual(
      { format: gif.format, pages: gif.pages, delay: gif.delay, width: gif.width, pageHeight: gif.pageHeight },
      { format: 'gif', pages: 4, delay: [250, 250, 250, 250], width: 160, pageHeight: 120 },
    );
    const webp = await animationOf('previews/clip.webp');
    assert.deepEqual(
      { format: webp.format, pages: webp.pages, delay: webp.delay, width: webp.width, pageHeight: webp.pageHeight },
      { format: 'webp', pages: 3, delay: [250, 250, 250], width: 160, pageHeight: 60 },
    );

    const received = notices.map((body) => {
      const envelope = JSON.parse(body) as { type: string; source: string; subject: string; content: string };
      const content = JSON.parse(envelope.content) as { TaskId: string; Status: string; Code: string; TaskType: string; Sources: { URI: string }[]; UserData?: string };
      return { type: envelope.type, subject: envelope.subject, taskId: content.TaskId, status: content.Status, code: content.Code, sources: content.Sources, userData: content.UserData };
    });
    const expected = (taskId: string) => ({
      type: 'imm:Task:MediaConvert',
      subject: `acs:imm:${REGION}:${ACCOUNT}:${PROJECT}/imm:Task:MediaConvert`,
      taskId,
      status: 'Succeeded',
      code: '',
      sources: [{ URI: `oss://${BUCKET}/${SOURCE_KEY}` }],
      userData: undefined,
    });
    assert.deepEqual(
      received.sort((a, b) => outputTaskIds.indexOf(a.taskId) - outputTaskIds.indexOf(b.taskId)),
      outputTaskIds.map(expected),
    );
  });
});

describe('local x-oss-async-process', () => {
  test('saveas without b writes to the source bucket, expanding {barename} and {autoext}; no notify, no notice', async () => {
    notices.length = 0;
    const response = await bucket.asyncProcess(SOURCE_KEY, `video/animation,f_webp,ss_500,num_2,inter_1000,pw_25,ph_25|sys/saveas,o_${b64('out/{barename}.{autoext}')}`);
    await settle();

    const task = imm.tasks().find((t) => t.taskId === response.TaskId);
    assert.equal(task?.status, 'Succeeded');
    assert.deepEqual(task.requestedTargets, [
      { Image: { Animations: [{ Format: 'webp', URI: `oss://${BUCKET}/out/{barename}.{autoext}`, Width: 0.25, Height: 0.25, Interval: 1, StartTime: 0.5, Number: 2 }] } },
    ]);
    const webp = await animationOf('out/clip.webp');
    assert.deepEqual({ pages: webp.pages, delay: webp.delay, width: webp.width, pageHeight: webp.pageHeight }, { pages: 2, delay: [1000, 1000], width: 80, pageHeight: 60 });
    assert.deepEqual(notices, []);
  });

  test('video/sprite: one sheet of num frames at even intervals, in the tile layout asked for, with its notice', async () => {
    notices.length = 0;
    const process = `video/sprite,f_jpg,m_avg,num_6,sw_64,sh_48,tw_3,th_2,pad_4,margin_1|sys/saveas,o_${b64('boards/{barename}.jpg')}/notify,topic_${b64(TOPIC)}`;
    const response = await bucket.asyncProcess(SOURCE_KEY, process);
    await settle();

    const task = imm.tasks().find((t) => t.taskId === response.TaskId);
    assert.equal(task?.status, 'Succeeded');
    assert.deepEqual(task.requestedTargets, [
      {
        Image: {
          Sprites: [
            { Format: 'jpg', URI: `oss://${BUCKET}/boards/{barename}.jpg`, Mode: 'average', Number: 6, ScaleWidth: 64, ScaleHeight: 48, TileWidth: 3, TileHeight: 2, Margin: 1, Pad: 4 },
          ],
        },
      },
    ]);
    const sheet = await sharp((await client.get('boards/clip.jpg')).content as Buffer).metadata();
    assert.deepEqual({ format: sheet.format, width: sheet.width, height: sheet.height }, { format: 'jpeg', width: 2 * 1 + 3 * 64 + 2 * 4, height: 2 * 1 + 2 * 48 + 1 * 4 });
    assert.equal(((await client.head('boards/clip.jpg')).res.headers as Record<string, string>)['content-type'], 'image/jpeg');
    assert.equal(notices.length, 1);
    const envelope = JSON.parse(notices[0]!) as { type: string; content: string };
    const content = JSON.parse(envelope.content) as { TaskId: string; Status: string; TaskType: string };
    assert.deepEqual([envelope.type, content.TaskType, content.TaskId, content.Status], ['imm:Task:MediaConvert', 'MediaConvert', response.TaskId, 'Succeeded']);
  });

  test('a lost answer (dropFirstAnswers): the task is made and runs, the call fails on a dropped connection', async () => {
    let handler: AsyncProcessHandler | undefined;
    const lossy = await startLocalOss({
      storage: 'memory',
      region: REGION,
      accountId: ACCOUNT,
      buckets: [BUCKET],
      credentials: [KEY],
      asyncProcess: (req) => handler!(req),
    });
    try {
      handler = createAsyncProcessHandler({ imm, projectName: PROJECT, attachedBuckets: [BUCKET], faults: { dropFirstAnswers: 1 } });
      const lossyBucket = createBucketClient({ bucket: BUCKET, region: REGION, credentials: KEY, endpoint: { protocol: 'http', host: `127.0.0.1:${lossy.port}` } });
      // This OSS only checks that the source exists; the IMM behind it reads the clip from the suite's OSS.
      await lossyBucket.putText(SOURCE_KEY, 'placeholder');
      const process = `video/animation,f_gif,num_1|sys/saveas,o_${b64('out/lost.gif')}`;
      const tasksBefore = imm.tasks().length;
      await assert.rejects(lossyBucket.asyncProcess(SOURCE_KEY, process), (error: unknown) => error instanceof NetworkError && error.code === 'ECONNRESET');
      assert.equal(imm.tasks().length, tasksBefore + 1);
      const answered = await lossyBucket.asyncProcess(SOURCE_KEY, process);
      await settle();
      const made = imm.tasks().slice(tasksBefore);
      assert.deepEqual([made.length, made[1]?.taskId], [2, answered.TaskId]);
      // The lost answer's task ran to the end like the answered one.
      assert.deepEqual(made.map((t) => t.status), ['Succeeded', 'Succeeded']);
    } finally {
      await lossy.close();
    }
  });

  const saveas = `|sys/saveas,o_${b64('out/x.gif')}`;
  const refused: [string, string, string][] = [
    ['an unknown parameter', `video/animation,f_gif,foo_1${saveas}`, 'video/animation: unknown parameter "foo"; supported: f, ss, num, inter, fps, w, h, pw, ph, scaletype'],
    ['a missing f', `video/animation,w_100${saveas}`, 'video/animation: parameter "f" is required (gif or webp)'],
    ['an unknown format', `video/animation,f_png${saveas}`, 'video/animation: parameter "f" must be gif or webp, got "png"'],
    ['fps out of range', `video/animation,f_gif,fps_300${saveas}`, 'video/animation: parameter "fps" must be a number from 0 to 240, got "300"'],
    ['w below 32', `video/animation,f_gif,w_16${saveas}`, 'video/animation: parameter "w" must be an integer from 32 to 4096, got "16"'],
    ['ss in seconds with a fraction', `video/animation,f_gif,ss_1.5${saveas}`, 'video/animation: parameter "ss" must be an integer from 0 to 9007199254740991, got "1.5"'],
    ['w with pw', `video/animation,f_gif,w_100,pw_50${saveas}`, 'video/animation: parameters "w" and "pw" exclude each other'],
    ['a repeated parameter', `video/animation,f_gif,num_2,num_3${saveas}`, 'video/animation: parameter "num" is given twice'],
    ['no saveas', 'video/animation,f_gif', 'sys/saveas: parameter "o" is required; video/animation writes its output only through sys/saveas'],
    ['saveas without o', `video/animation,f_gif|sys/saveas,b_${b64(BUCKET)}`, 'sys/saveas: parameter "o" is required'],
    ['o not Base64', 'video/animation,f_gif|sys/saveas,o_a', 'sys/saveas: parameter "o" is not URL-safe Base64: "a"'],
    ['o in standard Base64', 'video/animation,f_gif|sys/saveas,o_b3V0L+Wbvi5naWY', 'sys/saveas: parameter "o" is not URL-safe Base64: "b3V0L Wbvi5naWY"'],
    ['b not a bucket name', `video/animation,f_gif|sys/saveas,b_${b64('Bad_Bucket')},o_${b64('out/x.gif')}`, 'sys/saveas: parameter "b" must name a bucket, got "Bad_Bucket"'],
    [
      'an unknown template variable in o',
      `video/animation,f_gif|sys/saveas,o_${b64('out/{name}.gif')}`,
      'sys/saveas: parameter "o" has an unknown template variable {name}; supported: {autoext} {bucket} {key} {dirname} {basename} {barename} {ext}, {{ and }} for braces',
    ],
    ['notify without topic', `video/animation,f_gif${saveas}/notify`, 'notify: parameter "topic" is required'],
    ['another action', `video/convert,f_mp4${saveas}`, 'x-oss-async-process: the local stand-in supports video/animation and video/sprite only, got "video/convert"'],
    ['a sprite in an animation format', `video/sprite,f_gif${saveas}`, 'video/sprite: parameter "f" must be jpg or png, got "gif"'],
    ['a sprite without f', `video/sprite,num_4${saveas}`, 'video/sprite: parameter "f" is required (jpg or png)'],
    ['an unknown sprite mode', `video/sprite,f_jpg,m_scene${saveas}`, 'video/sprite: parameter "m" must be one of inter, key, avg, dhash, got "scene"'],
    ['m_avg without num', `video/sprite,f_jpg,m_avg${saveas}`, 'video/sprite: parameter "num" must be 1 or more with m_avg (frames at even intervals)'],
    ['a sprite tile below 32 pixels', `video/sprite,f_jpg,sw_16${saveas}`, 'video/sprite: parameter "sw" must be an integer from 32 to 4096, got "16"'],
    ['thr above 100', `video/sprite,f_jpg,m_dhash,thr_101${saveas}`, 'video/sprite: parameter "thr" must be an integer from 0 to 100, got "101"'],
    ['an animation parameter in a sprite', `video/sprite,f_jpg,fps_4${saveas}`, 'video/sprite: unknown parameter "fps"; supported: f, ss, m, thr, num, inter, sw, sh, psw, psh, tw, th, pad, margin'],
    ['a sprite without saveas', 'video/sprite,f_jpg,num_4', 'sys/saveas: parameter "o" is required; video/sprite writes its output only through sys/saveas'],
  ];
  for (const [what, process, message] of refused) {
    test(`${what} is 400 InvalidArgument naming the parameter, and starts no task`, async () => {
      const tasksBefore = imm.tasks().length;
      await assert.rejects(bucket.asyncProcess(SOURCE_KEY, process), { status: 400, code: 'InvalidArgument', message });
      assert.equal(imm.tasks().length, tasksBefore);
    });
  }
});
