import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, afterEach, before, describe, it } from 'node:test';
import { ServiceResponseError } from '../shared/clients/http';
import { createTopicClient } from '../shared/clients/mns';
import { jobEndedEvent } from '../shared/events/completion';
import { createLocalMns, startLocalMnsServer, type LocalMns, type LocalMnsServer } from '@video-animation/local-cloud';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- @alicloud/mns ships no types
const MNSClient = require('@alicloud/mns') as new (
  accountId: string,
  options: { endpoint: string; accessKeyId: string; accessKeySecret: string; securityToken?: string },
) => {
  publishMessage(topic: string, params: { MessageBody: string }): Promise<{ code: number; body: { MessageId: string; MessageBodyMD5: string } }>;
  receiveMessage(queue: string, waitSeconds?: number): Promise<{ code: number; body: { MessageId: string; ReceiptHandle: string; MessageBody: string; MessageBodyMD5: string; DequeueCount: string } }>;
  deleteMessage(queue: string, receiptHandle: string): Promise<{ code: number }>;
};

const ACCOUNT = '1234567890123456';
const KEY = { accessKeyId: 'LTAIlocal', accessKeySecret: 'local-secret' };
const STS = { accessKeyId: 'STS.local', accessKeySecret: 'sts-secret', securityToken: 'sts-token' };
const TOPIC = 'app-events';

let mns: LocalMns;
let server: LocalMnsServer;
before(async () => {
  mns = createLocalMns({ accountId: ACCOUNT, delayScale: 0.001 });
  mns.createTopic(TOPIC);
  server = await startLocalMnsServer({ mns, credentials: [KEY, STS] });
});
after(async () => {
  mns.close();
  await server.close();
});

const client = (credentials: typeof KEY | typeof STS = KEY, topic = TOPIC) =>
  createTopicClient({ topic, region: 'cn-hangzhou', accountId: ACCOUNT, credentials, endpoint: { protocol: 'http', host: server.endpoint.slice('http://'.length) } });

const md5Upper = (text: string) => createHash('md5').update(text, 'utf8').digest('hex').toUpperCase();

function sink() {
  const payloads: string[] = [];
  return { payloads, deliver: async (payload: Buffer) => void payloads.push(payload.toString('utf8')) };
}

describe('local MNS: PublishMessage over HTTP', () => {
  it('our client publishes; the topic pushes the message to its subscriptions; 201 with MessageId and MessageBodyMD5', async () => {
    const fc = sink();
    mns.subscribe(TOPIC, { name: 'fc-1', notifyContentFormat: 'STREAM', notifyStrategy: 'BACKOFF_RETRY', deliver: fc.deliver });
    const body = JSON.stringify({ a: '<b> & "c"', cat: '猫' });
    for (const credentials of [KEY, STS]) {
      const published = await client(credentials).publish(body);
      assert.equal(published.messageBodyMd5, md5Upper(body));
      assert.match(published.messageId, /^[0-9A-F]{32}$/);
    }
    await mns.idle();
    assert.deepEqual(fc.payloads, [body, body]);
  });

  it('the official client publishes too, and reads the answer', async () => {
    const official = new MNSClient(ACCOUNT, { endpoint: server.endpoint, ...KEY });
    const answer = await official.publishMessage(TOPIC, { MessageBody: 'hello' });
    assert.equal(answer.code, 201);
    assert.equal(answer.body.MessageBodyMD5, md5Upper('hello'));
  });

  it('refuses a wrong secret, a missing STS token, an unknown topic, and answers 503 while down', async () => {
    const failure = async (promise: Promise<unknown>) =>
      promise.then(
        () => assert.fail('published'),
        (error: unknown) => {
          assert.ok(error instanceof ServiceResponseError);
          return [error.status, error.code];
        },
      );
    assert.deepEqual(await failure(client({ ...KEY, accessKeySecret: 'wrong' }).publish('x')), [403, 'SignatureDoesNotMatch']);
    assert.deepEqual(await failure(client({ accessKeyId: STS.accessKeyId, accessKeySecret: STS.accessKeySecret } as typeof KEY).publish('x')), [403, 'InvalidAccessKeyId']);
    assert.deepEqual(await failure(client(KEY, 'no-such-topic').publish('x')), [404, 'TopicNotExist']);
    server.setAvailable(false);
    try {
      assert.deepEqual(await failure(client().publish('x')), [503, 'ServiceUnavailable']);
    } finally {
      server.setAvailable(true);
    }
    await client().publish('after the outage');
    assert.deepEqual(server.requests().slice(-5).map((r) => r.status), [403, 403, 404, 503, 201]);
  });
});

