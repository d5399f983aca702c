import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { OssError, ossErrors } from './errors';

// One bucket's objects, uploads and settings. BucketStore holds the index and the rules (per-key locks, create-only
// writes, versioning); where the bytes live is up to its two kinds: DiskBucketStore (disk-store.ts, a folder that
// survives restarts) and MemoryBucketStore (memory-store.ts, nothing on disk, for tests and the bench).

const TagSchema = z.object({ key: z.string(), value: z.string() });
export type Tag = z.infer<typeof TagSchema>;

const ObjectAttributesSchema = z.object({
  contentType: z.string(),
  /** x-oss-meta-* headers, by lower-case name without the prefix. */
  userMeta: z.record(z.string(), z.string()),
  tags: z.array(TagSchema),
  /** Stored standard headers (Cache-Control, Content-Disposition...), by lower-case name. */
  headers: z.record(z.string(), z.string()),
});
export type ObjectAttributes = z.infer<typeof ObjectAttributesSchema>;

const StoredObjectSchema = ObjectAttributesSchema.extend({
  key: z.string(),
  size: z.number().int().nonnegative(),
  /** Upper-case hex MD5, or `<hex>-<parts>` for multipart objects; without quotes. */
  etag: z.string(),
  type: z.enum(['Normal', 'Multipart']),
  /** ISO time, whole seconds as HTTP dates carry no more. */
  lastModified: z.string(),
  dataFile: z.string().regex(/^[0-9a-f]{64}\.[0-9a-f]{16}\.data$/),
});
export type StoredObject = z.infer<typeof StoredObjectSchema>;

const UploadSchema = z.object({
  uploadId: z.string(),
  key: z.string(),
  initiated: z.string(),
  attributes: ObjectAttributesSchema,
  forbidOverwrite: z.boolean(),
});
export type Upload = z.infer<typeof UploadSchema>;

const PartSchema = z.object({
  partNumber: z.number().int(),
  etag: z.string(),
  size: z.number().int().nonnegative(),
  lastModified: z.string(),
  dataFile: z.string().regex(/^\d+\.[0-9a-f]{16}\.part$/),
});
export type Part = z.infer<typeof PartSchema>;

/** A received body waiting to become an object or a part; `id` is the store's own handle on it. */
export interface StagedBody {
  id: string;
  size: number;
}

export interface ReceivedBody extends StagedBody {
  md5: Buffer;
}

export interface CommitResult {
  object: StoredObject;
  previous: StoredObject | undefined;
}

/** An object's content, opened: a reader keeps the version it opened even if the key is overwritten meanwhile. */
export interface OpenedContent {
  object: StoredObject;
  /** The bytes from start to end inclusive (default: all of them). */
  read(range?: { start: number; end: number }): Readable;
  close(): Promise<void>;
}

export const UPLOAD_ID = /^[0-9A-F]{32}$/;

/** A bucket's versioning state: `Off` until it is first enabled; after that only Enabled or Suspended. */
export type VersioningStatus = 'Off' | 'Enabled' | 'Suspended';
export const BucketSettingsSchema = z.object({ versioning: z.enum(['Off', 'Enabled', 'Suspended']) });
export { ObjectAttributesSchema, PartSchema, StoredObjectSchema, UploadSchema };

export abstract class BucketStore {
  private sortedKeysCache: string[] | undefined;
  private readonly keyLocks = new Map<string, Promise<unknown>>();

  protected constructor(
    readonly name: string,
    protected readonly objects: Map<string, StoredObject>,
    private versioningStatus: VersioningStatus,
  ) {}

  get(key: string): StoredObject | undefined {
    return this.objects.get(key);
  }

  /** All keys in OSS listing order (UTF-8 byte order). */
  sortedKeys(): readonly string[] {
    this.sortedKeysCache ??= [...this.objects.keys()].sort(compareUtf8);
    return this.sortedKeysCache;
  }

  get versioning(): VersioningStatus {
    return this.versioningStatus;
  }

  /** PutBucketVersioning: Enabled or Suspended (a bucket never goes back to Off). */
  async setVersioning(status: Exclude<VersioningStatus, 'Off'>): Promise<void> {
    await this.saveSettings({ versioning: status });
    this.versioningStatus = status;
  }

  /**
   * Whether `x-oss-forbid-overwrite: true` protects existing keys here: OSS ignores the header once the bucket's
   * versioning is Enabled or Suspended, and the upload overwrites.
   */
  forbidsOverwrite(requested: boolean): boolean {
    return requested && this.versioningStatus === 'Off';
  }

  /** Receives a request body, hashing it on the way. */
  abstract stageBody(body: Readable): Promise<ReceivedBody>;
  abstract discard(staged: StagedBody): Promise<void>;
  /** Opens the object's current content; undefined if it does not exist. */
  abstract openContent(key: string): Promise<OpenedContent | undefined>;
  /** The content of this version of an object; rejects with NoSuchKey once that version is gone. */
  abstract readObject(object: StoredObject): Readable;

  abstract createUpload(key: string, attributes: ObjectAttributes, forbidOverwrite: boolean): Promise<Upload>;
  /** The upload, if it exists and belongs to this key. */
  abstract getUpload(uploadId: string, key: string): Promise<Upload | undefined>;
  abstract savePart(upload: Upload, partNumber: number, staged: ReceivedBody): Promise<Part>;
  /** The upload's parts by part number. */
  abstract listParts(upload: Upload): Promise<Part[]>;
  abstract deleteUpload(upload: Upload): Promise<void>;

