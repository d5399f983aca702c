/**
 * Posters and storyboards end to end through the app's own IMM client and request building against the local IMM
 * (ffmpeg): a video that starts black gets a poster that is not black, and a storyboard whose sheets hold the tiles
 * where the app's layout (and so its WebVTT) says they are.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { createImmClient, type ImmApi } from '../shared/clients/imm';
import { immMediaProbe, immPreviewImage, immTaskRequest } from '../shared/engines/imm';
import { planJob, samplePlan } from '../shared/jobs/plan';
import type { MediaInfo } from '../shared/jobs/sampling';
import { choosePoster } from '../shared/media/poster';
import { planPreviews, type PlannedPoster, type PlannedStoryboard } from '../shared/media/previews';
import { sheetSize, storyboardVtt, tileAt } from '../shared/media/storyboard';
import { RuleSchema } from '../shared/rules/schema';
import { ffmpegPath, ossClientOptions, startLocalImm, startLocalOss, type LocalImm, type LocalOss } from '@video-animation/local-cloud';
import OSS from 'ali-oss';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const runProcess = async (binary: string, args: string[]) => ({ stdout: (await promisify(execFile)(binary, args, { encoding: 'buffer', maxBuffer: 64 << 20 })).stdout });

const REGION = 'cn-hangzhou';
const PROJECT = 'video-animation';
const BUCKET = 'media-bkt';
const KEY = { accessKeyId: 'LTAI-local-key', accessKeySecret: 'local-secret' };
const BLACK_SECONDS = 2;
const SECONDS = 6;

let dir: string;
let oss: LocalOss;
let ossClient: OSS;
const stored = new Map<string, Buffer>();
let imm: LocalImm;
let client: ImmApi;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-imm-previews-'));
  const file = join(dir, 'dark.mp4');
  // prettier-ignore
  await runProcess(ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `color=black:s=320x180:r=25:d=${BLACK_SECONDS}`,
    '-f', 'lavfi', '-i', `testsrc2=s=320x180:r=25:d=${SECONDS - BLACK_SECONDS}`,
    '-filter_complex', '[0:v][1:v]concat=n=2:v=1[v]', '-map', '[v]', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', file,
  ]);
  oss = await startLocalOss({ storage: 'memory', region: REGION, accountId: '1234567890', buckets: [BUCKET], credentials: [KEY] });
  ossClient = new OSS(ossClientOptions(oss, BUCKET, KEY));
  await ossClient.put('videos/dark.mp4', await readFile(file));
  imm = await startLocalImm({
    region: REGION,
    accountId: '1234567890',
    credentials: [KEY],
    projects: [PROJECT],
    oss: { endpoint: oss.endpoint, ...KEY },
    publish: async () => {},
    workDir: join(dir, 'work'),
  });
  client = createImmClient({ region: REGION, credentials: KEY, endpoint: { protocol: 'http', host: imm.endpoint } });
});

after(async () => {
  await imm?.close();
  await oss?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Mean brightness (0-255, over the colour channels) and largest spread of an image region. */
async function regionStats(image: Buffer, region?: { left: number; top: number; width: number; height: number }): Promise<{ mean: number; spread: number }> {
  // stats() reads its input, not the pipeline: cut the region out first.
  const input = region ? await sharp(image).extract(region).toBuffer() : image;
  const { channels } = await sharp(input).stats();
  const colour = channels.slice(0, 3);
  return { mean: colour.reduce((sum, c) => sum + c.mean, 0) / colour.length, spread: Math.max(...colour.map((c) => c.stdev)) };
}

/** An object IMM wrote, read once the task has ended (see fetchOutputs). */
function object(key: string): Buffer {
  const body = stored.get(key);
  assert.ok(body, `expected oss://${BUCKET}/${key}`);
  return body;
}

/** Reads every object under a prefix into `stored`, for the synchronous checks below. */
async function fetchOutputs(prefix: string): Promise<void> {
  const page = await ossClient.list({ prefix, 'max-keys': 1000 }, {});
  for (const o of page.objects ?? []) stored.set(o.name, (await ossClient.get(o.name)).content as Buffer);
}

