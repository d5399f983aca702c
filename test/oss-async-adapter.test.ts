import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import OSS from 'ali-oss';
import { type AsyncProcessHandler, createAsyncProcessHandler, generateSampleVideo, type LocalImm, type LocalOss, ossClientOptions, startLocalImm, startLocalOss } from '@video-animation/local-cloud';
import { createBucketClient, type BucketApi } from '../shared/clients/oss';
import type { Retrier } from '../shared/engines/engine';
import { ImmNotAttachedError, isImmNotAttached, ossAsyncEngine } from '../shared/engines/oss';
import { PartialSubmitError } from '../shared/engines/engine';
import { describeServiceError } from '../shared/platform/errors';
import { planJob, samplePlan } from '../shared/jobs/plan';
import { withRetries } from '../shared/platform/retry';
import { parseRuleSet } from '../shared/rules/validate';

const REGION = 'cn-hangzhou';
const ACCOUNT = '1234567890';
const PROJECT = 'video-animation';
const ATTACHED = 'media-bkt';
const NOT_ATTACHED = 'plain-bkt';
const KEY = { accessKeyId: 'LTAI5tLocalTestKey', accessKeySecret: 'local-test-secret' };
const SOURCE_KEY = 'videos/猫 clip.mp4';
/** gif, 2 frames every 500 ms, 32x32, saved as previews/clip.gif in media-bkt, notice on topic "animations". */
const PROCESS = 'video/animation,f_gif,num_2,inter_500,w_32,h_32|sys/saveas,b_bWVkaWEtYmt0,o_cHJldmlld3MvY2xpcC5naWY/notify,topic_YW5pbWF0aW9ucw';

interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let dir: string;
let oss: LocalOss;
let imm: LocalImm;
let proxy: Server;
let proxyPort: number;
/** Every request the client sent, as it went over the wire. */
const wire: RecordedRequest[] = [];
/** Requests the local OSS routed to x-oss-async-process, after checking their signatures. */
const routed: { bucket: string; key: string }[] = [];
let failOssRequests = false;

/** Forwards to the local OSS unchanged, recording each request's method, raw path and body. */
function startRecordingProxy(target: LocalOss): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      wire.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: body.toString('utf8') });
      const forward = httpRequest({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers }, (upstream) => {
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(res);
      });
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const bucketClient = (bucket: string, credentials = KEY): BucketApi =>
  createBucketClient({ bucket, region: REGION, credentials, endpoint: { protocol: 'http', host: `127.0.0.1:${proxyPort}` } });

/** The app's retry policy with no waiting. */
const retry: Retrier = (service, operation, kind) => withRetries(operation, { service, ...(kind ? { kind } : {}), deadline: Date.now() + 10_000, maxAttempts: 3, sleep: async () => {} });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'oss-async-adapter-test-'));
  let handler: AsyncProcessHandler | undefined;
  oss = await startLocalOss({
    dataDir: join(dir, 'oss'),
    region: REGION,
    accountId: ACCOUNT,
    buckets: [ATTACHED, NOT_ATTACHED],
    credentials: [KEY],
    asyncProcess: (req) => {
      routed.push({ bucket: req.bucket, key: req.key });
      return handler!(req);
    },
    faults: { serverErrorRate: 0.5, random: () => (failOssRequests ? 0 : 1) },
  });
  imm = await startLocalImm({
    region: REGION,
    accountId: ACCOUNT,
    credentials: [KEY],
    projects: [PROJECT],
    oss: { endpoint: oss.endpoint, ...KEY },
    publish: async () => {},
    workDir: join(dir, 'imm'),
  });
  handler = createAsyncProcessHandler({ imm, projectName: PROJECT, attachedBuckets: [ATTACHED] });
  proxy = await startRecordingProxy(oss);
  proxyPort = (proxy.address() as AddressInfo).port;

  const video = join(dir, 'clip.mp4');
  await generateSampleVideo(video, { seconds: 1, width: 64, height: 48, fps: 10 });
  for (const bucket of [ATTACHED, NOT_ATTACHED]) await new OSS(ossClientOptions(oss, bucket, KEY)).put(SOURCE_KEY, video);
});

