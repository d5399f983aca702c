import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeOssTriggerEvent, decodeTaskNotice, decodeTimerEvent } from '../../shared/events/decode';
import { decodeMnsDelivery, MalformedNoticeError, parseImmMessage, parseTaskNotice } from '../../shared/events/mns';
import { candidateKeys, OssTriggerEventSchema } from '../../shared/events/oss';
import { TimerEventSchema } from '../../shared/events/timer';
import { AppError } from '../../shared/platform/errors';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

const notice = {
  TaskType: 'MediaConvert',
  TaskId: 'MediaConvert-1',
  Status: 'Succeeded',
  UserData: '{"jobId":"j"}',
  Sources: [{ URI: 'oss://bkt/videos/a.mp4' }],
};
const immMessage = (content: unknown = notice) => JSON.stringify({ type: 'imm:Task:MediaConvert', content: JSON.stringify(content) });

function ossEvent(record: Record<string, unknown> = {}, object: Record<string, unknown> = {}, bucket: Record<string, unknown> = { name: 'bkt' }) {
  return JSON.stringify({
    events: [
      {
        eventName: 'ObjectCreated:PutObject',
        eventSource: 'acs:oss',
        eventTime: '2026-01-01T00:00:00.000Z',
        oss: { bucket, object: { key: 'videos/a.mp4', eTag: 'E', size: 10, ...object } },
        ...record,
      },
    ],
  });
}

describe('decodeTimerEvent', () => {
  test('the FC timer payload decodes', () => {
    const decoded = decodeTimerEvent(Buffer.from('{"triggerTime":"2026-01-01T00:00:00Z","triggerName":"reconcile","payload":"{}"}'));
    assert.deepEqual(decoded, { ok: true, value: { triggerTime: '2026-01-01T00:00:00Z', triggerName: 'reconcile', payload: '{}' } });
  });

  test('a payload is optional', () => {
    const decoded = decodeTimerEvent('{"triggerTime":"t","triggerName":"n"}');
    assert.deepEqual(decoded, { ok: true, value: { triggerTime: 't', triggerName: 'n' } });
  });

  test('missing fields give ok:false naming the field', () => {
    const payload = '{"triggerTime":"t"}';
    const decoded = decodeTimerEvent(payload);
    assert.equal(decoded.ok, false);
    if (!decoded.ok) {
      assert.match(decoded.reason, /^not a timer event: [\s\S]*triggerName/);
      assert.equal(decoded.bytes, payload.length);
    }
    assert.equal(TimerEventSchema.safeParse({ triggerName: 'n' }).success, false);
    assert.equal(TimerEventSchema.safeParse({ triggerTime: 't', triggerName: 'n', payload: 5 }).success, false);
  });

  test('not JSON', () => {
    const decoded = decodeTimerEvent('tick');
    assert.equal(decoded.ok, false);
    if (!decoded.ok) {
      assert.match(decoded.reason, /^not JSON: /);
      assert.equal(decoded.bytes, 4);
    }
  });

  test('bytes counts UTF-8 bytes of a string payload', () => {
    const decoded = decodeTimerEvent('"定时"');
    assert.equal(decoded.ok, false);
    if (!decoded.ok) assert.equal(decoded.bytes, 8);
  });
});

