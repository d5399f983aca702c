import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fitTagValue, MAX_TAG_KEY_LENGTH, MAX_TAG_VALUE_LENGTH, MAX_TAGS, outputTags } from '../../shared/app/output-tags';

/**
 * The check ali-oss runs in putObjectTagging before sending anything. Loaded with require: importing it would make tsc
 * type-check the untyped .ts source ali-oss ships next to it.
 */
const { checkObjectTag } = require('ali-oss/lib/common/utils/checkObjectTag') as { checkObjectTag: (tag: Record<string, string>) => void };

/** What OSS accepts in a tag key or value (platform facts, Object tagging). */
const OSS_TAG_TEXT = /^[A-Za-z0-9 +\-=._:/]*$/;
const HASH_SUFFIX = /-[0-9a-f]{12}$/;

describe('fitTagValue', () => {
  test('OSS limits', () => {
    assert.equal(MAX_TAGS, 10);
    assert.equal(MAX_TAG_KEY_LENGTH, 128);
    assert.equal(MAX_TAG_VALUE_LENGTH, 256);
  });

  test('ali-oss accepts every fitted value', () => {
    for (const value of ['videos/视频.mp4', 'a~b', 'x'.repeat(300), '🎬', '%#?&']) {
      assert.doesNotThrow(() => checkObjectTag({ k: fitTagValue(value) }), value);
    }
  });

  test('values of allowed characters pass unchanged', () => {
    for (const value of ['', 'preview', 'videos/a b/c+d=e_f.g:h-i.mp4', 'A-Z a-z 0-9 + - = . _ : /', 'x'.repeat(256)]) {
      assert.equal(fitTagValue(value), value);
    }
  });

  for (const value of ['videos/视频.mp4', 'videos/🎬 clip.mp4', 'videos/100%.mp4', 'videos/take#2.mp4', 'a,b;c', 'a~b', 'tab\there', 'quote"s']) {
    test(`${JSON.stringify(value)} is made acceptable and gets a hash`, () => {
      const fitted = fitTagValue(value);
      assert.match(fitted, OSS_TAG_TEXT);
      assert.match(fitted, HASH_SUFFIX);
      assert.ok(fitted.length <= MAX_TAG_VALUE_LENGTH);
      assert.equal(fitTagValue(value), fitted, 'deterministic');
    });
  }

  test('disallowed runs become "_" and the readable part is kept', () => {
    assert.match(fitTagValue('videos/视频.mp4'), /^videos\/_\.mp4-[0-9a-f]{12}$/);
    assert.match(fitTagValue('a%b#c'), /^a_b_c-[0-9a-f]{12}$/);
  });

  test('a 300-character value is cut to 256 with a hash', () => {
    const fitted = fitTagValue('x'.repeat(300));
    assert.equal(fitted.length, 256);
    assert.match(fitted, HASH_SUFFIX);
    assert.ok(fitted.startsWith('x'.repeat(243)));
    assert.equal(fitTagValue('x'.repeat(257)).length, 256);
  });

  test('a long CJK value is cut to 256 characters of allowed text', () => {
    const fitted = fitTagValue('视频/'.repeat(200));
    assert.ok(fitted.length <= 256);
    assert.match(fitted, OSS_TAG_TEXT);
  });

  test('distinct inputs stay distinct', () => {
    const inputs = [
      'videos/视频.mp4',
      'videos/测试.mp4',
      'videos/_.mp4',
      'videos/🎬.mp4',
      'videos/a%b.mp4',
      'videos/a#b.mp4',
      'videos/a_b.mp4',
      'x'.repeat(300),
      'x'.repeat(301),
      'x'.repeat(256) + 'y',
    ];
    const fitted = inputs.map((v) => fitTagValue(v));
    assert.equal(new Set(fitted).size, inputs.length, fitted.join('\n'));
  });

  test('a custom maximum is honoured', () => {
    const fitted = fitTagValue('k'.repeat(200), MAX_TAG_KEY_LENGTH);
    assert.equal(fitted.length, 128);
    assert.match(fitted, HASH_SUFFIX);
  });
});

describe('outputTags', () => {
  const system = { source: 'videos/视频 🎬.mp4', rule: 'preview', job: '0123456789abcdef0123456789abcdef', task: 'MediaConvert-1', format: 'gif' };

  test('system tags first, then rule tags, every key and value acceptable to OSS', () => {
    const tags = outputTags(system, { app: 'video-animation', team: 'media' });
    assert.deepEqual(Object.keys(tags), ['source', 'rule', 'job', 'task', 'format', 'app', 'team']);
    assert.equal(tags['rule'], 'preview');
    assert.equal(tags['app'], 'video-animation');
    assert.match(tags['source'] ?? '', /^videos\/_ _\.mp4-[0-9a-f]{12}$/);
    for (const [key, value] of Object.entries(tags)) {
      assert.match(key, OSS_TAG_TEXT);
      assert.match(value, OSS_TAG_TEXT);
    }
  });

  test('ali-oss accepts the tags (it checks them before putObjectTagging sends anything)', () => {
    const awkward = { ...system, source: `videos/~${'视频 #%'.repeat(80)}🎬.mp4`, task: 'MediaConvert~1' };
    const ruleTags = { ['k'.repeat(200)]: 'v'.repeat(300), 'key#1': '值' };
    assert.doesNotThrow(() => checkObjectTag(outputTags(awkward, ruleTags)));
  });

  test('at most 10 tags, the app\'s own always kept', () => {
    const ruleTags = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`extra${i}`, String(i)]));
    const tags = outputTags(system, ruleTags);
    assert.equal(Object.keys(tags).length, 10);
    for (const key of Object.keys(system)) assert.ok(key in tags, key);
    assert.deepEqual(Object.keys(tags).slice(5), ['extra0', 'extra1', 'extra2', 'extra3', 'extra4']);
  });

  test('keys are fitted to 128 characters and values to 256', () => {
    const tags = outputTags({ rule: 'r' }, { ['k'.repeat(200)]: 'v'.repeat(300), 'key#1': 'ok' });
    const keys = Object.keys(tags);
    assert.equal(keys.length, 3);
    for (const key of keys) assert.ok(key.length <= 128, `${key.length}`);
    assert.equal(keys[1]?.length, 128);
    assert.match(keys[1] ?? '', HASH_SUFFIX);
    assert.equal(tags[keys[1] ?? '']?.length, 256);
    assert.match(keys[2] ?? '', /^key_1-[0-9a-f]{12}$/);
    assert.equal(tags[keys[2] ?? ''], 'ok');
  });

  test('a rule tag never overrides a system tag', () => {
    const tags = outputTags({ rule: 'preview' }, { rule: 'spoofed' });
    assert.deepEqual(tags, { rule: 'preview' });
  });
});
