// Single-object operations: put, get, head, delete, copy, tagging and x-oss-async-process.

import type { IncomingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { OperationContext } from './context';
import { OssError, ossErrors } from './errors';
import {
  checkContentLength,
  contentMd5,
  httpDate,
  isTrue,
  parseXmlBody,
  quoted,
  readSmallBody,
  sendEmpty,
  sendXml,
  single,
} from './http';
import type { ObjectAttributes, StoredObject, Tag } from './store';
import { checkObjectKey } from './target';
import { childElements, childText, xmlDocument } from './xml';

const MAX_TAGS = 10;
/** Standard headers an object keeps and returns on GET/HEAD. */
const STORED_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'];

export async function putObject(ctx: OperationContext): Promise<void> {
  const { req, bucket, key } = ctx;
  checkContentLength(req.headers);
  const expectedMd5 = contentMd5(req.headers);
  const attributes = attributesFromHeaders(req.headers);
  const forbidOverwrite = bucket.forbidsOverwrite(isTrue(req.headers['x-oss-forbid-overwrite']));
  // Refuse before receiving the body; commitObject checks again in case of a race.
  if (forbidOverwrite && bucket.get(key)) throw ossErrors.fileAlreadyExists();
  const staged = await bucket.stageBody(req);
  if (expectedMd5 && !expectedMd5.equals(staged.md5)) {
    await bucket.discard(staged);
    throw ossErrors.invalidDigest();
  }
  const etag = staged.md5.toString('hex').toUpperCase();
  const { object, previous } = await bucket.commitObject(key, staged, { etag, type: 'Normal', attributes }, forbidOverwrite);
  ctx.emit('ObjectCreated:PutObject', object, previous);
  sendEmpty(ctx.res, 200, { ETag: quoted(object.etag), 'Content-MD5': staged.md5.toString('base64') });
}

export async function getObject(ctx: OperationContext): Promise<void> {
  const { req, res } = ctx;
  const opened = await ctx.bucket.openContent(ctx.key);
  if (!opened) throw ossErrors.noSuchKey(ctx.key);
  const { object } = opened;
  let range: ByteRange | undefined;
  try {
    if (checkConditions(req.headers, object, '') === 'not-modified') {
      await opened.close();
      sendEmpty(res, 304, { ETag: quoted(object.etag), 'Last-Modified': httpDate(object.lastModified) });
      return;
    }
    range = resolveRange(req.headers.range, object.size, req.headers['x-oss-range-behavior'] === 'standard');
  } catch (err) {
    await opened.close();
    throw err;
  }
  const headers = objectHeaders(object);
  for (const [name, value] of ctx.query) {
    if (name.startsWith('response-') && RESPONSE_OVERRIDES.has(name)) headers[name.slice('response-'.length)] = value;
  }
  if (range) {
    headers['content-range'] = `bytes ${range.start}-${range.end}/${object.size}`;
    headers['content-length'] = String(range.end - range.start + 1);
  }
  res.writeHead(range ? 206 : 200, headers);
  const content = opened.read(range);
  await pipeline(content, res);
}

const RESPONSE_OVERRIDES = new Set(
  ['content-type', 'content-language', 'expires', 'cache-control', 'content-disposition', 'content-encoding'].map(
    (name) => `response-${name}`,
  ),
);

export async function headObject(ctx: OperationContext): Promise<void> {
  const object = ctx.bucket.get(ctx.key);
  if (!object) throw ossErrors.noSuchKey(ctx.key);
  if (checkConditions(ctx.req.headers, object, '') === 'not-modified') {
    sendEmpty(ctx.res, 304, { ETag: quoted(object.etag), 'Last-Modified': httpDate(object.lastModified) });
    return;
  }
  ctx.res.writeHead(200, objectHeaders(object));
  ctx.res.end();
}

export async function deleteObject(ctx: OperationContext): Promise<void> {
  const removed = await ctx.bucket.deleteObject(ctx.key);
  if (removed) ctx.emit('ObjectRemoved:DeleteObject', removed);
  sendEmpty(ctx.res, 204);
}

export async function copyObject(ctx: OperationContext): Promise<void> {
  const { req, bucket, key } = ctx;
  const { sourceBucket, sourceKey } = parseCopySource(String(req.headers['x-oss-copy-source']));
  const sourceStore = ctx.findBucket(sourceBucket);
  if (!sourceStore) throw ossErrors.noSuchBucket(sourceBucket);
  const source = sourceStore.get(sourceKey);
  if (!source) throw ossErrors.noSuchKey(sourceKey);
  if (checkConditions(req.headers, source, 'x-oss-copy-source-') === 'not-modified') {
    sendEmpty(ctx.res, 304);
    return;
  }
  const metadataDirective = directive(req.headers, 'x-oss-metadata-directive');
  const taggingDirective = directive(req.headers, 'x-oss-tagging-directive');
  const requested = attributesFromHeaders(req.headers);
  const attributes: ObjectAttributes = {
    contentType: metadataDirective === 'REPLACE' ? requested.contentType : source.contentType,
    userMeta: metadataDirective === 'REPLACE' ? requested.userMeta : source.userMeta,
    headers: metadataDirective === 'REPLACE' ? requested.headers : source.headers,
    tags: taggingDirective === 'REPLACE' ? requested.tags : source.tags,
  };
  const forbidOverwrite = bucket.forbidsOverwrite(isTrue(req.headers['x-oss-forbid-overwrite']));
  if (forbidOverwrite && bucket.get(key)) throw ossErrors.fileAlreadyExists();
  const staged = await bucket.stageCopy(sourceStore, source);
  const { object, previous } = await bucket.commitObject(
    key,
    staged,
    { etag: source.etag, type: source.type, attributes },
    forbidOverwrite,
  );
  ctx.emit('ObjectCreated:CopyObject', object, previous);
  sendXml(ctx.res, 200, xmlDocument('CopyObjectResult', { ETag: quoted(object.etag), LastModified: object.lastModified }), {
    ETag: quoted(object.etag),
  });
}

/** `/bucket/url-encoded-key`, as ali-oss and the OSS docs send it. */
function parseCopySource(value: string): { sourceBucket: string; sourceKey: string } {
  const slash = value.indexOf('/', 1);
  if (!value.startsWith('/') || slash < 0) {
    throw ossErrors.invalidArgument('Copy Source must mention the source bucket and key: /sourcebucket/sourcekey.', 'x-oss-copy-source', value);
  }
  if (value.includes('?')) throw ossErrors.notImplemented('copying a specific version');
  let sourceKey: string;
  try {
    sourceKey = decodeURIComponent(value.slice(slash + 1));
  } catch {
    throw ossErrors.invalidArgument('Copy Source is not URL-encoded correctly.', 'x-oss-copy-source', value);
  }
  checkObjectKey(sourceKey);
  return { sourceBucket: value.slice(1, slash), sourceKey };
}

function directive(headers: IncomingHttpHeaders, name: string): 'COPY' | 'REPLACE' {
  const value = (single(headers[name]) ?? 'COPY').toUpperCase();
  if (value !== 'COPY' && value !== 'REPLACE') throw ossErrors.invalidArgument(`Invalid ${name}.`, name, value);
  return value;
}

export async function getObjectTagging(ctx: OperationContext): Promise<void> {
  const object = ctx.bucket.get(ctx.key);
  if (!object) throw ossErrors.noSuchKey(ctx.key);
  sendXml(ctx.res, 200, xmlDocument('Tagging', { TagSet: { Tag: object.tags.map((tag) => ({ Key: tag.key, Value: tag.value })) } }));
}

export async function putObjectTagging(ctx: OperationContext): Promise<void> {
  if (!ctx.bucket.get(ctx.key)) throw ossErrors.noSuchKey(ctx.key);
  const root = parseXmlBody(await readSmallBody(ctx.req));
  const tagSets = root.name === 'Tagging' ? childElements(root, 'TagSet') : [];
  const [tagSet] = tagSets;
  if (tagSets.length !== 1 || !tagSet) throw ossErrors.malformedXml();
  const tags = childElements(tagSet, 'Tag').map((tag) => {
    const key = childText(tag, 'Key');
    if (key === undefined) throw ossErrors.malformedXml();
    return { key, value: childText(tag, 'Value') ?? '' };
  });
  await ctx.bucket.setTags(ctx.key, checkTags(tags));
  sendEmpty(ctx.res, 200);
}

export async function deleteObjectTagging(ctx: OperationContext): Promise<void> {
  await ctx.bucket.setTags(ctx.key, []);
  sendEmpty(ctx.res, 204);
}

export async function asyncProcess(ctx: OperationContext): Promise<void> {
  if (!ctx.asyncProcess) throw ossErrors.immNotAttached();
  if (!ctx.bucket.get(ctx.key)) throw ossErrors.noSuchKey(ctx.key);
  const form = new URLSearchParams((await readSmallBody(ctx.req)).toString('utf8'));
  const process = form.get('x-oss-async-process');
  if (!process) {
    throw ossErrors.invalidArgument('The body must be x-oss-async-process=<process>.', 'x-oss-async-process');
  }
  const result = await ctx.asyncProcess({ bucket: ctx.bucket.name, key: ctx.key, process });
  if ('code' in result) throw new OssError(result.status, result.code, result.message);
  if (result.dropAnswer) {
    ctx.req.socket.destroy();
    return;
  }
  const body = JSON.stringify(result.body);
  ctx.res.writeHead(result.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  ctx.res.end(body);
}

/** What a create request sets besides content: Content-Type, x-oss-meta-*, x-oss-tagging, stored headers. */
export function attributesFromHeaders(headers: IncomingHttpHeaders): ObjectAttributes {
  const userMeta: Record<string, string> = {};
  const stored: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (name.startsWith('x-oss-meta-')) userMeta[name.slice('x-oss-meta-'.length)] = String(value);
    else if (STORED_HEADERS.includes(name)) stored[name] = String(value);
  }
  const tagging = single(headers['x-oss-tagging']);
  return {
    contentType: single(headers['content-type']) || 'application/octet-stream',
    userMeta,
    headers: stored,
    tags: tagging ? checkTags([...new URLSearchParams(tagging)].map(([key, value]) => ({ key, value }))) : [],
  };
}

/** OSS's object tag limits. */
function checkTags(tags: Tag[]): Tag[] {
  if (tags.length > MAX_TAGS) throw ossErrors.invalidTag(`Object tags cannot be greater than ${MAX_TAGS}.`);
  const seen = new Set<string>();
  for (const { key, value } of tags) {
    if (key.length === 0 || key.length > 128) throw ossErrors.invalidTag('The TagKey you have provided is invalid.');
    if (value.length > 256) throw ossErrors.invalidTag('The TagValue you have provided is invalid.');
    if (seen.has(key)) throw ossErrors.invalidTag('Cannot provide multiple Tags with the same key.');
    seen.add(key);
  }
  return tags;
}

/** GET/HEAD headers, by lower-case name so response-* overrides replace rather than duplicate them. */
function objectHeaders(object: StoredObject): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': object.contentType,
    'content-length': String(object.size),
    etag: quoted(object.etag),
    'last-modified': httpDate(object.lastModified),
    'accept-ranges': 'bytes',
    'x-oss-object-type': object.type,
    'x-oss-storage-class': 'Standard',
    ...object.headers,
  };
  if (object.type === 'Normal') headers['content-md5'] = Buffer.from(object.etag, 'hex').toString('base64');
  for (const [name, value] of Object.entries(object.userMeta)) headers[`x-oss-meta-${name}`] = value;
  if (object.tags.length > 0) headers['x-oss-tagging-count'] = String(object.tags.length);
  return headers;
}

