import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { AppDeps } from '../../shared/app/context';
import { recordTaskNotice } from '../../shared/app/record';
import { submitUploads } from '../../shared/app/submit';
import { createTopicClient } from '../../shared/clients/mns';
import { completionEventId, completionEventMessage, completionEventSource, parseCompletionEvent } from '../../shared/events/completion';
import { jobIdFor } from '../../shared/jobs/plan';
import type { Retrier } from '../../shared/platform/retry';
import { BUCKET, fakeApp, notice, uploadEvent } from '../helpers/fake-app';
import { startRecordingServer } from '../helpers/recording-server';

/**
 * The completion event of a job that ended goes out through the port bucketContext wires (app/context.ts), here
 * the functions' own MNS client against a loopback server that records each PublishMessage, as the runtime wires it.
 */

const ACCOUNT = '1234567890123456';
const TOPIC = 'video-animation-events';
const KEY = 'videos/clip.mp4';
const OUTPUTS = ['animations/clip.mp4.gif', 'animations/clip.mp4.webp'];
const JOB_ID = jobIdFor({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, 'preview');
const CREATED = { status: 201, type: 'text/xml', body: '<?xml version="1.0" encoding="UTF-8"?><Message><MessageId>M1</MessageId><MessageBodyMD5>AB</MessageBodyMD5></Message>' };

let server: Awaited<ReturnType<typeof startRecordingServer>>;
before(async () => {
  server = await startRecordingServer();
});
after(() => server.close());
beforeEach(() => {
  server.reset();
  server.answerAlways(CREATED);
});

/** The app with completion events on (EVENTS_TOPIC set); `services` lists the retry policy each call ran under. */
function eventsApp() {
  const app = fakeApp();
  const topic = createTopicClient({
    topic: TOPIC,
    region: app.config.region,
    accountId: ACCOUNT,
    credentials: { accessKeyId: 'LTAI5tExampleKeyId', accessKeySecret: 'secret' },
    endpoint: { protocol: 'http', host: `127.0.0.1:${server.port}` },
  });
  const services: string[] = [];
  const deps = (requestId = 'req'): AppDeps => {
    const base = app.deps(requestId);
    const retry: Retrier = (service, operation, kind) => (services.push(service), base.retry(service, operation, kind));
    return { ...base, retry, events: { accountId: ACCOUNT, publish: async (event) => void (await topic.publish(completionEventMessage(event))) } };
  };
  return { ...app, deps, services };
}

/** Uploads the video and records its task's success: the job ends. */
async function endJob(app: { bucket: ReturnType<typeof fakeApp>['bucket'] }, deps: (requestId?: string) => AppDeps) {
  app.bucket.objects.set(KEY, 'video bytes');
  await submitUploads(uploadEvent(KEY), deps());
  for (const key of OUTPUTS) app.bucket.objects.set(key, 'animation');
  return recordTaskNotice(notice('task-1', JOB_ID), deps('record'));
}

/** The CloudEvent a PublishMessage request carried (its XML MessageBody, unescaped). */
function publishedEvent(body: string) {
  const text = /<MessageBody>([\s\S]*)<\/MessageBody>/.exec(body)?.[1] ?? '';
  return parseCompletionEvent(JSON.parse(text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')));
}

describe('completion events: one per job that ends', () => {
  it('publishes the job.succeeded CloudEvent once, records what went out, and logs it', async () => {
    const app = eventsApp();
    assert.equal((await endJob(app, app.deps)).status, 'recorded');
    assert.equal(server.requests.length, 1);
    const [request] = server.requests;
    assert.deepEqual([request?.method, request?.url], ['POST', `/topics/${TOPIC}/messages`]);
    const event = publishedEvent(request!.body);
    const type = 'video-animation.job.succeeded';
    assert.deepEqual([event.id, event.type, event.subject, event.source], [completionEventId(JOB_ID, type), type, KEY, completionEventSource({ region: 'cn-hangzhou', accountId: ACCOUNT }, BUCKET)]);
    assert.deepEqual(event.data.outputs.map((o) => o.key), OUTPUTS);
    assert.deepEqual(app.store.ended.get(JOB_ID)?.event, { id: event.id, type, publishedAt: new Date(app.clock.now()).toISOString() });
    const published = app.logs.filter((l) => l.message === 'completion event published');
    assert.deepEqual(published.map((l) => [l['jobId'], l['type'], l['id']]), [[JOB_ID, type, event.id]]);
    assert.deepEqual(app.services.filter((s) => s === 'mns'), ['mns'], 'the publish runs under the MNS retry policy');
    assert.deepEqual([...new Set(app.services)].sort(), ['mns', 'oss'], 'the store calls under the OSS one');
  });

  it('MNS busy once: published again with the same event, and the job ends with it', async () => {
    const app = eventsApp();
    server.answerNext({ status: 503, type: 'text/xml', body: '<Error><Code>ServiceUnavailable</Code><Message>busy</Message><RequestId>R</RequestId></Error>' });
    assert.equal((await endJob(app, app.deps)).status, 'recorded');
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[1]!.body, server.requests[0]!.body);
    assert.equal(app.store.ended.get(JOB_ID)?.event?.id, publishedEvent(server.requests[0]!.body).id);
    assert.equal(app.store.ended.get(JOB_ID)?.status, 'succeeded');
  });

  it('without EVENTS_TOPIC (no publisher) the job ends with no event and nothing is sent', async () => {
    const app = fakeApp();
    assert.equal((await endJob(app, (requestId) => app.deps(requestId))).status, 'recorded');
    assert.equal(app.store.ended.get(JOB_ID)?.status, 'succeeded');
    assert.equal(app.store.ended.get(JOB_ID)?.event, undefined);
    assert.equal(server.requests.length, 0);
    assert.deepEqual(app.logs.filter((l) => l.message === 'completion event published'), []);
  });
});
