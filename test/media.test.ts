import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { type AnimationFormat, type AnimationSpec, generateSampleVideo, MediaError, planGeometry, probeVideo, renderAnimation } from '@video-animation/local-cloud';

let dir: string;
let video: string;
let outputs = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-test-'));
  video = join(dir, 'source.mp4');
  await generateSampleVideo(video, { seconds: 4, width: 320, height: 240, fps: 25 });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function render(spec: AnimationSpec) {
  const output = join(dir, `out-${outputs++}.${spec.format}`);
  const result = await renderAnimation(video, output, spec);
  const metadata = await sharp(output, { animated: true }).metadata();
  return { result, metadata };
}

describe('probeVideo', () => {
  test('reads size, duration and frame rate', async () => {
    assert.deepEqual(await probeVideo(video), { width: 320, height: 240, durationSeconds: 4, streamDuration: true, frameRate: 25, videoStartSeconds: 0 });
  });

  test('an undecodable file is a MediaError UndecodableMedia', async () => {
    const junk = join(dir, 'junk.mp4');
    await writeFile(junk, randomBytes(4096));
    await assert.rejects(probeVideo(junk), (error) => error instanceof MediaError && error.code === 'UndecodableMedia');
    await assert.rejects(
      renderAnimation(junk, join(dir, 'junk.gif'), { format: 'gif' }),
      (error) => error instanceof MediaError && error.code === 'UndecodableMedia',
    );
  });
});

describe('planGeometry', () => {
  const source = { width: 320, height: 240 };
  test('defaults to the source size', () => {
    assert.deepEqual(planGeometry(source, {}), { scaledWidth: 320, scaledHeight: 240, width: 320, height: 240, fitting: 'none' });
  });
  test('one dimension keeps the aspect ratio for the other', () => {
    assert.equal(planGeometry(source, { width: 160 }).height, 120);
    assert.equal(planGeometry(source, { height: 60 }).width, 80);
    assert.equal(planGeometry(source, { width: 0.25 }).height, 60);
  });
  test('crop scales to cover, fill and fit scale to fit inside', () => {
    assert.deepEqual(planGeometry(source, { width: 100, height: 100, scaleType: 'crop' }), {
      scaledWidth: 133, scaledHeight: 100, width: 100, height: 100, fitting: 'crop',
    });
    assert.deepEqual(planGeometry(source, { width: 100, height: 100, scaleType: 'fill' }), {
      scaledWidth: 100, scaledHeight: 75, width: 100, height: 100, fitting: 'pad',
    });
    assert.deepEqual(planGeometry(source, { width: 100, height: 100, scaleType: 'fit' }), {
      scaledWidth: 100, scaledHeight: 75, width: 100, height: 75, fitting: 'none',
    });
  });
});

for (const format of ['gif', 'webp'] as const satisfies readonly AnimationFormat[]) {
  describe(`renderAnimation to ${format}`, () => {
    const expectedSizes = { stretch: [100, 100], crop: [100, 100], fill: [100, 100], fit: [100, 75] } as const;
    for (const [scaleType, [width, height]] of Object.entries(expectedSizes)) {
      test(`scaleType ${scaleType} into 100x100 gives ${width}x${height}`, async () => {
        const { result, metadata } = await render({ format, width: 100, height: 100, scaleType: scaleType as keyof typeof expectedSizes, interval: 1 });
        assert.equal(metadata.format, format);
        assert.deepEqual([metadata.width, metadata.pageHeight], [width, height]);
        assert.deepEqual([result.width, result.height], [width, height]);
        assert.equal(result.frames, 4);
        assert.equal(metadata.pages, 4);
      });
    }

    test('fill pads with black bars', async () => {
      const output = join(dir, `fill-${format}.${format}`);
      await renderAnimation(video, output, { format, width: 100, height: 100, scaleType: 'fill', number: 1 });
      const { data, info } = await sharp(output).raw().toBuffer({ resolveWithObject: true });
      const pixel = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
      for (const channel of pixel(50, 3)) assert.ok(channel < 16, `top bar pixel ${pixel(50, 3)} is black`);
      for (const channel of pixel(50, 96)) assert.ok(channel < 16, `bottom bar pixel ${pixel(50, 96)} is black`);
    });

    test('a ratio of 0.5 halves the source: 160x120', async () => {
      const { result, metadata } = await render({ format, width: 0.5, height: 0.5, interval: 2 });
      assert.deepEqual([metadata.width, metadata.pageHeight, result.width, result.height], [160, 120, 160, 120]);
    });

    test('interval 0.5 with frameRate 10: 8 frames of 100 ms, looping forever', async () => {
      const { result, metadata } = await render({ format, width: 64, height: 48, interval: 0.5, frameRate: 10 });
      assert.equal(result.frames, 8);
      assert.equal(metadata.pages, 8);
      assert.deepEqual(metadata.delay, Array(8).fill(100));
      assert.equal(metadata.loop, 0);
      assert.ok(result.bytes > 0);
    });

    test('frameRate defaults to 1/interval', async () => {
      const { metadata } = await render({ format, width: 32, height: 24, interval: 0.5 });
      assert.deepEqual(metadata.delay, Array(8).fill(500));
    });

    test('an interval below the source frame interval falls back to every source frame', async () => {
      const { result, metadata } = await render({ format, width: 32, height: 24, interval: 0.01, startTime: 3 });
      assert.equal(result.frames, 25);
      assert.deepEqual(metadata.delay, Array(25).fill(40));
    });

    test('number caps the frame count', async () => {
      const { result, metadata } = await render({ format, width: 32, height: 24, interval: 0.5, number: 3 });
      assert.equal(result.frames, 3);
      assert.equal(metadata.pages, 3);
    });

    test('startTime, sourceStartTime and sourceDuration trim the sampled range', async () => {
      assert.equal((await render({ format, width: 32, height: 24, interval: 0.5, startTime: 1 })).result.frames, 6);
      assert.equal((await render({ format, width: 32, height: 24, interval: 0.5, sourceStartTime: 1, sourceDuration: 2 })).result.frames, 4);
      const combined = await render({ format, width: 32, height: 24, interval: 0.5, sourceStartTime: 1, sourceDuration: 2, startTime: 0.5 });
      assert.equal(combined.result.frames, 3);
      assert.equal(combined.metadata.pages, 3);
    });

    test('a start past the end selects nothing: MediaError EmptySelection', async () => {
      await assert.rejects(
        render({ format, interval: 1, startTime: 5 }),
        (error) => error instanceof MediaError && error.code === 'EmptySelection',
      );
    });
  });
}
