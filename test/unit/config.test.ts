import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { DEFAULT_POLICY, DEFAULT_RECORDS_PREFIX, loadConfig } from '../../shared/wiring/config';
import { ConfigError } from '../../shared/platform/errors';

// loadConfig caches the last config per container (module level): every test passes its own env, and the tests that
// look at the cache start from a config no other test produces, so the order of tests does not matter.

const OSS_RULE = { name: 'p', prefix: 'videos/', engine: 'oss', outputs: [{ format: 'gif', key: 'a/{basename}' }] };
const IMM_RULE = { name: 'p', prefix: 'videos/', outputs: [{ format: 'gif', key: 'a/{basename}' }] };

/** An environment that loads: engine oss needs no IMM project. */
function env(extra: Record<string, string | undefined> = {}, rules: unknown = [OSS_RULE]): NodeJS.ProcessEnv {
  return { MNS_TOPIC: 'done', FC_REGION: 'cn-hangzhou', RULES: JSON.stringify(rules), ...extra };
}

function configError(extra: Record<string, string | undefined>, message: RegExp, rules?: unknown) {
  assert.throws(
    () => loadConfig({}, env(extra, rules)),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.equal(error.kind, 'config');
      assert.match(error.message, message);
      return true;
    },
  );
}

describe('loadConfig: defaults', () => {
  test('only the required variables: every default, and no optional key', () => {
    const config = loadConfig({}, env({ MNS_TOPIC: 'defaults-topic' }));
    assert.deepEqual(Object.keys(config).sort(), ['mnsTopic', 'policy', 'reconcileAfterSeconds', 'reconcileMaxJobs', 'recordsPrefix', 'region', 'rules']);
    assert.equal(config.region, 'cn-hangzhou');
    assert.equal(config.mnsTopic, 'defaults-topic');
    assert.equal(config.recordsPrefix, '.video-animation/');
    assert.equal(DEFAULT_RECORDS_PREFIX, '.video-animation/');
    assert.equal(config.reconcileAfterSeconds, 900);
    assert.equal(config.reconcileMaxJobs, 100);
    assert.deepEqual(config.policy, { ...DEFAULT_POLICY, maxTaskAttempts: 3 });
    assert.equal(config.rules.length, 1);
    assert.equal(config.rules[0]?.name, 'p');
    assert.equal(config.rules[0]?.engine, 'oss');
  });

  test('every variable set', () => {
    const config = loadConfig(
      {},
      env({
        MNS_TOPIC: 'all-topic',
        IMM_PROJECT: 'proj',
        RECORDS_PREFIX: 'records/',
        IMM_ENDPOINT: 'http://127.0.0.1:9001',
        OSS_ENDPOINT: 'oss.example.com',
        JOB_LEASE_SECONDS: '120',
        RECONCILE_AFTER_SECONDS: '60',
        RECONCILE_MAX_JOBS: '7',
        MAX_TASK_ATTEMPTS: '5',
        BUCKET: 'media',
        PRICE_PER_FRAME: '0.0025',
        PRICE_CURRENCY: 'USD',
      }),
    );
    assert.deepEqual(config, {
      region: 'cn-hangzhou',
      mnsTopic: 'all-topic',
      recordsPrefix: 'records/',
      rules: config.rules,
      reconcileAfterSeconds: 60,
      reconcileMaxJobs: 7,
      policy: { ...DEFAULT_POLICY, maxTaskAttempts: 5 },
      bucket: 'media',
      pricing: { currency: 'USD', pricePerFrame: 0.0025 },
      immProject: 'proj',
      leaseSeconds: 120,
      immEndpoint: { protocol: 'http', host: '127.0.0.1:9001' },
      ossEndpoint: { protocol: 'https', host: 'oss.example.com' },
    });
    assert.equal(config.policy.maxJobAttempts, DEFAULT_POLICY.maxJobAttempts);
  });
});

