import { randomUUID } from 'node:crypto';
import type { CloudCredentials } from './credentials';
import type { EndpointOverride } from './endpoint';
import { sendHttp, ServiceResponseError } from './http';
import { acs3Authorization, acs3CanonicalQuery, acsDatetime, sha256Hex } from './signing';

export interface RpcClientOptions {
  /** The product, for errors (`imm`, `sts`). */
  service: string;
  endpoint: EndpointOverride;
  /** The API version, e.g. `2020-09-30`. */
  version: string;
  credentials: CloudCredentials;
  /** Read timeout in ms for one call. */
  timeoutMs?: number;
  /** For tests that compare signatures with a fixed time and nonce. */
  now?: () => Date;
  nonce?: () => string;
}

/** Calls one RPC action with its parameters (already in wire form) and returns the JSON answer. */
export type RpcCall = <T>(action: string, query: Record<string, string>) => Promise<T>;

/**
 * The Alibaba Cloud OpenAPI RPC protocol (POST /, parameters in the query, V3 ACS3-HMAC-SHA256 signature) over
 * Node's HTTP client, sending what @alicloud/openapi-core's callApi sends for an RPC action with a form body type
 * (test/unit/signing.test.ts compares the two requests field by field). An error answer becomes a
 * ServiceResponseError with the API's Code, Message and RequestId.
 */
export function createRpcClient(options: RpcClientOptions): RpcCall {
  const { endpoint, credentials } = options;
  const now = options.now ?? (() => new Date());
  const nonce = options.nonce ?? (() => randomUUID());
  return async <T>(action: string, query: Record<string, string>): Promise<T> => {
    const headers: Record<string, string> = {
      host: endpoint.host,
      'x-acs-version': options.version,
      'x-acs-action': action,
      'user-agent': USER_AGENT,
      'x-acs-date': acsDatetime(now()),
      'x-acs-signature-nonce': nonce(),
      accept: 'application/json',
      'x-acs-content-sha256': EMPTY_SHA256,
      ...(credentials.securityToken ? { 'x-acs-accesskey-id': credentials.accessKeyId, 'x-acs-security-token': credentials.securityToken } : {}),
    };
    headers['authorization'] = acs3Authorization({ method: 'POST', pathname: '/', query, headers }, credentials);
    const response = await sendHttp({
      protocol: endpoint.protocol,
      host: endpoint.host,
      method: 'POST',
      path: `/?${acs3CanonicalQuery(query)}`,
      headers,
      timeoutMs: options.timeoutMs ?? 10_000,
    });
    const text = response.body.toString('utf8');
    if (response.status >= 400) {
      const body = parseJson(text) as { Code?: unknown; Message?: unknown; RequestId?: unknown } | undefined;
      throw new ServiceResponseError({
        service: options.service,
        status: response.status,
        code: typeof body?.Code === 'string' ? body.Code : `Http${response.status}`,
        message: typeof body?.Message === 'string' ? body.Message : `${action} answered HTTP ${response.status}: ${text.slice(0, 200)}`,
        requestId: typeof body?.RequestId === 'string' ? body.RequestId : '',
      });
    }
    return JSON.parse(text) as T;
  };
}

const USER_AGENT = 'video-animation (Node.js)';
const EMPTY_SHA256 = sha256Hex('');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
