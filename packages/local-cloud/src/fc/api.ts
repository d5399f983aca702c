import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FunctionDescription } from './function';
import { ImmApiError } from '../imm/errors';
import { verifyAcs3Signature, type AccessKeyCredential } from '../imm/signature';
import type { LocalFunction } from './invoker';
import { headerValue, readBody } from '../http-request';

export const FC_API_VERSION = '2023-03-30';

export interface LocalFcApiOptions {
  /** 0 (default) picks a free port. The server binds 127.0.0.1 only. */
  port?: number;
  region: string;
  accountId: string;
  /** Accepted signers. */
  credentials: AccessKeyCredential[];
  /** The functions as configured, and their running instances by function name. */
  specs: FunctionDescription[];
  functions: ReadonlyMap<string, LocalFunction>;
}

export interface LocalFcApi {
  /** `127.0.0.1:PORT`: the form the fc20230330 client's `endpoint` takes (with `protocol: 'http'`). */
  endpoint: string;
  port: number;
  close(): Promise<void>;
}

/** An error FC 3.0 answers with: HTTP status and the `Code` / `Message` of its error body (API 2023-03-30 `Error`). */
class FcApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'FcApiError';
  }
}

/**
 * The signature checker speaks the OpenAPI gateway's codes; FC's own front end names the same failures its way
 * (FC error-code table: 403 SignatureNotMatch, 403 InvalidAccessKeyID).
 */
const FC_SIGNATURE_CODES: Record<string, { status: number; code: string }> = {
  SignatureDoesNotMatch: { status: 403, code: 'SignatureNotMatch' },
  'InvalidAccessKeyId.NotFound': { status: 403, code: 'InvalidAccessKeyID' },
};

const functionNotFound = (name: string) => new FcApiError(404, 'FunctionNotFound', `function '${name}' does not exist`);

interface Route {
  method: string;
  pattern: RegExp;
  handle(call: { name: string; request: IncomingMessage; body: Buffer; query: URLSearchParams; requestId: string }): Promise<Reply> | Reply;
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | object;
}

/**
 * The subset of the Function Compute 3.0 API (2023-03-30, ROA style) the command line and a later `doctor` use, in
 * the wire format the official @alicloud/fc20230330 client speaks, ACS3-HMAC-SHA256 signatures checked as the local
 * IMM checks them:
 * - `POST /2023-03-30/functions/{name}/invocations`: the body is the event; `x-fc-invocation-type: Async` answers
 *   202 at once and runs the function with FC's async retries and onFailure destination; `Sync` (the default)
 *   answers 200 with the function's result, or 200 with `x-fc-error-type: UnhandledInvocationError` when it threw,
 *   or 429 `ResourceThrottled` when the function's reserved concurrency is all in use (asynchronous calls queue).
 * - `GET /2023-03-30/functions/{name}` (the `Function` model) and `GET .../triggers` (`ListTriggersOutput`).
 * Every answer carries `x-fc-request-id`; errors are `{Code, Message, RequestId}` (404 FunctionNotFound, ...).
 */
