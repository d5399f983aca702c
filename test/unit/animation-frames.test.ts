import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { countAnimationFrames } from '../../shared/media/animation-frames';

/** Animations made by sharp (libvips), whose own frame count is the reference the hand-written counter must match. */
async function animation(format: 'gif' | 'webp', frames: number, options: { width?: number; colours?: boolean } = {}): Promise<Buffer> {
  const width = options.width ?? 24;
  const height = 16;
  const pixels = Buffer.alloc(width * height * frames * 3);
  // Every frame different (and with options.colours, many colours, so GIF image data holds bytes like 0x2c and 0x3b).
  for (let i = 0; i < pixels.length; i++) pixels[i] = options.colours ? (i * 37 + Math.floor(i / 97)) % 256 : Math.floor(i / (width * height * 3)) * 40;
  const image = sharp(pixels, { raw: { width, height: height * frames, channels: 3, pageHeight: height } });
  return format === 'gif' ? image.gif({ delay: Array(frames).fill(100), loop: 0 }).toBuffer() : image.webp({ delay: Array(frames).fill(100), loop: 0 }).toBuffer();
}

async function sharpPages(image: Buffer): Promise<number> {
  return (await sharp(image, { animated: true }).metadata()).pages ?? 1;
}

describe('countAnimationFrames', () => {
  for (const format of ['gif', 'webp'] as const) {
    for (const frames of [1, 2, 12, 48]) {
      it(`${format}, ${frames} frames: as many as sharp sees`, async () => {
        const image = await animation(format, frames, { colours: true });
        assert.equal(countAnimationFrames(image), await sharpPages(image));
        assert.equal(countAnimationFrames(image), frames);
      });
    }
  }

  it('a GIF with a local colour table per frame', async () => {
    const image = await sharp(await animation('gif', 5, { colours: true }), { animated: true }).gif({ reuse: false, colours: 64 }).toBuffer();
    assert.equal(countAnimationFrames(image), await sharpPages(image));
  });

  it('a still WebP is one frame', async () => {
    const still = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } }).webp().toBuffer();
    assert.equal(countAnimationFrames(still), 1);
    const lossless = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } }).webp({ lossless: true }).toBuffer();
    assert.equal(countAnimationFrames(lossless), 1);
  });

  it('anything else, or a GIF cut short, is undefined', async () => {
    const gif = await animation('gif', 3);
    assert.equal(countAnimationFrames(gif.subarray(0, gif.length - 1)), undefined, 'no trailer');
    assert.equal(countAnimationFrames(Buffer.from('not an image at all')), undefined);
    assert.equal(countAnimationFrames(Buffer.from('GIF89a')), undefined);
    const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#000' } }).png().toBuffer();
    assert.equal(countAnimationFrames(png), undefined);
    const corrupt = Buffer.from(gif);
    corrupt[13 + 3 * 2 ** ((corrupt[10]! & 7) + 1)] = 0x99;
    assert.equal(countAnimationFrames(corrupt), undefined, 'an unknown block');
  });
});
