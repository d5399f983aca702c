import Ajv from 'ajv';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { validateSpecRules } from '../deploy/checks';
import { loadSpec, SpecError, type FunctionSpec } from '../deploy/spec';
import { RulesConfigError } from '../shared/rules/validate';

const ROOT = path.join(__dirname, '..');
const S_YAML = path.join(ROOT, 's.yaml');
const fixture = (name: string) => path.join(__dirname, 'fixtures', 'specs', name);

/** Every resource's props with `${...}` resolved, read by Serverless Devs' own parser as `s deploy` does. */
async function resolvedProps(file: string): Promise<{ resource: string; component: string; props: unknown }[]> {
  const { default: ParseSpec } = await import('@serverless-devs/parse-spec');
  const saved = { ...process.env };
  Object.assign(process.env, { AccountID: '1234567890', AccessKeyID: 'local', AccessKeySecret: 'local' });
  const quiet = () => undefined;
  const logger = { debug: quiet, info: quiet, warn: quiet, error: quiet, write: quiet, output: quiet, append: quiet };
  try {
    const parsed = (await new ParseSpec(file, { argv: ['deploy'], logger } as never).start()) as {
      steps: { projectName: string; component: string; props: unknown }[];
    };
    return parsed.steps.map((step) => ({ resource: step.projectName, component: step.component, props: step.props }));
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

/** The fc3 component's own schema for a resource's props (devsapp/fc3 src/schema.json, MIT; see fixtures/fc3/LICENSE.txt). */
function fc3Validator() {
  const schema = JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'fc3', 'props.schema.json'), 'utf8')) as object;
  return new Ajv({ strict: false, allErrors: true }).compile(schema);
}

function byResource(functions: FunctionSpec[], resource: string): FunctionSpec {
  const found = functions.find((f) => f.resource === resource);
  assert.ok(found, `no resource ${resource}`);
  return found;
}