describe('loadConfig: ranges', () => {
  const accepted: [string, string, (c: ReturnType<typeof loadConfig>) => unknown, unknown][] = [
    ['JOB_LEASE_SECONDS', '86400', (c) => c.leaseSeconds, 86_400],
    ['JOB_LEASE_SECONDS', '0.5', (c) => c.leaseSeconds, 0.5],
    ['RECONCILE_AFTER_SECONDS', '604800', (c) => c.reconcileAfterSeconds, 604_800],
    ['RECONCILE_AFTER_SECONDS', '0.5', (c) => c.reconcileAfterSeconds, 0.5],
    ['RECONCILE_MAX_JOBS', '10000', (c) => c.reconcileMaxJobs, 10_000],
    ['RECONCILE_MAX_JOBS', '1', (c) => c.reconcileMaxJobs, 1],
    ['MAX_TASK_ATTEMPTS', '1', (c) => c.policy.maxTaskAttempts, 1],
    ['MAX_TASK_ATTEMPTS', '10', (c) => c.policy.maxTaskAttempts, 10],
    ['RECORDS_PREFIX', 'x/', (c) => c.recordsPrefix, 'x/'],
  ];
  for (const [name, value, read, expected] of accepted) {
    test(`${name}=${value} is accepted`, () => {
      assert.equal(read(loadConfig({}, env({ [name]: value }))), expected);
    });
  }

  const refused: [string, string, RegExp][] = [
    ['JOB_LEASE_SECONDS', '0', />0/],
    ['JOB_LEASE_SECONDS', '-5', />0/],
    ['JOB_LEASE_SECONDS', '86401', /<=86400/],
    ['JOB_LEASE_SECONDS', 'soon', /expected number/],
    ['RECONCILE_AFTER_SECONDS', '0', />0/],
    ['RECONCILE_AFTER_SECONDS', '604801', /<=604800/],
    ['RECONCILE_MAX_JOBS', '0', />0/],
    ['RECONCILE_MAX_JOBS', '10001', /<=10000/],
    ['RECONCILE_MAX_JOBS', '1.5', /expected int/],
    ['MAX_TASK_ATTEMPTS', '0', />=1/],
    ['MAX_TASK_ATTEMPTS', '11', /<=10/],
    ['MAX_TASK_ATTEMPTS', '2.5', /expected int/],
    ['RECORDS_PREFIX', '', />=1 characters/],
    ['IMM_PROJECT', '', />=1 characters/],
    ['IMM_ENDPOINT', '', />=1 characters/],
    ['OSS_ENDPOINT', '', />=1 characters/],
    ['RULES', '', />=1 characters/],
    ['BUCKET', '', />=1 characters/],
    ['FC_REGION', '', />=1 characters/],
    ['ALIBABA_CLOUD_REGION', '', />=1 characters/],
  ];
  for (const [name, value, message] of refused) {
    test(`${name}=${JSON.stringify(value)} is refused, naming the variable`, () => {
      configError({ [name]: value }, new RegExp(`^bad environment: [\\s\\S]*${message.source}[\\s\\S]*→ at ${name}$`));
    });
  }

  test('MNS_TOPIC is required and must not be empty', () => {
    configError({ MNS_TOPIC: undefined }, /^bad environment: ✖ MNS_TOPIC is required: the topic IMM notifies when a task ends\n {2}→ at MNS_TOPIC$/);
    configError({ MNS_TOPIC: '' }, /^bad environment: ✖ MNS_TOPIC must not be empty\n {2}→ at MNS_TOPIC$/);
  });
});

