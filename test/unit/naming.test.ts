import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_KEY_BYTES, outputContentType, resolveOutputKey, templateStaticPrefix } from '../../shared/rules/naming';

const bytes = (text: string) => Buffer.byteLength(text);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A key of exactly `total` bytes: prefix + repeated `unit` (+ ASCII padding) + suffix. */
function keyOfBytes(prefix: string, unit: string, suffix: string, total: number): string {
  let middle = '';
  while (bytes(prefix + middle + unit + suffix) <= total) middle += unit;
  middle += 'x'.repeat(total - bytes(prefix + middle + suffix));
  const key = prefix + middle + suffix;
  assert.equal(bytes(key), total);
  return key;
}

describe('resolveOutputKey: IMM template variables', () => {
  test('dirname, barename, basename and ext as IMM documents them for path1/path2/name.png', () => {
    const source = 'path1/path2/name.png';
    assert.equal(resolveOutputKey('{dirname}', source, 'r', 'gif'), 'path1/path2.gif');
    assert.equal(resolveOutputKey('out/{barename}', source, 'r', 'gif'), 'out/name.gif');
    assert.equal(resolveOutputKey('out/{basename}', source, 'r', 'gif'), 'out/name.png.gif');
    assert.equal(resolveOutputKey('out/{ext}', source, 'r', 'gif'), 'out/png.gif');
    assert.equal(resolveOutputKey('out/{rule}/{barename}', source, 'preview', 'webp'), 'out/preview/name.webp');
  });

  test('the s.yaml template mirrors the source tree under animations/', () => {
    assert.equal(resolveOutputKey('animations/{dirname}/{barename}', 'videos/2024/trip.mp4', 'preview', 'gif'), 'animations/videos/2024/trip.gif');
    assert.equal(resolveOutputKey('animations/{dirname}/{barename}', 'videos/2024/trip.mp4', 'preview', 'webp'), 'animations/videos/2024/trip.webp');
  });

  test('a key at the bucket root has an empty dirname and gives no "//"', () => {
    assert.equal(resolveOutputKey('animations/{dirname}/{barename}', 'clip.mp4', 'r', 'gif'), 'animations/clip.gif');
    assert.equal(resolveOutputKey('{dirname}/{barename}-{rule}', 'clip.mp4', 'r', 'gif'), 'clip-r.gif');
  });

  test('only the last dot separates the extension', () => {
    assert.equal(resolveOutputKey('a/{barename}_{ext}', 'v/archive.tar.mp4', 'r', 'gif'), 'a/archive.tar_mp4.gif');
  });

  test('a source without an extension keeps its whole name as barename and an empty ext', () => {
    assert.equal(resolveOutputKey('a/{barename}', 'v/noext', 'r', 'gif'), 'a/noext.gif');
    assert.equal(resolveOutputKey('a/{barename}-{ext}', 'v/noext', 'r', 'gif'), 'a/noext-.gif');
  });

  test('spaces, +, %, CJK and emoji pass through unchanged', () => {
    assert.equal(resolveOutputKey('animations/{dirname}/{barename}', 'videos/a b/c+d%20e 视频 🎬.mp4', 'r', 'gif'), 'animations/videos/a b/c+d%20e 视频 🎬.gif');
  });

  test('{{ and }} are literal braces; braces inside the source key are copied as they are', () => {
    assert.equal(resolveOutputKey('out/{{v2}}/{barename}', 'videos/a.mp4', 'r', 'gif'), 'out/{v2}/a.gif');
    assert.equal(resolveOutputKey('out/{barename}', 'videos/{x}.mp4', 'r', 'gif'), 'out/{x}.gif');
  });

  test('the format decides the extension', () => {
    assert.match(resolveOutputKey('o/{barename}', 'v/a.MOV', 'r', 'gif'), /\.gif$/);
    assert.match(resolveOutputKey('o/{barename}', 'v/a.MOV', 'r', 'webp'), /\.webp$/);
  });

  test('templates with problems throw a message naming them', () => {
    assert.throws(() => resolveOutputKey('o/{nope}', 'v/a.mp4', 'r', 'gif'), { message: 'unknown variable {nope}; use {dirname}, {barename}, {basename}, {ext}, {rule}' });
    assert.throws(() => resolveOutputKey('o/{barename', 'v/a.mp4', 'r', 'gif'), { message: 'unclosed "{" at position 2' });
    assert.throws(() => resolveOutputKey('o/}', 'v/a.mp4', 'r', 'gif'), { message: 'lone "}" at position 2; write "}}" for a literal brace' });
  });
});

