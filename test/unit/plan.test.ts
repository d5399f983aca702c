import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { toWireQuery } from '../../shared/clients/imm';
import { immTaskRequest, MAX_USER_DATA_BYTES, parseUserData } from '../../shared/engines/imm';
import { jobIdFor, planJob, samplePlan, type SourceObject } from '../../shared/jobs/plan';
import type { Rule } from '../../shared/rules/schema';
import { parseRuleSet } from '../../shared/rules/validate';

const settings = { projectName: 'video-animation', topicName: 'video-animation-done' };

function defaultRule(): Rule {
  const doc = parse(readFileSync(path.join(__dirname, '..', '..', 's.yaml'), 'utf8')) as { vars: { rules: unknown } };
  const [rule] = parseRuleSet(doc.vars.rules, { recordsPrefix: '.video-animation/' });
  assert.ok(rule);
  return rule;
}

function source(key: string, overrides: Partial<SourceObject> = {}): SourceObject {
  return { bucket: 'bkt', key, eTag: '"688A7BF4F233DC9C88A80BF985AB0000"', size: 122_539, ...overrides };
}

/** The default rules are whole-video previews: they need the video's duration (here a 10-minute video). */
const TEN_MINUTES = { duration: 600, width: 1280, height: 720, frameRate: 25 };

function wire(src: SourceObject, rule = defaultRule()) {
  return toWireQuery(immTaskRequest(samplePlan(planJob(src, rule), TEN_MINUTES), settings));
}

describe('CreateMediaConvertTask wire query for the s.yaml rule', () => {
  const src = source('videos/a b/c+d%20e 视频.mp4');
  const jobId = jobIdFor(src, 'preview');
  const query = wire(src);

  test('exactly these parameters are sent', () => {
    assert.deepEqual(Object.keys(query).sort(), ['Notification', 'ProjectName', 'Sources', 'Tags', 'Targets', 'UserData']);
    for (const value of Object.values(query)) assert.equal(typeof value, 'string');
  });

  test('ProjectName is a plain string', () => {
    assert.equal(query['ProjectName'], 'video-animation');
  });

  test('Sources: the raw key and the whole video as the window', () => {
    assert.equal(query['Sources'], '[{"URI":"oss://bkt/videos/a b/c+d%20e 视频.mp4","Duration":600}]');
  });

  test('Targets: one animation per output, PascalCase, the frame budget as Number and the spacing as Interval; the poster as 5 Snapshots', () => {
    assert.equal(
      query['Targets'],
      '[{"Image":{"Animations":[' +
        '{"Format":"gif","URI":"oss://bkt/animations/videos/a b/c+d%20e 视频.mp4.gif","Width":320,"Height":180,"ScaleType":"fit","Interval":25,"FrameRate":6,"Number":24},' +
        '{"Format":"webp","URI":"oss://bkt/animations/videos/a b/c+d%20e 视频.mp4.webp","Width":640,"Height":360,"ScaleType":"fit","Interval":12.5,"FrameRate":8,"Number":48}' +
        '],"Snapshots":[' +
        '{"Format":"jpg","URI":"oss://bkt/posters/videos/a b/c+d%20e 视频.mp4-candidate-{index}.jpg","Width":640,"Mode":"average","Number":5}' +
        ']}}]',
    );
  });

  test('Notification names the MNS topic', () => {
    assert.equal(query['Notification'], '{"MNS":{"TopicName":"video-animation-done"}}');
  });

  test('UserData and Tags carry the job id and rule', () => {
    assert.match(jobId, /^[0-9a-f]{32}$/);
    assert.equal(query['UserData'], `{"app":"video-animation","v":1,"jobId":"${jobId}","bucket":"bkt","rule":"preview"}`);
    assert.equal(query['Tags'], `{"JobId":"${jobId}","Rule":"preview","Attempt":"1"}`);
    assert.deepEqual(parseUserData(query['UserData'] ?? ''), { app: 'video-animation', v: 1, jobId, bucket: 'bkt', rule: 'preview' });
  });

  test('no Target.URI / Container (animation-only output) and no CredentialConfig', () => {
    const targets = JSON.parse(query['Targets'] ?? '') as Record<string, unknown>[];
    assert.equal(targets.length, 1);
    assert.deepEqual(Object.keys(targets[0] ?? {}), ['Image']);
    assert.equal(query['CredentialConfig'], undefined);
  });
});

describe('optional animation fields', () => {
  test('a rule without window, size or rate sends only Format, URI and the default frame cap', () => {
    const [rule] = parseRuleSet([{ name: 'bare', prefix: 'in/', outputs: [{ format: 'webp', key: 'out/{barename}' }] }], { recordsPrefix: '.r/' });
    assert.ok(rule);
    const query = wire(source('in/x.mov'), rule);
    assert.equal(query['Sources'], '[{"URI":"oss://bkt/in/x.mov"}]');
    assert.equal(query['Targets'], '[{"Image":{"Animations":[{"Format":"webp","URI":"oss://bkt/out/x.webp","Number":300}]}}]');
  });

  test('ratio sizes go on the wire as ratios', () => {
    const [rule] = parseRuleSet([{ name: 'half', prefix: 'in/', outputs: [{ format: 'gif', key: 'out/{barename}', width: 0.5, height: 0.5, start: 5, duration: 25 }] }], {
      recordsPrefix: '.r/',
    });
    assert.ok(rule);
    const query = wire(source('in/x.mp4'), rule);
    assert.equal(query['Sources'], '[{"URI":"oss://bkt/in/x.mp4","StartTime":5,"Duration":25}]');
    assert.equal(query['Targets'], '[{"Image":{"Animations":[{"Format":"gif","URI":"oss://bkt/out/x.gif","Width":0.5,"Height":0.5,"Number":300}]}}]');
  });
});

