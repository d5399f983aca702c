import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseRuleSet } from '../../shared/rules/validate';
import { DROP_QUIET_MS, forgetReported, outputCopyPath, frameNotes, ignoredReason, loadDropState, readyToUpload, saveDropState, stamp, stamped, type DropState } from '../../local/drop';

const rules = [
  { name: 'preview', prefix: 'videos/', suffixes: ['mp4', 'mov'] },
  { name: 'clips', prefix: 'clips/', suffixes: ['mkv'] },
];

describe('npm start: the drop folder helpers (local/drop.ts)', () => {
  it('stamps each line with the local time', () => {
    const at = new Date(2025, 0, 31, 8, 5, 3);
    assert.equal(stamp(at), '08:05:03');
    assert.equal(stamped('a\nb', at), '08:05:03 a\n08:05:03 b');
  });

  it('says why a dropped file is ignored: outside every prefix, or no rule takes its extension', () => {
    assert.equal(ignoredReason(rules, 'videos/a.MP4'), undefined);
    assert.equal(ignoredReason(rules, 'clips/b.mkv'), undefined);
    assert.equal(ignoredReason(rules, 'notes.txt'), "outside every rule's prefix: put videos under drop/videos/, drop/clips/");
    assert.equal(ignoredReason(rules, 'videos/readme.txt'), 'no rule takes .txt here (rule preview takes mp4, mov)');
    assert.equal(ignoredReason(rules, 'videos/Makefile'), 'no rule takes files without an extension here (rule preview takes mp4, mov)');
  });

  it('says why a hidden file (or one in a hidden folder) is ignored, even where a rule would take it', () => {
    const why = (name: string) => `${name} is hidden (its name starts with a dot): copy tools and editors write such files while they work, so npm start never uploads them; rename it to upload it`;
    assert.equal(ignoredReason(rules, 'videos/.clip.mp4'), why('.clip.mp4'));
    assert.equal(ignoredReason(rules, '.DS_Store'), why('.DS_Store'));
    assert.equal(ignoredReason(rules, 'videos/.partial/clip.mp4'), why('.partial'));
  });

  it('a rule with the default suffixes takes the containers IMM documents, by their common extensions', () => {
    const [defaults] = parseRuleSet([{ name: 'preview', prefix: 'videos/', outputs: [{ format: 'gif', key: 'previews/{dirname}/{barename}' }] }], { recordsPrefix: '.video-animation/' }, 'test');
    for (const ext of ['mp4', 'm4v', '3gp', 'ts', 'mts', 'm2ts', 'mkv', 'mov', 'avi', 'flv', 'm3u8', 'webm', 'wmv', 'rm', 'rmvb', 'vob', 'mpg', 'mpeg', 'MPG']) {
      assert.equal(ignoredReason([defaults!], `videos/clip.${ext}`), undefined, ext);
    }
    assert.match(ignoredReason([defaults!], 'videos/clip.ogv') ?? '', /^no rule takes \.ogv here \(rule preview takes mp4, ts, mkv, mov, avi, flv, m3u8, webm, wmv, rm, rmvb, vob, m4v, 3gp, mts, m2ts, mpg, mpeg\)$/);
  });

  it('notes outputs cut short of the frames the rule asks for: by maxFrames, or by a short video', () => {
    const rule = { outputs: [{ frames: 24 }, { frames: 48 }, { interval: 1 }] } as never;
    const record = {
      outputs: [
        { key: 'a.gif', format: 'gif', maxFrames: 300, plannedFrames: 24 },
        { key: 'a.webp', format: 'webp', maxFrames: 30, plannedFrames: 30 },
        { key: 'b.gif', format: 'gif', maxFrames: 5, plannedFrames: 5 },
      ],
    } as never;
    assert.deepEqual(frameNotes(rule, record), ['a.webp: maxFrames 30 cut it to 30 of the 48 frames the rule asks for (raise maxFrames to get them all; IMM bills per frame)']);
    const short = { outputs: [{ key: 'c.gif', format: 'gif', maxFrames: 300, plannedFrames: 20 }] } as never;
    assert.deepEqual(frameNotes({ outputs: [{ frames: 24 }] } as never, short), ['c.gif: 20 of the 24 frames the rule asks for: the video has no more in its window']);
    assert.deepEqual(frameNotes(undefined, short), []);
  });

  it('a restart keeps what was uploaded and reported; an upload again forgets that job, so it is reported like a first run', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'drop-state-'));
    try {
      assert.deepEqual(await loadDropState(dir), { uploaded: {}, reported: {} });
      const state: DropState = { uploaded: { 'videos/a.mp4': '10:1' }, reported: { j1: { key: 'videos/a.mp4', eTag: '"ABC"' }, j2: { key: 'videos/a.mp4', eTag: '"OLD"' } } };
      await saveDropState(dir, state);
      const loaded = await loadDropState(dir);
      assert.deepEqual(loaded, state);
      // Unchanged since its upload: not again; changed: once it stands still for a poll and DROP_QUIET_MS.
      assert.equal(readyToUpload(loaded, '10:1', 'videos/a.mp4', { signature: '10:1', mtimeMs: 1 }, 1 + DROP_QUIET_MS), false);
      assert.equal(readyToUpload(loaded, undefined, 'videos/a.mp4', { signature: '11:2', mtimeMs: 2 }, 2 + DROP_QUIET_MS), false);
      assert.equal(readyToUpload(loaded, '11:2', 'videos/a.mp4', { signature: '11:2', mtimeMs: 2 }, 1 + DROP_QUIET_MS), false);
      assert.equal(readyToUpload(loaded, '11:2', 'videos/a.mp4', { signature: '11:2', mtimeMs: 2 }, 2 + DROP_QUIET_MS), true);
      assert.deepEqual(forgetReported(loaded, 'videos/a.mp4', 'abc'), ['j1']);
      assert.deepEqual(Object.keys(loaded.reported), ['j2']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('npm start: copies into out/ stay in out/ (outputCopyPath)', () => {
  const out = path.resolve('/tmp/project/out');
  it('an ordinary key maps to its path under out/', () => {
    assert.deepEqual(outputCopyPath(out, 'previews/videos/a b.gif'), { path: path.join(out, 'previews', 'videos', 'a b.gif') });
  });
  const refused: [string, RegExp][] = [
    ['previews/../../../escaped.gif', /'\.' or '\.\.' segment/],
    ['../escaped.gif', /'\.' or '\.\.' segment/],
    ['previews/./a.gif', /'\.' or '\.\.' segment/],
    ['/etc/passwd.gif', /leading or doubled/],
    ['previews//a.gif', /leading or doubled/],
    ['previews/..\\..\\a.gif', /backslash/],
    ['previews/a\u0000.gif', /control character/],
    ['previews/a\n.gif', /control character/],
    ['..', /'\.' or '\.\.' segment/],
  ];
  for (const [key, reason] of refused) {
    it(`refuses ${JSON.stringify(key)}`, () => {
      const copy = outputCopyPath(out, key);
      assert.ok('refused' in copy, JSON.stringify(copy));
      assert.match(copy.refused, reason);
    });
  }
});
