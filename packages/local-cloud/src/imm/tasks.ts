import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { concatVideos, MediaError, probeVideo, renderAnimation, type VideoInfo } from '../media';
import { INVALID_MEDIA_MESSAGE, INTERNAL_ERROR_MESSAGE } from './errors';
import { fastAnimation } from './fast-animation';
import { fastStills, UnplannableStillError } from './fast-stills';
import type { MediaConvertJob, SourceClip } from './media-convert-request';
import { createOssObjects, ossAnswer, ossRefusal, type OssAccess } from './oss-objects';
import { formatOssUri, type OssLocation } from './oss-uri';
import type { MediaProber } from './probe-cache';
import { readStill, renderStill, STILL_CONTENT_TYPES } from './stills';

export type { OssAccess } from './oss-objects';

export type TaskStatus = 'Running' | 'Succeeded' | 'Failed';

export interface RenderedAnimation {
  uri: string;
  frames: number;
  width: number;
  height: number;
  bytes: number;
}

/** A task as the local IMM keeps it (what GetTask reports, plus what was rendered). */
export interface TaskInfo {
  projectName: string;
  taskId: string;
  eventId: string;
  /** RequestId of the CreateMediaConvertTask call. */
  requestId: string;
  status: TaskStatus;
  code: string;
  message: string;
  /** 0-100: share of the animations rendered and uploaded. */
  progress: number;
  startTime: string;
  endTime?: string;
  userData?: string;
  tags?: Record<string, string | number | boolean>;
  topicName?: string;
  /** The CreateMediaConvertTask parameters, structures parsed (GetTask / ListTasks `TaskRequestDefinition`). */
  requestDefinition: Record<string, unknown>;
  requestedSources: unknown[];
  requestedTargets: unknown[];
  outputs: RenderedAnimation[];
  /** The completion notice could not be published: why. */
  notificationError?: string;
}

export interface TaskRunnerOptions {
  region: string;
  accountId: string;
  oss: OssAccess;
  publish: (topicName: string, messageBody: string) => Promise<void>;
  workDir: string;
  concurrency: number;
  /**
   * `ffmpeg` (default): download the sources and render each animation with ffmpeg. `fast`: write a small valid
   * animation with the planned frame count and size instead (src/imm/fast-animation.ts), and flat stills in the planned
   * number and size for Snapshots and Sprites (src/imm/fast-stills.ts), probing sources with
   * `prober` (cached per ETag), so a task takes milliseconds.
   */
  conversion?: ConversionMode;
  prober?: MediaProber;
  /**
   * A JSON file that keeps the tasks across restarts (IMM keeps them for 7 days): GetTask and ListTasks answer for
   * them after a restart, and the tasks still running when the server stopped run again on `resumeInterrupted()`.
   * Unset: tasks live in memory only.
   */
  stateFile?: string;
  /** Injected task failures: a share of the tasks, and/or the first N tasks run, end Failed with `code`. */
  failTasks: { rate: number; firstTasks: number; code: string };
  random: () => number;
}

/** A task ends Failed with this Code and Message. */
class TaskFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The local IMM's own code for a source that stops before the end its header gives (not an IMM code). */
export const INCOMPLETE_MEDIA_CODE = 'InvalidFile.Incomplete';

const CONTENT_TYPES = { gif: 'image/gif', webp: 'image/webp', ...STILL_CONTENT_TYPES } as const;

export type ConversionMode = 'ffmpeg' | 'fast';

/** What the state file holds: every task, and the job of those not finished (to run them again). */
interface SavedTask {
  task: TaskInfo;
  job?: MediaConvertJob;
}

async function loadSavedTasks(file: string): Promise<SavedTask[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return (JSON.parse(text) as { tasks: SavedTask[] }).tasks;
}

