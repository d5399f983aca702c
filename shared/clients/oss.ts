import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { CloudCredentials } from './credentials';
import type { EndpointOverride } from './endpoint';
import { sendHttp, ServiceResponseError, type HttpResponse } from './http';
import { ossDatetime, ossV4Authorization, ossV4PresignedQuery, rfc3986 } from './signing';
import { xmlElements, xmlEscape, xmlText } from './xml';

export interface ObjectInfo {
  size: number;
  eTag: string;
  contentType?: string;
}

/** The headers an output is served with. */
export interface ObjectHeaders {
  contentType: string;
  cacheControl?: string;
  contentDisposition?: string;
}

/** What the app needs of one bucket. */
export interface BucketApi {
  readonly bucket: string;
  head(key: string): Promise<ObjectInfo | undefined>;
  getText(key: string): Promise<string | undefined>;
  getBytes(key: string): Promise<Buffer | undefined>;
  /** Writes text; with createOnly, answers 'exists' instead of overwriting (x-oss-forbid-overwrite). */
  putText(key: string, body: string, options?: { createOnly?: boolean; contentType?: string; cacheControl?: string; tags?: Record<string, string> }): Promise<'written' | 'exists'>;
  putTags(key: string, tags: Record<string, string>): Promise<void>;
  /**
   * Sets an object's headers and tags in one request: a CopyObject of the object onto itself with
   * `x-oss-metadata-directive: REPLACE` (the object keeps only the headers sent here, and no x-oss-meta-*) and
   * `x-oss-tagging-directive: Replace`. The content and ETag stay; OSS fires `ObjectCreated:CopyObject`. With `from`,
   * the content comes from that object of the same bucket instead (a poster chosen among its candidates).
   */
  copyInPlace(key: string, headers: ObjectHeaders & { tags: Record<string, string>; from?: string }): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Deletes up to 1000 keys in one request (DeleteMultipleObjects: `POST /?delete`, quiet mode, Content-MD5 of the
   * body, which OSS requires). Missing keys count as deleted, as with `delete`.
   */
  deleteMany(keys: readonly string[]): Promise<void>;
  /** One page of keys under a prefix, in key order (ListObjectsV2). */
  list(prefix: string, options: { startAfter?: string; maxKeys: number }): Promise<{ keys: string[]; truncated: boolean }>;
  /** GET /?versioning: Enabled, Suspended, or undefined for a bucket whose versioning was never enabled. */
  versioning(): Promise<'Enabled' | 'Suspended' | undefined>;
  /** POST /<key>?x-oss-async-process: starts an IMM job on the object (OSS's asynchronous processing). */
  asyncProcess(key: string, process: string): Promise<{ TaskId: string; RequestId?: string; EventId?: string }>;
}

/** DeleteMultipleObjects takes at most this many keys per request (OSS API reference). */
export const MAX_DELETE_KEYS = 1000;

export interface OssClientOptions {
  bucket: string;
  region: string;
  credentials: CloudCredentials;
  /** Defaults to the region's internal endpoint (no traffic charge inside the region). */
  endpoint?: EndpointOverride;
  timeoutMs?: number;
  /** For tests that compare signatures at a fixed time. */
  now?: () => Date;
}

interface OssCall {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  /** '' for a bucket-level request. */
  key: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: Buffer;
}

/**
 * The handful of OSS calls the functions make, over Node's HTTP client with V4 signatures (OSS no longer offers
 * V1 to new accounts and buckets). Virtual-hosted addressing (`<bucket>.<endpoint>`), except for an IP or
 * `localhost` endpoint, which gets path-style `/<bucket>/<key>` as OSS-compatible local servers expect.
 */
