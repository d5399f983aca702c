import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type LocalOss, ossClientOptions, startLocalOss } from '@video-animation/local-cloud';
import { createBucketClient } from '../shared/clients/oss';
import { ossJobStore } from '../shared/jobs/stores/oss';
import { jobStoreContract } from './helpers/store-contract';

/** The job store's contract (test/helpers/store-contract.ts) against the OSS adapter, through ali-oss, on the local OSS. */
const KEY = { accessKeyId: 'LTAIstorecontract', accessKeySecret: 'store-contract-secret' };
const BUCKET = 'media';
const PREFIX = '.video-animation/';

let dir: string;
let oss: LocalOss;
let counter = 0;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'job-store-'));
  oss = await startLocalOss({ dataDir: dir, region: 'cn-hangzhou', accountId: '1', buckets: [BUCKET], credentials: [KEY] });
});
after(async () => {
  await oss.close();
  await rm(dir, { recursive: true, force: true });
});

jobStoreContract('oss adapter on the local OSS', async () => {
  const options = ossClientOptions(oss, BUCKET, KEY, { v4: false });
  const bucket = await createBucketClient({ bucket: BUCKET, region: 'cn-hangzhou', credentials: KEY, endpoint: { protocol: 'http', host: new URL(options.endpoint as string).host } });
  // Each test gets its own records prefix, so tests do not see each other's objects.
  return ossJobStore(bucket, `${PREFIX}${++counter}/`);
});
