import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startRecordingServer } from './helpers/recording-server';
import { createTopicClient } from '../shared/clients/mns';
import { parseEndpoint } from '../shared/clients/endpoint';
import { jobEndedEvent } from '../shared/events/completion';
import { FUNCTION_CREDENTIALS, LOCAL_ACCOUNT_ID } from '../local/stack';
import { startTestStack, type TestStack } from './helpers/stack';

const EVENTS_TOPIC = 'video-animation-events';

let stack: TestStack;
let endpoint: Awaited<ReturnType<typeof startRecordingServer>>;
before(async () => {
  endpoint = await startRecordingServer();
  endpoint.answerAlways({ status: 204 });
  stack = await startTestStack({
    functionEnv: { EVENTS_TOPIC },
    imm: { conversion: 'fast' },
    eventEndpoints: [{ endpoint: `http://127.0.0.1:${endpoint.port}/events?token=t` }],
  });
});
after(async () => {
  await stack.stop();
  await endpoint.close();
});

describe('the local stack: the events topic over MNS_ENDPOINT', () => {
  it('every function gets MNS_ENDPOINT; a publish with the function role is accepted, pushed and logged', async () => {
    for (const fn of stack.functions.values()) assert.equal(fn.environment['MNS_ENDPOINT'], stack.mnsApi.endpoint);
    const pushed: string[] = [];
    stack.mns.subscribe(EVENTS_TOPIC, { name: 'probe', notifyContentFormat: 'STREAM', notifyStrategy: 'BACKOFF_RETRY', deliver: async (p) => void pushed.push(p.toString('utf8')) });

    const event = jobEndedEvent(
      {
        schemaVersion: 2, jobId: 'j-1', bucket: stack.bucket, key: 'videos/cat.mp4', eTag: 'E', size: 1, rule: 'preview', engine: 'imm', status: 'succeeded',
        outputs: [], attempts: [], createdAt: '2026-12-03T07:00:00.000Z', updatedAt: '2026-12-03T07:00:01.000Z', finishedAt: '2026-12-03T07:00:01.000Z', error: null,
      },
      { region: stack.region, accountId: LOCAL_ACCOUNT_ID },
    );
    const topic = createTopicClient({
      topic: EVENTS_TOPIC,
      region: stack.region,
      accountId: LOCAL_ACCOUNT_ID,
      credentials: FUNCTION_CREDENTIALS,
      endpoint: parseEndpoint(stack.mnsApi.endpoint),
    });
    await topic.publish(JSON.stringify(event));
    await stack.mns.idle();

    assert.deepEqual(pushed, [JSON.stringify(event)]);
    // The subscribed endpoint got MNS's XML notification, signed.
    assert.equal(endpoint.requests.length, 1);
    const push = endpoint.requests[0]!;
    assert.equal(push.url, '/events?token=t');
    assert.equal(push.headers['content-type'], 'text/xml;charset=utf-8');
    assert.ok(push.headers['x-mns-signing-cert-url'] && push.headers['authorization']);
    assert.match(push.body, new RegExp(`<TopicName>${EVENTS_TOPIC}</TopicName>`));
    assert.match(push.body, /<Message>\{"specversion":"1\.0","id":"[0-9a-f]{32}"/);
    assert.deepEqual(
      stack.logs().filter((l) => l.source === 'mns').map((l) => l.line),
      [`${EVENTS_TOPIC}: video-animation.job.succeeded videos/cat.mp4 (id ${event.id})`],
    );
  });
});