describe('decodeOssTriggerEvent: schema edges', () => {
  test('eTag, size and region are optional; the bucket name may be 3 to 63 characters', () => {
    for (const name of ['abc', 'a'.repeat(63)]) {
      const decoded = decodeOssTriggerEvent(ossEvent({}, { eTag: undefined, size: undefined }, { name }));
      assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
      assert.equal(decoded.value.events[0]?.oss.bucket.name, name);
      assert.equal(decoded.value.events[0]?.region, undefined);
    }
    const decoded = decodeOssTriggerEvent(ossEvent({}, { size: 0 }));
    assert.ok(decoded.ok);
    assert.equal(decoded.value.events[0]?.oss.object.size, 0);
  });

  const bad: [string, string, RegExp][] = [
    ['a bucket name too short', ossEvent({}, {}, { name: 'ab' }), /name/],
    ['a bucket name too long', ossEvent({}, {}, { name: 'a'.repeat(64) }), /name/],
    ['no bucket name', ossEvent({}, {}, {}), /name/],
    ['an empty key', ossEvent({}, { key: '' }), /key/],
    ['a negative size', ossEvent({}, { size: -1 }), /size/],
    ['a fractional size', ossEvent({}, { size: 1.5 }), /size/],
    ['an empty event name', ossEvent({ eventName: '' }), /eventName/],
    ['no event time', ossEvent({ eventTime: undefined }), /eventTime/],
    ['a region that is not text', ossEvent({ region: 5 }), /region/],
  ];
  for (const [name, payload, field] of bad) {
    test(`${name} is not an OSS event`, () => {
      const decoded = decodeOssTriggerEvent(payload);
      assert.equal(decoded.ok, false);
      if (!decoded.ok) {
        assert.match(decoded.reason, /^not an OSS trigger event: /);
        assert.match(decoded.reason, field);
      }
    });
  }

  test('several records all decode', () => {
    const one = JSON.parse(ossEvent()) as { events: unknown[] };
    const parsed = OssTriggerEventSchema.safeParse({ events: [...one.events, ...one.events] });
    assert.ok(parsed.success);
    assert.equal(parsed.data.events.length, 2);
  });
});

describe('decodeTaskNotice: bytes and errors that are not about the notice', () => {
  test('bytes is the UTF-8 size of a string payload and the length of a Buffer', () => {
    const text = '视频 not a notice';
    const fromString = decodeTaskNotice(text);
    assert.equal(fromString.ok, false);
    if (!fromString.ok) assert.equal(fromString.bytes, Buffer.byteLength(text));
    assert.notEqual(Buffer.byteLength(text), text.length);
    const fromBuffer = decodeTaskNotice(Buffer.from([0xff, 0xfe, 0xfd]));
    assert.equal(fromBuffer.ok, false);
    if (!fromBuffer.ok) assert.equal(fromBuffer.bytes, 3);
  });

  test('an error other than a malformed notice is thrown, not acknowledged', () => {
    const broken = {
      toString() {
        throw new RangeError('cannot read the payload');
      },
    } as unknown as Buffer;
    assert.throws(() => decodeTaskNotice(broken), { name: 'RangeError', message: 'cannot read the payload' });
  });

  test('Sources entries need a URI', () => {
    assert.ok(decodeTaskNotice(immMessage()).ok);
    for (const Sources of [[{}], [{ URI: 5 }], 'oss://bkt/a.mp4']) {
      const decoded = decodeTaskNotice(immMessage({ ...notice, Sources }));
      assert.equal(decoded.ok, false, JSON.stringify(Sources));
      if (!decoded.ok) assert.match(decoded.reason, /^IMM message content is not a task notice: [\s\S]*Sources/);
    }
  });

  test('the decoded notice keeps Sources and unknown fields', () => {
    const decoded = decodeTaskNotice(immMessage({ ...notice, Extra: 1 }));
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.value.Sources, [{ URI: 'oss://bkt/videos/a.mp4' }]);
    assert.equal((decoded.value as Record<string, unknown>)['Extra'], 1);
  });
});

