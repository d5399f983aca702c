import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLogger, type Logger } from '../../shared/platform/log';

const SECRETS = ['AKIDsecretvalue', 'SKsecretvalue', 'STStokenvalue', 'sigvalue123', 'passw0rdvalue'];

function capture(base?: Record<string, unknown>): { lines: string[]; logger: Logger } {
  const lines: string[] = [];
  return { lines, logger: createLogger(base, (line) => lines.push(line)) };
}

function assertNoSecrets(lines: string[]) {
  assert.ok(lines.length > 0, 'nothing was logged');
  for (const line of lines) {
    for (const secret of SECRETS) assert.ok(!line.includes(secret), `"${secret}" printed in ${line}`);
  }
}

const SIGNED_V1 = 'https://bkt.oss-cn-hangzhou.aliyuncs.com/videos/a.mp4?OSSAccessKeyId=AKIDsecretvalue&Expires=1724133063&Signature=sigvalue123%3D';
const SIGNED_STS = 'https://bkt.oss-cn-hangzhou.aliyuncs.com/a.gif?Expires=1&OSSAccessKeyId=AKIDsecretvalue&Signature=sigvalue123&security-token=STStokenvalue';
const SIGNED_V4 =
  'https://bkt.oss-cn-hangzhou.aliyuncs.com/a.gif?x-oss-credential=AKIDsecretvalue%2F20240820%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20240820T000000Z&x-oss-signature=sigvalue123';

describe('createLogger', () => {
  test('one JSON line per call with level, message and fields', () => {
    const { lines, logger } = capture({ requestId: 'r-1' });
    logger.info('submitted', { jobId: 'j', count: 2 });
    logger.warn('slow');
    logger.error('failed', { code: 'InvalidArgument' });
    assert.deepEqual(
      lines.map((l) => JSON.parse(l)),
      [
        { level: 'info', message: 'submitted', requestId: 'r-1', jobId: 'j', count: 2 },
        { level: 'warn', message: 'slow', requestId: 'r-1' },
        { level: 'error', message: 'failed', requestId: 'r-1', code: 'InvalidArgument' },
      ],
    );
  });

  test('values under secret-looking keys are never printed, at any depth', () => {
    const { lines, logger } = capture();
    logger.info('credentials', {
      accessKeyId: 'AKIDsecretvalue',
      accessKeySecret: 'SKsecretvalue',
      securityToken: 'STStokenvalue',
      nested: { credentials: { accessKeySecret: 'SKsecretvalue' }, headers: { Authorization: 'OSS AKIDsecretvalue:sigvalue123' } },
      list: [{ authorization: 'Bearer STStokenvalue' }, { password: 'passw0rdvalue' }],
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'SKsecretvalue',
      'x-oss-security-token': 'STStokenvalue',
    });
    assertNoSecrets(lines);
    const fields = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    assert.equal(fields['accessKeySecret'], '[redacted]');
    assert.deepEqual(fields['list'], [{ authorization: '[redacted]' }, { password: '[redacted]' }]);
  });

  test('secrets in the base fields and in child loggers', () => {
    const { lines, logger } = capture({ securityToken: 'STStokenvalue' });
    logger.child({ accessKeySecret: 'SKsecretvalue', rule: 'preview' }).info('child', { Authorization: 'OSS x:sigvalue123' });
    assertNoSecrets(lines);
    assert.equal((JSON.parse(lines[0] ?? '') as Record<string, unknown>)['rule'], 'preview');
  });

  test('signatures and key ids in signed URLs are never printed; the rest of the URL is', () => {
    const { lines, logger } = capture();
    logger.info('urls', { url: SIGNED_V1, sts: SIGNED_STS, v4: SIGNED_V4, inText: `GET ${SIGNED_V1} -> 403` });
    assertNoSecrets(lines);
    for (const line of lines) {
      assert.ok(!/Signature=(?!\[redacted\])/i.test(line), line);
      assert.ok(!/OSSAccessKeyId=(?!\[redacted\])/.test(line), line);
    }
    const fields = JSON.parse(lines[0] ?? '') as Record<string, string>;
    assert.equal(fields['url'], 'https://bkt.oss-cn-hangzhou.aliyuncs.com/videos/a.mp4?OSSAccessKeyId=[redacted]&Expires=1724133063&Signature=[redacted]');
  });

  test('signed URLs in the message itself are never printed', () => {
    const { lines, logger } = capture();
    logger.error(`download failed: ${SIGNED_V1}`);
    assertNoSecrets(lines);
    assert.match((JSON.parse(lines[0] ?? '') as { message: string }).message, /^download failed: https:\/\/bkt\.oss-cn-hangzhou\.aliyuncs\.com\/videos\/a\.mp4\?/);
  });

  test('Error objects: message kept, secrets in their message and properties removed', () => {
    const { lines, logger } = capture();
    const error = Object.assign(new Error(`request to ${SIGNED_STS} failed`), {
      code: 'AccessDenied',
      status: 403,
      params: { accessKeySecret: 'SKsecretvalue', headers: { authorization: 'OSS AKIDsecretvalue:sigvalue123' } },
      requestUrl: SIGNED_V1,
    });
    logger.error('oss failed', { error, wrapped: { cause: error } });
    assertNoSecrets(lines);
    const fields = JSON.parse(lines[0] ?? '') as { error: Record<string, unknown> };
    assert.equal(fields.error['name'], 'Error');
    assert.equal(fields.error['code'], 'AccessDenied');
    assert.equal(fields.error['status'], 403);
    assert.match(String(fields.error['message']), /^request to https:\/\/bkt\.oss-cn-hangzhou\.aliyuncs\.com\/a\.gif\?/);
  });

  test('a secret nested deeper than the redaction walks is still not printed', () => {
    const { lines, logger } = capture();
    let deep: Record<string, unknown> = { accessKeySecret: 'SKsecretvalue', url: SIGNED_V1 };
    for (let i = 0; i < 12; i++) deep = { inner: deep };
    logger.info('deep', { deep });
    assertNoSecrets(lines);
  });

  test('objects are walked six levels deep; below that "[too deep]"', () => {
    const { lines, logger } = capture();
    logger.info('deep', { a: { b: { c: { d: { e: { f: { g: { h: 1 } }, s: 'kept' } } } } } });
    const fields = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    assert.deepEqual(fields['a'], { b: { c: { d: { e: { f: { g: '[too deep]' }, s: 'kept' } } } } });
  });

  test('arrays count as levels too', () => {
    const { lines, logger } = capture();
    logger.info('deep', { l: [[[[[[[1]]]]]]], m: [[[[[['x']]]]]] });
    const fields = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    assert.deepEqual(fields['l'], [[[[[['[too deep]']]]]]]);
    assert.deepEqual(fields['m'], [[[[[['x']]]]]]);
  });

  test('by default each line goes to console.log', (t) => {
    const printed: unknown[] = [];
    t.mock.method(console, 'log', (line: unknown) => printed.push(line));
    createLogger({ fn: 'f' }).warn('to stdout');
    assert.deepEqual(printed, ['{"fn":"f","level":"warn","message":"to stdout"}']);
  });

  test('a circular structure (as in HTTP client errors) does not make logging throw', () => {
    const { lines, logger } = capture();
    const request: Record<string, unknown> = { url: SIGNED_V1, headers: { Authorization: 'OSS AKIDsecretvalue:sigvalue123' } };
    request['self'] = request;
    const error = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', request });
    assert.doesNotThrow(() => logger.error('network', { error }));
    assertNoSecrets(lines);
  });
});
