import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { completionEventId, parseCompletionEvent, type CompletionEvent } from '../shared/events/completion';
import { startRecordingServer } from './helpers/recording-server';
import { startTestStack, type TestStack } from './helpers/stack';

/**
 * Completion events end to end: the built functions publish to the events topic of the local MNS when a job ends,
 * and the topic pushes them to an HTTP endpoint subscribed to it, as it would to the user's product.
 */
const EVENTS_TOPIC = 'video-animation-events';

let stack: TestStack;
let endpoint: Awaited<ReturnType<typeof startRecordingServer>>;

/** The events the subscribed endpoint received, parsed from MNS's XML notifications. */
function received(): CompletionEvent[] {
  return endpoint.requests.map((push) => {
    const message = /<Message>([\s\S]*)<\/Message>/.exec(push.body)?.[1] ?? '';
    const text = message.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
    return parseCompletionEvent(JSON.parse(text));
  });
}

before(async () => {
  endpoint = await startRecordingServer();
  endpoint.answerAlways({ status: 204 });
  stack = await startTestStack({
    functionEnv: { EVENTS_TOPIC },
    imm: { conversion: 'fast' },
    eventEndpoints: [{ endpoint: `http://127.0.0.1:${endpoint.port}/events` }],
  });
});
after(async () => {
  await stack?.stop();
  await endpoint?.close();
});

describe('completion events', () => {
  it('a job that succeeds publishes one job.succeeded event with what the product needs; its record says when', async () => {
    const key = 'videos/events/ok.mp4';
    await stack.client.put(key, await stack.sampleVideo(2));
    await stack.idle();
    await stack.mns.idle();
    const record = await stack.recordFor(key);
    assert.equal(record?.status, 'succeeded');
    const events = received().filter((e) => e.subject === key);
    assert.equal(events.length, 1);
    const [event] = events as [CompletionEvent];
    assert.equal(event.type, 'video-animation.job.succeeded');
    assert.equal(event.id, completionEventId(record.jobId, 'video-animation.job.succeeded'));
    assert.equal(event.data.jobId, record.jobId);
    assert.deepEqual(event.data.source, { bucket: stack.bucket, key, eTag: record.eTag, size: record.size });
    assert.deepEqual(
      event.data.outputs.map((o) => [o.bucket, o.key, o.format, o.frames, o.bytes]),
      record.outputs.map((o) => [stack.bucket, o.key, o.format, o.frames, o.bytes]),
    );
    assert.equal(event.data.frames, record.frames);
    assert.equal(record.event?.id, event.id);
    assert.ok(record.event?.publishedAt);
  });

  it('a job that fails publishes job.failed with the code and message', async () => {
    await stack.uploadGoodAndBad('videos/events/good.mp4', 'videos/events/bad.mp4');
    await stack.mns.idle();
    const failed = received().find((e) => e.subject === 'videos/events/bad.mp4');
    assert.equal(failed?.type, 'video-animation.job.failed');
    assert.ok(failed?.data.error?.code, 'the failure names its code');
    assert.equal(received().filter((e) => e.subject === 'videos/events/good.mp4').length, 1);
  });

  it('an event that could not be published goes out later, with the same id: the job stays open until it has', async () => {
    const key = 'videos/events/later.mp4';
    stack.mnsApi.setAvailable(false);
    const failedBefore = stack.invocations().filter((i) => i.functionName.endsWith('-record') && i.error).length;
    await stack.client.put(key, await stack.sampleVideo(1));
    for (let waited = 0; stack.invocations().filter((i) => i.functionName.endsWith('-record') && i.error).length === failedBefore; waited += 50) {
      assert.ok(waited < 60_000, 'the record function tried to publish');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const open = await stack.recordFor(key);
    // The task's result ends the job only together with its event: until then nothing records the end.
    assert.equal(open?.status, 'submitted');
    assert.equal(open.event, undefined);
    assert.ok((await stack.client.list({ prefix: `.video-animation/open/${open.jobId}`, 'max-keys': 10 }, {})).objects?.length, 'still in the open-jobs index');
    assert.equal(received().filter((e) => e.subject === key).length, 0);

    // MNS is back: the notice, delivered again, publishes the event and ends the job.
    stack.mnsApi.setAvailable(true);
    await stack.idle();
    await stack.mns.idle();
    const ended = await stack.recordFor(key);
    const events = received().filter((e) => e.subject === key);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.id, completionEventId(ended!.jobId, 'video-animation.job.succeeded'));
    assert.equal(ended?.event?.id, events[0]!.id);
  });
});
