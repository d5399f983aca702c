import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { darkThenPatternVideo, imageStats } from './helpers/dark-video';
import { startTestStack, type TestStack } from './helpers/stack';

/**
 * The preview kit end to end: one upload, one rule with an animation, an automatic poster and a storyboard, one
 * IMM task (the local IMM renders stills and sheets with ffmpeg), recorded by the built record function.
 */
const RULES = [
  {
    name: 'kit',
    prefix: 'videos/',
    outputs: [
      { format: 'gif', key: 'previews/{barename}', width: 80, frames: 6 },
      { kind: 'poster', key: 'posters/{barename}', candidates: 5 },
      { kind: 'storyboard', key: 'boards/{barename}', frames: 12, columns: 4, rows: 2, width: 64 },
    ],
  },
];
const KEY = 'videos/dark.mp4';
const BLACK_SECONDS = 2;

let stack: TestStack;

before(async () => {
  stack = await startTestStack({ functionEnv: { RULES: JSON.stringify(RULES) } });
  // Two seconds of black, then a test pattern: the first frame of the video is black.
  await stack.client.put(KEY, await darkThenPatternVideo(stack.dir, BLACK_SECONDS));
  await stack.idle();
});
after(async () => stack?.stop());

describe('posters and storyboards beside the animations', () => {
  it('one task makes them all; the job records every output and its files', async () => {
    const record = await stack.recordFor(KEY, 'kit');
    assert.equal(record?.status, 'succeeded', JSON.stringify(record?.error));
    assert.equal(new Set(record.outputs.map((o) => o.taskId)).size, 1, 'one task');
    assert.deepEqual(
      record.outputs.map((o) => [o.kind ?? 'animation', o.key, o.format]),
      [
        ['animation', 'previews/dark.gif', 'gif'],
        ['poster', 'posters/dark.jpg', 'jpg'],
        ['storyboard', 'boards/dark.vtt', 'jpg'],
      ],
    );
    const board = record.outputs[2]!;
    assert.deepEqual(board.files, ['boards/dark-1.jpg', 'boards/dark-2.jpg']);
    assert.deepEqual(Object.keys(board.fileBytes ?? {}), board.files);
  });

  it('the poster is not the black first frame, and its candidates are gone', async () => {
    const poster = (await stack.client.get('posters/dark.jpg')).content as Buffer;
    const { mean, spread } = await imageStats(poster);
    assert.ok(mean > 40 && spread > 20, `the poster has a picture (mean ${mean}, spread ${spread})`);
    const left = await stack.client.list({ prefix: 'posters/dark-candidate-', 'max-keys': 10 }, {});
    assert.deepEqual(left.objects ?? [], []);
  });

  it('the WebVTT cues cover the whole video and point at tiles that match the sheets', async () => {
    const vtt = ((await stack.client.get('boards/dark.vtt')).content as Buffer).toString('utf8');
    const cues = [...vtt.matchAll(/^(\S+) --> (\S+)\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$/gm)];
    assert.equal(cues.length, 12);
    assert.equal(cues[0]![1], '00:00:00.000');
    const record = (await stack.recordFor(KEY, 'kit'))!;
    assert.equal(cues.at(-1)![2], `00:00:0${record.media!.duration.toFixed(3)}`);
    const sheets = new Map<string, Buffer>();
    for (const [, start, , sheet, x, y, w, h] of cues) {
      if (!sheets.has(sheet!)) sheets.set(sheet!, (await stack.client.get(`boards/${sheet}`)).content as Buffer);
      const middle = Number(start!.slice(6)) + record.media!.duration / 24;
      const tile = await imageStats(sheets.get(sheet!)!, { left: Number(x), top: Number(y), width: Number(w), height: Number(h) });
      if (middle < BLACK_SECONDS - 0.2) assert.ok(tile.mean < 8, `the tile at ${middle.toFixed(2)} s is black`);
      if (middle > BLACK_SECONDS + 0.2) assert.ok(tile.spread > 20, `the tile at ${middle.toFixed(2)} s has a picture`);
    }
  });

  it('every file is tagged and served with its own Content-Type', async () => {
    for (const [key, type] of [
      ['previews/dark.gif', 'image/gif'],
      ['posters/dark.jpg', 'image/jpeg'],
      ['boards/dark-1.jpg', 'image/jpeg'],
      ['boards/dark-2.jpg', 'image/jpeg'],
      ['boards/dark.vtt', 'text/vtt'],
    ] as const) {
      const head = await stack.client.head(key);
      assert.equal((head.res.headers as Record<string, string>)['content-type'], type, key);
      const tags = (await stack.client.getObjectTagging(key)).tag;
      assert.ok(Object.values(tags).includes(KEY), `${key} names its source in its tags`);
    }
  });
});
