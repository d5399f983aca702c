import type { CloudCredentials } from './credentials';
import type { EndpointOverride } from './endpoint';
import { createRpcClient } from './openapi-rpc';

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

/** IMM TargetImageSnapshots and TargetImageSprites (imm-20200930 `TargetImage.ts`); `Mode` average takes exactly `Number` frames at even intervals. */
export interface ImmSnapshotTarget {
  Format: 'jpg' | 'png';
  URI: string;
  Width?: number;
  Height?: number;
  ScaleType?: 'stretch' | 'crop' | 'fill' | 'fit';
  StartTime?: number;
  Interval?: number;
  Number?: number;
  Mode?: 'interval' | 'keyframe' | 'average' | 'dhash';
  Threshold?: number;
}

export interface ImmSpriteTarget {
  Format: 'jpg' | 'png';
  URI: string;
  /** Tiles per row (IMM's name), default 6. */
  TileWidth?: number;
  /** Tiles per column (IMM's name), default 6. */
  TileHeight?: number;
  Margin?: number;
  Pad?: number;
  /** One tile's size: pixels, or a ratio of the source. */
  ScaleWidth?: number;
  ScaleHeight?: number;
  ScaleType?: 'stretch' | 'crop' | 'fill' | 'fit';
  StartTime?: number;
  Interval?: number;
  Number?: number;
  Mode?: 'interval' | 'keyframe' | 'average' | 'dhash';
  Threshold?: number;
}

export interface CreateMediaConvertTaskRequest {
  ProjectName: string;
  Sources: { URI: string; StartTime?: number; Duration?: number }[];
  Targets: { Image: { Animations?: ImmAnimationTarget[]; Snapshots?: ImmSnapshotTarget[]; Sprites?: ImmSpriteTarget[] } }[];
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

/** A small typed IMM client over the OpenAPI RPC protocol (openapi-rpc.ts). */
export function createImmClient(options: ImmClientOptions): ImmApi {
  const call = createRpcClient({
    service: 'imm',
    endpoint: options.endpoint ?? { protocol: 'https', host: `imm.${options.region}.aliyuncs.com` },
    version: IMM_API_VERSION,
    credentials: options.credentials,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.nonce ? { nonce: options.nonce } : {}),
  });
  return {
    createMediaConvertTask: (request) => call<CreateMediaConvertTaskResponse>('CreateMediaConvertTask', toWireQuery(request)),
    getTask: (projectName, taskId) => call<GetTaskResponse>('GetTask', { ProjectName: projectName, TaskId: taskId, TaskType: 'MediaConvert' }),
    listTasks: (request) => call<ListTasksResponse>('ListTasks', toWireQuery(request)),
    detectMediaMeta: (projectName, sourceUri) => call<DetectMediaMetaResponse>('DetectMediaMeta', { ProjectName: projectName, SourceURI: sourceUri }),
  };
}