/** Runs MediaConvert tasks in the background, `concurrency` at a time, in submission order. */
export async function createTaskRunner(options: TaskRunnerOptions) {
  if (options.conversion === 'fast' && !options.prober) throw new Error('the fast conversion mode needs a prober');
  const tasks = new Map<string, TaskInfo>();
  const jobs = new Map<string, MediaConvertJob>();
  const queue: { task: TaskInfo; job: MediaConvertJob }[] = [];
  const interrupted: { task: TaskInfo; job: MediaConvertJob }[] = [];
  if (options.stateFile) {
    for (const { task, job } of await loadSavedTasks(options.stateFile)) {
      tasks.set(task.taskId, task);
      if (task.status === 'Running' && job) {
        jobs.set(task.taskId, job);
        interrupted.push({ task, job });
      }
    }
  }
  // Writes go one after the other, each through a temporary file: a stop mid-write leaves the previous state whole.
  let saving = Promise.resolve();
  function save(): Promise<void> {
    const file = options.stateFile;
    if (!file) return Promise.resolve();
    saving = saving.then(async () => {
      const saved: SavedTask[] = [...tasks.values()].map((task) => ({ task, ...(jobs.has(task.taskId) ? { job: jobs.get(task.taskId)! } : {}) }));
      await mkdir(dirname(file), { recursive: true });
      await writeFile(`${file}.tmp`, JSON.stringify({ tasks: saved }));
      await rename(`${file}.tmp`, file);
    }).catch((error: unknown) => console.error(`local IMM: cannot save the tasks to ${file}: ${error instanceof Error ? error.message : String(error)}`));
    return saving;
  }
  const objects = createOssObjects(options.oss, options.region);
  let running = 0;
  let tasksRun = 0;
  let closed = false;
  let idleWaiters: (() => void)[] = [];

  async function download(location: OssLocation, file: string): Promise<void> {
    try {
      await objects.download(location, file);
    } catch (error) {
      throw ossFailure(error, location);
    }
  }

  async function upload(location: OssLocation, body: string | Buffer, format: keyof typeof CONTENT_TYPES): Promise<void> {
    try {
      await objects.upload(location, body, CONTENT_TYPES[format]);
    } catch (error) {
      throw ossFailure(error, location);
    }
  }

  /** Tasks run in submission order, so "the first N run" are the first N submitted. */
  function injectedFailure(): TaskFailure | undefined {
    const { rate, firstTasks, code } = options.failTasks;
    tasksRun++;
    if (tasksRun > firstTasks && !(rate && options.random() < rate)) return undefined;
    return new TaskFailure(code, `${INJECTED_FAILURE_MESSAGES[code] ?? `The task failed with ${code}.`} (local fault injection)`);
  }

  async function convert(task: TaskInfo, job: MediaConvertJob, dir: string): Promise<void> {
    const failure = injectedFailure();
    if (failure) throw failure;
    const sourceFiles: string[] = [];
    for (const [index, source] of job.sources.entries()) {
      const file = join(dir, `source-${index}`);
      await download(source.location, file);
      sourceFiles.push(file);
    }
    let input = sourceFiles[0]!;
    if (sourceFiles.length > 1) {
      input = join(dir, 'joined.mp4');
      await concatVideos(job.sources.map((source, index) => ({ file: sourceFiles[index]!, startTime: source.startTime, duration: source.duration })), input);
    }
    for (const [index, animation] of job.animations.entries()) {
      const file = join(dir, `animation-${index}.${animation.spec.format}`);
      let rendered;
      try {
        rendered = await renderAnimation(input, file, animation.spec);
      } catch (error) {
        if (error instanceof MediaError && error.code === 'EmptySelection') throw new TaskFailure('InvalidArgument', `${animation.path}: ${error.message}`);
        throw error;
      }
      await upload(animation.output, file, animation.spec.format);
      task.outputs.push({ uri: formatOssUri(animation.output), ...rendered });
      task.progress = Math.round((100 * (index + 1)) / (job.animations.length + (job.stills?.length ?? 0)));
    }
    const stills = job.stills ?? [];
    if (stills.length > 0) {
      const source = await probeVideo(input);
      for (const [index, still] of stills.entries()) {
        const stillDir = join(dir, `still-${index}`);
        await mkdir(stillDir);
        let files;
        try {
          files = await renderStill(input, source, job.sources[0]!.location, still, stillDir);
        } catch (error) {
          if (error instanceof MediaError && error.code === 'EmptySelection') throw new TaskFailure('InvalidArgument', `${still.path}: ${error.message}`);
          throw error;
        }
        for (const file of files) {
          const body = await readStill(file);
          await upload(file.location, body, file.format);
          task.outputs.push({ uri: formatOssUri(file.location), frames: file.frames, width: file.width, height: file.height, bytes: body.length });
        }
        task.progress = Math.round((100 * (job.animations.length + index + 1)) / (job.animations.length + stills.length));
      }
    }
  }

  /** The source as the fast mode plans with it: one clip, or several joined (their selected ranges end to end). */
  async function fastSource(sources: SourceClip[]): Promise<VideoInfo> {
    const prober = options.prober!;
    const infos = await Promise.all(
      sources.map(async (source) => {
        try {
          return await prober.video(source.location);
        } catch (error) {
          throw error instanceof MediaError ? error : ossFailure(error, source.location);
        }
      }),
    );
    if (infos.length === 1) return infos[0]!;
    const clipSeconds = (info: VideoInfo, source: SourceClip) => {
      const start = source.startTime ?? 0;
      const end = source.duration !== undefined ? Math.min(start + source.duration, info.durationSeconds) : info.durationSeconds;
      return Math.max(0, end - start);
    };
    return { ...infos[0]!, durationSeconds: infos.reduce((sum, info, index) => sum + clipSeconds(info, sources[index]!), 0) };
  }

  async function convertFast(task: TaskInfo, job: MediaConvertJob): Promise<void> {
    const failure = injectedFailure();
    if (failure) throw failure;
    const source = await fastSource(job.sources);
    const stills = job.stills ?? [];
    const steps = job.animations.length + stills.length;
    for (const [index, animation] of job.animations.entries()) {
      let rendered;
      try {
        rendered = await fastAnimation(source, animation.spec);
      } catch (error) {
        if (error instanceof MediaError && error.code === 'EmptySelection') throw new TaskFailure('InvalidArgument', `${animation.path}: ${error.message}`);
        throw error;
      }
      await upload(animation.output, rendered.bytes, animation.spec.format);
      task.outputs.push({ uri: formatOssUri(animation.output), frames: rendered.frames, width: rendered.width, height: rendered.height, bytes: rendered.bytes.length });
      task.progress = Math.round((100 * (index + 1)) / steps);
    }
    for (const [index, still] of stills.entries()) {
      let files;
      try {
        files = await fastStills(source, job.sources[0]!.location, still);
      } catch (error) {
        if ((error instanceof MediaError && error.code === 'EmptySelection') || error instanceof UnplannableStillError) throw new TaskFailure('InvalidArgument', `${still.path}: ${error.message}`);
        throw error;
      }
      for (const file of files) {
        await upload(file.location, file.bytes, file.format);
        task.outputs.push({ uri: formatOssUri(file.location), frames: file.frames, width: file.width, height: file.height, bytes: file.bytes.length });
      }
      task.progress = Math.round((100 * (job.animations.length + index + 1)) / steps);
    }
  }

  async function run(task: TaskInfo, job: MediaConvertJob): Promise<void> {
    const dir = join(options.workDir, task.taskId);
    try {
      if (options.conversion === 'fast') {
        await convertFast(task, job);
      } else {
        await mkdir(dir, { recursive: true });
        await convert(task, job, dir);
      }
      task.status = 'Succeeded';
    } catch (error) {
      const failure = toTaskFailure(error);
      task.status = 'Failed';
      task.code = failure.code;
      task.message = failure.message;
    } finally {
      task.endTime = new Date().toISOString();
      jobs.delete(task.taskId);
      await rm(dir, { recursive: true, force: true });
      await save();
    }
    if (task.topicName) await notify(task, task.topicName);
  }

  async function notify(task: TaskInfo, topicName: string): Promise<void> {
    try {
      await options.publish(topicName, completionNotice(task, options.region, options.accountId));
    } catch (error) {
      task.notificationError = error instanceof Error ? error.message : String(error);
      console.error(`local IMM: cannot publish the notice of task ${task.taskId} to topic ${topicName}: ${task.notificationError}`);
    }
  }

  function pump(): void {
    while (!closed && running < options.concurrency && queue.length > 0) {
      const { task, job } = queue.shift()!;
      running++;
      void run(task, job).finally(() => {
        running--;
        pump();
        if (running === 0 && queue.length === 0) {
          const waiters = idleWaiters;
          idleWaiters = [];
          for (const wake of waiters) wake();
        }
      });
    }
  }

  return {
    submit(job: MediaConvertJob, requestId: string): TaskInfo {
      const task: TaskInfo = {
        projectName: job.projectName,
        taskId: `MediaConvert-${randomUUID()}`,
        eventId: `${randomUUID().slice(0, 3).toUpperCase()}-${randomUUID().replaceAll('-', '')}`,
        requestId,
        status: 'Running',
        code: '',
        message: '',
        progress: 0,
        startTime: new Date().toISOString(),
        ...(job.userData !== undefined ? { userData: job.userData } : {}),
        ...(job.tags ? { tags: job.tags } : {}),
        ...(job.topicName ? { topicName: job.topicName } : {}),
        requestDefinition: {
          ProjectName: job.projectName,
          Sources: job.requestedSources,
          Targets: job.requestedTargets,
          ...(job.topicName ? { Notification: { MNS: { TopicName: job.topicName } } } : {}),
          ...(job.userData !== undefined ? { UserData: job.userData } : {}),
          ...(job.tags ? { Tags: job.tags } : {}),
        },
        requestedSources: job.requestedSources,
        requestedTargets: job.requestedTargets,
        outputs: [],
      };
      tasks.set(task.taskId, task);
      jobs.set(task.taskId, job);
      void save();
      queue.push({ task, job });
      pump();
      return task;
    },
    /**
     * Runs again, from the start, the tasks the state file shows running when the server last stopped (their
     * outputs are written again, their notices published once they end). Returns their ids.
     */
    resumeInterrupted(): string[] {
      const resumed = interrupted.splice(0);
      for (const entry of resumed) {
        entry.task.progress = 0;
        entry.task.outputs = [];
        queue.push(entry);
      }
      pump();
      return resumed.map((entry) => entry.task.taskId);
    },
    get: (taskId: string) => tasks.get(taskId),
    /** Snapshots: later progress does not change them. */
    list: (): TaskInfo[] => structuredClone([...tasks.values()]),
    idle(): Promise<void> {
      return running === 0 && queue.length === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));
    },
    /** Drops queued tasks and waits for the running ones. */
    async close(): Promise<void> {
      closed = true;
      queue.length = 0;
      if (running > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
      await saving;
    },
  };
}

