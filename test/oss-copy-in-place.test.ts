import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OSS from 'ali-oss';
import { ServiceResponseError } from '../shared/clients/http';
import { createBucketClient } from '../shared/clients/oss';
import { outputContentType } from '../shared/rules/naming';
import { ossClientOptions, startLocalOss, type AccessKey, type LocalOss, type OssEventRecord } from '@video-animation/local-cloud';

const REGION = 'cn-hangzhou';
const KEY: AccessKey = { accessKeyId: 'LTAIcopytest', accessKeySecret: 'copy-test-secret' };
const STS: AccessKey = { accessKeyId: 'STS.copytest', accessKeySecret: 'sts-secret', securityToken: 'sts-token' };
const PREVIEWS = 'public-previews';

type TaggingClient = OSS & { getObjectTagging(name: string): Promise<{ tag: Record<string, string> }> };

let oss: LocalOss;
let root: string;
const events: OssEventRecord[] = [];
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'oss-copy-test-'));
  oss = await startLocalOss({ dataDir: root, region: REGION, accountId: '1234567890', buckets: ['uploads', PREVIEWS], credentials: [KEY, STS], onEvent: (e) => events.push(e) });
});
after(async () => {
  await oss.close();
  await rm(root, { recursive: true, force: true });
});

const ours = (credentials: AccessKey) =>
  createBucketClient({ bucket: PREVIEWS, region: REGION, credentials, endpoint: { protocol: 'http', host: oss.endpoint.slice('http://'.length) } });
const official = () => new OSS(ossClientOptions(oss, PREVIEWS, KEY)) as TaggingClient;

async function settledEvents(): Promise<void> {
  // onEvent runs after the response: give it the turn it needs.
  await new Promise((resolve) => setImmediate(resolve));
}

describe('BucketApi.copyInPlace against the local OSS', () => {
  for (const credentials of [KEY, STS]) {
    it(`sets Content-Type, Cache-Control, Content-Disposition and the tags in one CopyObject, keeping content and ETag (${credentials.securityToken ? 'STS' : 'AccessKey'})`, async () => {
      const key = `previews/cat ${credentials.accessKeyId} (1).gif`;
      const put = await official().put(key, Buffer.from('GIF89a-content'), {
        headers: { 'Content-Type': 'application/octet-stream', 'x-oss-meta-stale': 'yes', 'x-oss-tagging': 'old=1&gone=2', 'Content-Language': 'en' },
      });
      const eTagBefore = String(put.res.headers['etag' as keyof typeof put.res.headers]).replace(/"/g, '');
      events.length = 0;

      await ours(credentials).copyInPlace(key, {
        contentType: outputContentType('gif'),
        cacheControl: 'public, max-age=31536000, immutable',
        contentDisposition: 'inline; filename="cat (1).gif"',
        tags: { source: 'videos/cat (1).mp4', rule: 'previews', job: 'j1', task: 'MediaConvert-1', format: 'gif' },
      });

      const head = await official().head(key);
      const headers = head.res.headers as Record<string, string>;
      assert.equal(headers['content-type'], 'image/gif');
      assert.equal(headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.equal(headers['content-disposition'], 'inline; filename="cat (1).gif"');
      assert.equal(headers['content-language'], undefined, 'REPLACE keeps only the headers sent');
      assert.equal(headers['x-oss-meta-stale'], undefined, 'REPLACE drops the user metadata');
      assert.equal(headers['etag'], `"${eTagBefore}"`);
      assert.equal((await official().get(key)).content.toString(), 'GIF89a-content');
      assert.deepEqual((await official().getObjectTagging(key)).tag, { source: 'videos/cat (1).mp4', rule: 'previews', job: 'j1', task: 'MediaConvert-1', format: 'gif' });

      await settledEvents();
      assert.deepEqual(
        events.map((e) => [e.eventName, e.oss.bucket.name, e.oss.object.key, e.oss.object.eTag, e.oss.object.objectMeta.mimeType]),
        [['ObjectCreated:CopyObject', PREVIEWS, key, eTagBefore, 'image/gif']],
      );
    });
  }

  it('without cacheControl or contentDisposition the object has neither, whatever it had', async () => {
    const key = 'previews/plain.webp';
    await official().put(key, Buffer.from('RIFF'), { headers: { 'Cache-Control': 'no-store', 'Content-Disposition': 'attachment' } });
    await ours(KEY).copyInPlace(key, { contentType: outputContentType('webp'), tags: { format: 'webp' } });
    const headers = (await official().head(key)).res.headers as Record<string, string>;
    assert.deepEqual([headers['content-type'], headers['cache-control'], headers['content-disposition']], ['image/webp', undefined, undefined]);
    assert.deepEqual((await official().getObjectTagging(key)).tag, { format: 'webp' });
  });

  it('no tags given: the object is left without tags', async () => {
    const key = 'previews/untagged.gif';
    await official().put(key, Buffer.from('GIF89a'), { headers: { 'x-oss-tagging': 'a=1' } });
    await ours(KEY).copyInPlace(key, { contentType: 'image/gif', tags: {} });
    assert.deepEqual((await official().getObjectTagging(key)).tag, {});
  });

  it('a missing object is NoSuchKey, as a ServiceResponseError', async () => {
    await assert.rejects(ours(KEY).copyInPlace('previews/none.gif', { contentType: 'image/gif', tags: {} }), (e: unknown) => e instanceof ServiceResponseError && e.status === 404 && e.code === 'NoSuchKey');
  });
});
