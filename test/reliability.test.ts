import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { seededRandom } from './helpers/random';
import { RECORDS_PREFIX, retrying, startTestStack, type TestStack } from './helpers/stack';

/**
 * Reliability on the local stack with its fault injection: at-least-once events and notices, throttling, crashes,
 * malformed input, awkward keys. Each test prints its figure; `npm run bench` runs the large versions.
 */

async function uploadAll(stack: TestStack, keys: string[], seconds = 1) {
  const video = await stack.sampleVideo(seconds, 'reliability.mp4');
  await Promise.all(keys.map((key) => stack.client.put(key, video)));
  await stack.idle();
}

describe('every event delivered twice, concurrently', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ faults: { events: { duplicateRate: 1 } } });
  });
  after(async () => stack?.stop());

  it('submits exactly one task per upload', async (t) => {
    const keys = Array.from({ length: 6 }, (_, i) => `videos/dup/${i}.mp4`);
    await uploadAll(stack, keys);
    const tasks = stack.imm.tasks().filter((task) => JSON.stringify(task.requestedSources).includes('videos/dup/'));
    const submitInvocations = stack.invocations().filter((i) => i.functionName === 'video-animation-submit' && i.attempt === 1);
    t.diagnostic(`${keys.length} uploads, ${submitInvocations.length} submit invocations, ${tasks.length} IMM tasks`);
    assert.equal(tasks.length, keys.length);
    assert.equal(submitInvocations.length, keys.length * 2, 'each upload event arrived twice');
    const records = (await stack.records()).filter((r) => r.key.startsWith('videos/dup/'));
    assert.equal(records.length, keys.length);
    assert.ok(records.every((r) => r.status === 'succeeded' && r.attempts.length === 1));
  });
});

describe('IMM throttles 10% and fails 5% with 5xx; OSS fails 5% with 5xx', () => {
  let stack: TestStack;
  before(async () => {
    const random = seededRandom(42);
    stack = await startTestStack({
      faults: { imm: { throttleRate: 0.1, serverErrorRate: 0.05 }, oss: { serverErrorRate: 0.05 }, random },
    });
  });
  after(async () => stack?.stop());

  it('records every job; none is lost', async (t) => {
    const keys = Array.from({ length: 8 }, (_, i) => `videos/flaky/${i}.mp4`);
    // The uploads themselves go through the same flaky OSS: retry them like any client would.
    const video = await stack.sampleVideo(1, 'flaky.mp4');
    for (const key of keys) await retrying(() => stack.client.put(key, video));
    await stack.idle();
    const records = (await retrying(() => stack.records())).filter((r) => r.key.startsWith('videos/flaky/'));
    const failedCalls = stack.logs().filter((l) => l.line.includes('call failed; retrying')).length;
    t.diagnostic(`${keys.length} uploads, ${records.length} records, ${records.filter((r) => r.status === 'succeeded').length} succeeded, ${failedCalls} retried calls, ${stack.failures().length} sent to onFailure`);
    assert.equal(records.length, keys.length);
    assert.deepEqual(
      records.map((r) => r.status),
      keys.map(() => 'succeeded'),
    );
    assert.equal(stack.failures().length, 0);
  });
});

describe('submit crashes right after creating the job record', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({
      faults: { crash: { resource: 'submit', after: 'record-created', times: 1 } },
      functionEnv: { JOB_LEASE_SECONDS: '1' },
      delayScale: 1,
    });
  });
  after(async () => stack?.stop());

  it('is recovered by FC retrying the event: the retry makes the first attempt, or takes over the one that died', async (t) => {
    const key = 'videos/crash/once.mp4';
    await uploadAll(stack, [key]);
    const record = await stack.recordFor(key);
    const crashed = stack.invocations().filter((i) => i.error?.name === 'InstanceCrashed');
    t.diagnostic(`crashes ${crashed.length}, attempts on record ${record?.attempts.length}, status ${record?.status}`);
    assert.equal(crashed.length, 1);
    assert.equal(record?.status, 'succeeded');
    // The crash comes after the first create-only write of the job: its identity, or its first attempt's claim
    // (they go together). The retry claims attempt 1, or, once the dead attempt's lease is over, takes over.
    const outcomes = record.attempts.map((a) => [a.trigger, a.outcome ?? 'died']);
    assert.ok(
      JSON.stringify(outcomes) === JSON.stringify([['event', 'submitted']]) || JSON.stringify(outcomes) === JSON.stringify([['event', 'died'], ['takeover', 'submitted']]),
      JSON.stringify(outcomes),
    );
    assert.equal(stack.imm.tasks().filter((task) => JSON.stringify(task.requestedSources).includes('crash/once')).length, 1);
  });
});

