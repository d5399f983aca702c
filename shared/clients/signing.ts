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
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  return `OSS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope},Signature=${signature}`;
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
  const signed = Object.keys(input.headers)
    .filter((name) => name === 'host' || name === 'content-type' || name.startsWith('x-acs-'))
    .sort();
  const canonicalRequest = [
    input.method,
    input.pathname,
    acs3CanonicalQuery(input.query),
    signed.map((name) => `${name}:${input.headers[name]!.trim()}\n`).join(''),
    signed.join(';'),
    input.headers['x-acs-content-sha256'] ?? sha256Hex(''),
  ].join('\n');
  const stringToSign = `ACS3-HMAC-SHA256\n${sha256Hex(canonicalRequest)}`;
  const signature = createHmac('sha256', credentials.accessKeySecret).update(stringToSign).digest('hex');
  return `ACS3-HMAC-SHA256 Credential=${credentials.accessKeyId},SignedHeaders=${signed.join(';')},Signature=${signature}`;
}
