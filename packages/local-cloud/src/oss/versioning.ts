// PutBucketVersioning and GetBucketVersioning (and GetBucketLocation, the other bucket setting read here). Only the state is kept: objects still have one version each (see the
// limits in the README); what the state changes here is that x-oss-forbid-overwrite stops protecting keys.

import type { OperationContext } from './context';
import { ossErrors } from './errors';
import { parseXmlBody, readSmallBody, sendEmpty, sendXml } from './http';
import { childElements, childText, xmlDocument } from './xml';

export async function putBucketVersioning(ctx: OperationContext): Promise<void> {
  const root = parseXmlBody(await readSmallBody(ctx.req));
  if (root.name !== 'VersioningConfiguration' || childElements(root, 'Status').length !== 1) throw ossErrors.malformedXml();
  const status = childText(root, 'Status');
  if (status !== 'Enabled' && status !== 'Suspended') {
    throw ossErrors.invalidArgument('The versioning status must be Enabled or Suspended.', 'Status', status ?? '');
  }
  await ctx.bucket.setVersioning(status);
  sendEmpty(ctx.res, 200);
}

export async function getBucketVersioning(ctx: OperationContext): Promise<void> {
  const status = ctx.bucket.versioning;
  // A bucket whose versioning was never enabled answers an empty configuration, without a Status element.
  sendXml(ctx.res, 200, xmlDocument('VersioningConfiguration', { Status: status === 'Off' ? undefined : status }));
}

/** GetBucketLocation: `<LocationConstraint>oss-<region></LocationConstraint>` (OSS API reference). */
export async function getBucketLocation(ctx: OperationContext): Promise<void> {
  sendXml(ctx.res, 200, `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint>oss-${ctx.bucketRegion}</LocationConstraint>`);
}
