import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type OSS from 'ali-oss';
import { OssError, ossErrors } from './errors';
import { buildEventRecord } from './events';
import type { OssEventName, OssEventRecord } from './events';
import { sendXml } from './http';
import { selectOperation } from './router';
import type { AsyncProcessHandler } from './context';
import { verifySignature } from './signature';
import type { AccessKey } from './signature';
import { DiskBucketStore } from './disk-store';
import { MemoryBucketStore } from './memory-store';
import type { BucketStore } from './store';
import type { StoredObject } from './store';
import { parseTarget } from './target';

export type { OssCreatedEvent, OssEventName, OssEventRecord } from './events';
export type { AsyncProcessHandler } from './context';
export type { AccessKey } from './signature';

/**
 * Where objects live. `dataDir` (storage 'disk', the default): objects, their metadata and tags, bucket settings and
 * in-progress multipart uploads persist in that folder and survive restarts. `storage: 'memory'`: nothing touches
 * the disk and everything is gone when the server stops (tests and the bench).
 */
export type OssStorage = { storage?: 'disk'; dataDir: string } | { storage: 'memory'; dataDir?: undefined };

export type LocalOssOptions = OssStorage & LocalOssSettings;

export interface LocalOssSettings {
  /** Default 0: an ephemeral port. Always bound to 127.0.0.1. */
  port?: number;
  /** e.g. 'cn-hangzhou'; V4 signatures must be scoped to it. */
  region: string;
  /** Owner of the buckets, in event ARNs and ownerIdentity. */
  accountId: string;
  /** Buckets that exist (a name, or a name with settings); their folders are created if missing. */
  buckets: (string | LocalBucket)[];
  /** Accepted signers; an entry with a securityToken requires requests to carry exactly that token. */
  credentials: AccessKey[];
  /** Called (asynchronously, never delaying the response) after every object creation and deletion. */
  onEvent?: (event: OssEventRecord) => void;
  /** Serves POST /<key>?x-oss-async-process; without it OSS's "no IMM project attached" error is returned. */
  asyncProcess?: AsyncProcessHandler;
  /**
   * Added to the server's clock (ms): what it checks signatures' x-oss-date / Date against (15 minutes either way,
   * else 403 RequestTimeTooSkewed) and what it answers in every response's Date header. A test sets e.g.
   * 20 * 60_000 to make every client's clock look 20 minutes slow.
   */
  clockOffsetMs?: number;
  /** Shares of bucket requests answered 503 ServiceUnavailable / 503 SlowDown instead of being served. */
  faults?: {
    serverErrorRate?: number;
    throttleRate?: number;
    random?: () => number;
    /** Only requests signed with these AccessKey ids get faults (default: all). */
    accessKeyIds?: string[];
  };
}

export interface LocalBucket {
  name: string;
  /** Versioning from the start (as after PutBucketVersioning); a bucket that already has a state keeps it. */
  versioning?: 'Enabled' | 'Suspended';
  /**
   * The region GetBucketLocation reports (default: the server's). Only that answer changes: the bucket is served at
   * this endpoint like the others, so a check of where a bucket lives (e.g. `doctor`) can meet one elsewhere.
   */
  region?: string;
}

export interface LocalOss {
  /** 'http://127.0.0.1:PORT' */
  endpoint: string;
  port: number;
  region: string;
  /** Stops accepting requests, lets running ones finish briefly, then drops the rest. */
  close(): Promise<void>;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const CLOSE_GRACE_MS = 2000;

export async function startLocalOss(options: LocalOssOptions): Promise<LocalOss> {
  if (options.credentials.length === 0) throw new Error('startLocalOss needs at least one credential');
  // ali-oss's own region option carries the prefix ('oss-cn-hangzhou'); OSS's signing region does not.
  if (options.region.startsWith('oss-')) throw new Error(`region must be like 'cn-hangzhou', got ${options.region}`);
  const buckets = new Map<string, BucketStore>();
  const regions = new Map<string, string>();
  for (const entry of options.buckets) {
    const { name, versioning, region } = typeof entry === 'string' ? { name: entry, versioning: undefined, region: undefined } : entry;
    regions.set(name, region ?? options.region);
    if (!BUCKET_NAME.test(name)) throw new Error(`Invalid OSS bucket name: ${name}`);
    if (buckets.has(name)) throw new Error(`OSS bucket ${name} is listed twice`);
    const store: BucketStore =
      options.storage === 'memory' ? new MemoryBucketStore(name) : await DiskBucketStore.open(join(options.dataDir, name), name);
    if (versioning && store.versioning === 'Off') await store.setVersioning(versioning);
    buckets.set(name, store);
  }
  const inFlight = new Set<Promise<void>>();
  const server = createServer((req, res) => {
    const handling = handleRequest(req, res, options, buckets, regions).finally(() => inFlight.delete(handling));
    inFlight.add(handling);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    region: options.region,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
      await Promise.race([Promise.allSettled([...inFlight]), grace]);
      server.closeAllConnections();
      // No handler may still write into dataDir once close() has resolved.
      await Promise.allSettled([...inFlight]);
      await closed;
    },
  };
}

async function handleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  options: LocalOssOptions,
  buckets: ReadonlyMap<string, BucketStore>,
  regions: ReadonlyMap<string, string>,
): Promise<void> {
  const requestId = randomBytes(12).toString('hex').toUpperCase();
  const now = new Date(Date.now() + (options.clockOffsetMs ?? 0));
  res.setHeader('x-oss-request-id', requestId);
  res.setHeader('Server', 'AliyunOSS');
  // The server's clock, which clients correct their own from after a RequestTimeTooSkewed.
  res.setHeader('Date', now.toUTCString());
  try {
    const method = req.method ?? 'GET';
    const { bucket: bucketName, key, query } = parseTarget(req.url ?? '/', req.headers.host);
    if (bucketName === '') throw ossErrors.notImplemented('service-level requests such as ListBuckets');
    const bucket = buckets.get(bucketName);
    if (!bucket) throw ossErrors.noSuchBucket(bucketName);
    injectFault(options.faults, req.headers.authorization);
    verifySignature({ method, bucket: bucketName, key, query, headers: req.headers }, options.credentials, options.region, now);
    const operation = selectOperation(method, key, query, req.headers);
    await operation({
      req,
      res,
      bucket,
      bucketRegion: regions.get(bucketName) ?? options.region,
      key,
      query,
      accountId: options.accountId,
      findBucket: (name) => buckets.get(name),
      asyncProcess: options.asyncProcess,
      emit: (eventName, object, previous) => emitEvent(options, req, requestId, bucketName, eventName, object, previous),
    });
  } catch (err) {
    sendError(req, res, err, requestId);
  }
}

