import { randomUUID } from 'node:crypto';
import type { CloudCredentials } from './credentials';
import type { EndpointOverride } from './endpoint';
import { sendHttp, ServiceResponseError } from './http';
import { acs3Authorization, acs3CanonicalQuery, acsDatetime, sha256Hex } from './signing';

export const IMM_API_VERSION = '2020-09-30';

/** IMM TargetImageAnimations (PascalCase as on the wire). */
export interface ImmAnimationTarget {
  Format: 'gif' | 'webp';
  URI: string;
  Width?: number;
  Height?: number;
  ScaleType?: 'stretch' | 'crop' | 'fill' | 'fit';
  Interval?: number;
  FrameRate?: number;
  StartTime?: number;
  Number?: number;
}

export interface CreateMediaConvertTaskRequest {
  ProjectName: string;
  Sources: { URI: string; StartTime?: number; Duration?: number }[];
  Targets: { Image: { Animations: ImmAnimationTarget[] } }[];
  Notification?: { MNS: { TopicName: string } };
  UserData?: string;
  Tags?: Record<string, string>;
}

export interface CreateMediaConvertTaskResponse {
  RequestId: string;
  TaskId: string;
  EventId?: string;
}


/** The query parameters the official IMM SDK sends: scalars as strings, structures as JSON strings. */
export function toWireQuery(request: object): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(request)) {
    if (value === undefined) continue;
    query[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return query;
}

/** One task as GetTask and ListTasks report it (the fields the app reads). */
export interface ImmTaskInfo {
  TaskId: string;
  TaskType?: string;
  Status: string;
  Code?: string;
  Message?: string;
  StartTime?: string;
  EndTime?: string;
  UserData?: string;
  Tags?: Record<string, unknown>;
  Progress?: number;
}

export type GetTaskResponse = ImmTaskInfo & { RequestId: string };

export interface ListTasksRequest {
  ProjectName: string;
  TaskTypes?: string[];
  /** `Key=Value`: only tasks created with that tag. */
  TagSelector?: string;
  MaxResults?: number;
  NextToken?: string;
}

export interface ListTasksResponse {
  RequestId: string;
  NextToken?: string;
  Tasks?: ImmTaskInfo[];
}

export interface DetectMediaMetaResponse {
  RequestId: string;
  /** Seconds. */
  Duration?: number;
  VideoWidth?: number;
  VideoHeight?: number;
  /** Frame rates are fractions as text, e.g. "25/1". */
  VideoStreams?: { FrameRate?: string; AverageFrameRate?: string; FrameCount?: number }[];
}

/** What the functions need of IMM; one adapter over the OpenAPI transport. */
export interface ImmApi {
  detectMediaMeta(projectName: string, sourceUri: string): Promise<DetectMediaMetaResponse>;
  createMediaConvertTask(request: CreateMediaConvertTaskRequest): Promise<CreateMediaConvertTaskResponse>;
  getTask(projectName: string, taskId: string): Promise<GetTaskResponse>;
  listTasks(request: ListTasksRequest): Promise<ListTasksResponse>;
}

export interface ImmClientOptions {
  region: string;
  credentials: CloudCredentials;
  /** Defaults to imm.<region>.aliyuncs.com over HTTPS. */
  endpoint?: EndpointOverride;
  /** Read timeout in ms for one call. */
  timeoutMs?: number;
  /** For tests that compare signatures with a fixed time and nonce. */
  now?: () => Date;
  nonce?: () => string;
}

/**
 * A small typed IMM client: the OpenAPI RPC protocol (POST /, parameters in the query, V3 ACS3-HMAC-SHA256
 * signature) over Node's HTTP client, sending what @alicloud/openapi-core's callApi sends for these parameters
 * (test/unit/signing.test.ts compares the two requests field by field).
 */
export function createImmClient(options: ImmClientOptions): ImmApi {
  const endpoint = options.endpoint ?? { protocol: 'https', host: `imm.${options.region}.aliyuncs.com` };
  const now = options.now ?? (() => new Date());
  const nonce = options.nonce ?? (() => randomUUID());
  const { credentials } = options;

  async function call<T>(action: string, request: object): Promise<T> {
    const query = toWireQuery(request);
    const headers: Record<string, string> = {
      host: endpoint.host,
      'x-acs-version': IMM_API_VERSION,
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
        service: 'imm',
        status: response.status,
        code: typeof body?.Code === 'string' ? body.Code : `Http${response.status}`,
        message: typeof body?.Message === 'string' ? body.Message : `${action} answered HTTP ${response.status}: ${text.slice(0, 200)}`,
        requestId: typeof body?.RequestId === 'string' ? body.RequestId : '',
      });
    }
    return JSON.parse(text) as T;
  }

  return {
    createMediaConvertTask: (request) => call<CreateMediaConvertTaskResponse>('CreateMediaConvertTask', request),
    getTask: (projectName, taskId) => call<GetTaskResponse>('GetTask', { ProjectName: projectName, TaskId: taskId, TaskType: 'MediaConvert' }),
    listTasks: (request) => call<ListTasksResponse>('ListTasks', request),
    detectMediaMeta: (projectName, sourceUri) => call<DetectMediaMetaResponse>('DetectMediaMeta', { ProjectName: projectName, SourceURI: sourceUri }),
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