export function createBucketClient(options: OssClientOptions): BucketApi {
  const { endpoint, host, pathStyle } = bucketAddress(options);
  const clock = options.now ?? (() => new Date());
  const now = () => new Date(clock().getTime() + (clockSkew.get(endpoint.host) ?? 0));

  /**
   * One signed exchange. OSS refuses a request signed more than 15 minutes from its own clock
   * (RequestTimeTooSkewed): the signing clock is then corrected from the answer's Date and the request sent once more.
   */
  async function call(request: OssCall, expected: (status: number) => boolean = (s) => s >= 200 && s < 300): Promise<HttpResponse> {
    try {
      return await exchange(request, expected);
    } catch (error) {
      if (!(error instanceof ServiceResponseError && error.code === 'RequestTimeTooSkewed' && error.serverDate !== undefined)) throw error;
      clockSkew.set(endpoint.host, error.serverDate - clock().getTime());
      return exchange(request, expected);
    }
  }

  async function exchange(request: OssCall, expected: (status: number) => boolean): Promise<HttpResponse> {
    const query = request.query ?? {};
    const headers: Record<string, string> = {
      ...request.headers,
      'x-oss-date': ossDatetime(now()),
      'x-oss-content-sha256': 'UNSIGNED-PAYLOAD',
      ...(options.credentials.securityToken ? { 'x-oss-security-token': options.credentials.securityToken } : {}),
    };
    headers['authorization'] = ossV4Authorization(
      { method: request.method, region: options.region, bucket: options.bucket, key: request.key, query, headers },
      options.credentials,
    );
    const path = objectPath(options.bucket, request.key, pathStyle, query);
    const response = await sendHttp({
      protocol: endpoint.protocol,
      host,
      method: request.method,
      path,
      headers: { ...headers, host },
      ...(request.body ? { body: request.body } : {}),
      timeoutMs: options.timeoutMs ?? 20_000,
    });
    if (!expected(response.status)) throw ossError(response);
    return response;
  }

  const getBytes = async (key: string): Promise<Buffer | undefined> => {
    const response = await call({ method: 'GET', key }, (s) => s === 200 || s === 404);
    return response.status === 404 ? undefined : response.body;
  };

  return {
    bucket: options.bucket,
    async head(key) {
      const response = await call({ method: 'HEAD', key }, (s) => s === 200 || s === 404);
      if (response.status === 404) return undefined;
      const type = response.headers['content-type'];
      return {
        size: Number(response.headers['content-length'] ?? 0),
        eTag: String(response.headers['etag'] ?? '').replace(/"/g, ''),
        ...(type ? { contentType: type } : {}),
      };
    },
    getBytes,
    async getText(key) {
      return (await getBytes(key))?.toString('utf8');
    },
    async putText(key, body, putOptions = {}) {
      const headers: Record<string, string> = { 'content-type': putOptions.contentType ?? 'application/json' };
      if (putOptions.createOnly) headers['x-oss-forbid-overwrite'] = 'true';
      if (putOptions.cacheControl !== undefined) headers['cache-control'] = putOptions.cacheControl;
      if (putOptions.tags) headers['x-oss-tagging'] = tagQuery(putOptions.tags);
      try {
        await call({ method: 'PUT', key, headers, body: Buffer.from(body, 'utf8') });
        return 'written';
      } catch (error) {
        if (putOptions.createOnly && error instanceof ServiceResponseError && error.code === 'FileAlreadyExists') return 'exists';
        throw error;
      }
    },
    async putTags(key, tags) {
      const tagSet = Object.entries(tags)
        .map(([name, value]) => `<Tag><Key>${xmlEscape(name)}</Key><Value>${xmlEscape(value)}</Value></Tag>`)
        .join('');
      const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<Tagging><TagSet>${tagSet}</TagSet></Tagging>`, 'utf8');
      await call({ method: 'PUT', key, query: { tagging: '' }, headers: { 'content-type': 'application/xml' }, body });
    },
    async copyInPlace(key, { contentType, cacheControl, contentDisposition, tags, from }) {
      const headers: Record<string, string> = {
        'content-type': contentType,
        ...(cacheControl !== undefined ? { 'cache-control': cacheControl } : {}),
        ...(contentDisposition !== undefined ? { 'content-disposition': contentDisposition } : {}),
        // The source as ali-oss writes it: /<bucket>/<key, encodeURIComponent'd>.
        'x-oss-copy-source': `/${options.bucket}/${encodeURIComponent(from ?? key)}`,
        'x-oss-metadata-directive': 'REPLACE',
        'x-oss-tagging-directive': 'Replace',
      };
      // Replace without x-oss-tagging leaves the object without tags.
      if (Object.keys(tags).length > 0) headers['x-oss-tagging'] = tagQuery(tags);
      await call({ method: 'PUT', key, headers });
    },
    async delete(key) {
      await call({ method: 'DELETE', key });
    },
    async deleteMany(keys) {
      if (keys.length === 0) return;
      if (keys.length > MAX_DELETE_KEYS) throw new RangeError(`deleteMany takes at most ${MAX_DELETE_KEYS} keys per request, not ${keys.length}`);
      const objects = keys.map((key) => `<Object><Key>${xmlEscape(key)}</Key></Object>`).join('');
      const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<Delete><Quiet>true</Quiet>${objects}</Delete>`, 'utf8');
      const headers = { 'content-type': 'application/xml', 'content-md5': createHash('md5').update(body).digest('base64') };
      // Quiet mode: OSS answers an empty result when every key is deleted (the request fails as a whole otherwise).
      await call({ method: 'POST', key: '', query: { delete: '' }, headers, body });
    },
    async list(prefix, listOptions) {
      const query: Record<string, string> = { 'list-type': '2', prefix, 'max-keys': String(listOptions.maxKeys) };
      if (listOptions.startAfter) query['start-after'] = listOptions.startAfter;
      const xml = (await call({ method: 'GET', key: '', query })).body.toString('utf8');
      const keys = xmlElements(xml, 'Contents').map((contents) => xmlText(contents, 'Key') ?? '');
      return { keys, truncated: xmlText(xml, 'IsTruncated') === 'true' };
    },
    async versioning() {
      const xml = (await call({ method: 'GET', key: '', query: { versioning: '' } })).body.toString('utf8');
      const status = xmlText(xml, 'Status');
      return status === 'Enabled' || status === 'Suspended' ? status : undefined;
    },
    async asyncProcess(key, process) {
      const response = await call({ method: 'POST', key, query: { 'x-oss-async-process': '' }, body: Buffer.from(`x-oss-async-process=${process}`, 'utf8') });
      return JSON.parse(response.body.toString('utf8')) as { TaskId: string; RequestId?: string; EventId?: string };
    },
  };
}

