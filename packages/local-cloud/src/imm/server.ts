import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { immActions } from './actions';
import { ImmApiError, INTERNAL_ERROR_MESSAGE, missingParameter, resourceNotFound } from './errors';
import type { MediaConvertJob, RequestParameters } from './media-convert-request';
import { createOssObjects } from './oss-objects';
import { verifyAcs3Signature, type AccessKeyCredential } from './signature';
import { cachingProber, downloadingProber } from './probe-cache';
import { slidingWindowLimiter } from './rate-limit';
import { createTaskRunner, type ConversionMode, type OssAccess, type TaskInfo } from './tasks';
import { headerValue, readBody } from '../http-request';

export { completionNotice, type TaskInfo } from './tasks';

export const IMM_API_VERSION = '2020-09-30';

export interface LocalImmOptions {
  /** 0 (default) picks a free port. The server binds 127.0.0.1 only. */
  port?: number;
  region: string;
  accountId: string;
  /** Accepted signers. */
  credentials: AccessKeyCredential[];
  /** Names of the IMM projects that exist. */
  projects: string[];
  /** The OSS that holds sources and receives outputs, reached with ali-oss (an IP endpoint such as http://127.0.0.1:PORT). */
  oss: OssAccess;
  /** Publishes a task's completion notice to an MNS topic. */
  publish: (topicName: string, messageBody: string) => Promise<void>;
  /** Where sources and renders are kept while a task runs. */
  workDir: string;
  /** Tasks converted at the same time; default 1. */
  concurrency?: number;
  /**
   * A JSON file that keeps the tasks across restarts (e.g. `<dataDir>/imm-tasks.json`): GetTask and ListTasks know
   * them after a restart, and `resumeInterrupted()` runs again those that were running when the server stopped.
   */
  stateFile?: string;
  /**
   * `ffmpeg` (default): tasks download their sources and render with ffmpeg; DetectMediaMeta downloads and runs
   * ffprobe on every call. `fast`: tasks write a small valid animation with the planned frame count and size
   * (src/imm/fast-animation.ts), flat stills for Snapshots and Sprites in the planned number and size
   * (src/imm/fast-stills.ts), and every probe (DetectMediaMeta, task planning) is cached per object ETag, so a
   * burst of uploads of one clip runs ffprobe once or twice in all and no ffmpeg.
   */
  conversion?: ConversionMode;
  faults?: {
    /**
     * IMM's rate limit: API calls above this many per second (all actions together, in any sliding one-second
     * window; src/imm/rate-limit.ts) are answered `Throttling.User`, as a project's ProjectQueriesPerSecond does.
     */
    qps?: number;
    /** The clock of the rate limit (tests inject one); default Date.now. */
    now?: () => number;
    /** Share of API calls answered `Throttling.User`. */
    throttleRate?: number;
    /** Share of API calls answered 500 `InternalError` or 503 `ServiceUnavailable`. */
    serverErrorRate?: number;
    /** Share of tasks that end Failed with `failTaskCode`. */
    failTaskRate?: number;
    /** The first N tasks run end Failed with `failTaskCode` (deterministic, e.g. "the first attempt fails"). */
    failFirstTasks?: number;
    /**
     * Share of CreateMediaConvertTask calls whose task is made (it runs and notifies as usual) but whose answer is
     * lost: the server drops the connection instead of answering, as when a network fails after the request arrived.
     */
    dropCreateAnswerRate?: number;
    /** The first N CreateMediaConvertTask calls lose their answer that way (deterministic). */
    dropFirstCreateAnswers?: number;
    /** Code of injected task failures: `InternalError` (default, transient) or e.g. `InvalidFile.Media` (permanent). */
    failTaskCode?: string;
    random?: () => number;
  };
}

