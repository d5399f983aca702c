import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { matchRules, ruleMatches } from '../../shared/rules/match';
import { DEFAULT_MAX_FRAMES, VIDEO_SUFFIXES } from '../../shared/rules/schema';
import { engineRuleProblems } from '../../shared/engines/limits';
import { outputDelivery } from '../../shared/rules/naming';
import { parseRuleSet, ruleSetWarnings, RulesConfigError, type OssTriggerFilter, type RuleSetContext } from '../../shared/rules/validate';

const RECORDS = '.video-animation/';
const context: RuleSetContext = { recordsPrefix: RECORDS, engineProblems: engineRuleProblems };

const ALL_EVENTS = ['oss:ObjectCreated:PutObject', 'oss:ObjectCreated:PostObject', 'oss:ObjectCreated:CompleteMultipartUpload'];

function trigger(overrides: Partial<OssTriggerFilter> = {}): OssTriggerFilter {
  return { name: 'video-uploads', events: ALL_EVENTS, prefix: 'videos/', suffix: '', ...overrides };
}

/** A minimal valid rule; tests override one thing at a time. */
function rule(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'a', prefix: 'videos/', outputs: [{ format: 'gif', key: 'animations/{dirname}/{barename}' }], ...overrides };
}

function output(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { format: 'gif', key: 'animations/{dirname}/{barename}', ...overrides };
}

/** The problems parseRuleSet reports; fails the test when it accepts the input. */
function problems(input: unknown, ctx: RuleSetContext = context): string[] {
  try {
    parseRuleSet(input, ctx, 'test rules');
  } catch (error) {
    assert.ok(error instanceof RulesConfigError, `expected RulesConfigError, got ${String(error)}`);
    assert.equal(error.source, 'test rules');
    return error.problems;
  }
  assert.fail('the rule set was accepted');
}

function sYamlRules(): unknown {
  const doc = parse(readFileSync(path.join(__dirname, '..', '..', 's.yaml'), 'utf8')) as { vars: { rules: unknown } };
  return doc.vars.rules;
}

describe('parseRuleSet: accepted rules and defaults', () => {
  test('the default rules in s.yaml parse, also against the s.yaml trigger', () => {
    const rules = parseRuleSet(sYamlRules(), { ...context, triggers: [trigger()] });
    assert.equal(rules.length, 1);
    assert.equal(rules[0]?.name, 'preview');
    assert.deepEqual(
      rules[0]?.outputs.map((o) => [o.format, o.key, o.frames, o.frameRate]),
      [
        ['gif', 'animations/{dirname}/{basename}', 24, 6],
        ['webp', 'animations/{dirname}/{basename}', 48, 8],
      ],
    );
    assert.deepEqual(
      rules[0]?.previews.map((p) => [p.kind, p.key, p.slot]),
      [['poster', 'posters/{dirname}/{basename}', 2]],
      'a poster; the storyboard stays commented',
    );
    assert.deepEqual(rules[0]?.tags, { app: 'video-animation' });
  });

  test('omitted suffixes, engine, tags and maxFrames get their defaults', () => {
    const [parsed] = parseRuleSet([rule()], context);
    assert.deepEqual(parsed?.suffixes, [...VIDEO_SUFFIXES]);
    assert.ok(parsed?.suffixes.includes('mp4') && parsed.suffixes.includes('mov'));
    assert.equal(parsed?.engine, 'imm');
    assert.deepEqual(parsed?.tags, {});
    assert.equal(DEFAULT_MAX_FRAMES, 300);
    assert.equal(parsed?.outputs[0]?.maxFrames, 300);
  });

  test('suffixes are lower-cased, lose a leading dot and are deduplicated', () => {
    const [parsed] = parseRuleSet([rule({ suffixes: ['.MP4', 'mp4', 'Mov'] })], context);
    assert.deepEqual(parsed?.suffixes, ['mp4', 'mov']);
  });

  test('ratio and pixel dimensions at the bounds are accepted', () => {
    const [parsed] = parseRuleSet([rule({ outputs: [output({ width: 0.5, height: 4096 }), output({ format: 'webp', width: 32 })] })], context);
    assert.equal(parsed?.outputs[0]?.width, 0.5);
    assert.equal(parsed?.outputs[0]?.height, 4096);
    assert.equal(parsed?.outputs[1]?.width, 32);
  });

  test('a gif and a webp from the same template are different keys', () => {
    assert.doesNotThrow(() => parseRuleSet([rule({ outputs: [output(), output({ format: 'webp' })] })], context));
  });

  test('the error message lists every problem under the source name', () => {
    assert.throws(
      () => parseRuleSet([rule({ fps: 10 }), rule({ name: 'b', outputs: [output({ key: 'b/{barename}', width: 5000 })] })], context, 's.yaml vars.rules'),
      (error: unknown) => {
        assert.ok(error instanceof RulesConfigError);
        assert.equal(
          error.message,
          'invalid rules in s.yaml vars.rules:\n' +
            '  - rule "a": unknown field "fps"\n' +
            '  - rule "b" outputs[0].width: must be an integer number of pixels from 32 to 4096, or a ratio of the source between 0 and 1 (exclusive)',
        );
        return true;
      },
    );
  });
});