function injectFault(faults: LocalOssOptions['faults'], authorization: string | undefined): void {
  if (!faults) return;
  if (faults.accessKeyIds && !faults.accessKeyIds.some((id) => authorization?.includes(`OSS ${id}:`) || authorization?.includes(`Credential=${id}/`))) return;
  const draw = (faults.random ?? Math.random)();
  const serverErrorRate = faults.serverErrorRate ?? 0;
  if (draw < serverErrorRate) throw ossErrors.serviceUnavailable();
  if (draw < serverErrorRate + (faults.throttleRate ?? 0)) throw ossErrors.slowDown();
}

function emitEvent(
  options: LocalOssOptions,
  req: IncomingMessage,
  requestId: string,
  bucket: string,
  eventName: OssEventName,
  object: StoredObject,
  previous: StoredObject | undefined,
): void {
  const { onEvent } = options;
  if (!onEvent) return;
  const sourceIp = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
  const record = buildEventRecord(
    eventName,
    { region: options.region, accountId: options.accountId, bucket, requestId, sourceIp },
    object,
    previous,
  );
  const report = (err: unknown) => console.error(`local OSS: onEvent failed for ${eventName} ${object.key}:`, err);
  setImmediate(() => {
    try {
      // Handlers are often async even though typed void; keep their rejections from going unhandled.
      const result: unknown = onEvent(record);
      if (result instanceof Promise) result.catch(report);
    } catch (err) {
      report(err);
    }
  });
}

function sendError(req: IncomingMessage, res: ServerResponse, err: unknown, requestId: string): void {
  // The client went away (mid-upload or mid-download): nobody is left to answer.
  if (res.destroyed || req.socket.destroyed) return;
  if (res.headersSent) {
    console.error('local OSS: failed while sending a response:', err);
    res.destroy();
    return;
  }
  let error: OssError;
  if (err instanceof OssError) {
    error = err;
  } else {
    console.error('local OSS: unexpected error:', err);
    error = ossErrors.internalError();
  }
  const xml = error.toXml(requestId, req.headers.host ?? '127.0.0.1');
  if (req.method === 'HEAD') {
    // HEAD answers have no body; OSS puts the error document in x-oss-err instead.
    const headers: Record<string, string> = { 'x-oss-err': Buffer.from(xml).toString('base64') };
    if (error.details.EC) headers['x-oss-ec'] = error.details.EC;
    res.writeHead(error.status, headers);
    res.end();
    return;
  }
  sendXml(res, error.status, xml);
}

export interface OssClientAddressing {
  /** Sign with V4 (OSS4-HMAC-SHA256) instead of V1. */
  v4?: boolean;
  /**
   * Path-style (`http://localhost:PORT/<bucket>/<key>`) instead of virtual-hosted. Needed for
   * ali-oss's signatureUrl, which refuses IP endpoints.
   */
  pathStyle?: boolean;
}

/**
 * ali-oss client options for a local OSS. Virtual-hosted (default): with an IP endpoint ali-oss
 * connects to that IP but sends `Host: <bucket>.oss-<region>.aliyuncs.com`. Path-style: a
 * `localhost` endpoint with `sldEnable`, so the bucket goes in the path (`<bucket>.localhost`
 * would not resolve).
 */
export function ossClientOptions(
  oss: LocalOss,
  bucket: string,
  credentials: AccessKey,
  addressing: OssClientAddressing = {},
): OSS.Options & { sldEnable?: boolean } {
  const options: OSS.Options & { sldEnable?: boolean } = {
    accessKeyId: credentials.accessKeyId,
    accessKeySecret: credentials.accessKeySecret,
    bucket,
    endpoint: addressing.pathStyle ? `http://localhost:${oss.port}` : oss.endpoint,
    region: `oss-${oss.region}`,
    secure: false,
    authorizationV4: addressing.v4 ?? false,
  };
  if (addressing.pathStyle) options.sldEnable = true;
  if (credentials.securityToken) {
    options.stsToken = credentials.securityToken;
    // Without a refresh setting ali-oss warns on every client it builds; local tokens never expire.
    options.refreshSTSTokenInterval = 24 * 60 * 60 * 1000;
  }
  return options;
}
