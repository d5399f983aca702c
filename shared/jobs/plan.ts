import { createHash } from 'node:crypto';
import * as z from './zod';
import type { CreateMediaConvertTaskRequest, ImmAnimationTarget } from './clients/imm';
import { resolveOutputKey } from './rules/naming';
import type { Output, Rule } from './rules/schema';

/** The uploaded object version a job converts. */
export interface SourceObject {
  bucket: string;
  key: string;
  eTag: string;
  size: number;
}

export interface PlannedOutput extends Output {
  /** The exact key the output is written to, resolved before the task runs. */
  resolvedKey: string;
}

export interface JobPlan {
  jobId: string;
  source: SourceObject;
  rule: Rule;
  outputs: PlannedOutput[];
}

/** IMM returns UserData in its notice; it holds at most 2048 bytes. */
export const MAX_USER_DATA_BYTES = 2048;

/** One job per object version and rule: the same upload event, however often delivered, maps to the same id. */
export function jobIdFor(source: SourceObject, ruleName: string): string {
  return createHash('sha256').update(JSON.stringify([source.bucket, source.key, source.eTag, ruleName])).digest('hex').slice(0, 32);
}

export function planJob(source: SourceObject, rule: Rule): JobPlan {
  return {
    jobId: jobIdFor(source, rule.name),
    source,
    rule,
    outputs: rule.outputs.map((output) => ({ ...output, resolvedKey: resolveOutputKey(output.key, source.key, rule.name, output.format) })),
  };
}

/** What the record function needs to find the job; kept small and bounded whatever the key's length. */
export const UserDataSchema = z.object({ app: z.literal('video-animation'), v: z.literal(1), jobId: z.string().check(z.regex(/^[0-9a-f]{32}$/)), bucket: z.string(), rule: z.string() });
export type UserData = z.infer<typeof UserDataSchema>;

export function userDataFor(plan: JobPlan): string {
  const text = JSON.stringify({ app: 'video-animation', v: 1, jobId: plan.jobId, bucket: plan.source.bucket, rule: plan.rule.name } satisfies UserData);
  if (Buffer.byteLength(text) > MAX_USER_DATA_BYTES) throw new Error(`UserData is ${Buffer.byteLength(text)} bytes; IMM takes at most ${MAX_USER_DATA_BYTES}`);
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

function animationTarget(bucket: string, output: PlannedOutput): ImmAnimationTarget {
  const target: ImmAnimationTarget = { Format: output.format, URI: ossUri(bucket, output.resolvedKey, true) };
  if (output.width !== undefined) target.Width = output.width;
  if (output.height !== undefined) target.Height = output.height;
  if (output.scaleType !== undefined) target.ScaleType = output.scaleType;
  if (output.interval !== undefined) target.Interval = output.interval;
  if (output.frameRate !== undefined) target.FrameRate = output.frameRate;
  target.Number = output.maxFrames;
  return target;
}

/** The CreateMediaConvertTask request for a job: one source window, one animation per output, MNS notice. */
export function immTaskRequest(plan: JobPlan, settings: { projectName: string; topicName: string }): CreateMediaConvertTaskRequest {
  // Validation guarantees a rule's outputs share start and duration.
  const window = plan.rule.outputs[0];
  const source: CreateMediaConvertTaskRequest['Sources'][number] = { URI: ossUri(plan.source.bucket, plan.source.key) };
  if (window?.start !== undefined) source.StartTime = window.start;
  if (window?.duration !== undefined) source.Duration = window.duration;
  return {
    ProjectName: settings.projectName,
    Sources: [source],
    Targets: [{ Image: { Animations: plan.outputs.map((output) => animationTarget(plan.source.bucket, output)) } }],
    Notification: { MNS: { TopicName: settings.topicName } },
    UserData: userDataFor(plan),
    Tags: { JobId: plan.jobId, Rule: plan.rule.name },
  };
}
