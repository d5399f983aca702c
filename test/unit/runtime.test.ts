import assert from 'node:assert/strict';
import { UnknownOutcome } from '../../shared/platform/errors';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { Readable, Writable } from 'node:stream';
import { afterEach, describe, mock, test } from 'node:test';
import type { FcContext } from '../../shared/wiring/config';
import { ConfigError } from '../../shared/platform/errors';
import { createLogger } from '../../shared/platform/log';
import { invocationRuntime } from '../../shared/wiring/runtime';
import { fakeBucket, serviceError, testConfig } from '../helpers/fake-app';

// Nothing here sends a request: the OSS and IMM clients are built offline, with the credentials from the context.
// Where a client is called, Node's http/https request functions are replaced by fakeHttp below: no socket is opened.

const NOW = 1_700_000_000_000;
const CREDENTIALS = { accessKeyId: 'AKIDtest', accessKeySecret: 'secret-test', securityToken: 'sts-test' };

function runtime(overrides: Parameters<typeof testConfig>[0] = {}, context: FcContext = { credentials: CREDENTIALS }, rules?: Parameters<typeof testConfig>[1]) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ requestId: 'r' }, (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  const config = testConfig(overrides, rules);
  return { deps: invocationRuntime(config, context, log), lines, config };
}

afterEach(() => {
  mock.timers.reset();
  mock.restoreAll();
});

describe('invocationRuntime: time', () => {
  test('lease: JOB_LEASE_SECONDS when set, else the function timeout, else 60 s', () => {
    assert.equal(runtime({ leaseSeconds: 120 }, { function: { timeout: 30 } }).deps.leaseMs, 120_000);
    assert.equal(runtime({}, { function: { timeout: 30 } }).deps.leaseMs, 30_000);
    assert.equal(runtime({}, { function: {} }).deps.leaseMs, 60_000);
    assert.equal(runtime({}, {}).deps.leaseMs, 60_000);
  });

  test('deadline: the timeout less a 3 s margin', () => {
    mock.timers.enable({ apis: ['Date'], now: NOW });
    assert.equal(runtime({}, { function: { timeout: 30 } }).deps.deadline, NOW + 27_000);
    assert.equal(runtime({}, {}).deps.deadline, NOW + 57_000);
    assert.equal(runtime({ leaseSeconds: 5 }, { function: { timeout: 10 } }).deps.deadline, NOW + 7_000);
  });

  test('deadline: at least half the timeout', () => {
    mock.timers.enable({ apis: ['Date'], now: NOW });
    assert.equal(runtime({}, { function: { timeout: 4 } }).deps.deadline, NOW + 2_000);
    assert.equal(runtime({}, { function: { timeout: 1 } }).deps.deadline, NOW + 500);
    assert.equal(runtime({}, { function: { timeout: 6 } }).deps.deadline, NOW + 3_000);
  });

  test('the clock reads Date.now()', () => {
    mock.timers.enable({ apis: ['Date'], now: NOW });
    const { deps } = runtime();
    assert.equal(deps.clock.now(), NOW);
    mock.timers.tick(1234);
    assert.equal(deps.clock.now(), NOW + 1234);
  });
});

describe('invocationRuntime: identity and config', () => {
  test('the request id from the context, else "unknown"; config and log are passed through', () => {
    const { deps, config } = runtime({}, { requestId: 'req-9' });
    assert.equal(deps.requestId, 'req-9');
    assert.equal(deps.config, config);
    assert.equal(runtime({}, {}).deps.requestId, 'unknown');
  });
});

describe('invocationRuntime: IMM', () => {
  test('without an IMM project: no task lookup and no media probe', async () => {
    const { deps } = runtime({ immProject: undefined });
    assert.equal(await deps.taskLookup(), undefined);
    assert.equal(await deps.mediaProbe(), undefined);
  });

  test('with an IMM project: a task lookup and a media probe', async () => {
    const { deps } = runtime();
    const lookup = await deps.taskLookup();
    const probe = await deps.mediaProbe();
    assert.equal(typeof lookup?.getTask, 'function');
    assert.equal(typeof probe?.probe, 'function');
  });

  test('engine imm: an engine that can find its tasks again', async () => {
    const { deps, config } = runtime();
    const engine = await deps.engine(config.rules[0]!, fakeBucket());
    assert.equal(typeof engine.submit, 'function');
    assert.equal(typeof engine.findJobTasks, 'function');
  });

  test('engine imm without IMM_PROJECT is a ConfigError', async () => {
    const { deps, config } = runtime({ immProject: undefined });
    await assert.rejects(deps.engine(config.rules[0]!, fakeBucket()), (error) => error instanceof ConfigError && error.message === 'IMM_PROJECT is not set');
  });
});