after(async () => {
  await imm.idle();
  await imm.close();
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
  await oss.close();
  await rm(dir, { recursive: true, force: true });
});

describe('BucketApi.asyncProcess', () => {
  test('sends a signed POST /<key>?x-oss-async-process with body x-oss-async-process=<process> and returns OSS JSON answer', async () => {
    const bucket = await bucketClient(ATTACHED);
    const sent = wire.length;
    const response = await bucket.asyncProcess(SOURCE_KEY, PROCESS);

    const [request, ...others] = wire.slice(sent);
    assert.equal(others.length, 0);
    assert.equal(request?.method, 'POST');
    // An IP endpoint gets path-style addressing; the sub-resource goes as its bare name.
    assert.equal(request.url, `/${ATTACHED}/videos/%E7%8C%AB%20clip.mp4?x-oss-async-process`);
    assert.equal(request.headers.host, `127.0.0.1:${proxyPort}`);
    assert.match(String(request.headers.authorization), new RegExp(`^OSS4-HMAC-SHA256 Credential=${KEY.accessKeyId}/\\d{8}/${REGION}/oss/aliyun_v4_request,Signature=[0-9a-f]{64}$`));
    assert.equal(request.body, `x-oss-async-process=${PROCESS}`);
    assert.deepEqual(routed.at(-1), { bucket: ATTACHED, key: SOURCE_KEY });

    assert.deepEqual(Object.keys(response).sort(), ['EventId', 'RequestId', 'TaskId']);
    const task = imm.tasks().find((t) => t.taskId === response.TaskId);
    assert.ok(task, `no local IMM task ${response.TaskId}`);
    assert.equal(task.requestId, response.RequestId);
    assert.equal(task.eventId, response.EventId);
    assert.match(response.RequestId ?? '', /^[0-9A-F]{24}$/);
  });

  test('a request signed with the wrong secret never reaches the processing', async () => {
    const bucket = await bucketClient(ATTACHED, { ...KEY, accessKeySecret: 'wrong' });
    const before = routed.length;
    await assert.rejects(bucket.asyncProcess(SOURCE_KEY, PROCESS), { status: 403, code: 'SignatureDoesNotMatch' });
    assert.equal(routed.length, before);
  });

  test('a bucket without an attached IMM project is refused with OSS Imm Client error', async () => {
    const bucket = await bucketClient(NOT_ATTACHED);
    await assert.rejects(bucket.asyncProcess(SOURCE_KEY, PROCESS), (error: Error & { status?: number; code?: string }) => {
      assert.equal(error.status, 400);
      assert.equal(error.code, 'Imm Client');
      assert.equal(error.message, 'ResourceNotFound.Attachment: no IMM project is attached to this bucket, so x-oss-async-process is unavailable.');
      assert.equal(isImmNotAttached(error), true);
      return true;
    });
  });
});

