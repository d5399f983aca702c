import { randomUUID, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The least of OSS the local IMM needs, for its tests: GET, HEAD (with an MD5 ETag) and PUT of objects as ali-oss sends them to an IP
 * endpoint (bucket in the Host header `<bucket>.oss-<region>.aliyuncs.com`, key in the path) or path-style.
 * Signatures are not checked (the real local OSS does that); an Authorization header is required.
 */
export interface StoredObject {
  body: Buffer;
  contentType: string;
}

export interface MinimalOss {
  endpoint: string;
  objects: Map<string, StoredObject>;
  /** Every request, as `METHOD bucket/key`. */
  requests: string[];
  putObject(bucket: string, key: string, body: Buffer, contentType?: string): void;
  getObject(bucket: string, key: string): StoredObject | undefined;
  /** Holds every GET until the returned function is called. */
  holdGets(): () => void;
  close(): Promise<void>;
}

export async function startMinimalOss(): Promise<MinimalOss> {
  const objects = new Map<string, StoredObject>();
  const requests: string[] = [];
  let getGate: Promise<void> | undefined;

  function locate(request: IncomingMessage): { bucket: string; key: string } {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://oss').pathname).slice(1);
    const host = request.headers.host ?? '';
    if (/\.aliyuncs\.com$/.test(host)) return { bucket: host.split('.')[0]!, key: path };
    const slash = path.indexOf('/');
    return { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
  }

  function fail(response: ServerResponse, status: number, code: string, message: string): void {
    const requestId = randomUUID().replaceAll('-', '').toUpperCase();
    response.writeHead(status, { 'content-type': 'application/xml', 'x-oss-request-id': requestId });
    response.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${requestId}</RequestId><HostId>local</HostId></Error>`);
  }

  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const { bucket, key } = locate(request);
    requests.push(`${request.method} ${bucket}/${key}`);
    if (!request.headers.authorization) return fail(response, 403, 'AccessDenied', 'Anonymous access is forbidden.');
    const id = `${bucket}/${key}`;
    if (request.method === 'PUT') {
      const body = Buffer.concat(chunks);
      objects.set(id, { body, contentType: request.headers['content-type'] ?? 'application/octet-stream' });
      response.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex').toUpperCase()}"`, 'x-oss-request-id': randomUUID() });
      return response.end();
    }
    if (request.method === 'HEAD') {
      const object = objects.get(id);
      if (!object) {
        response.writeHead(404, { 'x-oss-request-id': randomUUID() });
        return response.end();
      }
      const etag = `"${createHash('md5').update(object.body).digest('hex').toUpperCase()}"`;
      response.writeHead(200, { 'content-type': object.contentType, 'content-length': object.body.length, etag, 'x-oss-request-id': randomUUID() });
      return response.end();
    }
    if (request.method === 'GET') {
      await getGate;
      const object = objects.get(id);
      if (!object) return fail(response, 404, 'NoSuchKey', 'The specified key does not exist.');
      response.writeHead(200, { 'content-type': object.contentType, 'content-length': object.body.length, 'x-oss-request-id': randomUUID() });
      return response.end(object.body);
    }
    fail(response, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    objects,
    requests,
    putObject: (bucket, key, body, contentType = 'application/octet-stream') => void objects.set(`${bucket}/${key}`, { body, contentType }),
    getObject: (bucket, key) => objects.get(`${bucket}/${key}`),
    holdGets() {
      let release!: () => void;
      getGate = new Promise((resolve) => (release = resolve));
      return () => {
        getGate = undefined;
        release();
      };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