describe('invocationRuntime: engine oss', () => {
  const rules = [{ name: 'o', prefix: 'videos/', engine: 'oss' as const, outputs: [{ format: 'gif' as const, key: 'a/{basename}' }] }];

  test('needs no IMM project, cannot find tasks again, and submits through the bucket', async () => {
    const { deps, config, lines } = runtime({ immProject: undefined }, { credentials: CREDENTIALS }, rules);
    const bucket = fakeBucket();
    const calls: [string, string][] = [];
    bucket.asyncProcess = async (key, process) => {
      calls.push([key, process]);
      // OSS throttles once (it started nothing): the runtime's retry policy is what tries again.
      if (calls.length === 1) throw serviceError(429, 'Throttling');
      return { TaskId: 'oss-task-1' };
    };
    mock.method(Math, 'random', () => 0);
    const engine = await deps.engine(config.rules[0]!, bucket);
    assert.equal(engine.findJobTasks, undefined);
    const started = await engine.submit(
      {
        jobId: '0123456789abcdef0123456789abcdef',
        rule: config.rules[0]!,
        source: { bucket: bucket.bucket, key: 'videos/a.mp4', eTag: 'E', size: 1 },
        outputs: [{ ...config.rules[0]!.outputs[0]!, resolvedKey: 'a/a.gif', sampling: { number: 10, interval: 1 } }],
      } as never,
      1,
    );
    assert.deepEqual(started, [{ taskId: 'oss-task-1', outputs: ['a/a.gif'] }]);
    assert.equal(calls.length, 2);
    assert.equal(calls[1]![0], 'videos/a.mp4');
    // The notice goes to MNS_TOPIC ("done", URL-safe Base64).
    assert.match(calls[1]![1], /\/notify,topic_ZG9uZQ$/);
    assert.deepEqual(
      lines.map((l) => l['message']),
      ['oss call failed; retrying'],
    );

    // A 5xx leaves it unknown whether OSS started the task: the POST is not sent again.
    calls.length = 0;
    bucket.asyncProcess = async (key, process) => {
      calls.push([key, process]);
      throw serviceError(503, 'ServiceUnavailable');
    };
    await assert.rejects(engine.submit({ jobId: '0123456789abcdef0123456789abcdef', rule: config.rules[0]!, source: { bucket: bucket.bucket, key: 'videos/a.mp4', eTag: 'E', size: 1 }, outputs: [{ ...config.rules[0]!.outputs[0]!, resolvedKey: 'a/a.gif', sampling: { number: 10, interval: 1 } }] } as never, 1), UnknownOutcome);
    assert.equal(calls.length, 1);
  });
});

describe('invocationRuntime: retry', () => {
  test('retries a transient failure and logs each retry with the service', async () => {
    mock.method(Math, 'random', () => 0);
    const { deps, lines } = runtime();
    let calls = 0;
    const result = await deps.retry('oss', async () => {
      calls++;
      if (calls < 3) throw serviceError(503, 'ServiceUnavailable');
      return 'ok';
    });
    assert.equal(result, 'ok');
    assert.equal(calls, 3);
    assert.deepEqual(lines, [
      { requestId: 'r', code: 'ServiceUnavailable', status: 503, attempt: 1, delayMs: 0, level: 'warn', message: 'oss call failed; retrying' },
      { requestId: 'r', code: 'ServiceUnavailable', status: 503, attempt: 2, delayMs: 0, level: 'warn', message: 'oss call failed; retrying' },
    ]);
  });

  test('does not retry past the deadline, and names the imm service', async () => {
    mock.method(Math, 'random', () => 0);
    mock.timers.enable({ apis: ['Date'], now: NOW });
    const { deps, lines } = runtime({}, { function: { timeout: 10 } });
    let calls = 0;
    const failure = serviceError(503, 'ServiceUnavailable');
    await assert.rejects(
      deps.retry('imm', async () => {
        calls++;
        // The second attempt ends after the 7 s budget: no third.
        if (calls === 2) mock.timers.tick(7_000);
        if (calls < 3) throw failure;
        return 'ok';
      }),
      (error) => error === failure,
    );
    assert.equal(calls, 2);
    assert.deepEqual(
      lines.map((l) => [l['message'], l['attempt']]),
      [['imm call failed; retrying', 1]],
    );
  });

  test('a permanent failure is not retried', async () => {
    const { deps, lines } = runtime();
    let calls = 0;
    const failure = serviceError(403, 'AccessDenied');
    await assert.rejects(
      deps.retry('imm', async () => {
        calls++;
        throw failure;
      }),
      (error) => error === failure,
    );
    assert.equal(calls, 1);
    assert.deepEqual(lines, []);
  });
});