describe('loadConfig: pricing', () => {
  test('PRICE_PER_FRAME turns cost estimates on, in CNY unless PRICE_CURRENCY says otherwise', () => {
    assert.deepEqual(loadConfig({}, env({ PRICE_PER_FRAME: '0.001' })).pricing, { currency: 'CNY', pricePerFrame: 0.001 });
    assert.deepEqual(loadConfig({}, env({ PRICE_PER_FRAME: '0' })).pricing, { currency: 'CNY', pricePerFrame: 0 });
    assert.deepEqual(loadConfig({}, env({ PRICE_PER_FRAME: '2', PRICE_CURRENCY: 'EUR' })).pricing, { currency: 'EUR', pricePerFrame: 2 });
  });

  test('without PRICE_PER_FRAME there is no pricing, whatever the currency', () => {
    assert.ok(!('pricing' in loadConfig({}, env({ PRICE_CURRENCY: 'USD' }))));
  });

  test('a negative price or a currency that is not a code is refused', () => {
    configError({ PRICE_PER_FRAME: '-0.1' }, /^bad environment: [\s\S]*>=0[\s\S]*→ at PRICE_PER_FRAME$/);
    configError({ PRICE_PER_FRAME: 'cheap' }, /^bad environment: [\s\S]*expected number[\s\S]*→ at PRICE_PER_FRAME$/);
    for (const currency of ['usd', 'US', 'USDT', 'xUSD', 'USDx']) {
      configError({ PRICE_PER_FRAME: '1', PRICE_CURRENCY: currency }, /^bad environment: ✖ must be a currency code such as CNY\n {2}→ at PRICE_CURRENCY$/);
    }
  });
});

describe('loadConfig: region', () => {
  test('context.region first, then FC_REGION, then ALIBABA_CLOUD_REGION', () => {
    const both = { FC_REGION: 'cn-beijing', ALIBABA_CLOUD_REGION: 'cn-shanghai' };
    assert.equal(loadConfig({ region: 'cn-shenzhen' }, env(both)).region, 'cn-shenzhen');
    assert.equal(loadConfig({}, env(both)).region, 'cn-beijing');
    assert.equal(loadConfig({}, env({ FC_REGION: undefined, ALIBABA_CLOUD_REGION: 'cn-shanghai' })).region, 'cn-shanghai');
  });

  test('no region at all is a ConfigError', () => {
    configError({ FC_REGION: undefined }, /^no region: FC passes context.region; elsewhere set FC_REGION or ALIBABA_CLOUD_REGION$/);
  });
});

describe('loadConfig: rules', () => {
  afterEach(() => {
    delete (globalThis as Record<string, unknown>)['__VIDEO_ANIMATION_RULES__'];
  });

  test('RULES that is not JSON is a ConfigError naming RULES', () => {
    configError({ RULES: '[{"name":' }, /^RULES is not JSON: /);
  });

  test('invalid rules are a ConfigError listing every problem under RULES', () => {
    assert.throws(
      () => loadConfig({}, env({}, [{ name: 'p', prefix: 'videos/', outputs: [{ format: 'png', key: 'a/{basename}' }] }, { name: 'q' }])),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.name, 'ConfigError');
        assert.match(error.message, /^invalid rules in RULES:\n {2}- rule "p" outputs\[0\]\.format: /);
        assert.match(error.message, /\n {2}- rule "q" prefix: /);
        return true;
      },
    );
  });

  test('the rules are checked against RECORDS_PREFIX', () => {
    const rule = { ...OSS_RULE, prefix: 'records/', suffixes: ['json'] };
    assert.equal(loadConfig({}, env({ MNS_TOPIC: 'records-ok' }, [rule])).rules[0]?.prefix, 'records/');
    configError({ RECORDS_PREFIX: 'records/' }, /^invalid rules in RULES:[\s\S]*rule "p" suffixes: [\s\S]*job records under "records\/"/, [rule]);
  });

  test('the rules are checked against what their engine can express', () => {
    const rule = { ...OSS_RULE, outputs: [{ format: 'gif', key: 'a/{basename}', duration: 5 }] };
    configError({}, /^invalid rules in RULES:[\s\S]*rule "p" outputs\[0\]\.duration: needs interval or frames with engine oss/, [rule]);
  });

  test('no RULES and nothing embedded is a ConfigError', () => {
    configError({ RULES: undefined }, /^no rules: none were embedded at build time and RULES is not set$/);
  });

  test('without RULES the embedded rules are used, and problems name them', () => {
    (globalThis as Record<string, unknown>)['__VIDEO_ANIMATION_RULES__'] = [{ ...OSS_RULE, name: 'embedded' }];
    const config = loadConfig({}, env({ RULES: undefined, MNS_TOPIC: 'embedded-topic' }));
    assert.equal(config.rules[0]?.name, 'embedded');
    (globalThis as Record<string, unknown>)['__VIDEO_ANIMATION_RULES__'] = [{ name: 'broken' }];
    configError({ RULES: undefined, MNS_TOPIC: 'embedded-broken' }, /^invalid rules in embedded rules:\n/);
  });

  test('RULES wins over embedded rules', () => {
    (globalThis as Record<string, unknown>)['__VIDEO_ANIMATION_RULES__'] = [{ ...OSS_RULE, name: 'embedded' }];
    assert.equal(loadConfig({}, env({ MNS_TOPIC: 'rules-win' })).rules[0]?.name, 'p');
  });

  test('IMM_PROJECT is required when a rule uses the imm engine', () => {
    configError({}, /^IMM_PROJECT is required: a rule uses the imm engine$/, [OSS_RULE, { ...IMM_RULE, name: 'q', prefix: 'other/', outputs: [{ format: 'gif', key: 'b/{basename}' }] }]);
    assert.equal(loadConfig({}, env({ IMM_PROJECT: 'proj', MNS_TOPIC: 'imm-ok' }, [IMM_RULE])).immProject, 'proj');
  });

  test('IMM_PROJECT is required when an output uses frames, even with engine oss', () => {
    const framed = { ...OSS_RULE, outputs: [{ format: 'gif', key: 'a/{basename}' }, { format: 'webp', key: 'b/{basename}', frames: 10 }] };
    const plain = { ...OSS_RULE, name: 'q', prefix: 'other/', outputs: [{ format: 'gif', key: 'c/{basename}' }] };
    configError({}, /^IMM_PROJECT is required: a rule uses frames, and the video duration comes from IMM DetectMediaMeta/, [plain, framed]);
    assert.equal(loadConfig({}, env({ IMM_PROJECT: 'proj', MNS_TOPIC: 'frames-ok' }, [framed])).rules[0]?.outputs[1]?.frames, 10);
  });
});

