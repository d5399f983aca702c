// DeleteMultipleObjects: POST /?delete with an XML list of keys, up to 1000, in one request.

import { createHash } from 'node:crypto';
import type { OperationContext } from './context';
import { OssError, ossErrors } from './errors';
import { contentMd5, keyEncoder, parseXmlBody, readSmallBody, sendXml } from './http';
import { checkObjectKey } from './target';
import { childElements, childText, xmlDocument } from './xml';

/** OSS's limit per request (OSS API reference, DeleteMultipleObjects). */
const MAX_KEYS = 1000;

/**
 * Deletes every key the body names; a missing key counts as deleted, as with DeleteObject. The body must come with
 * Content-MD5 (OSS refuses the request without it, EC 0016-00000606). Verbose mode answers every deleted key, quiet
 * mode (`<Quiet>true</Quiet>`) only the failures, of which the local OSS has none. Each removed object fires
 * `ObjectRemoved:DeleteObjects`.
 */
export async function deleteMultipleObjects(ctx: OperationContext): Promise<void> {
  const { req, bucket } = ctx;
  const expectedMd5 = contentMd5(req.headers);
  if (!expectedMd5) throw new OssError(400, 'InvalidDigest', 'Missing required header Content-MD5 for DeleteMultipleObjects.', { EC: '0016-00000606' });
  const body = await readSmallBody(req);
  if (!expectedMd5.equals(createHash('md5').update(body).digest())) throw ossErrors.invalidDigest();
  const root = parseXmlBody(body);
  if (root.name !== 'Delete') throw ossErrors.malformedXml();
  const keys = childElements(root, 'Object').map((object) => childText(object, 'Key'));
  if (keys.length === 0 || keys.length > MAX_KEYS || keys.some((key) => key === undefined || key === '')) throw ossErrors.malformedXml();
  for (const key of keys) checkObjectKey(key!);
  const quiet = childText(root, 'Quiet')?.trim().toLowerCase() === 'true';
  for (const key of keys) {
    const removed = await bucket.deleteObject(key!);
    if (removed) ctx.emit('ObjectRemoved:DeleteObjects', removed);
  }
  const encode = keyEncoder(ctx.query);
  sendXml(
    ctx.res,
    200,
    xmlDocument('DeleteResult', {
      EncodingType: ctx.query.get('encoding-type') || undefined,
      Deleted: quiet ? undefined : keys.map((key) => ({ Key: encode(key!) })),
    }),
  );
}