describe('posters and storyboards through the local IMM', () => {
  let media: MediaInfo;
  let poster: PlannedPoster;
  let storyboard: PlannedStoryboard;

  before(async () => {
    const rule = RuleSchema.parse({
      name: 'kit',
      prefix: 'videos/',
      outputs: [
        { format: 'gif', key: 'previews/{barename}', width: 80, frames: 6 },
        { kind: 'poster', key: 'posters/{barename}' },
        { kind: 'storyboard', key: 'boards/{barename}', frames: 12, columns: 4, rows: 2, width: 64, margin: 2, pad: 3 },
      ],
    });
    media = await immMediaProbe(client, PROJECT, (_service, operation) => operation()).probe(BUCKET, 'videos/dark.mp4');
    const plan = samplePlan(planJob({ bucket: BUCKET, key: 'videos/dark.mp4', eTag: 'E', size: 1 }, rule), media);
    const previews = planPreviews(rule, plan.source.key, media);
    [poster, storyboard] = previews as [PlannedPoster, PlannedStoryboard];
    const request = immTaskRequest(plan, { projectName: PROJECT, topicName: 'done' });
    Object.assign(request.Targets[0]!.Image, immPreviewImage(BUCKET, previews));
    const { TaskId } = await client.createMediaConvertTask(request);
    await imm.idle();
    const task = await client.getTask(PROJECT, TaskId);
    assert.equal(task.Status, 'Succeeded', `${task.Code}: ${task.Message}`);
    await Promise.all(['posters/', 'boards/'].map(fetchOutputs));
  });

  test('the automatic poster is not the black first frame', async () => {
    const firstFrame = (await runProcess(ffmpegPath(), ['-v', 'error', '-i', join(dir, 'dark.mp4'), '-frames:v', '1', '-f', 'image2pipe', '-c:v', 'png', '-'])).stdout;
    assert.ok(firstFrame.length > 0);
    const keys = poster.keys.candidates!.keys;
    assert.equal(keys.length, 5);
    const candidates = keys.map((key) => ({ key, bytes: object(key).length }));
    // Candidates sit in the middle of five 1.2 s slices: the first (0.6 s) is in the black opening.
    assert.ok((await regionStats(object(keys[0]!))).mean < 5, 'the first candidate is black');
    const chosen = choosePoster(candidates);
    assert.notEqual(chosen.key, keys[0]);
    const stats = await regionStats(object(chosen.key));
    assert.ok(stats.mean > 40 && stats.spread > 20, `the chosen poster has a picture (mean ${stats.mean}, spread ${stats.spread})`);
    assert.ok(chosen.bytes > 5 * candidates[0]!.bytes, `bytes ${candidates.map((c) => c.bytes).join(', ')}`);
  });

  test('the storyboard sheets hold each tile where the layout puts it, so the WebVTT cues point at the right frames', async () => {
    const { layout, keys } = storyboard;
    assert.deepEqual(keys.sheetKeys, ['boards/dark-1.jpg', 'boards/dark-2.jpg']);
    assert.equal(layout.tileHeight, 36);
    const sheets = keys.sheetKeys.map(object);
    for (const sheet of sheets) {
      const meta = await sharp(sheet).metadata();
      assert.deepEqual({ width: meta.width, height: meta.height }, sheetSize(layout));
    }
    const vtt = storyboardVtt(layout, media.duration);
    const cues = [...vtt.matchAll(/^(\S+) --> (\S+)\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$/gm)];
    assert.equal(cues.length, 12);
    assert.equal(cues[0]![1], '00:00:00.000');
    assert.equal(cues.at(-1)![2], `00:00:0${media.duration.toFixed(3)}`);
    for (const [k, cue] of cues.entries()) {
      const [, start, , sheetName, x, y, w, h] = cue;
      const tile = tileAt(layout, k);
      assert.equal(sheetName, layout.sheets[tile.sheet]);
      const seconds = Number(start!.slice(6));
      const middle = seconds + media.duration / 24;
      const stats = await regionStats(sheets[tile.sheet]!, { left: Number(x), top: Number(y), width: Number(w), height: Number(h) });
      if (middle < BLACK_SECONDS - 0.1) assert.ok(stats.mean < 8, `tile ${k} (${middle.toFixed(2)} s) is black, mean ${stats.mean}`);
      else if (middle > BLACK_SECONDS + 0.1) assert.ok(stats.spread > 20, `tile ${k} (${middle.toFixed(2)} s) has a picture, spread ${stats.spread}`);
    }
    // The second sheet holds 4 of its 8 slots; the rest stay empty.
    const empty = tileAt(layout, 8 + 4);
    assert.ok((await regionStats(sheets[1]!, { left: empty.x, top: empty.y, width: empty.w, height: empty.h })).spread < 3);
  });
});
