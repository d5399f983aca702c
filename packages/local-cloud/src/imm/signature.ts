import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ImmApiError } from './errors';

export interface AccessKeyCredential {
  accessKeyId: string;
  accessKeySecret: string;
  /** When set, requests signed with this key must carry it in `x-acs-security-token` (an STS credential). */
  securityToken?: string;
}

export interface SignedRequest {
  method: string;
  pathname: string;
  /** Decoded query parameters. */
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const ALGORITHM = 'ACS3-HMAC-SHA256';
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

/**
 * Checks an OpenAPI V3 signature (ACS3-HMAC-SHA256) exactly as @alicloud/openapi-core computes it; throws the
 * ImmApiError the OpenAPI gateway would answer with when it does not hold.
 *
 * Canonical request = METHOD \n path \n sorted `key=RFC3986(value)` query \n `name:value\n` per signed header
 * \n signed header names joined by `;` \n hex SHA-256 of the body; the signature is hex HMAC-SHA256 with the
 * secret over `ACS3-HMAC-SHA256 \n hex SHA-256(canonical request)`.
 */
export function verifyAcs3Signature(request: SignedRequest, credentials: readonly AccessKeyCredential[], now = Date.now()): void {
  const authorization = header(request.headers, 'authorization');
  const parsed = authorization && parseAuthorization(authorization);
  if (!parsed) throw new ImmApiError(400, 'IncompleteSignature', `The request signature does not conform to Aliyun standards: expected an ${ALGORITHM} Authorization header.`);

  const credential = credentials.find((candidate) => candidate.accessKeyId === parsed.accessKeyId);
  if (!credential) throw new ImmApiError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');

  const signedHeaders = parsed.signedHeaders;
  for (const required of ['host', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-content-sha256']) {
    if (!signedHeaders.includes(required)) throw new ImmApiError(400, 'IncompleteSignature', `The request signature does not conform to Aliyun standards: header ${required} is not signed.`);
  }

  const payloadHash = createHash('sha256').update(request.body).digest('hex');
  if (header(request.headers, 'x-acs-content-sha256') !== payloadHash) {
    throw new ImmApiError(400, 'IncompleteSignature', 'The x-acs-content-sha256 header does not match the request body.');
  }

  const date = Date.parse(header(request.headers, 'x-acs-date') ?? '');
  if (Number.isNaN(date) || Math.abs(now - date) > MAX_CLOCK_SKEW_MS) {
    throw new ImmApiError(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.');
  }

  const canonicalHeaders = signedHeaders.map((name) => `${name}:${(header(request.headers, name) ?? '').trim()}\n`).join('');
  const canonicalQuery = Object.keys(request.query)
    .sort()
    .map((key) => `${key}=${rfc3986(request.query[key]!)}`)
    .join('&');
  const canonicalRequest = [request.method, request.pathname, canonicalQuery, canonicalHeaders, signedHeaders.join(';'), payloadHash].join('\n');
  const stringToSign = `${ALGORITHM}\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
  const expected = createHmac('sha256', credential.accessKeySecret).update(stringToSign).digest();
  const given = Buffer.from(parsed.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ImmApiError(403, 'SignatureDoesNotMatch', 'Specified signature is not matched with our calculation.');
  }

  if ((credential.securityToken ?? '') !== (header(request.headers, 'x-acs-security-token') ?? '')) {
    throw new ImmApiError(400, 'InvalidSecurityToken.MismatchWithAccessKey', 'Specified SecurityToken mismatch with the AccessKey.');
  }
}

function parseAuthorization(value: string): { accessKeyId: string; signedHeaders: string[]; signature: string } | undefined {
  const match = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]*),Signature=([0-9a-f]+)$/.exec(value.trim());
  if (!match) return undefined;
  return { accessKeyId: match[1]!, signedHeaders: match[2]!.split(';').filter(Boolean), signature: match[3]! };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** Percent-encoding as openapi-core applies it to query values: encodeURIComponent plus !'()*. */
function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
