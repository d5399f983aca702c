// The public API of the local cloud: everything a user (the app's stack, its tests, the bench) may import. Modules
// under src/ are internal and may change without notice.

// OSS: objects, multipart, tagging, versioning state, events, signatures (V1, V4), x-oss-async-process.
export {
  ossClientOptions,
  startLocalOss,
  type AccessKey,
  type AsyncProcessHandler,
  type LocalBucket,
  type LocalOss,
  type LocalOssOptions,
  type LocalOssSettings,
  type OssClientAddressing,
  type OssCreatedEvent,
  type OssEventName,
  type OssEventRecord,
  type OssStorage,
} from './oss/server';
export { parseTarget as parseOssRequestTarget, type RequestTarget as OssRequestTarget } from './oss/target';

// OSS x-oss-async-process (video/animation, video/sprite) handed to the local IMM.
export { createAsyncProcessHandler, type AsyncProcessOptions } from './oss-async/handler';

// IMM 2020-09-30: CreateMediaConvertTask (animations), GetTask, ListTasks, DetectMediaMeta.
export { completionNotice, IMM_API_VERSION, startLocalImm, type LocalImm, type LocalImmOptions, type TaskInfo } from './imm/server';
export type { ConversionMode } from './imm/tasks';
export { fastAnimation } from './imm/fast-animation';

// MNS topics with push subscriptions (what FC's mns_topic triggers receive).
export { createLocalMns, TopicNotExistError, type LocalMns, type LocalMnsOptions, type NotifyContentFormat, type NotifyStrategy } from './mns/topics';
// MNS over HTTP: PublishMessage (signed), pushes to HTTP endpoints (signed), queues with ReceiveMessage/DeleteMessage.
export { startLocalMnsServer, type LocalMnsServer } from './mns/server';

// Function Compute 3.0: instances in worker threads, async retries and onFailure, concurrency caps, timers, the API.
export type { FunctionDescription, MnsTriggerDescription, OssTriggerDescription, TimerTriggerDescription } from './fc/function';
export { invocationContext, LocalFunction, type AsyncOutcome, type FailureRecord, type FcCredentials, type Invocation } from './fc/invoker';
export { timerEvent, timerIntervalMs, UnsupportedTimerError } from './fc/timer';
export { FC_API_VERSION, startLocalFcApi, type LocalFcApi, type LocalFcApiOptions } from './fc/api';

// The endpoints file a running local cloud leaves for other programs (a command line's `--local`).
export {
  ENDPOINTS_FILE_NAME,
  LocalEndpointsSchema,
  processAlive,
  readEndpointsFile,
  removeEndpointsFile,
  writeEndpointsFile,
  type LocalEndpoints,
} from './endpoints-file';

// Media: ffprobe/ffmpeg helpers behind the local IMM, and sample videos for tests.
export * from './media';
