import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OSS from 'ali-oss';
import sharp from 'sharp';
import { startLocalImm, type LocalImm } from '../src/imm/server';
import { INCOMPLETE_MEDIA_CODE } from '../src/imm/tasks';
import { ffmpegPath, generateSampleVideo, readClockFrames } from '../src/media';
import { runProcess } from '../src/media/ffmpeg';
import { ossClientOptions, startLocalOss, type LocalOss } from '../src/oss/server';
import { immCaller, type ImmCaller } from './helpers/imm-openapi-client';

// Sources in the shapes that made the local IMM convert unlike IMM (issue 19), made here with ffmpeg: a coarse
// time base (AVI at 10 fps: 1/10 s ticks), an FLV whose video starts 1.8 s after its audio, non-square pixels
// (SAR 64:45, shown 16:9), an MP4 cut in half, and a WebM whose audio outlasts its video (whole, not cut). Each
// goes through CreateMediaConvertTask as the app sends it.
const REGION = 'cn-hangzhou';
const PROJECT = 'video-animation';
const BUCKET = 'media-bkt';
const KEY = { accessKeyId: 'LTAI5tLocalTestKey', accessKeySecret: 'local-test-secret' };
const FPS = 5;

let dir: string;
let oss: LocalOss;
let imm: LocalImm;
let call: ImmCaller;
let client: OSS;

const ffmpeg = (...args: string[]) => runProcess(ffmpegPath(), ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args]);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-sources-test-'));
  oss = await startLocalOss({ storage: 'memory', region: REGION, accountId: '1234567890', buckets: [BUCKET], credentials: [KEY] });
  imm = await startLocalImm({
    region: REGION,
    accountId: '1234567890',
    credentials: [KEY],
    projects: [PROJECT],
    oss: { endpoint: oss.endpoint, ...KEY },
    publish: async () => undefined,
    workDir: join(dir, 'imm'),
    concurrency: 2,
  });
  call = immCaller({ endpoint: imm.endpoint, regionId: REGION, ...KEY });
  client = new OSS(ossClientOptions(oss, BUCKET, KEY));

  const clock = join(dir, 'clock.mp4');
  await generateSampleVideo(clock, { seconds: 8, width: 64, height: 32, fps: FPS, pattern: 'clock' });
  await ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=4', '-c:v', 'mpeg4', '-f', 'avi', join(dir, 'coarse.avi'));
  await ffmpeg(
    '-itsoffset', '1.8', '-i', clock, '-f', 'lavfi', '-i', 'anullsrc=r=22050:cl=mono', '-t', '9.8',
    '-map', '0:v', '-map', '1:a', '-c:v', 'flv1', '-q:v', '2', '-c:a', 'adpcm_swf', '-f', 'flv', join(dir, 'late-video.flv'),
  );
  await ffmpeg(
    '-f', 'lavfi', '-i', 'testsrc=size=180x144:rate=5:duration=1', '-vf', 'setsar=64/45',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-f', 'mp4', join(dir, 'non-square.mp4'),
  );
  const whole = join(dir, 'whole.mp4');
  await ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=4', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-f', 'mp4', whole);
  const bytes = await readFile(whole);
  await writeFile(join(dir, 'truncated.mp4'), bytes.subarray(0, Math.floor(bytes.length / 2)));
  assert.ok((await stat(join(dir, 'truncated.mp4'))).size < bytes.length);

  await ffmpeg(
    '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10:duration=3', '-f', 'lavfi', '-i', 'sine=duration=6',
    '-map', '0:v', '-map', '1:a', '-c:v', 'libvpx', '-c:a', 'libvorbis', '-f', 'webm', join(dir, 'long-audio.webm'),
  );
  for (const name of ['clock.mp4', 'coarse.avi', 'late-video.flv', 'non-square.mp4', 'truncated.mp4', 'long-audio.webm']) await client.put(`videos/${name}`, join(dir, name));
});

after(async () => {
  await imm.close();
  await oss.close();
  await rm(dir, { recursive: true, force: true });
});

async function convert(source: string, animation: Record<string, unknown>) {
  const key = `out/${source}-${JSON.stringify(animation).replace(/\W+/g, '')}.${String(animation.Format)}`;
  const created = await call('CreateMediaConvertTask', {
    ProjectName: PROJECT,
    Sources: [{ URI: `oss://${BUCKET}/videos/${source}` }],
    Targets: [{ Image: { Animations: [{ URI: `oss://${BUCKET}/${key}`, ...animation }] } }],
  });
  await imm.idle();
  const task = imm.tasks().find((t) => t.taskId === created.TaskId)!;
  return { task, content: async () => (await client.get(key)).content as Buffer };
}

