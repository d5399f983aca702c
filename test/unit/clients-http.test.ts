import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { NetworkError, sendHttp, ServiceResponseError } from '../../shared/clients/http';
import { createImmClient } from '../../shared/clients/imm';
import { bucketAddress, createBucketClient } from '../../shared/clients/oss';
import { xmlEscape, xmlText } from '../../shared/clients/xml';
import { describeServiceError } from '../../shared/platform/errors';
import { startRecordingServer } from '../helpers/recording-server';

/** How the functions' OSS and IMM clients read each kind of answer (what they send is in signing.test.ts). */

let server: Awaited<ReturnType<typeof startRecordingServer>>;
before(async () => {
  server = await startRecordingServer();
});
after(() => server.close());
beforeEach(() => server.reset());

const KEY = { accessKeyId: 'AK', accessKeySecret: 'SK' };
const bucket = (endpointHost = `127.0.0.1:${server.port}`) =>
  createBucketClient({ bucket: 'media', region: 'cn-hangzhou', credentials: KEY, endpoint: { protocol: 'http', host: endpointHost } });
const ossXmlError = (status: number, code: string, message = code) => ({
  status,
  type: 'application/xml',
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>RID</RequestId></Error>`,
});

describe('OSS client: answers', () => {
  it('HEAD: size, ETag without quotes and content type; 404 is "no object"; another status is an error', async () => {
    server.answerNext({ status: 200, type: 'video/mp4', headers: { etag: '"5B3C1A"', 'content-length': '1234' } }, { status: 404 }, { status: 403 });
    const client = bucket();
    // A HEAD answer has no body, so the length header stands for the object's size.
    assert.deepEqual(await client.head('videos/a.mp4'), { size: 1234, eTag: '5B3C1A', contentType: 'video/mp4' });
    assert.equal(await client.head('videos/gone.mp4'), undefined);
    await assert.rejects(client.head('videos/denied.mp4'), { name: 'ServiceResponseError', status: 403, code: 'Http403', requestId: 'REQ' });
    assert.deepEqual(server.requests.map((r) => `${r.method} ${r.url}`), ['HEAD /media/videos/a.mp4', 'HEAD /media/videos/gone.mp4', 'HEAD /media/videos/denied.mp4']);
  });

  it('GET: the bytes, as text in UTF-8; 404 is "no object"; other errors carry OSS code and message', async () => {
    server.answerNext({ status: 200, type: 'application/json', body: '{"猫":1}' }, ossXmlError(404, 'NoSuchKey'), ossXmlError(403, 'AccessDenied', 'You have no right to access this object.'));
    const client = bucket();
    assert.equal(await client.getText('a.json'), '{"猫":1}');
    assert.equal(await client.getBytes('b.json'), undefined);
    await assert.rejects(client.getBytes('c.json'), { status: 403, code: 'AccessDenied', message: 'You have no right to access this object.', requestId: 'RID' });
  });

  it('PUT: JSON by default or the given type; create-only sends x-oss-forbid-overwrite and turns FileAlreadyExists into "exists"', async () => {
    server.answerNext({ status: 200 }, { status: 200 }, ossXmlError(409, 'FileAlreadyExists'), ossXmlError(409, 'FileAlreadyExists'), ossXmlError(409, 'PositionNotEqualToLength'));
    const client = bucket();
    assert.equal(await client.putText('a.json', '{}'), 'written');
    assert.equal(await client.putText('open/a', '', { contentType: 'text/plain', createOnly: true }), 'written');
    assert.equal(await client.putText('a.json', '{}', { createOnly: true }), 'exists');
    await assert.rejects(client.putText('a.json', '{}'), { status: 409, code: 'FileAlreadyExists' }, 'an overwrite is not create-only');
    await assert.rejects(client.putText('a.json', '{}', { createOnly: true }), { code: 'PositionNotEqualToLength' });
    const [plain, createOnly] = server.requests;
    assert.equal(plain?.headers['content-type'], 'application/json');
    assert.equal(plain?.headers['x-oss-forbid-overwrite'], undefined);
    assert.equal(plain?.body, '{}');
    assert.equal(createOnly?.headers['content-type'], 'text/plain');
    assert.equal(createOnly?.headers['x-oss-forbid-overwrite'], 'true');
    assert.equal(createOnly?.headers['content-length'], '0');
  });

  it('a redirect is an error, not a success (OSS answers 301 PermanentRedirect to a request at the wrong endpoint)', async () => {
    server.answerNext(ossXmlError(301, 'PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint.'), { status: 300 });
    const client = bucket();
    await assert.rejects(client.putText('a.json', '{}'), { status: 301, code: 'PermanentRedirect' });
    await assert.rejects(client.delete('a.json'), { status: 300, code: 'Http300' });
  });

  it('DELETE and tagging succeed on any 2xx and fail otherwise', async () => {
    server.answerNext({ status: 204 }, ossXmlError(403, 'AccessDenied'), { status: 200 }, ossXmlError(400, 'InvalidTag'));
    const client = bucket();
    await client.delete('a.json');
    await assert.rejects(client.delete('b.json'), { code: 'AccessDenied' });
    await client.putTags('a.gif', { job: 'j<1>' });
    await assert.rejects(client.putTags('a.gif', { job: 'j' }), { status: 400, code: 'InvalidTag' });
    assert.equal(server.requests[0]?.method, 'DELETE');
    assert.equal(server.requests[2]?.headers['content-type'], 'application/xml');
    assert.match(server.requests[2]?.body ?? '', /<Key>job<\/Key><Value>j&lt;1&gt;<\/Value>/);
  });

  it('ListObjectsV2: the query it sends, an empty listing, and start-after only when given', async () => {
    server.answerNext({ status: 200, type: 'application/xml', body: '<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>' });
    server.answerNext({ status: 200, type: 'application/xml', body: '<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>p/x</Key></Contents></ListBucketResult>' });
    const client = bucket();
    assert.deepEqual(await client.list('p/', { maxKeys: 5 }), { keys: [], truncated: false });
    assert.deepEqual(await client.list('p/', { maxKeys: 5, startAfter: 'p/w' }), { keys: ['p/x'], truncated: true });
    assert.deepEqual(server.requests.map((r) => r.url), ['/media/?list-type=2&prefix=p%2F&max-keys=5', '/media/?list-type=2&prefix=p%2F&max-keys=5&start-after=p%2Fw']);
  });

  it('the async-process POST returns OSS JSON answer, and an error answer as an error with its code', async () => {
    server.answerNext({ status: 200, type: 'application/json', body: '{"EventId":"E","RequestId":"R","TaskId":"T"}' }, ossXmlError(400, 'Imm Client', 'ResourceNotFound, The specified resource Attachment is not found.'));
    const client = bucket();
    assert.deepEqual(await client.asyncProcess('v.mp4', 'video/animation,f_gif'), { EventId: 'E', RequestId: 'R', TaskId: 'T' });
    await assert.rejects(client.asyncProcess('v.mp4', 'video/animation,f_gif'), { status: 400, code: 'Imm Client', message: 'ResourceNotFound, The specified resource Attachment is not found.' });
  });

  it('addresses a DNS endpoint virtual-hosted (<bucket>.<host>), an IP or localhost path-style', async () => {
    assert.deepEqual(bucketAddress({ bucket: 'media', region: 'cn-hangzhou' }), {
      endpoint: { protocol: 'https', host: 'oss-cn-hangzhou-internal.aliyuncs.com' },
      host: 'media.oss-cn-hangzhou-internal.aliyuncs.com',
      pathStyle: false,
    });
    assert.equal(bucketAddress({ bucket: 'media', region: 'r', endpoint: { protocol: 'http', host: 'oss.example:8080' } }).host, 'media.oss.example:8080');
    for (const host of ['127.0.0.1:9000', '[::1]:9000', 'localhost:9000', 'localhost']) {
      assert.deepEqual(bucketAddress({ bucket: 'media', region: 'r', endpoint: { protocol: 'http', host } }).pathStyle, true, host);
    }
    await bucket(`localhost:${server.port}`).head('a.mp4');
    assert.equal(server.requests.at(-1)?.url, '/media/a.mp4');
    assert.equal(server.requests.at(-1)?.headers.host, `localhost:${server.port}`);
  });
});

describe('HTTP transport', () => {
  it('a refused connection is a transient network error with its code', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const error = await sendHttp({ protocol: 'http', host: `127.0.0.1:${port}`, method: 'GET', path: '/x', headers: {}, timeoutMs: 2000 }).catch((e: unknown) => e);
    assert.ok(error instanceof NetworkError);
    assert.equal(error.code, 'ECONNREFUSED');
    assert.equal(error.sent, false, 'a refused connection sent nothing');
    assert.deepEqual(describeServiceError('oss', error)?.transient, true);
    assert.equal(describeServiceError('oss', error)?.ambiguous, false);
  });

  it('no answer within the timeout is a transient ETIMEDOUT', async () => {
    const silent = createHttpServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as { port: number };
      const error = await sendHttp({ protocol: 'http', host: `127.0.0.1:${port}`, method: 'GET', path: '/slow?x=1', headers: {}, timeoutMs: 50 }).catch((e: unknown) => e);
      assert.ok(error instanceof NetworkError);
      assert.equal(error.code, 'ETIMEDOUT');
      assert.equal(error.message, `GET http://127.0.0.1:${port}/slow: no answer within 50 ms`);
      assert.equal(error.sent, true, 'the request went out on a live connection: it may have been acted on');
      assert.equal(describeServiceError('imm', error)?.transient, true);
      assert.equal(describeServiceError('imm', error)?.ambiguous, true);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('a service error sorts as describeServiceError expects: throttling and 5xx transient, other 4xx permanent', () => {
    const error = (status: number, code: string) => new ServiceResponseError({ service: 'imm', status, code, message: 'm', requestId: 'r' });
    assert.equal(describeServiceError('imm', error(400, 'Throttling.User'))?.transient, true);
    assert.equal(describeServiceError('imm', error(400, 'Throttling.User'))?.ambiguous, false, 'a throttled call was refused: nothing started');
    assert.equal(describeServiceError('imm', error(503, 'ServiceUnavailable'))?.transient, true);
    assert.equal(describeServiceError('imm', error(503, 'ServiceUnavailable'))?.ambiguous, true);
    assert.deepEqual(describeServiceError('imm', error(400, 'InvalidFile.Media')), { service: 'imm', status: 400, code: 'InvalidFile.Media', message: 'm', transient: false, ambiguous: false });
  });
});

