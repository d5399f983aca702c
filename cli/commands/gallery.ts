import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { estimateCost, type Cost } from '../../shared/jobs/cost';
import { JOB_STATUSES, type JobRecord, type JobStatus } from '../../shared/jobs/job';
import type { CommandContext, CommandResult } from '../context';
import { UsageError } from '../errors';
import { ruleNamed, type AppSettings } from '../settings';
import type { Target } from '../target';
import { parseStatus, readJobs } from './jobs';
import { GALLERY_SCRIPT, GALLERY_STYLE } from './gallery-page';

/** Videos per page. */
export const GALLERY_PAGE_SIZE = 24;
/** While a listed job is open the page asks for its data this often (seconds); it stops once all have ended. */
export const REFRESH_SECONDS = 5;
/**
 * Signed links are valid this long and re-signed only once half of it has passed, so a refresh gets the very same
 * URLs and the browser shows its cached images instead of downloading them again (issue 19, item 8).
 */
export const GALLERY_LINK_SECONDS = 6 * 3600;

export interface GalleryQuery {
  /** Part of the source key, any case. */
  q?: string;
  rule?: string;
  status?: JobStatus;
  page: number;
}

export type GalleryOutputKind = 'animation' | 'poster' | 'storyboard' | 'sheet';

export interface GalleryOutput {
  key: string;
  kind: GalleryOutputKind;
  format: string;
  frames: number | null;
  /** The frames are the plan's, not yet counted. */
  plannedOnly: boolean;
  bytes: number | null;
  url: string | null;
  estimatedCost: Cost | null;
}

export interface GalleryJob {
  jobId: string;
  rule: string;
  status: JobStatus;
  createdAt: string;
  error: { code: string; message: string } | null;
  estimatedCost: Cost | null;
  outputs: GalleryOutput[];
  /** The storyboard's cues through the gallery's own server, and its sheets' signed links by the names the cues use. */
  storyboard: { vtt: string; sheets: Record<string, string> } | null;
}

/** One source video: its latest job in front, the others (newest first) behind it. */
export interface GalleryVideo {
  key: string;
  media: JobRecord['media'] | null;
  latest: GalleryJob;
  history: GalleryJob[];
}

export interface GalleryData {
  bucket: string;
  rules: string[];
  statuses: readonly JobStatus[];
  query: GalleryQuery;
  pages: number;
  /** Videos that pass the search and filters, on every page. */
  matching: number;
  jobs: number;
  videos: GalleryVideo[];
  /** Some job not ended yet: the page asks again in REFRESH_SECONDS. */
  open: boolean;
  refreshSeconds: number;
}

export interface GalleryOptions {
  rule?: string;
  status?: JobStatus;
  /** 0 (the default): a free port. */
  port?: number;
  pageSize?: number;
  now?: () => number;
}

export interface GalleryServer {
  url: string;
  close(): Promise<void>;
}

