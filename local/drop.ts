import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { JobRecord } from '../shared/jobs/job';
import { keyExtension, matchRules } from '../shared/rules/match';
import type { Rule } from '../shared/rules/schema';

/** `21:07:03`: the local time a log line of `npm start` happened. */
export function stamp(date: Date = new Date()): string {
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** Prefixes each line of a (possibly multi-line) message with the time. */
export function stamped(text: string, date: Date = new Date()): string {
  const time = stamp(date);
  return text
    .split('\n')
    .map((line) => `${time} ${line}`)
    .join('\n');
}

/**
 * Why a file dropped at `key` will not be processed (so it is not uploaded), or undefined when some rule takes it.
 * Size limits are left to the submit function, which logs its own reason.
 */
export function ignoredReason(rules: readonly Pick<Rule, 'name' | 'prefix' | 'suffixes'>[], key: string): string | undefined {
  const hidden = key.split('/').find((segment) => segment.startsWith('.'));
  if (hidden !== undefined) {
    return `${hidden} is hidden (its name starts with a dot): copy tools and editors write such files while they work, so npm start never uploads them; rename it to upload it`;
  }
  if (matchRules(rules, key).length > 0) return undefined;
  const watching = rules.filter((rule) => key.startsWith(rule.prefix));
  if (watching.length === 0) {
    const prefixes = [...new Set(rules.map((r) => r.prefix))].map((p) => `drop/${p}`).join(', ');
    return `outside every rule's prefix: put videos under ${prefixes || '(no rules in s.yaml)'}`;
  }
  const ext = keyExtension(key);
  const takes = watching.map((rule) => `rule ${rule.name} takes ${rule.suffixes.join(', ')}`).join('; ');
  return `no rule takes ${ext ? `.${ext}` : 'files without an extension'} here (${takes})`;
}

/**
 * Notes on outputs with fewer frames than the rule asks for (`frames`): the maxFrames cap cut them, or the video
 * (its window) has fewer frames. Outputs of the record are in the rule's order.
 */
export function frameNotes(rule: Pick<Rule, 'outputs'> | undefined, record: Pick<JobRecord, 'outputs'>): string[] {
  const notes: string[] = [];
  record.outputs.forEach((output, i) => {
    const asked = rule?.outputs[i]?.frames;
    const planned = output.plannedFrames;
    if (asked === undefined || planned === undefined || planned >= asked) return;
    notes.push(
      planned === output.maxFrames && output.maxFrames < asked
        ? `${output.key}: maxFrames ${output.maxFrames} cut it to ${planned} of the ${asked} frames the rule asks for (raise maxFrames to get them all; IMM bills per frame)`
        : `${output.key}: ${planned} of the ${asked} frames the rule asks for: the video has no more in its window`,
    );
  });
  return notes;
}

/** What `npm start` remembers across restarts: the files it uploaded (by size and mtime) and the jobs it reported. */
export interface DropState {
  /** Path under drop/ → `size:mtimeMs` when it was uploaded. */
  uploaded: Record<string, string>;
  /** Job id → the source it was for, once its result was printed. */
  reported: Record<string, { key: string; eTag: string }>;
}

export const DROP_STATE_FILE = 'drop-state.json';

export async function loadDropState(dataDir: string): Promise<DropState> {
  try {
    const parsed = JSON.parse(await readFile(path.join(dataDir, DROP_STATE_FILE), 'utf8')) as Partial<DropState>;
    return { uploaded: { ...parsed.uploaded }, reported: { ...parsed.reported } };
  } catch {
    return { uploaded: {}, reported: {} };
  }
}

export async function saveDropState(dataDir: string, state: DropState): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const file = path.join(dataDir, DROP_STATE_FILE);
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

/** ETags as OSS headers and job records spell them, compared without quotes and case. */
export function sameETag(a: string, b: string): boolean {
  const norm = (e: string) => e.replace(/"/g, '').toUpperCase();
  return norm(a) === norm(b);
}

/**
 * A file uploaded again (same content: the same job; new content: a new job) is a re-run: the jobs of that key and
 * ETag are forgotten as reported, so their result is printed (and copied to out/) as on the first run.
 */
export function forgetReported(state: DropState, key: string, eTag: string): string[] {
  const forgotten = Object.entries(state.reported)
    .filter(([, seen]) => seen.key === key && sameETag(seen.eTag, eTag))
    .map(([jobId]) => jobId);
  for (const jobId of forgotten) delete state.reported[jobId];
  return forgotten;
}

/**
 * Where the copy of an output object goes under `outDir`, or why it cannot: a key with a leading `/`, a backslash,
 * an empty, `.` or `..` segment, or a control character could name a place outside `outDir` (or a different file
 * than the key says), so it is not copied. Nothing npm start writes leaves its folders.
 */
export function outputCopyPath(outDir: string, key: string): { path: string } | { refused: string } {
  const segments = key.split('/');
  if (/[\u0000-\u001f\u007f]/.test(key)) return { refused: 'it holds a control character' };
  if (key.includes('\\')) return { refused: 'it holds a backslash' };
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    return { refused: "it has an empty, '.' or '..' segment (or a leading or doubled '/')" };
  }
  const root = path.resolve(outDir);
  const target = path.resolve(root, ...segments);
  if (!target.startsWith(root + path.sep)) return { refused: `it would leave ${outDir}` };
  return { path: target };
}

/**
 * How long a dropped file must stand still (size and mtime unchanged, last written this long ago) before it is
 * uploaded: a copy that pauses between chunks (a slow disk, a network share) is not taken half-written.
 */
export const DROP_QUIET_MS = 2000;

/**
 * Whether a file under drop/ needs uploading: it changed since its upload, it looked the same at the last poll,
 * and it was last written at least `quietMs` ago.
 */
export function readyToUpload(
  state: DropState,
  lastSeen: string | undefined,
  file: string,
  seen: { signature: string; mtimeMs: number },
  now: number,
  quietMs: number = DROP_QUIET_MS,
): boolean {
  return state.uploaded[file] !== seen.signature && lastSeen === seen.signature && now - seen.mtimeMs >= quietMs;
}

export interface DropWatcherOptions {
  dropDir: string;
  /** Where a file is copied before its upload (inside the data folder), so what is uploaded is what was checked. */
  stagingDir: string;
  state: DropState;
  /** Why a key is not uploaded (no rule takes it), or undefined. */
  ignoredReason: (key: string) => string | undefined;
  /** Uploads `file` to `key`; resolves with the object's ETag. */
  upload: (key: string, file: string, size: number) => Promise<string>;
  saveState: () => Promise<void>;
  say: (line: string) => void;
  quietMs?: number;
  now?: () => number;
}

/**
 * The drop folder's poller (npm start calls `poll()` every second): uploads each file once it has stopped changing,
 * says once why a file is ignored, and uploads a file again only when it changed since.
 */
export function createDropWatcher(options: DropWatcherOptions) {
  const { state } = options;
  const now = options.now ?? Date.now;
  const lastSeen = new Map<string, string>();
  const ignored = new Map<string, string>();

  /** Copies the file aside and checks it did not change meanwhile: the upload then reads a whole, still file. */
  async function stage(file: string, signature: string): Promise<string | undefined> {
    await mkdir(options.stagingDir, { recursive: true });
    const staged = path.join(options.stagingDir, `upload-${process.pid}-${Date.now()}`);
    await copyFile(file, staged);
    const after = await stat(file).catch(() => undefined);
    if (after && `${after.size}:${after.mtimeMs}` === signature) return staged;
    await rm(staged, { force: true });
    return undefined;
  }

  return {
    async poll(): Promise<void> {
      for (const file of await walk(options.dropDir)) {
        const info = await stat(file).catch(() => undefined);
        if (!info) continue;
        const signature = `${info.size}:${info.mtimeMs}`;
        const relative = path.relative(options.dropDir, file).split(path.sep).join('/');
        const previous = lastSeen.get(relative);
        lastSeen.set(relative, signature);
        if (!readyToUpload(state, previous, relative, { signature, mtimeMs: info.mtimeMs }, now(), options.quietMs)) continue;
        const key = relative;
        const reason = options.ignoredReason(key);
        if (reason) {
          if (ignored.get(key) !== signature) options.say(`[drop] ignoring ${key}: ${reason}`);
          ignored.set(key, signature);
          continue;
        }
        const staged = await stage(file, signature);
        // Written to while it was copied: it is not still after all; the next polls wait for it again.
        if (!staged) continue;
        const again = Object.values(state.reported).some((r) => r.key === key);
        options.say(`[drop] uploading ${key} (${(info.size / 1024).toFixed(0)} KiB)${again ? ', again: its result is reported as on a first run' : ''}`);
        try {
          const eTag = await options.upload(key, staged, info.size);
          forgetReported(state, key, eTag);
          state.uploaded[relative] = signature;
          await options.saveState();
        } catch (error) {
          options.say(`[drop] upload of ${key} failed: ${(error as Error).message}`);
        } finally {
          await rm(staged, { force: true });
        }
      }
    },
  };
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(full)));
    else if (entry.isFile()) files.push(full);
  }
  return files;
}
