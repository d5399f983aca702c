import OSS from 'ali-oss';
import type { CloudCredentials } from '../shared/clients/credentials';
import type { BucketApi, ObjectInfo } from '../shared/clients/oss';

/**
 * The command line's one way to OSS: ali-oss, the official client, in V4 mode (OSS no longer offers V1 signatures to
 * new accounts since 2025-03-01, nor to new buckets since 2025-09-01): listing, the job records, signed links.
 */
export interface OssOptions {
  bucket: string;
  /** The region id, e.g. cn-hangzhou. */
  region: string;
  credentials: CloudCredentials;
  /** `https://oss-<region>.aliyuncs.com` in the cloud; the local stack's `http://127.0.0.1:PORT` or `http://localhost:PORT`. */
  endpoint: string;
  /** Path-style `/<bucket>/<key>` on a host name endpoint (`localhost`), instead of `<bucket>.<endpoint>`. */
  pathStyle: boolean;
}

export function ossClient(options: OssOptions): OSS {
  const { credentials } = options;
  // @types/ali-oss does not declare sldEnable, which ali-oss 6 reads (lib/common/client/getReqUrl.js).
  const ossOptions: OSS.Options & { sldEnable: boolean } = {
    region: `oss-${options.region}`,
    bucket: options.bucket,
    endpoint: options.endpoint,
    secure: options.endpoint.startsWith('https:'),
    accessKeyId: credentials.accessKeyId,
    accessKeySecret: credentials.accessKeySecret,
    authorizationV4: true,
    // ali-oss names this option after second-level domains: the bucket goes in the path.
    sldEnable: options.pathStyle,
    ...(credentials.securityToken
      ? {
          stsToken: credentials.securityToken,
          // The command ends long before a token does; this only keeps ali-oss from warning that nothing refreshes it.
          refreshSTSToken: async () => ({ accessKeyId: credentials.accessKeyId, accessKeySecret: credentials.accessKeySecret, stsToken: credentials.securityToken! }),
        }
      : {}),
  };
  return new OSS(ossOptions);
}

/** A V4 presigned GET link (no call is made). */
export function signedGetUrl(oss: OSS, key: string, expiresSeconds: number): Promise<string> {
  return oss.signatureUrlV4('GET', expiresSeconds, undefined, key);
}

/** OSS's answer to a missing object: 404 NoSuchKey. */
function isMissing(error: unknown): boolean {
  return (error as { status?: number }).status === 404;
}

/**
 * The app's BucketApi over ali-oss, for the app's own job store (shared/jobs/stores/oss.ts) to read its records
 * in their one format. The command line only reads jobs: writes go through the functions, so they are refused here.
 */
export function readOnlyBucket(oss: OSS, bucket: string): BucketApi {
  const refuse = (what: string) => () => Promise.reject(new Error(`the command line reads the job records, it never ${what}`));
  return {
    bucket,
    async head(key) {
      try {
        const { res } = await oss.head(key);
        const headers = res.headers as Record<string, string | undefined>;
        const info: ObjectInfo = { size: Number(headers['content-length'] ?? 0), eTag: (headers['etag'] ?? '').replace(/"/g, '').toUpperCase() };
        return headers['content-type'] ? { ...info, contentType: headers['content-type'] } : info;
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
    async getBytes(key) {
      try {
        return Buffer.from((await oss.get(key)).content as Buffer);
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
    async getText(key) {
      return (await this.getBytes(key))?.toString('utf8');
    },
    async list(prefix, options) {
      const page = (await oss.listV2({ prefix, 'max-keys': String(options.maxKeys), ...(options.startAfter ? { 'start-after': options.startAfter } : {}) }, {})) as {
        objects?: { name: string }[];
        isTruncated?: boolean;
      };
      return { keys: (page.objects ?? []).map((o) => o.name), truncated: page.isTruncated === true };
    },
    putText: refuse('writes them'),
    putTags: refuse('tags objects'),
    delete: refuse('deletes objects'),
    deleteMany: refuse('deletes objects'),
    copyInPlace: refuse('rewrites objects'),
    versioning: refuse('reads bucket settings'),
    asyncProcess: refuse('starts processing'),
  };
}
