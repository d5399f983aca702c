import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OSS from 'ali-oss';
import { startLocalImm, type LocalImm } from '../src/imm/server';
import { generateSampleVideo } from '../src/media';
import { ossClientOptions, startLocalOss, type LocalOss } from '../src/oss/server';
import { immCaller, type ImmCaller } from './helpers/imm-openapi-client';

// A key with `.` or `..` segments cannot be read through an HTTP client (it resolves the segments, so OSS gets
// another path than the one signed and answers 403 SignatureDoesNotMatch). The local IMM reports that as the
// refusal it is, 403 PermissionDenied (a task: Failed with PermissionDenied, which the app does not retry), never
// as a 500 InternalError that invites retries forever.
const REGION = 'cn-hangzhou';
const PROJECT = 'video-animation';
const BUCKET = 'media-bkt';
const KEY = { accessKeyId: 'LTAI5tLocalTestKey', accessKeySecret: 'local-test-secret' };

let dir: string;
let oss: LocalOss;
let imm: LocalImm;
let call: ImmCaller;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-imm-keys-test-'));
  oss = await startLocalOss({ storage: 'memory', region: REGION, accountId: '1234567890', buckets: [BUCKET], credentials: [KEY] });
  imm = await startLocalImm({
    region: REGION,
    accountId: '1234567890',
    credentials: [KEY],
    projects: [PROJECT],
    oss: { endpoint: oss.endpoint, ...KEY },
    publish: async () => undefined,
    workDir: join(dir, 'imm'),
  });
  call = immCaller({ endpoint: imm.endpoint, regionId: REGION, ...KEY });
  await generateSampleVideo(join(dir, 'clip.mp4'), { seconds: 1, width: 32, height: 32, fps: 5 });
  await new OSS(ossClientOptions(oss, BUCKET, KEY)).put('escaped.mp4', join(dir, 'clip.mp4'));
});

after(async () => {
  await imm.close();
  await oss.close();
  await rm(dir, { recursive: true, force: true });
});

describe('local IMM: keys with dot segments are refused with 4xx codes', () => {
  for (const key of ['videos/../../../escaped.mp4', 'videos/./escaped.mp4']) {
    test(`DetectMediaMeta on ${key}: 403 PermissionDenied with OSS's answer`, async () => {
      await assert.rejects(call('DetectMediaMeta', { ProjectName: PROJECT, SourceURI: `oss://${BUCKET}/${key}` }), (error: { statusCode?: number; code?: string; message?: string }) => {
        assert.equal(error.statusCode, 403);
        assert.equal(error.code, 'PermissionDenied');
        assert.match(error.message ?? '', /is denied \(OSS answered 403\b/);
        return true;
      });
    });

    test(`CreateMediaConvertTask from ${key}: the task fails with PermissionDenied`, async () => {
      const { TaskId } = await call('CreateMediaConvertTask', {
        ProjectName: PROJECT,
        Sources: [{ URI: `oss://${BUCKET}/${key}` }],
        Targets: [{ Image: { Animations: [{ Format: 'gif', URI: `oss://${BUCKET}/out/escaped.gif` }] } }],
      });
      await imm.idle();
      const task = imm.tasks().find((t) => t.taskId === TaskId);
      assert.deepEqual([task?.status, task?.code], ['Failed', 'PermissionDenied']);
    });
  }
});
