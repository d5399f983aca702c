/**
 * The gallery page's style and script, served inline by gallery.ts (plain CSS and JavaScript, no library, nothing
 * fetched but this server's /api and the bucket's signed links). The script draws one tile per video from
 * /api/jobs, plays the animation on hover, focus or tap, scrubs the storyboard under the pointer (it loads the VTT
 * through /api/vtt and parses it), and asks for the data again only while a job is open, by ETag, keeping every
 * tile whose data did not change: unchanged images are never downloaded again.
 */

export const GALLERY_STYLE = `
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f4f5;color:#18181b}
header{background:#18181b;color:#fafafa;padding:10px 20px}header h1{font-size:18px;margin:0}header p{margin:2px 0 0;color:#d4d4d8}
form{display:flex;flex-wrap:wrap;gap:12px;padding:8px 20px;background:#fff;border-bottom:1px solid #e4e4e7}
label{display:flex;gap:6px;align-items:center}input,select,button{font:inherit}input[type=search]{min-width:16em}
main{padding:12px 20px}
.grid{list-style:none;margin:0;padding:0;display:grid;gap:14px;grid-template-columns:repeat(auto-fill,minmax(220px,1fr))}
.tile button.open{all:unset;display:block;width:100%;cursor:pointer;background:#fff;border:1px solid #e4e4e7;border-radius:8px;overflow:hidden}
.tile button.open:focus-visible{outline:3px solid #2563eb;outline-offset:2px}
.frame{display:block;position:relative;aspect-ratio:16/9;background:#27272a;overflow:hidden}
.frame img,.frame canvas{position:absolute;inset:0;width:100%;height:100%;object-fit:contain}
.frame .anim{visibility:hidden}.tile.playing .anim{visibility:visible}.tile.playing .still{visibility:hidden}
.frame .scrub{position:absolute;left:0;top:0;transform-origin:0 0;background-repeat:no-repeat;visibility:hidden}
.tile.scrubbing .scrub{visibility:visible}.tile.scrubbing .anim{visibility:hidden}
.frame .none{position:absolute;inset:0;display:grid;place-items:center;color:#d4d4d8;font-size:12px}
.badge{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;color:#fff;background:#52525b}
.frame .badge{position:absolute;left:6px;top:6px}
.succeeded{background:#15803d}.failed{background:#b91c1c}.pending,.submitted{background:#b45309}
.caption{display:block;padding:6px 8px}.name{display:block;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.meta{color:#52525b;font-size:12px}
.pager{display:flex;gap:12px;align-items:center;margin:14px 0}.pager[hidden]{display:none}
dialog{max-width:min(900px,95vw);width:100%;border:0;border-radius:8px;padding:0}dialog::backdrop{background:rgba(0,0,0,.5)}
.detail-head{display:flex;justify-content:space-between;align-items:start;padding:12px 16px;border-bottom:1px solid #e4e4e7}
.detail-head h2{font-size:16px;margin:0;word-break:break-all}#detail-body{padding:8px 16px 16px}
.job{border-top:1px solid #f4f4f5;padding:8px 0}
.error{color:#b91c1c;font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #f4f4f5;vertical-align:top}
td.key{word-break:break-all}.outs{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0}.outs img{max-width:260px;max-height:160px;background:#e4e4e7}
`;