export type TaskRunner = Awaited<ReturnType<typeof createTaskRunner>>;

/** The message IMM publishes to the task's MNS topic when it ends (an event envelope around a JSON string). */
export function completionNotice(task: TaskInfo, region: string, accountId: string): string {
  const content = {
    ProjectName: task.projectName,
    RequestId: task.requestId,
    StartTime: task.startTime,
    EndTime: task.endTime,
    ...(task.userData !== undefined ? { UserData: task.userData } : {}),
    TaskType: 'MediaConvert',
    TaskId: task.taskId,
    Status: task.status,
    Code: task.code,
    Message: task.message,
    Sources: task.requestedSources,
    Targets: task.requestedTargets,
  };
  return JSON.stringify({
    id: randomUUID(),
    source: 'acs.imm',
    specversion: '1.0',
    type: 'imm:Task:MediaConvert',
    subject: `acs:imm:${region}:${accountId}:${task.projectName}/imm:Task:MediaConvert`,
    time: String(Date.now()),
    content: JSON.stringify(content),
  });
}

/** IMM-like messages for the codes tests inject most (a transient and a permanent failure). */
const INJECTED_FAILURE_MESSAGES: Record<string, string> = {
  InternalError: INTERNAL_ERROR_MESSAGE,
  'InvalidFile.Media': INVALID_MEDIA_MESSAGE,
};

function ossFailure(error: unknown, location: OssLocation): TaskFailure {
  const uri = formatOssUri(location);
  switch (ossRefusal(error)) {
    case 'not-found':
      return new TaskFailure('ResourceNotFound', `The specified resource Object is not found: ${uri} (${(error as { code: string }).code}).`);
    case 'denied':
      return new TaskFailure('PermissionDenied', `Access to ${uri} is denied (OSS answered ${ossAnswer(error)}).`);
    case 'other':
      return new TaskFailure('InternalError', `OSS request for ${uri} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function toTaskFailure(error: unknown): TaskFailure {
  if (error instanceof TaskFailure) return error;
  if (error instanceof MediaError) {
    switch (error.code) {
      case 'UndecodableMedia':
        return new TaskFailure('InvalidFile.Media', `${INVALID_MEDIA_MESSAGE} ${error.message}`);
      case 'IncompleteMedia':
        // IMM documents nothing for a truncated source; this code is the local IMM's own (see the README).
        return new TaskFailure(INCOMPLETE_MEDIA_CODE, `The media file is incomplete: ${error.message}`);
      default:
        return new TaskFailure('InternalError', error.message);
    }
  }
  return new TaskFailure('InternalError', error instanceof Error ? error.message : String(error));
}
