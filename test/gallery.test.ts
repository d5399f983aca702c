import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startGallery, type GalleryServer } from '../cli/commands/gallery';
import { loadAppSettings } from '../cli/settings';
import { connect } from '../cli/target';
import { launchTestBrowser } from './helpers/browser';
import { startTestStack, type TestStack } from './helpers/stack';

// The functions passed to page.evaluate run in the browser; the project's tsconfig has no DOM types.
declare const document: any;

const ROOT = path.join(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'video-animation.cjs');

let stack: TestStack;
let gallery: GalleryServer;
let browser: Browser | undefined;
let skipReason: string | undefined;
const good = 'videos/gallery/good clip & <more>.mp4';
const bad = 'videos/gallery/not a video.mp4';

before(async () => {
  stack = await startTestStack();
  await stack.uploadGoodAndBad(good, bad);
  const settings = await loadAppSettings(path.join(ROOT, 's.yaml'));
  gallery = await startGallery(settings, await connect(settings, { local: true, localDir: stack.dir }));
  const launched = await launchTestBrowser();
  if ('browser' in launched) browser = launched.browser;
  else skipReason = launched.unavailable;
});

after(async () => {
  await browser?.close();
  await gallery?.close();
  await stack?.stop();
});

describe('gallery (headless Chromium against the local stack)', () => {
  test('the page loads, every animation decodes, the failed job shows its code and message', async (t) => {
    if (!browser) return t.skip(skipReason);
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    const external: string[] = [];
    page.on('request', (request) => {
      const host = new URL(request.url()).hostname;
      if (host !== '127.0.0.1' && host !== 'localhost') external.push(request.url());
    });
    const response = await page.goto(gallery.url, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
    assert.match(await page.title(), /video-animation gallery/);
    await page.locator('.tile').nth(1).waitFor();

    // One tile per video, the file name with markup characters shown as text.
    const keys = await page.locator('.tile').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-key')));
    assert.deepEqual(keys.sort(), [bad, good].sort());

    await page.waitForFunction(() => [...document.querySelectorAll('img.anim')].every((img: { complete: boolean; naturalWidth: number }) => img.complete && img.naturalWidth > 0));
    const sources = await page.locator('img.anim').evaluateAll((nodes) => nodes.map((n) => (n as unknown as { currentSrc: string }).currentSrc));
    assert.equal(sources.length, 1, 'the good video\'s tile shows its first animation');
    assert.match(sources[0]!, /^http:\/\/localhost:\d+\/.*(gif|webp)\?.*x-oss-signature=[0-9a-f]{64}/);

    // The detail view: both animations decoded, with frames and sizes.
    await page.locator(`.tile[data-key="${good}"] button`).click();
    await page.waitForFunction(() => [...document.querySelectorAll('#detail td.px')].every((td: { textContent: string }) => /\d+×\d+/.test(td.textContent)));
    const rows = (await page.locator('#detail tbody tr').allTextContents()).join('\n');
    assert.match(rows, /animationGIF\d+×\d+24[\d.]+ KiB/);
    assert.match(rows, /animationWEBP\d+×\d+\d+[\d.]+ KiB/);
    await page.keyboard.press('Escape');

    await page.locator(`.tile[data-key="${bad}"] button`).click();
    assert.match((await page.locator('#detail .error').textContent()) ?? '', /failed: InvalidFile\.Media: \S/);
    await page.keyboard.press('Escape');
    assert.doesNotMatch((await page.locator('#summary').textContent()) ?? '', /refreshing/, 'no refresh once every job ended');
    assert.deepEqual(external, [], 'no request leaves the machine');

    // The status filter narrows the grid to the failed video.
    await page.selectOption('#status', 'failed');
    await page.waitForFunction(() => document.querySelectorAll('.tile').length === 1);
    assert.equal(await page.locator('.tile').getAttribute('data-key'), bad);
    await page.selectOption('#status', '');
    await page.locator('.tile').nth(1).waitFor();

    // The artefact outlives the stack's folder (removed after the tests): next to it in the temp dir.
    const artefact = path.join(tmpdir(), `video-animation-gallery-${process.pid}.png`);
    await page.screenshot({ path: artefact });
    t.diagnostic(`screenshot: ${artefact}`);
    assert.ok((await stat(artefact)).size < 300 * 1024, 'a 1000x700 screenshot stays small');
    // The README's picture (docs/gallery.png) is a library, not these two videos: npm run screenshot takes it.
    await page.close();
  });

  test('bad query values answer 400; other hosts 421; only GET', async () => {
    assert.equal((await fetch(`${gallery.url}api/jobs?status=done`)).status, 400);
    assert.equal((await fetch(`${gallery.url}api/jobs?page=0`)).status, 400);
    assert.equal((await fetch(`${gallery.url}api/jobs?rule=nope`)).status, 400);
    assert.equal((await fetch(`${gallery.url}api/vtt?key=${encodeURIComponent(good)}`)).status, 404, 'the server reads only storyboards of listed jobs');
    assert.equal((await fetch(`${gallery.url}nothing`)).status, 404);
    assert.equal((await fetch(gallery.url, { method: 'POST' })).status, 405);
    const port = new URL(gallery.url).port;
    const rebound = await new Promise<number | undefined>((resolve, reject) =>
      get({ host: '127.0.0.1', port, path: '/', headers: { host: `evil.example:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).on('error', reject),
    );
    assert.equal(rebound, 421);
    const data = (await (await fetch(`${gallery.url}api/jobs`)).json()) as { videos: { key: string }[] };
    assert.deepEqual(data.videos.map((v) => v.key).sort(), [bad, good].sort());
    const first = await fetch(`${gallery.url}api/jobs`);
    const again = await fetch(`${gallery.url}api/jobs`, { headers: { 'if-none-match': first.headers.get('etag')! } });
    assert.equal(again.status, 304, 'an unchanged library answers 304');
    assert.equal(JSON.stringify(await first.json()), JSON.stringify(data), 'the same signed links on every request');
  });

  test('the binary prints its address on 127.0.0.1 and stops on SIGTERM with exit 0', async () => {
    const child = spawn(process.execPath, [BIN, 'gallery', '--local', '--status', 'failed'], {
      cwd: ROOT,
      env: { ...process.env, VIDEO_ANIMATION_LOCAL: stack.dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        const match = /http:\/\/127\.0\.0\.1:\d+\//.exec(stdout);
        if (match) resolve(match[0]);
      });
      child.on('close', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    const data = (await (await fetch(`${url}api/jobs`)).json()) as { videos: { latest: { error: { code: string } | null } }[] };
    assert.deepEqual(data.videos.map((v) => v.latest.error?.code), ['InvalidFile.Media'], '--status failed: the failed video only');
    const code = await new Promise<number | null>((resolve) => {
      child.on('close', resolve);
      child.kill('SIGTERM');
    });
    assert.equal(code, 0, stderr);
  });
});
