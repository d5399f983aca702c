import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import OpenApi, { $OpenApiUtil, OpenApiUtil } from '@alicloud/openapi-core';
import { RuntimeOptions } from '@darabonba/typescript';
import OSS from 'ali-oss';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- ali-oss ships no types for its signer module
const aliOssSignUtils = require('ali-oss/lib/common/signUtils') as {
  authorizationV4(id: string, secret: string, region: string, method: string, request: { headers: Record<string, string>; queries: Record<string, string | null> }, bucket: string, key: string): string;
};
import { createImmClient, toWireQuery } from '../../shared/clients/imm';
import { createBucketClient, presignedGetUrl } from '../../shared/clients/oss';
import { acs3Authorization, ossV4Authorization } from '../../shared/clients/signing';
import { immParams } from '../../packages/local-cloud/test/helpers/imm-openapi-client';
import { startRecordingServer, type RecordedRequest } from '../helpers/recording-server';

/**
 * The functions sign their own requests (shared/clients/signing.ts) to stay small and start fast; the official
 * clients stay here, as the reference. Every request below is sent once by the official client and once by ours to
 * a server that records it, at the same time (and nonce), and the two must carry the same signature.
 */

type Captured = RecordedRequest;

let server: Awaited<ReturnType<typeof startRecordingServer>>;
let port: number;
/** The requests recorded since the test (or the last reset) began. */
let captured: Captured[] = [];

before(async () => {
  server = await startRecordingServer();
  port = server.port;
});
after(() => server.close());
beforeEach(() => {
  server.reset();
  captured = server.requests;
  server.answerAlways({ status: 200, type: 'application/json', body: '{}' });
});

const REGION = 'cn-hangzhou';
const BUCKET = 'examplebucket';
const KEYS = [
  { accessKeyId: 'LTAI5tExampleKeyId', accessKeySecret: 'ExampleSecret+/=' },
  { accessKeyId: 'STS.NUgYrLnoC37mZZCNnAbez', accessKeySecret: 'sts-secret', securityToken: 'CAIS+token/with=signs&more' },
];
/** Keys with characters each encoding step treats differently. */
const OBJECT_KEYS = ['videos/clip.mp4', 'videos/猫 clip (1)+x*y!z~\'.mp4', '.video-animation/index/2026-11-21/1~a~pending~24~gif'];

function single(): Captured {
  assert.equal(captured.length, 1, `expected one request, got ${captured.map((c) => `${c.method} ${c.url}`).join(', ')}`);
  return captured[0]!;
}

/** Splits a captured path-style OSS URL into the key and the decoded query, as the signer takes them. */
function ossTarget(url: string): { key: string; query: Record<string, string> } {
  const [path, search = ''] = url.split('?') as [string, string?];
  const key = decodeURIComponent(path.slice(`/${BUCKET}/`.length));
  const query: Record<string, string> = {};
  for (const pair of search.split('&').filter(Boolean)) {
    const [name, value = ''] = pair.split('=') as [string, string?];
    query[decodeURIComponent(name)] = decodeURIComponent(value);
  }
  return { key, query };
}

/**
 * ali-oss's own V4 signer (lib/common/signUtils) on a captured request. Its `qs` canonical query writes a null value
 * as the bare name, which is OSS's rule for a parameter without a value; ali-oss itself passes '' (signing `name=`).
 */
function officialSignature(request: Captured, credentials: (typeof KEYS)[number]): string {
  const { key, query } = ossTarget(request.url);
  const queries = Object.fromEntries(Object.entries(query).map(([name, value]) => [name, value === '' ? null : value]));
  return aliOssSignUtils.authorizationV4(credentials.accessKeyId, credentials.accessKeySecret, REGION, request.method, { headers: lowerHeaders(request.headers), queries }, BUCKET, key);
}

const lowerHeaders = (headers: IncomingHttpHeaders) =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]));

