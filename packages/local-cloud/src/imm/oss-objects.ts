import OSS from 'ali-oss';
import type { OssLocation } from './oss-uri';

export interface OssAccess {
  endpoint: string;
  accessKeyId: string;
  accessKeySecret: string;
  /**
   * The OSS server's clock offset (its `clockOffsetMs`): IMM is a service in step with OSS's clock, so its own
   * requests are signed at the server's time while every client of the stack looks skewed.
   */
  clockOffsetMs?: number;
}

/** The local IMM's own OSS access (IMM reads sources and writes outputs with its service role): one ali-oss client per bucket. */
export function createOssObjects(access: OssAccess, region: string) {
  const clients = new Map<string, OSS>();

  function client(bucket: string): OSS {
    let existing = clients.get(bucket);
    if (!existing) {
      existing = new OSS({
        endpoint: access.endpoint,
        accessKeyId: access.accessKeyId,
        accessKeySecret: access.accessKeySecret,
        bucket,
        region: `oss-${region}`,
        secure: access.endpoint.startsWith('https:'),
        ...(access.clockOffsetMs ? { amendTimeSkewed: access.clockOffsetMs } : {}),
      });
      clients.set(bucket, existing);
    }
    return existing;
  }

  return {
    /** Rejects with ali-oss's error (its `code` is OSS's, e.g. NoSuchKey). */
    async download(location: OssLocation, file: string): Promise<void> {
      await client(location.bucket).get(location.key, file);
    },
    /** A file path or the bytes themselves. */
    async upload(location: OssLocation, body: string | Buffer, mime: string): Promise<void> {
      await client(location.bucket).put(location.key, body, { mime });
    },
    /** The object's ETag (quotes removed) and size: what identifies its content without reading it. */
    async head(location: OssLocation): Promise<{ eTag: string; size: number }> {
      const { res } = await client(location.bucket).head(location.key);
      const headers = res.headers as Record<string, string | undefined>;
      return { eTag: (headers['etag'] ?? '').replaceAll('"', ''), size: Number(headers['content-length'] ?? 0) };
    },
  };
}

export type OssObjects = ReturnType<typeof createOssObjects>;

/** How OSS refused a request: the object (or bucket) is missing, access is denied, or something else went wrong. */
export function ossRefusal(error: unknown): 'not-found' | 'denied' | 'other' {
  const code = (error as { code?: unknown }).code;
  if (code === 'NoSuchKey' || code === 'NoSuchBucket') return 'not-found';
  if (code === 'AccessDenied') return 'denied';
  return 'other';
}