describe('local IMM: sources whose timing or pixels are unusual convert as they play', () => {
  for (const format of ['gif', 'webp'] as const) {
    test(`${format}: a 10 fps AVI (time base 1/10) sampled every 1/3 s at 6 fps gets even frame delays`, async () => {
      const { task, content } = await convert('coarse.avi', { Format: format, Interval: 1 / 3, FrameRate: 6, Number: 24 });
      assert.equal(task.status, 'Succeeded', task.message);
      const { delay, pages } = await sharp(await content(), { animated: true }).metadata();
      assert.equal(pages, 12);
      // 1000/6 ms: GIF stores centiseconds (160 or 170), WebP milliseconds (166 or 167). Before: 170,160,10,330,...
      const allowed = format === 'gif' ? [160, 170] : [166, 167];
      assert.deepEqual(delay?.filter((ms) => !allowed.includes(ms)), [], `delays ${delay?.join(',')}`);
    });
  }

  test('an FLV whose video starts 1.8 s after its audio gives every frame from the video start', async () => {
    const { task, content } = await convert('late-video.flv', { Format: 'gif', Interval: 1, Number: 8 });
    assert.equal(task.status, 'Succeeded', task.message);
    assert.deepEqual(await readClockFrames(await content(), FPS), [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  test('snapshots of that FLV count from its video start too: StartTime 0 is its first frame, StartTime 3 its 3 s', async () => {
    const snapshot = (at: number) => ({ Format: 'png', URI: `oss://${BUCKET}/out/late-video-at-${at}.png`, StartTime: at, Number: 1 });
    const created = await call('CreateMediaConvertTask', {
      ProjectName: PROJECT,
      Sources: [{ URI: `oss://${BUCKET}/videos/late-video.flv` }],
      Targets: [{ Image: { Snapshots: [snapshot(0), snapshot(3)] } }],
    });
    await imm.idle();
    const task = imm.tasks().find((t) => t.taskId === created.TaskId)!;
    assert.equal(task.status, 'Succeeded', task.message);
    const frames = await Promise.all([0, 3].map(async (at) => readClockFrames((await client.get(`out/late-video-at-${at}.png`)).content as Buffer, FPS)));
    assert.deepEqual(frames, [[0], [3]]);
  });

  test('Snapshots take the frame at each Interval (interval mode) or in the middle of Number equal slices (average)', async () => {
    const created = await call('CreateMediaConvertTask', {
      ProjectName: PROJECT,
      Sources: [{ URI: `oss://${BUCKET}/videos/clock.mp4` }],
      Targets: [
        {
          Image: {
            Snapshots: [
              { Format: 'png', URI: `oss://${BUCKET}/out/clock-interval-{index}.png`, Interval: 3, Number: 3 },
              { Format: 'png', URI: `oss://${BUCKET}/out/clock-average-{index}.png`, Mode: 'average', Number: 4 },
            ],
          },
        },
      ],
    });
    await imm.idle();
    const task = imm.tasks().find((t) => t.taskId === created.TaskId)!;
    assert.equal(task.status, 'Succeeded', task.message);
    const read = (name: string, count: number) =>
      Promise.all(Array.from({ length: count }, async (_, i) => (await readClockFrames((await client.get(`out/clock-${name}-${i + 1}.png`)).content as Buffer, FPS))[0]));
    // Before: ffmpeg's fps filter gave the last frame of each slot (1.4, 4.4, 7.4 s).
    assert.deepEqual(await read('interval', 3), [0, 3, 6]);
    assert.deepEqual(await read('average', 4), [1, 3, 5, 7]);
  });

  test('720x576-like pixels with SAR 64:45 come out at the display ratio 16:9, not squeezed to 5:4', async () => {
    const { task, content } = await convert('non-square.mp4', { Format: 'webp' });
    assert.equal(task.status, 'Succeeded', task.message);
    const { width, pageHeight } = await sharp(await content(), { animated: true }).metadata();
    assert.deepEqual([width, pageHeight], [256, 144]);
    assert.deepEqual([task.outputs[0]?.width, task.outputs[0]?.height], [256, 144]);
  });

  test('a WebM whose audio runs 3 s past its video is whole: every video frame, no failure', async () => {
    const { task } = await convert('long-audio.webm', { Format: 'gif', Interval: 0.1 });
    assert.equal(task.status, 'Succeeded', task.message);
    assert.equal(task.outputs[0]?.frames, 30);
  });

  test(`an MP4 cut in half fails with ${INCOMPLETE_MEDIA_CODE} instead of succeeding with half its frames`, async () => {
    const { task } = await convert('truncated.mp4', { Format: 'gif', Interval: 0.1 });
    assert.equal(task.status, 'Failed');
    assert.equal(task.code, INCOMPLETE_MEDIA_CODE);
    assert.match(task.message, /of the 40 planned frames/);
  });
});