/** `gallery`: serves the page on 127.0.0.1 until Ctrl-C (SIGINT) or SIGTERM. */
export async function gallery(ctx: CommandContext, options: { port?: number; rule?: string; status?: string }): Promise<CommandResult> {
  if (options.rule !== undefined) ruleNamed(ctx.settings, options.rule);
  const status = options.status !== undefined ? parseStatus(options.status) : undefined;
  const target = await ctx.target();
  const server = await startGallery(ctx.settings, target, {
    ...(options.rule !== undefined ? { rule: options.rule } : {}),
    ...(status ? { status } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  process.stdout.write(
    ctx.output.json
      ? `${JSON.stringify({ url: server.url, bucket: target.bucket })}\n`
      : `Gallery of bucket ${target.bucket}: ${ctx.output.colors.bold(server.url)}\n(only on this machine; Ctrl-C stops)\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return { json: null, human: '', exitCode: 0, written: true };
}

/** Which output of a job is what: the record's `kind` when it has one, else its format (a VTT's sheets share its stem). */
export function outputKinds(outputs: readonly { key: string; format: string; kind?: string }[]): GalleryOutputKind[] {
  const vttStems = outputs.filter((o) => o.format === 'vtt').map((o) => o.key.slice(0, -'.vtt'.length));
  return outputs.map((o) => {
    if (o.kind === 'animation' || o.kind === 'poster' || o.kind === 'sheet') return o.kind;
    if (o.kind === 'storyboard' || o.format === 'vtt') return 'storyboard';
    if (o.format === 'gif' || o.format === 'webp') return 'animation';
    return vttStems.some((stem) => o.key === `${stem}.${o.format}` || o.key.startsWith(`${stem}-`)) ? 'sheet' : 'poster';
  });
}

/** A key relative to another key's folder: the names a storyboard's cues give its sheets. */
function relativeName(fromKey: string, toKey: string): string {
  const from = fromKey.split('/').slice(0, -1);
  const to = toKey.split('/');
  let common = 0;
  while (common < from.length && common < to.length - 1 && from[common] === to[common]) common++;
  return [...Array(from.length - common).fill('..'), ...to.slice(common)].join('/');
}

/** The page's data for one query: pure, from the records the caller read (any order) and a link signer. */
export function buildGalleryData(
  records: readonly JobRecord[],
  query: GalleryQuery,
  context: { bucket: string; rules: string[]; pricing: AppSettings['pricing']; sign: (key: string) => string; pageSize?: number },
): GalleryData {
  const pageSize = context.pageSize ?? GALLERY_PAGE_SIZE;
  const byKey = new Map<string, JobRecord[]>();
  for (const record of records) {
    if (query.rule !== undefined && record.rule !== query.rule) continue;
    const jobs = byKey.get(record.key);
    if (jobs) jobs.push(record);
    else byKey.set(record.key, [record]);
  }
  const needle = query.q?.toLowerCase();
  const matching = [...byKey.entries()]
    .map(([key, jobs]) => ({ key, jobs: jobs.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.jobId.localeCompare(b.jobId)) }))
    .filter(({ key, jobs }) => (needle === undefined || key.toLowerCase().includes(needle)) && (query.status === undefined || jobs[0]!.status === query.status))
    .sort((a, b) => b.jobs[0]!.createdAt.localeCompare(a.jobs[0]!.createdAt) || a.key.localeCompare(b.key));
  const pages = Math.max(1, Math.ceil(matching.length / pageSize));
  const shown = matching.slice((query.page - 1) * pageSize, query.page * pageSize);
  const job = (record: JobRecord) => galleryJob(record, context);
  return {
    bucket: context.bucket,
    rules: context.rules,
    statuses: JOB_STATUSES,
    query,
    pages,
    matching: matching.length,
    jobs: records.length,
    videos: shown.map(({ key, jobs }) => ({ key, media: jobs.find((j) => j.media)?.media ?? null, latest: job(jobs[0]!), history: jobs.slice(1).map(job) })),
    open: shown.some(({ jobs }) => jobs.some((j) => j.status === 'pending' || j.status === 'submitted')),
    refreshSeconds: REFRESH_SECONDS,
  };
}

/**
 * A record's outputs as the gallery lists them: a storyboard is its WebVTT file and, beside it, each sprite sheet
 * (the cues name them); every entry keeps its bucket for its link.
 */
export function galleryFiles(record: JobRecord): { key: string; format: string; kind?: string; bucket?: string; frames?: number; plannedFrames?: number; bytes?: number }[] {
  return record.outputs.flatMap((o) =>
    o.kind === 'storyboard'
      ? [
          { ...o, format: 'vtt' },
          ...(o.files ?? []).map((key) => ({ key, format: o.format, kind: 'sheet', ...(o.bucket ? { bucket: o.bucket } : {}), ...(o.fileBytes?.[key] !== undefined ? { bytes: o.fileBytes[key] } : {}) })),
        ]
      : [o],
  );
}

function galleryJob(record: JobRecord, context: { pricing: AppSettings['pricing']; sign: (key: string) => string }): GalleryJob {
  const done = record.status === 'succeeded';
  const outputs = galleryFiles(record);
  const kinds = outputKinds(outputs);
  const shown = outputs.map((output, i): GalleryOutput => {
    const frames = output.frames ?? output.plannedFrames ?? null;
    return {
      key: output.key,
      kind: kinds[i]!,
      format: output.format,
      frames,
      plannedOnly: output.frames === undefined && frames !== null,
      bytes: output.bytes ?? null,
      url: done ? context.sign(output.key) : null,
      estimatedCost: frames === null ? null : (estimateCost(frames, context.pricing) ?? null),
    };
  });
  const vtt = shown.find((o) => o.kind === 'storyboard');
  return {
    jobId: record.jobId,
    rule: record.rule,
    status: record.status,
    createdAt: record.createdAt,
    error: record.error,
    estimatedCost: record.estimatedCost ?? null,
    outputs: shown,
    storyboard:
      vtt && done
        ? {
            vtt: `/api/vtt?key=${encodeURIComponent(vtt.key)}`,
            sheets: Object.fromEntries(shown.filter((o) => o.kind === 'sheet' && o.url).map((o) => [relativeName(vtt.key, o.key), o.url!])),
          }
        : null,
  };
}

/**
 * The bucket's jobs as the gallery knows them: the index is listed on every request (as `status` does), and a
 * record is read again only when its index entry changed (status or frames), so a refresh of thousands of jobs
 * costs one listing and the GETs of the jobs that moved.
 */
function jobLibrary(target: Target) {
  const records = new Map<string, { version: string; record: JobRecord }>();
  return {
    async all(): Promise<JobRecord[]> {
      const entries = await target.store.listJobIndex({});
      const version = (e: { status: string; frames?: number }) => `${e.status}~${e.frames ?? ''}`;
      const stale = entries.filter((e) => records.get(e.jobId)?.version !== version(e));
      const read = await readJobs(target.store, stale.map((e) => e.jobId));
      stale.forEach((entry, i) => {
        const record = read[i];
        if (record) records.set(entry.jobId, { version: version(entry), record });
      });
      const listed = new Set(entries.map((e) => e.jobId));
      for (const jobId of records.keys()) if (!listed.has(jobId)) records.delete(jobId);
      return [...records.values()].map((r) => r.record);
    },
    /** The VTT of a succeeded job's storyboard, or undefined for any other key (the server reads nothing else). */
    async vtt(key: string): Promise<string | undefined> {
      const owner = [...records.values()].find(({ record }) => record.status === 'succeeded' && galleryFiles(record).some((o) => o.key === key && o.format === 'vtt'));
      if (!owner) return undefined;
      const result = await target.oss.get(key);
      return Buffer.from(result.content as Buffer).toString('utf8');
    },
  };
}

/** Signed links kept while more than half of their validity is left (see GALLERY_LINK_SECONDS). */
function linkSigner(target: Pick<Target, 'signedUrl'>, now: () => number) {
  const links = new Map<string, { url: string; at: number }>();
  const fresh = (key: string) => {
    const cached = links.get(key);
    return cached && now() - cached.at < (GALLERY_LINK_SECONDS * 1000) / 2 ? cached : undefined;
  };
  return {
    /** Signs (ali-oss's V4 signer is asynchronous) every output key of these records that has no fresh link. */
    async prepare(records: readonly JobRecord[]): Promise<void> {
      const files = new Map(records.flatMap((r) => galleryFiles(r).map((o) => [o.key, o.bucket] as const)));
      const stale = [...files].filter(([key]) => !fresh(key));
      await Promise.all(stale.map(async ([key, bucket]) => links.set(key, { url: await target.signedUrl(key, GALLERY_LINK_SECONDS, bucket), at: now() })));
    },
    /** The prepared link of a key. */
    sign(key: string): string {
      const link = fresh(key) ?? links.get(key);
      if (!link) throw new Error(`no signed link prepared for ${key}`);
      return link.url;
    },
  };
}

/** Starts the page's HTTP server on 127.0.0.1 (never on other interfaces). */
export async function startGallery(settings: AppSettings, target: Target, options: GalleryOptions = {}): Promise<GalleryServer> {
  const library = jobLibrary(target);
  const links = linkSigner(target, options.now ?? Date.now);
  const rules = settings.rules.map((r) => r.name);
  // Images come from wherever the signed links point (the bucket's endpoint): one origin.
  const imageOrigin = new URL(await target.signedUrl('gallery-origin-probe', 60)).origin;
  let port = 0;
  const server = createServer((request, response) => {
    void answer(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, 'application/json', JSON.stringify({ error: `Could not read the jobs: ${(error as Error).message}` }));
      else response.end();
    });
  });
  const answer = async (request: IncomingMessage, response: ServerResponse) => {
    // Only this machine's names: a page of signed links must not answer a rebound DNS name.
    const host = request.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return send(response, 421, 'text/plain', 'Open the gallery at the address it printed.');
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, 'text/plain', 'Only GET.');
    const url = new URL(request.url ?? '/', `http://${host}`);
    const headOnly = request.method === 'HEAD';
    if (url.pathname === '/') {
      const nonce = randomBytes(16).toString('base64');
      return send(response, 200, 'text/html; charset=utf-8', renderShell(target.bucket, nonce), { csp: shellPolicy(nonce, imageOrigin), headOnly });
    }
    if (url.pathname === '/api/jobs') {
      let query: GalleryQuery;
      try {
        query = parseQuery(url.searchParams, rules, { ...(options.rule ? { rule: options.rule } : {}), ...(options.status ? { status: options.status } : {}) });
      } catch (error) {
        return send(response, 400, 'application/json', JSON.stringify({ error: (error as Error).message }));
      }
      const all = await library.all();
      await links.prepare(all);
      const data = buildGalleryData(all, query, { bucket: target.bucket, rules, pricing: settings.pricing, sign: (key) => links.sign(key), ...(options.pageSize ? { pageSize: options.pageSize } : {}) });
      const body = JSON.stringify(data);
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      if (request.headers['if-none-match'] === etag) return send(response, 304, 'application/json', '', { etag });
      return send(response, 200, 'application/json', body, { etag, headOnly });
    }
    if (url.pathname === '/api/vtt') {
      const text = await library.vtt(url.searchParams.get('key') ?? '');
      if (text === undefined) return send(response, 404, 'text/plain', 'No storyboard with that key among the listed jobs.');
      return send(response, 200, 'text/vtt; charset=utf-8', text, { headOnly });
    }
    return send(response, 404, 'text/plain', 'Not found: the gallery is at /.');
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new UsageError(`port ${options.port} is in use: pick another with --port, or leave it out for a free one`) : error),
    );
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The query of a data request; `defaults` are the command line's filters, which a present parameter (even empty: "all") overrides. */
export function parseQuery(params: URLSearchParams, rules: readonly string[], defaults: { rule?: string; status?: JobStatus } = {}): GalleryQuery {
  const rule = params.has('rule') ? params.get('rule') || undefined : defaults.rule;
  const status = params.has('status') ? params.get('status') || undefined : defaults.status;
  const q = params.get('q')?.trim() || undefined;
  const pageText = params.get('page');
  if (rule !== undefined && !rules.includes(rule)) throw new Error(`No rule named "${rule}"; the rules are: ${rules.join(', ')}.`);
  if (status !== undefined && !(JOB_STATUSES as readonly string[]).includes(status)) throw new Error(`"${status}" is not a job status; use one of ${JOB_STATUSES.join(', ')}.`);
  const page = pageText === null || pageText === '' ? 1 : Number(pageText);
  if (!Number.isInteger(page) || page < 1) throw new Error(`"page" must be a whole number of at least 1, not "${pageText}".`);
  return { ...(q ? { q } : {}), ...(rule ? { rule } : {}), ...(status ? { status: status as JobStatus } : {}), page };
}

/** Text for HTML content and quoted attribute values. */
export function escapeHtml(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Images from the bucket's origin only; data from this server; the one script with this nonce. */
function shellPolicy(nonce: string, imageOrigin: string): string {
  return [
    "default-src 'none'",
    `img-src ${imageOrigin}`,
    "connect-src 'self'",
    `style-src 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}'`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function send(response: ServerResponse, status: number, type: string, body: string, extra: { csp?: string; etag?: string; headOnly?: boolean } = {}): void {
  response.writeHead(status, {
    'content-type': type,
    // The data revalidates by ETag (304 when nothing changed); the shell is tiny.
    'cache-control': 'no-cache',
    'content-security-policy': extra.csp ?? "default-src 'none'",
    // Signed links are secrets while valid: never sent on as a Referer.
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    ...(extra.etag ? { etag: extra.etag } : {}),
  });
  response.end(extra.headOnly || status === 304 ? undefined : body);
}

/** The page: a shell whose script asks /api/jobs for the data and draws the grid (gallery-page.ts). */
export function renderShell(bucket: string, nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>video-animation gallery: ${escapeHtml(bucket)}</title>
<style nonce="${escapeHtml(nonce)}">${GALLERY_STYLE}</style></head>
<body>
<header><h1>video-animation gallery</h1><p id="summary" aria-live="polite">bucket ${escapeHtml(bucket)}</p></header>
<form id="filters" role="search" aria-label="Search and filters">
<label>Search <input id="q" type="search" name="q" placeholder="part of a key" autocomplete="off"></label>
<label>Rule <select id="rule" name="rule"><option value="">all</option></select></label>
<label>Status <select id="status" name="status"><option value="">all</option></select></label>
</form>
<main>
<p id="message" role="status"></p>
<ul id="grid" class="grid" aria-label="Videos"></ul>
<nav id="pager" class="pager" aria-label="Pages"><button id="prev" type="button">&larr; newer</button><span id="pageinfo"></span><button id="next" type="button">older &rarr;</button></nav>
</main>
<dialog id="detail" aria-labelledby="detail-title"><div class="detail-head"><h2 id="detail-title"></h2><button id="close" type="button" aria-label="Close">&times;</button></div><div id="detail-body"></div></dialog>
<script nonce="${escapeHtml(nonce)}">${GALLERY_SCRIPT}</script>
</body></html>
`;
}
