import { isIP } from 'node:net';
import { ossErrors } from './errors';

/** Where a request points: bucket '' is the service, key '' a bucket-level request. */
export interface RequestTarget {
  bucket: string;
  key: string;
  /** Decoded query parameters in request order; a parameter without a value maps to ''. */
  query: Map<string, string>;
}

const MAX_KEY_BYTES = 1023;

/**
 * Virtual-hosted when the Host is a DNS name with a dot (`bucket.oss-cn-hangzhou.aliyuncs.com`,
 * which is what ali-oss sends with an IP endpoint): the first label is the bucket and the path
 * is the key. Otherwise (an IP, `localhost`) path-style: `/<bucket>/<key>`.
 */
export function parseTarget(rawUrl: string, host: string | undefined): RequestTarget {
  const questionMark = rawUrl.indexOf('?');
  const path = questionMark < 0 ? rawUrl : rawUrl.slice(0, questionMark);
  const query = parseQuery(questionMark < 0 ? '' : rawUrl.slice(questionMark + 1));
  if (!path.startsWith('/')) throw ossErrors.invalidUri();
  const hostname = hostnameOf(host ?? '');
  let bucket: string;
  let encodedKey: string;
  if (hostname.includes('.') && isIP(hostname) === 0) {
    bucket = hostname.slice(0, hostname.indexOf('.'));
    encodedKey = path.slice(1);
  } else {
    const rest = path.slice(1);
    const slash = rest.indexOf('/');
    bucket = decodeOrThrow(slash < 0 ? rest : rest.slice(0, slash), false);
    encodedKey = slash < 0 ? '' : rest.slice(slash + 1);
  }
  // In a path '+' is a literal plus; only %XX escapes are decoded.
  const key = decodeOrThrow(encodedKey, false, () => ossErrors.invalidObjectName('0016-00000002'));
  if (key !== '') checkObjectKey(key);
  return { bucket, key, query };
}

/** OSS's naming rules: 1..1023 bytes of UTF-8, not starting with '/' or '\'. */
export function checkObjectKey(key: string): void {
  if (key === '') throw ossErrors.invalidObjectName('0016-00000001');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw ossErrors.invalidObjectName('0016-00000002');
  if (key.startsWith('/') || key.startsWith('\\')) throw ossErrors.invalidObjectName('0016-00000005');
}

function parseQuery(search: string): Map<string, string> {
  const query = new Map<string, string>();
  for (const pair of search.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeOrThrow(eq < 0 ? pair : pair.slice(0, eq), true);
    query.set(name, eq < 0 ? '' : decodeOrThrow(pair.slice(eq + 1), true));
  }
  return query;
}

function decodeOrThrow(text: string, plusIsSpace: boolean, error = ossErrors.invalidUri): string {
  try {
    return decodeURIComponent(plusIsSpace ? text.replace(/\+/g, ' ') : text);
  } catch {
    throw error();
  }
}

function hostnameOf(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.indexOf(':');
  return (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
}
