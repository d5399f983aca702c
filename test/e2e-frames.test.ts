import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inspectAnimation } from '../local/inspect';
import { generateSampleVideo, readClockFrames } from '@video-animation/local-cloud';
import { startTestStack, type TestStack } from './helpers/stack';

/**
 * Whole-video previews end to end: a 60 s video whose frames show their own time (a "clock" video), a `frames: 12`
 * budget, both engines. The animation must have exactly 12 frames, the first from the start of the video and the
 * last from its end, evenly spaced.
 */
const FPS = 5;
const rules = [
  { name: 'imm-summary', prefix: 'videos/', outputs: [{ format: 'gif', key: 'summaries/imm/{basename}', frames: 12, frameRate: 4 }] },
  { name: 'oss-summary', prefix: 'videos/', engine: 'oss', outputs: [{ format: 'webp', key: 'summaries/oss/{basename}', frames: 12 }] },
];

describe('frames: 12 over a 60 s video', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ functionEnv: { RULES: JSON.stringify(rules) } });
    const video = path.join(stack.dir, 'clock.mp4');
    await generateSampleVideo(video, { seconds: 60, width: 96, height: 48, fps: FPS, pattern: 'clock' });
    await stack.client.put('videos/clock.mp4', video);
    await stack.idle();
  });
  after(async () => stack?.stop());

  // The imm rule plays at its own 4 fps; the oss rule at the default loop rate for 12 frames, 3 fps.
  const cases = [
    ['imm-summary', 'summaries/imm/clock.mp4.gif', [250]],
    ['oss-summary', 'summaries/oss/clock.mp4.webp', [333, 334]],
  ] as const;
  for (const [rule, key, delays] of cases) {
    it(`${rule}: exactly 12 frames, from the start to the end of the video, every 5 s`, async () => {
      const record = await stack.recordFor('videos/clock.mp4', rule);
      assert.equal(record?.status, 'succeeded', JSON.stringify(record?.error));
      assert.deepEqual(record.outputs.map((o) => o.plannedFrames), [12]);
      const image = (await stack.client.get(key)).content as Buffer;
      const times = await readClockFrames(image, FPS);
      assert.deepEqual(times, [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]);
      const facts = await inspectAnimation(image);
      assert.equal(facts.frames, 12);
      assert.ok(facts.delaysMs.every((d) => (delays as readonly number[]).includes(d)), facts.delaysMs.join(','));
    });
  }
});