describe('every completion notice delivered twice', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ faults: { notices: { duplicateRate: 1 } } });
  });
  after(async () => stack?.stop());

  it('ends the job once and writes nothing more for the repeat', async (t) => {
    const key = 'videos/notice/twice.mp4';
    await uploadAll(stack, [key]);
    const record = await stack.recordFor(key);
    assert.equal(record?.status, 'succeeded');
    const writes = stack
      .ossEvents()
      .filter((e) => e.oss.object.key.startsWith(`${RECORDS_PREFIX}jobs/${record.jobId}/`))
      .map((e) => e.oss.object.key.slice(`${RECORDS_PREFIX}jobs/${record.jobId}/`.length));
    const recordInvocations = stack.invocations().filter((i) => i.functionName.endsWith('-record'));
    t.diagnostic(`${recordInvocations.length} notices delivered; writes of the job's facts: ${writes.join(', ')}`);
    assert.equal(recordInvocations.length, 2);
    // The identity, the attempt's claim and its outcome, then the terminal record: each once, whatever the repeat.
    assert.deepEqual(writes.sort(), ['attempt-0001.json', 'attempt-0001.json', 'end.json', 'job.json']);
    assert.ok(recordInvocations.some((i) => (i.result as { status?: string } | undefined)?.status === 'duplicate'));
  });
});

describe('malformed events and notices', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => stack?.stop());

  const ossEvent = (record: object) => JSON.stringify({ events: [record] });
  const goodRecord = {
    eventName: 'ObjectCreated:PutObject',
    eventSource: 'acs:oss',
    eventTime: '2024-01-01T00:00:00.000Z',
    oss: { bucket: { name: 'my-video-bucket' }, object: { key: 'videos/x.mp4', eTag: 'ABC', size: 1 } },
  };
  const badEvents = [
    '', ' ', 'null', '[]', '{}', 'not json', '{"events":[]}', '{"events":"x"}', '{"events":[null]}', '{"events":[{}]}',
    ossEvent({ ...goodRecord, eventName: 7 }),
    ossEvent({ ...goodRecord, eventSource: 'acs:mns' }),
    ossEvent({ ...goodRecord, oss: {} }),
    ossEvent({ ...goodRecord, oss: { bucket: { name: 'b' }, object: { key: 'videos/x.mp4' } } }),
    ossEvent({ ...goodRecord, oss: { bucket: { name: 'my-video-bucket' }, object: { key: '' } } }),
    ossEvent({ ...goodRecord, oss: { bucket: { name: 'my-video-bucket' }, object: { key: 'videos/x.mp4', size: -1 } } }),
    '\u0000\u0001binary',
  ];
  // These parse, but are not work for us: acknowledged with a reason, never retried.
  const unwantedEvents = [
    ossEvent({ ...goodRecord, eventName: 'ObjectRemoved:DeleteObject' }),
    ossEvent({ ...goodRecord, eventName: 'ObjectCreated:PutObject', oss: { ...goodRecord.oss, object: { key: 'videos/missing.mp4', eTag: 'X', size: 5 } } }),
    ossEvent({ ...goodRecord, oss: { ...goodRecord.oss, object: { key: 'elsewhere/x.mp4', eTag: 'X', size: 5 } } }),
    ossEvent({ ...goodRecord, oss: { ...goodRecord.oss, object: { key: `${RECORDS_PREFIX}jobs/x.json`, eTag: 'X', size: 5 } } }),
    ossEvent({ ...goodRecord, oss: { ...goodRecord.oss, object: { key: 'animations/videos/x.gif', eTag: 'X', size: 5 } } }),
  ];
  const envelope = (message: string) => JSON.stringify({ TopicName: 't', MessageId: 'm', Message: message, PublishTime: 1 });
  const immMessage = (content: unknown) => JSON.stringify({ id: '1', source: 'acs.imm', type: 'imm:Task:MediaConvert', content: typeof content === 'string' ? content : JSON.stringify(content) });
  const badNotices = [
    '', 'null', '{}', '[]', 'garbage', envelope(''), envelope('not json'), envelope('{"type":1}'), envelope(immMessage('not json')),
    envelope(immMessage({})), envelope(immMessage({ TaskType: 'MediaConvert', Status: 'Succeeded' })),
    JSON.stringify({ body: 'x', attrs: {} }), Buffer.from('still not json').toString('base64'),
  ];
  const unwantedNotices = [
    envelope(immMessage({ TaskType: 'FileCompress', TaskId: 't1', Status: 'Succeeded' })),
    envelope(immMessage({ TaskType: 'MediaConvert', TaskId: 't2', Status: 'Succeeded', UserData: 'someone else' })),
    envelope(immMessage({ TaskType: 'MediaConvert', TaskId: 't3', Status: 'Running', UserData: '' })),
    envelope(immMessage({ TaskType: 'MediaConvert', TaskId: 't4', Status: 'Succeeded', UserData: JSON.stringify({ app: 'video-animation', v: 1, jobId: '0'.repeat(32), bucket: 'my-video-bucket', rule: 'preview' }) })),
  ];

  it('acknowledges each one with a reason, without a crash or a retry', async (t) => {
    const submit = stack.functions.get('video-animation-submit')!;
    const record = stack.functions.get('video-animation-record')!;
    const results: unknown[] = [];
    for (const payload of [...badEvents, ...unwantedEvents]) results.push(await submit.invoke(Buffer.from(payload)));
    for (const payload of [...badNotices, ...unwantedNotices]) results.push(await record.invoke(Buffer.from(payload)));
    const total = badEvents.length + unwantedEvents.length + badNotices.length + unwantedNotices.length;
    t.diagnostic(`${total} malformed or unwanted payloads, ${results.length} acknowledged, ${stack.invocations().filter((i) => !i.ok).length} failed invocations`);
    assert.ok(total >= 30);
    assert.equal(results.length, total);
    assert.ok(stack.invocations().every((i) => i.ok));
    assert.ok(stack.logs().some((l) => l.line.includes('malformed OSS event acknowledged')));
    assert.ok(stack.logs().some((l) => l.line.includes('malformed notice acknowledged')));
  });
});

