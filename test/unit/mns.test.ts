import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { NetworkError, ServiceResponseError } from '../../shared/clients/http';
import { createTopicClient, mnsContentMd5, mnsEndpoint, mnsSignature, mnsTopicNameProblem, publishMessageXml } from '../../shared/clients/mns';
import { startRecordingServer } from '../helpers/recording-server';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- @alicloud/mns ships no types
const MNSClient = require('@alicloud/mns') as new (
  accountId: string,
  options: { endpoint: string; accessKeyId: string; accessKeySecret: string; securityToken?: string },
) => { publishMessage(topic: string, params: { MessageBody: string; MessageTag?: string }): Promise<{ code: number; body: Record<string, string> }> };

/**
 * The functions publish with their own small client (shared/clients/mns.ts); the official @alicloud/mns client is
 * the reference. Each message is published once by each client to a server that records it, and our request,
 * made at the official request's Date, must carry the same body, Content-MD5 and signature.
 */

const ACCOUNT = '1234567890123456';
const TOPIC = 'video-animation-events';
const KEYS = [
  { accessKeyId: 'LTAI5tExampleKeyId', accessKeySecret: 'ExampleSecret+/=' },
  { accessKeyId: 'STS.NUgYrLnoC37mZZCNnAbez', accessKeySecret: 'sts-secret', securityToken: 'CAIS+token/with=signs&more' },
];
const OK_ANSWER = {
  status: 201,
  type: 'text/xml;charset=utf-8',
  body: '<?xml version="1.0" encoding="UTF-8"?><Message xmlns="http://mns.aliyuncs.com/doc/v1/"><MessageId>5F2A</MessageId><MessageBodyMD5>ABCD</MessageBodyMD5></Message>',
};
const BODIES = [
  'plain text',
  JSON.stringify({ specversion: '1.0', type: 'video-animation.job.succeeded', subject: 'videos/猫 clip (1).mp4', data: { quote: "it's \"quoted\"" } }),
];

let server: Awaited<ReturnType<typeof startRecordingServer>>;
before(async () => {
  server = await startRecordingServer();
});
after(() => server.close());
beforeEach(() => {
  server.reset();
  server.answerAlways(OK_ANSWER);
});

describe('MNS PublishMessage: ours against @alicloud/mns', () => {
  for (const credentials of KEYS) {
    for (const body of BODIES) {
      it(`same request with ${credentials.securityToken ? 'STS' : 'AccessKey'} credentials, body ${JSON.stringify(body).slice(0, 30)}`, async () => {
        const official = new MNSClient(ACCOUNT, { endpoint: `http://127.0.0.1:${server.port}`, ...credentials });
        const answer = await official.publishMessage(TOPIC, { MessageBody: body });
        assert.equal(answer.code, 201);
        const reference = server.requests[0]!;
        const date = new Date(String(reference.headers['date']));
        const ours = createTopicClient({ topic: TOPIC, region: 'cn-hangzhou', accountId: ACCOUNT, credentials, endpoint: { protocol: 'http', host: `127.0.0.1:${server.port}` }, now: () => date });
        assert.deepEqual(await ours.publish(body), { messageId: '5F2A', messageBodyMd5: 'ABCD' });
        assert.equal(server.requests.length, 2);
        const mine = server.requests[1]!;
        assert.equal(mine.method, 'POST');
        assert.equal(mine.url, `/topics/${TOPIC}/messages`);
        assert.equal(mine.url, reference.url);
        assert.equal(mine.body, reference.body);
        for (const name of ['authorization', 'content-md5', 'content-type', 'date', 'x-mns-date', 'x-mns-version', 'security-token']) {
          assert.equal(mine.headers[name], reference.headers[name], name);
        }
        assert.match(String(mine.headers['authorization']), new RegExp(`^MNS ${credentials.accessKeyId}:[A-Za-z0-9+/]{27}=$`));
        assert.equal(mine.headers['security-token'], credentials.securityToken);
      });
    }
  }

  it('escapes &, < and > in the body, which the official client sends raw', () => {
    const xml = publishMessageXml('{"a":"<b>&c"}', 'tag&1').toString('utf8');
    assert.equal(
      xml,
      '<?xml version="1.0" encoding="UTF-8"?><Message xmlns="http://mns.aliyuncs.com/doc/v1/"><MessageBody>{"a":"&lt;b&gt;&amp;c"}</MessageBody><MessageTag>tag&amp;1</MessageTag></Message>',
    );
  });

  it('the x-mns-* headers are signed in name order, whatever order they come in', () => {
    const resource = '/topics/t/messages';
    const base = { date: 'Thu, 03 Dec 2026 07:00:00 GMT', 'content-type': 'text/xml' };
    const sorted = mnsSignature({ method: 'POST', resource, headers: { ...base, 'x-mns-a': '1', 'x-mns-b': '2' } }, 's');
    assert.equal(mnsSignature({ method: 'POST', resource, headers: { 'x-mns-b': '2', ...base, 'x-mns-a': '1' } }, 's'), sorted);
    assert.notEqual(mnsSignature({ method: 'POST', resource, headers: { ...base, 'x-mns-a': '2', 'x-mns-b': '1' } }, 's'), sorted);
  });

  it("Content-MD5 is Base64 of the hex digest, as MNS's documentation example shows", () => {
    assert.equal(Buffer.from(mnsContentMd5(Buffer.from('')), 'base64').toString('utf8'), 'd41d8cd98f00b204e9800998ecf8427e');
  });
});

