// Multipart uploads: initiate, upload part, complete, abort and list parts.

import type { OperationContext } from './context';
import { ossErrors } from './errors';
import {
  checkContentLength,
  contentMd5,
  integerParameter,
  isTrue,
  keyEncoder,
  parseXmlBody,
  quoted,
  readSmallBody,
  sendEmpty,
  sendXml,
  single,
} from './http';
import { attributesFromHeaders } from './objects';
import type { Part, Upload } from './store';
import { childElements, childText, xmlDocument } from './xml';
import type { XmlElement } from './xml';

const MAX_PART_NUMBER = 10_000;
/** Every part but the last must be at least this big. */
const MIN_PART_SIZE = 100 * 1024;

export async function initiateMultipartUpload(ctx: OperationContext): Promise<void> {
  const { req, bucket, key } = ctx;
  const forbidOverwrite = bucket.forbidsOverwrite(isTrue(req.headers['x-oss-forbid-overwrite']));
  if (forbidOverwrite && bucket.get(key)) throw ossErrors.fileAlreadyExists();
  const upload = await bucket.createUpload(key, attributesFromHeaders(req.headers), forbidOverwrite);
  const encode = keyEncoder(ctx.query);
  sendXml(
    ctx.res,
    200,
    xmlDocument('InitiateMultipartUploadResult', {
      Bucket: bucket.name,
      Key: encode(key),
      UploadId: upload.uploadId,
      EncodingType: ctx.query.get('encoding-type') || undefined,
    }),
  );
}

export async function uploadPart(ctx: OperationContext): Promise<void> {
  const { req, bucket } = ctx;
  const partNumberText = ctx.query.get('partNumber') ?? '';
  const partNumber = Number(partNumberText);
  if (!/^\d+$/.test(partNumberText) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
    throw ossErrors.invalidArgument(
      `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive.`,
      'partNumber',
      partNumberText,
    );
  }
  checkContentLength(req.headers);
  const expectedMd5 = contentMd5(req.headers);
  const upload = await findUpload(ctx);
  const staged = await bucket.stageBody(req);
  if (expectedMd5 && !expectedMd5.equals(staged.md5)) {
    await bucket.discard(staged);
    throw ossErrors.invalidDigest();
  }
  const part = await bucket.savePart(upload, partNumber, staged);
  sendEmpty(ctx.res, 200, { ETag: quoted(part.etag), 'Content-MD5': staged.md5.toString('base64') });
}

export async function completeMultipartUpload(ctx: OperationContext): Promise<void> {
  const { req, bucket } = ctx;
  const upload = await findUpload(ctx);
  const uploaded = await bucket.listParts(upload);
  const body = await readSmallBody(req);
  const parts = single(req.headers['x-oss-complete-all'])?.toLowerCase() === 'yes'
    ? uploaded
    : chooseParts(parseXmlBody(body), uploaded);
  if (parts.length === 0) throw ossErrors.malformedXml();
  parts.slice(0, -1).forEach((part) => {
    if (part.size < MIN_PART_SIZE) throw ossErrors.entityTooSmall(part.partNumber);
  });
  const forbidOverwrite = bucket.forbidsOverwrite(upload.forbidOverwrite || isTrue(req.headers['x-oss-forbid-overwrite']));
  const { object, previous } = await bucket.completeUpload(upload, parts, forbidOverwrite);
  ctx.emit('ObjectCreated:CompleteMultipartUpload', object, previous);
  const encode = keyEncoder(ctx.query);
  sendXml(
    ctx.res,
    200,
    xmlDocument('CompleteMultipartUploadResult', {
      EncodingType: ctx.query.get('encoding-type') || undefined,
      Location: `http://${req.headers.host ?? ''}/${encodeURIComponent(object.key)}`,
      Bucket: bucket.name,
      Key: encode(object.key),
      ETag: quoted(object.etag),
    }),
    { ETag: quoted(object.etag) },
  );
}

/** The parts a CompleteMultipartUpload body names, checked against those uploaded. */
function chooseParts(root: XmlElement, uploaded: Part[]): Part[] {
  if (root.name !== 'CompleteMultipartUpload') throw ossErrors.malformedXml();
  let lastNumber = 0;
  return childElements(root, 'Part').map((element) => {
    const numberText = childText(element, 'PartNumber')?.trim() ?? '';
    const etag = childText(element, 'ETag');
    if (!/^\d+$/.test(numberText) || etag === undefined) throw ossErrors.malformedXml();
    const partNumber = Number(numberText);
    if (partNumber <= lastNumber) throw ossErrors.invalidPartOrder();
    lastNumber = partNumber;
    const part = uploaded.find((candidate) => candidate.partNumber === partNumber);
    if (!part || part.etag !== etag.trim().replace(/^"|"$/g, '').toUpperCase()) throw ossErrors.invalidPart(partNumber);
    return part;
  });
}

export async function abortMultipartUpload(ctx: OperationContext): Promise<void> {
  await ctx.bucket.deleteUpload(await findUpload(ctx));
  sendEmpty(ctx.res, 204);
}

export async function listParts(ctx: OperationContext): Promise<void> {
  const upload = await findUpload(ctx);
  const maxParts = integerParameter(ctx.query, 'max-parts', 1000, 1, 1000);
  const marker = integerParameter(ctx.query, 'part-number-marker', 0, 0, MAX_PART_NUMBER);
  const after = (await ctx.bucket.listParts(upload)).filter((part) => part.partNumber > marker);
  const page = after.slice(0, maxParts);
  const encode = keyEncoder(ctx.query);
  sendXml(
    ctx.res,
    200,
    xmlDocument('ListPartsResult', {
      Bucket: ctx.bucket.name,
      EncodingType: ctx.query.get('encoding-type') || undefined,
      Key: encode(upload.key),
      UploadId: upload.uploadId,
      PartNumberMarker: marker,
      NextPartNumberMarker: page.at(-1)?.partNumber ?? marker,
      MaxParts: maxParts,
      IsTruncated: after.length > page.length,
      Part: page.map((part) => ({
        PartNumber: part.partNumber,
        LastModified: part.lastModified,
        ETag: quoted(part.etag),
        Size: part.size,
      })),
    }),
  );
}

async function findUpload(ctx: OperationContext): Promise<Upload> {
  const uploadId = ctx.query.get('uploadId') ?? '';
  const upload = await ctx.bucket.getUpload(uploadId, ctx.key);
  if (!upload) throw ossErrors.noSuchUpload(uploadId);
  return upload;
}
