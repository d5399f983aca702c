import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { ossErrors } from './errors';
import { parseXml, XmlSyntaxError } from './xml';
import type { XmlElement } from './xml';

// Request and response helpers shared by the operations.

const MAX_OBJECT_SIZE = 5 * 1024 ** 3;
const MAX_SMALL_BODY = 1024 * 1024;

/** Identity, or URL-encoding when the request asks for `encoding-type=url`. */
export function keyEncoder(query: ReadonlyMap<string, string>): (text: string) => string {
  const encodingType = query.get('encoding-type') ?? '';
  if (encodingType === '') return (text) => text;
  if (encodingType !== 'url') throw ossErrors.invalidArgument('The encoding-type must be url.', 'encoding-type', encodingType);
  return encodeURIComponent;
}

/** A numeric query parameter, 400 InvalidArgument when out of range. */
export function integerParameter(
  query: ReadonlyMap<string, string>,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const text = query.get(name);
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw ossErrors.invalidArgument(`Argument ${name} must be an integer between ${min} and ${max}.`, name, text);
  }
  return value;
}

export function checkContentLength(headers: IncomingHttpHeaders): void {
  if (Number(headers['content-length'] ?? 0) > MAX_OBJECT_SIZE) throw ossErrors.entityTooLarge();
}

export function contentMd5(headers: IncomingHttpHeaders): Buffer | undefined {
  const value = single(headers['content-md5']);
  if (value === undefined) return undefined;
  const digest = Buffer.from(value, 'base64');
  if (digest.length !== 16 || digest.toString('base64') !== value.trim()) throw ossErrors.invalidDigest();
  return digest;
}

export async function readSmallBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_SMALL_BODY) throw ossErrors.invalidArgument('The request body is too large.');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function parseXmlBody(body: Buffer): XmlElement {
  try {
    return parseXml(body.toString('utf8'));
  } catch (err) {
    if (err instanceof XmlSyntaxError) throw ossErrors.malformedXml();
    throw err;
  }
}

export function sendXml(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'application/xml', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  // 204 and 304 must not carry a Content-Length.
  res.writeHead(status, status === 204 || status === 304 ? headers : { ...headers, 'Content-Length': '0' });
  res.end();
}

export function quoted(etag: string): string {
  return `"${etag}"`;
}

export function httpDate(iso: string): string {
  return new Date(iso).toUTCString();
}

export function isTrue(value: string | string[] | undefined): boolean {
  return single(value)?.toLowerCase() === 'true';
}

export function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
