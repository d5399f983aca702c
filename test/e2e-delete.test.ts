import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseCompletionEvent, type CompletionEvent } from '../shared/events/completion';
import { startOssRequestLog, type OssRequestLog } from './helpers/oss-request-log';
import { startRecordingServer } from './helpers/recording-server';
import { startTestStack, type TestStack } from './helpers/stack';

/** Outputs deleted with their source (deleteWithSource), through the built functions and the local stack. */
const RULES = [
  {
    name: 'preview',
    prefix: 'videos/',
    deleteWithSource: true,
    outputs: [
      { format: 'gif', key: 'animations/{basename}', frames: 4 },
      { format: 'webp', key: 'animations/{basename}', frames: 4 },
    ],
  },
];

let stack: TestStack;
let endpoint: Awaited<ReturnType<typeof startRecordingServer>>;
let ossLog: OssRequestLog;
const exists = async (key: string) => ((await stack.client.list({ prefix: key, 'max-keys': 1 }, {})).objects ?? []).some((o) => o.name === key);
const received = (): CompletionEvent[] =>
  endpoint.requests.map((push) => parseCompletionEvent(JSON.parse((/<Message>([\s\S]*)<\/Message>/.exec(push.body)?.[1] ?? '').replace(/&quot;/g, '"').replace(/&amp;/g, '&'))));

before(async () => {
  endpoint = await startRecordingServer();
  endpoint.answerAlways({ status: 204 });
  ossLog = await startOssRequestLog();
  stack = await startTestStack({
    functionEnv: { RULES: JSON.stringify(RULES), EVENTS_TOPIC: 'video-animation-events', OSS_ENDPOINT: ossLog.endpoint },
    imm: { conversion: 'fast' },
    eventEndpoints: [{ endpoint: `http://127.0.0.1:${endpoint.port}/events` }],
  });
  ossLog.forwardTo(stack.oss.port);
});
after(async () => {
  await stack?.stop();
  await endpoint?.close();
  await ossLog?.close();
});

describe('deleteWithSource', () => {
  it("deletes the source's own outputs, says so in the job and in an outputs.deleted event; another source's stay", async () => {
    const video = await stack.sampleVideo(1);
    for (const key of ['videos/gone.mp4', 'videos/kept.mp4']) await stack.client.put(key, video);
    await stack.idle();
    assert.ok(await exists('animations/gone.mp4.gif'));
    const before = ossLog.requests().length;
    await stack.client.delete('videos/gone.mp4');
    await stack.idle();
    await stack.mns.idle();
    assert.equal(await exists('animations/gone.mp4.gif'), false);
    assert.equal(await exists('animations/gone.mp4.webp'), false);
    assert.ok(await exists('animations/kept.mp4.gif'), "another source's output stays");
    assert.ok(await exists('animations/kept.mp4.webp'), "another source's output stays");
    // The source's two outputs go in one DeleteMultipleObjects, not one DELETE each.
    const deletions = ossLog.requests().slice(before).filter((r) => (r.method === 'POST' && /\?delete$/.test(r.url)) || (r.method === 'DELETE' && r.url.includes('/animations/')));
    assert.deepEqual(deletions.map((r) => [r.method, r.url, r.status]), [['POST', '/my-video-bucket/?delete', 200]]);
    const record = await stack.recordFor('videos/gone.mp4');
    assert.deepEqual(record?.deleted?.outputs, ['animations/gone.mp4.gif', 'animations/gone.mp4.webp']);
    const deleted = received().filter((e) => e.type === 'video-animation.outputs.deleted');
    assert.equal(deleted.length, 1);
    assert.equal(deleted[0]!.subject, 'videos/gone.mp4');
    assert.deepEqual(deleted[0]!.data.outputs.map((o) => o.key), ['animations/gone.mp4.gif', 'animations/gone.mp4.webp']);
  });

  it('uploading the same video again afterwards works as a first upload', async () => {
    await stack.client.put('videos/gone.mp4', await stack.sampleVideo(1));
    await stack.idle();
    assert.ok(await exists('animations/gone.mp4.gif'));
    const jobs = (await stack.records()).filter((r) => r.key === 'videos/gone.mp4');
    assert.equal(jobs.length, 2);
    assert.deepEqual(jobs.map((j) => [j.status, j.deleted ? 'deleted' : 'live']).sort(), [['succeeded', 'deleted'], ['succeeded', 'live']]);
  });
});