describe('parseRuleSet: schema errors name the rule and field', () => {
  test('unknown field at rule level', () => {
    assert.deepEqual(problems([rule({ fps: 10 })]), ['rule "a": unknown field "fps"']);
  });

  test('unknown field at output level', () => {
    assert.deepEqual(problems([rule({ outputs: [output({ fps: 10 })] })]), ['rule "a" outputs[0]: unknown field "fps"']);
  });

  test('two unknown fields are listed together', () => {
    assert.deepEqual(problems([rule({ outputs: [output(), output({ format: 'webp', fps: 1, quality: 2 })] })]), [
      'rule "a" outputs[1]: unknown fields "fps", "quality"',
    ]);
  });

  for (const width of [5000, 10, 1.5, 0, 1, -0.5]) {
    test(`width ${width} is out of range`, () => {
      assert.deepEqual(problems([rule({ outputs: [output({ width })] })]), [
        'rule "a" outputs[0].width: must be an integer number of pixels from 32 to 4096, or a ratio of the source between 0 and 1 (exclusive)',
      ]);
    });
  }

  test('out-of-range height is reported on height', () => {
    assert.deepEqual(problems([rule({ outputs: [output({ height: 4097 })] })]), [
      'rule "a" outputs[0].height: must be an integer number of pixels from 32 to 4096, or a ratio of the source between 0 and 1 (exclusive)',
    ]);
  });

  test('bad scaleType', () => {
    const found = problems([rule({ outputs: [output({ scaleType: 'zoom' })] })]);
    assert.equal(found.length, 1);
    assert.match(found[0] ?? '', /^rule "a" outputs\[0\]\.scaleType: /);
    for (const allowed of ['stretch', 'crop', 'fill', 'fit']) assert.ok(found[0]?.includes(`"${allowed}"`), found[0]);
  });

  test('bad format', () => {
    const found = problems([rule({ outputs: [output({ format: 'png' })] })]);
    assert.equal(found.length, 1);
    assert.match(found[0] ?? '', /^rule "a" outputs\[0\]\.format: .*"gif".*"webp"/);
  });

  test('a rule without a name is identified by its position', () => {
    const { name: _name, ...nameless } = rule();
    const found = problems([rule(), { ...nameless, outputs: [output({ key: 'b/{barename}', width: 5000 })] }]);
    assert.ok(found.some((p) => p.startsWith('rule #2 name: ')), found.join('\n'));
    assert.ok(found.includes('rule #2 outputs[0].width: must be an integer number of pixels from 32 to 4096, or a ratio of the source between 0 and 1 (exclusive)'));
  });

  test('a bad rule name', () => {
    assert.deepEqual(problems([rule({ name: 'my rule' })]), ['rule "my rule" name: must be 1-63 letters, digits, "-" or "_", starting with a letter or digit']);
  });

  test('a bad suffix', () => {
    assert.deepEqual(problems([rule({ suffixes: ['mp4', '*.mov'] })]), ['rule "a" suffixes[1]: must be a file extension such as "mp4"']);
  });

  test('an empty rule list and a non-list', () => {
    assert.deepEqual(problems([]), ['rules: at least one rule is needed']);
    const found = problems({ name: 'a' });
    assert.equal(found.length, 1);
    assert.match(found[0] ?? '', /^rules: .*array/);
  });

  test('more tags than the app leaves room for', () => {
    assert.deepEqual(problems([rule({ tags: { a: '1', b: '2', c: '3', d: '4', e: '5', f: '6' } })]), [
      'rule "a" tags: at most 5 tags (OSS allows 10 per object and the app writes source, rule, job, task, format)',
    ]);
  });

  test('five tags are fine', () => {
    assert.doesNotThrow(() => parseRuleSet([rule({ tags: { a: '1', b: '2', c: '3', d: '4', e: '5' } })], context));
  });

  test('a reserved tag key', () => {
    assert.deepEqual(problems([rule({ tags: { job: 'x' } })]), ['rule "a" tags: tag keys source, rule, job, task, format are written by the app']);
  });

  test('a tag value with characters OSS rejects', () => {
    assert.deepEqual(problems([rule({ tags: { team: '视频#1' } })]), ['rule "a" tags.team: tag values may hold letters, digits, space and + - = . _ : /']);
  });

  test('an empty tag value (ali-oss refuses to send it)', () => {
    assert.deepEqual(problems([rule({ tags: { team: '' } })]), ['rule "a" tags.team: tag values must not be empty']);
  });

  test('minBytes greater than maxBytes', () => {
    assert.deepEqual(problems([rule({ minBytes: 1000, maxBytes: 10 })]), ['rule "a" minBytes: must not exceed maxBytes']);
    assert.doesNotThrow(() => parseRuleSet([rule({ minBytes: 10, maxBytes: 10 })], context));
  });
});

