import { createHash, createHmac, generateKeyPairSync, sign, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * MNS's two signatures: the HMAC-SHA1 one clients put on their requests (checked here as the service checks it),
 * and the RSA-SHA1 one MNS puts on what it pushes to an HTTP endpoint (made here with the local MNS's own key,
 * whose public half the server serves at the URL in `x-mns-signing-cert-url`). Both sign the same string.
 */

export interface MnsAccessKey {
  accessKeyId: string;
  accessKeySecret: string;
  /** When set, requests signed with this key must carry it in the `security-token` header (an STS credential). */
  securityToken?: string;
}

/** An MNS error answer: status, Code, Message. */
export class MnsApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'MnsApiError';
  }
}

const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

function header(headers: IncomingHttpHeaders | Record<string, string>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * VERB \n Content-MD5 \n Content-Type \n Date \n the x-mns-* headers (lower-case, sorted, `name:value\n` each) and
 * the resource (path and query): MNS's string-to-sign in both directions.
 */
export function mnsStringToSign(method: string, resource: string, headers: IncomingHttpHeaders | Record<string, string>): string {
  const canonical = Object.keys(headers)
    .map((name) => name.toLowerCase())
    .filter((name) => name.startsWith('x-mns-'))
    .sort()
    .map((name) => `${name}:${header(headers, name) ?? ''}\n`)
    .join('');
  return `${method}\n${header(headers, 'content-md5') ?? ''}\n${header(headers, 'content-type') ?? ''}\n${header(headers, 'date') ?? ''}\n${canonical}${resource}`;
}

/** MNS's Content-MD5: Base64 of the hex MD5 digest (the MNS documentation's push example decodes to hex). */
export function mnsContentMd5(body: Buffer): string {
  return Buffer.from(createHash('md5').update(body).digest('hex'), 'utf8').toString('base64');
}

/** Checks a client request's `Authorization: MNS <AccessKeyId>:<signature>`; throws the MnsApiError MNS answers. */
export function verifyMnsRequest(
  request: { method: string; resource: string; headers: IncomingHttpHeaders; body: Buffer },
  keys: readonly MnsAccessKey[],
  now = Date.now(),
): void {
  const match = /^MNS ([^:\s]+):(\S+)$/.exec(header(request.headers, 'authorization') ?? '');
  if (!match) throw new MnsApiError(403, 'AccessDenied', 'The request has no MNS Authorization header.');
  const key = keys.find((candidate) => candidate.accessKeyId === match[1]);
  if (!key) throw new MnsApiError(403, 'InvalidAccessKeyId', `The AccessKeyId ${match[1]} does not exist.`);
  if (key.securityToken !== undefined && header(request.headers, 'security-token') !== key.securityToken) {
    throw new MnsApiError(403, 'InvalidAccessKeyId', 'The security token of this temporary AccessKeyId is missing or wrong.');
  }
  const date = Date.parse(header(request.headers, 'date') ?? '');
  if (Number.isNaN(date) || Math.abs(now - date) > MAX_CLOCK_SKEW_MS) {
    throw new MnsApiError(400, 'TimeExpired', 'The Date header is missing or more than 15 minutes away from the server time.');
  }
  const md5 = header(request.headers, 'content-md5');
  if (md5 !== undefined && md5 !== mnsContentMd5(request.body)) {
    throw new MnsApiError(400, 'InvalidArgument', 'The Content-MD5 header does not match the request body.');
  }
  const expected = createHmac('sha1', key.accessKeySecret).update(mnsStringToSign(request.method, request.resource, request.headers), 'utf8').digest();
  const given = Buffer.from(match[2]!, 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new MnsApiError(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
}

/** The local MNS's push signer: an RSA key made at start; its public key is served at `certUrl`. */
export interface PushSigner {
  certUrl: string;
  publicKeyPem: string;
  /** Base64 RSA-SHA1 signature of the string-to-sign: the push request's Authorization header. */
  sign(stringToSign: string): string;
}

export function createPushSigner(certUrl: string): PushSigner {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    certUrl,
    publicKeyPem: (publicKey as KeyObject).export({ type: 'spki', format: 'pem' }).toString(),
    sign: (stringToSign) => sign('RSA-SHA1', Buffer.from(stringToSign, 'utf8'), privateKey).toString('base64'),
  };
}
