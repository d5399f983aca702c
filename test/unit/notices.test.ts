import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeOssTriggerEvent, decodeTaskNotice } from '../../shared/events/decode';
import { candidateKeys } from '../../shared/events/oss';

/** The completion message IMM publishes to MNS (platform facts, IMM section). */
function immMessage(content: Record<string, unknown>): string {
  return JSON.stringify({
    id: '1E1B7E4C-2C2F-5C6A-9D3E-0000000000AA',
    source: 'acs.imm',
    type: 'imm:Task:MediaConvert',
    subject: 'acs:imm:cn-hangzhou:1234567890:video-animation/imm:Task:MediaConvert',
    time: '1724133063161',
    content: JSON.stringify(content),
  });
}

const USER_DATA = '{"app":"video-animation","v":1,"jobId":"0123456789abcdef0123456789abcdef","bucket":"bkt","rule":"preview"}';

const succeeded = {
  ProjectName: 'video-animation',
  RequestId: 'B2F6E4A1-0000-0000-0000-000000000001',
  StartTime: '2024-08-20T05:50:55.71Z',
  EndTime: '2024-08-20T05:51:03.161Z',
  UserData: USER_DATA,
  TaskType: 'MediaConvert',
  TaskId: 'MediaConvert-8a4e7c1c-0000-0000-0000-000000000001',
  Status: 'Succeeded',
  Code: '',
  Message: '',
  Sources: [{ URI: 'oss://bkt/videos/a.mp4' }],
  Targets: [{ Image: { Animations: [{ Format: 'gif', URI: 'oss://bkt/animations/videos/a.gif' }] } }],
};

const failed = { ...succeeded, Status: 'Failed', Code: 'ResourceNotFound', Message: 'The specified resource oss://bkt/videos/a.mp4 is not found.' };