describe('parseRuleSet: cross-rule checks', () => {
  test('duplicate rule names', () => {
    const found = problems([rule(), rule({ outputs: [output({ key: 'other/{barename}' })] })]);
    assert.deepEqual(found, ['rule "a" name: duplicate rule name']);
  });

  test('two outputs of one rule resolving to the same key', () => {
    assert.deepEqual(problems([rule({ outputs: [output({ width: 100 }), output({ width: 200 })] })]), [
      'rule "a" outputs[1].key: resolves to the same key as rule "a" outputs[0] ("animations/{dirname}/{barename}.gif")',
    ]);
  });

  test('outputs of two rules resolving to the same key', () => {
    assert.deepEqual(problems([rule(), rule({ name: 'b', suffixes: ['mov'] })]), [
      'rule "b" outputs[0].key: resolves to the same key as rule "a" outputs[0] ("animations/{dirname}/{barename}.gif")',
    ]);
  });

  test('{barename}.{ext} and {basename} are the same key', () => {
    assert.deepEqual(problems([rule({ outputs: [output({ key: 'x/{barename}.{ext}' }), output({ key: 'x/{basename}' })] })]), [
      'rule "a" outputs[1].key: resolves to the same key as rule "a" outputs[0] ("x/{basename}.gif")',
    ]);
  });

  test('{rule} is filled in before comparing keys', () => {
    assert.deepEqual(problems([rule({ outputs: [output({ key: 'out/{rule}/{barename}' })] }), rule({ name: 'b', outputs: [output({ key: 'out/a/{barename}' })] })]), [
      'rule "b" outputs[0].key: resolves to the same key as rule "a" outputs[0] ("out/a/{barename}.gif")',
    ]);
    assert.doesNotThrow(() =>
      parseRuleSet([rule({ outputs: [output({ key: 'out/{rule}/{barename}' })] }), rule({ name: 'b', outputs: [output({ key: 'out/{rule}/{barename}' })] })], context),
    );
  });

  test('an output key written with an extension', () => {
    assert.deepEqual(problems([rule({ outputs: [output({ key: 'animations/{barename}.gif' })] })]), [
      'rule "a" outputs[0].key: leave out the extension; ".gif" is added from format',
    ]);
    assert.deepEqual(problems([rule({ outputs: [output({ format: 'webp', key: 'animations/{barename}.WEBP' })] })]), [
      'rule "a" outputs[0].key: leave out the extension; ".webp" is added from format',
    ]);
  });

  test('an output key starting or ending with "/"', () => {
    assert.deepEqual(problems([rule({ outputs: [output({ key: '/animations/{barename}' })] })]), ['rule "a" outputs[0].key: must not start or end with "/"']);
    assert.deepEqual(problems([rule({ outputs: [output({ key: 'animations/{barename}/' })] })]), ['rule "a" outputs[0].key: must not start or end with "/"']);
  });

  test('an unknown template variable', () => {
    assert.deepEqual(problems([rule({ outputs: [output({ key: 'animations/{name}' })] })]), [
      'rule "a" outputs[0].key: unknown variable {name}; use {dirname}, {barename}, {basename}, {ext}, {rule}',
    ]);
  });

  test('IMM-only variables such as {autoext} are not accepted (the extension comes from format)', () => {
    assert.deepEqual(problems([rule({ outputs: [output({ key: 'animations/{barename}{autoext}' })] })]), [
      'rule "a" outputs[0].key: unknown variable {autoext}; use {dirname}, {barename}, {basename}, {ext}, {rule}',
    ]);
  });

  test('an unclosed brace', () => {
    assert.deepEqual(problems([rule({ outputs: [output({ key: 'animations/{barename' })] })]), ['rule "a" outputs[0].key: unclosed "{" at position 11']);
  });

  test('a lone closing brace', () => {
    assert.deepEqual(problems([rule({ outputs: [output({ key: 'animations/x}{barename}' })] })]), [
      'rule "a" outputs[0].key: lone "}" at position 12; write "}}" for a literal brace',
    ]);
  });

  test('doubled braces are literal and accepted', () => {
    assert.doesNotThrow(() => parseRuleSet([rule({ outputs: [output({ key: 'animations/{{v2}}/{barename}' })] })], context));
  });

  test('recursion: a rule watching gif under its own output prefix', () => {
    assert.deepEqual(problems([rule({ prefix: '', suffixes: ['mp4', 'gif'] })], { recordsPrefix: RECORDS }), [
      'rule "a" outputs[0].key: a gif written under "animations/" would match rule "a" and start another task (recursion)',
    ]);
  });

  test('recursion: another rule whose prefix covers this rule\'s output prefix', () => {
    const found = problems([rule(), rule({ name: 'b', prefix: 'anim', suffixes: ['gif'], outputs: [output({ format: 'webp', key: 'webp/{barename}' })] })]);
    assert.deepEqual(found, ['rule "a" outputs[0].key: a gif written under "animations/" would match rule "b" and start another task (recursion)']);
  });

  test('recursion: outputs written next to the source ({dirname} first) under a rule watching their format', () => {
    assert.deepEqual(problems([rule({ suffixes: ['mp4', 'webp'], outputs: [output({ format: 'webp', key: '{dirname}/previews/{barename}' })] })]), [
      'rule "a" outputs[0].key: a webp written under "videos/" would match rule "a" and start another task (recursion)',
    ]);
  });

  test('recursion: a doubled slash in the output key does not hide the overlap', () => {
    // "animations//gifs/{barename}" is written as "animations/gifs/<name>.gif", which rule "b" watches.
    const found = problems([rule({ outputs: [output({ key: 'animations//gifs/{barename}' })] }), rule({ name: 'b', prefix: 'animations/gifs/', suffixes: ['gif'], outputs: [output({ format: 'webp', key: 'webp/{barename}' })] })]);
    assert.deepEqual(found, ['rule "a" outputs[0].key: a gif written under "animations/gifs/" would match rule "b" and start another task (recursion)']);
  });

  test('no recursion when the watching rule does not take that format', () => {
    assert.doesNotThrow(() => parseRuleSet([rule(), rule({ name: 'b', prefix: 'animations/', suffixes: ['webp'], outputs: [output({ key: 'gifs/{barename}' })] })], context));
  });

  test('outputs disagreeing on start', () => {
    assert.deepEqual(problems([rule({ outputs: [output({ start: 0, duration: 10 }), output({ format: 'webp', start: 5, duration: 10 })] })]), [
      'rule "a" outputs[1].start: 5 differs from outputs[0].start (0); one IMM task samples one window of the video, so split these outputs into two rules',
    ]);
  });

  test('outputs disagreeing on duration, one unset', () => {
    assert.deepEqual(problems([rule({ outputs: [output({ duration: 10 }), output({ format: 'webp' })] })]), [
      'rule "a" outputs[1].duration: unset differs from outputs[0].duration (10); one IMM task samples one window of the video, so split these outputs into two rules',
    ]);
  });

  test('the oss engine may sample different windows per output', () => {
    assert.doesNotThrow(() => parseRuleSet([rule({ engine: 'oss', outputs: [output({ start: 0 }), output({ format: 'webp', start: 5 })] })], context));
  });
});

