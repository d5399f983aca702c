import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { immPreviewImage, immPreviewProblems } from '../../shared/engines/imm';
import { engineRuleProblems } from '../../shared/engines/limits';
import { ossStoryboardProcessString } from '../../shared/engines/oss-process';
import { planJob } from '../../shared/jobs/plan';
import { choosePoster, posterTime } from '../../shared/media/poster';
import { planPreviews, previewCapturedFrames, previewResultKeys } from '../../shared/media/previews';
import { sheetSize, storyboardLayout, storyboardVtt, tileAt, vttTime } from '../../shared/media/storyboard';
import { relativeTo } from '../../shared/rules/preview-keys';
import { animationSlot, RuleSchema, type Rule, type RuleInput } from '../../shared/rules/schema';
import { parseRuleSet } from '../../shared/rules/validate';

function rule(outputs: RuleInput['outputs'], engine: 'imm' | 'oss' = 'imm'): Rule {
  return RuleSchema.parse({ name: 'kit', prefix: 'videos/', engine, outputs });
}

function problems(outputs: unknown[], engine: 'imm' | 'oss' = 'imm'): string[] {
  try {
    parseRuleSet([{ name: 'kit', prefix: 'videos/', engine, outputs }], { recordsPrefix: 'records/', engineProblems: engineRuleProblems });
    return [];
  } catch (error) {
    return (error as { problems: string[] }).problems;
  }
}

const GIF = { format: 'gif', key: 'previews/{barename}' } as const;

describe('output kinds in the rules schema', () => {
  it('splits posters and storyboards from the animations, keeping each one’s configured slot', () => {
    const parsed = rule([{ kind: 'poster', key: 'posters/{barename}' }, GIF, { kind: 'storyboard', key: 'boards/{barename}' }]);
    assert.equal(parsed.outputs.length, 1);
    assert.equal(parsed.outputs[0]!.format, 'gif');
    assert.deepEqual(
      parsed.previews.map((p) => [p.kind, p.slot, p.format]),
      [
        ['poster', 0, 'jpg'],
        ['storyboard', 2, 'jpg'],
      ],
    );
    assert.equal(animationSlot(parsed, 0), 1);
  });

  it('names the field for a wrong kind, a wrong format and a bad position', () => {
    assert.deepEqual(problems([{ kind: 'thumbnail', key: 'x/{barename}' }]), ['rule "kit" outputs[0].kind: kind must be "animation" (the default), "poster" or "storyboard"']);
    assert.match(problems([{ kind: 'poster', key: 'x/{barename}', format: 'gif' }])[0]!, /^rule "kit" outputs\[0\]\.format: /);
    assert.deepEqual(problems([{ kind: 'poster', key: 'x/{barename}', at: '150%' }]).length, 1);
    assert.match(problems([{ kind: 'poster', key: 'x/{barename}', at: 'middle' }])[0]!, /outputs\[0\]\.at: .*"50%"/);
  });

  it('an animation after a poster is reported at its configured index', () => {
    assert.deepEqual(problems([{ kind: 'poster', key: 'p/{barename}' }, { ...GIF, frames: 10, interval: 1 }]), [
      'rule "kit" outputs[1].frames and outputs[1].interval: set one, not both (frames spreads that many frames over the window; interval samples every so many seconds)',
    ]);
  });

  it('refuses colliding and recursive preview keys', () => {
    assert.match(problems([{ kind: 'poster', key: 'p/{barename}' }, { kind: 'poster', key: 'p/{barename}', at: 1 }]).join('\n'), /outputs\[1\]\.key: resolves to the same key as rule "kit" outputs\[0\]/);
    const recursion = problems([{ kind: 'storyboard', key: 'videos/{barename}' }]);
    assert.equal(recursion.length, 0, 'jpg and vtt are not video suffixes');
    assert.match(problems([{ kind: 'poster', key: 'p/{barename}.jpg' }]).join('\n'), /outputs\[0\]\.key: leave out the extension/);
  });

  it('engine oss refuses posters and what video/sprite cannot do, naming the field and the engine', () => {
    assert.deepEqual(problems([GIF, { kind: 'poster', key: 'p/{barename}' }], 'oss'), [
      'rule "kit" outputs[1].kind: "poster" is not supported with engine oss; use engine imm for posters (a rule of its own if the animations need oss)',
    ]);
    assert.deepEqual(problems([GIF, { kind: 'storyboard', key: 'b/{barename}', frames: 120, scaleType: 'crop' }], 'oss'), [
      'rule "kit" outputs[1].frames: 120 tiles need 2 sheets of 10x10; engine oss writes one sheet, so raise columns or rows to hold 120, or use engine imm',
      'rule "kit" outputs[1].scaleType: not supported for a storyboard with engine oss (video/sprite has no scale type); leave it out or use engine imm',
    ]);
    assert.deepEqual(problems([GIF, { kind: 'storyboard', key: 'b/{barename}', frames: 100 }], 'oss'), []);
    assert.deepEqual(problems([GIF, { kind: 'storyboard', key: 'b/{barename}', width: 31, height: 16 }], 'oss'), [
      'rule "kit" outputs[1].width: 31 is below 32 pixels, the smallest tile video/sprite makes (sw from 32 to 4096) with engine oss; raise it or use engine imm',
      'rule "kit" outputs[1].height: 16 is below 32 pixels, the smallest tile video/sprite makes (sh from 32 to 4096) with engine oss; raise it or use engine imm',
    ]);
    assert.deepEqual(problems([GIF, { kind: 'storyboard', key: 'b/{barename}', width: 32, height: 32 }], 'oss'), []);
  });

  it('engine imm refuses a preview in a rule whose animations sample a window', () => {
    const windowed = rule([{ ...GIF, start: 2 }, { kind: 'storyboard', key: 'b/{barename}' }]);
    assert.deepEqual(immPreviewProblems(windowed), [
      'rule "kit" outputs[1].kind: a storyboard covers the whole video, but with engine imm the rule\'s animations set start (one IMM task trims its source for every output); put the storyboard in a rule of its own',
    ]);
  });
});

