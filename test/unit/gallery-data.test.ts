import assert from 'node:assert/strict';
// Static imports: the mutation runner loads test files with tsx's CommonJS hook only, where import() of .ts fails.
import { startGallery } from '../../cli/commands/gallery';
import { memoryJobStore } from '../helpers/memory-store';
import { describe, it } from 'node:test';
import { buildGalleryData, escapeHtml, galleryFiles, outputKinds, parseQuery, renderShell } from '../../cli/commands/gallery';
import type { JobRecord, JobStatus } from '../../shared/jobs/job';

function job(n: number, key: string, status: JobStatus, rule = 'preview'): JobRecord {
  const at = new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString();
  return {
    schemaVersion: 2,
    jobId: n.toString(16).padStart(32, '0'),
    bucket: 'bkt',
    key,
    eTag: `E${n}`,
    size: 1,
    rule,
    engine: 'imm',
    status,
    outputs: [{ key: `p/${n}.gif`, format: 'gif', maxFrames: 300, ...(status === 'succeeded' ? { frames: 10, bytes: 100 } : { plannedFrames: 10 }) }],
    attempts: [],
    createdAt: at,
    updatedAt: at,
    error: status === 'failed' ? { code: 'InvalidFile.Media', message: 'no' } : null,
  } as JobRecord;
}

const context = { bucket: 'bkt', rules: ['preview', 'other'], pricing: { currency: 'USD', pricePerFrame: 0.001 }, sign: (key: string) => `https://signed/${key}`, pageSize: 2 };

describe('gallery data', () => {
  const records = [job(1, 'v/a.mp4', 'failed'), job(2, 'v/a.mp4', 'succeeded'), job(3, 'v/b.mp4', 'submitted'), job(4, 'v/c.mp4', 'failed', 'other'), job(5, 'v/D.mp4', 'succeeded')];

  it('one video per key, newest first, its latest job in front and the rest as history', () => {
    const data = buildGalleryData(records, { page: 1 }, context);
    assert.deepEqual(data.videos.map((v) => v.key), ['v/D.mp4', 'v/c.mp4']);
    assert.equal(data.matching, 4);
    assert.equal(data.jobs, 5);
    assert.equal(data.pages, 2);
    const page2 = buildGalleryData(records, { page: 2 }, context);
    assert.deepEqual(page2.videos.map((v) => [v.key, v.latest.status, v.history.map((h) => h.status)]), [
      ['v/b.mp4', 'submitted', []],
      ['v/a.mp4', 'succeeded', ['failed']],
    ]);
    assert.equal(page2.open, true, 'a submitted job on the page keeps it refreshing');
    assert.equal(data.open, false);
  });

  it('links only once a job succeeded; planned frames are marked; costs from the pricing', () => {
    const [d, c] = buildGalleryData(records, { page: 1 }, context).videos;
    assert.deepEqual(d!.latest.outputs[0], { key: 'p/5.gif', kind: 'animation', format: 'gif', frames: 10, plannedOnly: false, bytes: 100, url: 'https://signed/p/5.gif', estimatedCost: { amount: 0.01, currency: 'USD' } });
    assert.equal(c!.latest.outputs[0]!.url, null);
    assert.equal(c!.latest.outputs[0]!.plannedOnly, true);
  });

  it('searches keys in any case; filters by rule (each video’s latest job of it) and by the latest job’s status', () => {
    const keys = (query: Parameters<typeof buildGalleryData>[1]) => buildGalleryData(records, query, { ...context, pageSize: 10 }).videos.map((v) => v.key);
    assert.deepEqual(keys({ page: 1, q: 'd.MP4' }), ['v/D.mp4']);
    assert.deepEqual(keys({ page: 1, status: 'failed' }), ['v/c.mp4']);
    assert.deepEqual(keys({ page: 1, rule: 'other' }), ['v/c.mp4']);
    assert.deepEqual(keys({ page: 1, q: 'nothing' }), []);
  });

  it('sorts outputs into animations, posters, storyboards and their sheets', () => {
    assert.deepEqual(
      outputKinds([
        { key: 'p/a.webp', format: 'webp' },
        { key: 'posters/a.jpg', format: 'jpg' },
        { key: 'boards/a-1.jpg', format: 'jpg' },
        { key: 'boards/a-2.jpg', format: 'jpg' },
        { key: 'boards/a.vtt', format: 'vtt' },
        { key: 'boards/a.png', format: 'png', kind: 'poster' },
      ]),
      ['animation', 'poster', 'sheet', 'sheet', 'storyboard', 'poster'],
    );
  });

  it('a storyboard carries its VTT through the gallery server and its sheets by the names the cues use', () => {
    const board = { ...job(9, 'v/e.mp4', 'succeeded'), outputs: [{ key: 'boards/e/e.jpg', format: 'jpg' }, { key: 'boards/e/e.vtt', format: 'vtt' }] } as unknown as JobRecord;
    assert.deepEqual(buildGalleryData([board], { page: 1 }, context).videos[0]!.latest.storyboard, {
      vtt: '/api/vtt?key=boards%2Fe%2Fe.vtt',
      sheets: { 'e.jpg': 'https://signed/boards/e/e.jpg' },
    });
  });

  it('reads the query, with the command line’s filters as defaults that a present parameter overrides', () => {
    const rules = ['preview', 'other'];
    assert.deepEqual(parseQuery(new URLSearchParams('q=%20clip%20&page=2'), rules, { status: 'failed' }), { q: 'clip', status: 'failed', page: 2 });
    assert.deepEqual(parseQuery(new URLSearchParams('status='), rules, { status: 'failed' }), { page: 1 });
    assert.throws(() => parseQuery(new URLSearchParams('rule=nope'), rules), /No rule named "nope"/);
    assert.throws(() => parseQuery(new URLSearchParams('status=done'), rules), /"done" is not a job status/);
    assert.throws(() => parseQuery(new URLSearchParams('page=0'), rules), /"page" must be a whole number/);
  });

  it('the shell escapes the bucket and carries no external asset', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const html = renderShell('b<u>', 'n0nce');
    assert.ok(html.includes('bucket b&lt;u&gt;'));
    assert.ok(!/(src|href)="(https?:)?\/\//.test(html));
    assert.equal(html.match(/nonce="n0nce"/g)?.length, 2);
  });
});

