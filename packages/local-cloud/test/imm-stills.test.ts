import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { fastStills, UnplannableStillError } from '../src/imm/fast-stills';
import { plannedStillFrames, renderStill, selectionFilter, stillLocation, type StillTarget } from '../src/imm/stills';
import { generateSampleVideo, MediaError, probeVideo } from '../src/media';

const source = { bucket: 'bkt', key: 'videos/a b.mp4' };
const clip = { start: 0, end: 10, frameRate: 25 };
/** The first frame at or after each multiple of `seconds` from the seek point (ffmpeg select, commas escaped). */
const firstOfEach = (seconds: string) =>
  `select='if(isnan(prev_selected_t)\\,1\\,gt(floor(t/${seconds}+0.001)\\,floor(prev_selected_t/${seconds}+0.001)))',setpts=N/TB`;

describe('local IMM stills: frame selection and output names', () => {
  it('average: exactly Number frames, each in the middle of an equal slice', () => {
    assert.deepEqual(selectionFilter({ URI: 'x', Format: 'jpg', Mode: 'average', Number: 5 }, clip), { seek: 1, filter: firstOfEach('2'), maxFrames: 5, bucketSeconds: 2 });
    assert.deepEqual(selectionFilter({ URI: 'x', Format: 'jpg', Mode: 'average', Number: 4, StartTime: 2 }, { ...clip, start: 1 }), { seek: 3.875, filter: firstOfEach('1.75'), maxFrames: 4, bucketSeconds: 1.75 });
  });

  it('interval (the default): from StartTime every Interval seconds, never faster than the source', () => {
    assert.deepEqual(selectionFilter({ URI: 'x', Format: 'jpg', StartTime: 5, Number: 1 }, clip), { seek: 5, filter: firstOfEach('0.04'), maxFrames: 1, bucketSeconds: 0.04 });
    assert.deepEqual(selectionFilter({ URI: 'x', Format: 'png', Interval: 2 }, clip), { seek: 0, filter: firstOfEach('2'), bucketSeconds: 2 });
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

describe('local IMM stills in the fast conversion mode', () => {
  let dir: string;
  let clipFile: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imm-stills-test-'));
    clipFile = join(dir, 'clip.mp4');
    await generateSampleVideo(clipFile, { seconds: 4, width: 320, height: 240, fps: 25 });
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('plans the frames the selection keeps: capped by Number and by the frames there are', () => {
    assert.equal(plannedStillFrames({ URI: 'x', Format: 'jpg', Mode: 'average', Number: 5 }, clip), 5);
    assert.equal(plannedStillFrames({ URI: 'x', Format: 'jpg', Interval: 2 }, clip), 5);
    assert.equal(plannedStillFrames({ URI: 'x', Format: 'jpg', Interval: 2, Number: 3 }, clip), 3);
    // Every frame (no Interval) in the last half second at 25 fps: 9.52 s to 9.96 s.
    assert.equal(plannedStillFrames({ URI: 'x', Format: 'jpg', StartTime: 9.5 }, clip), 12);
    // 1 s at 5 fps has 5 frames; 20 candidates seek to the middle of the first 0.05 s slice, past the frame at 0.
    assert.equal(plannedStillFrames({ URI: 'x', Format: 'jpg', Mode: 'average', Number: 20 }, { start: 0, end: 1, frameRate: 5 }), 4);
    assert.equal(plannedStillFrames({ URI: 'x', Format: 'jpg', Mode: 'keyframe' }, clip), undefined);
    assert.equal(plannedStillFrames({ URI: 'x', Format: 'jpg', Mode: 'dhash', Number: 3 }, clip), undefined);
  });

  it('writes the files ffmpeg writes for the same target: as many, as large, standing for as many frames', async () => {
    const source = await probeVideo(clipFile);
    const location = { bucket: 'bkt', key: 'videos/clip.mp4' };
    const stills: StillTarget[] = [
      { path: 'Snapshots[0]', kind: 'snapshot', target: { URI: 'oss://out/p/{barename}-{index}.jpg', Format: 'jpg', Mode: 'average', Number: 5, Width: 160 } },
      { path: 'Snapshots[1]', kind: 'snapshot', target: { URI: 'oss://out/at/{barename}.png', Format: 'png', StartTime: 1.3, Number: 1, Width: 64, Height: 64, ScaleType: 'fill' } },
      { path: 'Snapshots[2]', kind: 'snapshot', target: { URI: 'oss://out/i/{index}.jpg', Format: 'jpg', Interval: 0.7, StartTime: 0.5 } },
      // More candidates than the clip has frames (100): every frame from the first slice's middle on.
      { path: 'Snapshots[3]', kind: 'snapshot', target: { URI: 'oss://out/m/{index}.jpg', Format: 'jpg', Mode: 'average', Number: 150, Width: 16 } },
      { path: 'Sprites[0]', kind: 'sprite', target: { URI: 'oss://out/s/{barename}-{index}.jpg', Format: 'jpg', Mode: 'average', Number: 10, TileWidth: 3, TileHeight: 2, ScaleWidth: 48, Margin: 2, Pad: 3 } },
      { path: 'Sprites[1]', kind: 'sprite', target: { URI: 'oss://out/w/{index}.jpg', Format: 'jpg', Mode: 'average', Number: 12, TileWidth: 4, TileHeight: 3, ScaleWidth: 40, ScaleHeight: 30 }, sourceStartTime: 1, sourceDuration: 2 },
    ];
    for (const [index, still] of stills.entries()) {
      const stillDir = join(dir, `still-${index}`);
      await mkdir(stillDir);
      const rendered = await renderStill(clipFile, source, location, still, stillDir);
      const fast = await fastStills(source, location, still);
      const shape = (files: { location: unknown; format: string; frames: number; width: number; height: number }[]) =>
        files.map(({ location, format, frames, width, height }) => ({ location, format, frames, width, height }));
      assert.deepEqual(shape(fast), shape(rendered), still.path);
      for (const file of fast) {
        const meta = await sharp(file.bytes).metadata();
        assert.deepEqual([meta.format, meta.width, meta.height], [file.format === 'jpg' ? 'jpeg' : 'png', file.width, file.height], still.path);
      }
    }
  });

  it('refuses the modes that pick frames by their pictures, and a start past the end, as the task failures say', async () => {
    const source = await probeVideo(clipFile);
    const location = { bucket: 'bkt', key: 'videos/clip.mp4' };
    await assert.rejects(fastStills(source, location, { path: 'Sprites[0]', kind: 'sprite', target: { URI: 'oss://o/s.jpg', Format: 'jpg', Mode: 'dhash' } }), UnplannableStillError);
    await assert.rejects(
      fastStills(source, location, { path: 'Snapshots[0]', kind: 'snapshot', target: { URI: 'oss://o/p.jpg', Format: 'jpg', StartTime: 9 } }),
      (error: unknown) => error instanceof MediaError && error.code === 'EmptySelection',
    );
  });
});