describe('storyboard layout and WebVTT', () => {
  const layout = storyboardLayout({ frames: 5, columns: 2, rows: 2, width: 160, margin: 2, pad: 3 }, { width: 1280, height: 720 }, ['b-1.jpg', 'b-2.jpg']);

  it('takes the tile height from the source’s aspect ratio, rounded to even pixels', () => {
    assert.equal(layout.tileHeight, 90);
    assert.deepEqual(sheetSize(layout), { width: 2 * 2 + 2 * 160 + 3, height: 2 * 2 + 2 * 90 + 3 });
  });

  it('lays tiles out row by row, a new sheet after columns x rows', () => {
    assert.deepEqual([0, 1, 2, 3, 4].map((k) => tileAt(layout, k)), [
      { sheet: 0, x: 2, y: 2, w: 160, h: 90 },
      { sheet: 0, x: 165, y: 2, w: 160, h: 90 },
      { sheet: 0, x: 2, y: 95, w: 160, h: 90 },
      { sheet: 0, x: 165, y: 95, w: 160, h: 90 },
      { sheet: 1, x: 2, y: 2, w: 160, h: 90 },
    ]);
  });

  it('writes one cue per tile covering the whole video, relative sheet URLs', () => {
    const vtt = storyboardVtt(layout, 10.001);
    assert.equal(
      vtt,
      [
        'WEBVTT',
        '',
        '00:00:00.000 --> 00:00:02.000',
        'b-1.jpg#xywh=2,2,160,90',
        '',
        '00:00:02.000 --> 00:00:04.000',
        'b-1.jpg#xywh=165,2,160,90',
        '',
        '00:00:04.000 --> 00:00:06.001',
        'b-1.jpg#xywh=2,95,160,90',
        '',
        '00:00:06.001 --> 00:00:08.001',
        'b-1.jpg#xywh=165,95,160,90',
        '',
        '00:00:08.001 --> 00:00:10.001',
        'b-2.jpg#xywh=2,2,160,90',
        '',
      ].join('\n'),
    );
    assert.equal(vttTime(3_723_045), '01:02:03.045');
    assert.throws(() => storyboardVtt(layout, 0), /duration must be positive/);
  });

  it('refers to sheets relative to the VTT', () => {
    assert.equal(relativeTo('boards/a/clip.vtt', 'boards/a/clip-1.jpg'), 'clip-1.jpg');
    assert.equal(relativeTo('boards/a/clip.vtt', 'sheets/clip.jpg'), '../../sheets/clip.jpg');
  });
});