describe('gallery server reads', () => {
  it('with thousands of jobs, a refresh lists the index and reads only the records whose entry changed', async () => {
    const store = memoryJobStore();
    const JOBS = 2000;
    for (let n = 0; n < JOBS; n++) {
      const record = job(n, `v/${n % 700}.mp4`, n % 3 === 0 ? 'failed' : 'succeeded');
      store.seed(record);
      await store.indexJob(record);
    }
    let gets = 0;
    const counted = { ...store, loadJob: (jobId: string) => (gets++, store.loadJob(jobId)) };
    let signatures = 0;
    const target = { bucket: 'bkt', store: counted, signedUrl: (key: string) => `http://127.0.0.1:9/${key}?s=${++signatures}` } as unknown as import('../../cli/target').Target;
    const settings = { rules: [{ name: 'preview' }] } as import('../../cli/settings').AppSettings;
    const server = await startGallery(settings, target);
    try {
      const page = async (query = '') => (await (await fetch(`${server.url}api/jobs${query}`)).json()) as { matching: number; videos: { key: string; latest: { outputs: { url: string | null }[] } }[] };
      const first = await page();
      assert.equal(first.matching, 700);
      assert.equal(gets, JOBS, 'the first request reads every record once');
      const second = await page('?page=20');
      assert.equal(second.videos.length, 24);
      assert.equal(gets, JOBS, 'paging reads nothing more');
      const before = await page('?q=v/5.mp4');
      const moved = job(5, 'v/5.mp4', 'failed');
      store.seed(moved);
      await store.indexJob(moved);
      const after = await page('?q=v/5.mp4');
      assert.equal(gets, JOBS + 1, 'one job moved: one GET');
      assert.notDeepEqual(after, before);
      const again = await page();
      assert.deepEqual(again.videos.map((v) => v.latest.outputs[0]!.url), first.videos.map((v) => v.latest.outputs[0]!.url), 'the same signed links');
    } finally {
      await server.close();
    }
  });
});

describe('galleryFiles', () => {
  it("lists a storyboard as its WebVTT file and its sheets, each with its bucket and bytes; other outputs as they are", () => {
    const record = {
      outputs: [
        { key: 'a/clip.gif', format: 'gif', maxFrames: 10, bucket: 'public' },
        { key: 'b/clip.vtt', kind: 'storyboard', format: 'jpg', maxFrames: 12, files: ['b/clip-1.jpg', 'b/clip-2.jpg'], fileBytes: { 'b/clip-1.jpg': 100 } },
      ],
    } as unknown as import('../../shared/jobs/job').JobRecord;
    assert.deepEqual(
      galleryFiles(record).map((o) => [o.key, o.format, o.kind ?? 'animation', o.bucket ?? '-', o.bytes ?? null]),
      [
        ['a/clip.gif', 'gif', 'animation', 'public', null],
        ['b/clip.vtt', 'vtt', 'storyboard', '-', null],
        ['b/clip-1.jpg', 'jpg', 'sheet', '-', 100],
        ['b/clip-2.jpg', 'jpg', 'sheet', '-', null],
      ],
    );
    assert.deepEqual(outputKinds(galleryFiles(record)), ['animation', 'storyboard', 'sheet', 'sheet']);
  });
});