describe('MNS client: answers', () => {
  const client = () =>
    createTopicClient({ topic: TOPIC, region: 'cn-hangzhou', accountId: ACCOUNT, credentials: KEYS[0]!, endpoint: { protocol: 'http', host: `127.0.0.1:${server.port}` } });

  it('an MNS error answer is a ServiceResponseError with its status, code and request id', async () => {
    server.answerNext({
      status: 404,
      type: 'text/xml',
      body: '<?xml version="1.0" encoding="UTF-8"?><Error xmlns="http://mns.aliyuncs.com/doc/v1/"><Code>TopicNotExist</Code><Message>The topic you provided does not exist.</Message><RequestId>REQ-1</RequestId><HostId>h</HostId></Error>',
    });
    const error = await client().publish('x').then(
      () => assert.fail('published'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ServiceResponseError);
    assert.deepEqual([error.service, error.status, error.code, error.requestId, error.message], ['mns', 404, 'TopicNotExist', 'REQ-1', 'The topic you provided does not exist.']);
  });

  it('an error without a body is named by its status', async () => {
    server.answerNext({ status: 503, body: '', headers: { 'x-mns-request-id': 'REQ-2' } });
    await assert.rejects(client().publish('x'), (e: unknown) => e instanceof ServiceResponseError && e.code === 'Http503' && e.requestId === 'REQ-2' && e.message === 'HTTP 503');
  });

  it('a refused connection is a NetworkError', async () => {
    const closed = await startRecordingServer();
    const port = closed.port;
    await closed.close();
    const unreachable = createTopicClient({ topic: TOPIC, region: 'cn-hangzhou', accountId: ACCOUNT, credentials: KEYS[0]!, endpoint: { protocol: 'http', host: `127.0.0.1:${port}` } });
    await assert.rejects(unreachable.publish('x'), (e: unknown) => e instanceof NetworkError && e.code === 'ECONNREFUSED');
  });

  it('without an override, the regional endpoint of the account over HTTPS', () => {
    assert.deepEqual(mnsEndpoint({ accountId: ACCOUNT, region: 'cn-shanghai' }), { protocol: 'https', host: `${ACCOUNT}.mns.cn-shanghai.aliyuncs.com` });
  });
});

describe('MNS topic names', () => {
  it('takes a letter, then letters, digits and "-", up to 120 characters', () => {
    for (const name of ['video-animation-events', 'a', `A${'b'.repeat(119)}`, 'x1-2']) assert.equal(mnsTopicNameProblem(name), undefined, name);
    assert.equal(mnsTopicNameProblem(''), 'a topic name must not be empty');
    assert.equal(mnsTopicNameProblem('1events'), '"1events" is not a topic name MNS accepts: a letter first, then letters, digits and "-"');
    assert.match(mnsTopicNameProblem('app_events') ?? '', /not a topic name MNS accepts/);
    assert.match(mnsTopicNameProblem('app.events') ?? '', /not a topic name MNS accepts/);
    assert.equal(mnsTopicNameProblem(`A${'b'.repeat(120)}`), `"A${'b'.repeat(19)}..." is 121 characters long; MNS topic names are at most 120`);
  });
});
