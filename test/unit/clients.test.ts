import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { resolveCredentials } from '../../shared/clients/credentials';
import { parseEndpoint } from '../../shared/clients/endpoint';
import { IMM_API_VERSION, toWireQuery } from '../../shared/clients/imm';
import { immParams } from '../helpers/imm-openapi-client';

describe('parseEndpoint', () => {
  it('http(s)://host[:port], with or without a trailing slash, keeps its protocol', () => {
    assert.deepEqual(parseEndpoint('http://127.0.0.1:9000'), { protocol: 'http', host: '127.0.0.1:9000' });
    assert.deepEqual(parseEndpoint('http://localhost/'), { protocol: 'http', host: 'localhost' });
    assert.deepEqual(parseEndpoint('https://imm.cn-hangzhou.aliyuncs.com'), { protocol: 'https', host: 'imm.cn-hangzhou.aliyuncs.com' });
    assert.deepEqual(parseEndpoint('https://oss:8443/'), { protocol: 'https', host: 'oss:8443' });
  });

  it('a bare host or host:port means HTTPS', () => {
    assert.deepEqual(parseEndpoint('oss-cn-hangzhou-internal.aliyuncs.com'), { protocol: 'https', host: 'oss-cn-hangzhou-internal.aliyuncs.com' });
    assert.deepEqual(parseEndpoint('localhost:9000'), { protocol: 'https', host: 'localhost:9000' });
    assert.deepEqual(parseEndpoint('h'), { protocol: 'https', host: 'h' });
  });

  it('refuses anything else, quoting it', () => {
    for (const value of [
      '',
      'ftp://host',
      'xhttp://host',
      'http://',
      'http:///',
      'http://host/path',
      'http://host//',
      'http://ho st',
      'http://host ',
      'host/path',
      '/host',
      'ho st',
      ' host',
      'host ',
      'host:',
      'host:port',
      'host:12/x',
      'host:1:2',
      ':9000',
    ]) {
      assert.throws(() => parseEndpoint(value), { message: `not an endpoint: "${value}" (expected host, host:port, or http(s)://host[:port])` }, JSON.stringify(value));
    }
  });
});

describe('IMM API version', () => {
  it('is the one the SDK-style test client (and the generated @alicloud/imm20200930 SDK) calls', () => {
    assert.equal(IMM_API_VERSION, immParams('GetTask').version);
    assert.equal(IMM_API_VERSION, '2020-09-30');
  });
});

describe('toWireQuery', () => {
  it('strings stay as they are, everything else is JSON, undefined is left out', () => {
    assert.deepEqual(toWireQuery({ ProjectName: 'p', Empty: '', Json: '{"a":1}', Number: 3, Zero: 0, Flag: false, Nothing: null, Tags: { A: 'b' }, List: ['x'], UserData: undefined }), {
      ProjectName: 'p',
      Empty: '',
      Json: '{"a":1}',
      Number: '3',
      Zero: '0',
      Flag: 'false',
      Nothing: 'null',
      Tags: '{"A":"b"}',
      List: '["x"]',
    });
    assert.deepEqual(Object.keys(toWireQuery({ A: undefined, B: 'b' })), ['B']);
  });
});

describe('resolveCredentials', () => {
  const NAMES = ['ALIBABA_CLOUD_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'ALIBABA_CLOUD_SECURITY_TOKEN'] as const;
  let saved: Record<string, string | undefined>;
  beforeEach(() => {
    saved = Object.fromEntries(NAMES.map((name) => [name, process.env[name]]));
    for (const name of NAMES) delete process.env[name];
  });
  afterEach(() => {
    for (const name of NAMES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('takes the function role\'s credentials from the FC context, with the STS token when there is one', async () => {
    assert.deepEqual(await resolveCredentials({ accessKeyId: 'id', accessKeySecret: 'secret', securityToken: 'token' }), { accessKeyId: 'id', accessKeySecret: 'secret', securityToken: 'token' });
    assert.deepEqual(await resolveCredentials({ accessKeyId: 'id', accessKeySecret: 'secret' }), { accessKeyId: 'id', accessKeySecret: 'secret' });
    assert.deepEqual(await resolveCredentials({ accessKeyId: 'id', accessKeySecret: 'secret', securityToken: '' }), { accessKeyId: 'id', accessKeySecret: 'secret' });
  });

  it('otherwise the default chain: the environment first', async () => {
    process.env['ALIBABA_CLOUD_ACCESS_KEY_ID'] = 'env-id';
    process.env['ALIBABA_CLOUD_ACCESS_KEY_SECRET'] = 'env-secret';
    assert.deepEqual(await resolveCredentials(undefined), { accessKeyId: 'env-id', accessKeySecret: 'env-secret' });
    assert.deepEqual(await resolveCredentials({ accessKeyId: 'ctx-id' }), { accessKeyId: 'env-id', accessKeySecret: 'env-secret' }, 'half a pair in the context is not used');
    assert.deepEqual(await resolveCredentials({ accessKeySecret: 'ctx-secret' }), { accessKeyId: 'env-id', accessKeySecret: 'env-secret' });
    process.env['ALIBABA_CLOUD_SECURITY_TOKEN'] = 'env-token';
    assert.deepEqual(await resolveCredentials({}), { accessKeyId: 'env-id', accessKeySecret: 'env-secret', securityToken: 'env-token' });
  });

  it('a chain that yields no key pair is an error', async () => {
    // The real chain with nothing configured ends in network calls (ECS metadata, a credentials URI), so the
    // library's answer is stubbed here: the guard under test is resolveCredentials' own.
    const { default: Credential } = await import('@alicloud/credentials');
    const original = Credential.prototype.getCredential;
    try {
      for (const answer of [{}, { accessKeyId: 'id' }, { accessKeySecret: 'secret' }, { accessKeyId: '', accessKeySecret: 'secret' }]) {
        Credential.prototype.getCredential = async () => answer as Awaited<ReturnType<typeof original>>;
        await assert.rejects(resolveCredentials(undefined), { message: 'no Alibaba Cloud credentials found (context, environment or default chain)' }, JSON.stringify(answer));
      }
    } finally {
      Credential.prototype.getCredential = original;
    }
  });
});