describe('parseRuleSet: records prefix', () => {
  test('an empty records prefix', () => {
    const found = problems([rule()], { recordsPrefix: '' });
    assert.equal(found[0], 'RECORDS_PREFIX must not be empty: records would sit among the videos');
  });

  test('a rule watching json where the records are written', () => {
    assert.deepEqual(problems([rule({ prefix: '', suffixes: ['json', 'mp4'] })]), [
      'rule "a" suffixes: with prefix "", "json" would match job records under ".video-animation/" (recursion)',
    ]);
    assert.deepEqual(problems([rule({ prefix: '.video-animation/jobs/', suffixes: ['json'] })]), [
      'rule "a" suffixes: with prefix ".video-animation/jobs/", "json" would match job records under ".video-animation/" (recursion)',
    ]);
  });

  test('json under another prefix is fine', () => {
    assert.doesNotThrow(() => parseRuleSet([rule({ suffixes: ['json', 'mp4'] })], context));
  });

  test('outputs landing under the records prefix', () => {
    assert.deepEqual(problems([rule({ outputs: [output({ key: '.video-animation/{barename}' })] })]), [
      'rule "a" outputs[0].key: outputs would land under the records prefix ".video-animation/"',
    ]);
  });
});

describe('parseRuleSet: OSS trigger coverage', () => {
  test('a rule prefix outside every trigger prefix', () => {
    assert.deepEqual(problems([rule({ prefix: 'movies/' })], { ...context, triggers: [trigger(), trigger({ name: 'clips', prefix: 'clips/' })] }), [
      'rule "a" prefix: "movies/" is under no OSS trigger prefix ("videos/", "clips/"); the rule would never fire: set vars.watchPrefix in s.yaml (the trigger\'s filter.key.prefix) to a start of "movies/" ("" watches every key) or move the rule under "videos/"',
    ]);
  });

  test('a rule prefix broader than the trigger prefix', () => {
    assert.deepEqual(problems([rule({ prefix: 'vid' })], { ...context, triggers: [trigger()] }), [
      'rule "a" prefix: "vid" is under no OSS trigger prefix ("videos/"); the rule would never fire: set vars.watchPrefix in s.yaml (the trigger\'s filter.key.prefix) to a start of "vid" ("" watches every key) or move the rule under "videos/"',
    ]);
  });

  test('a rule prefix under the trigger prefix is covered', () => {
    assert.doesNotThrow(() => parseRuleSet([rule({ prefix: 'videos/2024/' })], { ...context, triggers: [trigger()] }));
  });

  test('a suffix filter ".mp4" does not cover mov', () => {
    assert.deepEqual(problems([rule({ suffixes: ['mp4', 'mov'] })], { ...context, triggers: [trigger({ suffix: '.mp4' })] }), [
      'rule "a" suffixes: mov pass no OSS trigger suffix filter; such uploads would never fire',
    ]);
    assert.doesNotThrow(() => parseRuleSet([rule({ suffixes: ['mp4'] })], { ...context, triggers: [trigger({ suffix: '.mp4' })] }));
  });

  test('the default video suffixes under a ".mp4" filter name every uncovered one', () => {
    const uncovered = VIDEO_SUFFIXES.filter((s) => s !== 'mp4').join(', ');
    assert.deepEqual(problems([rule()], { ...context, triggers: [trigger({ suffix: '.mp4' })] }), [
      `rule "a" suffixes: ${uncovered} pass no OSS trigger suffix filter; such uploads would never fire`,
    ]);
  });

  test('a trigger missing CompleteMultipartUpload', () => {
    assert.deepEqual(problems([rule()], { ...context, triggers: [trigger({ events: ['oss:ObjectCreated:PutObject', 'oss:ObjectCreated:PostObject'] })] }), [
      'OSS trigger "video-uploads" events: missing oss:ObjectCreated:CompleteMultipartUpload; uploads made that way would never be processed',
    ]);
  });

  test('a trigger with only PutObject names both missing events', () => {
    assert.deepEqual(problems([rule()], { ...context, triggers: [trigger({ events: ['oss:ObjectCreated:PutObject'] })] }), [
      'OSS trigger "video-uploads" events: missing oss:ObjectCreated:PostObject, oss:ObjectCreated:CompleteMultipartUpload; uploads made that way would never be processed',
    ]);
  });

  test('oss:ObjectCreated:* counts as every upload event', () => {
    assert.doesNotThrow(() => parseRuleSet([rule()], { ...context, triggers: [trigger({ events: ['oss:ObjectCreated:*'] })] }));
  });

  test('without triggers (run time) coverage is not checked', () => {
    assert.doesNotThrow(() => parseRuleSet([rule({ prefix: 'movies/' })], context));
  });
});