describe('local MNS: a queue subscribed to the topic, for consumers that pull', () => {
  it('the official client receives and deletes; an undeleted message comes back with a new handle', async () => {
    mns.createTopic('pull-topic');
    const queue = server.subscribeQueue('pull-topic', { name: 'to-queue', queue: 'app-events-queue', visibilityTimeoutSeconds: 0 });
    const official = new MNSClient(ACCOUNT, { endpoint: server.endpoint, ...STS });
    await client(KEY, 'pull-topic').publish('{"first":"<1>"}');
    await client(KEY, 'pull-topic').publish('second');
    await mns.idle();
    assert.equal(queue.size(), 2);

    const first = await official.receiveMessage('app-events-queue', 1);
    assert.deepEqual([first.code, first.body.MessageBody, first.body.MessageBodyMD5, first.body.DequeueCount], [200, '{"first":"<1>"}', md5Upper('{"first":"<1>"}'), '1']);
    // Visibility timeout 0: not deleted, so it is received again, with a new handle; the old one no longer deletes.
    const again = await official.receiveMessage('app-events-queue', 1);
    assert.deepEqual([again.body.MessageId, again.body.DequeueCount], [first.body.MessageId, '2']);
    assert.notEqual(again.body.ReceiptHandle, first.body.ReceiptHandle);
    await assert.rejects(official.deleteMessage('app-events-queue', first.body.ReceiptHandle), (e: Error) => e.name === 'MNSReceiptHandleErrorError');
    assert.equal((await official.deleteMessage('app-events-queue', again.body.ReceiptHandle)).code, 204);

    const second = await official.receiveMessage('app-events-queue', 1);
    assert.equal(second.body.MessageBody, 'second');
    await official.deleteMessage('app-events-queue', second.body.ReceiptHandle);
    assert.equal(queue.size(), 0);
    await assert.rejects(official.receiveMessage('app-events-queue', 1), (e: Error) => e.name === 'MNSMessageNotExistError');
    await assert.rejects(official.receiveMessage('no-such-queue'), (e: Error) => e.name === 'MNSQueueNotExistError');
  });
});

describe('local MNS: push to an HTTP endpoint', () => {
  it('POSTs the JSON envelope signed as MNS signs pushes; the signature verifies with the key at the certificate URL', async () => {
    const received: { url: string; headers: IncomingHttpHeaders; body: Buffer }[] = [];
    const endpoint = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(received.length === 1 ? 500 : 201).end();
      });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    try {
      const port = (endpoint.address() as AddressInfo).port;
      mns.createTopic('push-topic');
      server.subscribeHttpEndpoint('push-topic', { name: 'http-1', endpoint: `http://127.0.0.1:${port}/hook?token=abc`, notifyContentFormat: 'JSON', notifyStrategy: 'BACKOFF_RETRY' });
      await client(KEY, 'push-topic').publish('{"hello":"world"}');
      await mns.idle();
      assert.equal(received.length, 2, 'the failed first push is retried once');
      const push = received[1]!;
      assert.equal(push.url, '/hook?token=abc');
      const envelope = JSON.parse(push.body.toString('utf8')) as { TopicName: string; Message: string };
      assert.deepEqual([envelope.TopicName, envelope.Message], ['push-topic', '{"hello":"world"}']);
      assert.equal(push.headers['x-mns-version'], '2015-06-06');
      assert.equal(Buffer.from(String(push.headers['content-md5']), 'base64').toString(), createHash('md5').update(push.body).digest('hex'));
      const certUrl = Buffer.from(String(push.headers['x-mns-signing-cert-url']), 'base64').toString('utf8');
      assert.equal(certUrl, server.certUrl);
      const key = createPublicKey(await (await fetch(certUrl)).text());
      const mnsHeaders = Object.keys(push.headers).filter((h) => h.startsWith('x-mns-')).sort().map((h) => `${h}:${String(push.headers[h])}\n`).join('');
      const stringToSign = `POST\n${String(push.headers['content-md5'])}\n${String(push.headers['content-type'])}\n${String(push.headers['date'])}\n${mnsHeaders}/hook?token=abc`;
      const signature = Buffer.from(String(push.headers['authorization']), 'base64');
      assert.equal(verify('RSA-SHA1', Buffer.from(stringToSign), key, signature), true);
      assert.equal(verify('RSA-SHA1', Buffer.from(stringToSign.replace('/hook', '/other')), key, signature), false);
    } finally {
      endpoint.closeAllConnections();
      endpoint.close();
    }
  });
});

