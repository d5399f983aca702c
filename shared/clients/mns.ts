import { createHash, createHmac } from 'node:crypto';
import type { CloudCredentials } from './credentials';
import type { EndpointOverride } from './endpoint';
import { sendHttp, ServiceResponseError, type HttpResponse } from './http';
import { xmlText } from './xml';

export const MNS_API_VERSION = '2015-06-06';

/**
 * Why MNS would refuse a topic name, or undefined: a letter first, then letters, digits and "-" (ROS
 * ALIYUN::MNS::Topic), at most 120 characters (MNS's limits page; ROS says 256, creation fails past 120).
 */
export function mnsTopicNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'a topic name must not be empty';
  if (name.length > 120) return `"${name.slice(0, 20)}..." is ${name.length} characters long; MNS topic names are at most 120`;
  if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(name)) return `"${name}" is not a topic name MNS accepts: a letter first, then letters, digits and "-"`;
  return undefined;
}

export interface PublishedMessage {
  messageId: string;
  /** MNS's MD5 of the body it stored, upper-case hex. */
  messageBodyMd5: string;
}

/** What the functions need of MNS: publishing to a topic. */
export interface TopicApi {
  readonly topic: string;
  /** PublishMessage: the body as given (not Base64-encoded), with an optional MessageTag for subscription filters. */
  publish(messageBody: string, options?: { messageTag?: string }): Promise<PublishedMessage>;
}

export interface MnsClientOptions {
  topic: string;
  region: string;
  /** The account that owns the topic: part of the regional endpoint's host. */
  accountId: string;
  credentials: CloudCredentials;
  /** Defaults to https://<accountId>.mns.<region>.aliyuncs.com (MNS_ENDPOINT overrides it). */
  endpoint?: EndpointOverride;
  timeoutMs?: number;
  /** For tests that compare signatures at a fixed time. */
  now?: () => Date;
}

export interface MnsSigningInput {
  method: string;
  /** The request path with its query, e.g. `/topics/t/messages`. */
  resource: string;
  /** Lower-case names: content-md5, content-type, date and the x-mns-* headers are signed. */
  headers: Record<string, string>;
}

/**
 * MNS's signature, as the official client (@alicloud/mns) computes it: Base64 of HMAC-SHA1 over the method,
 * Content-MD5, Content-Type, Date, the x-mns-* headers sorted (`name:value\n` each) and the resource.
 */
export function mnsSignature(input: MnsSigningInput, accessKeySecret: string): string {
  const canonicalHeaders = Object.keys(input.headers)
    .filter((name) => name.startsWith('x-mns-'))
    .sort()
    .map((name) => `${name}:${input.headers[name]}\n`)
    .join('');
  const stringToSign = [input.method, input.headers['content-md5'] ?? '', input.headers['content-type'] ?? '', input.headers['date'] ?? ''].join('\n');
  return createHmac('sha1', accessKeySecret).update(`${stringToSign}\n${canonicalHeaders}${input.resource}`, 'utf8').digest('base64');
}

/** MNS's Content-MD5: Base64 of the hex MD5 digest (not of the raw digest, as HTTP's Content-MD5 would be). */
export function mnsContentMd5(body: Buffer): string {
  return Buffer.from(createHash('md5').update(body).digest('hex'), 'utf8').toString('base64');
}

/**
 * The XML body of PublishMessage, as @alicloud/mns writes it, except that `&`, `<` and `>` in the text are escaped
 * (that client sends them raw, which breaks the XML); quotes stay as they are, so a JSON body without those three
 * characters is byte-for-byte what the official client sends. The message is never Base64-encoded.
 */
export function publishMessageXml(messageBody: string, messageTag?: string): Buffer {
  const tag = messageTag === undefined ? '' : `<MessageTag>${escapeText(messageTag)}</MessageTag>`;
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?><Message xmlns="http://mns.aliyuncs.com/doc/v1/"><MessageBody>${escapeText(messageBody)}</MessageBody>${tag}</Message>`,
    'utf8',
  );
}

const escapeText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function mnsEndpoint(options: Pick<MnsClientOptions, 'accountId' | 'region' | 'endpoint'>): EndpointOverride {
  return options.endpoint ?? { protocol: 'https', host: `${options.accountId}.mns.${options.region}.aliyuncs.com` };
}

/**
 * A small MNS topic client over Node's HTTP client, signed as @alicloud/mns signs (test/unit/mns.test.ts compares
 * the two at the same Date): the official client drags xml2js and httpx into a function bundle for one call. STS
 * credentials travel in the `security-token` header, outside the signature, as that client sends them.
 */
export function createTopicClient(options: MnsClientOptions): TopicApi {
  const endpoint = mnsEndpoint(options);
  const now = options.now ?? (() => new Date());
  const resource = `/topics/${encodeURIComponent(options.topic)}/messages`;
  return {
    topic: options.topic,
    async publish(messageBody, publishOptions = {}) {
      const body = publishMessageXml(messageBody, publishOptions.messageTag);
      const date = now().toUTCString();
      const headers: Record<string, string> = {
        date,
        host: endpoint.host,
        'x-mns-date': date,
        'x-mns-version': MNS_API_VERSION,
        'content-type': 'text/xml',
        'content-md5': mnsContentMd5(body),
      };
      headers['authorization'] = `MNS ${options.credentials.accessKeyId}:${mnsSignature({ method: 'POST', resource, headers }, options.credentials.accessKeySecret)}`;
      if (options.credentials.securityToken) headers['security-token'] = options.credentials.securityToken;
      const response = await sendHttp({
        protocol: endpoint.protocol,
        host: endpoint.host,
        method: 'POST',
        path: resource,
        headers,
        body,
        timeoutMs: options.timeoutMs ?? 10_000,
      });
      if (response.status !== 201) throw mnsError(response);
      const xml = response.body.toString('utf8');
      return { messageId: xmlText(xml, 'MessageId') ?? '', messageBodyMd5: xmlText(xml, 'MessageBodyMD5') ?? '' };
    },
  };
}

/** MNS answers errors as XML `<Error><Code/><Message/><RequestId/><HostId/></Error>`. */
function mnsError(response: HttpResponse): ServiceResponseError {
  const xml = response.body.toString('utf8');
  return new ServiceResponseError({
    service: 'mns',
    status: response.status,
    code: xmlText(xml, 'Code') || `Http${response.status}`,
    message: xmlText(xml, 'Message') ?? `HTTP ${response.status}`,
    requestId: xmlText(xml, 'RequestId') ?? String(response.headers['x-mns-request-id'] ?? ''),
  });
}