describe('matchRules / ruleMatches', () => {
  const [videos] = parseRuleSet([rule()], context);
  const [cjk] = parseRuleSet([rule({ name: 'cjk', prefix: '视频/', outputs: [output({ key: 'cjk/{barename}' })] })], context);
  const [root] = parseRuleSet([rule({ name: 'root', prefix: '', suffixes: ['mp4'], outputs: [output({ key: 'root-out/{barename}' })] })], context);
  assert.ok(videos && cjk && root);

  const matching = [
    'videos/a.mp4',
    'videos/a b/c d.mp4',
    'videos/a+b.mp4',
    'videos/100%.mov',
    'videos/a%20b.mp4',
    'videos/🎬 clip.webm',
    'videos/x/y/z.MKV',
    'videos/archive.tar.mp4',
  ];
  for (const key of matching) {
    test(`matches ${JSON.stringify(key)}`, () => assert.equal(ruleMatches(videos, key), true));
  }

  const notMatching = [
    'videos/',
    'videos/sub/',
    'videos/noextension',
    'videos/a.mp4/',
    'Videos/a.mp4',
    'other/videos/a.mp4',
    'videos/a.gif',
    'videos/a.mp4.txt',
  ];
  for (const key of notMatching) {
    test(`does not match ${JSON.stringify(key)}`, () => assert.equal(ruleMatches(videos, key), false));
  }

  test('CJK prefix and upper-case extension match case-insensitively', () => {
    assert.equal(ruleMatches(cjk, '视频/测试 文件.MP4'), true);
    assert.equal(ruleMatches(cjk, '视频/测试 文件.Mp4'), true);
    assert.equal(ruleMatches(cjk, '测试/视频 文件.mp4'), false);
  });

  test('matchRules returns every matching rule in configuration order', () => {
    assert.deepEqual(
      matchRules([videos, cjk, root], 'videos/a b.mp4').map((r) => r.name),
      ['a', 'root'],
    );
    assert.deepEqual(
      matchRules([root, cjk, videos], '视频/测试 文件.MP4').map((r) => r.name),
      ['root', 'cjk'],
    );
    assert.deepEqual(matchRules([videos, cjk, root], 'videos/a.mov').map((r) => r.name), ['a']);
    assert.deepEqual(matchRules([videos, cjk, root], 'docs/readme.txt'), []);
  });
});

