import type { CreateMediaConvertTaskRequest, ImmAnimationTarget, ImmApi, ImmTaskInfo } from '../clients/imm';
import type { JobPlan, SampledOutput, SampledPlan } from '../jobs/plan';
import type { MediaInfo } from '../jobs/sampling';
import { PermanentFailure, ServiceResponseError } from '../platform/errors';
import * as z from '../platform/zod';
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
  return {
    ProjectName: settings.projectName,
    Sources: [source],
    Targets: [{ Image: { Animations: plan.outputs.map((output) => animationTarget(plan.source.bucket, output)) } }],
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
      return [{ taskId: response.TaskId, outputs: plan.outputs.map((o) => o.resolvedKey) }];
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