/** Tags as the `x-oss-tagging` header takes them: a URL-encoded query string. */
function tagQuery(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&');
}

/** How far each endpoint's clock is from ours, learned from RequestTimeTooSkewed answers (per process). */
const clockSkew = new Map<string, number>();

/** Where a bucket's requests go: the endpoint, the Host, and whether the bucket is in the path. */
export function bucketAddress(options: Pick<OssClientOptions, 'bucket' | 'region' | 'endpoint'>) {
  const endpoint = options.endpoint ?? { protocol: 'https' as const, host: `oss-${options.region}-internal.aliyuncs.com` };
  const hostname = endpoint.host.replace(/:\d+$/, '');
  const pathStyle = isIP(hostname.replace(/^\[|\]$/g, '')) !== 0 || hostname === 'localhost';
  return { endpoint, host: pathStyle ? endpoint.host : `${options.bucket}.${endpoint.host}`, pathStyle };
}

function objectPath(bucket: string, key: string, pathStyle: boolean, query: Record<string, string>): string {
  const search = Object.entries(query)
    .map(([name, value]) => (value === '' ? rfc3986(name) : `${rfc3986(name)}=${rfc3986(value)}`))
    .join('&');
  return `${pathStyle ? `/${bucket}` : ''}/${rfc3986(key).replace(/%2F/g, '/')}${search ? `?${search}` : ''}`;
}

/**
 * A V4 presigned GET URL of an object, valid `expiresSeconds` (the command line's links; OSS refuses V1 URLs for
 * buckets created since 2025-09-01). Addressed like the client's requests.
 */
export function presignedGetUrl(options: OssClientOptions, key: string, expiresSeconds: number): string {
  const { endpoint, host, pathStyle } = bucketAddress(options);
  const query = ossV4PresignedQuery({ region: options.region, bucket: options.bucket, key }, options.credentials, (options.now ?? (() => new Date()))(), expiresSeconds);
  return `${endpoint.protocol}://${host}${objectPath(options.bucket, key, pathStyle, query)}`;
}

/** OSS answers errors as XML `<Error><Code/><Message/><RequestId/></Error>`; a HEAD error has no body. */
function ossError(response: HttpResponse): ServiceResponseError {
  const xml = response.body.toString('utf8');
  const requestId = xmlText(xml, 'RequestId') ?? String(response.headers['x-oss-request-id'] ?? '');
  const code = xmlText(xml, 'Code');
  const message = xmlText(xml, 'Message') ?? `HTTP ${response.status}`;
  const serverDate = Date.parse(String(response.headers['date'] ?? ''));
  return new ServiceResponseError({
    service: 'oss',
    status: response.status,
    code: code || (response.status === 404 ? 'NoSuchKey' : `Http${response.status}`),
    message,
    requestId,
    ...(Number.isFinite(serverDate) ? { serverDate } : {}),
  });
}
