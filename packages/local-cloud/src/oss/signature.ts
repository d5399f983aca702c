import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ossErrors } from './errors';

export interface AccessKey {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

/** What a signature covers, with the key and query values already URL-decoded. */
export interface SignedRequest {
  method: string;
  bucket: string;
  /** '' for bucket-level requests. */
  key: string;
  query: ReadonlyMap<string, string>;
  headers: IncomingHttpHeaders;
}

/**
 * Query parameters OSS treats as sub-resources in V1 signatures (the list the official SDKs
 * sign); other query parameters, such as list's prefix or marker, are not signed in V1.
 */
export const V1_SUBRESOURCES: ReadonlySet<string> = new Set([
  'acl', 'append', 'asyncFetch', 'bucketInfo', 'callback', 'callback-var', 'cname', 'comp', 'continuation-token',
  'cors', 'delete', 'encryption', 'endTime', 'group', 'inventory', 'inventoryId', 'lifecycle', 'link', 'live',
  'location', 'logging', 'metaQuery', 'objectInfo', 'objectMeta', 'partNumber', 'policy', 'position', 'qos',
  'qosInfo', 'referer', 'regionList', 'replication', 'replicationLocation', 'replicationProgress',
  'requestPayment', 'resourceGroup', 'response-cache-control', 'response-content-disposition',
  'response-content-encoding', 'response-content-language', 'response-content-type', 'response-expires',
  'restore', 'security-token', 'sequential', 'startTime', 'stat', 'status', 'style', 'styleName', 'symlink',
  'tagging', 'transferAcceleration', 'uploadId', 'uploads', 'versionId', 'versioning', 'versions', 'vod',
  'website', 'worm', 'wormExtend', 'wormId', 'x-oss-ac-forward-allow', 'x-oss-ac-source-ip',
  'x-oss-ac-subnet-mask', 'x-oss-ac-vpc-id', 'x-oss-async-process', 'x-oss-process', 'x-oss-request-payer',
  'x-oss-traffic-limit',
]);

const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const V4_ALGORITHM = 'OSS4-HMAC-SHA256';
const V4_DATETIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * Checks the request's V1 or V4 signature, in the Authorization header or in a presigned URL's
 * query, and returns the access key that signed it; throws the OssError OSS would answer.
 */
export function verifySignature(
  req: SignedRequest,
  accessKeys: readonly AccessKey[],
  region: string,
  now: Date,
): AccessKey {
  const authorization = header(req.headers, 'authorization');
  if (authorization !== undefined) {
    if (authorization.startsWith(`${V4_ALGORITHM} `)) return verifyV4Header(req, authorization, accessKeys, region, now);
    if (authorization.startsWith('OSS ')) return verifyV1Header(req, authorization, accessKeys, now);
    throw ossErrors.invalidArgument('Authorization header is invalid.', 'Authorization', authorization);
  }
  if (req.query.has('OSSAccessKeyId') || req.query.has('Signature')) return verifyV1Query(req, accessKeys, now);
  if (req.query.has('x-oss-signature-version')) return verifyV4Query(req, accessKeys, region, now);
  throw ossErrors.accessDenied();
}

function verifyV1Header(req: SignedRequest, authorization: string, accessKeys: readonly AccessKey[], now: Date) {
  const credentials = authorization.slice('OSS '.length);
  const colon = credentials.lastIndexOf(':');
  if (colon <= 0) throw ossErrors.invalidArgument('Authorization header is invalid.', 'Authorization', authorization);
  const accessKeyId = credentials.slice(0, colon);
  const signature = credentials.slice(colon + 1);
  const key = findAccessKey(accessKeys, accessKeyId, header(req.headers, 'x-oss-security-token'));
  // ali-oss sends only x-oss-date (browsers cannot set Date), and signs it in the Date slot.
  const date = header(req.headers, 'x-oss-date') ?? header(req.headers, 'date');
  if (date === undefined) throw ossErrors.accessDenied('Missing Date or x-oss-date header.');
  checkClockSkew(Date.parse(date), date, now);
  const stringToSign = v1StringToSign(req, date);
  checkV1Signature(key, stringToSign, signature);
  return key;
}

function verifyV1Query(req: SignedRequest, accessKeys: readonly AccessKey[], now: Date) {
  const accessKeyId = req.query.get('OSSAccessKeyId') ?? '';
  const expires = req.query.get('Expires') ?? '';
  const signature = req.query.get('Signature') ?? '';
  const key = findAccessKey(accessKeys, accessKeyId, req.query.get('security-token'));
  if (!/^\d+$/.test(expires)) throw ossErrors.invalidArgument('Expires is invalid.', 'Expires', expires);
  if (Number(expires) * 1000 < now.getTime()) {
    throw ossErrors.requestExpired(new Date(Number(expires) * 1000).toISOString(), now.toISOString());
  }
  checkV1Signature(key, v1StringToSign(req, expires), signature);
  return key;
}

function v1StringToSign(req: SignedRequest, dateOrExpires: string): string {
  const ossHeaders = Object.keys(req.headers)
    .filter((name) => name.startsWith('x-oss-'))
    .sort()
    .map((name) => `${name}:${(header(req.headers, name) ?? '').trim()}`);
  const subresources = [...req.query.keys()]
    .filter((name) => V1_SUBRESOURCES.has(name))
    .sort()
    .map((name) => {
      const value = req.query.get(name) ?? '';
      return value === '' ? name : `${name}=${value}`;
    });
  const resource = `/${req.bucket}/${req.key}${subresources.length > 0 ? `?${subresources.join('&')}` : ''}`;
  return [
    req.method,
    header(req.headers, 'content-md5') ?? '',
    header(req.headers, 'content-type') ?? '',
    dateOrExpires,
    ...ossHeaders,
    resource,
  ].join('\n');
}

function checkV1Signature(key: AccessKey, stringToSign: string, provided: string): void {
  const expected = createHmac('sha1', key.accessKeySecret).update(stringToSign, 'utf8').digest('base64');
  if (!sameText(expected, provided)) {
    throw ossErrors.signatureDoesNotMatch(key.accessKeyId, {
      SignatureProvided: provided,
      StringToSign: stringToSign,
    });
  }
}

interface V4Scope {
  accessKeyId: string;
  date: string;
}

function verifyV4Header(
  req: SignedRequest,
  authorization: string,
  accessKeys: readonly AccessKey[],
  region: string,
  now: Date,
) {
  const fields = new Map<string, string>();
  for (const part of authorization.slice(V4_ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signature = fields.get('Signature');
  if (!credential || !signature) {
    throw ossErrors.invalidArgument('Authorization header is invalid.', 'Authorization', authorization);
  }
  const scope = parseV4Credential(credential, region);
  const key = findAccessKey(accessKeys, scope.accessKeyId, header(req.headers, 'x-oss-security-token'));
  const datetime = header(req.headers, 'x-oss-date') ?? '';
  const requestTime = parseV4Datetime(datetime, 'x-oss-date');
  checkClockSkew(requestTime, datetime, now);
  if (!datetime.startsWith(scope.date)) {
    throw ossErrors.invalidArgument('The date in the credential scope does not match x-oss-date.', 'Credential', credential);
  }
  const payloadHash = header(req.headers, 'x-oss-content-sha256');
  if (payloadHash === undefined) throw ossErrors.invalidArgument('Missing required header x-oss-content-sha256.');
  const additionalHeaders = parseAdditionalHeaders(fields.get('AdditionalHeaders'));
  checkV4Signature(key, req, { datetime, scope, region, additionalHeaders, payloadHash, signature, ignoredQuery: '' });
  return key;
}

function verifyV4Query(req: SignedRequest, accessKeys: readonly AccessKey[], region: string, now: Date) {
  const version = req.query.get('x-oss-signature-version');
  if (version !== V4_ALGORITHM) {
    throw ossErrors.invalidArgument('Unsupported signature version.', 'x-oss-signature-version', version);
  }
  const scope = parseV4Credential(req.query.get('x-oss-credential') ?? '', region);
  const key = findAccessKey(accessKeys, scope.accessKeyId, req.query.get('x-oss-security-token'));
  const datetime = req.query.get('x-oss-date') ?? '';
  const signedAt = parseV4Datetime(datetime, 'x-oss-date');
  const expires = req.query.get('x-oss-expires') ?? '';
  if (!/^\d+$/.test(expires)) throw ossErrors.invalidArgument('x-oss-expires is invalid.', 'x-oss-expires', expires);
  const expiresAt = signedAt + Number(expires) * 1000;
  if (expiresAt < now.getTime()) {
    throw ossErrors.requestExpired(new Date(expiresAt).toISOString(), now.toISOString());
  }
  if (!datetime.startsWith(scope.date)) {
    throw ossErrors.invalidArgument('The date in the credential scope does not match x-oss-date.');
  }
  const signature = req.query.get('x-oss-signature') ?? '';
  const additionalHeaders = parseAdditionalHeaders(req.query.get('x-oss-additional-headers'));
  checkV4Signature(key, req, {
    datetime,
    scope,
    region,
    additionalHeaders,
    payloadHash: 'UNSIGNED-PAYLOAD',
    signature,
    ignoredQuery: 'x-oss-signature',
  });
  return key;
}

function parseV4Credential(credential: string, region: string): V4Scope {
  const parts = credential.split('/');
  const [accessKeyId, date, signRegion, product, terminator] = parts;
  if (parts.length !== 5 || !accessKeyId || !date || product !== 'oss' || terminator !== 'aliyun_v4_request') {
    throw ossErrors.invalidArgument('Invalid credential in Authorization.', 'Credential', credential);
  }
  if (signRegion !== region) {
    throw ossErrors.invalidArgument(`Invalid signing region in Authorization, expected ${region}.`, 'Credential', credential);
  }
  return { accessKeyId, date };
}

function parseV4Datetime(datetime: string, name: string): number {
  if (!V4_DATETIME.test(datetime)) {
    throw ossErrors.invalidArgument(`${name} must look like 20240101T000000Z.`, name, datetime);
  }
  return Date.parse(datetime.replace(V4_DATETIME, '$1-$2-$3T$4:$5:$6Z'));
}

function parseAdditionalHeaders(list: string | undefined): string[] {
  return list ? list.split(';').map((name) => name.trim().toLowerCase()) : [];
}

interface V4Check {
  datetime: string;
  scope: V4Scope;
  region: string;
  additionalHeaders: string[];
  payloadHash: string;
  signature: string;
  /** The presigned URL's own signature, which is not part of what it signs. */
  ignoredQuery: string;
}

function checkV4Signature(key: AccessKey, req: SignedRequest, check: V4Check): void {
  const query = [...req.query]
    .filter(([name]) => name !== check.ignoredQuery)
    .map(([name, value]) => [encodeRfc3986(name), encodeRfc3986(value)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => (value === '' ? name : `${name}=${value}`))
    .join('&');
  const signedHeaderNames = new Set(check.additionalHeaders);
  for (const name of Object.keys(req.headers)) {
    if (name === 'content-type' || name === 'content-md5' || name.startsWith('x-oss-')) signedHeaderNames.add(name);
  }
  const canonicalHeaders = [...signedHeaderNames]
    .sort()
    .map((name) => `${name}:${(header(req.headers, name) ?? '').trim()}\n`)
    .join('');
  const canonicalRequest = [
    req.method,
    encodeRfc3986(`/${req.bucket}/${req.key}`).replace(/%2F/g, '/'),
    query,
    canonicalHeaders,
    check.additionalHeaders.join(';'),
    check.payloadHash,
  ].join('\n');
  const scope = `${check.scope.date}/${check.region}/oss/aliyun_v4_request`;
  const stringToSign = [V4_ALGORITHM, check.datetime, scope, sha256Hex(canonicalRequest)].join('\n');
  let signingKey = hmac(`aliyun_v4${key.accessKeySecret}`, check.scope.date);
  for (const part of [check.region, 'oss', 'aliyun_v4_request']) signingKey = hmac(signingKey, part);
  const expected = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  if (!sameText(expected, check.signature)) {
    throw ossErrors.signatureDoesNotMatch(key.accessKeyId, {
      SignatureProvided: check.signature,
      StringToSign: stringToSign,
      CanonicalRequest: canonicalRequest,
    });
  }
}

function findAccessKey(accessKeys: readonly AccessKey[], accessKeyId: string, securityToken: string | undefined) {
  const key = accessKeys.find((candidate) => candidate.accessKeyId === accessKeyId);
  if (!key) throw ossErrors.invalidAccessKeyId(accessKeyId);
  if ((key.securityToken || undefined) !== (securityToken || undefined)) throw ossErrors.invalidSecurityToken();
  return key;
}

function checkClockSkew(requestTime: number, raw: string, now: Date): void {
  if (Number.isNaN(requestTime)) throw ossErrors.accessDenied(`Invalid request date: ${raw}`);
  if (Math.abs(requestTime - now.getTime()) > MAX_CLOCK_SKEW_MS) {
    throw ossErrors.requestTimeTooSkewed(raw, now.toUTCString());
  }
}

/** encodeURIComponent plus the characters RFC 3986 reserves, as OSS's V4 canonical form wants. */
export function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function sameText(expected: string, provided: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(provided);
  return a.length === b.length && timingSafeEqual(a, b);
}
