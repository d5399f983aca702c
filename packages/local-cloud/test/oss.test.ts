import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import OSS from 'ali-oss';
import { ossClientOptions, startLocalOss } from '../src/oss/server';
import type { AccessKey, LocalOss, LocalOssOptions, LocalOssSettings, OssClientAddressing, OssEventRecord } from '../src/oss/server';

const BUCKET = 'media-bucket';
const OTHER_BUCKET = 'other-bucket';
const REGION = 'cn-hangzhou';
const ACCOUNT_ID = '1234567890';
const KEY: AccessKey = { accessKeyId: 'LTAI5tLocalTestKey', accessKeySecret: 'local-test-secret' };
const STS_KEY: AccessKey = { accessKeyId: 'STS.LocalTemp', accessKeySecret: 'sts-secret', securityToken: 'CAIS-local-token' };

/** ali-oss methods its typings omit. */
interface UntypedMethods {
  putObjectTagging(name: string, tag: Record<string, string>): Promise<{ status: number }>;
  getObjectTagging(name: string): Promise<{ tag: Record<string, string> }>;
  deleteObjectTagging(name: string): Promise<{ status: number }>;
  putBucketVersioning(name: string, status: 'Enabled' | 'Suspended'): Promise<{ status: number }>;
  getBucketVersioning(name: string): Promise<{ versionStatus: string | undefined }>;
  getBucketLocation(name: string): Promise<{ location: string }>;
  /** The low-level request(), used for x-oss-async-process which ali-oss has no method for. */
  request(params: RawRequestParams): Promise<{ status: number; data: Buffer }>;
}
type OssClient = OSS & UntypedMethods;

interface RawRequestParams {
  method: string;
  bucket: string;
  object: string;
  subres: string;
  headers: Record<string, string>;
  content: Buffer;
  successStatuses: number[];
}

interface TestOss {
  oss: LocalOss;
  dataDir: string;
  events: OssEventRecord[];
  client(addressing?: OssClientAddressing, credentials?: AccessKey, bucket?: string): OssClient;
  /** Resolves with the first recorded event matching `match`, waiting for it if needed. */
  waitForEvent(match: (event: OssEventRecord) => boolean): Promise<OssEventRecord>;
  restart(): Promise<void>;
}

/**
 * A local OSS on an ephemeral port, stopped after the test: objects in memory (default) or in a fresh temp folder
 * (`disk`, for what only the disk store does: restarts, files). `dataDir` is removed after the test either way.
 */
async function startTestOss(t: TestContext, overrides: Partial<LocalOssSettings> = {}, storage: 'disk' | 'memory' = 'memory'): Promise<TestOss> {
  const root = await mkdtemp(join(tmpdir(), 'local-oss-test-'));
  const dataDir = join(root, 'data');
  const events: OssEventRecord[] = [];
  const options: LocalOssOptions = {
    ...(storage === 'memory' ? { storage } : { dataDir }),
    region: REGION,
    accountId: ACCOUNT_ID,
    buckets: [BUCKET, OTHER_BUCKET],
    credentials: [KEY, STS_KEY],
    onEvent: (event) => events.push(event),
    ...overrides,
  };
  const running: TestOss = {
    oss: await startLocalOss(options),
    dataDir,
    events,
    client: (addressing = {}, credentials = KEY, bucket = BUCKET) =>
      new OSS(ossClientOptions(running.oss, bucket, credentials, addressing)) as OssClient,
    waitForEvent: async (match) => {
      for (let waited = 0; waited < 2000; waited += 10) {
        const found = events.find(match);
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error('expected event was not emitted');
    },
    restart: async () => {
      await running.oss.close();
      running.oss = await startLocalOss(options);
    },
  };
  t.after(async () => {
    await running.oss.close();
    await rm(root, { recursive: true, force: true });
  });
  return running;
}

const client = (server: TestOss) => server.client();

/** A create-only write (x-oss-forbid-overwrite: true): 'written', or 'exists' when OSS refuses to overwrite. */
async function putCreateOnly(oss: OSS, key: string, body: string): Promise<'written' | 'exists'> {
  return oss.put(key, Buffer.from(body), { headers: { 'x-oss-forbid-overwrite': 'true' } }).then(
    () => 'written',
    (error: { code?: string }) => {
      if (error.code === 'FileAlreadyExists') return 'exists';
      throw error;
    },
  );
}

/** Asserts that `promise` rejects the way ali-oss surfaces an OSS error response. */
async function assertOssError(promise: Promise<unknown>, status: number, code: string): Promise<Error & { status?: number; code?: string }> {
  const err = await promise.then(
    () => assert.fail(`expected ${status} ${code}`),
    (error: unknown) => error as Error & { status?: number; code?: string },
  );
  assert.equal(err.status, status, `status of ${err.message}`);
  assert.equal(err.code, code, `code of ${err.message}`);
  return err;
}

/** @types/ali-oss demands uid and pid in every user metadata object; OSS has no such rule. */
function userMeta(meta: Record<string, string>): OSS.UserMeta {
  return meta as unknown as OSS.UserMeta;
}

/** ListParts' query fields are all optional on the wire, though @types/ali-oss requires them. */
const NO_LIST_PARTS_QUERY = {} as OSS.ListPartsQuery;

/**
 * A V1-signed request through node:http, which sends the path verbatim; ali-oss's URL handling
 * would resolve `..` segments away before sending.
 */
function rawSignedRequest(
  oss: LocalOss,
  method: string,
  path: string,
  host: string,
  resource: string,
  body?: Buffer,
): Promise<{ status: number; body: string; date: string | undefined }> {
  const date = new Date().toUTCString();
  const contentType = body ? 'application/octet-stream' : '';
  const stringToSign = `${method}\n\n${contentType}\n${date}\n${resource}`;
  const signature = createHmac('sha1', KEY.accessKeySecret).update(stringToSign).digest('base64');
  const headers: Record<string, string> = { Host: host, Date: date, Authorization: `OSS ${KEY.accessKeyId}:${signature}` };
  if (body) Object.assign(headers, { 'Content-Type': contentType, 'Content-Length': String(body.length) });
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: oss.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), date: res.headers.date }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex').toUpperCase();
}