describe('poster', () => {
  it('reads at as seconds or a percent of the duration, kept inside the video', () => {
    assert.equal(posterTime(3, 10), 3);
    assert.equal(posterTime('50%', 10), 5);
    assert.equal(posterTime(30, 10), 9.9);
    assert.throws(() => posterTime('50%', undefined), /needs the video's duration/);
  });

  it('keeps the candidate with the most bytes, the earliest on a tie', () => {
    assert.deepEqual(choosePoster([{ key: 'a', bytes: 900 }, { key: 'b', bytes: 5000 }, { key: 'c', bytes: 5000 }]), { key: 'b', bytes: 5000 });
    assert.throws(() => choosePoster([]), /no candidate/);
  });
});

describe('IMM request building for posters and storyboards', () => {
  const kit = rule([
    GIF,
    { kind: 'poster', key: 'posters/{barename}' },
    { kind: 'poster', key: 'covers/{barename}', format: 'png', at: '25%', width: 640 },
    { kind: 'storyboard', key: 'boards/{barename}', frames: 30, columns: 4, rows: 4, width: 128, height: 72, margin: 0, pad: 0 },
  ]);
  const previews = planPreviews(kit, 'videos/my {clip}.mp4', { duration: 20, width: 1920, height: 1080 });

  it('builds Snapshots (average candidates, or one frame at a time) and Sprites with {index} for several sheets', () => {
    assert.deepEqual(immPreviewImage('bkt', previews), {
      Snapshots: [
        { Format: 'jpg', URI: 'oss://bkt/posters/my {{clip}}-candidate-{index}.jpg', Mode: 'average', Number: 5 },
        { Format: 'png', URI: 'oss://bkt/covers/my {{clip}}.png', Width: 640, StartTime: 5, Number: 1 },
      ],
      Sprites: [
        { Format: 'jpg', URI: 'oss://bkt/boards/my {{clip}}-{index}.jpg', TileWidth: 4, TileHeight: 4, Margin: 0, Pad: 0, ScaleWidth: 128, ScaleHeight: 72, Mode: 'average', Number: 30 },
      ],
    });
  });

  it('lists the keys written and the frames captured', () => {
    assert.deepEqual(previewResultKeys(previews), ['posters/my {clip}.jpg', 'covers/my {clip}.png', 'boards/my {clip}-1.jpg', 'boards/my {clip}-2.jpg', 'boards/my {clip}.vtt']);
    assert.equal(previewCapturedFrames(previews), 5 + 1 + 30);
    const board = previews[2]!;
    assert.ok(board.kind === 'storyboard');
    assert.deepEqual(board.layout.sheets, ['my%20%7Bclip%7D-1.jpg', 'my%20%7Bclip%7D-2.jpg'].map(decodeURI));
  });

  it('keeps candidate and sheet keys within 1023 bytes for a source key at the OSS maximum, each family on one hashed stem', () => {
    const longKey = `videos/${'长'.repeat(335)}${'x'.repeat(1023 - Buffer.byteLength(`videos/${'长'.repeat(335)}.mp4`))}.mp4`;
    assert.equal(Buffer.byteLength(longKey), 1023);
    const [poster, board] = planPreviews(
      rule([GIF, { kind: 'poster', key: 'posters/{dirname}/{basename}' }, { kind: 'storyboard', key: 'boards/{dirname}/{basename}', frames: 30, columns: 4, rows: 2, width: 64, height: 36 }]),
      longKey,
    );
    assert.ok(poster?.kind === 'poster' && board?.kind === 'storyboard');
    const keys = [poster.keys.key, ...poster.keys.candidates!.keys, ...board.keys.sheetKeys, board.keys.vttKey];
    for (const key of keys) assert.ok(Buffer.byteLength(key) <= 1023, `${Buffer.byteLength(key)} bytes: ${key.slice(-40)}`);
    assert.match(poster.keys.candidates!.keys[4]!, /~[0-9a-f]{16}-candidate-5\.jpg$/);
    assert.equal(poster.keys.candidates!.uriKey, poster.keys.candidates!.keys[0]!.replace('-candidate-1.', '-candidate-{index}.'));
    assert.equal(board.keys.sheetKeys.length, 4);
    assert.equal(new Set(board.keys.sheetKeys.map((k) => k.replace(/-\d+\.jpg$/, ''))).size, 1, 'the sheets share one stem ({index} in one URI)');
  });

  it('needs the source size for a storyboard without a tile height', () => {
    const bare = rule([GIF, { kind: 'storyboard', key: 'b/{barename}' }]);
    assert.throws(() => planPreviews(bare, 'videos/a.mp4', { duration: 3 }), /rule "kit" outputs\[1\]: storyboard height: the source size is unknown/);
  });
});

describe('OSS video/sprite for a storyboard with engine oss', () => {
  it('one sheet: m_avg with num frames, tile size, tiles per row and column, pad and margin, saved to the sheet', () => {
    const board = rule([GIF, { kind: 'storyboard', key: 'boards/{barename}', frames: 24, columns: 6, rows: 4, width: 120, height: 68, pad: 0, margin: 0 }], 'oss');
    const [planned] = planPreviews(board, 'videos/clip.mp4', { duration: 30 });
    assert.ok(planned?.kind === 'storyboard');
    const plan = planJob({ bucket: 'media-bkt', key: 'videos/clip.mp4', eTag: 'E', size: 1 }, board);
    assert.equal(
      ossStoryboardProcessString(plan, planned, { topicName: 'animations' }),
      `video/sprite,f_jpg,m_avg,num_24,sw_120,sh_68,tw_6,th_4,pad_0,margin_0|sys/saveas,b_bWVkaWEtYmt0,o_${Buffer.from('boards/clip.jpg').toString('base64url')}/notify,topic_YW5pbWF0aW9ucw`,
    );
  });

  it('a tile height from a wide video that falls below 32 pixels fails the job, naming the size and the fix', () => {
    const board = rule([GIF, { kind: 'storyboard', key: 'boards/{barename}', frames: 10, width: 64 }], 'oss');
    const plan = planJob({ bucket: 'media-bkt', key: 'videos/clip.mp4', eTag: 'E', size: 1 }, board);
    const [wide] = planPreviews(board, 'videos/clip.mp4', { duration: 30, width: 1920, height: 800 });
    assert.ok(wide?.kind === 'storyboard');
    assert.throws(() => ossStoryboardProcessString(plan, wide, { topicName: 't' }), {
      name: 'PermanentFailure',
      code: 'UnsupportedByEngine',
      message: 'storyboard boards/clip.vtt cannot be sent to OSS: its tiles would be 64x26 pixels, and video/sprite takes sh from 32; set a larger width or a height',
    });
    const [usual] = planPreviews(board, 'videos/clip.mp4', { duration: 30, width: 1920, height: 1080 });
    assert.ok(usual?.kind === 'storyboard');
    assert.match(ossStoryboardProcessString(plan, usual, { topicName: 't' }), /^video\/sprite,f_jpg,m_avg,num_10,sw_64,sh_36,/);
  });
});
