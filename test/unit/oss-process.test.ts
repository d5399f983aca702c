import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ossEngineProblems, ossProcessString } from '../../shared/engines/oss-process';
import { planJob, samplePlan, type SampledPlan } from '../../shared/jobs/plan';
import type { MediaInfo } from '../../shared/jobs/sampling';
import { RuleSchema, type Rule, type RuleInput } from '../../shared/rules/schema';
import { parseRuleSet } from '../../shared/rules/validate';
import { engineRuleProblems } from '../../shared/engines/limits';

const TOPIC = { topicName: 'animations' };

/** A rule as the schema reads it, before the engine checks (which these tests exercise directly). */
function rule(outputs: RuleInput['outputs'], name = 'previews'): Rule {
  return RuleSchema.parse({ name, prefix: 'videos/', engine: 'oss', outputs });
}

function plan(outputs: RuleInput['outputs'], source = { bucket: 'media-bkt', key: 'videos/clip.mp4' }, media?: MediaInfo): SampledPlan {
  return samplePlan(planJob({ ...source, eTag: 'ETAG', size: 1000 }, rule(outputs)), media);
}

function processStrings(job: SampledPlan, settings = TOPIC): string[] {
  return job.outputs.map((output) => ossProcessString(job, output, settings));
}

describe('ossProcessString', () => {
  test('gif with pixel size, scaletype, interval, fps and maxFrames', () => {
    const job = plan([{ format: 'gif', key: 'previews/{barename}', width: 320, height: 180, scaleType: 'fit', interval: 1, frameRate: 10, maxFrames: 50 }]);
    assert.deepEqual(processStrings(job), [
      'video/animation,f_gif,num_50,inter_1000,fps_10,w_320,h_180,scaletype_fit|sys/saveas,b_bWVkaWEtYmt0,o_cHJldmlld3MvY2xpcC5naWY/notify,topic_YW5pbWF0aW9ucw',
    ]);
  });

  test('webp with ratios 0.5 sends pw_50/ph_50; num is always sent (maxFrames defaults to 300)', () => {
    const job = plan([{ format: 'webp', key: 'previews/{barename}', width: 0.5, height: 0.5 }]);
    assert.deepEqual(processStrings(job), [
      'video/animation,f_webp,num_300,pw_50,ph_50|sys/saveas,b_bWVkaWEtYmt0,o_cHJldmlld3MvY2xpcC53ZWJw/notify,topic_YW5pbWF0aW9ucw',
    ]);
  });

  test('start 2.5 s is ss_2500; a fractional frame rate is kept', () => {
    const job = plan([{ format: 'gif', key: 'previews/{barename}', start: 2.5, interval: 0.04, frameRate: 12.5 }]);
    assert.deepEqual(processStrings(job), [
      'video/animation,f_gif,ss_2500,num_300,inter_40,fps_12.5|sys/saveas,b_bWVkaWEtYmt0,o_cHJldmlld3MvY2xpcC5naWY/notify,topic_YW5pbWF0aW9ucw',
    ]);
  });

  test('duration becomes a frame count: 6 s every 0.5 s is num_12 (under maxFrames 100), and maxFrames still caps it', () => {
    const job = plan([
      { format: 'gif', key: 'a/{barename}', duration: 6, interval: 0.5, maxFrames: 100 },
      { format: 'gif', key: 'b/{barename}', duration: 6, interval: 0.5, maxFrames: 5 },
      { format: 'gif', key: 'c/{barename}', duration: 1.1, interval: 0.1 },
    ]);
    assert.deepEqual(
      processStrings(job).map((process) => process.slice(0, process.indexOf('|'))),
      ['video/animation,f_gif,num_12,inter_500', 'video/animation,f_gif,num_5,inter_500', 'video/animation,f_gif,num_11,inter_100'],
    );
  });

  test('a key with CJK, spaces and braces: braces doubled for IMM templates, then URL-safe Base64 without padding', () => {
    const job = plan([{ format: 'gif', key: '{dirname}/previews/{barename}' }], { bucket: 'media-bkt', key: 'videos/猫 {1} 月.mp4' });
    assert.equal(job.outputs[0]!.resolvedKey, 'videos/previews/猫 {1} 月.gif');
    assert.deepEqual(processStrings(job), [
      'video/animation,f_gif,num_300|sys/saveas,b_bWVkaWEtYmt0,o_dmlkZW9zL3ByZXZpZXdzL-eMqyB7ezF9fSDmnIguZ2lm/notify,topic_YW5pbWF0aW9ucw',
    ]);
  });

  test('bucket and topic encode as in the OSS guide example', () => {
    const job = plan([{ format: 'gif', key: 'previews/{barename}', width: 100, height: 100, interval: 1 }], { bucket: 'outbucket', key: 'videos/clip.mp4' });
    assert.deepEqual(processStrings(job, { topicName: 'AudioConvert' }), [
      'video/animation,f_gif,num_300,inter_1000,w_100,h_100|sys/saveas,b_b3V0YnVja2V0,o_cHJldmlld3MvY2xpcC5naWY/notify,topic_QXVkaW9Db252ZXJ0',
    ]);
  });

  test('refuses an output OSS cannot express', () => {
    const job = plan([{ format: 'gif', key: 'previews/{barename}', duration: 4 }]);
    assert.throws(() => processStrings(job), {
      message:
        'output previews/clip.gif cannot be sent to OSS: duration: needs interval or frames with engine oss (OSS has no duration parameter; the window is sent as num frames every inter)',
    });
  });
});

