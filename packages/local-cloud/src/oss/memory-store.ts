import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { ossErrors } from './errors';
import {
  BucketStore,
  UPLOAD_ID,
  type ObjectAttributes,
  type OpenedContent,
  type Part,
  type ReceivedBody,
  type StagedBody,
  type StoredObject,
  type Upload,
  type VersioningStatus,
} from './store';

/**
 * A bucket kept in memory: the same behaviour as DiskBucketStore (per-key locks, create-only writes, multipart,
 * versioning state) with nothing on disk, so it is gone when the server stops. Contents are Buffers, never
 * mutated: a reader holding one keeps the version it opened, as the disk store's new-file-per-write gives.
 */
export class MemoryBucketStore extends BucketStore {
  private readonly contents = new Map<string, Buffer>();
  private readonly staged = new Map<string, Buffer>();
  private readonly uploads = new Map<string, { upload: Upload; parts: Map<number, { part: Part; content: Buffer }> }>();

  constructor(name: string, versioning: VersioningStatus = 'Off') {
    super(name, new Map(), versioning);
  }

  async stageBody(body: Readable): Promise<ReceivedBody> {
    const md5 = createHash('md5');
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Buffer>) {
      md5.update(chunk);
      chunks.push(chunk);
    }
    return this.stage(Buffer.concat(chunks), md5.digest());
  }

  async discard(staged: StagedBody): Promise<void> {
    this.staged.delete(staged.id);
  }

  async openContent(key: string): Promise<OpenedContent | undefined> {
    const object = this.objects.get(key);
    const content = object && this.contents.get(object.dataFile);
    if (!object || !content) return undefined;
    return {
      object,
      read: (range) => Readable.from([range ? content.subarray(range.start, range.end + 1) : content]),
      close: async () => {},
    };
  }

  readObject(object: StoredObject): Readable {
    const content = this.contents.get(object.dataFile);
    if (!content) throw ossErrors.noSuchKey(object.key);
    return Readable.from([content]);
  }

  async createUpload(key: string, attributes: ObjectAttributes, forbidOverwrite: boolean): Promise<Upload> {
    const upload = this.newUpload(key, attributes, forbidOverwrite);
    this.uploads.set(upload.uploadId, { upload, parts: new Map() });
    return structuredClone(upload);
  }

  async getUpload(uploadId: string, key: string): Promise<Upload | undefined> {
    if (!UPLOAD_ID.test(uploadId)) return undefined;
    const entry = this.uploads.get(uploadId);
    return entry?.upload.key === key ? structuredClone(entry.upload) : undefined;
  }

  async savePart(upload: Upload, partNumber: number, staged: ReceivedBody): Promise<Part> {
    const content = this.take(staged);
    const entry = this.uploads.get(upload.uploadId);
    // Aborted or completed while this part was arriving.
    if (!entry) throw ossErrors.noSuchUpload(upload.uploadId);
    const part = this.newPart(partNumber, staged);
    entry.parts.set(partNumber, { part, content });
    return { ...part };
  }

  async listParts(upload: Upload): Promise<Part[]> {
    const parts = [...(this.uploads.get(upload.uploadId)?.parts.values() ?? [])].map(({ part }) => ({ ...part }));
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async deleteUpload(upload: Upload): Promise<void> {
    this.uploads.delete(upload.uploadId);
  }

  protected async adoptStaged(staged: StagedBody, dataFile: string): Promise<void> {
    this.contents.set(dataFile, this.take(staged));
  }

  protected async stageParts(upload: Upload, parts: Part[]): Promise<StagedBody> {
    const saved = this.uploads.get(upload.uploadId)?.parts;
    const contents = parts.map((part) => {
      const content = saved?.get(part.partNumber);
      if (!content || content.part.dataFile !== part.dataFile) throw ossErrors.invalidPart(part.partNumber);
      return content.content;
    });
    const content = Buffer.concat(contents);
    return this.stage(content, createHash('md5').update(content).digest());
  }

  protected async removeData(dataFile: string): Promise<void> {
    this.contents.delete(dataFile);
  }

  // The index (BucketStore's objects map) is the only record of an object and of the settings here.
  protected async saveObject(): Promise<void> {}
  protected async forgetObject(): Promise<void> {}
  protected async saveSettings(): Promise<void> {}

  private stage(content: Buffer, md5: Buffer): ReceivedBody {
    const id = randomBytes(16).toString('hex');
    this.staged.set(id, content);
    return { id, size: content.length, md5 };
  }

  /** The staged content, removed from the staging area (it now belongs to an object or a part). */
  private take(staged: StagedBody): Buffer {
    const content = this.staged.get(staged.id);
    if (!content) throw new Error(`staged body ${staged.id} was already used or discarded`);
    this.staged.delete(staged.id);
    return content;
  }
}