function mnsJsonEnvelope(message: string): string {
  return JSON.stringify({
    TopicOwner: '1234567890',
    TopicName: 'video-animation-done',
    Subscriber: '1234567890',
    SubscriptionName: 'imm-task-done',
    MessageId: 'C39FB8C345BBFBA8-1-1687A1AB6E2-200000001',
    MessageMD5: 'CAA1E9F5E9F854ACD8297B100BF8CCF9',
    Message: message,
    PublishTime: 1724133063200,
  });
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('decodeTaskNotice: the documented IMM message in every delivery form', () => {
  const raw = immMessage(succeeded);
  const forms: [string, Buffer][] = [
    ['MNS JSON envelope, raw Message', Buffer.from(mnsJsonEnvelope(raw))],
    ['MNS JSON envelope, Base64 Message', Buffer.from(mnsJsonEnvelope(b64(raw)))],
    ['STREAM, raw body', Buffer.from(raw)],
    ['STREAM, Base64 body', Buffer.from(b64(raw))],
    ['STREAM with attributes, raw body', Buffer.from(JSON.stringify({ body: raw, attrs: { Priority: 8 } }))],
    ['STREAM with attributes, Base64 body', Buffer.from(JSON.stringify({ body: b64(raw), attrs: {} }))],
    ['JSON envelope with message attributes as extra keys', Buffer.from(JSON.stringify({ ...JSON.parse(mnsJsonEnvelope(raw)), Priority: 8 }))],
  ];
  for (const [name, payload] of forms) {
    test(name, () => {
      const decoded = decodeTaskNotice(payload);
      assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
      assert.equal(decoded.value.TaskId, succeeded.TaskId);
      assert.equal(decoded.value.TaskType, 'MediaConvert');
      assert.equal(decoded.value.Status, 'Succeeded');
      assert.equal(decoded.value.Code, '');
      assert.equal(decoded.value.Message, '');
      assert.equal(decoded.value.UserData, USER_DATA);
      assert.equal(decoded.value.ProjectName, 'video-animation');
    });
  }

  test('a string payload decodes like a Buffer', () => {
    const decoded = decodeTaskNotice(mnsJsonEnvelope(raw));
    assert.ok(decoded.ok);
    assert.equal(decoded.value.TaskId, succeeded.TaskId);
  });

  test('Base64 with surrounding whitespace or a trailing newline', () => {
    const decoded = decodeTaskNotice(Buffer.from(`${b64(raw)}\n`));
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
  });

  test('a Failed notice carries Code and Message', () => {
    for (const payload of [mnsJsonEnvelope(immMessage(failed)), b64(immMessage(failed))]) {
      const decoded = decodeTaskNotice(Buffer.from(payload));
      assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
      assert.equal(decoded.value.Status, 'Failed');
      assert.equal(decoded.value.Code, 'ResourceNotFound');
      assert.equal(decoded.value.Message, 'The specified resource oss://bkt/videos/a.mp4 is not found.');
    }
  });

  test('a notice without Code, Message or UserData gets empty strings', () => {
    const { Code: _c, Message: _m, UserData: _u, ...bare } = succeeded;
    const decoded = decodeTaskNotice(Buffer.from(immMessage(bare)));
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
    assert.equal(decoded.value.Code, '');
    assert.equal(decoded.value.Message, '');
    assert.equal(decoded.value.UserData, '');
  });

  test('a non-ASCII UserData survives Base64', () => {
    const decoded = decodeTaskNotice(Buffer.from(mnsJsonEnvelope(b64(immMessage({ ...succeeded, UserData: '{"note":"视频 🎬"}' })))));
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
    assert.equal(decoded.value.UserData, '{"note":"视频 🎬"}');
  });
});

describe('decodeTaskNotice: malformed input gives ok:false with a reason, never a throw', () => {
  const { TaskId: _t, ...noTaskId } = succeeded;
  const cases: [string, Buffer | string, RegExp][] = [
    ['empty buffer', Buffer.alloc(0), /neither JSON nor Base64/],
    ['empty string', '', /neither JSON nor Base64/],
    ['not JSON', Buffer.from('hello, world'), /neither JSON nor Base64/],
    ['binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x7b]), /neither JSON nor Base64|not an IMM task message/],
    ['Base64 of something that is not JSON', Buffer.from(b64('plain text')), /neither JSON nor Base64/],
    ['JSON of the wrong shape', Buffer.from('{"hello":"world"}'), /^not an IMM task message/],
    ['a JSON array', Buffer.from('[]'), /^not an IMM task message/],
    ['JSON null', Buffer.from('null'), /^not an IMM task message|neither JSON nor Base64/],
    ['a JSON number', Buffer.from('42'), /^not an IMM task message/],
    ['an envelope whose Message is not JSON', Buffer.from(mnsJsonEnvelope('just words')), /neither JSON nor Base64/],
    ['an envelope whose Message is cut short', Buffer.from(mnsJsonEnvelope(immMessage(succeeded).slice(0, 60))), /neither JSON nor Base64/],
    ['content that is not JSON', Buffer.from(JSON.stringify({ ...JSON.parse(immMessage(succeeded)), content: 'not json' })), /^IMM message content is not JSON$/],
    ['content without TaskId', Buffer.from(immMessage(noTaskId)), /^IMM message content is not a task notice:[\s\S]*TaskId/],
    ['content with an empty TaskId', Buffer.from(immMessage({ ...succeeded, TaskId: '' })), /^IMM message content is not a task notice:[\s\S]*TaskId/],
    ['an IMM message without content', Buffer.from('{"type":"imm:Task:MediaConvert"}'), /^not an IMM task message:[\s\S]*content/],
    ['attributes form with a non-string body', Buffer.from('{"body":5,"attrs":{}}'), /^not an IMM task message/],
  ];
  for (const [name, payload, reason] of cases) {
    test(name, () => {
      let decoded: ReturnType<typeof decodeTaskNotice> | undefined;
      assert.doesNotThrow(() => {
        decoded = decodeTaskNotice(payload);
      });
      assert.ok(decoded);
      assert.equal(decoded.ok, false);
      if (!decoded.ok) {
        assert.match(decoded.reason, reason);
        assert.equal(decoded.bytes, Buffer.byteLength(payload));
      }
    });
  }
});

describe('decodeOssTriggerEvent', () => {
  const documented =
    '{"events":[{"eventName":"ObjectCreated:PutObject","eventSource":"acs:oss","eventTime":"2022-08-13T06:45:43.000Z",' +
    '"eventVersion":"1.0","oss":{"bucket":{"arn":"acs:oss:cn-hangzhou:123456789:testbucket","name":"testbucket",' +
    '"ownerIdentity":"164901546557****"},"object":{"deltaSize":122539,"eTag":"688A7BF4F233DC9C88A80BF985AB****",' +
    '"key":"source/a.png","size":122539},"ossSchemaVersion":"1.0","ruleId":"9adac8e2..."},"region":"cn-hangzhou",' +
    '"requestParameters":{"sourceIPAddress":"140.205.XX.XX"},"responseElements":{"requestId":"58F9FF2D3DF792092E12044C"},' +
    '"userIdentity":{"principalId":"164901546557****"}}]}';

  test('the documented payload parses', () => {
    const decoded = decodeOssTriggerEvent(Buffer.from(documented));
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
    const [record] = decoded.value.events;
    assert.equal(decoded.value.events.length, 1);
    assert.equal(record?.eventName, 'ObjectCreated:PutObject');
    assert.equal(record?.region, 'cn-hangzhou');
    assert.equal(record?.oss.bucket.name, 'testbucket');
    assert.equal(record?.oss.object.key, 'source/a.png');
    assert.equal(record?.oss.object.eTag, '688A7BF4F233DC9C88A80BF985AB****');
    assert.equal(record?.oss.object.size, 122539);
  });

  test('newer fields such as objectMeta pass through', () => {
    const withMeta = JSON.parse(documented) as { events: { oss: { object: Record<string, unknown> } }[] };
    const first = withMeta.events[0];
    assert.ok(first);
    first.oss.object['objectMeta'] = { mimeType: 'video/mp4' };
    const decoded = decodeOssTriggerEvent(JSON.stringify(withMeta));
    assert.ok(decoded.ok, decoded.ok ? '' : decoded.reason);
    assert.deepEqual(decoded.value.events[0]?.oss.object['objectMeta'], { mimeType: 'video/mp4' });
  });

  test('a key with spaces, +, % and CJK is kept raw', () => {
    const decoded = decodeOssTriggerEvent(documented.replace('source/a.png', 'videos/a b+c%20视频.mp4'));
    assert.ok(decoded.ok);
    assert.equal(decoded.value.events[0]?.oss.object.key, 'videos/a b+c%20视频.mp4');
  });

  const bad: [string, string | Buffer, RegExp][] = [
    ['empty buffer', Buffer.alloc(0), /^not JSON: /],
    ['not JSON', 'events', /^not JSON: /],
    ['no events', '{}', /^not an OSS trigger event: [\s\S]*events/],
    ['empty events', '{"events":[]}', /^not an OSS trigger event: /],
    ['another event source', documented.replace('"acs:oss"', '"acs:mns"'), /^not an OSS trigger event: [\s\S]*eventSource/],
    ['no object key', documented.replace('"key":"source/a.png",', ''), /^not an OSS trigger event: [\s\S]*key/],
  ];
  for (const [name, payload, reason] of bad) {
    test(`${name} gives ok:false with a reason`, () => {
      const decoded = decodeOssTriggerEvent(payload);
      assert.equal(decoded.ok, false);
      if (!decoded.ok) {
        assert.match(decoded.reason, reason);
        assert.equal(decoded.bytes, Buffer.byteLength(payload));
      }
    });
  }
});

describe('candidateKeys', () => {
  test('raw first, then percent-decoded, and "+" as space only last', () => {
    assert.deepEqual(candidateKeys('a+b%20c.mp4'), ['a+b%20c.mp4', 'a+b c.mp4', 'a b c.mp4']);
  });

  test('a plain key has one candidate', () => {
    assert.deepEqual(candidateKeys('videos/a.mp4'), ['videos/a.mp4']);
    assert.deepEqual(candidateKeys('视频/测试 文件.MP4'), ['视频/测试 文件.MP4']);
  });

  test('a percent-encoded CJK key decodes', () => {
    assert.deepEqual(candidateKeys('videos/%E8%A7%86%E9%A2%91.mp4'), ['videos/%E8%A7%86%E9%A2%91.mp4', 'videos/视频.mp4']);
  });

  test('"+" alone offers the space form after the raw key', () => {
    assert.deepEqual(candidateKeys('a+b.mp4'), ['a+b.mp4', 'a b.mp4']);
  });

  test('invalid percent sequences do not throw and keep the raw key', () => {
    for (const key of ['100%.mp4', 'a%zz+b.mp4', '%E8%A7.mp4', '%']) {
      let keys: string[] = [];
      assert.doesNotThrow(() => {
        keys = candidateKeys(key);
      });
      assert.equal(keys[0], key);
    }
  });
});