describe('examples/consumer against the local MNS', () => {
  let consumer: ChildProcess | undefined;
  afterEach(() => {
    if (consumer?.pid !== undefined && consumer.exitCode === null) consumer.kill();
  });

  it('verifies each push, prints each event once, refuses a push without the token or without the signature', async () => {
    consumer = spawn(process.execPath, [path.join(__dirname, '..', 'examples', 'consumer', 'server.mjs')], {
      env: { ...process.env, PORT: '0', EVENTS_TOKEN: 's3cret', MNS_CERT_URL_PREFIXES: `${server.endpoint}/`, EXIT_AFTER_MS: '60000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const errors: string[] = [];
    const stderr = createInterface({ input: consumer.stderr! });
    stderr.on('line', (line) => errors.push(line));
    const listening = await new Promise<string>((resolve) => {
      createInterface({ input: consumer!.stdout! }).on('line', (line) => {
        lines.push(line);
        const parsed = JSON.parse(line) as { listening?: string };
        if (parsed.listening) resolve(parsed.listening);
      });
    });
    const base = listening.replace('?token=...', '');
    mns.createTopic('consumer-events');
    // The same events twice over, in two formats: the consumer prints each once.
    server.subscribeHttpEndpoint('consumer-events', { name: 'consumer-xml', endpoint: `${base}?token=s3cret`, notifyContentFormat: 'XML', notifyStrategy: 'BACKOFF_RETRY' });
    server.subscribeHttpEndpoint('consumer-events', { name: 'consumer-simple', endpoint: `${base}?token=s3cret`, notifyContentFormat: 'SIMPLIFIED', notifyStrategy: 'BACKOFF_RETRY' });
    server.subscribeHttpEndpoint('consumer-events', { name: 'intruder', endpoint: `${base}?token=guess`, notifyContentFormat: 'JSON', notifyStrategy: 'BACKOFF_RETRY' });

    const event = jobEndedEvent(
      {
        schemaVersion: 2, jobId: 'job-1', bucket: 'uploads', key: 'videos/cat.mp4', eTag: 'E', size: 10, rule: 'previews', engine: 'imm', status: 'succeeded',
        outputs: [{ key: 'previews/cat.gif', format: 'gif', maxFrames: 300, frames: 12, bytes: 999 }],
        attempts: [], createdAt: '2026-12-03T07:00:00.000Z', updatedAt: '2026-12-03T07:00:01.000Z', finishedAt: '2026-12-03T07:00:01.000Z', error: null,
      },
      { region: 'cn-hangzhou', accountId: ACCOUNT },
    );
    const publisher = client(KEY, 'consumer-events');
    await publisher.publish(JSON.stringify(event));
    await mns.idle();

    const printed = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => !l['listening']);
    assert.deepEqual(printed, [
      { id: event.id, type: 'video-animation.job.succeeded', subject: 'videos/cat.mp4', outputs: ['uploads/previews/cat.gif'] },
      { repeat: event.id },
    ]);
    const delivered = mns.deliveries().filter((d) => d.subscription.startsWith('consumer-'));
    assert.deepEqual(delivered.map((d) => d.outcome), ['delivered', 'delivered']);
    const intruder = mns.deliveries().filter((d) => d.subscription === 'intruder');
    assert.ok(intruder.length >= 2 && intruder.every((d) => d.outcome === 'failed'), 'pushes to a URL without the right token are refused');
    assert.deepEqual(errors, []);

    const nextError = new Promise((resolve) => stderr.once('line', resolve));
    const forged = await fetch(`${base}?token=s3cret`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
    assert.equal(forged.status, 403, 'a push with the token but without MNS signature is refused');
    await nextError;
    assert.deepEqual(errors, ['refused: not signed by MNS (no x-mns-signing-cert-url or Authorization)']);
  });
});