describe('loadConfig: endpoints', () => {
  for (const name of ['IMM_ENDPOINT', 'OSS_ENDPOINT'] as const) {
    const key = name === 'IMM_ENDPOINT' ? 'immEndpoint' : 'ossEndpoint';
    test(`${name}: http://host:port, https://host and a bare host`, () => {
      assert.deepEqual(loadConfig({}, env({ [name]: 'http://localhost:9000' }))[key], { protocol: 'http', host: 'localhost:9000' });
      assert.deepEqual(loadConfig({}, env({ [name]: 'https://h.example.com/' }))[key], { protocol: 'https', host: 'h.example.com' });
      assert.deepEqual(loadConfig({}, env({ [name]: 'h.example.com:8443' }))[key], { protocol: 'https', host: 'h.example.com:8443' });
    });

    test(`${name}: not an endpoint is a ConfigError naming the variable`, () => {
      configError({ [name]: 'ftp://h/x' }, new RegExp(`^${name}: not an endpoint: "ftp://h/x"`));
    });
  }
});

describe('loadConfig: once per container', () => {
  test('the same environment gives the same object', () => {
    const e = env({ MNS_TOPIC: 'cache-same' });
    const first = loadConfig({}, e);
    assert.equal(loadConfig({}, { ...e }), first);
  });

  test('a changed environment or region gives a new config', () => {
    const first = loadConfig({}, env({ MNS_TOPIC: 'cache-a' }));
    const second = loadConfig({}, env({ MNS_TOPIC: 'cache-b' }));
    assert.notEqual(second, first);
    assert.equal(second.mnsTopic, 'cache-b');
    const third = loadConfig({ region: 'cn-beijing' }, env({ MNS_TOPIC: 'cache-b' }));
    assert.equal(third.region, 'cn-beijing');
    assert.equal(first.mnsTopic, 'cache-a');
  });

  test('variables the app does not read do not matter', () => {
    const first = loadConfig({}, env({ MNS_TOPIC: 'cache-extra' }));
    assert.equal(loadConfig({}, { ...env({ MNS_TOPIC: 'cache-extra' }), PATH: '/elsewhere' }), first);
  });
});
