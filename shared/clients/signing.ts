import { createHash, createHmac } from 'node:crypto';
import type { CloudCredentials } from './credentials';

/**
 * Request signing for the two Alibaba Cloud protocols the functions speak, written to match the official clients
 * byte for byte (test/unit/signing.test.ts checks them against ali-oss and @alicloud/openapi-core with a fixed time
 * and nonce, and against the examples in Alibaba Cloud's documentation).
 */

/** RFC 3986 percent-encoding: encodeURIComponent plus the five characters it leaves alone that RFC 3986 reserves. */
export function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmacSha256 = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** `20231203T101010Z`: the x-oss-date form. */
export function ossDatetime(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/** `2023-12-03T10:10:10Z`: the x-acs-date form. */
export function acsDatetime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}/, '');
}

export interface OssSigningInput {
  method: string;
  region: string;
  bucket: string;
  /** The object key, not encoded; '' for a bucket-level request. */
  key: string;
  /** Decoded query parameters; '' is a parameter without a value (a sub-resource such as `tagging`). */
  query: Record<string, string>;
  /** Lower-case names; must hold x-oss-date and x-oss-content-sha256. */
  headers: Record<string, string>;
}

/**
 * OSS V4 (OSS4-HMAC-SHA256) Authorization header, with no additional headers: the canonical request signs the
 * method, the URI `/<bucket>/<key>`, the sorted query (a parameter without a value as its bare name), the
 * content-type, content-md5 and x-oss-* headers, and x-oss-content-sha256; the key is derived from the secret,
 * date, region and product.
 */
export function ossV4Authorization(input: OssSigningInput, credentials: CloudCredentials): string {
  const datetime = input.headers['x-oss-date'];
  const payload = input.headers['x-oss-content-sha256'];
  if (!datetime || !payload) throw new Error('OSS V4 signing needs the x-oss-date and x-oss-content-sha256 headers');
  const { scope, signature } = ossV4Signature(input, datetime, payload, credentials);
  return `OSS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope},Signature=${signature}`;
}

/**
 * The query of an OSS V4 presigned URL for a GET of `key`, valid `expiresSeconds` (at most 7 days) from `now`: the
 * signature covers the method, the URI, the query itself (credential, date, expiry, the STS token if any) and no
 * header.
 */
export function ossV4PresignedQuery(
  target: { region: string; bucket: string; key: string },
  credentials: CloudCredentials,
  now: Date,
  expiresSeconds: number,
): Record<string, string> {
  if (!(expiresSeconds > 0 && expiresSeconds <= 604_800)) throw new Error(`a V4 signed URL is valid 1 s to 7 days, not ${expiresSeconds} s`);
  const datetime = ossDatetime(now);
  const query: Record<string, string> = {
    'x-oss-credential': `${credentials.accessKeyId}/${datetime.slice(0, 8)}/${target.region}/oss/aliyun_v4_request`,
    'x-oss-date': datetime,
    'x-oss-expires': String(expiresSeconds),
    'x-oss-signature-version': 'OSS4-HMAC-SHA256',
    ...(credentials.securityToken ? { 'x-oss-security-token': credentials.securityToken } : {}),
  };
  const { signature } = ossV4Signature({ ...target, method: 'GET', query, headers: {} }, datetime, 'UNSIGNED-PAYLOAD', credentials);
  return { ...query, 'x-oss-signature': signature };
}

function ossV4Signature(input: OssSigningInput, datetime: string, payload: string, credentials: CloudCredentials): { scope: string; signature: string } {
  const query = Object.entries(input.query)
    .map(([name, value]) => [rfc3986(name), rfc3986(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => (value === '' ? name : `${name}=${value}`))
    .join('&');
  const signed = Object.keys(input.headers)
    .filter((name) => name === 'content-type' || name === 'content-md5' || name.startsWith('x-oss-'))
    .sort();
  const canonicalRequest = [
    input.method,
    rfc3986(`/${input.bucket}/${input.key}`).replace(/%2F/g, '/'),
    query,
    signed.map((name) => `${name}:${input.headers[name]!.trim()}\n`).join(''),
    '',
    payload,
  ].join('\n');
  const date = datetime.slice(0, 8);
  const scope = `${date}/${input.region}/oss/aliyun_v4_request`;
  const stringToSign = ['OSS4-HMAC-SHA256', datetime, scope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmacSha256(`aliyun_v4${credentials.accessKeySecret}`, date);
  for (const part of [input.region, 'oss', 'aliyun_v4_request']) key = hmacSha256(key, part);
  return { scope, signature: createHmac('sha256', key).update(stringToSign).digest('hex') };
}

export interface Acs3SigningInput {
  method: string;
  /** Already encoded, e.g. `/`. */
  pathname: string;
  /** Decoded query parameters. */
  query: Record<string, string>;
  /** Lower-case names; must hold x-acs-content-sha256 (hex SHA-256 of the body). */
  headers: Record<string, string>;
}

/** The canonical query string of the OpenAPI V3 signature: names as given, sorted; values RFC 3986 encoded. */
export function acs3CanonicalQuery(query: Record<string, string>): string {
  return Object.keys(query)
    .sort()
    .map((name) => `${name}=${rfc3986(query[name]!)}`)
    .join('&');
}

/**
 * OpenAPI V3 (ACS3-HMAC-SHA256) Authorization header: signs the method, path, canonical query, the host,
 * content-type and x-acs-* headers, and the body's hash, with HMAC-SHA256 of the secret.
 */
export function acs3Authorization(input: Acs3SigningInput, credentials: CloudCredentials): string {
  const payload = input.headers['x-acs-content-sha256'];
  if (!payload) throw new Error('OpenAPI V3 signing needs the x-acs-content-sha256 header');
  const signed = Object.keys(input.headers)
    .filter((name) => name === 'host' || name === 'content-type' || name.startsWith('x-acs-'))
    .sort();
  const canonicalRequest = [
    input.method,
    input.pathname,
    acs3CanonicalQuery(input.query),
    signed.map((name) => `${name}:${input.headers[name]!.trim()}\n`).join(''),
    signed.join(';'),
    payload,
  ].join('\n');
  const stringToSign = `ACS3-HMAC-SHA256\n${sha256Hex(canonicalRequest)}`;
  const signature = createHmac('sha256', credentials.accessKeySecret).update(stringToSign).digest('hex');
  return `ACS3-HMAC-SHA256 Credential=${credentials.accessKeyId},SignedHeaders=${signed.join(';')},Signature=${signature}`;
}
