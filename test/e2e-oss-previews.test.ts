import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { darkThenPatternVideo, imageStats } from './helpers/dark-video';
import { startTestStack, type TestStack } from './helpers/stack';

/**
 * A storyboard with engine oss end to end: one x-oss-async-process `video/sprite` (one sheet) beside the animation's
 * `video/animation`, each its own task, run by the local OSS's async processing on the local IMM, noticed through
 * MNS and recorded by the built record function, which writes the WebVTT file.
 */
const RULES = [
  {
    name: 'oss-kit',
    prefix: 'videos/',
    engine: 'oss',
    tags: { via: 'oss' },
    outputs: [
      { format: 'gif', key: 'previews/{barename}', width: 80, frames: 6 },
      { kind: 'storyboard', key: 'boards/{barename}', frames: 12, columns: 4, rows: 3, width: 64 },
    ],
  },
];
const KEY = 'videos/dark.mp4';
const BLACK_SECONDS = 2;
/** 320x180 video, 64 px tiles: 36 px high; 4 x 3 tiles with IMM's default margin and pad of 2. */
const SHEET = { width: 2 * 2 + 4 * 64 + 3 * 2, height: 2 * 2 + 3 * 36 + 2 * 2 };

let stack: TestStack;

before(async () => {
  stack = await startTestStack({ functionEnv: { RULES: JSON.stringify(RULES) } });
  // Two seconds of black, then a test pattern: tiles over the black part are black, the others have a picture.
  await stack.client.put(KEY, await darkThenPatternVideo(stack.dir, BLACK_SECONDS));
  await stack.idle();
});
after(async () => stack?.stop());

describe('a storyboard with engine oss', () => {
  it('one video/sprite task makes the sheet; the job records the animation and the storyboard with its sheet', async () => {
    const record = await stack.recordFor(KEY, 'oss-kit');
    assert.equal(record?.status, 'succeeded', JSON.stringify(record?.error));
    assert.equal(record.engine, 'oss');
    assert.deepEqual(
      record.outputs.map((o) => [o.kind ?? 'animation', o.key, o.format, o.files]),
      [
        ['animation', 'previews/dark.gif', 'gif', undefined],
        ['storyboard', 'boards/dark.vtt', 'jpg', ['boards/dark.jpg']],
      ],
    );
    const [animation, board] = record.outputs;
    assert.ok(animation?.taskId && board?.taskId && animation.taskId !== board.taskId, 'one task per output');
    assert.deepEqual(Object.keys(board.fileBytes ?? {}), ['boards/dark.jpg']);

    const tasks = stack.imm.tasks().filter((t) => JSON.stringify(t.requestedSources).includes(KEY));
    assert.equal(tasks.length, 2, 'two async-process tasks, no more');
    const sprite = tasks.find((t) => t.taskId === board.taskId);
    assert.deepEqual(sprite?.requestedTargets, [
      { Image: { Sprites: [{ Format: 'jpg', URI: 'oss://my-video-bucket/boards/dark.jpg', Mode: 'average', Number: 12, ScaleWidth: 64, ScaleHeight: 36, TileWidth: 4, TileHeight: 3, Margin: 2, Pad: 2 }] } },
    ]);
  });

  it('the sheet has the layout asked for, and the WebVTT cues cover the whole video with tiles that match it', async () => {
    const sheet = (await stack.client.get('boards/dark.jpg')).content as Buffer;
    const { width, height } = await sharp(sheet).metadata();
    assert.deepEqual({ width, height }, SHEET);

    const vtt = ((await stack.client.get('boards/dark.vtt')).content as Buffer).toString('utf8');
    const cues = [...vtt.matchAll(/^(\S+) --> (\S+)\n(\S+)#xywh=(\d+),(\d+),(\d+),(\d+)$/gm)];
    assert.equal(cues.length, 12);
    assert.equal(cues[0]![1], '00:00:00.000');
    const record = (await stack.recordFor(KEY, 'oss-kit'))!;
    assert.equal(cues.at(-1)![2], `00:00:0${record.media!.duration.toFixed(3)}`);
    for (const [i, cue] of cues.entries()) {
      if (i > 0) assert.equal(cue[1], cues[i - 1]![2], `cue ${i} starts where cue ${i - 1} ends`);
    }
    const black: number[] = [];
    for (const [i, [, start, , name, x, y, w, h]] of cues.entries()) {
      assert.equal(name, 'dark.jpg');
      const middle = Number(start!.slice(6)) + record.media!.duration / 24;
      const tile = await imageStats(sheet, { left: Number(x), top: Number(y), width: Number(w), height: Number(h) });
      if (middle < BLACK_SECONDS - 0.2) {
        assert.ok(tile.mean < 8, `the tile at ${middle.toFixed(2)} s is black`);
        black.push(i);
      }
      if (middle > BLACK_SECONDS + 0.2) assert.ok(tile.spread > 20, `the tile at ${middle.toFixed(2)} s has a picture`);
    }
    assert.deepEqual(black, [0, 1, 2, 3], 'the first 4 of 12 tiles (2 s of 6) are the black opening');
  });

  it('every file is tagged and served with its own Content-Type', async () => {
    const record = (await stack.recordFor(KEY, 'oss-kit'))!;
    const board = record.outputs[1]!;
    for (const [key, type] of [
      ['previews/dark.gif', 'image/gif'],
      ['boards/dark.jpg', 'image/jpeg'],
      ['boards/dark.vtt', 'text/vtt'],
    ] as const) {
      const head = await stack.client.head(key);
      assert.equal((head.res.headers as Record<string, string>)['content-type'], type, key);
      const tags = (await stack.client.getObjectTagging(key)).tag;
      assert.equal(tags.source, KEY, `${key} names its source`);
      assert.equal(tags.via, 'oss', `${key} carries the rule's tags`);
      if (key !== 'previews/dark.gif') assert.deepEqual([tags.kind, tags.task], ['storyboard', board.taskId], `${key} names its kind and task`);
    }
  });
});
