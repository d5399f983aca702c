import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { describeOutputFile, outputFileKeys } from '../../local/inspect';

describe('what the demo and npm start list for an output', () => {
  it('every file: a storyboard its sheets then its WebVTT file, any other output its key', () => {
    assert.deepEqual(outputFileKeys({ key: 'boards/a.vtt', kind: 'storyboard', files: ['boards/a-1.jpg', 'boards/a-2.jpg'] }), ['boards/a-1.jpg', 'boards/a-2.jpg', 'boards/a.vtt']);
    assert.deepEqual(outputFileKeys({ key: 'posters/a.jpg', kind: 'poster' }), ['posters/a.jpg']);
    assert.deepEqual(outputFileKeys({ key: 'animations/a.gif' }), ['animations/a.gif']);
  });

  it('an image by format, size and frames; a WebVTT file by its cues; nothing usable in an empty one', async () => {
    const jpeg = await sharp({ create: { width: 64, height: 36, channels: 3, background: '#336699' } }).jpeg().toBuffer();
    assert.deepEqual(await describeOutputFile('posters/a.jpg', jpeg), { line: `jpeg 64x36, 1 frame, ${jpeg.length} bytes`, usable: true });
    const vtt = Buffer.from('WEBVTT\n\n00:00:00.000 --> 00:00:01.000\na-1.jpg#xywh=0,0,64,36\n\n00:00:01.000 --> 00:00:02.000\na-1.jpg#xywh=64,0,64,36\n');
    assert.deepEqual(await describeOutputFile('boards/a.vtt', vtt), { line: `WebVTT, 2 cues, ${vtt.length} bytes`, usable: true });
    assert.equal((await describeOutputFile('boards/a.vtt', Buffer.from('WEBVTT\n'))).usable, false);
  });
});