describe('loadSpec(s.yaml)', async () => {
  const spec = await loadSpec(S_YAML);
  const submit = byResource(spec.functions, 'submit');
  const record = byResource(spec.functions, 'record');
  const reconcile = byResource(spec.functions, 'reconcile');

  test('three fc3 functions: submit, record and reconcile', () => {
    assert.deepEqual(spec.functions.map((f) => f.resource).sort(), ['reconcile', 'record', 'submit']);
    assert.equal(submit.functionName, 'video-animation-submit');
    assert.equal(record.functionName, 'video-animation-record');
    assert.equal(reconcile.functionName, 'video-animation-reconcile');
    for (const f of [submit, record, reconcile]) {
      assert.equal(f.handler, 'index.handler');
      assert.equal(f.region, 'cn-hangzhou');
      assert.equal(f.codeDir, path.join(ROOT, 'dist', f.resource));
    }
  });

  test('timeouts are set well above the fc3 default of 3 s', () => {
    assert.equal(submit.timeoutSeconds, 60);
    assert.equal(record.timeoutSeconds, 60);
    assert.equal(submit.memoryMB, 256);
  });

  test('environment: IMM project, topic, records bucket and prefix, task attempts as strings; record and reconcile publish events; reconcile knows its bucket', () => {
    const expected = {
      IMM_PROJECT: 'video-animation',
      MNS_TOPIC: 'video-animation-done',
      RECORDS_BUCKET: 'my-video-bucket',
      RECORDS_PREFIX: '.video-animation/',
      MAX_TASK_ATTEMPTS: '3',
      PRICE_PER_FRAME: '',
      PRICE_CURRENCY: 'CNY',
    };
    assert.deepEqual(submit.env, expected);
    assert.deepEqual(record.env, { ...expected, EVENTS_TOPIC: 'video-animation-events' });
    assert.deepEqual(reconcile.env, { ...expected, EVENTS_TOPIC: 'video-animation-events', BUCKET: 'my-video-bucket', RECONCILE_AFTER_SECONDS: '900' });
  });

  test('RECORDS_BUCKET follows vars.recordsBucket; EVENTS_TOPIC is empty when vars.events is off', async () => {
    const custom = await loadSpec(S_YAML, { RECORDS_BUCKET: 'my-records', EVENTS: 'false' });
    for (const f of custom.functions) assert.equal(f.env['RECORDS_BUCKET'], 'my-records', f.resource);
    assert.deepEqual(custom.functions.map((f) => f.env['EVENTS_TOPIC']), [undefined, '', '']);
  });

  test('every function writes its logs to the log project and store the stack creates', () => {
    for (const f of [submit, record, reconcile]) {
      assert.deepEqual(f.logConfig, { project: spec.stacks[0]!.outputs['LogProjectName'], logstore: 'functions' }, f.resource);
    }
    assert.match(spec.stacks[0]!.outputs['LogProjectName']!, /^video-animation-cn-hangzhou-\d+$/);
  });

  test('submit runs at most vars.submitConcurrency (10) at once, SUBMIT_CONCURRENCY overrides it; the others are uncapped', async () => {
    assert.equal(submit.reservedConcurrency, 10);
    assert.equal(record.reservedConcurrency, undefined);
    assert.equal(reconcile.reservedConcurrency, undefined);
    const custom = await loadSpec(S_YAML, { SUBMIT_CONCURRENCY: '4' });
    assert.equal(byResource(custom.functions, 'submit').reservedConcurrency, 4);
    await assert.rejects(loadSpec(S_YAML, { SUBMIT_CONCURRENCY: '-1' }), (error: unknown) => {
      assert.ok(error instanceof SpecError);
      assert.match(error.message, /resources\.submit\.props.*concurrencyConfig\.reservedConcurrency/s);
      return true;
    });
  });

  test('reconcile runs on a timer every 10 minutes, never retried (the next run is the retry)', () => {
    assert.deepEqual(reconcile.timerTriggers, [{ name: 'video-animation-every-10m', cronExpression: '@every 10m', enable: true }]);
    assert.equal(reconcile.maxAsyncRetryAttempts, 0);
    assert.deepEqual([reconcile.ossTriggers, reconcile.mnsTriggers], [[], []]);
  });

  test('submit has the OSS trigger with all three upload events and both removals on videos/', () => {
    assert.deepEqual(submit.ossTriggers, [
      {
        name: 'video-animation-oss-my-video-bucket',
        region: 'cn-hangzhou',
        bucket: 'my-video-bucket',
        events: ['oss:ObjectCreated:PutObject', 'oss:ObjectCreated:PostObject', 'oss:ObjectCreated:CompleteMultipartUpload', 'oss:ObjectRemoved:DeleteObject', 'oss:ObjectRemoved:DeleteObjects'],
        prefix: 'videos/',
        suffix: '',
      },
    ]);
    assert.deepEqual(submit.mnsTriggers, []);
  });

  test('record has the MNS topic trigger: JSON, EXPONENTIAL_DECAY_RETRY', () => {
    assert.deepEqual(record.mnsTriggers, [
      { name: 'video-animation-mns-video-animation-done', topic: 'video-animation-done', notifyContentFormat: 'JSON', notifyStrategy: 'EXPONENTIAL_DECAY_RETRY' },
    ]);
    assert.deepEqual(record.ossTriggers, []);
  });

  test('failed async invocations go to the failure topic after 3 retries', () => {
    for (const f of [submit, record]) {
      assert.equal(f.maxAsyncRetryAttempts, 3);
      assert.equal(f.onFailureDestination, 'acs:mns:cn-hangzhou::/topics/video-animation-failed/messages');
    }
  });

  test('vars.rules comes through as written and passes validateSpecRules', () => {
    assert.ok(Array.isArray(spec.rules));
    assert.equal((spec.rules as { name: string }[])[0]?.name, 'preview');
    assert.doesNotThrow(() => validateSpecRules(spec));
  });

  test('env variables override vars (BUCKET, REGION, MNS_TOPIC) and are restored afterwards', async () => {
    const before = { BUCKET: process.env['BUCKET'], AccountID: process.env['AccountID'] };
    const custom = await loadSpec(S_YAML, { BUCKET: 'other-bucket', REGION: 'cn-shanghai', MNS_TOPIC: 'done-2' });
    const s = byResource(custom.functions, 'submit');
    const r = byResource(custom.functions, 'record');
    assert.equal(s.ossTriggers[0]?.bucket, 'other-bucket');
    assert.equal(s.ossTriggers[0]?.region, 'cn-shanghai');
    assert.equal(s.region, 'cn-shanghai');
    assert.equal(r.mnsTriggers[0]?.topic, 'done-2');
    assert.equal(s.env['MNS_TOPIC'], 'done-2');
    assert.deepEqual({ BUCKET: process.env['BUCKET'], AccountID: process.env['AccountID'] }, before);
  });
});