  /** Makes the staged body the content named dataFile. */
  protected abstract adoptStaged(staged: StagedBody, dataFile: string): Promise<void>;
  /** The chosen parts concatenated into one staged body. */
  protected abstract stageParts(upload: Upload, parts: Part[]): Promise<StagedBody>;
  protected abstract removeData(dataFile: string): Promise<void>;
  protected abstract saveObject(object: StoredObject): Promise<void>;
  protected abstract forgetObject(key: string): Promise<void>;
  protected abstract saveSettings(settings: z.infer<typeof BucketSettingsSchema>): Promise<void>;

  /** Makes a staged body the object's content; refuses (and discards it) if forbidOverwrite and the key exists. */
  async commitObject(
    key: string,
    staged: StagedBody,
    content: { etag: string; type: StoredObject['type']; attributes: ObjectAttributes },
    forbidOverwrite: boolean,
  ): Promise<CommitResult> {
    return this.withKeyLock(key, async () => {
      const previous = this.objects.get(key);
      if (forbidOverwrite && previous) {
        await this.discard(staged);
        throw ossErrors.fileAlreadyExists();
      }
      // A new name per write, so readers of the previous version keep consistent content.
      const dataFile = `${keyHash(key)}.${randomBytes(8).toString('hex')}.data`;
      await this.adoptStaged(staged, dataFile);
      const object: StoredObject = {
        key,
        size: staged.size,
        etag: content.etag,
        type: content.type,
        lastModified: wholeSecondsNow(),
        dataFile,
        ...content.attributes,
      };
      await this.saveObject(object);
      this.setObject(object);
      if (previous) await this.removeData(previous.dataFile);
      return { object, previous };
    });
  }

  /** Copies another object's content (possibly from another bucket) into a staged body, keeping its ETag. */
  async stageCopy(source: BucketStore, object: StoredObject): Promise<StagedBody> {
    try {
      return await this.stageBody(source.readObject(object));
    } catch (err) {
      // The source was replaced or deleted while we copied it.
      if (isNotFound(err)) throw ossErrors.noSuchKey(object.key);
      throw err;
    }
  }

  async deleteObject(key: string): Promise<StoredObject | undefined> {
    return this.withKeyLock(key, async () => {
      const previous = this.objects.get(key);
      if (!previous) return undefined;
      await this.forgetObject(key);
      this.objects.delete(key);
      this.sortedKeysCache = undefined;
      await this.removeData(previous.dataFile);
      return previous;
    });
  }

  async setTags(key: string, tags: Tag[]): Promise<StoredObject> {
    return this.withKeyLock(key, async () => {
      const current = this.objects.get(key);
      if (!current) throw ossErrors.noSuchKey(key);
      const object = { ...current, tags };
      await this.saveObject(object);
      this.setObject(object);
      return object;
    });
  }

  /** Concatenates the chosen parts into the object; its ETag is the MD5 of the parts' binary MD5s, then `-<count>`. */
  async completeUpload(upload: Upload, parts: Part[], forbidOverwrite: boolean): Promise<CommitResult> {
    const staged = await this.stageParts(upload, parts);
    const partMd5s = Buffer.concat(parts.map((part) => Buffer.from(part.etag, 'hex')));
    const etag = `${createHash('md5').update(partMd5s).digest('hex').toUpperCase()}-${parts.length}`;
    const result = await this.commitObject(upload.key, staged, { etag, type: 'Multipart', attributes: upload.attributes }, forbidOverwrite);
    await this.deleteUpload(upload);
    return result;
  }

  protected newUpload(key: string, attributes: ObjectAttributes, forbidOverwrite: boolean): Upload {
    return { uploadId: randomBytes(16).toString('hex').toUpperCase(), key, initiated: new Date().toISOString(), attributes, forbidOverwrite };
  }

  protected newPart(partNumber: number, staged: ReceivedBody): Part {
    return {
      partNumber,
      etag: staged.md5.toString('hex').toUpperCase(),
      size: staged.size,
      lastModified: wholeSecondsNow(),
      dataFile: `${partNumber}.${randomBytes(8).toString('hex')}.part`,
    };
  }

  private setObject(object: StoredObject): void {
    if (!this.objects.has(object.key)) this.sortedKeysCache = undefined;
    this.objects.set(object.key, object);
  }

  /** Runs fn after every earlier fn for the same key has finished, so metadata writes never interleave. */
  private async withKeyLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.keyLocks.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    this.keyLocks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.keyLocks.get(key) === tail) this.keyLocks.delete(key);
    }
  }
}

/** A not-found from the file system, or the NoSuchKey a store raises for content that is gone. */
export function isNotFound(err: unknown): boolean {
  if (err instanceof OssError) return err.code === 'NoSuchKey';
  return err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOENT';
}

export function keyHash(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function wholeSecondsNow(): string {
  return new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
}


/**
 * Compares strings by code point, which is UTF-8 byte order (OSS's listing order). Plain `<`
 * compares UTF-16 units and would put emoji (surrogate pairs) before U+E000..U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codeUnitRank(x) - codeUnitRank(y);
  }
  return a.length - b.length;
}

function codeUnitRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}
