import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ossErrors } from './errors';
import {
  BucketSettingsSchema,
  BucketStore,
  isNotFound,
  keyHash,
  PartSchema,
  StoredObjectSchema,
  UPLOAD_ID,
  UploadSchema,
  type ObjectAttributes,
  type OpenedContent,
  type Part,
  type ReceivedBody,
  type StagedBody,
  type StoredObject,
  type Upload,
  type VersioningStatus,
} from './store';

// Layout of one bucket's folder. Every file name is derived from a hash or a random id, never
// from the object key, so no key (`../../x`, `C:\x`, NUL bytes...) can reach outside it:
//   bucket.json                             the bucket's settings (versioning), once set
//   objects/<sha256(key)>.json              the object's metadata, including its key
//   objects/<sha256(key)>.<random>.data     its content; a new file per write so readers of the
//                                           previous version keep a consistent file
//   uploads/<uploadId>/upload.json          an in-progress multipart upload
//   uploads/<uploadId>/<n>.json, <n>.<random>.part
//   tmp/                                    bodies being received; emptied at start

/** A bucket kept in a folder: objects, settings and in-progress uploads survive restarts. Staged ids are tmp/ paths. */
export class DiskBucketStore extends BucketStore {
  private constructor(
    name: string,
    private readonly dir: string,
    objects: Map<string, StoredObject>,
    versioning: VersioningStatus,
  ) {
    super(name, objects, versioning);
  }

  /** Opens (creating if needed) a bucket folder, loading its index and dropping leftovers of interrupted writes. */
  static async open(dir: string, name: string): Promise<DiskBucketStore> {
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
    return new DiskBucketStore(name, dir, objects, await readVersioning(join(dir, 'bucket.json')));
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
    return { id: path, size, md5: md5.digest() };
  }

  async discard(staged: StagedBody): Promise<void> {
    await rm(staged.id, { force: true });
  }

  async openContent(key: string): Promise<OpenedContent | undefined> {
    // A concurrent overwrite may delete the data file between the lookup and the open: look again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const object = this.objects.get(key);
      if (!object) return undefined;
      try {
        const handle = await open(this.dataPath(object.dataFile), 'r');
        return { object, read: (range) => handle.createReadStream(range ?? {}), close: () => handle.close() };
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return undefined;
  }

  readObject(object: StoredObject): Readable {
    return createReadStream(this.dataPath(object.dataFile));
  }

  async createUpload(key: string, attributes: ObjectAttributes, forbidOverwrite: boolean): Promise<Upload> {
    const upload = this.newUpload(key, attributes, forbidOverwrite);
    const dir = this.uploadDir(upload.uploadId);
    await mkdir(dir);
    await this.writeJson(join(dir, 'upload.json'), upload);
    return upload;
  }

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
    const part = this.newPart(partNumber, staged);
    const previous = await this.readPart(dir, partNumber);
    try {
      await rename(staged.id, join(dir, part.dataFile));
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

  async listParts(upload: Upload): Promise<Part[]> {
    const dir = this.uploadDir(upload.uploadId);
    const files = (await readdir(dir)).filter((file) => /^\d+\.json$/.test(file));
    const parts = await Promise.all(files.map(async (file) => PartSchema.parse(JSON.parse(await readFile(join(dir, file), 'utf8')))));
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async deleteUpload(upload: Upload): Promise<void> {
    await rm(this.uploadDir(upload.uploadId), { recursive: true, force: true });
  }

  protected async adoptStaged(staged: StagedBody, dataFile: string): Promise<void> {
    await rename(staged.id, this.dataPath(dataFile));
  }

  protected async stageParts(upload: Upload, parts: Part[]): Promise<StagedBody> {
    const dir = this.uploadDir(upload.uploadId);
    const path = this.tmpPath();
    await pipeline(async function* () {
      for (const part of parts) yield* createReadStream(join(dir, part.dataFile));
    }, createWriteStream(path));
    return { id: path, size: parts.reduce((sum, part) => sum + part.size, 0) };
  }

  protected async removeData(dataFile: string): Promise<void> {
    await rm(this.dataPath(dataFile), { force: true });
  }

  protected async saveObject(object: StoredObject): Promise<void> {
    await this.writeJson(this.metadataPath(object.key), object);
  }

  protected async forgetObject(key: string): Promise<void> {
    await rm(this.metadataPath(key), { force: true });
  }

  protected async saveSettings(settings: { versioning: VersioningStatus }): Promise<void> {
    await this.writeJson(join(this.dir, 'bucket.json'), settings);
  }

  private async readPart(dir: string, partNumber: number): Promise<Part | undefined> {
    try {
      return PartSchema.parse(JSON.parse(await readFile(join(dir, `${partNumber}.json`), 'utf8')));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private dataPath(dataFile: string): string {
    return join(this.dir, 'objects', dataFile);
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

  /** Write-then-rename, so a crash never leaves a half-written JSON file behind. */
  private async writeJson(path: string, value: unknown): Promise<void> {
    const tmp = this.tmpPath();
    await writeFile(tmp, JSON.stringify(value));
    await rename(tmp, path);
  }
}

async function readVersioning(path: string): Promise<VersioningStatus> {
  try {
    return BucketSettingsSchema.parse(JSON.parse(await readFile(path, 'utf8'))).versioning;
  } catch (err) {
    if (isNotFound(err)) return 'Off';
    throw err;
  }
}
