import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OSS from 'ali-oss';
import { startLocalImm, type LocalImm } from '../src/imm/server';
import { generateSampleVideo, readClockFrames } from '../src/media';
import { createAsyncProcessHandler } from '../src/oss-async/handler';
import { ossClientOptions, startLocalOss, type AsyncProcessHandler, type LocalOss } from '../src/oss/server';
import { immCaller, type ImmCaller } from './helpers/imm-openapi-client';

// Which frames an animation takes, read back from a generated "clock" video whose frames show their own time:
// IMM samples from the window start every Interval seconds (every frame when Interval is below the frame
// interval), at most Number frames; OSS's video/animation does the same with inter_ (ms), num_ and ss_ (ms).
const REGION = 'cn-hangzhou';
const PROJECT = 'video-animation';
const BUCKET = 'media-bkt';
const KEY = { accessKeyId: 'LTAI5tLocalTestKey', accessKeySecret: 'local-test-secret' };
const SOURCE = 'videos/clock.mp4';
const FPS = 5;

let dir: string;
let oss: LocalOss;
let imm: LocalImm;
let call: ImmCaller;
let client: OSS & { request(params: Record<string, unknown>): Promise<{ status: number; data: Buffer }> };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-sampling-test-'));
  let handler: AsyncProcessHandler | undefined;
  oss = await startLocalOss({ storage: 'memory', region: REGION, accountId: '1234567890', buckets: [BUCKET], credentials: [KEY], asyncProcess: (req) => handler!(req) });
  imm = await startLocalImm({
    region: REGION,
    accountId: '1234567890',
    credentials: [KEY],
    projects: [PROJECT],
    oss: { endpoint: oss.endpoint, ...KEY },
    publish: async () => undefined,
    workDir: join(dir, 'imm'),
    concurrency: 4,
  });
  handler = createAsyncProcessHandler({ imm, projectName: PROJECT, attachedBuckets: [BUCKET] });
  call = immCaller({ endpoint: imm.endpoint, regionId: REGION, ...KEY });
  client = new OSS(ossClientOptions(oss, BUCKET, KEY)) as typeof client;
  const video = join(dir, 'clock.mp4');
  await generateSampleVideo(video, { seconds: 60, width: 64, height: 32, fps: FPS, pattern: 'clock' });
  await client.put(SOURCE, video);
});

after(async () => {
  await imm.close();
  await oss.close();
  await rm(dir, { recursive: true, force: true });
});

const every = (start: number, step: number, count: number) => Array.from({ length: count }, (_, i) => Math.round((start + i * step) * 1000) / 1000);

async function framesOf(key: string): Promise<number[]> {
  const { content } = await client.get(key);
  return readClockFrames(content as Buffer, FPS);
}

describe('IMM CreateMediaConvertTask: Interval, Number and StartTime pick the frames', () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>, number[]][] = [
    ['Interval 5, Number 12 on 60 s: 0, 5, ... 55 s', {}, { Interval: 5, Number: 12 }, every(0, 5, 12)],
    ['Number caps the count: Interval 2, Number 12', {}, { Interval: 2, Number: 12 }, every(0, 2, 12)],
    ['StartTime starts the window: StartTime 10, Interval 5, Number 3', {}, { StartTime: 10, Interval: 5, Number: 3 }, [10, 15, 20]],
    ['Interval below the frame interval (0.2 s) takes every frame', {}, { Interval: 0.1, Number: 7 }, every(0, 0.2, 7)],
    ['the source clip is the window: Sources StartTime 30, Duration 20, Interval 5', { StartTime: 30, Duration: 20 }, { Interval: 5 }, [30, 35, 40, 45]],
  ];
  for (const format of ['gif', 'webp'] as const) {
    for (const [what, source, animation, expected] of cases) {
      test(`${format}: ${what}`, async () => {
        const key = `out/imm/${format}-${expected.join('-')}-${JSON.stringify(source).length}.${format}`;
        const created = await call('CreateMediaConvertTask', {
          ProjectName: PROJECT,
          Sources: [{ URI: `oss://${BUCKET}/${SOURCE}`, ...source }],
          Targets: [{ Image: { Animations: [{ Format: format, URI: `oss://${BUCKET}/${key}`, ...animation }] } }],
        });
        await imm.idle();
        const task = imm.tasks().find((t) => t.taskId === created.TaskId);
        assert.equal(task?.status, 'Succeeded', task?.message);
        assert.deepEqual(await framesOf(key), expected);
      });
    }
  }
});

describe('OSS x-oss-async-process video/animation: inter_ (ms), num_ and ss_ (ms) pick the same frames', () => {
  const cases: [string, string, number[]][] = [
    ['inter_5000,num_12: 0, 5, ... 55 s', 'inter_5000,num_12', every(0, 5, 12)],
    ['num_ caps the count: inter_2000,num_12', 'inter_2000,num_12', every(0, 2, 12)],
    ['ss_ starts the window: ss_10000,inter_5000,num_3', 'ss_10000,inter_5000,num_3', [10, 15, 20]],
    ['inter_ below the frame interval takes every frame: inter_100,num_7', 'inter_100,num_7', every(0, 0.2, 7)],
  ];
  for (const [what, params, expected] of cases) {
    test(what, async () => {
      const key = `out/oss/${params.replaceAll(',', '-')}.gif`;
      const process = `video/animation,f_gif,${params}|sys/saveas,o_${Buffer.from(key).toString('base64url')}`;
      const response = await client.request({
        method: 'POST',
        bucket: BUCKET,
        object: SOURCE,
        subres: 'x-oss-async-process',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        content: Buffer.from(new URLSearchParams({ 'x-oss-async-process': process }).toString()),
        successStatuses: [200],
      });
      const { TaskId } = JSON.parse(response.data.toString()) as { TaskId: string };
      await imm.idle();
      const task = imm.tasks().find((t) => t.taskId === TaskId);
      assert.equal(task?.status, 'Succeeded', task?.message);
      assert.deepEqual(await framesOf(key), expected);
    });
  }
});
