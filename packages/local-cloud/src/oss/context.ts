import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OssEventName } from './events';
import type { BucketStore, StoredObject } from './store';

export type AsyncProcessHandler = (req: {
  bucket: string;
  key: string;
  process: string;
}) => Promise<
  /** `dropAnswer`: the work was started, but the server drops the connection instead of answering (a fault). */
  { status: number; body: object; dropAnswer?: boolean } | { status: number; code: string; message: string }
>;

export interface OperationContext {
  req: IncomingMessage;
  res: ServerResponse;
  bucket: BucketStore;
  /** The bucket's region, e.g. 'cn-hangzhou' (GetBucketLocation answers `oss-<region>`). */
  bucketRegion: string;
  key: string;
  query: ReadonlyMap<string, string>;
  /** Owner of every local bucket. */
  accountId: string;
  findBucket(name: string): BucketStore | undefined;
  asyncProcess: AsyncProcessHandler | undefined;
  emit(eventName: OssEventName, object: StoredObject, previous?: StoredObject): void;
}

export type Operation = (ctx: OperationContext) => Promise<void>;