describe('ossAsyncEngine', () => {
  const [rule] = parseRuleSet(
    [
      {
        name: 'previews',
        prefix: 'videos/',
        engine: 'oss',
        outputs: [
          { format: 'gif', key: 'previews/{barename}', width: 32, height: 32, interval: 0.5, maxFrames: 2 },
          { format: 'webp', key: 'previews/{barename}', width: 0.5, height: 0.5, interval: 0.5, maxFrames: 2 },
        ],
      },
    ],
    { recordsPrefix: 'animation-jobs/' },
  );
  const planFor = (bucket: string) => planJob({ bucket, key: SOURCE_KEY, eTag: 'ETAG', size: 1 }, rule!);

  test('without an attached IMM project: a permanent error that says how to attach one, sent once', async () => {
    const engine = ossAsyncEngine(await bucketClient(NOT_ATTACHED), { topicName: 'animations' }, retry);
    const before = routed.length;
    await assert.rejects(engine.submit(samplePlan(planFor(NOT_ATTACHED)), 1), (error: unknown) => {
      assert.ok(error instanceof ImmNotAttachedError);
      assert.equal(
        error.message,
        'bucket "plain-bkt" has no IMM project attached, so OSS cannot run x-oss-async-process for engine oss. ' +
          'Attach the bucket to an IMM project in the same region: in the OSS console under Data Processing > IMM, ' +
          'or with IMM AttachOSSBucket (OSSBucket=plain-bkt, ProjectName=<your project>). ' +
          'OSS said: Imm Client: ResourceNotFound.Attachment: no IMM project is attached to this bucket, so x-oss-async-process is unavailable.',
      );
      assert.deepEqual(describeServiceError('oss', error), { service: 'oss', status: 400, code: 'Imm Client', message: error.message, transient: false, ambiguous: false });
      return true;
    });
    assert.equal(routed.length, before + 1);
  });

  test('one POST per output, task ids in output order', async () => {
    const engine = ossAsyncEngine(await bucketClient(ATTACHED), { topicName: 'animations' }, retry);
    const known = new Set(imm.tasks().map((t) => t.taskId));
    const sent = wire.length;
    const outputTaskIds = (await engine.submit(samplePlan(planFor(ATTACHED)), 1)).map((t) => t.taskId);
    assert.deepEqual(
      wire.slice(sent).map((r) => r.body),
      [
        // previews/猫 clip.gif and previews/猫 clip.webp
        'x-oss-async-process=video/animation,f_gif,num_2,inter_500,w_32,h_32|sys/saveas,b_bWVkaWEtYmt0,o_cHJldmlld3Mv54yrIGNsaXAuZ2lm/notify,topic_YW5pbWF0aW9ucw',
        'x-oss-async-process=video/animation,f_webp,num_2,inter_500,pw_50,ph_50|sys/saveas,b_bWVkaWEtYmt0,o_cHJldmlld3Mv54yrIGNsaXAud2VicA/notify,topic_YW5pbWF0aW9ucw',
      ],
    );
    assert.deepEqual(
      outputTaskIds,
      imm.tasks().filter((t) => !known.has(t.taskId)).map((t) => t.taskId),
    );
  });

  test('a later output whose POST gets a 5xx keeps the task ids already started, and is not sent again', async () => {
    let submissions = 0;
    const failSecond: Retrier = (service, operation, kind) => {
      submissions++;
      failOssRequests = submissions === 2;
      return retry(service, operation, kind);
    };
    const engine = ossAsyncEngine(await bucketClient(ATTACHED), { topicName: 'animations' }, failSecond);
    const known = new Set(imm.tasks().map((t) => t.taskId));
    const sent = wire.length;
    const error = await engine.submit(samplePlan(planFor(ATTACHED)), 1).then(
      () => assert.fail('expected the second output to fail'),
      (e: unknown) => e,
    );
    failOssRequests = false;

    const started = imm.tasks().filter((t) => !known.has(t.taskId));
    assert.equal(started.length, 1);
    assert.ok(error instanceof PartialSubmitError);
    assert.deepEqual(error.started, [{ taskId: started[0]!.taskId, outputs: ['previews/猫 clip.gif'] }]);
    assert.match(error.message, new RegExp(`^UnknownOutcome: oss may have started the task without answering \\(ServiceUnavailable: .*\\(tasks already started: ${started[0]!.taskId}\\)$`));
    assert.deepEqual(describeServiceError('oss', error), { ...describeServiceError('oss', error)!, code: 'UnknownOutcome', transient: true, ambiguous: true });
    // The first output's POST, then one at the second: a 5xx leaves it unknown whether OSS started the task.
    assert.equal(wire.slice(sent).filter((r) => r.method === 'POST').length, 2);
  });
});
