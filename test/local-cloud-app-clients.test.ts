import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startLocalImm, startLocalOss } from '@video-animation/local-cloud';
import { NetworkError } from '../shared/clients/http';
import { createImmClient } from '../shared/clients/imm';
import { createBucketClient } from '../shared/clients/oss';
import { startTestStack, type TestStack } from './helpers/stack';

const OUTPUTS = 'video-animation-outputs';
let stack: TestStack;

before(async () => {
  stack = await startTestStack({
    buckets: [{ name: OUTPUTS }, { name: 'my-video-bucket', versioning: 'Enabled' }],
    imm: { conversion: 'fast' },
  });
});

after(async () => {
  await stack.stop();
});

describe('the local stack with buckets beside s.yaml', () => {
  test("a second bucket is served, IMM writes a task's output into it, and s.yaml's bucket takes its settings", async () => {
    assert.equal(stack.bucket, 'my-video-bucket');
    const outputs = stack.ossClient({ bucket: OUTPUTS });
    await outputs.put('in/clip.mp4', await stack.sampleVideo(2));

    const imm = createImmClient({ region: stack.region, credentials: stack.credentials, endpoint: { protocol: 'http', host: stack.imm.endpoint } });
    const project = stack.spec.functions.map((f) => f.env['IMM_PROJECT']).find((p) => p !== undefined)!;
    const created = await imm.createMediaConvertTask({
      ProjectName: project,
      Sources: [{ URI: `oss://${OUTPUTS}/in/clip.mp4` }],
      Targets: [{ Image: { Animations: [{ Format: 'gif', URI: `oss://${OUTPUTS}/out/clip.gif`, Interval: 1 }] } }],
    });
    await stack.idle();
    assert.equal((await imm.getTask(project, created.TaskId)).Status, 'Succeeded');
    assert.equal((await outputs.head('out/clip.gif')).status, 200);
    // The second bucket has no trigger: nothing was invoked for either upload.
    assert.equal(stack.invocations().length, 0);

    // s.yaml's bucket was configured with versioning on: create-only writes overwrite there.
    const bucket = createBucketClient({ bucket: stack.bucket, region: stack.region, credentials: stack.credentials, endpoint: { protocol: 'http', host: `127.0.0.1:${stack.oss.port}` } });
    assert.equal(await bucket.putText('notes/once.json', '1', { createOnly: true }), 'written');
    assert.equal(await bucket.putText('notes/once.json', '2', { createOnly: true }), 'written');
  });

  test('ossClockOffsetMs moves the local OSS clock: every client of the stack looks skewed', async () => {
    const skewed = await startTestStack({ build: false, ossClockOffsetMs: 20 * 60_000 });
    try {
      await assert.rejects(skewed.client.put('any.txt', Buffer.from('x')), { status: 403, code: 'RequestTimeTooSkewed' });
    } finally {
      await skewed.stop();
    }
  });
});

describe("the functions' own clients against the local cloud's faults", () => {
  const KEY = { accessKeyId: 'LTAIclientstest', accessKeySecret: 'clients-test-secret' };

  test('a clock 20 minutes off: OSS answers 403 RequestTimeTooSkewed, the client corrects its clock from the Date and retries once', async (t) => {
    const oss = await startLocalOss({ storage: 'memory', region: 'cn-hangzhou', accountId: '1', buckets: ['skewed'], credentials: [KEY], clockOffsetMs: 20 * 60_000 });
    t.after(() => oss.close());
    let clockReads = 0;
    const bucket = createBucketClient({
      bucket: 'skewed',
      region: 'cn-hangzhou',
      credentials: KEY,
      endpoint: { protocol: 'http', host: `127.0.0.1:${oss.port}` },
      now: () => (clockReads++, new Date()),
    });
    assert.equal(await bucket.putText('x.json', '{}'), 'written');
    assert.equal(await bucket.getText('x.json'), '{}', 'later requests are signed with the corrected clock');
    // The first request, the retry after the correction, then the GET: one refused request in all.
    assert.ok(clockReads >= 3);
  });

  test('a lost CreateMediaConvertTask answer is a NetworkError (ECONNRESET) while the task exists', async (t) => {
    const imm = await startLocalImm({
      region: 'cn-hangzhou',
      accountId: '1',
      credentials: [KEY],
      projects: ['p'],
      oss: { endpoint: 'http://127.0.0.1:9', ...KEY },
      publish: async () => {},
      workDir: stack.dir,
      conversion: 'fast',
      faults: { dropFirstCreateAnswers: 1 },
    });
    t.after(() => imm.close());
    const client = createImmClient({ region: 'cn-hangzhou', credentials: KEY, endpoint: { protocol: 'http', host: imm.endpoint } });
    const request = { ProjectName: 'p', Sources: [{ URI: 'oss://media-bkt/in.mp4' }], Targets: [{ Image: { Animations: [{ Format: 'gif' as const, URI: 'oss://media-bkt/out.gif' }] } }] };
    await assert.rejects(client.createMediaConvertTask(request), (error: unknown) => error instanceof NetworkError && error.code === 'ECONNRESET');
    assert.equal(imm.tasks().length, 1);
  });
});
