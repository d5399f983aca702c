// ListObjects (v1, marker-based) and ListObjectsV2 (continuation tokens).

import type { OperationContext } from './context';
import { ossErrors } from './errors';
import { integerParameter, keyEncoder, quoted, sendXml } from './http';
import type { BucketStore, StoredObject } from './store';
import { compareUtf8 } from './store';
import { xmlDocument } from './xml';
import type { XmlFields } from './xml';

interface Listing {
  contents: StoredObject[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The last key or common prefix returned; listing resumes after it. */
  lastItem: string | undefined;
}

/** Keys after `marker` under `prefix`, rolled up at `delimiter`, at most maxKeys entries. */
function listKeys(bucket: BucketStore, prefix: string, delimiter: string, marker: string, maxKeys: number): Listing {
  const listing: Listing = { contents: [], commonPrefixes: [], isTruncated: false, lastItem: undefined };
  for (const key of bucket.sortedKeys()) {
    if (!key.startsWith(prefix)) continue;
    const cut = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
    const item = cut < 0 ? key : key.slice(0, cut + delimiter.length);
    // A marker equal to a common prefix (our own continuation) skips that whole group.
    if (compareUtf8(key, marker) <= 0 || item === marker || item === listing.lastItem) continue;
    if (listing.contents.length + listing.commonPrefixes.length === maxKeys) {
      listing.isTruncated = true;
      break;
    }
    const object = bucket.get(key);
    if (cut >= 0) listing.commonPrefixes.push(item);
    else if (object) listing.contents.push(object);
    listing.lastItem = item;
  }
  return listing;
}

export async function listObjects(ctx: OperationContext): Promise<void> {
  const { query } = ctx;
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') ?? '';
  const marker = query.get('marker') ?? '';
  const maxKeys = integerParameter(query, 'max-keys', 100, 1, 1000);
  const encode = keyEncoder(query);
  const listing = listKeys(ctx.bucket, prefix, delimiter, marker, maxKeys);
  const owner = { ID: ctx.accountId, DisplayName: ctx.accountId };
  sendXml(
    ctx.res,
    200,
    xmlDocument('ListBucketResult', {
      Name: ctx.bucket.name,
      Prefix: encode(prefix),
      Marker: encode(marker),
      MaxKeys: maxKeys,
      Delimiter: encode(delimiter),
      EncodingType: query.get('encoding-type') || undefined,
      IsTruncated: listing.isTruncated,
      NextMarker: listing.isTruncated && listing.lastItem !== undefined ? encode(listing.lastItem) : undefined,
      Contents: listing.contents.map((object) => ({ ...listEntry(object, encode), Owner: owner })),
      CommonPrefixes: listing.commonPrefixes.map((item) => ({ Prefix: encode(item) })),
    }),
  );
}

export async function listObjectsV2(ctx: OperationContext): Promise<void> {
  const { query } = ctx;
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter') ?? '';
  const startAfter = query.get('start-after') ?? '';
  const token = query.get('continuation-token');
  const maxKeys = integerParameter(query, 'max-keys', 100, 1, 1000);
  const fetchOwner = query.get('fetch-owner') === 'true';
  const encode = keyEncoder(query);
  // The token is opaque to clients; here it is the last item returned, base64url-encoded.
  const marker = token === undefined ? startAfter : Buffer.from(token, 'base64url').toString('utf8');
  if (token !== undefined && (token === '' || Buffer.from(marker, 'utf8').toString('base64url') !== token)) {
    throw ossErrors.invalidArgument('The continuation token provided is incorrect.', 'continuation-token', token);
  }
  const listing = listKeys(ctx.bucket, prefix, delimiter, marker, maxKeys);
  const owner = { ID: ctx.accountId, DisplayName: ctx.accountId };
  sendXml(
    ctx.res,
    200,
    xmlDocument('ListBucketResult', {
      Name: ctx.bucket.name,
      Prefix: encode(prefix),
      StartAfter: query.has('start-after') ? encode(startAfter) : undefined,
      ContinuationToken: token,
      MaxKeys: maxKeys,
      Delimiter: encode(delimiter),
      EncodingType: query.get('encoding-type') || undefined,
      IsTruncated: listing.isTruncated,
      NextContinuationToken:
        listing.isTruncated && listing.lastItem !== undefined
          ? Buffer.from(listing.lastItem, 'utf8').toString('base64url')
          : undefined,
      KeyCount: listing.contents.length + listing.commonPrefixes.length,
      Contents: listing.contents.map((object) => ({
        ...listEntry(object, encode),
        Owner: fetchOwner ? owner : undefined,
      })),
      CommonPrefixes: listing.commonPrefixes.map((item) => ({ Prefix: encode(item) })),
    }),
  );
}

function listEntry(object: StoredObject, encode: (text: string) => string): XmlFields {
  return {
    Key: encode(object.key),
    LastModified: object.lastModified,
    ETag: quoted(object.etag),
    Type: object.type,
    Size: object.size,
    StorageClass: 'Standard',
  };
}
