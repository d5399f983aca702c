// A small consumer of video-animation's completion events: an HTTP endpoint subscribed to the events topic.
// Plain Node (>= 20), no dependencies: `node examples/consumer/server.mjs`.
//
// What it checks before it trusts a push:
// 1. MNS's push signature: Authorization is an RSA-SHA1 signature of the request (method, Content-MD5,
//    Content-Type, Date, the x-mns-* headers, the path), checked with the public key at the URL that
//    x-mns-signing-cert-url names (Base64), and only from an allowed URL prefix; Date within 15 minutes;
//    Content-MD5 (Base64 of the hex MD5) matches the body.
// 2. A shared secret in the subscription's URL (`?token=...`): the MNS signature proves the push came from MNS,
//    not that it came from *your* topic; the token does.
// 3. The event's shape (CloudEvents 1.0, one of the three types), and its id: a repeat is acknowledged, not
//    handled twice (ids are stable per job and type).
// MNS expects 204 within 5 seconds (403 for a bad signature); anything else is pushed again later.
//
// Environment:
//   PORT                  where to listen on 127.0.0.1 (default 8080; 0 picks a free port)
//   EVENTS_TOKEN          the secret the subscription URL carries (required)
//   MNS_CERT_URL_PREFIXES comma-separated allowed certificate URL prefixes (default: Alibaba Cloud's)
//   EXIT_AFTER_MS         stop by itself after this long (tests)

import { createHash, createPublicKey, timingSafeEqual, verify } from 'node:crypto';
import { createServer } from 'node:http';

const TYPES = new Set(['video-animation.job.succeeded', 'video-animation.job.failed', 'video-animation.outputs.deleted']);
const DEFAULT_CERT_PREFIXES = ['https://mnstest.oss-cn-hangzhou.aliyuncs.com/', 'https://mns-cert.oss-cn-'];
const MAX_SKEW_MS = 15 * 60 * 1000;

const token = process.env.EVENTS_TOKEN;
if (!token) {
  console.error('EVENTS_TOKEN is required: the secret your subscription URL carries (https://host/events?token=...)');
  process.exit(2);
}
const certPrefixes = (process.env.MNS_CERT_URL_PREFIXES ?? DEFAULT_CERT_PREFIXES.join(',')).split(',').filter(Boolean);
const publicKeys = new Map(); // certificate URL -> KeyObject
const seen = new Set(); // event ids handled (a real consumer keeps these in its database)

/** MNS's string-to-sign of a push: VERB, Content-MD5, Content-Type, Date, x-mns-* headers sorted, the resource. */
function stringToSign(req) {
  const mnsHeaders = Object.keys(req.headers)
    .filter((name) => name.startsWith('x-mns-'))
    .sort()
    .map((name) => `${name}:${req.headers[name]}\n`)
    .join('');
  const h = (name) => req.headers[name] ?? '';
  return `${req.method}\n${h('content-md5')}\n${h('content-type')}\n${h('date')}\n${mnsHeaders}${req.url}`;
}

async function publicKeyFor(certUrl) {
  if (!certPrefixes.some((prefix) => certUrl.startsWith(prefix))) throw new Error(`certificate URL ${certUrl} is not an allowed one`);
  if (!publicKeys.has(certUrl)) {
    const response = await fetch(certUrl);
    if (!response.ok) throw new Error(`certificate ${certUrl}: HTTP ${response.status}`);
    // A certificate (what MNS serves) or a bare public key (the local MNS): createPublicKey takes both.
    publicKeys.set(certUrl, createPublicKey(await response.text()));
  }
  return publicKeys.get(certUrl);
}

async function verifyPush(req, body) {
  const certUrl = Buffer.from(String(req.headers['x-mns-signing-cert-url'] ?? ''), 'base64').toString('utf8');
  const signature = Buffer.from(String(req.headers['authorization'] ?? ''), 'base64');
  if (!certUrl || signature.length === 0) throw new Error('not signed by MNS (no x-mns-signing-cert-url or Authorization)');
  const date = Date.parse(String(req.headers['date'] ?? ''));
  if (Number.isNaN(date) || Math.abs(Date.now() - date) > MAX_SKEW_MS) throw new Error('Date missing or more than 15 minutes off');
  const md5 = Buffer.from(createHash('md5').update(body).digest('hex')).toString('base64');
  if (req.headers['content-md5'] !== md5) throw new Error('Content-MD5 does not match the body');
  const key = await publicKeyFor(certUrl);
  if (!verify('RSA-SHA1', Buffer.from(stringToSign(req), 'utf8'), key, signature)) throw new Error('MNS signature does not verify');
}

function tokenMatches(url) {
  const given = Buffer.from(new URL(url, 'http://localhost').searchParams.get('token') ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const ENTITIES = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/**
 * The event out of the push body, in any of the subscription's formats: XML (MNS's default: `<Notification>` with
 * the event in `<Message>`), JSON (the event in `Message`) or SIMPLIFIED (the body is the event).
 */
function eventOf(body) {
  const text = body.toString('utf8');
  let message = text;
  if (text.trimStart().startsWith('<')) {
    const match = /<Message>([\s\S]*?)<\/Message>/.exec(text);
    if (!match) throw new Error('an XML notification without <Message>');
    message = match[1].replace(/&(lt|gt|amp|quot|apos);/g, (_, name) => ENTITIES[name]);
  } else {
    const outer = JSON.parse(text);
    if (typeof outer.Message === 'string') message = outer.Message;
  }
  const event = JSON.parse(message);
  const problems = [];
  if (event.specversion !== '1.0') problems.push('specversion is not 1.0');
  if (!TYPES.has(event.type)) problems.push(`unknown type ${event.type}`);
  for (const field of ['id', 'source', 'subject', 'time']) if (typeof event[field] !== 'string' || !event[field]) problems.push(`no ${field}`);
  if (typeof event.data !== 'object' || event.data === null || !Array.isArray(event.data.outputs)) problems.push('no data.outputs');
  if (problems.length > 0) throw new Error(`not a completion event: ${problems.join(', ')}`);
  return event;
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    const body = Buffer.concat(chunks);
    const answer = (status, text) => {
      res.writeHead(status, text ? { 'content-type': 'text/plain' } : {});
      res.end(text);
    };
    if (req.method !== 'POST' || !tokenMatches(req.url ?? '')) return answer(403, 'forbidden');
    try {
      await verifyPush(req, body);
    } catch (error) {
      console.error(`refused: ${error.message}`);
      return answer(403, 'forbidden');
    }
    let event;
    try {
      event = eventOf(body);
    } catch (error) {
      // Acknowledged: MNS would push the same bad message again and again.
      console.error(`ignored: ${error.message}`);
      return answer(204);
    }
    if (seen.has(event.id)) {
      console.log(JSON.stringify({ repeat: event.id }));
      return answer(204);
    }
    seen.add(event.id);
    console.log(JSON.stringify({ id: event.id, type: event.type, subject: event.subject, outputs: event.data.outputs.map((o) => `${o.bucket}/${o.key}`), error: event.data.error }));
    answer(204);
  });
});

server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  console.log(JSON.stringify({ listening: `http://127.0.0.1:${server.address().port}/events?token=...` }));
});
if (process.env.EXIT_AFTER_MS) setTimeout(() => process.exit(0), Number(process.env.EXIT_AFTER_MS)).unref();