export async function startLocalFcApi(options: LocalFcApiOptions): Promise<LocalFcApi> {
  const usedNonces = new Set<string>();
  const startedAt = new Date().toISOString();
  const functionIds = new Map(options.specs.map((spec) => [spec.functionName, randomUUID()]));
  const functionArn = (name: string) => `acs:fc:${options.region}:${options.accountId}:functions/${name}`;

  const specOf = (name: string): FunctionDescription => {
    const spec = options.specs.find((s) => s.functionName === name);
    if (!spec) throw functionNotFound(name);
    return spec;
  };
  const requireLatest = (query: URLSearchParams) => {
    const qualifier = query.get('qualifier');
    if (qualifier !== null && qualifier !== 'LATEST') {
      throw new FcApiError(400, 'InvalidArgument', `qualifier '${qualifier}': the local stack runs LATEST only (no versions or aliases)`);
    }
  };

  const routes: Route[] = [
    {
      method: 'POST',
      pattern: /^\/2023-03-30\/functions\/([^/]+)\/invocations$/,
      async handle({ name, request, body, query, requestId }) {
        specOf(name);
        requireLatest(query);
        const instance = options.functions.get(name);
        if (!instance) throw functionNotFound(name);
        const invocationType = headerValue(request, 'x-fc-invocation-type') ?? 'Sync';
        if (invocationType === 'Async') {
          // FC accepts the event and answers before the function runs; the invocation goes on with FC's retries.
          void instance.invokeAsync(body, { requestId });
          return { status: 202 };
        }
        if (invocationType !== 'Sync') throw new FcApiError(400, 'InvalidArgument', `x-fc-invocation-type must be Sync or Async, not '${invocationType}'`);
        try {
          const result = await instance.invoke(body, 'sync', { requestId });
          return { status: 200, body: typeof result === 'string' ? Buffer.from(result) : Buffer.from(JSON.stringify(result)) };
        } catch (error) {
          const e = error as Error;
          // Over the function's reserved concurrency FC refuses a synchronous call instead of running it.
          if (e.name === 'ResourceThrottled') throw new FcApiError(429, 'ResourceThrottled', e.message);
          return {
            status: 200,
            headers: { 'x-fc-error-type': 'UnhandledInvocationError' },
            body: { errorType: e.name, errorMessage: e.message },
          };
        }
      },
    },
    {
      method: 'GET',
      pattern: /^\/2023-03-30\/functions\/([^/]+)$/,
      handle({ name, query }) {
        const spec = specOf(name);
        requireLatest(query);
        return {
          status: 200,
          body: {
            functionName: spec.functionName,
            functionId: functionIds.get(spec.functionName),
            functionArn: functionArn(spec.functionName),
            ...(spec.description !== undefined ? { description: spec.description } : {}),
            runtime: spec.runtime,
            handler: spec.handler,
            timeout: spec.timeoutSeconds,
            memorySize: spec.memoryMB,
            environmentVariables: configuredEnvironment(spec, options.functions.get(spec.functionName)),
            state: 'Active',
            lastUpdateStatus: 'Successful',
            createdTime: startedAt,
            lastModifiedTime: startedAt,
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/2023-03-30\/functions\/([^/]+)\/triggers$/,
      handle({ name }) {
        const spec = specOf(name);
        const common = { qualifier: 'LATEST', targetArn: functionArn(spec.functionName), createdTime: startedAt, lastModifiedTime: startedAt };
        // triggerConfig is a JSON string in the API, as `s deploy` sends it.
        const triggers = [
          ...spec.ossTriggers.map((t) => ({
            ...common,
            triggerName: t.name,
            triggerType: 'oss',
            sourceArn: `acs:oss:${t.region}:${options.accountId}:${t.bucket}`,
            triggerConfig: JSON.stringify({ events: t.events, filter: { key: { prefix: t.prefix, suffix: t.suffix } } }),
          })),
          ...spec.mnsTriggers.map((t) => ({
            ...common,
            triggerName: t.name,
            triggerType: 'mns_topic',
            sourceArn: `acs:mns:${spec.region}:${options.accountId}:/topics/${t.topic}`,
            triggerConfig: JSON.stringify({ notifyContentFormat: t.notifyContentFormat, notifyStrategy: t.notifyStrategy }),
          })),
          ...spec.timerTriggers.map((t) => ({
            ...common,
            triggerName: t.name,
            triggerType: 'timer',
            triggerConfig: JSON.stringify({ cronExpression: t.cronExpression, enable: t.enable, ...(t.payload !== undefined ? { payload: t.payload } : {}) }),
          })),
        ];
        return { status: 200, body: { triggers } };
      },
    },
  ];

  async function handle(request: IncomingMessage, requestId: string): Promise<Reply> {
    const url = new URL(request.url ?? '/', 'http://local-fc');
    const body = await readBody(request);
    const query = Object.fromEntries(url.searchParams);
    try {
      verifyAcs3Signature({ method: request.method ?? 'GET', pathname: url.pathname, query, headers: request.headers, body }, options.credentials);
    } catch (error) {
      if (!(error instanceof ImmApiError)) throw error;
      const fc = FC_SIGNATURE_CODES[error.code];
      throw new FcApiError(fc?.status ?? error.status, fc?.code ?? error.code, error.message);
    }
    const nonce = headerValue(request, 'x-acs-signature-nonce');
    if (nonce !== undefined) {
      if (usedNonces.has(nonce)) throw new FcApiError(400, 'InvalidArgument', 'the signature nonce was used already (a replayed request)');
      usedNonces.add(nonce);
    }
    for (const route of routes) {
      const match = route.pattern.exec(url.pathname);
      if (!match || request.method !== route.method) continue;
      return route.handle({ name: decodeURIComponent(match[1]!), request, body, query: url.searchParams, requestId });
    }
    throw new FcApiError(400, 'PathNotSupported', `'${request.method} ${url.pathname}' is not supported by the local FC API`);
  }

  function respond(response: ServerResponse, requestId: string, reply: Reply): void {
    const isJson = reply.body !== undefined && !Buffer.isBuffer(reply.body);
    const payload = reply.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(JSON.stringify(reply.body));
    response.writeHead(reply.status, {
      'x-fc-request-id': requestId,
      'content-type': isJson ? 'application/json' : 'application/octet-stream',
      'content-length': String(payload.length),
      ...reply.headers,
    });
    response.end(payload);
  }

  const server = createServer((request, response) => {
    const requestId = randomUUID();
    handle(request, requestId).then(
      (reply) => respond(response, requestId, reply),
      (error: unknown) => {
        const apiError = error instanceof FcApiError ? error : new FcApiError(500, 'InternalServerError', error instanceof Error ? error.message : String(error));
        respond(response, requestId, { status: apiError.status, body: { Code: apiError.code, Message: apiError.message, RequestId: requestId } });
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
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * What FC reports as a function's `environmentVariables`: the variables it was configured with, not those FC or
 * the runtime add. The running instance's environment (s.yaml's plus the stack's `functionEnv`, so a drifted
 * deployment shows) without the variables the local stack sets itself (PATH, FC_*, the endpoints) unless s.yaml
 * sets them.
 */
const STACK_SET_VARIABLES = ['PATH', 'FC_REGION', 'FC_ACCOUNT_ID', 'FC_FUNCTION_NAME', 'OSS_ENDPOINT', 'IMM_ENDPOINT', 'MNS_ENDPOINT'];
function configuredEnvironment(spec: FunctionDescription, instance: LocalFunction | undefined): Record<string, string> {
  const running = instance?.environment;
  if (!running) return spec.env;
  return Object.fromEntries(Object.entries(running).filter(([name]) => name in spec.env || !STACK_SET_VARIABLES.includes(name)));
}