/**
 * If-Match / If-Unmodified-Since fail with 412, If-None-Match / If-Modified-Since answer 304
 * (RFC 7232 order). `prefix` is 'x-oss-copy-source-' for CopyObject's source conditions.
 */
function checkConditions(headers: IncomingHttpHeaders, object: StoredObject, prefix: string): 'ok' | 'not-modified' {
  const ifMatch = single(headers[`${prefix}if-match`]);
  const ifNoneMatch = single(headers[`${prefix}if-none-match`]);
  const ifModifiedSince = single(headers[`${prefix}if-modified-since`]);
  const ifUnmodifiedSince = single(headers[`${prefix}if-unmodified-since`]);
  const modified = Date.parse(object.lastModified);
  if (ifMatch !== undefined && !etagMatches(ifMatch, object.etag)) {
    throw ossErrors.preconditionFailed(`${prefix}If-Match`);
  }
  if (ifMatch === undefined && ifUnmodifiedSince !== undefined && modified > Date.parse(ifUnmodifiedSince)) {
    throw ossErrors.preconditionFailed(`${prefix}If-Unmodified-Since`);
  }
  if (ifNoneMatch !== undefined) return etagMatches(ifNoneMatch, object.etag) ? 'not-modified' : 'ok';
  if (ifModifiedSince !== undefined && modified <= Date.parse(ifModifiedSince)) return 'not-modified';
  return 'ok';
}

function etagMatches(list: string, etag: string): boolean {
  return list
    .split(',')
    .map((item) => item.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toUpperCase())
    .some((item) => item === '*' || item === etag);
}

interface ByteRange {
  start: number;
  end: number;
}

/**
 * OSS's Range rules: a malformed or multi-part range, or one ending past the object, returns the
 * whole object (200) unless `x-oss-range-behavior: standard` asks for the clamped part; a start
 * at or past the end is 416.
 */
function resolveRange(header: string | undefined, size: number, standard: boolean): ByteRange | undefined {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (size === 0) throw ossErrors.invalidRange();
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) throw ossErrors.invalidRange();
    if (suffix > size) return standard ? { start: 0, end: size - 1 } : undefined;
    return { start: size - suffix, end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) throw ossErrors.invalidRange();
  if (last === '') return { start, end: size - 1 };
  const end = Number(last);
  if (end < start) return undefined;
  if (end >= size) return standard ? { start, end: size - 1 } : undefined;
  return { start, end };
}
