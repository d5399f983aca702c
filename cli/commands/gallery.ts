import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { estimateCost, type Cost } from '../../shared/jobs/cost';
import { JOB_STATUSES, type JobRecord, type JobStatus } from '../../shared/jobs/job';
import type { CommandContext, CommandResult } from '../context';
import { UsageError } from '../errors';
import { ruleNamed, type AppSettings } from '../settings';
import type { Target } from '../target';
import { parseStatus, readJobs } from './jobs';
import { formatCost, formatTime } from './format';
import { shownOutputs, URL_VALID_SECONDS, type ShownOutput } from './show';

/** Jobs per page: one GET each, and a page a browser shows at once. */
export const GALLERY_PAGE_SIZE = 24;
/** While a shown job is open the page reloads itself this often (seconds). */
const REFRESH_SECONDS = 5;

export interface GalleryFilters {
  rule?: string;
  status?: JobStatus;
}

export interface GalleryOptions extends GalleryFilters {
  /** 0 (the default): a free port. */
  port?: number;
  pageSize?: number;
}

export interface GalleryServer {
  url: string;
  close(): Promise<void>;
}

/** One job as the page shows it. */
export interface GalleryJob {
  jobId: string;
  rule: string;
  status: JobStatus;
  createdAt: string;
  error: { code: string; message: string } | null;
  estimatedCost: Cost | null;
  outputs: (ShownOutput & { estimatedCost: Cost | null; plannedOnly: boolean })[];
}

/** One source video on the page, with the jobs of it the page lists (newest first). */
export interface GallerySource {
  key: string;
  media: JobRecord['media'] | null;
  jobs: GalleryJob[];
}

export interface GalleryPage {
  bucket: string;
  rules: string[];
  filters: GalleryFilters;
  page: number;
  pages: number;
  /** Jobs that pass the filters, on every page. */
  matching: number;
  sources: GallerySource[];
  /** Some listed job has not ended: the page refreshes itself. */
  open: boolean;
  generatedAt: string;
}

