/**
 * The gallery page in a headless Chromium (test/helpers/browser.ts finds one on any machine), against the gallery
 * server with an in-memory job store and a small image server standing in for the bucket's signed links: hover,
 * storyboard scrubbing (the page loads and parses the VTT), search, filters, pagination, the detail view, and
 * refreshes that fetch only data.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { startGallery, type GalleryServer } from '../cli/commands/gallery';
import type { AppSettings } from '../cli/settings';
import type { Target } from '../cli/target';
import type { JobRecord, JobStatus } from '../shared/jobs/job';
import { memoryJobStore } from './helpers/memory-store';
import { storyboardLayout, storyboardVtt } from '../shared/media/storyboard';
import type { Rule } from '../shared/rules/schema';
import { launchTestBrowser } from './helpers/browser';

// The functions passed to page.evaluate run in the browser; the project's tsconfig has no DOM types.
declare const window: any, document: any, location: any, getComputedStyle: any;
type HTMLElement = any;
type HTMLDialogElement = any;

const PAGE_SIZE = 8;
const BOARD = 'videos/storyboard.mp4';
const layout = storyboardLayout({ frames: 4, columns: 2, rows: 2, width: 32, height: 18, margin: 0, pad: 0 }, {}, ['board.jpg']);
const VTT = storyboardVtt(layout, 8);

let browser: Browser | undefined;
let skipReason: string | undefined;
let images: Server;
let imageBase: string;
const imageRequests: string[] = [];
let gallery: GalleryServer;
const store = memoryJobStore();
let signed = 0;
const objects = new Map<string, Buffer>();

function jobId(n: number): string {
  return n.toString(16).padStart(32, '0');
}

function record(n: number, key: string, status: JobStatus, extra: Partial<JobRecord> = {}): JobRecord {
  const createdAt = new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString();
  return {
    schemaVersion: 2,
    jobId: jobId(n),
    bucket: 'bkt',
    key,
    eTag: `E${n}`,
    size: 1000,
    rule: n % 5 === 0 ? 'other' : 'preview',
    engine: 'imm',
    status,
    outputs: [{ key: `previews/${n}.gif`, format: 'gif', maxFrames: 300, frames: 12, bytes: 2048 }],
    attempts: [],
    createdAt,
    updatedAt: createdAt,
    error: status === 'failed' ? { code: 'InvalidFile.Media', message: `video ${n} is not a video` } : null,
    ...extra,
  } as JobRecord;
}

async function save(job: JobRecord, _previous?: JobRecord): Promise<void> {
  store.seed(job);
  await store.indexJob(job);
}

before(async () => {
  const launched = await launchTestBrowser();
  if ('unavailable' in launched) {
    skipReason = launched.unavailable;
    return;
  }
  browser = launched.browser;
  const gif = await sharp({ create: { width: 32, height: 18, channels: 3, background: '#3b82f6' } }).gif().toBuffer();
  const sheet = await sharp({ create: { width: 64, height: 36, channels: 3, background: '#f59e0b' } }).jpeg().toBuffer();
  images = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname.slice(1));
    imageRequests.push(path);
    const body = path.endsWith('.jpg') ? sheet : gif;
    response.writeHead(200, { 'content-type': path.endsWith('.jpg') ? 'image/jpeg' : 'image/gif' });
    response.end(body);
  });
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  imageBase = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;

  // 20 videos, one job each; video 3 has an older failed job; video 19 is still running; one has a storyboard.
  for (let n = 1; n <= 20; n++) {
    const status: JobStatus = n === 19 ? 'submitted' : n % 4 === 0 ? 'failed' : 'succeeded';
    await save(record(n, `videos/clip-${String(n).padStart(2, '0')}.mp4`, status, n === 19 ? { outputs: [{ key: 'previews/19.gif', format: 'gif', maxFrames: 300, plannedFrames: 12 }] } : {}));
  }
  await save(record(0, 'videos/clip-03.mp4', 'failed'));
  await save(
    record(30, BOARD, 'succeeded', {
      outputs: [
        { key: 'previews/30.gif', format: 'gif', maxFrames: 300, frames: 12, bytes: 2048 },
        { key: 'posters/board.jpg', format: 'jpg', maxFrames: 1, frames: 1, bytes: 900 },
        { key: 'boards/board.jpg', format: 'jpg', maxFrames: 4, frames: 4, bytes: 1200 },
        { key: 'boards/board.vtt', format: 'vtt', maxFrames: 0, bytes: VTT.length },
      ] as unknown as JobRecord['outputs'],
    }),
  );
  objects.set('boards/board.vtt', Buffer.from(VTT));

  const target = {
    bucket: 'bkt',
    store,
    // A new signature on every call: only the gallery's own link cache keeps URLs stable.
    signedUrl: (key: string) => `${imageBase}/${encodeURIComponent(key)}?signature=${++signed}`,
    oss: { get: async (key: string) => ({ content: objects.get(key) }) },
  } as unknown as Target;
  const rules = [{ name: 'preview' }, { name: 'other' }] as Rule[];
  const settings = { specFile: 's.yaml', region: 'cn-hangzhou', bucket: 'bkt', recordsPrefix: 'records/', submitFunction: 'submit', rules, reconcileAfterSeconds: 900 } as AppSettings;
  gallery = await startGallery(settings, target, { pageSize: PAGE_SIZE });
});

after(async () => {
  await browser?.close();
  await gallery?.close();
  if (images) await new Promise<void>((resolve) => images.close(() => resolve()));
});

async function openPage(query = ''): Promise<{ page: Page; external: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1000, height: 700 } });
  const external: string[] = [];
  if (process.env.DEBUG_GALLERY) {
    page.on('console', (m) => console.error('console:', m.text()));
    page.on('pageerror', (e) => console.error('pageerror:', e.message));
    page.on('response', (r) => console.error('response:', r.status(), r.url()));
  }
  page.on('request', (request) => {
    if (new URL(request.url()).hostname !== '127.0.0.1') external.push(request.url());
  });
  await page.goto(`${gallery.url}${query}`);
  await page.locator('.tile').first().waitFor();
  return { page, external };
}

const tileKeys = (page: Page) => page.locator('.tile').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-key')));

describe('gallery page (headless Chromium)', () => {
  test('a grid of the newest videos, one tile per video, status at a glance, nothing from outside', async (t) => {
    if (!browser) return t.skip(skipReason);
    const { page, external } = await openPage();
    assert.equal(await page.locator('.tile').count(), PAGE_SIZE);
    assert.deepEqual((await tileKeys(page)).slice(0, 3), [BOARD, 'videos/clip-20.mp4', 'videos/clip-19.mp4']);
    assert.equal(await page.locator('.tile[data-key="videos/clip-20.mp4"] .badge').textContent(), 'failed');
    assert.match((await page.locator('#summary').textContent()) ?? '', /21 video\(s\) of 22 job\(s\)/);
    assert.equal(await page.locator('#pageinfo').textContent(), 'page 1 of 3');
    assert.deepEqual(external, []);
    await page.close();
  });

  test('hover and keyboard focus play the animation; the poster stands still until then', async (t) => {
    if (!browser) return t.skip(skipReason);
    const { page } = await openPage();
    const tile = page.locator('.tile[data-key="videos/clip-18.mp4"]');
    const animVisible = () => tile.locator('.anim').evaluate((n) => getComputedStyle(n).visibility);
    assert.equal(await animVisible(), 'hidden');
    await tile.locator('button').hover();
    assert.equal(await animVisible(), 'visible');
    await page.mouse.move(990, 690);
    assert.equal(await animVisible(), 'hidden');
    await tile.locator('button').focus();
    assert.equal(await animVisible(), 'visible', 'keyboard focus plays it too');
    await page.close();
  });

  test('the storyboard scrubs under the pointer: the VTT is loaded, parsed, and the right tile shown', async (t) => {
    if (!browser) return t.skip(skipReason);
    const { page } = await openPage();
    const cues = await page.evaluate((text) => (window as unknown as { galleryParseVtt(t: string): unknown[] }).galleryParseVtt(text), VTT);
    assert.deepEqual(cues[2], { start: 4, end: 6, sheet: 'board.jpg', x: 0, y: 18, w: 32, h: 18 });
    const tile = page.locator(`.tile[data-key="${BOARD}"]`);
    const box = (await tile.locator('.frame').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
    await page.waitForFunction(() => document.querySelector('.tile.scrubbing .scrub')?.getAttribute('data-cue') === '2 board.jpg#xywh=0,18,32,18');
    await page.mouse.move(box.x + box.width * 0.1, box.y + box.height / 2);
    await page.waitForFunction(() => document.querySelector('.tile.scrubbing .scrub')?.getAttribute('data-cue') === '0 board.jpg#xywh=0,0,32,18');
    assert.match(await tile.locator('.scrub').evaluate((n) => (n as HTMLElement).style.backgroundImage), /boards%2Fboard\.jpg\?signature=\d+/);
    assert.equal(await tile.locator('.still').getAttribute('src').then((s) => /posters%2Fboard\.jpg/.test(s ?? '')), true, 'the poster is the still');
    await page.close();
  });

  test('search by key, filter by status and rule, page through the rest', async (t) => {
    if (!browser) return t.skip(skipReason);
    const { page } = await openPage();
    await page.fill('#q', 'CLIP-1');
    await page.waitForFunction(() => document.querySelectorAll('.tile').length === 8 && location.search.includes('q=CLIP-1'));
    assert.ok((await tileKeys(page)).every((k) => k!.startsWith('videos/clip-1')));
    await page.click('#next');
    await page.waitForFunction(() => document.getElementById('pageinfo')?.textContent === 'page 2 of 2');
    assert.deepEqual(await tileKeys(page), ['videos/clip-11.mp4', 'videos/clip-10.mp4']);
    await page.fill('#q', '');
    await page.selectOption('#status', 'failed');
    await page.waitForFunction(() => [...document.querySelectorAll('.tile')].every((n) => n.getAttribute('data-status') === 'failed') && document.querySelectorAll('.tile').length === 5);
    await page.selectOption('#rule', 'other');
    await page.waitForFunction(() => document.querySelectorAll('.tile').length === 2);
    // A rule filter shows each video's latest job of that rule: clip-03's older failed job is rule "other".
    assert.deepEqual(await tileKeys(page), ['videos/clip-20.mp4', 'videos/clip-03.mp4']);
    await page.close();
  });

  test('the detail view lists every output, the failure and the history, with copyable links', async (t) => {
    if (!browser) return t.skip(skipReason);
    const { page } = await openPage('?q=clip-03');
    await page.locator('.tile button').click();
    const dialog = page.locator('dialog#detail');
    assert.equal(await dialog.evaluate((d) => (d as HTMLDialogElement).open), true);
    assert.equal(await page.locator('#detail-title').textContent(), 'videos/clip-03.mp4');
    assert.equal(await dialog.locator('summary').textContent(), 'History: 1 older job');
    assert.match((await dialog.locator('.history .error').textContent()) ?? '', /failed: InvalidFile\.Media: video 0 is not a video/);
    const row = await dialog.locator('.job').first().locator('tbody tr td').allTextContents();
    assert.deepEqual(row.slice(0, 6).map((c, i) => (i === 2 ? c.replace(/\d+×\d+|^$/, 'px') : c)), ['animation', 'GIF', 'px', '12', '2.0 KiB', 'previews/3.gif']);
    assert.equal(await dialog.locator('.job').first().locator('button.copy').count(), 1);
    await page.keyboard.press('Escape');
    assert.equal(await dialog.evaluate((d) => (d as HTMLDialogElement).open), false);
    await page.close();
  });

  test('refreshes fetch only data: unchanged images are not downloaded again, and a finished job stops the refreshing', async (t) => {
    if (!browser) return t.skip(skipReason);
    const { page } = await openPage('?q=clip-19');
    assert.equal(await page.locator('.tile').getAttribute('data-status'), 'submitted');
    const before = imageRequests.length;
    const statuses: number[] = [];
    page.on('response', (response) => {
      if (response.url().includes('/api/jobs')) statuses.push(response.status());
    });
    await page.evaluate(() => (window as unknown as { galleryRefresh(): Promise<void> }).galleryRefresh());
    assert.deepEqual(statuses, [304], 'nothing changed: 304, no body');

    await save(record(19, 'videos/clip-19.mp4', 'succeeded'), record(19, 'videos/clip-19.mp4', 'submitted'));
    const other = await openPage('?q=clip-18');
    const requestsOfOther = imageRequests.length;
    await other.page.evaluate(() => (window as unknown as { galleryRefresh(): Promise<void> }).galleryRefresh());
    assert.equal(imageRequests.length, requestsOfOther, 'an unchanged tile keeps its images');
    await other.page.close();

    await page.evaluate(() => (window as unknown as { galleryRefresh(): Promise<void> }).galleryRefresh());
    await page.waitForFunction(() => document.querySelector('.tile')?.getAttribute('data-status') === 'succeeded');
    assert.ok(imageRequests.slice(before).includes('previews/19.gif'), 'the finished job’s animation is loaded once');
    assert.match((await page.locator('#summary').textContent()) ?? '', /^(?!.*refreshing)/);
    await page.close();
  });
});
