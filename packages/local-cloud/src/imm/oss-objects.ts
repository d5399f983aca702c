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

/**
 * How OSS refused a request: the object (or bucket) is missing, access is denied, or something else went wrong.
 * Every 403 is a denial, not only AccessDenied: a key with `.` or `..` segments reaches OSS as another path than
 * the one signed (HTTP clients resolve the segments), and OSS answers 403 SignatureDoesNotMatch; retrying cannot
 * help, so it must not pass for a server error.
 */
export function ossRefusal(error: unknown): 'not-found' | 'denied' | 'other' {
  const { code, status } = error as { code?: unknown; status?: unknown };
  if (code === 'NoSuchKey' || code === 'NoSuchBucket') return 'not-found';
  if (code === 'AccessDenied' || status === 403) return 'denied';
  return 'other';
}

/** What OSS answered, for messages: `403 SignatureDoesNotMatch`, or the status alone when no body said more (HEAD). */
export function ossAnswer(error: unknown): string {
  const { code, status } = error as { code?: unknown; status?: unknown };
  return [status, typeof code === 'string' && code !== '' ? code : undefined].filter((part) => part !== undefined).join(' ');
}