describe('braces in keys', () => {
  test('a "{" in the key is doubled in the target URI but not in the source URI', () => {
    const query = wire(source('videos/{x}/a{b}.mp4'));
    assert.equal(query['Sources'], '[{"URI":"oss://bkt/videos/{x}/a{b}.mp4","Duration":600}]');
    const [target] = (JSON.parse(query['Targets'] ?? '') as { Image: { Animations: { URI: string }[] } }[]);
    assert.deepEqual(
      target?.Image.Animations.map((a) => a.URI),
      ['oss://bkt/animations/videos/{{x}}/a{{b}}.mp4.gif', 'oss://bkt/animations/videos/{{x}}/a{{b}}.mp4.webp'],
    );
  });

  test('a key that looks like an IMM template variable is not expanded by IMM', () => {
    const [target] = (JSON.parse(wire(source('videos/{autoext}.mp4'))['Targets'] ?? '') as { Image: { Animations: { URI: string }[] } }[]);
    assert.equal(target?.Image.Animations[0]?.URI, 'oss://bkt/animations/videos/{{autoext}}.mp4.gif');
  });
});

describe('UserData', () => {
  test('stays within 2048 bytes for a 1023-byte key and parses back', () => {
    let key = 'videos/';
    while (Buffer.byteLength(key + '视.mp4') <= 1023) key += '视';
    key += '.mp4';
    assert.ok(Buffer.byteLength(key) > 1018 && Buffer.byteLength(key) <= 1023);
    const src = source(key, { bucket: 'b'.repeat(63) });
    const rule = { ...defaultRule(), name: 'r'.repeat(63) };
    const userData = wire(src, rule)['UserData'] ?? '';
    assert.ok(Buffer.byteLength(userData) <= MAX_USER_DATA_BYTES, `${Buffer.byteLength(userData)} bytes`);
    assert.equal(MAX_USER_DATA_BYTES, 2048);
    assert.deepEqual(parseUserData(userData), { app: 'video-animation', v: 1, jobId: jobIdFor(src, rule.name), bucket: src.bucket, rule: rule.name });
  });

  test('parseUserData rejects what is not ours', () => {
    assert.equal(parseUserData(''), undefined);
    assert.equal(parseUserData('not json'), undefined);
    assert.equal(parseUserData('{"app":"other","v":1,"jobId":"0123456789abcdef0123456789abcdef","bucket":"b","rule":"r"}'), undefined);
    assert.equal(parseUserData('{"app":"video-animation","v":2,"jobId":"0123456789abcdef0123456789abcdef","bucket":"b","rule":"r"}'), undefined);
    assert.equal(parseUserData('{"app":"video-animation","v":1,"jobId":"../../etc","bucket":"b","rule":"r"}'), undefined);
  });
});

describe('jobIdFor', () => {
  const base = source('videos/a.mp4');

  test('is stable for the same bucket, key, eTag and rule', () => {
    assert.equal(jobIdFor(base, 'preview'), jobIdFor({ ...base }, 'preview'));
    assert.equal(jobIdFor(base, 'preview'), jobIdFor({ ...base, size: 1 }, 'preview'), 'size is not part of the identity');
    assert.equal(planJob(base, defaultRule()).jobId, jobIdFor(base, 'preview'));
  });

  test('changes when any of them changes', () => {
    const ids = new Set([
      jobIdFor(base, 'preview'),
      jobIdFor({ ...base, bucket: 'other' }, 'preview'),
      jobIdFor({ ...base, key: 'videos/b.mp4' }, 'preview'),
      jobIdFor({ ...base, eTag: '"0000"' }, 'preview'),
      jobIdFor(base, 'other'),
    ]);
    assert.equal(ids.size, 5);
  });

  test('field boundaries cannot be shifted to forge the same id', () => {
    assert.notEqual(jobIdFor({ ...base, bucket: 'ab', key: 'c' }, 'r'), jobIdFor({ ...base, bucket: 'a', key: 'bc' }, 'r'));
    assert.notEqual(jobIdFor({ ...base, eTag: 'x' }, 'yz'), jobIdFor({ ...base, eTag: 'xy' }, 'z'));
  });
});

describe('toWireQuery', () => {
  test('strings stay plain, structures and numbers become JSON, undefined is left out', () => {
    assert.deepEqual(toWireQuery({ ProjectName: 'p', TaskId: 't', Tags: { A: 'b' }, Sources: [{ URI: 'oss://b/k' }], Number: 3, UserData: undefined }), {
      ProjectName: 'p',
      TaskId: 't',
      Tags: '{"A":"b"}',
      Sources: '[{"URI":"oss://b/k"}]',
      Number: '3',
    });
  });
});
