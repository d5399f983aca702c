import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { retryDelaySeconds } from '../src/mns/retry';
import { createLocalMns, TopicNotExistError, type SubscriptionOptions } from '../src/mns/topics';

function collector() {
  const payloads: Buffer[] = [];
  return { payloads, deliver: async (payload: Buffer) => void payloads.push(payload) };
}

function failing(times: number) {
  const attemptsAt: number[] = [];
  return {
    attemptsAt,
    deliver: async () => {
      attemptsAt.push(performance.now());
      if (attemptsAt.length <= times) throw new Error(`push ${attemptsAt.length} refused`);
    },
  };
}

const jsonBackoff = { notifyContentFormat: 'JSON', notifyStrategy: 'BACKOFF_RETRY' } as const satisfies Partial<SubscriptionOptions>;

describe('local MNS topic push', () => {
  test('JSON format wraps the message in the MNS envelope', async () => {
    const mns = createLocalMns({ accountId: '1111' });
    const sink = collector();
    mns.subscribe('done', { name: 'record', ...jsonBackoff, deliver: sink.deliver });
    const before = Date.now();
    const messageId = mns.publish('done', '{"hello":"world"}');
    await mns.idle();

    assert.equal(sink.payloads.length, 1);
    const envelope = JSON.parse(sink.payloads[0]!.toString('utf8'));
    assert.deepEqual(Object.keys(envelope), ['TopicOwner', 'TopicName', 'Subscriber', 'SubscriptionName', 'MessageId', 'MessageMD5', 'Message', 'PublishTime']);
    assert.equal(envelope.TopicOwner, '1111');
    assert.equal(envelope.TopicName, 'done');
    assert.equal(envelope.Subscriber, '1111');
    assert.equal(envelope.SubscriptionName, 'record');
    assert.equal(envelope.MessageId, messageId);
    assert.match(messageId, /^[0-9A-F]{32}$/);
    assert.equal(envelope.Message, '{"hello":"world"}');
    assert.equal(envelope.MessageMD5, createHash('md5').update('{"hello":"world"}').digest('hex').toUpperCase());
    assert.equal(typeof envelope.PublishTime, 'number');
    assert.ok(envelope.PublishTime >= before && envelope.PublishTime <= Date.now());
  });

  test('JSON format adds message attributes as top-level keys', async () => {
    const mns = createLocalMns();
    const sink = collector();
    mns.subscribe('done', { name: 'record', ...jsonBackoff, deliver: sink.deliver });
    mns.publish('done', 'body', { attributes: { Source: 'imm' } });
    await mns.idle();
    assert.equal(JSON.parse(sink.payloads[0]!.toString()).Source, 'imm');
  });

  test('STREAM format pushes the raw body, or {body, attrs} with attributes', async () => {
    const mns = createLocalMns();
    const sink = collector();
    mns.subscribe('done', { name: 'raw', notifyContentFormat: 'STREAM', notifyStrategy: 'BACKOFF_RETRY', deliver: sink.deliver });
    mns.publish('done', '{"a":1}');
    mns.publish('done', 'plain', { attributes: { k: 'v' } });
    await mns.idle();
    const bodies = sink.payloads.map((payload) => payload.toString('utf8')).sort();
    assert.deepEqual(bodies, ['{"a":1}', '{"body":"plain","attrs":{"k":"v"}}']);
  });

  test('base64Message per topic or per publish encodes the Message', async () => {
    const mns = createLocalMns();
    const json = collector();
    const stream = collector();
    mns.createTopic('encoded', { base64Message: true });
    mns.subscribe('encoded', { name: 'json', ...jsonBackoff, deliver: json.deliver });
    mns.subscribe('encoded', { name: 'stream', notifyContentFormat: 'STREAM', notifyStrategy: 'BACKOFF_RETRY', deliver: stream.deliver });
    mns.publish('encoded', '{"x":"é"}');
    await mns.idle();
    const encoded = Buffer.from('{"x":"é"}').toString('base64');
    const envelope = JSON.parse(json.payloads[0]!.toString());
    assert.equal(envelope.Message, encoded);
    assert.equal(envelope.MessageMD5, createHash('md5').update(encoded).digest('hex').toUpperCase());
    assert.equal(stream.payloads[0]!.toString(), encoded);

    mns.publish('encoded', 'as is', { base64Message: false });
    await mns.idle();
    assert.equal(stream.payloads[1]!.toString(), 'as is');
  });

  test('every subscription gets the message; filterTag selects by messageTag', async () => {
    const mns = createLocalMns();
    const all = collector();
    const tagged = collector();
    mns.subscribe('t', { name: 'all', ...jsonBackoff, deliver: all.deliver });
    mns.subscribe('t', { name: 'tagged', ...jsonBackoff, filterTag: 'gif', deliver: tagged.deliver });
    mns.publish('t', 'one', { messageTag: 'gif' });
    mns.publish('t', 'two', { messageTag: 'webp' });
    mns.publish('t', 'three');
    await mns.idle();
    assert.equal(all.payloads.length, 3);
    assert.deepEqual(tagged.payloads.map((p) => JSON.parse(p.toString()).Message), ['one']);
  });

  test('publishing to a topic that does not exist fails', () => {
    const mns = createLocalMns();
    assert.throws(() => mns.publish('nope', 'x'), TopicNotExistError);
  });

  test('BACKOFF_RETRY: 3 retries 10-20 s apart (scaled), then the message is dropped', async () => {
    const mns = createLocalMns({ delayScale: 0.001 });
    const endpoint = failing(Infinity);
    mns.subscribe('t', { name: 'down', ...jsonBackoff, deliver: endpoint.deliver });
    const messageId = mns.publish('t', 'lost');
    await mns.idle();

    assert.equal(endpoint.attemptsAt.length, 4);
    for (let i = 1; i < 4; i++) {
      const gap = endpoint.attemptsAt[i]! - endpoint.attemptsAt[i - 1]!;
      assert.ok(gap >= 9 && gap < 60, `gap ${gap} ms is 10-20 s scaled by 0.001`);
    }
    assert.deepEqual(mns.dropped(), [{ topic: 't', subscription: 'down', messageId, attempts: 4, lastError: 'push 4 refused' }]);
    assert.deepEqual(mns.deliveries().map((d) => [d.attempt, d.outcome]), [[1, 'failed'], [2, 'failed'], [3, 'failed'], [4, 'failed']]);
  });

  test('BACKOFF_RETRY: a push that succeeds on a retry is delivered, not dropped', async () => {
    const mns = createLocalMns({ delayScale: 0.0001 });
    const endpoint = failing(2);
    mns.subscribe('t', { name: 'flaky', ...jsonBackoff, deliver: endpoint.deliver });
    mns.publish('t', 'eventually');
    await mns.idle();
    assert.equal(endpoint.attemptsAt.length, 3);
    assert.deepEqual(mns.dropped(), []);
    assert.deepEqual(mns.deliveries().map((d) => d.outcome), ['failed', 'failed', 'delivered']);
  });

  test('EXPONENTIAL_DECAY_RETRY: 176 retries over a day, then dropped', async () => {
    const delays = Array.from({ length: 177 }, (_, retry) => retryDelaySeconds('EXPONENTIAL_DECAY_RETRY', retry));
    assert.equal(delays[176], undefined);
    const waits = delays.slice(0, 176) as number[];
    assert.deepEqual(waits.slice(0, 11), [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 512]);
    const total = waits.reduce((sum, wait) => sum + wait, 0);
    assert.ok(total > 23 * 3600 && total <= 24 * 3600, `total ${total} s is about a day`);

    const mns = createLocalMns({ delayScale: 0.000001 });
    const endpoint = failing(Infinity);
    mns.subscribe('t', { name: 'down', notifyContentFormat: 'STREAM', notifyStrategy: 'EXPONENTIAL_DECAY_RETRY', deliver: endpoint.deliver });
    mns.publish('t', 'lost');
    await mns.idle();
    assert.equal(endpoint.attemptsAt.length, 177);
    assert.equal(mns.dropped()[0]?.attempts, 177);
  });

  test('BACKOFF_RETRY waits are 10 to 20 s', () => {
    assert.equal(retryDelaySeconds('BACKOFF_RETRY', 0, () => 0), 10);
    assert.ok(Math.abs(retryDelaySeconds('BACKOFF_RETRY', 2, () => 0.999)! - 19.99) < 1e-9);
    assert.equal(retryDelaySeconds('BACKOFF_RETRY', 3), undefined);
  });

  test('faults: duplicateRate pushes a delivered message twice; delayMs holds the first push', async () => {
    const mns = createLocalMns({ faults: { duplicateRate: 1, delayMs: 30 } });
    const sink = collector();
    mns.subscribe('t', { name: 'dup', ...jsonBackoff, deliver: sink.deliver });
    const start = performance.now();
    const messageId = mns.publish('t', 'twice');
    assert.equal(sink.payloads.length, 0);
    await mns.idle();
    assert.ok(performance.now() - start >= 25);
    assert.equal(sink.payloads.length, 2);
    assert.deepEqual(sink.payloads[0], sink.payloads[1]);
    assert.deepEqual(mns.deliveries().map((d) => [d.messageId, d.duplicate]), [[messageId, false], [messageId, true]]);
  });

  test('faults: dropFirst loses the first N messages published (a MessageId, no push), later ones arrive', async () => {
    const mns = createLocalMns({ faults: { dropFirst: 1 } });
    const sink = collector();
    mns.subscribe('t', { name: 'record', ...jsonBackoff, deliver: sink.deliver });
    const lostId = mns.publish('t', 'first');
    mns.publish('t', 'second');
    await mns.idle();
    assert.match(lostId, /^[0-9A-F]{32}$/);
    assert.deepEqual(sink.payloads.map((p) => JSON.parse(p.toString()).Message), ['second']);
    assert.deepEqual(mns.lost().map((m) => [m.topic, m.messageId]), [['t', lostId]]);
    assert.deepEqual(mns.deliveries().map((d) => d.outcome), ['delivered']);
  });

  test('faults: dropRate loses that share of the messages, whichever subscriptions the topic has', async () => {
    const draws = [0.9, 0.1, 0.9];
    const mns = createLocalMns({ faults: { dropRate: 0.5, random: () => draws.shift() ?? 1 } });
    const first = collector();
    const second = collector();
    mns.subscribe('t', { name: 'a', ...jsonBackoff, deliver: first.deliver });
    mns.subscribe('t', { name: 'b', notifyContentFormat: 'STREAM', notifyStrategy: 'BACKOFF_RETRY', deliver: second.deliver });
    for (const body of ['one', 'two', 'three']) mns.publish('t', body);
    await mns.idle();
    assert.deepEqual(second.payloads.map((p) => p.toString()).sort(), ['one', 'three']);
    assert.equal(first.payloads.length, 2);
    assert.equal(mns.lost().length, 1);
  });

  test('close abandons pending retries', async () => {
    const mns = createLocalMns();
    const endpoint = failing(Infinity);
    mns.subscribe('t', { name: 'down', ...jsonBackoff, deliver: endpoint.deliver });
    mns.publish('t', 'x');
    await new Promise((resolve) => setImmediate(resolve));
    mns.close();
    await mns.idle();
    assert.equal(endpoint.attemptsAt.length, 1);
  });
});