describe('mns: delivery forms', () => {
  test('malformed notices raise MalformedNoticeError, a bad-input AppError', () => {
    assert.throws(
      () => decodeMnsDelivery('not json'),
      (error: unknown) => {
        assert.ok(error instanceof MalformedNoticeError);
        assert.ok(error instanceof AppError);
        assert.equal(error.kind, 'bad-input');
        assert.equal(error.name, 'MalformedNoticeError');
        assert.equal(error.message, 'message is neither JSON nor Base64-encoded JSON');
        return true;
      },
    );
  });

  test('a STREAM body (string or Buffer) is the IMM message itself', () => {
    for (const payload of [immMessage(), Buffer.from(immMessage()), b64(immMessage()), Buffer.from(b64(immMessage()))]) {
      assert.deepEqual(decodeMnsDelivery(payload), { type: 'imm:Task:MediaConvert', content: JSON.stringify(notice) });
    }
  });

  test('an envelope Message and a STREAM-with-attributes body are unwrapped', () => {
    const envelope = JSON.stringify({ TopicName: 't', MessageId: 'm', Message: b64(immMessage()), PublishTime: '1724133063200' });
    assert.equal(decodeMnsDelivery(envelope).type, 'imm:Task:MediaConvert');
    const stream = JSON.stringify({ body: immMessage(), attrs: { Priority: 8 } });
    assert.equal(decodeMnsDelivery(stream).type, 'imm:Task:MediaConvert');
  });

  test('an envelope with a wrongly typed optional field is not an envelope', () => {
    const envelope = JSON.stringify({ TopicName: 5, Message: immMessage() });
    assert.throws(() => decodeMnsDelivery(envelope), { message: /^not an IMM task message/ });
  });

  test('attrs must be an object for the attributes form', () => {
    assert.throws(() => decodeMnsDelivery(JSON.stringify({ body: immMessage(), attrs: 'x' })), { message: /^not an IMM task message/ });
  });

  test('Base64 with characters outside the alphabet is not Base64 (Node would skip them)', () => {
    const encoded = b64(immMessage());
    const half = Math.floor(encoded.length / 2);
    for (const body of [`${encoded.slice(0, half)}!${encoded.slice(half)}`, `!${encoded}`, `${encoded}!`, `${encoded.slice(0, half)} ${encoded.slice(half)}`]) {
      // Node's decoder would ignore the stray character and find the message: the check must refuse it first.
      assert.ok(Buffer.from(body, 'base64').toString('utf8').includes('MediaConvert'));
      assert.throws(() => parseImmMessage(body), { name: 'MalformedNoticeError', message: 'message is neither JSON nor Base64-encoded JSON' }, body);
    }
  });

  test('URL-safe Base64 and padding are accepted', () => {
    const urlSafe = b64(immMessage()).replace(/\+/g, '-').replace(/\//g, '_');
    assert.equal(parseImmMessage(urlSafe).type, 'imm:Task:MediaConvert');
    assert.equal(parseImmMessage(`  ${b64(immMessage())}  `).type, 'imm:Task:MediaConvert');
  });

  test('parseTaskNotice defaults Code, Message and UserData', () => {
    const { UserData: _u, ...bare } = notice;
    const parsed = parseTaskNotice({ type: 't', content: JSON.stringify(bare) });
    assert.equal(parsed.Code, '');
    assert.equal(parsed.Message, '');
    assert.equal(parsed.UserData, '');
    assert.throws(() => parseTaskNotice({ type: 't', content: '{' }), { message: 'IMM message content is not JSON' });
  });
});

describe('candidateKeys: exact lists', () => {
  test('undecodable keys have only the raw candidate', () => {
    for (const key of ['100%.mp4', 'a+%zz.mp4', '%E8%A7.mp4', '%']) assert.deepEqual(candidateKeys(key), [key]);
  });

  test('raw, then decoded, then "+" as space', () => {
    assert.deepEqual(candidateKeys('a+b%21'), ['a+b%21', 'a+b!', 'a b!']);
  });

  test('duplicates are removed, keeping the first position', () => {
    assert.deepEqual(candidateKeys('a%2Bb'), ['a%2Bb', 'a+b']);
    assert.deepEqual(candidateKeys('a b'), ['a b']);
  });
});

describe('bytes of an undecodable Buffer', () => {
  test('is the payload size, not the size of its UTF-8 decoding', () => {
    const decoded = decodeOssTriggerEvent(Buffer.from([0xff]));
    assert.ok(!decoded.ok);
    if (!decoded.ok) assert.equal(decoded.bytes, 1);
  });
});