describe('invocationRuntime: OSS', () => {
  test('one client per bucket name', async () => {
    const { deps } = runtime();
    const first = deps.bucket('media');
    assert.equal(deps.bucket('media'), first);
    const other = deps.bucket('other');
    assert.notEqual(other, first);
    assert.equal((await first).bucket, 'media');
    assert.equal((await other).bucket, 'other');
    assert.equal(await deps.bucket('media'), await first);
  });

  test('an explicit endpoint builds a client too', async () => {
    const { deps } = runtime({ ossEndpoint: { protocol: 'http', host: '127.0.0.1:1' }, immEndpoint: { protocol: 'http', host: '127.0.0.1:1' } });
    assert.equal((await deps.bucket('media')).bucket, 'media');
    assert.equal(typeof (await deps.taskLookup())?.getTask, 'function');
  });

});

interface SeenRequest {
  protocol: 'http' | 'https';
  host: string;
  port: string;
  method: string;
  path: string;
  headers: Record<string, string>;
}

/**
 * Replaces http.request and https.request (which ali-oss's urllib and openapi-core's httpx call) with a fake that
 * records each request and answers `respond(request)` without opening a socket.
 */
function fakeHttp(respond: (request: SeenRequest) => { status: number; body: string }) {
  const seen: SeenRequest[] = [];
  const fake = (protocol: 'http' | 'https') => (options: http.RequestOptions, onResponse?: (res: unknown) => void) => {
    const socket = Object.assign(new EventEmitter(), { remoteAddress: '127.0.0.1', remotePort: 1, setTimeout() {}, setNoDelay() {}, setKeepAlive() {} });
    const request = Object.assign(new Writable({ write: (_chunk, _encoding, done) => done() }), {
      socket,
      abort() {},
      setTimeout: () => request,
      setNoDelay() {},
      setSocketKeepAlive() {},
    });
    request.on('finish', () =>
      setImmediate(() => {
        const headers = Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
        const seenRequest = { protocol, host: String(options.host ?? options.hostname), port: String(options.port), method: String(options.method), path: String(options.path), headers };
        seen.push(seenRequest);
        const { status, body } = respond(seenRequest);
        const response = Object.assign(Readable.from([Buffer.from(body)]), {
          statusCode: status,
          statusMessage: 'OK',
          httpVersion: '1.1',
          headers: { 'content-type': 'application/json', 'x-oss-request-id': 'oss-req' },
          req: request,
          socket,
        });
        onResponse?.(response);
        request.emit('response', response);
      }),
    );
    return request;
  };
  mock.method(http, 'request', fake('http'));
  mock.method(https, 'request', fake('https'));
  return seen;
}

/** What an IMM RPC call asked for: its action and its query parameters. */
function immCall(request: SeenRequest) {
  return { action: request.headers['x-acs-action'], query: Object.fromEntries(new URL(request.path, 'http://x').searchParams) };
}

const IMM_ANSWERS: Record<string, unknown> = {
  GetTask: { RequestId: 'r', TaskId: 't1', Status: 'Running' },
  DetectMediaMeta: { RequestId: 'r', Duration: 12.5, VideoWidth: 640, VideoHeight: 360, VideoStreams: [{ AverageFrameRate: '25/1' }] },
  CreateMediaConvertTask: { RequestId: 'r', TaskId: 'task-new' },
};

function answer(request: SeenRequest) {
  if (request.method === 'HEAD') return { status: 404, body: '' };
  return { status: 200, body: JSON.stringify(IMM_ANSWERS[request.headers['x-acs-action'] ?? ''] ?? {}) };
}

