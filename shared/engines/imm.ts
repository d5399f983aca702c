import type { CreateMediaConvertTaskRequest, ImmAnimationTarget, ImmApi, ImmSnapshotTarget, ImmSpriteTarget, ImmTaskInfo } from '../clients/imm';
import { previewOutputKey, type PlannedPreview } from '../media/previews';
import type { JobPlan, SampledOutput, SampledPlan } from '../jobs/plan';
import type { MediaInfo } from '../jobs/sampling';
import { PermanentFailure, ServiceResponseError } from '../platform/errors';
import * as z from '../platform/zod';
import { outputDelivery } from '../rules/naming';
import type { Rule } from '../rules/schema';
import { taskStatusOf, type ConversionEngine, type MediaProbe, type Retrier, type TaskLookup, type TaskStatus } from './engine';

/** IMM returns UserData in its notice; it holds at most 2048 bytes. */
export const MAX_USER_DATA_BYTES = 2048;

/** The tag every task carries with its job id: ListTasks finds a job's tasks by it (TagSelector `JobId=<id>`). */
export const JOB_TAG = 'JobId';

/** What the record function needs to find the job; kept small and bounded whatever the key's length. */
export const UserDataSchema = z.object({ app: z.literal('video-animation'), v: z.literal(1), jobId: z.string().check(z.regex(/^[0-9a-f]{32}$/)), bucket: z.string(), rule: z.string() });
export type UserData = z.infer<typeof UserDataSchema>;

export function userDataFor(plan: JobPlan): string {
  const text = JSON.stringify({ app: 'video-animation', v: 1, jobId: plan.jobId, bucket: plan.source.bucket, rule: plan.rule.name } satisfies UserData);
  if (Buffer.byteLength(text) > MAX_USER_DATA_BYTES) throw new PermanentFailure('UserDataTooLong', `UserData is ${Buffer.byteLength(text)} bytes; IMM takes at most ${MAX_USER_DATA_BYTES}`);
  return text;
}