describe('resolveOutputKey: OSS key length', () => {
  const template = 'animations/{dirname}/{barename}';

  function checkLong(source: string) {
    const out = resolveOutputKey(template, source, 'preview', 'gif');
    assert.ok(bytes(out) <= MAX_KEY_BYTES, `${bytes(out)} bytes`);
    assert.ok(bytes(out) > MAX_KEY_BYTES - 4, `the key is cut more than needed: ${bytes(out)} bytes`);
    const match = /^(.*)~([0-9a-f]{16})\.gif$/su.exec(out);
    assert.ok(match, `no hash before the extension: ...${out.slice(-40)}`);
    const full = 'animations/' + source.replace(/\.mp4$/, '');
    assert.ok(full.startsWith(match[1] ?? '\0'), 'the kept part is a prefix of the full key');
    assert.doesNotMatch(out, LONE_SURROGATE);
    assert.equal(Buffer.from(out, 'utf8').toString('utf8'), out, 'no character was split');
    assert.equal(resolveOutputKey(template, source, 'preview', 'gif'), out, 'deterministic');
    return out;
  }

  test('MAX_KEY_BYTES is OSS\'s 1023', () => assert.equal(MAX_KEY_BYTES, 1023));

  test('a 1023-byte ASCII source key gives an output of at most 1023 bytes with a hash', () => {
    checkLong(keyOfBytes('videos/', 'a', '.mp4', 1023));
  });

  test('a 1023-byte CJK source key is cut on a character boundary', () => {
    // 3-byte characters; the padding moves the cut to each offset within a character.
    for (const pad of ['', 'x', 'xx']) checkLong(keyOfBytes(`videos/${pad}`, '视', '.mp4', 1023));
  });

  test('a 1023-byte emoji source key never leaves half a surrogate pair', () => {
    for (const pad of ['', 'x', 'xx', 'xxx']) checkLong(keyOfBytes(`videos/${pad}`, '🎬', '.mp4', 1023));
  });

  test('long keys differing only past the cut stay distinct', () => {
    const a = keyOfBytes('videos/', 'a', 'A.mp4', 1023);
    const b = keyOfBytes('videos/', 'a', 'B.mp4', 1023);
    assert.notEqual(resolveOutputKey(template, a, 'r', 'gif'), resolveOutputKey(template, b, 'r', 'gif'));
  });

  test('a key that just fits is not shortened', () => {
    const stem = keyOfBytes('animations/', 'a', '', 1023 - '.gif'.length);
    const source = stem.slice('animations/'.length) + '.mp4';
    assert.equal(resolveOutputKey('animations/{barename}', source, 'r', 'gif'), `${stem}.gif`);
    assert.equal(bytes(resolveOutputKey('animations/{barename}', source, 'r', 'gif')), 1023);
    assert.match(resolveOutputKey('animations/{barename}', source, 'r', 'webp'), /~[0-9a-f]{16}\.webp$/);
  });
});

describe('templateStaticPrefix', () => {
  test('text up to the first variable', () => {
    assert.equal(templateStaticPrefix('animations/{dirname}/{barename}', 'videos/'), 'animations/');
    assert.equal(templateStaticPrefix('out/{rule}/{barename}', 'videos/'), 'out/');
    assert.equal(templateStaticPrefix('previews-{barename}', 'videos/'), 'previews-');
  });

  test('a leading {dirname} stands for the directory of the rule prefix', () => {
    assert.equal(templateStaticPrefix('{dirname}/previews/{barename}', 'videos/'), 'videos/');
    assert.equal(templateStaticPrefix('{dirname}/previews/{barename}', 'videos/clips-'), 'videos/');
    assert.equal(templateStaticPrefix('{dirname}/previews/{barename}', 'videos'), '');
    assert.equal(templateStaticPrefix('{barename}', 'videos/'), '');
  });

  test('literal braces and leading slashes', () => {
    assert.equal(templateStaticPrefix('a{{b}}/{barename}', 'v/'), 'a{b}/');
    assert.equal(templateStaticPrefix('/out/{barename}', 'v/'), 'out/');
  });

  test('repeated slashes collapse as they do in the resolved key', () => {
    const prefix = templateStaticPrefix('animations//gifs/{barename}', 'videos/');
    assert.ok(resolveOutputKey('animations//gifs/{barename}', 'videos/a.mp4', 'r', 'gif').startsWith(prefix), prefix);
    assert.equal(prefix, 'animations/gifs/');
  });

  test('every resolved key starts with the static prefix', () => {
    const cases: [string, string, string][] = [
      ['animations/{dirname}/{barename}', 'videos/', 'videos/a/b.mp4'],
      ['{dirname}/p/{barename}', 'videos/', 'videos/a.mp4'],
      ['x{{/{rule}', 'videos/', 'videos/a.mp4'],
    ];
    for (const [template, prefix, key] of cases) {
      assert.ok(resolveOutputKey(template, key, 'r', 'gif').startsWith(templateStaticPrefix(template, prefix)), template);
    }
  });
});

describe('output Content-Type by format', () => {
  test('maps every output format, and refuses one it does not know', () => {
    assert.deepEqual(
      ['gif', 'webp', 'jpg', 'png', 'vtt'].map((f) => outputContentType(f)),
      ['image/gif', 'image/webp', 'image/jpeg', 'image/png', 'text/vtt'],
    );
    assert.throws(() => outputContentType('mp4'), /no Content-Type for output format "mp4"/);
  });
});
