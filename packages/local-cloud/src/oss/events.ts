import type { StoredObject } from './store';

export type OssEventName =
  | 'ObjectCreated:PutObject'
  | 'ObjectCreated:PostObject'
  | 'ObjectCreated:CopyObject'
  | 'ObjectCreated:CompleteMultipartUpload'
  | 'ObjectRemoved:DeleteObject'
  | 'ObjectRemoved:DeleteObjects';

/** One element of the `events` array Function Compute's OSS trigger delivers. */
export interface OssEventRecord {
  eventName: OssEventName;
  eventSource: 'acs:oss';
  eventTime: string;
  eventVersion: '1.0';
  oss: {
    bucket: { arn: string; name: string; ownerIdentity: string };
    object: {
      deltaSize: number;
      /** Upper-case, without quotes. */
      eTag: string;
      /** The raw key, not URL-encoded. */
      key: string;
      size: number;
      objectMeta: { mimeType: string; userMeta: Record<string, string> };
    };
    ossSchemaVersion: '1.0';
    ruleId: string;
  };
  region: string;
  requestParameters: { sourceIPAddress: string };
  responseElements: { requestId: string };
  userIdentity: { principalId: string };
}

/** The name the stack's trigger code uses: records are mostly about created objects. */
export type OssCreatedEvent = OssEventRecord;

export interface EventContext {
  region: string;
  accountId: string;
  bucket: string;
  requestId: string;
  sourceIp: string;
}

/**
 * For a creation `object` is the new object and `previous` what it replaced; for a deletion
 * `object` is the removed object. deltaSize is the change in stored bytes either way.
 */
export function buildEventRecord(
  eventName: OssEventName,
  context: EventContext,
  object: StoredObject,
  previous?: StoredObject,
): OssEventRecord {
  const removed = eventName.startsWith('ObjectRemoved:');
  return {
    eventName,
    eventSource: 'acs:oss',
    eventTime: new Date().toISOString(),
    eventVersion: '1.0',
    oss: {
      bucket: {
        arn: `acs:oss:${context.region}:${context.accountId}:${context.bucket}`,
        name: context.bucket,
        ownerIdentity: context.accountId,
      },
      object: {
        deltaSize: removed ? -object.size : object.size - (previous?.size ?? 0),
        eTag: object.etag,
        key: object.key,
        size: object.size,
        objectMeta: { mimeType: object.contentType, userMeta: { ...object.userMeta } },
      },
      ossSchemaVersion: '1.0',
      ruleId: 'local',
    },
    region: context.region,
    requestParameters: { sourceIPAddress: context.sourceIp },
    responseElements: { requestId: context.requestId },
    userIdentity: { principalId: context.accountId },
  };
}