describe('ruleSetWarnings', () => {
  test('warns when a template drops the extension of a rule that takes several', () => {
    const [warning, ...rest] = ruleSetWarnings(parseRuleSet([rule()], context));
    assert.equal(rest.length, 0);
    assert.match(warning!, /rule "a" outputs\[0\]\.key: "animations\/\{dirname\}\/\{barename\}" has neither \{basename\} nor \{ext\}/);
    assert.match(warning!, /clip\.mp4, clip\.ts/);
    assert.match(warning!, /e\.g\. "animations\/\{dirname\}\/\{basename\}"/);
  });

  test('is quiet for templates that keep the extension, and for rules that take one extension', () => {
    for (const key of ['a/{basename}', 'a/{barename}-{ext}']) assert.deepEqual(ruleSetWarnings(parseRuleSet([rule({ outputs: [output({ key })] })], context)), [], key);
    assert.deepEqual(ruleSetWarnings(parseRuleSet([rule({ suffixes: ['mp4'] })], context)), []);
    assert.equal(ruleSetWarnings(parseRuleSet([rule({ outputs: [output({ key: 'a/{{basename}}/{barename}' })] })], context)).length, 1, 'a literal {basename} keeps nothing');
  });

  test('the default rules in s.yaml are collision-free', () => {
    assert.deepEqual(ruleSetWarnings(parseRuleSet(sYamlRules(), context)), []);
  });
});

