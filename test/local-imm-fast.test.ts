import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { type AnimationSpec, fastAnimation, generateSampleVideo, type LocalImm, type LocalImmOptions, planAnimation, plannedFrameCount, probeVideo, renderAnimation, startLocalImm } from '@video-animation/local-cloud';
import { countAnimationFrames } from '../shared/media/animation-frames';
import { immCaller, type ImmCaller } from '../packages/local-cloud/test/helpers/imm-openapi-client';
import { startMinimalOss, type MinimalOss } from '../packages/local-cloud/test/helpers/minimal-oss-server';

const REGION = 'cn-hangzhou';
const PROJECT = 'video-animation';
const BUCKET = 'media-bkt';
const KEY = { accessKeyId: 'LTAI-local-key', accessKeySecret: 'local-secret' };

let dir: string;
let clip: string;
let oss: MinimalOss;
const servers: LocalImm[] = [];
const published: { topic: string; body: string }[] = [];

async function startImm(overrides: Partial<LocalImmOptions> = {}): Promise<{ imm: LocalImm; call: ImmCaller }> {
  const imm = await startLocalImm({
    region: REGION,
    accountId: '1234567890',
    credentials: [KEY],
    projects: [PROJECT],
    oss: { endpoint: oss.endpoint, ...KEY },
    publish: async (topic, body) => void published.push({ topic, body }),
    workDir: join(dir, `work-${servers.length}`),
    ...overrides,
  });
  servers.push(imm);
  return { imm, call: immCaller({ endpoint: imm.endpoint, regionId: REGION, ...KEY }) };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-imm-fast-test-'));
  clip = join(dir, 'clip.mp4');
  await generateSampleVideo(clip, { seconds: 4, width: 320, height: 240, fps: 25 });
  oss = await startMinimalOss();
  const video = await readFile(clip);
  oss.putObject(BUCKET, 'in/clip.mp4', video, 'video/mp4');
  oss.putObject(BUCKET, 'in/same-bytes.mp4', video, 'video/mp4');
  oss.putObject(BUCKET, 'in/junk.mp4', randomBytes(4096), 'video/mp4');
});

after(async () => {
  for (const server of servers) await server.close();
  await oss.close();
  await rm(dir, { recursive: true, force: true });
});