/** `gallery`: serves the page on 127.0.0.1 until Ctrl-C (SIGINT) or SIGTERM. */
export async function gallery(ctx: CommandContext, options: { port?: number; rule?: string; status?: string }): Promise<CommandResult> {
  const filters = parseFilters(ctx.settings, options);
  const target = await ctx.target();
  const server = await startGallery(ctx.settings, target, { ...filters, ...(options.port !== undefined ? { port: options.port } : {}) });
  const where = target.bucket;
  process.stdout.write(
    ctx.output.json
      ? `${JSON.stringify({ url: server.url, bucket: where })}\n`
      : `Gallery of bucket ${where}: ${ctx.output.colors.bold(server.url)}\n(only on this machine; signed links work for ${URL_VALID_SECONDS / 3600} hour, reload for fresh ones; Ctrl-C stops)\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return { json: null, human: '', exitCode: 0, written: true };
}

function parseFilters(settings: AppSettings, options: { rule?: string; status?: string }): GalleryFilters {
  if (options.rule !== undefined) ruleNamed(settings, options.rule);
  return { ...(options.rule !== undefined ? { rule: options.rule } : {}), ...(options.status !== undefined ? { status: parseStatus(options.status) } : {}) };
}

/** Starts the page's HTTP server on 127.0.0.1 (never on other interfaces). */
export async function startGallery(settings: AppSettings, target: Target, options: GalleryOptions = {}): Promise<GalleryServer> {
  const pageSize = options.pageSize ?? GALLERY_PAGE_SIZE;
  const defaults: GalleryFilters = { ...(options.rule ? { rule: options.rule } : {}), ...(options.status ? { status: options.status } : {}) };
  let port = 0;
  const server = createServer((request, response) => {
    void answer(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, errorPage(`Could not read the jobs: ${(error as Error).message}`));
      else response.end();
    });
  });
  const answer = async (request: IncomingMessage, response: ServerResponse) => {
    // Only this machine's names: a page of signed links must not answer a rebound DNS name.
    const host = request.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return send(response, 421, errorPage('Open the gallery at the address it printed.'));
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, errorPage('Only GET.'));
    const url = new URL(request.url ?? '/', `http://${host}`);
    if (url.pathname !== '/') return send(response, 404, errorPage('Not found: the gallery is at /.'));
    let filters: GalleryFilters;
    let page: number;
    try {
      filters = queryFilters(settings, url.searchParams, defaults);
      page = pageNumber(url.searchParams.get('page'));
    } catch (error) {
      return send(response, 400, errorPage((error as Error).message));
    }
    const model = await loadGalleryPage(settings, target, filters, page, pageSize);
    const nonce = randomBytes(16).toString('base64');
    send(response, 200, renderGalleryPage(model, nonce), csp(model, nonce), request.method === 'HEAD');
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

function queryFilters(settings: AppSettings, query: URLSearchParams, defaults: GalleryFilters): GalleryFilters {
  // A parameter present (even empty: "all") wins over the command line's filter.
  const rule = query.has('rule') ? query.get('rule') || undefined : defaults.rule;
  const status = query.has('status') ? query.get('status') || undefined : defaults.status;
  if (rule !== undefined && !settings.rules.some((r) => r.name === rule)) throw new Error(`No rule named "${rule}"; the rules are: ${settings.rules.map((r) => r.name).join(', ')}.`);
  if (status !== undefined && !(JOB_STATUSES as readonly string[]).includes(status)) throw new Error(`"${status}" is not a job status; use one of ${JOB_STATUSES.join(', ')}.`);
  return { ...(rule ? { rule } : {}), ...(status ? { status: status as JobStatus } : {}) };
}

function pageNumber(text: string | null): number {
  if (text === null || text === '') return 1;
  const page = Number(text);
  if (!Number.isInteger(page) || page < 1) throw new Error(`"page" must be a whole number of at least 1, not "${text}".`);
  return page;
}

/** The jobs of one page (newest first, from the index; one GET per job), grouped by source video. */
export async function loadGalleryPage(settings: AppSettings, target: Target, filters: GalleryFilters, page: number, pageSize = GALLERY_PAGE_SIZE): Promise<GalleryPage> {
  const matching = (await target.store.listJobIndex({})).filter(
    (entry) => (filters.status === undefined || entry.status === filters.status) && (filters.rule === undefined || entry.rule === filters.rule),
  );
  const pages = Math.max(1, Math.ceil(matching.length / pageSize));
  const listed = matching.slice((page - 1) * pageSize, page * pageSize);
  const records = (await readJobs(target.store, listed.map((e) => e.jobId))).filter((r): r is JobRecord => r !== undefined);
  const sources = new Map<string, GallerySource>();
  for (const record of records) {
    let source = sources.get(record.key);
    if (!source) sources.set(record.key, (source = { key: record.key, media: null, jobs: [] }));
    source.media ??= record.media ?? null;
    source.jobs.push(await galleryJob(record, target, settings));
  }
  return {
    bucket: target.bucket,
    rules: settings.rules.map((r) => r.name),
    filters,
    page,
    pages,
    matching: matching.length,
    sources: [...sources.values()],
    // The index may lag the record: either one open keeps the page refreshing.
    open: listed.some((e) => e.status === 'pending' || e.status === 'submitted') || records.some((r) => r.status === 'pending' || r.status === 'submitted'),
    generatedAt: new Date().toISOString(),
  };
}

async function galleryJob(record: JobRecord, target: Target, settings: AppSettings): Promise<GalleryJob> {
  return {
    jobId: record.jobId,
    rule: record.rule,
    status: record.status,
    createdAt: record.createdAt,
    error: record.error,
    estimatedCost: record.estimatedCost ?? null,
    outputs: (await shownOutputs(record, target)).map((output, i) => ({
      ...output,
      plannedOnly: record.outputs[i]?.frames === undefined && output.frames !== null,
      estimatedCost: output.frames === null ? null : (estimateCost(output.frames, settings.pricing) ?? null),
    })),
  };
}

/** Text for HTML content and quoted attribute values. */
export function escapeHtml(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Images only from the origins the page's signed links point at; inline style; the one script with this nonce. */
function csp(model: GalleryPage, nonce: string): string {
  const origins = new Set<string>();
  for (const source of model.sources) for (const job of source.jobs) for (const output of job.outputs) if (output.url) origins.add(new URL(output.url).origin);
  return [
    "default-src 'none'",
    `img-src ${[...origins].join(' ') || "'none'"}`,
    "style-src 'unsafe-inline'",
    `script-src 'nonce-${nonce}'`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function send(response: ServerResponse, status: number, html: string, policy = "default-src 'none'; style-src 'unsafe-inline'", headOnly = false): void {
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': policy,
    // Signed links are secrets for an hour: never sent on as a Referer.
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  });
  response.end(headOnly ? undefined : html);
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f4f5;color:#18181b}
header{background:#18181b;color:#fafafa;padding:10px 20px}header h1{font-size:18px;margin:0}header p{margin:2px 0 0;color:#a1a1aa}
nav{padding:8px 20px;background:#fff;border-bottom:1px solid #e4e4e7}nav a{margin-right:8px;color:#2563eb;text-decoration:none}nav a.on{font-weight:700;color:#18181b}
main{padding:12px 20px}section{background:#fff;border:1px solid #e4e4e7;border-radius:6px;margin-bottom:12px;padding:10px 14px}
h2{font-size:15px;margin:0 0 6px;word-break:break-all}.meta{color:#52525b;font-size:12px}
.job{border-top:1px solid #f4f4f5;padding-top:6px;margin-top:6px}.outs{display:flex;flex-wrap:wrap;gap:12px;margin-top:6px}
figure{margin:0;max-width:340px}figure img{display:block;max-width:320px;height:auto;background:repeating-conic-gradient(#eee 0 25%,#fff 0 50%) 0 0/16px 16px}
figcaption{font-size:12px;color:#3f3f46}.badge{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;color:#fff}
.succeeded{background:#16a34a}.failed{background:#dc2626}.pending,.submitted{background:#d97706}
.error{color:#b91c1c;font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap}.pager{margin:8px 0}.pager a{margin-right:10px}
`;

/** The whole page: server-side HTML, every value escaped, no external assets. */
export function renderGalleryPage(model: GalleryPage, nonce: string): string {
  const link = (changes: Partial<Record<'rule' | 'status' | 'page', string>>) => {
    const params = new URLSearchParams({ rule: model.filters.rule ?? '', status: model.filters.status ?? '', page: String(model.page), ...changes });
    return `/?${escapeHtml(params.toString())}`;
  };
  const choice = (label: string, value: string | undefined, current: string | undefined, key: 'rule' | 'status') =>
    `<a href="${link({ [key]: value ?? '', page: '1' })}"${value === current ? ' class="on"' : ''}>${escapeHtml(label)}</a>`;
  const nav = [
    `rule: ${choice('all', undefined, model.filters.rule, 'rule')}${model.rules.map((r) => choice(r, r, model.filters.rule, 'rule')).join('')}`,
    ` &nbsp; status: ${choice('all', undefined, model.filters.status, 'status')}${JOB_STATUSES.map((s) => choice(s, s, model.filters.status, 'status')).join('')}`,
  ].join('');
  const pager =
    model.pages > 1
      ? `<div class="pager">${model.page > 1 ? `<a href="${link({ page: String(model.page - 1) })}">&larr; newer</a>` : ''}page ${model.page} of ${model.pages}${
          model.page < model.pages ? ` <a href="${link({ page: String(model.page + 1) })}">older &rarr;</a>` : ''
        }</div>`
      : '';
  const body =
    model.sources.length === 0
      ? `<p>No jobs${model.filters.rule || model.filters.status ? ' match these filters' : ' yet: upload a video under a rule\'s prefix'}.</p>`
      : model.sources.map(renderSource).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
${model.open ? `<meta http-equiv="refresh" content="${REFRESH_SECONDS}">\n` : ''}<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>video-animation gallery: ${escapeHtml(model.bucket)}</title>
<style>${STYLE}</style></head>
<body>
<header><h1>video-animation gallery</h1><p>bucket ${escapeHtml(model.bucket)} &middot; ${model.matching} job(s) &middot; ${escapeHtml(formatTime(model.generatedAt))} UTC${
    model.open ? ` &middot; jobs running: refreshes every ${REFRESH_SECONDS} s` : ''
  }</p></header>
<nav>${nav}</nav>
<main>${pager}
${body}
${pager}</main>
<script nonce="${escapeHtml(nonce)}">
for (const img of document.querySelectorAll('img[data-px]')) {
  const show = () => { if (img.naturalWidth > 0) document.getElementById(img.dataset.px).textContent = img.naturalWidth + 'x' + img.naturalHeight + ' px, '; };
  if (img.complete) show(); else img.addEventListener('load', show);
}
</script>
</body></html>
`;
}

let pixelIds = 0;

function renderSource(source: GallerySource): string {
  const media = source.media;
  const facts = media
    ? [media.width && media.height ? `${media.width}x${media.height} px` : '', `${media.duration.toFixed(1)} s`, media.frameRate ? `${Number(media.frameRate.toFixed(2))} fps` : '']
        .filter(Boolean)
        .join(', ')
    : '';
  return `<section><h2>${escapeHtml(source.key)}</h2>${facts ? `<div class="meta">video: ${escapeHtml(facts)}</div>` : ''}
${source.jobs.map(renderJob).join('\n')}</section>`;
}

function renderJob(job: GalleryJob): string {
  const open = job.status === 'pending' || job.status === 'submitted';
  const head = `<div class="meta"><span class="badge ${escapeHtml(job.status)}">${escapeHtml(job.status)}${open ? ' (running)' : ''}</span> rule ${escapeHtml(job.rule)} &middot; job ${escapeHtml(job.jobId)} &middot; created ${escapeHtml(
    formatTime(job.createdAt),
  )} UTC${job.estimatedCost ? ` &middot; about ${escapeHtml(formatCost(job.estimatedCost))}` : ''}</div>`;
  const error = job.error ? `<div class="error" data-error-code="${escapeHtml(job.error.code)}">failed: ${escapeHtml(job.error.code)}: ${escapeHtml(job.error.message)}</div>` : '';
  const outputs = job.outputs.map((output) => {
    const facts = [
      output.format.toUpperCase(),
      output.frames !== null ? `${output.frames} frames${output.plannedOnly ? ' (planned)' : ''}` : '',
      output.bytes !== null ? `${(output.bytes / 1024).toFixed(1)} KiB` : '',
      output.estimatedCost ? `about ${formatCost(output.estimatedCost)}` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const id = `px${++pixelIds}`;
    const image = output.url
      ? `<img src="${escapeHtml(output.url)}" alt="${escapeHtml(output.key)}" data-px="${id}" referrerpolicy="no-referrer">`
      : `<div class="meta">${open ? 'being made…' : 'no animation'}</div>`;
    return `<figure>${image}<figcaption><span id="${id}"></span>${escapeHtml(facts)}<br><span class="meta">${escapeHtml(output.key)}</span></figcaption></figure>`;
  });
  return `<div class="job" data-status="${escapeHtml(job.status)}">${head}${error}${outputs.length ? `<div class="outs">${outputs.join('')}</div>` : ''}</div>`;
}

function errorPage(message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>video-animation gallery</title></head><body><p>${escapeHtml(message)}</p><p><a href="/">The gallery</a></p></body></html>`;
}
