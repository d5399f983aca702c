import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { ossErrors } from './errors';

// Layout of one bucket's folder. Every file name is derived from a hash or a random id, never
// from the object key, so no key (`../../x`, `C:\x`, NUL bytes...) can reach outside it:
//   objects/<sha256(key)>.json              the object's metadata, including its key
//   objects/<sha256(key)>.<random>.data     its content; a new file per write so readers of the
//                                           previous version keep a consistent file
//   uploads/<uploadId>/upload.json          an in-progress multipart upload
//   uploads/<uploadId>/<n>.json, <n>.<random>.part
//   tmp/                                    bodies being received; emptied at start

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

/** A received body waiting in tmp/ to become an object or a part. */
export interface StagedBody {
  path: string;
  size: number;
}

export interface ReceivedBody extends StagedBody {
  md5: Buffer;
}

export interface CommitResult {
  object: StoredObject;
  previous: StoredObject | undefined;
}

const UPLOAD_ID = /^[0-9A-F]{32}$/;

/** A bucket's versioning state: `Off` until it is first enabled; after that only Enabled or Suspended. */
export type VersioningStatus = 'Off' | 'Enabled' | 'Suspended';
const BucketSettingsSchema = z.object({ versioning: z.enum(['Off', 'Enabled', 'Suspended']) });

export class BucketStore {
  private sortedKeysCache: string[] | undefined;
  private readonly keyLocks = new Map<string, Promise<unknown>>();

  private constructor(
    readonly name: string,
    private readonly dir: string,
    private readonly objects: Map<string, StoredObject>,
    private versioningStatus: VersioningStatus,
  ) {}

  /** Opens (creating if needed) a bucket folder, loading its index and dropping leftovers of interrupted writes. */
  static async open(dir: string, name: string): Promise<BucketStore> {
    const objectsDir = join(dir, 'objects');
    await mkdir(objectsDir, { recursive: true });
    await mkdir(join(dir, 'uploads'), { recursive: true });
    await rm(join(dir, 'tmp'), { recursive: true, force: true });
    await mkdir(join(dir, 'tmp'));
    const objects = new Map<string, StoredObject>();
    const files = await readdir(objectsDir);
    for (const file of files.filter((f) => f.endsWith('.json'))) {
      const path = join(objectsDir, file);
      const parsed = StoredObjectSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
      if (!parsed.success) throw new Error(`Corrupt object metadata ${path}: ${parsed.error.message}`);
      objects.set(parsed.data.key, parsed.data);
    }
    const referenced = new Set([...objects.values()].map((object) => object.dataFile));
    for (const file of files.filter((f) => f.endsWith('.data') && !referenced.has(f))) {
      await unlink(join(objectsDir, file));
    }
    return new BucketStore(name, dir, objects, await readSettings(join(dir, 'bucket.json')));
  }

  get versioning(): VersioningStatus {
    return this.versioningStatus;
  }

  /** PutBucketVersioning: Enabled or Suspended (a bucket never goes back to Off). */
  async setVersioning(status: Exclude<VersioningStatus, 'Off'>): Promise<void> {
    await this.writeJson(join(this.dir, 'bucket.json'), { versioning: status });
    this.versioningStatus = status;
  }

  /**
   * Whether `x-oss-forbid-overwrite: true` protects existing keys here: OSS ignores the header once the bucket's
   * versioning is Enabled or Suspended, and the upload overwrites.
   */
  forbidsOverwrite(requested: boolean): boolean {
    return requested && this.versioningStatus === 'Off';
  }

  get(key: string): StoredObject | undefined {
    return this.objects.get(key);
  }

  /** All keys in OSS listing order (UTF-8 byte order). */
  sortedKeys(): readonly string[] {
    this.sortedKeysCache ??= [...this.objects.keys()].sort(compareUtf8);
    return this.sortedKeysCache;
  }