describe('fc3 props schema', async () => {
  const validate = fc3Validator();

  test('every fc3 resource in s.yaml passes the fc3 JSON schema (the stack is the one ros resource)', async () => {
    const resources = await resolvedProps(S_YAML);
    assert.deepEqual(resources.map((r) => `${r.resource}:${r.component}`).sort(), ['reconcile:fc3', 'record:fc3', 'stack:ros', 'submit:fc3']);
    for (const { resource, props } of resources.filter((r) => r.component === 'fc3')) {
      assert.ok(validate(props), `${resource}: ${JSON.stringify(validate.errors, null, 1)}`);
    }
  });

  test('a fixture with a typo\'d field type fails, naming the fields', async () => {
    const [submit] = await resolvedProps(fixture('typo-type.yaml'));
    assert.ok(submit);
    assert.equal(validate(submit.props), false);
    const paths = (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
    assert.ok(paths.includes('/timeout must be integer'), paths.join('\n'));
    assert.ok(paths.some((p) => p.startsWith('/triggers/0/triggerType must be equal to one of the allowed values')), paths.join('\n'));
  });

  test('loadSpec also refuses the quoted timeout, naming the resource and field', async () => {
    await assert.rejects(loadSpec(fixture('typo-type.yaml')), (error: unknown) => {
      assert.ok(error instanceof SpecError);
      assert.match(error.message, /^s\.yaml resources\.submit\.props: [\s\S]*timeout/);
      return true;
    });
  });
});

describe('validateSpecRules on fixtures', () => {
  test('frames without IMM_PROJECT: the build says the duration comes from DetectMediaMeta on that project', async () => {
    const spec = await loadSpec(fixture('frames-without-project.yaml'));
    assert.throws(() => validateSpecRules(spec), (error: unknown) => {
      assert.ok(error instanceof SpecError);
      assert.match(error.message, /rules "summary" use frames: .*IMM DetectMediaMeta.*IMM_PROJECT must name the IMM project \(with engine oss: the project attached to the bucket\)/);
      return true;
    });
  });

  test('a rule prefix outside the trigger prefix: the rule "would never fire"', async () => {
    const spec = await loadSpec(fixture('outside-trigger.yaml'));
    assert.throws(
      () => validateSpecRules(spec),
      (error: unknown) => {
        assert.ok(error instanceof RulesConfigError);
        assert.deepEqual(error.problems, ['rule "movies" prefix: "movies/" is under no OSS trigger prefix ("videos/"); the rule would never fire: set vars.watchPrefix in s.yaml (the trigger\'s filter.key.prefix) to a start of "movies/" ("" watches every key) or move the rule under "videos/"']);
        assert.match(error.message, /^invalid rules in s\.yaml vars\.rules:/);
        return true;
      },
    );
  });

  test('a bad rule field is named', async () => {
    const spec = await loadSpec(fixture('bad.yaml'));
    assert.throws(
      () => validateSpecRules(spec),
      (error: unknown) => {
        assert.ok(error instanceof RulesConfigError);
        assert.deepEqual(error.problems, [
          'rule "preview" outputs[0].width: must be an integer number of pixels from 32 to 4096, or a ratio of the source between 0 and 1 (exclusive)',
          'rule "preview" outputs[0]: unknown field "fps"',
        ]);
        return true;
      },
    );
  });

  test('a trigger without CompleteMultipartUpload', async () => {
    const spec = await loadSpec(fixture('missing-multipart.yaml'));
    assert.throws(() => validateSpecRules(spec), {
      name: 'RulesConfigError',
      message:
        'invalid rules in s.yaml vars.rules:\n  - OSS trigger "video-uploads" events: missing oss:ObjectCreated:CompleteMultipartUpload; uploads made that way would never be processed',
    });
  });
});

describe('build with a bad spec', () => {
  test('exits non-zero and prints the rule problem', () => {
    const result = spawnSync('npx', ['tsx', 'scripts/build.ts', 'test/fixtures/specs/bad.yaml'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /^build failed: invalid rules in s\.yaml vars\.rules:$/m);
    assert.ok(result.stderr.includes('  - rule "preview" outputs[0]: unknown field "fps"'), result.stderr);
    assert.ok(result.stderr.includes('  - rule "preview" outputs[0].width: must be an integer number of pixels from 32 to 4096'), result.stderr);
    assert.doesNotMatch(result.stdout, /KiB/, 'nothing was bundled');
  });
});
