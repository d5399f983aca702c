import http from 'node:http';
import https from 'node:https';

export interface HttpRequest {
  protocol: 'http' | 'https';
  /** Where to connect: `host` or `host:port`. */
  host: string;
  method: string;
  /** Path and query, already encoded. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

// One pool per process: a warm instance reuses its connections across invocations (the handshake is the slow part).
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

/** A network failure or timeout, with the code describeServiceError sorts as transient (no HTTP status). */
export class NetworkError extends Error {
  override name = 'NetworkError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** One HTTP exchange with the whole response body read; the timeout covers connecting, sending and reading. */
export function sendHttp(request: HttpRequest): Promise<HttpResponse> {
  const { hostname, port } = new URL(`${request.protocol}://${request.host}`);
  const transport = request.protocol === 'https' ? https : http;
  const where = `${request.method} ${request.protocol}://${request.host}${request.path.split('?')[0]}`;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      {
        agent: agents[request.protocol],
        hostname: hostname.replace(/^\[|\]$/g, ''),
        ...(port ? { port: Number(port) } : {}),
        method: request.method,
        path: request.path,
        headers: { ...request.headers, 'content-length': String(request.body?.length ?? 0) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error: NodeJS.ErrnoException) => reject(new NetworkError(`${where}: ${error.message}`, error.code ?? 'ECONNRESET')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.setTimeout(request.timeoutMs, () => req.destroy(new NetworkError(`${where}: no answer within ${request.timeoutMs} ms`, 'ETIMEDOUT')));
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(error instanceof NetworkError ? error : new NetworkError(`${where}: ${error.message}`, error.code ?? 'ECONNRESET')),
    );
    req.end(request.body);
  });
}

/** A cloud service answered with an error: its HTTP status, error code and request id, as describeServiceError reads them. */
export class ServiceResponseError extends Error {
  override name = 'ServiceResponseError';
  /** The product that answered: `oss`, `imm`, `sts`. */
  readonly service: string;
  readonly status: number;
  readonly code: string;
  readonly requestId: string;
  constructor(details: { service: string; status: number; code: string; message: string; requestId: string }) {
    super(details.message);
    this.service = details.service;
    this.status = details.status;
    this.code = details.code;
    this.requestId = details.requestId;
  }
}