describe('fast conversion mode', () => {
  test('a task writes valid animations with the planned frames and size, and publishes the usual notice', async () => {
    const { imm, call } = await startImm({ conversion: 'fast' });
    const animations = [
      { Format: 'gif', URI: `oss://${BUCKET}/out/fast.gif`, Interval: 1, Width: 32, Height: 24 },
      { Format: 'webp', URI: `oss://${BUCKET}/out/fast.webp`, Interval: 0.5, Number: 3, Width: 0.5, Height: 0.5, FrameRate: 8 },
    ];
    const created = await call('CreateMediaConvertTask', {
      ProjectName: PROJECT,
      Sources: [{ URI: `oss://${BUCKET}/in/clip.mp4` }],
      Targets: [{ Image: { Animations: animations } }],
      Notification: { MNS: { TopicName: 'done' } },
      UserData: 'fast-1',
    });
    await imm.idle();
    const task = imm.tasks().find((t) => t.taskId === created['TaskId']);
    assert.equal(task?.status, 'Succeeded', task?.message);
    assert.deepEqual(
      task.outputs.map(({ uri, frames, width, height }) => ({ uri, frames, width, height })),
      [
        { uri: `oss://${BUCKET}/out/fast.gif`, frames: 4, width: 32, height: 24 },
        { uri: `oss://${BUCKET}/out/fast.webp`, frames: 3, width: 160, height: 120 },
      ],
    );
    for (const [key, format, frames, width, height, delay] of [
      ['out/fast.gif', 'gif', 4, 32, 24, 1000],
      ['out/fast.webp', 'webp', 3, 160, 120, 125],
    ] as const) {
      const object = oss.getObject(BUCKET, key);
      assert.ok(object, key);
      assert.equal(object.contentType, `image/${format}`);
      const meta = await sharp(object.body, { animated: true }).metadata();
      assert.deepEqual([meta.format, meta.pages, meta.width, meta.pageHeight], [format, frames, width, height], key);
      assert.deepEqual(meta.delay, Array.from({ length: frames }, () => delay));
      // The record function counts frames with its own walker: it must agree.
      assert.equal(countAnimationFrames(object.body), frames);
      assert.equal(task.outputs.find((o) => o.uri.endsWith(key))?.bytes, object.body.length);
    }
    const notice = published.find((p) => JSON.parse(JSON.parse(p.body).content).TaskId === created['TaskId']);
    assert.equal(notice?.topic, 'done');
    assert.equal(JSON.parse(JSON.parse(notice.body).content).Status, 'Succeeded');
  });

  test('a task with Snapshots and Sprites writes flat stills in the planned number and size, and succeeds', async () => {
    const { imm, call } = await startImm({ conversion: 'fast' });
    const created = await call('CreateMediaConvertTask', {
      ProjectName: PROJECT,
      Sources: [{ URI: `oss://${BUCKET}/in/clip.mp4` }],
      Targets: [
        {
          Image: {
            Animations: [{ Format: 'gif', URI: `oss://${BUCKET}/kit/clip.gif`, Interval: 1, Width: 32, Height: 24 }],
            Snapshots: [{ Format: 'jpg', URI: `oss://${BUCKET}/kit/poster-candidate-{index}.jpg`, Mode: 'average', Number: 5, Width: 160 }],
            Sprites: [{ Format: 'jpg', URI: `oss://${BUCKET}/kit/sheet-{index}.jpg`, Mode: 'average', Number: 10, TileWidth: 3, TileHeight: 2, ScaleWidth: 40, ScaleHeight: 30, Margin: 2, Pad: 2 }],
          },
        },
      ],
    });
    await imm.idle();
    const task = imm.tasks().find((t) => t.taskId === created['TaskId']);
    assert.equal(task?.status, 'Succeeded', task?.message);
    const sheet = { width: 2 * 2 + 3 * 40 + 2 * 2, height: 2 * 2 + 2 * 30 + 2 };
    assert.deepEqual(
      task.outputs.map(({ uri, frames, width, height }) => [uri.slice(`oss://${BUCKET}/kit/`.length), frames, width, height]),
      [
        ['clip.gif', 4, 32, 24],
        ...[1, 2, 3, 4, 5].map((i) => [`poster-candidate-${i}.jpg`, 1, 160, 120]),
        ['sheet-1.jpg', 6, sheet.width, sheet.height],
        ['sheet-2.jpg', 4, sheet.width, sheet.height],
      ],
    );
    for (const output of task.outputs.slice(1)) {
      const object = oss.getObject(BUCKET, output.uri.slice(`oss://${BUCKET}/`.length));
      assert.ok(object, output.uri);
      assert.equal(object.contentType, 'image/jpeg');
      const meta = await sharp(object.body).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height, object.body.length], ['jpeg', output.width, output.height, output.bytes], output.uri);
    }
  });

  test('frame counts match what ffmpeg renders for the same request', async () => {
    const source = await probeVideo(clip);
    const specs: AnimationSpec[] = [
      { format: 'gif', width: 32, height: 24, interval: 1 },
      { format: 'gif', width: 32, height: 24, interval: 4 / 24, number: 24 },
      { format: 'webp', width: 32, height: 24, interval: 0.7, startTime: 1 },
      { format: 'gif', width: 16, height: 12, sourceStartTime: 1, sourceDuration: 1 },
    ];
    for (const [index, spec] of specs.entries()) {
      const rendered = await renderAnimation(clip, join(dir, `real-${index}.${spec.format}`), spec);
      const fast = await fastAnimation(source, spec);
      assert.deepEqual([fast.frames, fast.width, fast.height], [rendered.frames, rendered.width, rendered.height], JSON.stringify(spec));
      assert.equal((await sharp(fast.bytes, { animated: true }).metadata()).pages ?? 1, fast.frames);
    }
  });

  test('the frame count is what the select filter keeps, frame by frame, for many sources and samplings', () => {
    // What renderAnimation's select keeps: one frame per interval bucket among the frames before the end.
    const bySelect = (duration: number, fps: number, interval: number, max?: number) => {
      const end = duration - 0.0001;
      const buckets = new Set<number>();
      for (let k = 0; k / fps < end; k++) buckets.add(Math.floor(k / fps / interval + 0.001));
      return max ? Math.min(buckets.size, max) : buckets.size;
    };
    let seed = 7;
    const next = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 500; i++) {
      const fps = [24, 25, 30000 / 1001, 60, 12.5, 5][i % 6]!;
      const source = { width: 640, height: 360, durationSeconds: 0.2 + next() * 30, frameRate: fps };
      const spec: AnimationSpec = { format: 'gif', interval: next() < 0.2 ? 0 : next() * 3, ...(next() < 0.5 ? { number: 1 + Math.floor(next() * 40) } : {}) };
      const plan = planAnimation(source, spec);
      assert.equal(plannedFrameCount(plan, fps), bySelect(plan.durationSeconds, fps, plan.intervalSeconds, plan.maxFrames), JSON.stringify({ source, spec }));
    }
  });

  test('DetectMediaMeta answers as with ffprobe each time, but probes one content (one ETag) once', async () => {
    const { imm, call } = await startImm({ conversion: 'fast' });
    const { call: slowCall } = await startImm();
    const detect = (c: ImmCaller, key: string) => c('DetectMediaMeta', { ProjectName: PROJECT, SourceURI: `oss://${BUCKET}/${key}` });
    const { RequestId: _r, ...expected } = await detect(slowCall, 'in/clip.mp4');
    const answers = await Promise.all([detect(call, 'in/clip.mp4'), detect(call, 'in/clip.mp4'), detect(call, 'in/same-bytes.mp4')]);
    for (const { RequestId: _id, ...fields } of answers) assert.deepEqual(fields, expected);
    assert.equal(imm.probes(), 1);
    assert.equal(expected['Duration'], 4);
  });

  test('a file that is not media and a missing object fail as with ffmpeg', async () => {
    const { imm, call } = await startImm({ conversion: 'fast' });
    const detect = (key: string) => call('DetectMediaMeta', { ProjectName: PROJECT, SourceURI: `oss://${BUCKET}/${key}` });
    await assert.rejects(detect('in/junk.mp4'), { code: 'InvalidFile.Media', statusCode: 400 });
    await assert.rejects(detect('in/missing.mp4'), { code: 'ResourceNotFound', statusCode: 400 });
    const ids: string[] = [];
    for (const key of ['in/junk.mp4', 'in/missing.mp4']) {
      const created = await call('CreateMediaConvertTask', {
        ProjectName: PROJECT,
        Sources: [{ URI: `oss://${BUCKET}/${key}` }],
        Targets: [{ Image: { Animations: [{ Format: 'gif', URI: `oss://${BUCKET}/out/${key}.gif` }] } }],
      });
      ids.push(String(created['TaskId']));
    }
    await imm.idle();
    const ended = ids.map((id) => imm.tasks().find((t) => t.taskId === id));
    assert.deepEqual(
      ended.map((t) => [t?.status, t?.code]),
      [
        ['Failed', 'InvalidFile.Media'],
        ['Failed', 'ResourceNotFound'],
      ],
    );
  });
});