export const GALLERY_SCRIPT = String.raw`
'use strict';
(function () {
  var grid = document.getElementById('grid');
  var params = new URLSearchParams(location.search);
  var state = { q: params.get('q') || '', rule: params.get('rule') || '', status: params.get('status') || '', page: Number(params.get('page')) || 1 };
  var data = null, etag = null, timer = null, tiles = new Map(), vtts = new Map(), filled = false;
  var el = function (tag, attrs, children) {
    var node = document.createElement(tag);
    for (var name in attrs || {}) {
      if (name === 'text') node.textContent = attrs[name];
      else if (attrs[name] !== null && attrs[name] !== undefined) node.setAttribute(name, attrs[name]);
    }
    (children || []).forEach(function (child) { if (child) node.append(child); });
    return node;
  };

  /** WebVTT cues of a storyboard: start and end in seconds, the sheet's name and the tile's rectangle. */
  function parseVtt(text) {
    var time = function (t) { var p = t.trim().split(':').map(Number); return p.length === 3 ? p[0] * 3600 + p[1] * 60 + p[2] : p[0] * 60 + p[1]; };
    var cues = [];
    text.replace(/\r/g, '').split('\n\n').forEach(function (block) {
      var lines = block.split('\n').filter(Boolean);
      var at = lines.findIndex(function (l) { return l.indexOf('-->') > 0; });
      if (at < 0 || !lines[at + 1]) return;
      var span = lines[at].split('-->');
      var m = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(lines[at + 1].trim());
      if (!m) return;
      cues.push({ start: time(span[0]), end: time(span[1].trim().split(' ')[0]), sheet: decodeURI(m[1]), x: +m[2], y: +m[3], w: +m[4], h: +m[5] });
    });
    return cues;
  }
  window.galleryParseVtt = parseVtt;

  function query(extra) {
    var q = new URLSearchParams();
    if (state.q) q.set('q', state.q);
    q.set('rule', state.rule);
    q.set('status', state.status);
    if (state.page > 1) q.set('page', String(state.page));
    return q.toString();
  }

  function load() {
    clearTimeout(timer);
    var headers = etag ? { 'if-none-match': etag } : {};
    return fetch('/api/jobs?' + query(), { headers: headers }).then(function (response) {
      if (response.status === 304) return schedule();
      return response.json().then(function (body) {
        if (!response.ok) { show(body.error || 'The gallery could not read the jobs.'); return; }
        etag = response.headers.get('etag');
        data = body;
        render();
        schedule();
      });
    }).catch(function (error) { show('The gallery server did not answer: ' + error.message); });
  }
  window.galleryRefresh = load;

  function schedule() {
    clearTimeout(timer);
    if (data && data.open) timer = setTimeout(load, data.refreshSeconds * 1000);
  }

  function show(text) { document.getElementById('message').textContent = text; }

  function fillFilters() {
    if (filled) return;
    filled = true;
    var rule = document.getElementById('rule'), status = document.getElementById('status');
    data.rules.forEach(function (r) { rule.append(el('option', { value: r, text: r })); });
    data.statuses.forEach(function (s) { status.append(el('option', { value: s, text: s })); });
    rule.value = state.rule; status.value = state.status; document.getElementById('q').value = state.q;
  }

  function render() {
    fillFilters();
    document.getElementById('summary').textContent = 'bucket ' + data.bucket + ' · ' + data.matching + ' video(s) of ' + data.jobs + ' job(s)' + (data.open ? ' · jobs running: refreshing' : '');
    show(data.videos.length ? '' : (state.q || state.rule || state.status ? 'No videos match.' : 'No jobs yet: upload a video under a rule\'s prefix.'));
    var next = new Map();
    var nodes = data.videos.map(function (video) {
      var signature = JSON.stringify(video);
      var known = tiles.get(video.key);
      var node = known && known.signature === signature ? known.node : tile(video);
      next.set(video.key, { signature: signature, node: node, video: video });
      return node;
    });
    tiles = next;
    grid.replaceChildren.apply(grid, nodes);
    document.getElementById('pageinfo').textContent = 'page ' + data.query.page + ' of ' + data.pages;
    document.getElementById('prev').disabled = data.query.page <= 1;
    document.getElementById('next').disabled = data.query.page >= data.pages;
    document.getElementById('pager').hidden = data.pages <= 1;
  }

  function first(job, kind) { return job.outputs.find(function (o) { return o.kind === kind && o.url; }); }

  function tile(video) {
    var job = video.latest;
    var poster = first(job, 'poster'), animation = first(job, 'animation');
    var frame = el('span', { class: 'frame' });
    var li = el('li', { class: 'tile', 'data-key': video.key, 'data-status': job.status });
    if (poster) frame.append(el('img', { class: 'still', src: poster.url, alt: '', referrerpolicy: 'no-referrer' }));
    if (animation) {
      var anim = el('img', { class: 'anim', src: animation.url, alt: '', referrerpolicy: 'no-referrer' });
      if (!poster) {
        // No poster: the animation's first frame stands still until hovered.
        var canvas = el('canvas', { class: 'still', 'aria-hidden': 'true' });
        var draw = function () { canvas.width = anim.naturalWidth; canvas.height = anim.naturalHeight; canvas.getContext('2d').drawImage(anim, 0, 0); };
        if (anim.complete && anim.naturalWidth) draw(); else anim.addEventListener('load', draw, { once: true });
        frame.append(canvas);
      }
      frame.append(anim);
    }
    if (!poster && !animation) frame.append(el('span', { class: 'none', text: job.status === 'failed' ? 'failed: ' + job.error.code : job.status === 'succeeded' ? 'no preview' : 'being made…' }));
    var scrub = el('span', { class: 'scrub', 'aria-hidden': 'true' });
    frame.append(scrub, el('span', { class: 'badge ' + job.status, text: job.status }));
    var jobs = 1 + video.history.length;
    var button = el('button', { class: 'open', type: 'button', 'aria-haspopup': 'dialog', 'aria-label': video.key + ': ' + job.status + ', rule ' + job.rule + ', ' + jobs + ' job' + (jobs > 1 ? 's' : '') + '. Open details.' }, [
      frame,
      el('span', { class: 'caption' }, [el('span', { class: 'name', text: video.key, title: video.key }), el('span', { class: 'meta', text: job.rule + ' · ' + jobs + ' job' + (jobs > 1 ? 's' : '') + ' · ' + job.createdAt.slice(0, 16).replace('T', ' ') })]),
    ]);
    li.append(button);
    var play = function (on) { li.classList.toggle('playing', on && !!animation); };
    var justStarted = false;
    button.addEventListener('pointerenter', function (e) { if (e.pointerType !== 'touch') play(true); });
    button.addEventListener('pointerleave', function () { play(false); li.classList.remove('scrubbing'); });
    button.addEventListener('focus', function () { play(true); });
    button.addEventListener('blur', function () { play(false); });
    // A tap plays (or stops) the animation; a second tap while it plays opens the details.
    button.addEventListener('pointerdown', function (e) {
      if (e.pointerType !== 'touch') return;
      justStarted = !li.classList.contains('playing') && !!animation;
      if (justStarted) play(true);
    });
    button.addEventListener('click', function () {
      if (justStarted) { justStarted = false; return; }
      openDetail(video);
    });
    if (job.storyboard) {
      button.addEventListener('pointermove', function (e) { scrubTo(li, scrub, frame, job.storyboard, (e.clientX - frame.getBoundingClientRect().left) / frame.getBoundingClientRect().width); });
    }
    return li;
  }

  function cuesOf(storyboard) {
    if (!vtts.has(storyboard.vtt)) vtts.set(storyboard.vtt, fetch(storyboard.vtt).then(function (r) { return r.ok ? r.text() : ''; }).then(parseVtt));
    return vtts.get(storyboard.vtt);
  }

  function scrubTo(li, scrub, frame, storyboard, fraction) {
    cuesOf(storyboard).then(function (cues) {
      if (!cues.length) return;
      var end = cues[cues.length - 1].end;
      var t = Math.min(Math.max(fraction, 0), 0.9999) * end;
      var cue = cues.find(function (c) { return t >= c.start && t < c.end; }) || cues[cues.length - 1];
      var sheet = storyboard.sheets[cue.sheet];
      if (!sheet) return;
      scrub.style.width = cue.w + 'px';
      scrub.style.height = cue.h + 'px';
      scrub.style.backgroundImage = 'url("' + sheet + '")';
      scrub.style.backgroundPosition = -cue.x + 'px ' + -cue.y + 'px';
      var scale = Math.min(frame.clientWidth / cue.w, frame.clientHeight / cue.h);
      scrub.style.transform = 'translate(' + (frame.clientWidth - cue.w * scale) / 2 + 'px,' + (frame.clientHeight - cue.h * scale) / 2 + 'px) scale(' + scale + ')';
      scrub.dataset.cue = cues.indexOf(cue) + ' ' + cue.sheet + '#xywh=' + [cue.x, cue.y, cue.w, cue.h].join(',');
      li.classList.add('scrubbing');
    });
  }

  function size(bytes) { return bytes === null ? '' : bytes < 1024 ? bytes + ' B' : (bytes / 1024).toFixed(1) + ' KiB'; }

  function jobSection(job) {
    var head = el('div', { class: 'meta' }, [el('span', { class: 'badge ' + job.status, text: job.status }), ' rule ' + job.rule + ' · job ' + job.jobId + ' · created ' + job.createdAt.replace('T', ' ').slice(0, 19) + ' UTC' + (job.estimatedCost ? ' · about ' + job.estimatedCost.amount + ' ' + job.estimatedCost.currency : '')]);
    var section = el('div', { class: 'job', 'data-status': job.status }, [head]);
    if (job.error) section.append(el('div', { class: 'error', 'data-error-code': job.error.code, text: 'failed: ' + job.error.code + ': ' + job.error.message }));
    if (!job.outputs.length) return section;
    var images = el('div', { class: 'outs' });
    var rows = job.outputs.map(function (o) {
      var px = el('td', { class: 'px' });
      if (o.url && o.kind !== 'storyboard') {
        var img = el('img', { src: o.url, alt: o.kind + ' ' + o.key, referrerpolicy: 'no-referrer' });
        img.addEventListener('load', function () { px.textContent = img.naturalWidth + '×' + img.naturalHeight; }, { once: true });
        images.append(img);
      }
      var link = o.url ? el('a', { href: o.url, target: '_blank', rel: 'noreferrer noopener', text: 'open' }) : null;
      var copy = o.url ? el('button', { type: 'button', class: 'copy', 'aria-label': 'Copy the link of ' + o.key, text: 'copy link' }) : null;
      if (copy) copy.addEventListener('click', function () {
        (navigator.clipboard ? navigator.clipboard.writeText(o.url) : Promise.reject()).then(function () { copy.textContent = 'copied'; }, function () { window.prompt('Copy the link', o.url); });
      });
      return el('tr', {}, [
        el('td', { text: o.kind }), el('td', { text: o.format.toUpperCase() }), px,
        el('td', { text: o.frames === null ? '' : o.frames + (o.plannedOnly ? ' (planned)' : '') }), el('td', { text: size(o.bytes) }),
        el('td', { class: 'key', text: o.key }), el('td', {}, [link, copy ? ' ' : null, copy]),
      ]);
    });
    section.append(images, el('table', {}, [el('thead', {}, [el('tr', {}, ['kind', 'format', 'pixels', 'frames', 'bytes', 'key', 'link'].map(function (h) { return el('th', { scope: 'col', text: h }); }))]), el('tbody', {}, rows)]));
    return section;
  }

  function openDetail(video) {
    var dialog = document.getElementById('detail');
    document.getElementById('detail-title').textContent = video.key;
    var body = document.getElementById('detail-body');
    var facts = video.media ? [video.media.width && video.media.height ? video.media.width + '×' + video.media.height + ' px' : '', video.media.duration.toFixed(1) + ' s', video.media.frameRate ? +video.media.frameRate.toFixed(2) + ' fps' : ''].filter(Boolean).join(', ') : '';
    body.replaceChildren(facts ? el('p', { class: 'meta', text: 'video: ' + facts }) : '', jobSection(video.latest));
    if (video.history.length) {
      body.append(el('details', { class: 'history' }, [el('summary', { text: 'History: ' + video.history.length + ' older job' + (video.history.length > 1 ? 's' : '') })].concat(video.history.map(jobSection))));
    }
    dialog.showModal();
  }

  document.getElementById('close').addEventListener('click', function () { document.getElementById('detail').close(); });
  var apply = function () { state.page = 1; history.replaceState(null, '', '?' + query()); etag = null; load(); };
  var typing = null;
  document.getElementById('q').addEventListener('input', function (e) { clearTimeout(typing); typing = setTimeout(function () { state.q = e.target.value.trim(); apply(); }, 250); });
  document.getElementById('rule').addEventListener('change', function (e) { state.rule = e.target.value; apply(); });
  document.getElementById('status').addEventListener('change', function (e) { state.status = e.target.value; apply(); });
  document.getElementById('filters').addEventListener('submit', function (e) { e.preventDefault(); });
  var turn = function (by) { state.page += by; history.replaceState(null, '', '?' + query()); etag = null; load().then(function () { grid.querySelector('button')?.focus(); }); };
  document.getElementById('prev').addEventListener('click', function () { turn(-1); });
  document.getElementById('next').addEventListener('click', function () { turn(1); });
  load();
})();
`;
