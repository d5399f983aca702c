import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OSS from 'ali-oss';
import { ossClientOptions, startLocalOss, type LocalOss, type OssEventRecord } from '@video-animation/local-cloud';
import { createDropWatcher, DROP_QUIET_MS, ignoredReason, type DropState } from '../local/drop';

// npm start's drop folder, driven poll by poll, uploading through ali-oss to the local OSS: a file written slowly
// (chunks with pauses longer than a poll) is uploaded once, whole, after it has stood still for DROP_QUIET_MS.
// The clock is the test's: `now` moves past each write's mtime by what each step needs.
const KEY = { accessKeyId: 'LTAI5tLocalTestKey', accessKeySecret: 'local-test-secret' };
const BUCKET = 'drop-bkt';

let dir: string;
let oss: LocalOss;
let client: OSS;
const events: OssEventRecord[] = [];

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'local-drop-test-'));
  oss = await startLocalOss({ storage: 'memory', region: 'cn-hangzhou', accountId: '1234567890', buckets: [BUCKET], credentials: [KEY], onEvent: (e) => events.push(e) });
  client = new OSS(ossClientOptions(oss, BUCKET, KEY));
});

after(async () => {
  await oss.close();
  await rm(dir, { recursive: true, force: true });
});

const RULES = [{ name: 'preview', prefix: 'videos/', suffixes: ['mp4'] }];

function watcherFor(dropDir: string, clock: { now: number }, lines: string[]) {
  const state: DropState = { uploaded: {}, reported: {} };
  return createDropWatcher({
    dropDir,
    stagingDir: path.join(dir, 'staging'),
    state,
    ignoredReason: (key) => ignoredReason(RULES, key),
    upload: async (key, file) => {
      await client.put(key, file);
      return ((await client.head(key)).res.headers as Record<string, string>)['etag'] ?? '';
    },
    saveState: async () => undefined,
    say: (line) => lines.push(line),
    now: () => clock.now,
  });
}

const mtime = async (file: string) => (await stat(file)).mtimeMs;

describe('npm start drop folder: a file is uploaded once it has stopped changing', () => {
  test('a file written in four chunks, polled twice between chunks, is uploaded once and whole', async () => {
    const dropDir = path.join(dir, 'drop');
    await mkdir(path.join(dropDir, 'videos'), { recursive: true });
    const file = path.join(dropDir, 'videos', 'slow.mp4');
    const lines: string[] = [];
    const clock = { now: 0 };
    const watcher = watcherFor(dropDir, clock, lines);
    const chunks = [0, 1, 2, 3].map((i) => Buffer.alloc(64 * 1024, i + 1));

    for (const chunk of chunks) {
      await appendFile(file, chunk);
      // Two polls see the same size and mtime (as a writer that pauses for more than a poll), but the last write
      // is more recent than DROP_QUIET_MS: still being copied.
      clock.now = (await mtime(file)) + DROP_QUIET_MS - 1;
      await watcher.poll();
      await watcher.poll();
    }
    assert.deepEqual(events.filter((e) => e.oss.object.key === 'videos/slow.mp4'), [], 'nothing uploaded while written');

    clock.now = (await mtime(file)) + DROP_QUIET_MS;
    await watcher.poll();
    await watcher.poll();
    const uploads = events.filter((e) => e.oss.object.key === 'videos/slow.mp4');
    assert.equal(uploads.length, 1);
    assert.deepEqual((await client.get('videos/slow.mp4')).content, Buffer.concat(chunks));
    assert.deepEqual(lines, ['[drop] uploading videos/slow.mp4 (256 KiB)']);
    assert.deepEqual(await readdir(path.join(dir, 'staging')), [], 'the staged copy is removed');
  });

  test('a file rewritten after its upload is uploaded again once still, with the new content', async () => {
    const dropDir = path.join(dir, 'drop-again');
    await mkdir(path.join(dropDir, 'videos'), { recursive: true });
    const file = path.join(dropDir, 'videos', 'again.mp4');
    const lines: string[] = [];
    const clock = { now: 0 };
    const watcher = watcherFor(dropDir, clock, lines);
    await writeFile(file, 'first');
    clock.now = (await mtime(file)) + DROP_QUIET_MS;
    await watcher.poll();
    await watcher.poll();
    await watcher.poll();
    await writeFile(file, 'second version');
    clock.now = (await mtime(file)) + DROP_QUIET_MS;
    await watcher.poll();
    await watcher.poll();
    assert.equal(events.filter((e) => e.oss.object.key === 'videos/again.mp4').length, 2);
    assert.equal(((await client.get('videos/again.mp4')).content as Buffer).toString(), 'second version');
    assert.equal(await readFile(file, 'utf8'), 'second version');
  });

  test('every ignored drop says why, once: a hidden file, a file outside the rules, an extension no rule takes', async () => {
    const dropDir = path.join(dir, 'drop-ignored');
    await mkdir(path.join(dropDir, 'videos'), { recursive: true });
    const lines: string[] = [];
    const clock = { now: 0 };
    const watcher = watcherFor(dropDir, clock, lines);
    for (const name of ['videos/.clip.mp4', 'notes.txt', 'videos/clip.ogv']) await writeFile(path.join(dropDir, name), 'x');
    clock.now = Math.max(...(await Promise.all(['videos/.clip.mp4', 'notes.txt', 'videos/clip.ogv'].map((n) => mtime(path.join(dropDir, n)))))) + DROP_QUIET_MS;
    for (let i = 0; i < 3; i++) await watcher.poll();
    assert.deepEqual(lines.sort(), [
      "[drop] ignoring notes.txt: outside every rule's prefix: put videos under drop/videos/",
      '[drop] ignoring videos/.clip.mp4: .clip.mp4 is hidden (its name starts with a dot): copy tools and editors write such files while they work, so npm start never uploads them; rename it to upload it',
      '[drop] ignoring videos/clip.ogv: no rule takes .ogv here (rule preview takes mp4)',
    ]);
  });
});