describe('ossEngineProblems', () => {
  test('none for what OSS expresses', () => {
    assert.deepEqual(
      ossEngineProblems(
        rule([
          { format: 'gif', key: 'a/{barename}', width: 0.29, height: 0.5, start: 1.25, duration: 3, interval: 0.1, frameRate: 60, scaleType: 'crop' },
          { format: 'webp', key: 'b/{barename}', width: 4096, height: 32, start: 7 },
        ]),
      ),
      [],
    );
  });

  test('names every field OSS cannot express', () => {
    const problems = ossEngineProblems(
      rule(
        [
          { format: 'gif', key: 'a/{barename}', duration: 5 },
          { format: 'webp', key: 'b/{barename}', width: 0.333, height: 0.125 },
          { format: 'gif', key: 'c/{barename}', start: 1.0005, interval: 0.0333 },
        ],
        'clips',
      ),
    );
    assert.deepEqual(problems, [
      'rule "clips" outputs[0].duration: needs interval or frames with engine oss (OSS has no duration parameter; the window is sent as num frames every inter)',
      'rule "clips" outputs[1].width: 0.333 must be a whole percent of the source, e.g. 0.33, with engine oss (OSS takes pw as an integer percent)',
      'rule "clips" outputs[1].height: 0.125 must be a whole percent of the source, e.g. 0.13, with engine oss (OSS takes ph as an integer percent)',
      'rule "clips" outputs[2].start: 1.0005 must be a whole number of milliseconds with engine oss (OSS takes ss in integer ms)',
      'rule "clips" outputs[2].interval: 0.0333 must be a whole number of milliseconds with engine oss (OSS takes inter in integer ms)',
    ]);
  });
});

describe('rule validation with engine oss', () => {
  test('fails the rule set with the field and the engine named', () => {
    assert.throws(
      () => parseRuleSet([{ name: 'clips', prefix: 'videos/', engine: 'oss', outputs: [{ format: 'gif', key: 'a/{barename}', duration: 5 }] }], { recordsPrefix: 'jobs/', engineProblems: engineRuleProblems }),
      /rule "clips" outputs\[0\]\.duration: needs interval or frames with engine oss/,
    );
  });
  test('does not require a shared window: each output is its own call', () => {
    const rules = parseRuleSet(
      [{ name: 'clips', prefix: 'videos/', engine: 'oss', outputs: [{ format: 'gif', key: 'a/{barename}', start: 1 }, { format: 'webp', key: 'a/{barename}', start: 3 }] }],
      { recordsPrefix: 'jobs/', engineProblems: engineRuleProblems },
    );
    assert.equal(rules.length, 1);
  });
});