describe('awkward keys', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => stack?.stop());

  it('processes every one, including a key at the OSS maximum of 1023 bytes', async (t) => {
    const longName = '长'.repeat(Math.floor((1023 - 'videos/'.length - '.mp4'.length) / 3));
    const padding = 'x'.repeat(1023 - Buffer.byteLength(`videos/${longName}.mp4`));
    const keys = ['videos/with space.mp4', 'videos/a+b.mp4', 'videos/100%.mp4', 'videos/%20literal.mp4', 'videos/视频 测试.mp4', 'videos/🎬 clip.mp4', 'videos/{braces}.mp4', `videos/${longName}${padding}.mp4`];
    assert.equal(Buffer.byteLength(keys.at(-1)!), 1023);
    await uploadAll(stack, keys);
    const records = await stack.records();
    const byKey = new Map(records.map((r) => [r.key, r]));
    const done = keys.filter((k) => byKey.get(k)?.status === 'succeeded');
    t.diagnostic(`${keys.length} keys, ${done.length} processed end to end`);
    assert.deepEqual(done, keys);
    for (const record of records) {
      for (const output of record.outputs) {
        assert.ok(Buffer.byteLength(output.key) <= 1023);
        assert.equal(output.tagged, true);
      }
    }
  });
});

describe('IMM refuses the task with a 4xx (unknown project)', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ functionEnv: { IMM_PROJECT: 'no-such-project' } });
  });
  after(async () => stack?.stop());

  it('fails the job with the reason, without a retry loop', async (t) => {
    const key = 'videos/refused.mp4';
    await uploadAll(stack, [key]);
    const record = await stack.recordFor(key);
    const submits = stack.invocations().filter((i) => i.functionName === 'video-animation-submit');
    t.diagnostic(`status ${record?.status}, error ${record?.error?.code}, ${submits.length} submit invocation(s)`);
    assert.equal(record?.status, 'failed');
    assert.equal(record.error?.code, 'ResourceNotFound');
    assert.equal(submits.length, 1);
    assert.ok(submits.every((i) => i.ok));
    assert.equal(stack.failures().length, 0);
  });
});

describe('IMM throttles every call', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ faults: { imm: { throttleRate: 1 } } });
  });
  after(async () => stack?.stop());

  it('retries inside each invocation, then FC retries, then the event reaches the onFailure destination', async (t) => {
    const key = 'videos/throttled.mp4';
    await uploadAll(stack, [key]);
    const submits = stack.invocations().filter((i) => i.functionName === 'video-animation-submit');
    const retried = stack.logs().filter((l) => l.line.includes('imm call failed; retrying')).length;
    const record = await stack.recordFor(key);
    t.diagnostic(`${submits.length} invocations (1 + maxAsyncRetryAttempts 3), ${retried} in-function retries, ${stack.failures().length} onFailure record(s), job ${record?.status}`);
    assert.equal(submits.length, 4);
    assert.ok(retried >= 4);
    assert.equal(stack.failures().length, 1);
    assert.equal(stack.failures()[0]?.destination, 'acs:mns:cn-hangzhou::/topics/video-animation-failed/messages');
    assert.match(stack.failures()[0]?.event ?? '', /throttled\.mp4/, 'the event itself is kept');
    assert.equal(record?.status, 'pending', 'the job stays pending, so a redrive from the destination can still submit it');
  });
});

describe('source size limits per rule', () => {
  let stack: TestStack;
  before(async () => {
    const rules = [{ name: 'small-only', prefix: 'videos/', maxBytes: 2000, outputs: [{ format: 'gif', key: 'animations/{barename}' }] }];
    stack = await startTestStack({ functionEnv: { RULES: JSON.stringify(rules) } });
  });
  after(async () => stack?.stop());

  it('skips a larger upload with the reason, and writes no record', async () => {
    const key = 'videos/too-big.mp4';
    await uploadAll(stack, [key]);
    const submit = stack.invocations().find((i) => i.functionName === 'video-animation-submit');
    assert.match(JSON.stringify(submit?.result), /skipped.*above maxBytes 2000/);
    assert.equal(await stack.recordFor(key, 'small-only'), undefined);
  });
});
