import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { startGallery, type GalleryServer } from '../cli/commands/gallery';
import { loadAppSettings } from '../cli/settings';
import { connect } from '../cli/target';
import { startTestStack, type TestStack } from './helpers/stack';

const ROOT = path.join(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'video-animation.cjs');
/** Debian's chromium package (.ci/run installs it); Playwright's own browser download is not used. */
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** The README's screenshot, rewritten with UPDATE_SCREENSHOT=1 (the 1000x700 viewport keeps the PNG small). */
const README_SCREENSHOT = path.join(ROOT, 'docs', 'gallery.png');

let stack: TestStack;
let gallery: GalleryServer;
let browserHome: string;
/** A fresh profile per run (launchPersistentContext's user-data-dir). */
let persistent: BrowserContext | undefined;
const good = 'videos/gallery/good clip & <more>.mp4';
const bad = 'videos/gallery/not a video.mp4';

before(async () => {
  try {
    await access(CHROMIUM);
  } catch {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y --no-install-recommends chromium; .ci/run does), or set CHROMIUM_PATH`);
  }
  stack = await startTestStack();
  await stack.uploadGoodAndBad(good, bad);
  const settings = await loadAppSettings(path.join(ROOT, 's.yaml'));
  gallery = await startGallery(settings, await connect(settings, { local: true, localDir: stack.dir }));
  browserHome = await mkdtemp(path.join(tmpdir(), 'video-animation-chromium-'));
  persistent = await chromium.launchPersistentContext(browserHome, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1000, height: 700 } });
});

after(async () => {
  await persistent?.close();
  await gallery?.close();
  await stack?.stop();
  if (browserHome) await rm(browserHome, { recursive: true, force: true });
});

describe('gallery (headless Chromium against the local stack)', () => {
  test('the page loads, every animation decodes, the failed job shows its code and message', async (t) => {
    const page = await persistent!.newPage();
    const external: string[] = [];
    page.on('request', (request) => {
      const host = new URL(request.url()).hostname;
      if (host !== '127.0.0.1' && host !== 'localhost') external.push(request.url());
    });
    const response = await page.goto(gallery.url, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);
    assert.match(await page.title(), /video-animation gallery/);

    // Both sources, the file name with markup characters shown as text (escaped), newest first.
    const headings = await page.locator('h2').allTextContents();
    assert.deepEqual(headings.sort(), [bad, good].sort());

    const images = await page.locator('img').evaluateAll((nodes) =>
      nodes.map((n) => {
        const img = n as unknown as { currentSrc: string; complete: boolean; naturalWidth: number; naturalHeight: number };
        return { src: img.currentSrc, complete: img.complete, width: img.naturalWidth, height: img.naturalHeight };
      }),
    );
    assert.equal(images.length, 2, 'a GIF and a WebP of the good video');
    for (const image of images) {
      assert.ok(image.complete && image.width > 0 && image.height > 0, `decoded: ${image.src}`);
      assert.match(image.src, /^http:\/\/localhost:\d+\/.*(gif|webp)\?.*x-oss-signature=[0-9a-f]{64}/);
    }
    const captions = (await page.locator('figcaption').allTextContents()).join('\n');
    assert.match(captions, /GIF, 24 frames, [\d.]+ KiB/);
    assert.match(captions, /WEBP, \d+ frames, [\d.]+ KiB/);
    assert.match(captions, /\d+x\d+ px/, 'pixel sizes from the decoded images');

    const failed = page.locator('[data-status="failed"] .error');
    assert.equal(await failed.count(), 1);
    assert.match((await failed.textContent()) ?? '', /failed: InvalidFile\.Media: \S/);
    assert.equal(await page.locator('meta[http-equiv="refresh"]').count(), 0, 'no refresh once every job ended');
    assert.deepEqual(external, [], 'no request leaves the machine');

    // A filter link narrows the page to the failed job.
    await page.click('nav a[href*="status=failed"]');
    assert.deepEqual(await page.locator('h2').allTextContents(), [bad]);
    assert.equal(await page.locator('img').count(), 0);
    await page.goto(gallery.url);

    // The artefact outlives the stack's folder (removed after the tests): next to it in the temp dir.
    const artefact = path.join(tmpdir(), `video-animation-gallery-${process.pid}.png`);
    await page.screenshot({ path: artefact });
    t.diagnostic(`screenshot: ${artefact}`);
    assert.ok((await stat(artefact)).size < 300 * 1024, 'a 1000x700 screenshot stays small');
    // Refreshing the README's picture is a choice (UPDATE_SCREENSHOT=1), so test runs leave the work tree clean.
    if (process.env['UPDATE_SCREENSHOT'] === '1') {
      await mkdir(path.dirname(README_SCREENSHOT), { recursive: true });
      await page.screenshot({ path: README_SCREENSHOT });
      t.diagnostic(`README screenshot: ${README_SCREENSHOT}`);
    }
    await page.close();
  });

  test('bad query values answer 400; other hosts 421; only GET', async () => {
    assert.equal((await fetch(`${gallery.url}?status=done`)).status, 400);
    assert.equal((await fetch(`${gallery.url}?page=0`)).status, 400);
    assert.equal((await fetch(`${gallery.url}?rule=nope`)).status, 400);
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
    const html = await (await fetch(gallery.url)).text();
    assert.ok(!html.includes('<more>'), 'the key is escaped');
    assert.ok(html.includes('good clip &amp; &lt;more&gt;.mp4'));
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
    const html = await (await fetch(url)).text();
    assert.match(html, /InvalidFile\.Media/);
    assert.ok(!html.includes('<img'), '--status failed: no animations');
    const code = await new Promise<number | null>((resolve) => {
      child.on('close', resolve);
      child.kill('SIGTERM');
    });
    assert.equal(code, 0, stderr);
  });
});
