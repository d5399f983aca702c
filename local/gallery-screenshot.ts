/**
 * `npm run screenshot`: the README's docs/gallery.png, taken from a small library on a throwaway local stack.
 *
 * Six generated videos (each its own ffmpeg pattern, so every tile shows its own poster) go through the whole
 * pipeline with the default rules of s.yaml and real conversion; one of them is uploaded twice (a failed first
 * version, then a good one: its tile has a history); a file that is not a video fails with IMM's code; and one
 * upload's completion notice is lost, so its job stays open ("submitted") as a running one would. Then the gallery
 * (the command's own server, `--local`) is opened in headless Chromium (Debian's /usr/bin/chromium, CHROMIUM_PATH,
 * or the `@sparticuz/chromium` dev dependency: test/helpers/browser.ts) at 1000x700 and photographed once every
 * image has loaded. `--out <file>` writes elsewhere. Nothing is left behind but the PNG.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ffmpegPath } from '@video-animation/local-cloud';
import sharp from 'sharp';
import { startGallery } from '../cli/commands/gallery';
import { loadAppSettings } from '../cli/settings';
import { connect } from '../cli/target';
import { launchTestBrowser } from '../test/helpers/browser';
import { listJobRecords } from './inspect';
import { startStack } from './stack';

// The functions passed to page.evaluate run in the browser; the project's tsconfig has no DOM types.
declare const document: any;

const ROOT = path.resolve(__dirname, '..');
const VIEWPORT = { width: 1000, height: 700 };
/** The README shows the picture at its size: above this it is too heavy for a repository. */
const MAX_BYTES = 300 * 1024;

/** Key under the watched prefix, and the ffmpeg lavfi source of its 4 s, 640x360, 25 fps video. */
const LIBRARY: { key: string; source: string }[] = [
  { key: 'videos/library/mandelbrot zoom.mp4', source: 'mandelbrot=size=640x360:rate=25' },
  { key: 'videos/library/game of life.mp4', source: 'life=size=640x360:rate=25:mold=10:ratio=0.1:death_color=#202040:life_color=#40c0ff' },
  { key: 'videos/library/test card.mp4', source: 'testsrc2=size=640x360:rate=25' },
  { key: 'videos/library/colour bars.mp4', source: 'smptehdbars=size=640x360:rate=25' },
  { key: 'videos/library/plasma.mp4', source: "geq=r='128+127*sin(X/40+T*2)':g='128+127*sin(Y/30+T*3)':b='128+127*sin((X+Y)/50+T)',format=yuv420p" },
  { key: 'videos/library/ripples.mp4', source: "geq=r='128+127*sin(hypot(X-320,Y-180)/12-T*6)':g='96+64*sin(hypot(X-320,Y-180)/20-T*4)':b='200',format=yuv420p" },
];
/** Uploaded first, as a broken file, then as a video: two jobs for one key. */
const RE_UPLOADED = 'videos/library/test card.mp4';
const NOT_A_VIDEO = 'videos/uploads/not a video.mp4';
/** Its notice is lost: the job stays submitted (reconcile would finish it; the run ends first). */
const STILL_OPEN = 'videos/uploads/arriving now.mp4';

async function makeVideo(file: string, source: string): Promise<void> {
  // geq needs an input to draw on; the other sources make their own frames.
  const input = source.startsWith('geq=') ? `nullsrc=size=640x360:rate=25,${source}` : source;
  // prettier-ignore
  await promisify(execFile)(ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `${input},format=yuv420p`, '-t', '4',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', file,
  ]);
}

async function main(): Promise<void> {
  const outIndex = process.argv.indexOf('--out');
  const out = path.resolve(outIndex > 0 ? process.argv[outIndex + 1]! : path.join(ROOT, 'docs', 'gallery.png'));
  const dir = await mkdtemp(path.join(tmpdir(), 'video-animation-screenshot-'));
  const launched = await launchTestBrowser();
  if ('unavailable' in launched) throw new Error(launched.unavailable);
  const browser = launched.browser;
  // The first notice is dropped: STILL_OPEN goes first.
  const stack = await startStack({ dataDir: dir, ossStorage: 'memory', faults: { notices: { dropFirst: 1 } } });
  try {
    const client = stack.ossClient();
    const say = (line: string) => console.log(`[screenshot] ${line}`);
    const put = async (key: string, file: string) => {
      await client.put(key, file);
      await stack.idle();
    };
    const junk = path.join(dir, 'junk.mp4');
    await writeFile(junk, randomBytes(64 * 1024));
    const first = path.join(dir, 'first.mp4');
    await makeVideo(first, LIBRARY[0]!.source);
    say(`${STILL_OPEN}: its completion notice is dropped, the job stays open`);
    await put(STILL_OPEN, first);
    say(`${RE_UPLOADED}: a broken first version`);
    await put(RE_UPLOADED, junk);
    for (const [index, video] of LIBRARY.entries()) {
      const file = path.join(dir, `video-${index}.mp4`);
      await makeVideo(file, video.source);
      say(video.key);
      await put(video.key, file);
    }
    say(`${NOT_A_VIDEO}: 64 KiB of noise`);
    await put(NOT_A_VIDEO, junk);

    const records = await listJobRecords(client, stack.spec.functions.find((f) => f.resource === 'submit')?.env['RECORDS_PREFIX'] ?? '.video-animation/');
    const byStatus = records.reduce<Record<string, number>>((counts, r) => ({ ...counts, [r.status]: (counts[r.status] ?? 0) + 1 }), {});
    say(`jobs: ${JSON.stringify(byStatus)}`);
    const good = LIBRARY.filter((video) => records.some((r) => r.key === video.key && r.status === 'succeeded')).length;
    if (good !== LIBRARY.length || byStatus['failed'] !== 2 || byStatus['submitted'] !== 1) {
      throw new Error(`the library is not as planned (every video succeeded, 2 failed jobs, 1 open): ${JSON.stringify(byStatus)}`);
    }

    const settings = await loadAppSettings(path.join(ROOT, 's.yaml'));
    const gallery = await startGallery(settings, await connect(settings, { local: true, localDir: dir }));
    try {
      const page = await browser.newPage({ viewport: VIEWPORT });
      await page.goto(gallery.url, { waitUntil: 'load' });
      await page.waitForFunction((count: number) => document.querySelectorAll('.tile').length === count, LIBRARY.length + 2);
      await page.waitForFunction(() => [...document.querySelectorAll('.tile img.still, .tile img.anim')].every((img: { complete: boolean; naturalWidth: number }) => img.complete && img.naturalWidth > 0));
      // 256 colours: the picture stays readable at a third of the bytes of Chromium's PNG.
      await writeFile(out, await sharp(await page.screenshot()).png({ palette: true, quality: 90, effort: 10, compressionLevel: 9 }).toBuffer());
      await page.close();
    } finally {
      await gallery.close();
    }
    const { size } = await stat(out);
    say(`${path.relative(process.cwd(), out)}: ${VIEWPORT.width}x${VIEWPORT.height}, ${(size / 1024).toFixed(0)} KiB (Chromium: ${launched.source})`);
    if (size > MAX_BYTES) throw new Error(`${out} is ${size} bytes, above ${MAX_BYTES}: too heavy for the README`);
  } finally {
    await browser.close();
    await stack.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`npm run screenshot failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
