import http from 'node:http';
import https from 'node:https';
import { NetworkError } from '../platform/errors';

export { NetworkError, ServiceResponseError } from '../platform/errors';

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

/** One HTTP exchange with the whole response body read; the timeout covers connecting, sending and reading. */
export function sendHttp(request: HttpRequest): Promise<HttpResponse> {
  const { hostname, port } = new URL(`${request.protocol}://${request.host}`);
  const transport = request.protocol === 'https' ? https : http;
  const where = `${request.method} ${request.protocol}://${request.host}${request.path.split('?')[0]}`;
  return new Promise((resolve, reject) => {
    // Whether the request may have reached the service: once the connection is up, a failure leaves it unknown.
    let connected = false;
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
        res.on('error', (error: NodeJS.ErrnoException) => reject(new NetworkError(`${where}: ${error.message}`, error.code ?? 'ECONNRESET', true)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('socket', (socket) => {
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    req.setTimeout(request.timeoutMs, () => req.destroy(new NetworkError(`${where}: no answer within ${request.timeoutMs} ms`, 'ETIMEDOUT', connected)));
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(error instanceof NetworkError ? error : new NetworkError(`${where}: ${error.message}`, error.code ?? 'ECONNRESET', connected)),
    );
    req.end(request.body);
  });
}