/** The job a notice belongs to, or undefined when UserData is not ours. */
export function parseUserData(text: string): UserData | undefined {
  try {
    const parsed = UserDataSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** An IMM OSS URI; in target URIs IMM expands `{...}` templates, so literal braces in keys are doubled. */
export function ossUri(bucket: string, key: string, escapeTemplate = false): string {
  return `oss://${bucket}/${escapeTemplate ? key.replace(/[{}]/g, (brace) => brace + brace) : key}`;
}

function animationTarget(bucket: string, output: SampledOutput): ImmAnimationTarget {
  const { sampling } = output;
  const target: ImmAnimationTarget = { Format: output.format, URI: ossUri(bucket, output.resolvedKey, true) };
  if (output.width !== undefined) target.Width = output.width;
  if (output.height !== undefined) target.Height = output.height;
  if (output.scaleType !== undefined) target.ScaleType = output.scaleType;
  if (sampling.interval !== undefined) target.Interval = sampling.interval;
  if (sampling.frameRate !== undefined) target.FrameRate = sampling.frameRate;
  target.Number = sampling.number;
  return target;
}

/** The CreateMediaConvertTask request for a job: one source window, one animation per output, MNS notice, job tags. */
export function immTaskRequest(plan: SampledPlan, settings: { projectName: string; topicName: string }, attempt = 1): CreateMediaConvertTaskRequest {
  // Validation guarantees a rule's outputs share start and duration, so they share one window; a frames output's
  // window is the same one cut at the video's end.
  const window = (plan.outputs.find((o) => o.frames !== undefined) ?? plan.outputs[0])?.sampling;
  const source: CreateMediaConvertTaskRequest['Sources'][number] = { URI: ossUri(plan.source.bucket, plan.source.key) };
  if (window?.start !== undefined) source.StartTime = window.start;
  if (window?.duration !== undefined) source.Duration = window.duration;
  const at = (output: Partial<SampledOutput>) => outputDelivery(plan.rule, output, plan.source.bucket).bucket;
  const animations = plan.outputs.map((output) => animationTarget(at(output), output));
  // Posters and storyboards ride in the same task as the animations.
  const previews = immPreviewImage(at({}), plan.previews ?? []);
  return {
    ProjectName: settings.projectName,
    Sources: [source],
    Targets: [{ Image: { ...(animations.length > 0 ? { Animations: animations } : {}), ...previews } }],
    Notification: { MNS: { TopicName: settings.topicName } },
    UserData: userDataFor(plan),
    Tags: { [JOB_TAG]: plan.jobId, Rule: plan.rule.name, Attempt: String(attempt) },
  };
}

/** One IMM task samples one window of the source (Sources[0].StartTime/Duration), so a rule's outputs must agree on it. */
export function immRuleProblems(rule: Rule): string[] {
  const problems: string[] = [];
  const [first, ...rest] = rule.outputs;
  rest.forEach((output, i) => {
    for (const field of ['start', 'duration'] as const) {
      if (output[field] !== first?.[field]) {
        problems.push(
          `rule "${rule.name}" outputs[${i + 1}].${field}: ${output[field] ?? 'unset'} differs from outputs[0].${field} (${first?.[field] ?? 'unset'}); ` +
            'one IMM task samples one window of the video, so split these outputs into two rules',
        );
      }
    }
  });
  return problems;
}

function toTaskStatus(task: ImmTaskInfo): TaskStatus {
  return {
    taskId: task.TaskId,
    status: taskStatusOf(task.Status),
    ...(task.Code ? { code: task.Code } : {}),
    ...(task.Message ? { message: task.Message } : {}),
    ...(task.StartTime ? { startTime: task.StartTime } : {}),
    ...(task.EndTime ? { endTime: task.EndTime } : {}),
  };
}

/** One CreateMediaConvertTask per job: every output of the rule is an animation of the same task. */
export function immEngine(imm: ImmApi, settings: { projectName: string; topicName: string }, retry: Retrier): ConversionEngine {
  return {
    async submit(plan, attempt) {
      const request = immTaskRequest(plan, settings, attempt);
      // Starts a billed task: never re-sent after an ambiguous failure (the caller looks the task up instead).
      const response = await retry('imm', () => imm.createMediaConvertTask(request), 'starts-task');
      return [{ taskId: response.TaskId, outputs: [...plan.outputs.map((o) => o.resolvedKey), ...(plan.previews ?? []).map(previewOutputKey)] }];
    },
    async findJobTasks(jobId) {
      const found: TaskStatus[] = [];
      let nextToken: string | undefined;
      do {
        const page = await retry('imm', () =>
          imm.listTasks({ ProjectName: settings.projectName, TaskTypes: ['MediaConvert'], TagSelector: `${JOB_TAG}=${jobId}`, MaxResults: 100, ...(nextToken ? { NextToken: nextToken } : {}) }),
        );
        found.push(...(page.Tasks ?? []).map(toTaskStatus));
        nextToken = page.NextToken || undefined;
      } while (nextToken);
      return found.sort((a, b) => (a.startTime ?? '').localeCompare(b.startTime ?? ''));
    },
  };
}

/** A frame rate as IMM writes it ("25/1", "30000/1001"); undefined when it says nothing usable. */
export function parseFrameRate(text: string | undefined): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(?:\/(\d+(?:\.\d+)?))?$/.exec(text ?? '');
  if (!match) return undefined;
  const rate = Number(match[1]) / Number(match[2] ?? 1);
  return Number.isFinite(rate) && rate > 0 ? rate : undefined;
}

/** DetectMediaMeta on the source: its duration (required for a frame budget), size and frame rate. */
export function immMediaProbe(imm: ImmApi, projectName: string, retry: Retrier): MediaProbe {
  return {
    async probe(bucket, key) {
      const meta = await retry('imm', () => imm.detectMediaMeta(projectName, ossUri(bucket, key)));
      if (!(typeof meta.Duration === 'number' && meta.Duration > 0)) {
        throw new PermanentFailure('InvalidFile.Media', `IMM found no duration in ${ossUri(bucket, key)}: it is not a video IMM can read`);
      }
      const stream = meta.VideoStreams?.[0];
      const frameRate = parseFrameRate(stream?.AverageFrameRate) ?? parseFrameRate(stream?.FrameRate);
      const media: MediaInfo = { duration: meta.Duration };
      if (meta.VideoWidth) media.width = meta.VideoWidth;
      if (meta.VideoHeight) media.height = meta.VideoHeight;
      if (frameRate) media.frameRate = frameRate;
      return media;
    },
  };
}

/** GetTask on the project; IMM's ResourceNotFound means it no longer knows the task. */
export function immTaskLookup(imm: ImmApi, projectName: string, retry: Retrier): TaskLookup {
  return {
    async getTask(taskId) {
      try {
        return toTaskStatus(await retry('imm', () => imm.getTask(projectName, taskId)));
      } catch (error) {
        if (error instanceof ServiceResponseError && error.code.startsWith('ResourceNotFound')) return undefined;
        throw error;
      }
    },
  };
}

/**
 * IMM's task-failure policy: codes worth a new task are IMM's own hiccups, not the input's fault. Everything else
 * (InvalidFile.Media, InvalidArgument, ResourceNotFound, AccessDenied, ...) fails the job at once. `TaskNotFound` is
 * ours: IMM forgot a task (it keeps task info 7 days) whose outputs never appeared.
 */
const RETRYABLE_TASK_CODES = new Set(['InternalError', 'ServiceUnavailable', 'InternalFailure', 'TaskNotFound']);

export function isRetryableTaskCode(code: string): boolean {
  return RETRYABLE_TASK_CODES.has(code) || /timeout|timedout|throttl/i.test(code);
}

// ---- Posters and storyboards (issue 21): Snapshots and Sprites beside the Animations of the same task. ----

/** IMM `Targets[].Image.Snapshots` for the posters: one frame at `at`, or `candidates` frames at even intervals. */
export function immSnapshotTargets(bucket: string, previews: readonly PlannedPreview[]): ImmSnapshotTarget[] {
  return previews.flatMap((preview) => {
    if (preview.kind !== 'poster') return [];
    const { output, keys } = preview;
    const target: ImmSnapshotTarget = { Format: output.format, URI: keys.candidates ? ossUri(bucket, keys.candidates.uriKey) : ossUri(bucket, keys.key, true) };
    if (output.width !== undefined) target.Width = output.width;
    if (output.height !== undefined) target.Height = output.height;
    if (output.scaleType !== undefined) target.ScaleType = output.scaleType;
    if (preview.at !== undefined) Object.assign(target, { StartTime: preview.at, Number: 1 });
    else Object.assign(target, { Mode: 'average', Number: output.candidates });
    return [target];
  });
}

/** IMM `Targets[].Image.Sprites` for the storyboards: `frames` tiles at even intervals, laid out as planned. */
export function immSpriteTargets(bucket: string, previews: readonly PlannedPreview[]): ImmSpriteTarget[] {
  return previews.flatMap((preview) => {
    if (preview.kind !== 'storyboard') return [];
    const { output, keys, layout } = preview;
    const target: ImmSpriteTarget = {
      Format: output.format,
      URI: ossUri(bucket, keys.sheetUriKey),
      TileWidth: layout.columns,
      TileHeight: layout.rows,
      Margin: layout.margin,
      Pad: layout.pad,
      ScaleWidth: layout.tileWidth,
      ScaleHeight: layout.tileHeight,
      Mode: 'average',
      Number: layout.frames,
    };
    if (output.scaleType !== undefined) target.ScaleType = output.scaleType;
    return [target];
  });
}

/** The Snapshots and Sprites to merge into `Targets[0].Image` of immTaskRequest (absent when there are none). */
export function immPreviewImage(bucket: string, previews: readonly PlannedPreview[]): { Snapshots?: ImmSnapshotTarget[]; Sprites?: ImmSpriteTarget[] } {
  const snapshots = immSnapshotTargets(bucket, previews);
  const sprites = immSpriteTargets(bucket, previews);
  return { ...(snapshots.length ? { Snapshots: snapshots } : {}), ...(sprites.length ? { Sprites: sprites } : {}) };
}

/**
 * Posters and storyboards cover the whole video, but IMM trims the task's one source (Sources[0].StartTime/Duration)
 * for every target: a rule whose animations set a window cannot carry them.
 */
export function immPreviewProblems(rule: Rule): string[] {
  if (rule.previews.length === 0) return [];
  const windowed = rule.outputs.findIndex((o) => o.start !== undefined || o.duration !== undefined);
  if (windowed < 0) return [];
  const field = rule.outputs[windowed]!.start !== undefined ? 'start' : 'duration';
  return rule.previews.map(
    (p) =>
      `rule "${rule.name}" outputs[${p.slot}].kind: a ${p.kind} covers the whole video, but with engine imm the rule's animations set ${field} ` +
      `(one IMM task trims its source for every output); put the ${p.kind} in a rule of its own`,
  );
}