describe('rule fields for delivery: bucket, cacheControl, contentDisposition, deleteWithSource', () => {
  const DELETE_EVENTS = ['oss:ObjectRemoved:DeleteObject', 'oss:ObjectRemoved:DeleteObjects'];

  test('accepted on the rule and on an output; deleteWithSource defaults to false', () => {
    const [parsed] = parseRuleSet(
      [
        rule({
          bucket: 'public-previews',
          cacheControl: 'public, max-age=31536000, immutable',
          contentDisposition: 'inline',
          outputs: [output(), output({ format: 'webp', bucket: 'cdn-previews-2', cacheControl: 'no-cache', contentDisposition: 'attachment; filename=preview.webp' })],
        }),
      ],
      context,
    );
    assert.equal(parsed?.deleteWithSource, false);
    assert.deepEqual([parsed?.bucket, parsed?.cacheControl, parsed?.contentDisposition], ['public-previews', 'public, max-age=31536000, immutable', 'inline']);
    assert.deepEqual(parsed?.outputs.map((o) => outputDelivery(parsed, o, 'uploads')), [
      { bucket: 'public-previews', cacheControl: 'public, max-age=31536000, immutable', contentDisposition: 'inline' },
      { bucket: 'cdn-previews-2', cacheControl: 'no-cache', contentDisposition: 'attachment; filename=preview.webp' },
    ]);
    const [plain] = parseRuleSet([rule()], context);
    assert.deepEqual(outputDelivery(plain!, plain!.outputs[0]!, 'uploads'), { bucket: 'uploads' });
  });

  test('a bucket name OSS would refuse is an error naming the field and the name', () => {
    assert.deepEqual(problems([rule({ bucket: 'Public_Previews' })]), [
      'rule "a" bucket: "Public_Previews" is not a bucket name OSS accepts: 3-63 lower-case letters, digits and "-", starting and ending with a letter or digit',
    ]);
    assert.deepEqual(problems([rule({ outputs: [output({ bucket: 'ab' })] })]), [
      'rule "a" outputs[0].bucket: "ab" is not a bucket name OSS accepts: 3-63 lower-case letters, digits and "-", starting and ending with a letter or digit',
    ]);
    assert.equal(problems([rule({ bucket: '-previews' })]).length, 1);
    assert.equal(problems([rule({ bucket: `a${'b'.repeat(63)}` })]).length, 1);
    parseRuleSet([rule({ bucket: `a${'b'.repeat(61)}c` })], context);
  });

  test('header values must be one line of printable ASCII, and not empty', () => {
    assert.deepEqual(problems([rule({ cacheControl: 'max-age=60\r\nX-Evil: 1' })]), ['rule "a" cacheControl: must be printable ASCII on one line, e.g. "public, max-age=31536000, immutable"']);
    assert.deepEqual(problems([rule({ outputs: [output({ contentDisposition: 'attachment; filename=猫.gif' })] })]), [
      'rule "a" outputs[0].contentDisposition: must be printable ASCII on one line, e.g. "inline" or "attachment; filename=preview.gif"',
    ]);
    assert.deepEqual(problems([rule({ cacheControl: '' })]), ['rule "a" cacheControl: must not be empty (leave the field out for none)']);
    assert.deepEqual(problems([rule({ deleteWithSource: 'yes' })]), ['rule "a" deleteWithSource: Invalid input: expected boolean, received string']);
  });

  test('deleteWithSource needs a trigger over the rule that delivers both removals', () => {
    assert.deepEqual(problems([rule({ deleteWithSource: true })], { ...context, triggers: [trigger()] }), [
      'rule "a" deleteWithSource: no OSS trigger over "videos/" delivers oss:ObjectRemoved:DeleteObject, oss:ObjectRemoved:DeleteObjects for every suffix of the rule; add them to the trigger\'s events, or the outputs would outlive their source',
    ]);
    assert.deepEqual(problems([rule({ deleteWithSource: true })], { ...context, triggers: [trigger({ events: [...ALL_EVENTS, 'oss:ObjectRemoved:DeleteObject'] })] }), [
      'rule "a" deleteWithSource: no OSS trigger over "videos/" delivers oss:ObjectRemoved:DeleteObjects for every suffix of the rule; add them to the trigger\'s events, or the outputs would outlive their source',
    ]);
    // A removal trigger over another prefix, or only for some of the rule's suffixes, does not count.
    assert.equal(problems([rule({ deleteWithSource: true })], { ...context, triggers: [trigger(), trigger({ name: 'r', prefix: 'other/', events: DELETE_EVENTS })] }).length, 1);
    assert.equal(problems([rule({ deleteWithSource: true, suffixes: ['mp4', 'mov'] })], { ...context, triggers: [trigger(), trigger({ name: 'r', suffix: '.mp4', events: DELETE_EVENTS })] }).length, 1);
    // Accepted: removals in the upload trigger, a removal-only trigger of its own (not an incomplete upload trigger), or ObjectRemoved:*.
    parseRuleSet([rule({ deleteWithSource: true })], { ...context, triggers: [trigger({ events: [...ALL_EVENTS, ...DELETE_EVENTS] })] });
    parseRuleSet([rule({ deleteWithSource: true })], { ...context, triggers: [trigger(), trigger({ name: 'removals', events: DELETE_EVENTS })] });
    parseRuleSet([rule({ deleteWithSource: true })], { ...context, triggers: [trigger({ events: [...ALL_EVENTS, 'oss:ObjectRemoved:*'] })] });
    // Without triggers (at run time) there is nothing to check against.
    parseRuleSet([rule({ deleteWithSource: true })], context);
  });

  test('an output in a bucket no trigger watches cannot start a task or sit among the records; in a trigger bucket it can', () => {
    const recursive = rule({ suffixes: ['mp4', 'gif'], outputs: [output({ key: 'videos/{barename}' })] });
    const inUploads = { ...context, triggers: [trigger({ bucket: 'uploads' })] };
    assert.equal(problems([recursive], inUploads).length, 1);
    parseRuleSet([{ ...recursive, bucket: 'public-previews' }], inUploads);
    parseRuleSet([{ ...recursive, outputs: [output({ key: 'videos/{barename}', bucket: 'public-previews' })] }], inUploads);
    assert.match(problems([{ ...recursive, bucket: 'uploads' }], inUploads)[0] ?? '', /would match rule "a" and start another task \(recursion\)/);
    parseRuleSet([rule({ bucket: 'public-previews', outputs: [output({ key: '.video-animation/{barename}' })] })], inUploads);
  });

  test('the same key in two buckets is no collision; in one bucket it is', () => {
    parseRuleSet([rule({ outputs: [output(), output({ bucket: 'public-previews' })] })], context);
    assert.match(problems([rule({ outputs: [output({ bucket: 'public-previews' }), output({ bucket: 'public-previews' })] })])[0] ?? '', /resolves to the same key as rule "a" outputs\[0\]/);
  });
});
