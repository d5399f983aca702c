import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inspectAnimation } from '../local/inspect';
import { startTestStack, type TestStack } from './helpers/stack';

/** A rule with engine oss: one x-oss-async-process POST per output, recorded and tagged like the IMM path. */
const RULES = JSON.stringify([
  {
    name: 'oss-preview',
    prefix: 'videos/',
    engine: 'oss',
    tags: { via: 'oss' },
    outputs: [
      { format: 'gif', key: 'previews/{barename}', width: 160, height: 90, scaleType: 'stretch', interval: 0.5, frameRate: 4, maxFrames: 20 },
      { format: 'webp', key: 'previews/{barename}', width: 0.5, height: 0.5, interval: 0.25, frameRate: 8, duration: 2 },
    ],
  },
]);

describe('engine oss on the local stack', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ functionEnv: { RULES } });
  });
  after(async () => stack?.stop());

  it('produces, records and tags a GIF and a WebP through OSS async processing', async () => {
    const key = 'videos/clips/surf.mp4';
    await stack.client.put(key, await stack.sampleVideo(4));
    await stack.idle();

    const record = await stack.recordFor(key, 'oss-preview');
    assert.equal(record?.status, 'succeeded', JSON.stringify(record?.error));
    assert.equal(record.engine, 'oss');
    const [gifOutput, webpOutput] = record.outputs;
    assert.deepEqual([gifOutput?.key, webpOutput?.key], ['previews/surf.gif', 'previews/surf.webp']);
    assert.ok(gifOutput?.taskId && webpOutput?.taskId && gifOutput.taskId !== webpOutput.taskId, 'one task per output');

    const gif = await inspectAnimation((await stack.client.get('previews/surf.gif')).content as Buffer);
    assert.deepEqual([gif.format, gif.width, gif.height], ['gif', 160, 90]);
    assert.ok(Math.abs(gif.frames - 8) <= 1, `4 s every 0.5 s: ~8 frames, got ${gif.frames}`);
    assert.ok(gif.delaysMs.every((d) => d === 250));

    const webp = await inspectAnimation((await stack.client.get('previews/surf.webp')).content as Buffer);
    assert.deepEqual([webp.format, webp.width, webp.height], ['webp', 320, 180]);
    assert.equal(webp.frames, 8, 'duration 2 s every 0.25 s is num_8');

    const tags = (await stack.client.getObjectTagging('previews/surf.webp')).tag;
    assert.deepEqual(tags, { source: key, rule: 'oss-preview', job: record.jobId, task: webpOutput.taskId, format: 'webp', via: 'oss' });

    const tasks = stack.imm.tasks().filter((t) => JSON.stringify(t.requestedSources).includes('clips/surf'));
    assert.equal(tasks.length, 2, 'one async-process task per output, no more');
  });
});

describe('engine oss on a bucket with no IMM project attached', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ functionEnv: { RULES }, bucketsWithoutImm: ['my-video-bucket'] });
  });
  after(async () => stack?.stop());

  it('fails the job with a message saying how to attach one', async () => {
    const key = 'videos/unattached.mp4';
    await stack.client.put(key, await stack.sampleVideo(1));
    await stack.idle();
    const record = await stack.recordFor(key, 'oss-preview');
    assert.equal(record?.status, 'failed');
    assert.match(record.error?.message ?? '', /AttachOSSBucket/);
    assert.equal(stack.failures().length, 0, 'a permanent error is not retried into the onFailure destination');
    assert.ok(stack.logs().some((l) => l.line.includes('AttachOSSBucket')), 'the log line says how to fix it');
  });
});