export interface LocalImm {
  /** `127.0.0.1:PORT`: the form openapi-core's `endpoint` takes (with `protocol: 'http'`). */
  endpoint: string;
  port: number;
  tasks(): TaskInfo[];
  /**
   * The API calls answered so far, per action (only signed calls of a known action count): `calls` all of them,
   * `throttled` those refused with `Throttling.User` (the qps limit or the throttleRate fault).
   */
  apiCalls(): Record<string, { calls: number; throttled: number }>;
  /** Calls refused with `Throttling.User` so far, every action together. */
  throttledCalls(): number;
  /** ffprobe runs so far (DetectMediaMeta, and task planning in the fast mode). */
  probes(): number;
  /**
   * Runs a job that reached IMM another way (OSS x-oss-async-process) as a MediaConvert task: listed, rendered and
   * notified like one from CreateMediaConvertTask. Returns a snapshot of the new task.
   */
  runJob(job: MediaConvertJob, requestId: string): TaskInfo;
  /**
   * With `stateFile`: runs again, from the start, the tasks that were running when the server last stopped, and
   * returns their ids. Call it once whoever receives their completion notices is listening.
   */
  resumeInterrupted(): string[];
  /** Resolves when no task is running or queued. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A local stand-in for Alibaba Cloud IMM (API 2020-09-30) speaking the OpenAPI wire format the official SDK
 * and @alicloud/openapi-core use: RPC style, `POST /`, action and version in `x-acs-action` / `x-acs-version`
 * (or `Action` / `Version` query parameters), parameters in the query string (or a form / JSON body),
 * ACS3-HMAC-SHA256 signatures. Actions: CreateMediaConvertTask (animations only), GetTask, ListTasks and
 * DetectMediaMeta.
 */
export async function startLocalImm(options: LocalImmOptions): Promise<LocalImm> {
  await mkdir(options.workDir, { recursive: true });
  const random = options.faults?.random ?? Math.random;
  const projects = new Set(options.projects);
  const usedNonces = new Set<string>();
  const objects = createOssObjects(options.oss, options.region);
  let probes = 0;
  const downloading = downloadingProber(objects, options.workDir);
  const counted = {
    media: (location: Parameters<typeof downloading.media>[0]) => (probes++, downloading.media(location)),
    video: (location: Parameters<typeof downloading.video>[0]) => (probes++, downloading.video(location)),
  };
  const conversion = options.conversion ?? 'ffmpeg';
  const prober = conversion === 'fast' ? cachingProber(objects, counted) : counted;
  const limiter = options.faults?.qps !== undefined ? slidingWindowLimiter(options.faults.qps, options.faults.now) : undefined;
  const calls = new Map<string, { calls: number; throttled: number }>();
  const runner = await createTaskRunner({
    ...(options.stateFile ? { stateFile: options.stateFile } : {}),
    region: options.region,
    accountId: options.accountId,
    oss: options.oss,
    publish: options.publish,
    workDir: options.workDir,
    concurrency: options.concurrency ?? 1,
    conversion,
    prober,
    failTasks: {
      rate: options.faults?.failTaskRate ?? 0,
      firstTasks: options.faults?.failFirstTasks ?? 0,
      code: options.faults?.failTaskCode ?? 'InternalError',
    },
    random,
  });
  const hostId = `imm.${options.region}.aliyuncs.com`;

  const actions = immActions({ projects, runner, prober });

  let createAnswers = 0;
  /** Whether this CreateMediaConvertTask answer is lost (the dropCreateAnswer faults). */
  function dropCreateAnswer(): boolean {
    createAnswers++;
    if (createAnswers <= (options.faults?.dropFirstCreateAnswers ?? 0)) return true;
    return !!options.faults?.dropCreateAnswerRate && random() < options.faults.dropCreateAnswerRate;
  }

  async function handle(request: IncomingMessage, requestId: string): Promise<{ action: string; body: object }> {
    const url = new URL(request.url ?? '/', 'http://local-imm');
    const body = await readBody(request);
    const query = Object.fromEntries(url.searchParams);
    verifyAcs3Signature({ method: request.method ?? 'GET', pathname: url.pathname, query, headers: request.headers, body }, options.credentials);
    const nonce = request.headers['x-acs-signature-nonce'];
    if (typeof nonce === 'string') {
      if (usedNonces.has(nonce)) throw new ImmApiError(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.');
      usedNonces.add(nonce);
    }

    const action = headerValue(request, 'x-acs-action') ?? query.Action;
    const version = headerValue(request, 'x-acs-version') ?? query.Version;
    if (!action) throw missingParameter('Action');
    if (version !== IMM_API_VERSION) throw new ImmApiError(400, 'InvalidVersion', `Specified parameter Version is not valid: ${version ?? '(none)'}; IMM is ${IMM_API_VERSION}.`);
    const handler = url.pathname === '/' && (request.method === 'POST' || request.method === 'GET') ? actions[action] : undefined;
    if (!handler) throw new ImmApiError(404, 'InvalidAction.NotFound', `Specified api is not found, please check your url and method: ${request.method} ${url.pathname} ${action}.`);

    const count = calls.get(action) ?? { calls: 0, throttled: 0 };
    calls.set(action, count);
    count.calls++;
    // The gateway's flow control first (a refused call is not passed on), then the injected random throttling.
    if ((limiter && !limiter.tryAcquire()) || (options.faults?.throttleRate && random() < options.faults.throttleRate)) {
      count.throttled++;
      throw throttled();
    }
    if (options.faults?.serverErrorRate && random() < options.faults.serverErrorRate) {
      throw random() < 0.5
        ? new ImmApiError(500, 'InternalError', INTERNAL_ERROR_MESSAGE)
        : new ImmApiError(503, 'ServiceUnavailable', 'The request has failed due to a temporary failure of the server.');
    }
    return { action, body: await handler({ requestId, parameters: { ...parseBodyParameters(request, body), ...query } }) };
  }

  function respond(response: ServerResponse, requestId: string, status: number, body: object): void {
    response.writeHead(status, { 'content-type': 'application/json;charset=utf-8', 'x-acs-request-id': requestId });
    response.end(JSON.stringify(body));
  }

  const server = createServer((request, response) => {
    const requestId = randomUUID().toUpperCase();
    handle(request, requestId).then(
      ({ action, body }) => {
        // The task exists and runs; only its answer is lost.
        if (action === 'CreateMediaConvertTask' && dropCreateAnswer()) request.socket.destroy();
        else respond(response, requestId, 200, body);
      },
      (error: unknown) => {
        const apiError =
          error instanceof ImmApiError
            ? error
            : new ImmApiError(500, 'InternalError', `The request processing has failed due to some unknown error: ${error instanceof Error ? error.message : String(error)}`);
        respond(response, requestId, apiError.status, {
          RequestId: requestId,
          HostId: hostId,
          Code: apiError.code,
          Message: apiError.message,
          Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(apiError.code)}&product=imm`,
        });
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    tasks: () => runner.list(),
    apiCalls: () => Object.fromEntries([...calls].map(([action, count]) => [action, { ...count }])),
    throttledCalls: () => [...calls.values()].reduce((sum, count) => sum + count.throttled, 0),
    probes: () => probes,
    runJob(job, requestId) {
      if (!projects.has(job.projectName)) throw resourceNotFound('Project', `ProjectName: ${job.projectName}`);
      return structuredClone(runner.submit(job, requestId));
    },
    resumeInterrupted: () => runner.resumeInterrupted(),
    idle: () => runner.idle(),
    async close() {
      await runner.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** What IMM's gateway answers a call above the flow-control limit (openapi-core raises a ThrottlingError for it). */
const throttled = () => new ImmApiError(400, 'Throttling.User', 'Request was denied due to user flow control.');

/** Parameters in a form or JSON body (openapi-core's reqBodyType formData / json); the query string wins on overlap. */
function parseBodyParameters(request: IncomingMessage, body: Buffer): RequestParameters {
  if (body.length === 0) return {};
  const contentType = request.headers['content-type'] ?? '';
  if (contentType.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  if (contentType.startsWith('application/json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ImmApiError(400, 'InvalidJSON', 'The request body is not valid JSON.');
    }
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as RequestParameters;
    throw new ImmApiError(400, 'InvalidJSON', 'The request body must be a JSON object.');
  }
  return {};
}