describe('IMM client: answers', () => {
  it('returns the JSON body; an error answer that is not JSON keeps its status and the start of its text', async () => {
    const imm = createImmClient({ region: 'cn-hangzhou', credentials: KEY, endpoint: { protocol: 'http', host: `127.0.0.1:${server.port}` } });
    server.answerNext({ status: 200, type: 'application/json', body: '{"RequestId":"R","TaskId":"T1","Status":"Running"}' }, { status: 502, type: 'text/plain', body: 'bad gateway' });
    assert.deepEqual(await imm.getTask('p', 'T1'), { RequestId: 'R', TaskId: 'T1', Status: 'Running' });
    await assert.rejects(imm.getTask('p', 'T2'), { status: 502, code: 'Http502', message: 'GetTask answered HTTP 502: bad gateway', requestId: '' });
    const query = new URL(server.requests[0]!.url, 'http://x').searchParams;
    assert.deepEqual(Object.fromEntries(query), { ProjectName: 'p', TaskId: 'T1', TaskType: 'MediaConvert' });
    assert.equal(server.requests[0]?.headers['x-acs-action'], 'GetTask');
    assert.equal(server.requests[0]?.headers['x-acs-version'], '2020-09-30');
    assert.equal(server.requests[0]?.headers['x-acs-security-token'], undefined, 'an AccessKey pair has no token');
  });
});

describe('XML', () => {
  it('reads decimal and hexadecimal character references and the five entities; leaves unknown ones', () => {
    assert.equal(xmlText('<K>&#29483;&#x732b;&amp;&lt;&gt;&quot;&apos;&nbsp;</K>', 'K'), '猫猫&<>"\'&nbsp;');
    assert.equal(xmlText('<Other>x</Other>', 'K'), undefined);
    assert.equal(xmlText('<K/>', 'K'), '');
    assert.equal(xmlText('<K a="1">v</K>', 'K'), 'v');
    assert.equal(xmlEscape(`a&<>"'b`), 'a&amp;&lt;&gt;&quot;&apos;b');
  });
});
