import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OSS from 'ali-oss';
import { startLocalImm, type LocalImm } from '../src/imm/server';
import { generateSampleVideo } from '../src/media';
import { ossClientOptions, startLocalOss, type LocalOss } from '../src/oss/server';
import { immCaller } from './helpers/imm-openapi-client';

// A local IMM with a state file forgets no task across a restart: GetTask still answers for the finished ones, and
// the ones a stop interrupted (here: queued behind the first when close() dropped the queue) run again on
// resumeInterrupted(), write their outputs and publish their notices, as the cloud's IMM would have finished them.
const REGION = 'cn-hangzhou';
const PROJECT = 'video-animation';
const BUCKET = 'media-bkt';
const KEY = { accessKeyId: 'LTAI5tLocalTestKey', accessKeySecret: 'local-test-secret' };

let dir: string;
let oss: LocalOss;
let client: OSS;
const published: { topic: string; body: string }[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-imm-restart-test-'));
  oss = await startLocalOss({ storage: 'memory', region: REGION, accountId: '1234567890', buckets: [BUCKET], credentials: [KEY] });
  client = new OSS(ossClientOptions(oss, BUCKET, KEY));
  await generateSampleVideo(join(dir, 'clip.mp4'), { seconds: 2, width: 64, height: 48, fps: 5 });
  await client.put('videos/clip.mp4', join(dir, 'clip.mp4'));
});

after(async () => {
  await oss.close();
  await rm(dir, { recursive: true, force: true });
});

const startImm = (port = 0): Promise<LocalImm> =>
  startLocalImm({
    port,
    region: REGION,
    accountId: '1234567890',
    credentials: [KEY],
    projects: [PROJECT],
    oss: { endpoint: oss.endpoint, ...KEY },
    publish: async (topic, body) => void published.push({ topic, body }),
    workDir: join(dir, 'imm'),
    stateFile: join(dir, 'imm-tasks.json'),
  });

const convert = (call: ReturnType<typeof immCaller>, name: string) =>
  call('CreateMediaConvertTask', {
    ProjectName: PROJECT,
    Sources: [{ URI: `oss://${BUCKET}/videos/clip.mp4` }],
    Targets: [{ Image: { Animations: [{ Format: 'gif', URI: `oss://${BUCKET}/out/${name}.gif`, Interval: 1 }] } }],
    Notification: { MNS: { TopicName: 'imm-done' } },
  });

describe('local IMM with a state file: a restart resumes', () => {
  test('tasks interrupted by a stop run again after resumeInterrupted(); finished ones stay known', async () => {
    const first = await startImm();
    const call = immCaller({ endpoint: first.endpoint, regionId: REGION, ...KEY });
    const done = (await convert(call, 'first')).TaskId as string;
    const interrupted = (await convert(call, 'second')).TaskId as string;
    await first.close();
    assert.deepEqual(
      published.map((p) => JSON.parse(JSON.parse(p.body).content).TaskId),
      [done],
      'only the running task finished before the stop',
    );
    const saved = JSON.parse(await readFile(join(dir, 'imm-tasks.json'), 'utf8')) as { tasks: { task: { taskId: string; status: string } }[] };
    assert.deepEqual(saved.tasks.map((t) => [t.task.taskId, t.task.status]), [[done, 'Succeeded'], [interrupted, 'Running']]);

    const second = await startImm(first.port);
    const again = immCaller({ endpoint: second.endpoint, regionId: REGION, ...KEY });
    try {
      assert.equal((await again('GetTask', { ProjectName: PROJECT, TaskType: 'MediaConvert', TaskId: done })).Status, 'Succeeded');
      assert.equal((await again('GetTask', { ProjectName: PROJECT, TaskType: 'MediaConvert', TaskId: interrupted })).Status, 'Running');
      assert.deepEqual(second.resumeInterrupted(), [interrupted]);
      assert.deepEqual(second.resumeInterrupted(), [], 'a task resumes once');
      await second.idle();
      assert.equal((await again('GetTask', { ProjectName: PROJECT, TaskType: 'MediaConvert', TaskId: interrupted })).Status, 'Succeeded');
      assert.ok(((await client.head('out/second.gif')).res.headers as Record<string, string>)['content-length']);
      assert.deepEqual(
        published.map((p) => JSON.parse(JSON.parse(p.body).content).TaskId),
        [done, interrupted],
      );
    } finally {
      await second.close();
    }
  });
});
