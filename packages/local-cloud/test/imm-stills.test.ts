import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MediaError } from '../src/media';
import { selectionFilter, stillLocation } from '../src/imm/stills';

const source = { bucket: 'bkt', key: 'videos/a b.mp4' };
const clip = { start: 0, end: 10, frameRate: 25 };
/** The first frame at or after each multiple of `seconds` from the seek point (ffmpeg select, commas escaped). */
const firstOfEach = (seconds: string) =>
  `select='if(isnan(prev_selected_t)\\,1\\,gt(floor(t/${seconds}+0.001)\\,floor(prev_selected_t/${seconds}+0.001)))',setpts=N/TB`;

describe('local IMM stills: frame selection and output names', () => {
  it('average: exactly Number frames, each in the middle of an equal slice', () => {
    assert.deepEqual(selectionFilter({ URI: 'x', Format: 'jpg', Mode: 'average', Number: 5 }, clip), { seek: 1, filter: firstOfEach('2'), maxFrames: 5 });
    assert.deepEqual(selectionFilter({ URI: 'x', Format: 'jpg', Mode: 'average', Number: 4, StartTime: 2 }, { ...clip, start: 1 }), { seek: 3.875, filter: firstOfEach('1.75'), maxFrames: 4 });
  });

  it('interval (the default): from StartTime every Interval seconds, never faster than the source', () => {
    assert.deepEqual(selectionFilter({ URI: 'x', Format: 'jpg', StartTime: 5, Number: 1 }, clip), { seek: 5, filter: firstOfEach('0.04'), maxFrames: 1 });
    assert.deepEqual(selectionFilter({ URI: 'x', Format: 'png', Interval: 2 }, clip), { seek: 0, filter: firstOfEach('2') });
  });

  it('keyframe and dhash select frames; a start past the end selects nothing', () => {
    assert.equal(selectionFilter({ URI: 'x', Format: 'jpg', Mode: 'keyframe' }, clip).filter, "select='eq(pict_type\\,I)',setpts=N/TB");
    assert.equal(selectionFilter({ URI: 'x', Format: 'jpg', Mode: 'dhash', Threshold: 25 }, clip).filter, "select='eq(n\\,0)+gt(scene\\,0.25)',setpts=N/TB");
    assert.throws(() => selectionFilter({ URI: 'x', Format: 'jpg', StartTime: 10 }, clip), (error: unknown) => error instanceof MediaError && error.code === 'EmptySelection');
  });

  it('expands {index} (from 1) beside the usual variables; doubled braces stay literal', () => {
    assert.deepEqual(stillLocation('oss://out/{dirname}/{barename}-{index}.{autoext}', source, 'jpg', 2, 'p'), { bucket: 'out', key: 'videos/a b-2.jpg' });
    assert.deepEqual(stillLocation('oss://out/{{index}}-{index}.jpg', source, 'jpg', 1, 'p'), { bucket: 'out', key: '{index}-1.jpg' });
    assert.throws(() => stillLocation('oss://out/{frame}.jpg', source, 'jpg', 1, 'Targets[0].Image.Sprites[0]'), /Targets\[0\]\.Image\.Sprites\[0\]\.URI has an unknown template variable \{frame\}/);
  });
});
