import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../shared/platform/errors';
import { invocationCredentials } from '../../shared/clients/credentials';
import { parseEndpoint } from '../../shared/clients/endpoint';
import { IMM_API_VERSION, toWireQuery } from '../../shared/clients/imm';
import { immParams } from '../../packages/local-cloud/test/helpers/imm-openapi-client';

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

describe('invocationCredentials', () => {
  it("takes the function role's credentials from the FC context, with the STS token when there is one", () => {
    const env = { ALIBABA_CLOUD_ACCESS_KEY_ID: 'env-id', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'env-secret' };
    assert.deepEqual(invocationCredentials({ accessKeyId: 'id', accessKeySecret: 'secret', securityToken: 'token' }, env), { accessKeyId: 'id', accessKeySecret: 'secret', securityToken: 'token' });
    assert.deepEqual(invocationCredentials({ accessKeyId: 'id', accessKeySecret: 'secret' }, env), { accessKeyId: 'id', accessKeySecret: 'secret' });
    assert.deepEqual(invocationCredentials({ accessKeyId: 'id', accessKeySecret: 'secret', securityToken: '' }, env), { accessKeyId: 'id', accessKeySecret: 'secret' });
  });

  it('otherwise the standard environment variables', () => {
    const env: NodeJS.ProcessEnv = { ALIBABA_CLOUD_ACCESS_KEY_ID: 'env-id', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'env-secret' };
    assert.deepEqual(invocationCredentials(undefined, env), { accessKeyId: 'env-id', accessKeySecret: 'env-secret' });
    assert.deepEqual(invocationCredentials({ accessKeyId: 'ctx-id' }, env), { accessKeyId: 'env-id', accessKeySecret: 'env-secret' }, 'half a pair in the context is not used');
    assert.deepEqual(invocationCredentials({ accessKeySecret: 'ctx-secret' }, env), { accessKeyId: 'env-id', accessKeySecret: 'env-secret' });
    env['ALIBABA_CLOUD_SECURITY_TOKEN'] = 'env-token';
    assert.deepEqual(invocationCredentials({}, env), { accessKeyId: 'env-id', accessKeySecret: 'env-secret', securityToken: 'env-token' });
  });

  it('no key pair anywhere is a configuration error that says what to do', () => {
    for (const env of [{}, { ALIBABA_CLOUD_ACCESS_KEY_ID: 'id' }, { ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'secret' }, { ALIBABA_CLOUD_ACCESS_KEY_ID: '', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'secret' }]) {
      assert.throws(() => invocationCredentials(undefined, env), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /give the function a role/);
        return true;
      }, JSON.stringify(env));
    }
  });
});