describe('OSS V4 signature: ours against ali-oss (authorizationV4)', () => {
  const aliOss = (credentials: (typeof KEYS)[number]) =>
    new OSS({
      accessKeyId: credentials.accessKeyId,
      accessKeySecret: credentials.accessKeySecret,
      ...(credentials.securityToken ? { stsToken: credentials.securityToken, refreshSTSTokenInterval: 86_400_000 } : {}),
      bucket: BUCKET,
      region: `oss-${REGION}`,
      endpoint: `http://localhost:${port}`,
      // Path-style /<bucket>/<key> on localhost, as ours addresses a local endpoint.
      sldEnable: true,
      secure: false,
      authorizationV4: true,
    } as OSS.Options);

  /** Sends `official` with ali-oss and `ours` with our client at ali-oss's time; both requests must match. */
  async function compare(
    credentials: (typeof KEYS)[number],
    official: (client: OSS) => Promise<unknown>,
    ours: (client: ReturnType<typeof createBucketClient>) => Promise<unknown>,
    /** x-oss-* headers ali-oss adds that ours rightly leaves out. */
    extraTheirs: (name: string) => boolean = () => false,
  ) {
    await official(aliOss(credentials));
    const theirs = single();
    captured.length = 0;
    const at = theirs.headers['x-oss-date'] as string;
    const now = () => new Date(at.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    await ours(createBucketClient({ bucket: BUCKET, region: REGION, credentials, endpoint: { protocol: 'http', host: `localhost:${port}` }, now }));
    const mine = single();

    // ali-oss's own request, re-signed by our signer from its parts, gives ali-oss's signature.
    const target = ossTarget(theirs.url);
    assert.equal(
      ossV4Authorization({ method: theirs.method, region: REGION, bucket: BUCKET, key: target.key, query: target.query, headers: lowerHeaders(theirs.headers) }, credentials),
      theirs.headers.authorization,
      'our signer on ali-oss\'s request',
    );
    // Our client sends the same operation (method, key, query, body, the x-oss-* headers), and ali-oss's signer,
    // given our request, computes the signature we sent. (ali-oss adds headers ours does not need, a content-type
    // guessed from the key's extension on GET and a content-md5 on PUT, so the two requests' signatures differ.)
    assert.equal(mine.method, theirs.method);
    assert.deepEqual(ossTarget(mine.url), target);
    const ossHeaders = (headers: IncomingHttpHeaders) => Object.fromEntries(Object.entries(lowerHeaders(headers)).filter(([name]) => name.startsWith('x-oss-')));
    assert.deepEqual(ossHeaders(mine.headers), Object.fromEntries(Object.entries(ossHeaders(theirs.headers)).filter(([name]) => !extraTheirs(name))));
    assert.equal(mine.body, theirs.body);
    assert.equal(officialSignature(mine, credentials), mine.headers.authorization);
  }

  for (const credentials of KEYS) {
    const who = credentials.securityToken ? 'STS credentials' : 'an AccessKey pair';
    for (const key of OBJECT_KEYS) {
      it(`GetObject, HeadObject, DeleteObject of ${JSON.stringify(key)} with ${who}`, async () => {
        await compare(credentials, (c) => c.get(key), (b) => b.getBytes(key));
        captured.length = 0;
        await compare(credentials, (c) => c.head(key), (b) => b.head(key));
        captured.length = 0;
        server.answerAlways({ status: 204, type: 'application/xml', body: '' });
        await compare(credentials, (c) => c.delete(key), (b) => b.delete(key));
      });

      it(`PutObject of ${JSON.stringify(key)}, plain and create-only, with ${who}`, async () => {
        const body = '{"status":"succeeded","note":"猫"}';
        await compare(credentials, (c) => c.put(key, Buffer.from(body), { mime: 'application/json' }), (b) => b.putText(key, body));
        captured.length = 0;
        await compare(
          credentials,
          (c) => c.put(key, Buffer.from(body), { mime: 'application/json', headers: { 'x-oss-forbid-overwrite': 'true' } }),
          (b) => b.putText(key, body, { createOnly: true }),
        );
      });
    }

    it(`CopyObject onto itself with headers and tags (copyInPlace) with ${who}`, async () => {
      server.answerAlways({ status: 200, type: 'application/xml', body: '<CopyObjectResult><ETag>"E"</ETag><LastModified>2026-12-03T07:00:00.000Z</LastModified></CopyObjectResult>' });
      for (const key of OBJECT_KEYS) {
        captured.length = 0;
        const tags = { source: 'videos/猫 a+b.mp4', rule: 'previews', format: 'gif' };
        await compare(
          credentials,
          (c) =>
            c.copy(key, key, {
              headers: {
                'Content-Type': 'image/gif',
                'Cache-Control': 'public, max-age=60',
                'Content-Disposition': 'inline',
                'x-oss-tagging': Object.entries(tags).map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`).join('&'),
                'x-oss-tagging-directive': 'Replace',
              },
            }),
          (b) => b.copyInPlace(key, { contentType: 'image/gif', cacheControl: 'public, max-age=60', contentDisposition: 'inline', tags }),
          // ali-oss repeats every header it is given as x-oss-copy-source-<name> (meant for the If-* conditions).
          (name) => name.startsWith('x-oss-copy-source-'),
        );
        const sent = captured[0]!.headers;
        assert.deepEqual(
          [sent['x-oss-metadata-directive'], sent['content-type'], sent['cache-control'], sent['content-disposition'], captured[0]!.body],
          ['REPLACE', 'image/gif', 'public, max-age=60', 'inline', ''],
        );
      }
      captured.length = 0;
      await createBucketClient({ bucket: BUCKET, region: REGION, credentials, endpoint: { protocol: 'http', host: `localhost:${port}` } }).copyInPlace('a.webp', { contentType: 'image/webp', tags: {} });
      const bare = single();
      assert.deepEqual(
        [bare.method, bare.url, bare.headers['content-type'], 'cache-control' in bare.headers, 'content-disposition' in bare.headers, 'x-oss-tagging' in bare.headers, bare.headers['x-oss-tagging-directive']],
        ['PUT', `/${BUCKET}/a.webp`, 'image/webp', false, false, false, 'Replace'],
      );
      assert.equal(officialSignature(bare, credentials), bare.headers.authorization);
    });

    it(`ListObjectsV2 with prefix, max-keys and start-after with ${who}`, async () => {
      server.answerAlways({ status: 200, type: 'application/xml', body: '<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>' });
      await compare(
        credentials,
        (c) => c.listV2({ prefix: '.video-animation/index/2026-11-21/', 'max-keys': '100', 'start-after': '.video-animation/index/2026-11-21/1~a b' }, {}),
        (b) => b.list('.video-animation/index/2026-11-21/', { maxKeys: 100, startAfter: '.video-animation/index/2026-11-21/1~a b' }),
      );
    });
  }

  it('sub-resources without a value (tagging, x-oss-async-process) are signed as their bare name, where ali-oss signs "name="', async () => {
    // OSS's V4 rule (and the local OSS, and the other official SDKs): a parameter without a value contributes only its
    // name to the canonical query. ali-oss 6.x writes `tagging=`, so for these two calls the reference is the rule
    // itself, checked here on the request our client sends, and the documentation examples in signing-docs.test.ts.
    const credentials = KEYS[1]!;
    const client = createBucketClient({ bucket: BUCKET, region: REGION, credentials, endpoint: { protocol: 'http', host: `localhost:${port}` } });
    await client.putTags('videos/a.gif', { JobId: 'j1', Rule: 'gif & webp' });
    const tagging = single();
    assert.equal(tagging.url, `/${BUCKET}/videos/a.gif?tagging`);
    assert.equal(tagging.body, '<?xml version="1.0" encoding="UTF-8"?>\n<Tagging><TagSet><Tag><Key>JobId</Key><Value>j1</Value></Tag><Tag><Key>Rule</Key><Value>gif &amp; webp</Value></Tag></TagSet></Tagging>');
    assert.equal(officialSignature(tagging, credentials), tagging.headers.authorization);
    captured.length = 0;
    server.answerAlways({ status: 200, type: 'application/json', body: '{"EventId":"E","RequestId":"R","TaskId":"T"}' });
    assert.deepEqual(await client.asyncProcess('videos/猫 a.mp4', 'video/animation,f_gif|sys/saveas,o_b2s'), { EventId: 'E', RequestId: 'R', TaskId: 'T' });
    const asyncProcess = single();
    assert.equal(asyncProcess.url, `/${BUCKET}/videos/%E7%8C%AB%20a.mp4?x-oss-async-process`);
    assert.equal(asyncProcess.body, 'x-oss-async-process=video/animation,f_gif|sys/saveas,o_b2s');
    assert.equal(officialSignature(asyncProcess, credentials), asyncProcess.headers.authorization);
  });

  for (const credentials of KEYS) {
    it(`a presigned GET URL equals ali-oss's signatureUrlV4 at the same time, with ${credentials.securityToken ? 'STS credentials' : 'an AccessKey pair'}`, async (t) => {
      const at = new Date('2026-11-21T10:20:30Z');
      t.mock.timers.enable({ apis: ['Date'], now: at });
      for (const key of OBJECT_KEYS) {
        const theirs = new URL(await aliOss(credentials).signatureUrlV4('GET', 3600, { headers: {} }, key));
        const ours = new URL(presignedGetUrl({ bucket: BUCKET, region: REGION, credentials, endpoint: { protocol: 'http', host: `localhost:${port}` }, now: () => at }, key, 3600));
        // The same object (ali-oss leaves `()*!` unescaped in the path; both sign the RFC 3986 form), the same query.
        assert.equal(ours.origin + decodeURIComponent(ours.pathname), theirs.origin + decodeURIComponent(theirs.pathname));
        assert.deepEqual(Object.fromEntries(ours.searchParams), Object.fromEntries(theirs.searchParams));
        assert.match(ours.searchParams.get('x-oss-signature') ?? '', /^[0-9a-f]{64}$/);
      }
    });
  }

  it('a presigned URL is valid one second to seven days, as V4 allows', () => {
    const options = { bucket: BUCKET, region: REGION, credentials: KEYS[0]!, endpoint: { protocol: 'https' as const, host: `oss-${REGION}.aliyuncs.com` } };
    assert.match(presignedGetUrl(options, 'a b.gif', 604_800), /^https:\/\/examplebucket\.oss-cn-hangzhou\.aliyuncs\.com\/a%20b\.gif\?.*x-oss-expires=604800/);
    assert.throws(() => presignedGetUrl(options, 'a.gif', 604_801), /valid 1 s to 7 days, not 604801 s/);
    assert.throws(() => presignedGetUrl(options, 'a.gif', 0), /valid 1 s to 7 days/);
  });

  it('an OSS error answer becomes an error with its status, code, message and request id', async () => {
    server.answerAlways({ status: 409, type: 'application/xml', body: '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>FileAlreadyExists</Code><Message>The object you specified already exists &amp; can not be overwritten.</Message><RequestId>5C3D9778CC1C2AEDF85B</RequestId></Error>' });
    const client = createBucketClient({ bucket: BUCKET, region: REGION, credentials: KEYS[0]!, endpoint: { protocol: 'http', host: `localhost:${port}` } });
    assert.equal(await client.putText('a.json', '{}', { createOnly: true }), 'exists');
    await assert.rejects(client.putText('a.json', '{}'), { status: 409, code: 'FileAlreadyExists', message: 'The object you specified already exists & can not be overwritten.', requestId: '5C3D9778CC1C2AEDF85B' });
    server.answerAlways({ status: 404, type: 'application/xml', body: '<Error><Code>NoSuchKey</Code></Error>' });
    assert.equal(await client.getText('missing.json'), undefined);
    assert.equal(await client.head('missing.json'), undefined);
    server.answerAlways({ status: 403, type: 'application/xml', body: '' });
    await assert.rejects(client.head('denied.json'), { status: 403, code: 'Http403', requestId: 'REQ' });
  });

  it('reads ListObjectsV2 keys with XML entities, and the truncation flag', async () => {
    server.answerAlways({
      status: 200,
      type: 'application/xml',
      body: '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>examplebucket</Name><Prefix>v/</Prefix><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>' +
        '<Contents><Key>v/a &amp;amp; b.mp4</Key><Size>1</Size></Contents><Contents><Key>v/&lt;c&gt;&#x732b;.mp4</Key><Size>2</Size></Contents></ListBucketResult>',
    });
    const client = createBucketClient({ bucket: BUCKET, region: REGION, credentials: KEYS[0]!, endpoint: { protocol: 'http', host: `localhost:${port}` } });
    assert.deepEqual(await client.list('v/', { maxKeys: 2 }), { keys: ['v/a &amp; b.mp4', 'v/<c>猫.mp4'], truncated: true });
  });
});

describe('OpenAPI V3 signature: ours against @alicloud/openapi-core (IMM RPC calls)', () => {
  const REQUESTS: [string, Record<string, unknown>][] = [
    ['DetectMediaMeta', { ProjectName: 'video-animation', SourceURI: 'oss://examplebucket/videos/猫 clip (1)+x*y!.mp4' }],
    ['GetTask', { ProjectName: 'video-animation', TaskId: 'MediaConvert-1b2c', TaskType: 'MediaConvert' }],
    ['ListTasks', { ProjectName: 'video-animation', TaskTypes: ['MediaConvert'], TagSelector: 'JobId=abc', MaxResults: 100 }],
    [
      'CreateMediaConvertTask',
      {
        ProjectName: 'video-animation',
        Sources: [{ URI: 'oss://examplebucket/videos/a b.mp4', StartTime: 0, Duration: 60 }],
        Targets: [{ Image: { Animations: [{ Format: 'gif', URI: 'oss://examplebucket/animations/a b.gif', Width: 320, Height: 180, Interval: 2.5, Number: 24, FrameRate: 6 }] } }],
        Notification: { MNS: { TopicName: 'video-animation-notices' } },
        UserData: '{"jobId":"abc","rule":"gif"}',
        Tags: { JobId: 'abc', Rule: 'gif', Attempt: '1' },
      },
    ],
  ];

  for (const credentials of KEYS) {
    for (const [action, parameters] of REQUESTS) {
      it(`${action} with ${credentials.securityToken ? 'STS credentials' : 'an AccessKey pair'}`, async () => {
        const official = new OpenApi(new $OpenApiUtil.Config({ ...credentials, regionId: REGION, endpoint: `127.0.0.1:${port}`, protocol: 'http' }));
        await official.callApi(immParams(action), new $OpenApiUtil.OpenApiRequest({ query: toWireQuery(parameters) }), new RuntimeOptions({}));
        const theirs = single();
        captured.length = 0;

        const at = new Date(String(theirs.headers['x-acs-date']));
        const nonce = String(theirs.headers['x-acs-signature-nonce']);
        const imm = createImmClient({ region: REGION, credentials, endpoint: { protocol: 'http', host: `127.0.0.1:${port}` }, now: () => at, nonce: () => nonce });
        const call = {
          DetectMediaMeta: () => imm.detectMediaMeta(String(parameters['ProjectName']), String(parameters['SourceURI'])),
          GetTask: () => imm.getTask(String(parameters['ProjectName']), String(parameters['TaskId'])),
          ListTasks: () => imm.listTasks(parameters as never),
          CreateMediaConvertTask: () => imm.createMediaConvertTask(parameters as never),
        }[action]!;
        await call();
        const mine = single();

        // The same call: method, parameters, body and every x-acs-* header but the SDK's telemetry header
        // x-acs-credentials-provider (which credentials provider it used), so the signatures differ and each side is
        // checked with the other's signer instead.
        assert.equal(mine.method, theirs.method);
        const query = (url: string) => Object.fromEntries(new URL(url, 'http://x').searchParams);
        assert.deepEqual(query(mine.url), query(theirs.url));
        const signed = (headers: IncomingHttpHeaders) =>
          Object.fromEntries(
            Object.entries(lowerHeaders(headers)).filter(([name]) => (name.startsWith('x-acs-') || name === 'host' || name === 'content-type') && name !== 'x-acs-credentials-provider'),
          );
        assert.deepEqual(signed(mine.headers), signed(theirs.headers));
        assert.equal(mine.body, theirs.body);
        const payload = String(mine.headers['x-acs-content-sha256']);
        assert.equal(
          OpenApiUtil.getAuthorization({ method: mine.method, pathname: '/', query: query(mine.url), headers: lowerHeaders(mine.headers) } as never, 'ACS3-HMAC-SHA256', payload, credentials.accessKeyId, credentials.accessKeySecret),
          mine.headers.authorization,
          "openapi-core's signer on our request",
        );
        // Our signer, given openapi-core's request, also gives its signature.
        assert.equal(
          acs3Authorization({ method: theirs.method, pathname: '/', query: query(theirs.url), headers: lowerHeaders(theirs.headers) }, credentials),
          theirs.headers.authorization,
        );
      });
    }
  }

  it('signs host, content-type and every x-acs-* header but no other, as openapi-core does; the body hash is required', () => {
    const credentials = KEYS[1]!;
    const headers = {
      host: 'imm.cn-hangzhou.aliyuncs.com',
      'content-type': 'application/x-www-form-urlencoded',
      'x-acs-action': 'GetTask',
      'x-acs-version': '2020-09-30',
      'x-acs-date': '2026-11-21T10:20:30Z',
      'x-acs-signature-nonce': 'n1',
      'x-acs-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'user-agent': 'not signed',
      accept: 'application/json',
    };
    const query = { ProjectName: 'p', TaskId: 't (1)*' };
    const official = OpenApiUtil.getAuthorization({ method: 'POST', pathname: '/', query, headers } as never, 'ACS3-HMAC-SHA256', headers['x-acs-content-sha256'], credentials.accessKeyId, credentials.accessKeySecret);
    const ours = acs3Authorization({ method: 'POST', pathname: '/', query, headers }, credentials);
    assert.equal(ours, official);
    assert.match(ours, /SignedHeaders=content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,/);
    assert.equal(acs3Authorization({ method: 'POST', pathname: '/', query, headers: { ...headers, 'user-agent': 'other' } }, credentials), ours);
    const { 'x-acs-content-sha256': _hash, ...unhashed } = headers;
    assert.throws(() => acs3Authorization({ method: 'POST', pathname: '/', query, headers: unhashed }, credentials), /needs the x-acs-content-sha256 header/);
  });

  it('an OpenAPI error answer becomes an error with its status, code, message and request id', async () => {
    server.answerAlways({ status: 400, type: 'application/json', body: '{"RequestId":"5F0A","HostId":"imm.cn-hangzhou.aliyuncs.com","Code":"InvalidFile.Media","Message":"The media file is invalid."}' });
    const imm = createImmClient({ region: REGION, credentials: KEYS[0]!, endpoint: { protocol: 'http', host: `127.0.0.1:${port}` } });
    await assert.rejects(imm.detectMediaMeta('p', 'oss://b/k'), { status: 400, code: 'InvalidFile.Media', message: 'The media file is invalid.', requestId: '5F0A' });
    server.answerAlways({ status: 503, type: 'text/html', body: '<html>busy</html>' });
    await assert.rejects(imm.getTask('p', 't'), { status: 503, code: 'Http503', message: 'GetTask answered HTTP 503: <html>busy</html>' });
  });
});
