import { createHash, randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { headerValue, readBody } from '../http-request';
import { createPushSigner, mnsContentMd5, MnsApiError, mnsStringToSign, verifyMnsRequest, type MnsAccessKey } from './signature';
import { createLocalQueue, type LocalQueue, type QueuedMessage } from './queues';
import { TopicNotExistError, type LocalMns, type NotifyStrategy } from './topics';

export const MNS_API_VERSION = '2015-06-06';
const XMLNS = 'http://mns.aliyuncs.com/doc/v1/';
/** Where the server serves the public key of its push signatures (as MNS serves its certificate). */
const CERT_PATH = '/x509_public_certificate.pem';

export interface LocalMnsServerOptions {
  /** The topics and their subscriptions (local/mns/topics.ts); the server publishes into it. */
  mns: LocalMns;
  /** Accepted signers. */
  credentials: readonly MnsAccessKey[];
  /** 0 (default) picks a free port. The server binds 127.0.0.1 only. */
  port?: number;
  /** Called for every message accepted over HTTP (`npm start` prints events with it). */
  onPublish?: (message: { topic: string; messageId: string; messageBody: string; messageTag?: string }) => void;
}

export interface HttpEndpointSubscription {
  name: string;
  /** The URL MNS POSTs each message to (`http://127.0.0.1:PORT/path?query`). */
  endpoint: string;
  /**
   * XML (MNS's default): `<Notification>` with TopicOwner, TopicName, ..., Message; JSON: the same fields as JSON;
   * SIMPLIFIED: the message body alone, its id in `x-mns-message-id`.
   */
  notifyContentFormat: 'XML' | 'JSON' | 'SIMPLIFIED';
  notifyStrategy: NotifyStrategy;
  filterTag?: string;
}

export interface LocalMnsServer {
  /** `http://127.0.0.1:PORT`: the MNS_ENDPOINT of the functions. */
  endpoint: string;
  port: number;
  /** `x-mns-signing-cert-url` decodes to this URL; it serves the PEM public key that checks push signatures. */
  certUrl: string;
  /**
   * Subscribes an HTTP endpoint to a topic: each message is POSTed to it, signed as MNS signs pushes (RSA-SHA1 in
   * Authorization, with Date, Content-MD5, Content-Type, x-mns-request-id, x-mns-signing-cert-url, x-mns-version);
   * a status other than 2xx is a failed push, retried per notifyStrategy.
   */
  subscribeHttpEndpoint(topic: string, subscription: HttpEndpointSubscription): void;
  /**
   * Creates a queue (ReceiveMessage: GET /queues/<name>/messages[?waitseconds=N], DeleteMessage: DELETE
   * /queues/<name>/messages?ReceiptHandle=...) and subscribes it to `topic`: each message lands in the queue, as
   * the body alone (SIMPLIFIED, default) or MNS's JSON envelope.
   */
  subscribeQueue(topic: string, subscription: { name: string; queue: string; notifyContentFormat?: 'JSON' | 'SIMPLIFIED'; visibilityTimeoutSeconds?: number }): LocalQueue;
  /** While false, every API call answers 503 ServiceUnavailable (MNS down). */
  setAvailable(available: boolean): void;
  /** PublishMessage requests answered, by outcome. */
  requests(): { topic: string; status: number; code?: string }[];
  close(): Promise<void>;
}

/**
 * MNS's HTTP API over the local topics and queues, signed and checked as MNS checks it: PublishMessage
 * (POST /topics/<name>/messages), ReceiveMessage and DeleteMessage on the queues subscribed with subscribeQueue.
 */
export async function startLocalMnsServer(options: LocalMnsServerOptions): Promise<LocalMnsServer> {
  let available = true;
  let closed = false;
  const queues = new Map<string, LocalQueue>();
  const receiveWithin = async (queue: LocalQueue, waitMs: number): Promise<QueuedMessage | undefined> => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const message = queue.receive();
      if (message || closed || Date.now() >= deadline) return message;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const answered: { topic: string; status: number; code?: string }[] = [];
  const server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const url = request.url ?? '/';
      const requestId = randomBytes(12).toString('hex').toUpperCase();
      if (request.method === 'GET' && url === CERT_PATH) {
        response.writeHead(200, { 'content-type': 'application/x-pem-file' });
        response.end(signer.publicKeyPem);
        return;
      }
      try {
        const route = routeOf(request.method ?? '', url);
        verifyMnsRequest({ method: request.method ?? '', resource: url, headers: request.headers, body }, options.credentials);
        if (headerValue(request, 'x-mns-version') !== MNS_API_VERSION) throw new MnsApiError(400, 'InvalidArgument', `x-mns-version must be ${MNS_API_VERSION}.`);
        if (!available) throw new MnsApiError(503, 'ServiceUnavailable', 'The service is unavailable (local fault).');
        if (route.action === 'PublishMessage') {
          const xml = body.toString('utf8');
          const messageBody = elementText(xml, 'MessageBody');
          if (messageBody === undefined || messageBody === '') throw new MnsApiError(400, 'InvalidArgument', 'The message has no MessageBody.');
          const messageTag = elementText(xml, 'MessageTag');
          const messageId = options.mns.publish(route.name, messageBody, messageTag !== undefined ? { messageTag } : {});
          options.onPublish?.({ topic: route.name, messageId, messageBody, ...(messageTag !== undefined ? { messageTag } : {}) });
          answered.push({ topic: route.name, status: 201 });
          const md5 = createHash('md5').update(messageBody, 'utf8').digest('hex').toUpperCase();
          sendXml(response, 201, requestId, `<Message xmlns="${XMLNS}"><MessageId>${messageId}</MessageId><MessageBodyMD5>${md5}</MessageBodyMD5></Message>`);
          return;
        }
        const queue = queues.get(route.name);
        if (!queue) throw new MnsApiError(404, 'QueueNotExist', 'The queue name you provided is not exist.');
        if (route.action === 'DeleteMessage') {
          if (!queue.delete(route.query.get('ReceiptHandle') ?? '')) throw new MnsApiError(400, 'ReceiptHandleError', 'The receipt handle you provide is not valid.');
          response.writeHead(204, { 'x-mns-request-id': requestId });
          response.end();
          return;
        }
        const waitSeconds = Math.min(Number(route.query.get('waitseconds') ?? 0) || 0, 30);
        const message = await receiveWithin(queue, waitSeconds * 1000);
        if (!message) throw new MnsApiError(404, 'MessageNotExist', 'Message not exist.');
        sendXml(
          response,
          200,
          requestId,
          `<Message xmlns="${XMLNS}"><MessageId>${message.messageId}</MessageId><ReceiptHandle>${message.receiptHandle}</ReceiptHandle>` +
            `<MessageBodyMD5>${message.messageBodyMd5}</MessageBodyMD5><MessageBody>${escapeText(message.messageBody)}</MessageBody>` +
            `<EnqueueTime>${message.enqueueTime}</EnqueueTime><NextVisibleTime>${message.nextVisibleTime}</NextVisibleTime>` +
            `<FirstDequeueTime>${message.firstDequeueTime ?? message.enqueueTime}</FirstDequeueTime><DequeueCount>${message.dequeueCount}</DequeueCount><Priority>8</Priority></Message>`,
        );
      } catch (error) {
        const failure =
          error instanceof MnsApiError
            ? error
            : error instanceof TopicNotExistError
              ? new MnsApiError(404, 'TopicNotExist', 'The topic you provided does not exist.')
              : new MnsApiError(500, 'InternalError', (error as Error).message);
        if (/^\/topics\//.test(url)) answered.push({ topic: url.split('/')[2] ?? '', status: failure.status, code: failure.code });
        sendXml(
          response,
          failure.status,
          requestId,
          `<Error xmlns="${XMLNS}"><Code>${failure.code}</Code><Message>${escapeText(failure.message)}</Message><RequestId>${requestId}</RequestId><HostId>${endpoint}</HostId></Error>`,
        );
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const signer = createPushSigner(`${endpoint}${CERT_PATH}`);

  return {
    endpoint,
    port,
    certUrl: signer.certUrl,
    subscribeHttpEndpoint(topic, subscription) {
      const target = new URL(subscription.endpoint);
      const resource = `${target.pathname}${target.search}`;
      options.mns.subscribe(topic, {
        name: subscription.name,
        // Pushed as the JSON envelope and rewritten into the subscription's format here.
        notifyContentFormat: 'JSON',
        notifyStrategy: subscription.notifyStrategy,
        ...(subscription.filterTag !== undefined ? { filterTag: subscription.filterTag } : {}),
        deliver: async (envelope) => {
          const { body, contentType, extraHeaders } = pushBody(envelope, subscription.notifyContentFormat);
          const headers: Record<string, string> = {
            'content-md5': mnsContentMd5(body),
            'content-type': contentType,
            date: new Date().toUTCString(),
            'x-mns-request-id': randomBytes(12).toString('hex').toUpperCase(),
            'x-mns-signing-cert-url': Buffer.from(signer.certUrl, 'utf8').toString('base64'),
            'x-mns-version': MNS_API_VERSION,
            ...extraHeaders,
          };
          headers['authorization'] = signer.sign(mnsStringToSign('POST', resource, headers));
          const status = await post(target, resource, headers, body);
          // MNS expects 204 within 5 s; it retries anything else (403 for a bad signature, 500 for other errors).
          if (status < 200 || status > 299) throw new Error(`the endpoint ${subscription.endpoint} answered HTTP ${status}`);
        },
      });
    },
    subscribeQueue(topic, subscription) {
      const queue = createLocalQueue(subscription.queue, subscription.visibilityTimeoutSeconds !== undefined ? { visibilityTimeoutSeconds: subscription.visibilityTimeoutSeconds } : {});
      queues.set(subscription.queue, queue);
      options.mns.subscribe(topic, {
        name: subscription.name,
        notifyContentFormat: subscription.notifyContentFormat === 'JSON' ? 'JSON' : 'STREAM',
        notifyStrategy: 'EXPONENTIAL_DECAY_RETRY',
        deliver: async (payload) => void queue.send(payload.toString('utf8')),
      });
      return queue;
    },
    setAvailable(value) {
      available = value;
    },
    requests: () => [...answered],
    close: () =>
      new Promise<void>((resolve) => {
        closed = true;
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Route = { action: 'PublishMessage' | 'ReceiveMessage' | 'DeleteMessage'; name: string; query: URLSearchParams };

/** The action a request asks for, by method and path, as MNS routes them; anything else is InvalidRequestURI. */
function routeOf(method: string, url: string): Route {
  const [path = '', search = ''] = url.split('?');
  const query = new URLSearchParams(search);
  const topic = /^\/topics\/([^/]+)\/messages$/.exec(path);
  if (topic && method === 'POST') return { action: 'PublishMessage', name: decodeURIComponent(topic[1]!), query };
  const queue = /^\/queues\/([^/]+)\/messages$/.exec(path);
  if (queue && method === 'GET') return { action: 'ReceiveMessage', name: decodeURIComponent(queue[1]!), query };
  if (queue && method === 'DELETE') return { action: 'DeleteMessage', name: decodeURIComponent(queue[1]!), query };
  throw new MnsApiError(404, 'InvalidRequestURI', `The local MNS answers PublishMessage, ReceiveMessage and DeleteMessage, not ${method} ${path}.`);
}

function post(target: URL, resource: string, headers: Record<string, string>, payload: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { hostname: target.hostname, port: target.port, method: 'POST', path: resource, headers: { ...headers, 'content-length': String(payload.length) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error(`no answer from ${target.href} within 5 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

const ENVELOPE_FIELDS = ['TopicOwner', 'TopicName', 'Subscriber', 'SubscriptionName', 'MessageId', 'Message', 'MessageMD5', 'MessageTag', 'PublishTime'];

/**
 * A push body in the subscription's format, from the JSON envelope: XML as MNS's HttpEndpoint documentation shows
 * it (Content-Type text/xml;charset=utf-8), SIMPLIFIED with the message id in a header. The Content-Type of the
 * JSON and SIMPLIFIED formats is not documented; these are this server's choice.
 */
function pushBody(envelope: Buffer, format: HttpEndpointSubscription['notifyContentFormat']): { body: Buffer; contentType: string; extraHeaders: Record<string, string> } {
  if (format === 'JSON') return { body: envelope, contentType: 'application/json;charset=utf-8', extraHeaders: {} };
  const fields = JSON.parse(envelope.toString('utf8')) as Record<string, unknown>;
  if (format === 'SIMPLIFIED') {
    return { body: Buffer.from(String(fields['Message']), 'utf8'), contentType: 'text/plain;charset=utf-8', extraHeaders: { 'x-mns-message-id': String(fields['MessageId']) } };
  }
  const elements = ENVELOPE_FIELDS.filter((name) => fields[name] !== undefined).map((name) => `<${name}>${escapeText(String(fields[name]))}</${name}>`);
  return {
    body: Buffer.from(`<?xml version="1.0" encoding="utf-8"?>\n<Notification xmlns="${XMLNS}">${elements.join('')}</Notification>`, 'utf8'),
    contentType: 'text/xml;charset=utf-8',
    extraHeaders: {},
  };
}

function sendXml(response: ServerResponse, status: number, requestId: string, xml: string): void {
  response.writeHead(status, { 'content-type': 'text/xml;charset=utf-8', 'x-mns-request-id': requestId });
  response.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
}

/** The decoded text of the first `<tag>` (MNS's request XML is flat: no attributes read, no CDATA). */
function elementText(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>|<${tag}/>`).exec(xml);
  if (!match) return undefined;
  return (match[1] ?? '').replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-fA-F]+);/g, (_, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' } as Record<string, string>)[entity]!;
  });
}

const escapeText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