describe('invocationRuntime: where the clients send their requests (fake HTTP layer)', () => {
  test('by default: IMM and the internal OSS endpoint of the region, over HTTPS, with the context credentials', async () => {
    const seen = fakeHttp(answer);
    const { deps } = runtime({ region: 'cn-shanghai' });
    assert.deepEqual(await (await deps.taskLookup())!.getTask('t1'), { taskId: 't1', status: 'Running' });
    assert.equal(await (await deps.bucket('media')).head('videos/a.mp4'), undefined);
    assert.deepEqual(
      seen.map((r) => [r.protocol, r.host, r.method]),
      [
        ['https', 'imm.cn-shanghai.aliyuncs.com', 'POST'],
        ['https', 'media.oss-cn-shanghai-internal.aliyuncs.com', 'HEAD'],
      ],
    );
    assert.deepEqual(immCall(seen[0]!), { action: 'GetTask', query: { ProjectName: 'project', TaskId: 't1', TaskType: 'MediaConvert' } });
    assert.match(seen[0]!.headers['authorization'] ?? '', /AKIDtest/);
    assert.equal(seen[0]!.headers['x-acs-security-token'], 'sts-test');
    assert.match(seen[1]!.headers['authorization'] ?? '', /^OSS4-HMAC-SHA256 Credential=AKIDtest\/\d{8}\/cn-shanghai\/oss\/aliyun_v4_request,/);
    assert.equal(seen[1]!.headers['x-oss-security-token'], 'sts-test');
    assert.equal(seen[1]!.path, '/videos/a.mp4');
  });

  test('IMM_ENDPOINT and OSS_ENDPOINT replace the default endpoints', async () => {
    const seen = fakeHttp(answer);
    const { deps } = runtime({ immEndpoint: { protocol: 'http', host: 'imm.local:8081' }, ossEndpoint: { protocol: 'http', host: 'oss.local:8082' } });
    await (await deps.taskLookup())!.getTask('t1');
    await (await deps.bucket('media')).head('a.mp4');
    assert.deepEqual(
      seen.map((r) => [r.protocol, r.host, r.port]),
      [
        ['http', 'imm.local', '8081'],
        ['http', 'media.oss.local', '8082'],
      ],
    );
  });

  test('the media probe asks DetectMediaMeta in the IMM project', async () => {
    const seen = fakeHttp(answer);
    const { deps } = runtime({ immProject: 'my-project' });
    assert.deepEqual(await (await deps.mediaProbe())!.probe('media', 'videos/a.mp4'), { duration: 12.5, width: 640, height: 360, frameRate: 25 });
    assert.deepEqual(immCall(seen[0]!), { action: 'DetectMediaMeta', query: { ProjectName: 'my-project', SourceURI: 'oss://media/videos/a.mp4' } });
  });

  test('engine imm creates the task in the IMM project, notifying MNS_TOPIC; one IMM client serves the invocation', async () => {
    const seen = fakeHttp(answer);
    const { deps, config } = runtime({ immProject: 'my-project', mnsTopic: 'my-topic' });
    const rule = config.rules[0]!;
    const engine = await deps.engine(rule, fakeBucket());
    const plan = {
      jobId: '0123456789abcdef0123456789abcdef',
      rule,
      source: { bucket: 'media', key: 'videos/a.mp4', eTag: 'E', size: 1 },
      outputs: [{ ...rule.outputs[0]!, resolvedKey: 'animations/a', sampling: { number: 10 } }],
    };
    assert.deepEqual(await engine.submit(plan as never, 2), [{ taskId: 'task-new', outputs: ['animations/a'] }]);
    await (await deps.taskLookup())!.getTask('t1');
    const [create] = seen.map(immCall);
    assert.equal(create?.action, 'CreateMediaConvertTask');
    assert.equal(create?.query['ProjectName'], 'my-project');
    assert.deepEqual(JSON.parse(create?.query['Notification'] ?? ''), { MNS: { TopicName: 'my-topic' } });
    assert.deepEqual(JSON.parse(create?.query['Tags'] ?? ''), { JobId: plan.jobId, Rule: 'preview', Attempt: '2' });
    assert.equal(seen.length, 2);
  });
});
