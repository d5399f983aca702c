import type OSS from 'ali-oss';
import type { CloudCredentials } from './credentials';
import type { EndpointOverride } from './endpoint';

export interface ObjectInfo {
  size: number;
  eTag: string;
  contentType?: string;
}

/** What the app needs of one bucket. */
export interface BucketApi {
  readonly bucket: string;
  head(key: string): Promise<ObjectInfo | undefined>;
  getText(key: string): Promise<string | undefined>;
  getBytes(key: string): Promise<Buffer | undefined>;
  /** Writes text; with createOnly, answers 'exists' instead of overwriting (x-oss-forbid-overwrite). */
  putText(key: string, body: string, options?: { createOnly?: boolean; contentType?: string }): Promise<'written' | 'exists'>;
  putTags(key: string, tags: Record<string, string>): Promise<void>;
  delete(key: string): Promise<void>;
  /** One page of keys under a prefix, in key order (ListObjectsV2). */
  list(prefix: string, options: { startAfter?: string; maxKeys: number }): Promise<{ keys: string[]; truncated: boolean }>;
  /** POST /<key>?x-oss-async-process; ali-oss has no public method for it. */
  asyncProcess(key: string, process: string): Promise<{ TaskId: string; RequestId?: string; EventId?: string }>;
}

export interface OssClientOptions {
  bucket: string;
  region: string;
  credentials: CloudCredentials;
  /** Defaults to the region's internal endpoint (no traffic charge inside the region). */
  endpoint?: EndpointOverride;
  timeoutMs?: number;
}

/** ali-oss's public typings lack the tagging methods and the request internals the async-process call needs. */
interface AliOssClient extends OSS {
  putObjectTagging(name: string, tag: Record<string, string>): Promise<unknown>;
  _objectRequestParams(method: string, name: string, options: object): Record<string, unknown>;
  request(params: Record<string, unknown>): Promise<{ data: Buffer; status: number; res: { headers: Record<string, string> } }>;
}

export async function createBucketClient(options: OssClientOptions): Promise<BucketApi> {
  const { default: AliOss } = await import('ali-oss');
  const client = new AliOss({
    bucket: options.bucket,
    accessKeyId: options.credentials.accessKeyId,
    accessKeySecret: options.credentials.accessKeySecret,
    ...(options.credentials.securityToken
      ? {
          stsToken: options.credentials.securityToken,
          // A client lives for one invocation, whose STS credentials FC keeps valid: "refreshing" returns them. Without
          // it ali-oss prints a recommendation to set refreshSTSToken on every invocation (noise in the function log).
          refreshSTSToken: async () => ({
            accessKeyId: options.credentials.accessKeyId,
            accessKeySecret: options.credentials.accessKeySecret,
            stsToken: options.credentials.securityToken,
          }),
        }
      : {}),
    region: `oss-${options.region}`,
    ...(options.endpoint
      ? { endpoint: `${options.endpoint.protocol}://${options.endpoint.host}`, secure: options.endpoint.protocol === 'https' }
      : { internal: true, secure: true }),
    timeout: options.timeoutMs ?? 20_000,
  } as OSS.Options) as AliOssClient;

  const getBytes = async (key: string): Promise<Buffer | undefined> => {
    try {
      return (await client.get(key)).content as Buffer;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };

  return {
    bucket: options.bucket,
    async head(key) {
      try {
        const result = await client.head(key);
        const headers = (result.res as { headers: Record<string, string> }).headers;
        return {
          size: Number(headers['content-length'] ?? 0),
          eTag: (headers['etag'] ?? '').replace(/"/g, ''),
          ...(headers['content-type'] ? { contentType: headers['content-type'] } : {}),
        };
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    getBytes,
    async getText(key) {
      return (await getBytes(key))?.toString('utf8');
    },
    async putText(key, body, putOptions = {}) {
      try {
        await client.put(key, Buffer.from(body, 'utf8'), {
          mime: putOptions.contentType ?? 'application/json',
          headers: putOptions.createOnly ? { 'x-oss-forbid-overwrite': 'true' } : {},
        });
        return 'written';
      } catch (error) {
        if (putOptions.createOnly && (error as { code?: string }).code === 'FileAlreadyExists') return 'exists';
        throw error;
      }
    },
    async putTags(key, tags) {
      await client.putObjectTagging(key, tags);
    },
    async delete(key) {
      await client.delete(key);
    },
    async list(prefix, listOptions) {
      const page = await client.listV2(
        { prefix, 'max-keys': String(listOptions.maxKeys), ...(listOptions.startAfter ? { 'start-after': listOptions.startAfter } : {}) },
        {},
      );
      return { keys: (page.objects ?? []).map((o) => o.name), truncated: page.isTruncated };
    },
    async asyncProcess(key, process) {
      // ali-oss (6.x) exposes no method for x-oss-async-process; this is the one internal request path it offers.
      // test/oss-async-adapter.test.ts fails loudly if an upgrade changes these internals.
      const params = client._objectRequestParams('POST', key, { subres: { 'x-oss-async-process': '' } });
      // _objectRequestParams drops options.content; the body goes on the request params.
      params.content = Buffer.from(`x-oss-async-process=${process}`, 'utf8');
      params.successStatuses = [200];
      const result = await client.request(params);
      return JSON.parse(result.data.toString('utf8')) as { TaskId: string; RequestId?: string; EventId?: string };
    },
  };
}

function isNotFound(error: unknown): boolean {
  const e = error as { status?: number; code?: string };
  return e.status === 404 || e.code === 'NoSuchKey';
}