  /** Streams a request body into tmp/, hashing it on the way, so large bodies never sit in memory. */
  async stageBody(body: Readable): Promise<ReceivedBody> {
    const path = this.tmpPath();
    const md5 = createHash('md5');
    let size = 0;
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            md5.update(chunk);
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(path),
      );
    } catch (err) {
      await rm(path, { force: true });
      throw err;
    }
    return { path, size, md5: md5.digest() };
  }

  async discard(staged: StagedBody): Promise<void> {
    await rm(staged.path, { force: true });
  }

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
      const dataFile = `${keyHash(key)}.${randomBytes(8).toString('hex')}.data`;
      await rename(staged.path, join(this.dir, 'objects', dataFile));
      const object: StoredObject = {
        key,
        size: staged.size,
        etag: content.etag,
        type: content.type,
        lastModified: wholeSecondsNow(),
        dataFile,
        ...content.attributes,
      };
      await this.writeMetadata(object);
      this.setObject(object);
      if (previous) await rm(this.dataPath(previous), { force: true });
      return { object, previous };
    });
  }

  /** Copies another object's content (possibly from another bucket) into tmp/, keeping its ETag. */
  async stageCopy(source: BucketStore, object: StoredObject): Promise<StagedBody> {
    const path = this.tmpPath();
    try {
      await copyFile(source.dataPath(object), path);
    } catch (err) {
      await rm(path, { force: true });
      // The source was replaced or deleted while we copied it.
      if (isNotFound(err)) throw ossErrors.noSuchKey(object.key);
      throw err;
    }
    return { path, size: object.size };
  }

  async deleteObject(key: string): Promise<StoredObject | undefined> {
    return this.withKeyLock(key, async () => {
      const previous = this.objects.get(key);
      if (!previous) return undefined;
      await rm(this.metadataPath(key), { force: true });
      this.objects.delete(key);
      this.sortedKeysCache = undefined;
      await rm(this.dataPath(previous), { force: true });
      return previous;
    });
  }

  async setTags(key: string, tags: Tag[]): Promise<StoredObject> {
    return this.withKeyLock(key, async () => {
      const current = this.objects.get(key);
      if (!current) throw ossErrors.noSuchKey(key);
      const object = { ...current, tags };
      await this.writeMetadata(object);
      this.setObject(object);
      return object;
    });
  }

  /** Opens the object's current content; undefined if it does not exist. */
  async openContent(key: string): Promise<{ object: StoredObject; handle: FileHandle } | undefined> {
    // A concurrent overwrite may delete the data file between the lookup and the open: look again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const object = this.objects.get(key);
      if (!object) return undefined;
      try {
        return { object, handle: await open(this.dataPath(object), 'r') };
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return undefined;
  }

  async createUpload(key: string, attributes: ObjectAttributes, forbidOverwrite: boolean): Promise<Upload> {
    const upload: Upload = {
      uploadId: randomBytes(16).toString('hex').toUpperCase(),
      key,
      initiated: new Date().toISOString(),
      attributes,
      forbidOverwrite,
    };
    const dir = this.uploadDir(upload.uploadId);
    await mkdir(dir);
    await this.writeJson(join(dir, 'upload.json'), upload);
    return upload;
  }

  /** The upload, if it exists and belongs to this key. */
  async getUpload(uploadId: string, key: string): Promise<Upload | undefined> {
    if (!UPLOAD_ID.test(uploadId)) return undefined;
    try {
      const upload = UploadSchema.parse(JSON.parse(await readFile(join(this.uploadDir(uploadId), 'upload.json'), 'utf8')));
      return upload.key === key ? upload : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async savePart(upload: Upload, partNumber: number, staged: ReceivedBody): Promise<Part> {
    const dir = this.uploadDir(upload.uploadId);
    const part: Part = {
      partNumber,
      etag: staged.md5.toString('hex').toUpperCase(),
      size: staged.size,
      lastModified: wholeSecondsNow(),
      dataFile: `${partNumber}.${randomBytes(8).toString('hex')}.part`,
    };
    const previous = await this.readPart(dir, partNumber);
    try {
      await rename(staged.path, join(dir, part.dataFile));
    } catch (err) {
      await this.discard(staged);
      // Aborted or completed while this part was arriving.
      if (isNotFound(err)) throw ossErrors.noSuchUpload(upload.uploadId);
      throw err;
    }
    await this.writeJson(join(dir, `${partNumber}.json`), part);
    if (previous) await rm(join(dir, previous.dataFile), { force: true });
    return part;
  }

  private async readPart(dir: string, partNumber: number): Promise<Part | undefined> {
    try {
      return PartSchema.parse(JSON.parse(await readFile(join(dir, `${partNumber}.json`), 'utf8')));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async listParts(upload: Upload): Promise<Part[]> {
    const dir = this.uploadDir(upload.uploadId);
    const files = (await readdir(dir)).filter((file) => /^\d+\.json$/.test(file));
    const parts = await Promise.all(
      files.map(async (file) => PartSchema.parse(JSON.parse(await readFile(join(dir, file), 'utf8')))),
    );
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  /** Concatenates the chosen parts into the object; its ETag is the MD5 of the parts' binary MD5s, then `-<count>`. */
  async completeUpload(upload: Upload, parts: Part[], forbidOverwrite: boolean): Promise<CommitResult> {
    const dir = this.uploadDir(upload.uploadId);
    const path = this.tmpPath();
    await pipeline(async function* () {
      for (const part of parts) yield* createReadStream(join(dir, part.dataFile));
    }, createWriteStream(path));
    const staged = { path, size: parts.reduce((sum, part) => sum + part.size, 0) };
    const partMd5s = Buffer.concat(parts.map((part) => Buffer.from(part.etag, 'hex')));
    const etag = `${createHash('md5').update(partMd5s).digest('hex').toUpperCase()}-${parts.length}`;
    const result = await this.commitObject(
      upload.key,
      staged,
      { etag, type: 'Multipart', attributes: upload.attributes },
      forbidOverwrite,
    );
    await this.deleteUpload(upload);
    return result;
  }

  async deleteUpload(upload: Upload): Promise<void> {
    await rm(this.uploadDir(upload.uploadId), { recursive: true, force: true });
  }

  private dataPath(object: StoredObject): string {
    return join(this.dir, 'objects', object.dataFile);
  }

  private metadataPath(key: string): string {
    return join(this.dir, 'objects', `${keyHash(key)}.json`);
  }

  private uploadDir(uploadId: string): string {
    return join(this.dir, 'uploads', uploadId);
  }

  private tmpPath(): string {
    return join(this.dir, 'tmp', `${randomBytes(16).toString('hex')}.tmp`);
  }

  private setObject(object: StoredObject): void {
    if (!this.objects.has(object.key)) this.sortedKeysCache = undefined;
    this.objects.set(object.key, object);
  }

  private async writeMetadata(object: StoredObject): Promise<void> {
    await this.writeJson(this.metadataPath(object.key), object);
  }

  /** Write-then-rename, so a crash never leaves a half-written JSON file behind. */
  private async writeJson(path: string, value: unknown): Promise<void> {
    const tmp = this.tmpPath();
    await writeFile(tmp, JSON.stringify(value));
    await rename(tmp, path);
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

async function readSettings(path: string): Promise<VersioningStatus> {
  try {
    return BucketSettingsSchema.parse(JSON.parse(await readFile(path, 'utf8'))).versioning;
  } catch (err) {
    if (isNotFound(err)) return 'Off';
    throw err;
  }
}

function keyHash(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function wholeSecondsNow(): string {
  return new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOENT';
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
