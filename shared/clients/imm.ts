import type { CloudCredentials } from './credentials';
import type { EndpointOverride } from './endpoint';

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
}

// Stryker disable all: an adapter over @alicloud/openapi-core only; the e2e tests run it against the local IMM (test/e2e*.test.ts).
/**
 * A small typed IMM client over @alicloud/openapi-core's generic callApi, because the generated
 * @alicloud/imm20200930 SDK cannot be installed here. Params mirror that SDK: RPC style, POST /, form body type.
 */
export async function createImmClient(options: ImmClientOptions): Promise<ImmApi> {
  const core = await import('@alicloud/openapi-core');
  const { $OpenApiUtil } = core;
  const OpenApi = core.default;
  const { RuntimeOptions } = await import('@darabonba/typescript');
  const endpoint = options.endpoint ?? { protocol: 'https', host: `imm.${options.region}.aliyuncs.com` };
  const client = new OpenApi(
    new $OpenApiUtil.Config({
      accessKeyId: options.credentials.accessKeyId,
      accessKeySecret: options.credentials.accessKeySecret,
      securityToken: options.credentials.securityToken,
      regionId: options.region,
      endpoint: endpoint.host,
      protocol: endpoint.protocol,
      readTimeout: options.timeoutMs ?? 10_000,
      connectTimeout: 5_000,
    }),
  );

  async function call<T>(action: string, request: object): Promise<T> {
    const params = new $OpenApiUtil.Params({
      action,
      version: IMM_API_VERSION,
      protocol: 'HTTPS',
      pathname: '/',
      method: 'POST',
      authType: 'AK',
      style: 'RPC',
      reqBodyType: 'formData',
      bodyType: 'json',
    });
    const response = await client.callApi(params, new $OpenApiUtil.OpenApiRequest({ query: toWireQuery(request) }), new RuntimeOptions({}));
    return (response as { body: T }).body;
  }

  return {
    createMediaConvertTask: (request) => call<CreateMediaConvertTaskResponse>('CreateMediaConvertTask', request),
    getTask: (projectName, taskId) => call<GetTaskResponse>('GetTask', { ProjectName: projectName, TaskId: taskId, TaskType: 'MediaConvert' }),
    listTasks: (request) => call<ListTasksResponse>('ListTasks', request),
    detectMediaMeta: (projectName, sourceUri) => call<DetectMediaMetaResponse>('DetectMediaMeta', { ProjectName: projectName, SourceURI: sourceUri }),
  };
}
// Stryker restore all: nothing below this line is exempt.