/** Deterministic pseudo-random numbers (mulberry32), so fault shares do not make the test flaky. */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function listFilesRecursively(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

const ADDRESSING: [string, OssClientAddressing][] = [
  ['V1 virtual-hosted', {}],
  ['V4 virtual-hosted', { v4: true }],
  ['V1 path-style', { pathStyle: true }],
  ['V4 path-style', { v4: true, pathStyle: true }],
];

describe('local OSS through the real ali-oss client', () => {
  for (const [[name, addressing], storage] of ADDRESSING.flatMap((a) => [[a, 'memory'], [a, 'disk']] as const)) {
    test(`${name}, ${storage} store: put, get, head, list, copy, tag and delete`, async (t) => {
      const { client } = await startTestOss(t, {}, storage);
      const oss = client(addressing);
      const body = Buffer.from('frame data');
      const put = await oss.put('videos/clip.mp4', body, { meta: userMeta({ owner: 'alice' }) });
      assert.equal(put.res.status, 200);
      assert.equal((put.res.headers as Record<string, string>).etag, `"${md5Hex(body)}"`);

      const got = await oss.get('videos/clip.mp4');
      assert.deepEqual(got.content, body);
      const headers = got.res.headers as Record<string, string>;
      assert.equal(headers['content-type'], 'video/mp4');
      assert.equal(headers['x-oss-meta-owner'], 'alice');

      const head = await oss.head('videos/clip.mp4');
      assert.deepEqual(head.meta, { owner: 'alice' });

      const listed = await oss.listV2({ prefix: 'videos/', 'max-keys': 10 }, {});
      assert.deepEqual(listed.objects.map((object) => object.name), ['videos/clip.mp4']);

      await oss.copy('videos/copy.mp4', 'videos/clip.mp4');
      await oss.putObjectTagging('videos/copy.mp4', { stage: 'done' });
      assert.deepEqual((await oss.getObjectTagging('videos/copy.mp4')).tag, { stage: 'done' });

      const deleted = await oss.delete('videos/clip.mp4');
      assert.equal(deleted.res.status, 204);
      await assertOssError(oss.get('videos/clip.mp4'), 404, 'NoSuchKey');
    });
  }

  test('put/get/head/delete keep content, type and user metadata; delete is idempotent', async (t) => {
    const { client } = await startTestOss(t);
    const oss = client({ pathStyle: true });
    const body = Buffer.from('hello, local oss');
    await oss.put('docs/readme.txt', body, {
      meta: userMeta({ owner: 'alice', purpose: 'test' }),
      headers: { 'Cache-Control': 'no-cache', 'Content-Disposition': 'attachment; filename="r.txt"' },
    });

    const got = await oss.get('docs/readme.txt');
    assert.deepEqual(got.content, body);
    const headers = got.res.headers as Record<string, string>;
    assert.equal(headers['content-type'], 'text/plain');
    assert.equal(headers['content-length'], String(body.length));
    assert.equal(headers['cache-control'], 'no-cache');
    assert.equal(headers['content-disposition'], 'attachment; filename="r.txt"');
    assert.equal(headers['x-oss-object-type'], 'Normal');
    assert.match(headers['x-oss-request-id'] ?? '', /^[0-9A-F]{24}$/);

    const download = await fetch(oss.signatureUrl('docs/readme.txt', {
      response: { 'content-type': 'application/x-download', 'content-disposition': 'inline' },
    } as OSS.SignatureUrlOptions));
    assert.equal(download.headers.get('content-type'), 'application/x-download');
    assert.equal(download.headers.get('content-disposition'), 'inline');

    const head = await oss.head('docs/readme.txt');
    assert.deepEqual(head.meta, { owner: 'alice', purpose: 'test' });
    assert.equal((head.res.headers as Record<string, string>).etag, `"${md5Hex(body)}"`);

    await oss.delete('docs/readme.txt');
    await assertOssError(oss.head('docs/readme.txt'), 404, 'NoSuchKey');
    await assertOssError(oss.get('docs/readme.txt'), 404, 'NoSuchKey');
    assert.equal((await oss.delete('docs/readme.txt')).res.status, 204);
  });

  test('range GET follows OSS: 206 for a valid range, 416 past the end, whole object for an overlong one', async (t) => {
    const { client } = await startTestOss(t);
    const oss = client();
    const body = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
    await oss.put('range.bin', body);

    const part = await oss.get('range.bin', { headers: { Range: 'bytes=10-19' } });
    assert.equal(part.res.status, 206);
    assert.deepEqual(part.content, body.subarray(10, 20));
    assert.equal((part.res.headers as Record<string, string>)['content-range'], 'bytes 10-19/100');

    const suffix = await oss.get('range.bin', { headers: { Range: 'bytes=-5' } });
    assert.deepEqual(suffix.content, body.subarray(95));

    await assertOssError(oss.get('range.bin', { headers: { Range: 'bytes=100-' } }), 416, 'InvalidRange');

    const overlong = await oss.get('range.bin', { headers: { Range: 'bytes=90-200' } });
    assert.equal(overlong.res.status, 200);
    assert.equal(overlong.content.length, 100);

    const standard = await oss.get('range.bin', {
      headers: { Range: 'bytes=90-200', 'x-oss-range-behavior': 'standard' },
    });
    assert.equal(standard.res.status, 206);
    assert.deepEqual(standard.content, body.subarray(90));
  });

  test('x-oss-forbid-overwrite refuses an existing key with 409 FileAlreadyExists', async (t) => {
    const { client } = await startTestOss(t);
    const oss = client();
    const forbid = { headers: { 'x-oss-forbid-overwrite': 'true' } };
    await oss.put('once.txt', Buffer.from('first'), forbid);
    const err = await assertOssError(oss.put('once.txt', Buffer.from('second'), forbid), 409, 'FileAlreadyExists');
    assert.equal(err.name, 'FileAlreadyExistsError');
    assert.equal((await oss.get('once.txt')).content.toString(), 'first');
    await oss.copy('copy.txt', 'once.txt');
    await assertOssError(oss.copy('copy.txt', 'once.txt', forbid), 409, 'FileAlreadyExists');
    await oss.put('once.txt', Buffer.from('third'));
    assert.equal((await oss.get('once.txt')).content.toString(), 'third');

    // Refused before the 8 MB body is read: the client still gets the XML error, not a broken pipe.
    const big = Buffer.alloc(8 * 1024 * 1024, 1);
    await assertOssError(oss.put('once.txt', big, forbid), 409, 'FileAlreadyExists');
    await assertOssError(client({}, { ...KEY, accessKeySecret: 'wrong' }).put('big.bin', big), 403, 'SignatureDoesNotMatch');

    const wrongMd5 = { headers: { 'Content-MD5': createHash('md5').update('other').digest('base64') } };
    await assertOssError(oss.put('md5.txt', Buffer.from('content'), wrongMd5), 400, 'InvalidDigest');
    await assertOssError(oss.head('md5.txt'), 404, 'NoSuchKey');

    await oss.put('multi.bin', Buffer.from('exists'));
    await assertOssError(oss.multipartUpload('multi.bin', big, { partSize: 4 * 1024 * 1024, ...forbid }), 409, 'FileAlreadyExists');
  });

  test('copy keeps metadata by default, replaces it with meta (REPLACE), and copies across buckets', async (t) => {
    const { client, waitForEvent } = await startTestOss(t);
    const oss = client();
    await oss.put('src/photo.png', Buffer.from('png bytes'), { meta: userMeta({ camera: 'x100' }) });

    const kept = await oss.copy('dst/kept.bin', 'src/photo.png');
    assert.equal(kept.data?.etag, `"${md5Hex(Buffer.from('png bytes'))}"`);
    const keptHead = await oss.head('dst/kept.bin');
    assert.deepEqual(keptHead.meta, { camera: 'x100' });
    assert.equal((keptHead.res.headers as Record<string, string>)['content-type'], 'image/png');

    await oss.copy('dst/replaced.txt', 'src/photo.png', { meta: userMeta({ edited: 'yes' }) });
    const replaced = await oss.head('dst/replaced.txt');
    assert.deepEqual(replaced.meta, { edited: 'yes' });
    assert.equal((replaced.res.headers as Record<string, string>)['content-type'], 'text/plain');
    assert.equal((await oss.get('dst/replaced.txt')).content.toString(), 'png bytes');

    const other = client({}, KEY, OTHER_BUCKET);
    await other.copy('imported.png', 'src/photo.png', BUCKET);
    assert.equal((await other.get('imported.png')).content.toString(), 'png bytes');
    const event = await waitForEvent((e) => e.oss.bucket.name === OTHER_BUCKET);
    assert.equal(event.eventName, 'ObjectCreated:CopyObject');
    assert.equal(event.oss.object.key, 'imported.png');

    await assertOssError(oss.copy('dst/none', 'src/missing.png'), 404, 'NoSuchKey');
  });

  test('listV2 pages with prefix, delimiter and continuation tokens; list (v1) pages with markers', async (t) => {
    const { client } = await startTestOss(t);
    const oss = client();
    const files = Array.from({ length: 12 }, (_, i) => `list/file-${String(i).padStart(2, '0')}.txt`);
    const nested = ['list/dir1/a.txt', 'list/dir1/b.txt', 'list/dir2/c.txt', 'elsewhere/x.txt'];
    await Promise.all([...files, ...nested].map((key) => oss.put(key, Buffer.from(key))));

    for (const [addressing, maxKeys, expectedPages] of [
      [{}, 5, 3],
      [{ v4: true }, 5, 3],
      [{ v4: true, pathStyle: true }, 1, 14],
    ] as const) {
      const names: string[] = [];
      const prefixes: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await client(addressing).listV2(
          { prefix: 'list/', delimiter: '/', 'max-keys': maxKeys, ...(token ? { 'continuation-token': token } : {}) },
          {},
        );
        pages++;
        assert.ok(page.keyCount <= maxKeys);
        names.push(...page.objects.map((object) => object.name));
        prefixes.push(...(page.prefixes ?? []));
        token = page.isTruncated ? (page.nextContinuationToken ?? undefined) : undefined;
        if (page.isTruncated) assert.ok(token);
      } while (token);
      assert.equal(pages, expectedPages);
      assert.deepEqual(prefixes, ['list/dir1/', 'list/dir2/']);
      assert.deepEqual(names, files);
    }

    await oss.put('list/with space+plus.txt', Buffer.from('x'));
    const encoded = await oss.listV2({ prefix: 'list/with', 'encoding-type': 'url' }, {});
    assert.deepEqual(encoded.objects.map((object) => object.name), ['list%2Fwith%20space%2Bplus.txt']);
    await oss.delete('list/with space+plus.txt');

    const afterStart = await oss.listV2({ prefix: 'list/', 'start-after': 'list/file-10.txt' }, {});
    assert.deepEqual(afterStart.objects.map((object) => object.name), ['list/file-11.txt']);
    const insideGroup = await oss.listV2({ prefix: 'list/', delimiter: '/', 'start-after': 'list/dir1/a.txt' }, {});
    assert.deepEqual(insideGroup.prefixes, ['list/dir1/', 'list/dir2/']);

    const v1Names: string[] = [];
    let marker: string | undefined;
    do {
      const page = await oss.list({ prefix: 'list/', 'max-keys': 4, ...(marker ? { marker } : {}) }, {});
      v1Names.push(...page.objects.map((object) => object.name));
      assert.equal(page.objects[0]?.owner?.id, ACCOUNT_ID);
      marker = page.isTruncated ? page.nextMarker : undefined;
    } while (marker);
    assert.deepEqual(v1Names, [...nested.slice(0, 3), ...files]);

    await assertOssError(oss.listV2({ 'max-keys': 1001 }, {}), 400, 'InvalidArgument');
  });

  test('tagging: put/get/delete, x-oss-tagging on upload, and OSS tag limits', async (t) => {
    const { client } = await startTestOss(t);
    const oss = client();
    await oss.put('tagged.txt', Buffer.from('x'), { headers: { 'x-oss-tagging': 'team=media&state=new%20file' } });
    assert.deepEqual((await oss.getObjectTagging('tagged.txt')).tag, { team: 'media', state: 'new file' });

    await oss.putObjectTagging('tagged.txt', { a: '1', b: '2' });
    assert.deepEqual((await oss.getObjectTagging('tagged.txt')).tag, { a: '1', b: '2' });
    const head = await oss.head('tagged.txt');
    assert.equal((head.res.headers as Record<string, string>)['x-oss-tagging-count'], '2');

    await oss.deleteObjectTagging('tagged.txt');
    assert.deepEqual((await oss.getObjectTagging('tagged.txt')).tag, {});

    // ali-oss checks putObjectTagging's limits itself, so the server's are reached through the header.
    const eleven = Array.from({ length: 11 }, (_, i) => `k${i}=v`).join('&');
    await assertOssError(oss.put('too-many.txt', Buffer.from('x'), { headers: { 'x-oss-tagging': eleven } }), 400, 'InvalidTag');
    const longKey = `${'k'.repeat(129)}=v`;
    await assertOssError(oss.put('long.txt', Buffer.from('x'), { headers: { 'x-oss-tagging': longKey } }), 400, 'InvalidTag');
    const longValue = `k=${'v'.repeat(257)}`;
    await assertOssError(oss.put('long.txt', Buffer.from('x'), { headers: { 'x-oss-tagging': longValue } }), 400, 'InvalidTag');
    await assertOssError(oss.getObjectTagging('missing.txt'), 404, 'NoSuchKey');
  });

  test('multipartUpload of a 12 MB buffer and file (5 MB parts) round-trips and emits CompleteMultipartUpload', async (t) => {
    const { client, waitForEvent, dataDir } = await startTestOss(t);
    const body = Buffer.alloc(12 * 1024 * 1024 + 12345);
    for (let i = 0; i + 4 <= body.length; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
    const partSize = 5 * 1024 * 1024;
    const expectedEtag = `${md5Hex(
      Buffer.concat([0, 1, 2].map((i) => createHash('md5').update(body.subarray(i * partSize, (i + 1) * partSize)).digest())),
    )}-3`;

    const fromBuffer = await client().multipartUpload('uploads/big.mp4', body, { partSize, meta: userMeta({ source: 'buffer' }) });
    assert.equal((fromBuffer.res as { status: number }).status, 200);
    const got = await client().get('uploads/big.mp4');
    assert.ok(got.content.equals(body), 'content round-trips');
    const head = await client().head('uploads/big.mp4');
    assert.equal((head.res.headers as Record<string, string>).etag, `"${expectedEtag}"`);
    assert.equal((head.res.headers as Record<string, string>)['x-oss-object-type'], 'Multipart');
    assert.deepEqual(head.meta, { source: 'buffer' });

    const event = await waitForEvent((e) => e.oss.object.key === 'uploads/big.mp4');
    assert.equal(event.eventName, 'ObjectCreated:CompleteMultipartUpload');
    assert.equal(event.oss.object.size, body.length);
    assert.equal(event.oss.object.eTag, expectedEtag);
    assert.equal(event.oss.object.objectMeta.mimeType, 'video/mp4');

    const file = join(dataDir, '..', 'big-source.mp4');
    await writeFile(file, body);
    await client({ v4: true, pathStyle: true }).multipartUpload('uploads/from-file.mp4', file, { partSize });
    assert.ok((await client().get('uploads/from-file.mp4')).content.equals(body));
  });

  test('multipart API: part checks, ListParts, abort', async (t) => {
    const { client } = await startTestOss(t);
    const oss = client();
    const { uploadId } = await oss.initMultipartUpload('parts.bin');
    const small = Buffer.from('too small for a non-final part');
    const one = await oss.uploadPart('parts.bin', uploadId, 1, small, 0, small.length);
    const two = await oss.uploadPart('parts.bin', uploadId, 2, small, 0, small.length);
    const listed = await oss.listParts('parts.bin', uploadId, NO_LIST_PARTS_QUERY, {});
    // xml2js leaves numbers as strings, whatever @types/ali-oss says.
    assert.deepEqual(listed.parts.map((part) => String(part.PartNumber)), ['1', '2']);
    await assertOssError(
      oss.completeMultipartUpload('parts.bin', uploadId, [{ number: 1, etag: one.etag }, { number: 2, etag: two.etag }]),
      400,
      'EntityTooSmall',
    );
    await assertOssError(
      oss.completeMultipartUpload('parts.bin', uploadId, [{ number: 1, etag: '"00000000000000000000000000000000"' }]),
      400,
      'InvalidPart',
    );
    await oss.abortMultipartUpload('parts.bin', uploadId);
    await assertOssError(oss.listParts('parts.bin', uploadId, NO_LIST_PARTS_QUERY, {}), 404, 'NoSuchUpload');
    await assertOssError(oss.uploadPart('parts.bin', 'not-an-upload', 1, small, 0, small.length), 404, 'NoSuchUpload');
    await assertOssError(oss.head('parts.bin'), 404, 'NoSuchKey');
  });

  test('keys with spaces, +, %, CJK, emoji and 1023 bytes round-trip; 1024 bytes is InvalidObjectName', async (t) => {
    const { client } = await startTestOss(t);
    const keys = [
      'dir/with space.txt',
      'a+b=c.txt',
      '100% done.txt',
      '视频/源文件.mp4',
      'emoji-🎬-\u{1F600}.gif',
      'q?x#y&z=1;.txt',
      "rfc3986 !*'()~ [x] @$,.txt",
      'k'.repeat(1023),
      '文'.repeat(341),
    ];
    for (const addressing of [{}, { pathStyle: true, v4: true }]) {
      const oss = client(addressing);
      for (const key of keys) {
        await oss.put(key, Buffer.from(`content of ${key}`));
        assert.equal((await oss.get(key)).content.toString(), `content of ${key}`, key);
      }
      const listed = await oss.listV2({ 'max-keys': 100 }, {});
      assert.deepEqual(new Set(listed.objects.map((object) => object.name)), new Set(keys));
      await assertOssError(oss.put('k'.repeat(1024), Buffer.from('x')), 400, 'InvalidObjectName');
      await assertOssError(oss.put('文'.repeat(342), Buffer.from('x')), 400, 'InvalidObjectName');
    }
  });

  test('traversal-looking keys are ordinary keys and never leave the bucket folder', async (t) => {
    const { client, dataDir, oss: server } = await startTestOss(t, {}, 'disk');
    const virtualHost = `${BUCKET}.oss-${REGION}.aliyuncs.com`;
    const pathHost = `127.0.0.1:${server.port}`;
    const cases = [
      { key: '../../escape.txt', path: '/../../escape.txt', host: virtualHost },
      { key: 'a/../../../../escape.txt', path: '/a/../../../../escape.txt', host: virtualHost },
      { key: '../../../escape.txt', path: `/${BUCKET}/../../../escape.txt`, host: pathHost },
      { key: '..', path: `/${BUCKET}/..`, host: pathHost },
      { key: `../${OTHER_BUCKET}/x`, path: `/${BUCKET}/../${OTHER_BUCKET}/x`, host: pathHost },
    ];
    for (const { key, path, host } of cases) {
      const resource = `/${BUCKET}/${key}`;
      assert.equal((await rawSignedRequest(server, 'PUT', path, host, resource, Buffer.from(key))).status, 200, key);
      const { status, body } = await rawSignedRequest(server, 'GET', path, host, resource);
      assert.deepEqual({ status, body }, { status: 200, body: key });
    }
    const listed = await client().listV2({ 'max-keys': 100 }, {});
    assert.deepEqual(listed.objects.map((object) => object.name).sort(), cases.map((c) => c.key).sort());
    await assertOssError(client({}, KEY, OTHER_BUCKET).get('x'), 404, 'NoSuchKey');
    const wrongBucket = await rawSignedRequest(server, 'GET', `/../${BUCKET}/x`, pathHost, `/../${BUCKET}/x`);
    assert.equal(wrongBucket.status, 404);
    assert.match(wrongBucket.body, /NoSuchBucket/);

    assert.deepEqual(await readdir(join(dataDir, '..')), ['data']);
    const files = await listFilesRecursively(dataDir);
    for (const file of files) assert.ok(relative(dataDir, file).startsWith(BUCKET), file);
    assert.ok(files.every((file) => !file.includes('escape')));

    // ali-oss resolves `..` segments in the URL it sends but signs the raw key, so such keys fail
    // to verify instead of reaching another key.
    await assertOssError(client().put('../../escape.txt', Buffer.from('x')), 403, 'SignatureDoesNotMatch');
  });

  test('signatures: wrong secret, unknown key id, unsigned and token mismatches are refused', async (t) => {
    const { client, oss: server } = await startTestOss(t);
    await client().put('private.txt', Buffer.from('secret'));
    for (const addressing of [{}, { v4: true }]) {
      const wrongSecret = client(addressing, { ...KEY, accessKeySecret: 'not-the-secret' });
      const err = await assertOssError(wrongSecret.get('private.txt'), 403, 'SignatureDoesNotMatch');
      assert.match(err.message, /signature we calculated does not match/);
      await assertOssError(client(addressing, { ...KEY, accessKeyId: 'LTAIunknown' }).get('private.txt'), 403, 'InvalidAccessKeyId');
      await assertOssError(wrongSecret.head('private.txt'), 403, 'SignatureDoesNotMatch');
    }

    const unsigned = await fetch(`http://localhost:${server.port}/${BUCKET}/private.txt`);
    assert.equal(unsigned.status, 403);
    assert.match(await unsigned.text(), /<Code>AccessDenied<\/Code>/);

    assert.equal((await client({}, STS_KEY).get('private.txt')).content.toString(), 'secret');
    assert.equal((await client({ v4: true }, STS_KEY).get('private.txt')).content.toString(), 'secret');
    await assertOssError(client({}, { ...STS_KEY, securityToken: 'forged' }).get('private.txt'), 403, 'InvalidSecurityToken');
    const { securityToken: _dropped, ...withoutToken } = STS_KEY;
    await assertOssError(client({ v4: true }, withoutToken).get('private.txt'), 403, 'InvalidSecurityToken');
    await assertOssError(client({}, { ...KEY, securityToken: 'unexpected' }).get('private.txt'), 403, 'InvalidSecurityToken');

    await assertOssError(client({}, KEY, 'no-such-bucket').get('x'), 404, 'NoSuchBucket');
    await assertOssError(client().getBucketInfo(BUCKET), 501, 'NotImplemented');
  });

  test('signed URLs (V1 and V4) work with plain fetch until they expire', async (t) => {
    const { client, waitForEvent } = await startTestOss(t);
    const oss = client({ pathStyle: true });
    await oss.put('shared/清单 1.txt', Buffer.from('shared content'));

    const url = oss.signatureUrl('shared/清单 1.txt', { expires: 60 });
    const ok = await fetch(url);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'shared content');

    const expired = await fetch(oss.signatureUrl('shared/清单 1.txt', { expires: -10 }));
    assert.equal(expired.status, 403);
    assert.match(await expired.text(), /Request has expired/);

    const tampered = await fetch(url.replace('Signature=', 'Signature=x'));
    assert.equal(tampered.status, 403);

    const v4Url = await oss.signatureUrlV4('GET', 60, { headers: {} }, 'shared/清单 1.txt');
    const v4 = await fetch(v4Url);
    assert.equal(v4.status, 200);
    assert.equal(await v4.text(), 'shared content');

    const upload = oss.signatureUrl('shared/upload.txt', { method: 'PUT', 'Content-Type': 'text/plain', expires: 60 } as OSS.SignatureUrlOptions);
    const put = await fetch(upload, { method: 'PUT', body: 'via signed url', headers: { 'Content-Type': 'text/plain' } });
    assert.equal(put.status, 200);
    assert.equal((await oss.get('shared/upload.txt')).content.toString(), 'via signed url');
    assert.equal((await waitForEvent((e) => e.oss.object.key === 'shared/upload.txt')).eventName, 'ObjectCreated:PutObject');
  });

  test('events describe puts, overwrites, copies and deletes like the FC OSS trigger', async (t) => {
    const { client, events, waitForEvent } = await startTestOss(t);
    const oss = client();
    const key = 'source/视频 a+b.mp4';
    await oss.put(key, Buffer.from('0123456789'), { meta: userMeta({ uploader: 'bob' }) });
    const created = await waitForEvent((e) => e.oss.object.key === key);
    assert.deepEqual(created, {
      eventName: 'ObjectCreated:PutObject',
      eventSource: 'acs:oss',
      eventTime: created.eventTime,
      eventVersion: '1.0',
      oss: {
        bucket: { arn: `acs:oss:${REGION}:${ACCOUNT_ID}:${BUCKET}`, name: BUCKET, ownerIdentity: ACCOUNT_ID },
        object: {
          deltaSize: 10,
          eTag: md5Hex(Buffer.from('0123456789')),
          key,
          size: 10,
          objectMeta: { mimeType: 'video/mp4', userMeta: { uploader: 'bob' } },
        },
        ossSchemaVersion: '1.0',
        ruleId: 'local',
      },
      region: REGION,
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      responseElements: { requestId: created.responseElements.requestId },
      userIdentity: { principalId: ACCOUNT_ID },
    });
    assert.match(created.eventTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(created.responseElements.requestId, /^[0-9A-F]{24}$/);

    await oss.put(key, Buffer.from('0123'));
    const overwrite = await waitForEvent((e) => e.oss.object.key === key && e.oss.object.size === 4);
    assert.equal(overwrite.oss.object.deltaSize, -6);

    await oss.copy('copies/a.mp4', key);
    await waitForEvent((e) => e.eventName === 'ObjectCreated:CopyObject' && e.oss.object.key === 'copies/a.mp4');

    await oss.delete(key);
    const removed = await waitForEvent((e) => e.eventName === 'ObjectRemoved:DeleteObject');
    assert.equal(removed.oss.object.key, key);
    assert.equal(removed.oss.object.deltaSize, -4);

    const countBefore = events.length;
    await oss.delete('never-existed.mp4');
    await oss.putObjectTagging('copies/a.mp4', { a: 'b' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(events.length, countBefore, 'no event for deleting a missing key or for tagging');
  });

  test('a restarted server keeps objects, metadata, tags and in-progress uploads', async (t) => {
    const running = await startTestOss(t, {}, 'disk');
    const before = running.client();
    await before.put('kept/a.txt', Buffer.from('persisted'), {
      meta: userMeta({ note: 'restart' }),
      headers: { 'x-oss-tagging': 'keep=yes' },
    });
    const part = Buffer.alloc(200 * 1024, 7);
    const { uploadId } = await before.initMultipartUpload('kept/multi.bin');
    const first = await before.uploadPart('kept/multi.bin', uploadId, 1, part, 0, part.length);

    await running.restart();
    const after = running.client();
    assert.equal((await after.get('kept/a.txt')).content.toString(), 'persisted');
    assert.deepEqual((await after.head('kept/a.txt')).meta, { note: 'restart' });
    assert.deepEqual((await after.getObjectTagging('kept/a.txt')).tag, { keep: 'yes' });
    const second = await after.uploadPart('kept/multi.bin', uploadId, 2, part, 0, 1000);
    await after.completeMultipartUpload('kept/multi.bin', uploadId, [
      { number: 1, etag: first.etag },
      { number: 2, etag: second.etag },
    ]);
    assert.equal((await after.get('kept/multi.bin')).content.length, part.length + 1000);
  });

  test('the memory store keeps nothing: a restarted server starts empty, and writes no files', async (t) => {
    const running = await startTestOss(t);
    await running.client().put('gone.txt', Buffer.from('in memory'));
    assert.equal((await running.client().get('gone.txt')).content.toString(), 'in memory');
    await running.restart();
    await assertOssError(running.client().get('gone.txt'), 404, 'NoSuchKey');
    await assert.rejects(readdir(running.dataDir), { code: 'ENOENT' });
  });

  test('x-oss-async-process: attachment error without a handler, the handler JSON with one', async (t) => {
    const form = (process: string) => Buffer.from(new URLSearchParams({ 'x-oss-async-process': process }).toString());
    const request = (oss: OssClient, key: string, process: string) =>
      oss.request({
        method: 'POST',
        bucket: BUCKET,
        object: key,
        subres: 'x-oss-async-process',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        content: form(process),
        successStatuses: [200],
      });
    const process = 'video/convert,f_gif,fps_10|sys/saveas,b_bWVkaWEtYnVja2V0,o_b3V0LmdpZg';

    const without = await startTestOss(t);
    await without.client().put('in.mp4', Buffer.from('video'));
    const err = await assertOssError(request(without.client(), 'in.mp4', process), 400, 'Imm Client');
    assert.match(err.message, /ResourceNotFound/);
    assert.match(err.message, /Attachment/);

    const calls: { bucket: string; key: string; process: string }[] = [];
    const withHandler = await startTestOss(t, {
      asyncProcess: async (req) => {
        calls.push(req);
        if (req.key === 'bad.mp4') return { status: 400, code: 'InvalidArgument', message: 'bad process' };
        return { status: 200, body: { EventId: '181-1kZUlN60OH4fWOcOjZEnGnG', RequestId: 'R1', TaskId: 'MediaConvert-1' } };
      },
    });
    for (const addressing of [{}, { v4: true }]) {
      const oss = withHandler.client(addressing);
      await oss.put('in.mp4', Buffer.from('video'));
      const answer = await request(oss, 'in.mp4', process);
      assert.deepEqual(JSON.parse(answer.data.toString()), { EventId: '181-1kZUlN60OH4fWOcOjZEnGnG', RequestId: 'R1', TaskId: 'MediaConvert-1' });
    }
    assert.deepEqual(calls[0], { bucket: BUCKET, key: 'in.mp4', process });
    const oss = withHandler.client();
    await oss.put('bad.mp4', Buffer.from('video'));
    await assertOssError(request(oss, 'bad.mp4', process), 400, 'InvalidArgument');
    await assertOssError(request(oss, 'missing.mp4', process), 404, 'NoSuchKey');
  });

  test('versioning: GET /?versioning has no Status until PUT; then x-oss-forbid-overwrite no longer protects keys', async (t) => {
    const server = await startTestOss(t, {}, 'disk');
    const oss = client(server);
    assert.equal((await oss.getBucketVersioning(BUCKET)).versionStatus, undefined);
    const raw = await oss.request({ method: 'GET', bucket: BUCKET, object: '', subres: 'versioning', headers: {}, content: Buffer.alloc(0), successStatuses: [200] });
    assert.match(raw.data.toString(), /<VersioningConfiguration><\/VersioningConfiguration>$/);

    assert.equal(await putCreateOnly(oss, 'job.json', 'first'), 'written');
    assert.equal(await putCreateOnly(oss, 'job.json', 'second'), 'exists');

    await oss.putBucketVersioning(BUCKET, 'Enabled');
    assert.equal((await oss.getBucketVersioning(BUCKET)).versionStatus, 'Enabled');
    assert.equal(await putCreateOnly(oss, 'job.json', 'third'), 'written');
    assert.equal((await oss.get('job.json')).content.toString(), 'third');
    // A fresh options object per call: ali-oss adds its own headers (x-oss-copy-source) to the one it is given.
    const forbid = () => ({ headers: { 'x-oss-forbid-overwrite': 'true' } });
    await oss.copy('job.json', 'job.json', forbid());

    await oss.putBucketVersioning(BUCKET, 'Suspended');
    assert.equal((await oss.getBucketVersioning(BUCKET)).versionStatus, 'Suspended');
    await oss.put('job.json', Buffer.from('fourth'), forbid());
    assert.equal((await oss.get('job.json')).content.toString(), 'fourth');

    // The state survives a restart; the other bucket never had versioning and still refuses overwrites.
    await server.restart();
    assert.equal((await client(server).getBucketVersioning(BUCKET)).versionStatus, 'Suspended');
    const other = server.client({}, KEY, OTHER_BUCKET);
    await putCreateOnly(other, 'job.json', 'first');
    assert.equal(await putCreateOnly(other, 'job.json', 'second'), 'exists');
    assert.equal((await client(server).getBucketVersioning(OTHER_BUCKET)).versionStatus, undefined);

    const bad = Buffer.from('<VersioningConfiguration><Status>Off</Status></VersioningConfiguration>');
    const refused = await client(server).request({ method: 'PUT', bucket: BUCKET, object: '', subres: 'versioning', headers: {}, content: bad, successStatuses: [200] }).catch((e: unknown) => e);
    assert.deepEqual([(refused as { status?: number }).status, (refused as { code?: string }).code], [400, 'InvalidArgument']);
  });

  test('a bucket configured with versioning starts Enabled, and its create-only writes overwrite', async (t) => {
    const server = await startTestOss(t, { buckets: [{ name: BUCKET, versioning: 'Enabled' }, OTHER_BUCKET] });
    assert.equal((await client(server).getBucketVersioning(BUCKET)).versionStatus, 'Enabled');
    await putCreateOnly(client(server), 'job.json', 'first');
    assert.equal(await putCreateOnly(client(server), 'job.json', 'second'), 'written');
    await assert.rejects(startTestOss(t, { buckets: [BUCKET, { name: BUCKET }] }), /OSS bucket media-bucket is listed twice/);
  });

  test('clock skew: more than 15 minutes off is 403 RequestTimeTooSkewed; every answer carries the server Date to correct from', async (t) => {
    const ahead = 20 * 60_000;
    const server = await startTestOss(t, { clockOffsetMs: ahead });
    for (const addressing of [{}, { v4: true }]) {
      const err = await assertOssError(server.client(addressing).put('skewed.txt', Buffer.from('x')), 403, 'RequestTimeTooSkewed');
      assert.match(err.message, /difference between the request time and the current time is too large/);
    }

    const answer = await rawSignedRequest(server.oss, 'GET', `/${BUCKET}/skewed.txt`, 'localhost', `/${BUCKET}/skewed.txt`);
    assert.equal(answer.status, 403);
    assert.match(answer.body, /<Code>RequestTimeTooSkewed<\/Code>/);
    const serverClock = Date.parse(answer.date ?? '');
    assert.ok(Math.abs(serverClock - (Date.now() + ahead)) < 5000, `Date header ${answer.date}`);

    // A client that corrects its clock from that Date header gets through (ali-oss's amendTimeSkewed).
    const corrected = server.client();
    (corrected as unknown as { options: { amendTimeSkewed: number } }).options.amendTimeSkewed = serverClock - Date.now();
    await corrected.put('skewed.txt', Buffer.from('x'));
    // Within 15 minutes is fine: 10 minutes behind the server still gets through.
    (corrected as unknown as { options: { amendTimeSkewed: number } }).options.amendTimeSkewed = serverClock - Date.now() - 10 * 60_000;
    assert.equal((await corrected.get('skewed.txt')).content.toString(), 'x');
  });

  test('faults answer roughly the configured shares with 503 ServiceUnavailable and SlowDown', async (t) => {
    const faultsEnabled = { current: false };
    const random = seededRandom(42);
    const { client } = await startTestOss(t, {
      faults: { serverErrorRate: 0.2, throttleRate: 0.1, random: () => (faultsEnabled.current ? random() : 1) },
    });
    const oss = client();
    await oss.put('probe.txt', Buffer.from('probe'));
    faultsEnabled.current = true;
    const counts = new Map<string, number>();
    const attempts = 400;
    for (let i = 0; i < attempts; i++) {
      const outcome = await oss.get('probe.txt').then(
        () => 'ok',
        (err: { status?: number; code?: string }) => `${err.status} ${err.code}`,
      );
      counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort(), ['503 ServiceUnavailable', '503 SlowDown', 'ok']);
    const share = (outcome: string) => (counts.get(outcome) ?? 0) / attempts;
    assert.ok(Math.abs(share('503 ServiceUnavailable') - 0.2) < 0.06, `server errors ${share('503 ServiceUnavailable')}`);
    assert.ok(Math.abs(share('503 SlowDown') - 0.1) < 0.05, `throttles ${share('503 SlowDown')}`);
  });

  test('DeleteMultipleObjects (ali-oss deleteMulti): verbose and quiet, one event per removed object, Content-MD5 required', async (t) => {
    const { client, events, waitForEvent, oss: server } = await startTestOss(t);
    const oss = client();
    for (const key of ['multi/a.gif', 'multi/b & <c>.webp', 'multi/c.vtt', 'multi/kept.gif']) await oss.put(key, Buffer.from(key));

    const verbose = await oss.deleteMulti(['multi/a.gif', 'multi/b & <c>.webp', 'multi/never-existed.gif']);
    assert.equal(verbose.res.status, 200);
    // Every key named counts as deleted, a missing one too (as DeleteObject answers 204 for it).
    assert.deepEqual((verbose.deleted as unknown as { Key: string }[]).map((d) => d.Key), ['multi/a.gif', 'multi/b & <c>.webp', 'multi/never-existed.gif']);
    const quiet = await oss.deleteMulti(['multi/c.vtt'], { quiet: true });
    assert.deepEqual(quiet.deleted, []);

    const left = (await oss.list({ prefix: 'multi/', 'max-keys': 10 }, {})).objects?.map((o) => o.name);
    assert.deepEqual(left, ['multi/kept.gif']);
    await waitForEvent((e) => e.oss.object.key === 'multi/c.vtt');
    const removed = events.filter((e) => e.eventName === 'ObjectRemoved:DeleteObjects');
    assert.deepEqual(removed.map((e) => e.oss.object.key).sort(), ['multi/a.gif', 'multi/b & <c>.webp', 'multi/c.vtt'], 'one event per object that existed');
    assert.equal(removed.find((e) => e.oss.object.key === 'multi/a.gif')?.oss.object.deltaSize, -'multi/a.gif'.length);

    // Without Content-MD5, or with one that does not match the body, OSS deletes nothing.
    const body = Buffer.from('<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>true</Quiet><Object><Key>multi/kept.gif</Key></Object></Delete>');
    const raw = (headers: Record<string, string>) =>
      (oss as unknown as UntypedMethods).request({ method: 'POST', bucket: BUCKET, object: '', subres: 'delete', headers: { 'Content-Type': 'application/xml', ...headers }, content: body, successStatuses: [200] });
    const missing = await rawSignedRequest(server, 'POST', '/?delete', `${BUCKET}.oss-${REGION}.aliyuncs.com`, `/${BUCKET}/?delete`, body);
    assert.equal(missing.status, 400);
    assert.match(missing.body, /<Code>InvalidDigest<\/Code>[\s\S]*Content-MD5/);
    await assertOssError(raw({ 'Content-MD5': createHash('md5').update('other').digest('base64') }), 400, 'InvalidDigest');
    assert.deepEqual((await oss.list({ prefix: 'multi/', 'max-keys': 10 }, {})).objects?.map((o) => o.name), ['multi/kept.gif']);
  });

  test('GetBucketLocation (ali-oss getBucketLocation): oss-<region>, the region a bucket is given', async (t) => {
    const { client } = await startTestOss(t, { buckets: [BUCKET, { name: OTHER_BUCKET, region: 'cn-shanghai' }] });
    assert.equal((await client().getBucketLocation(BUCKET)).location, `oss-${REGION}`);
    assert.equal((await client().getBucketLocation(OTHER_BUCKET)).location, 'oss-cn-shanghai');
    await assertOssError(client().getBucketLocation('no-such-bucket'), 404, 'NoSuchBucket');
  });
});
