import { z } from 'zod';
import type { AnimationSpec } from '../media';
import { invalidArgument, invalidJson, missingParameter } from './errors';
import { expandUriTemplate, parseOssUri, UnknownTemplateVariableError, type OssLocation } from './oss-uri';
import { snapshotSchema, spriteSchema, type StillTarget } from './stills';

const USER_DATA_MAX_BYTES = 2048;
const MAX_SOURCES = 11;

const ossUri = z.string({ error: 'must be a string' }).refine((uri) => parseOssUri(uri) !== undefined, { error: 'must be an OSS URI oss://bucket/key' });
const seconds = z.number({ error: 'must be a number' }).min(0, { error: 'must be >= 0' });
const dimension = z
  .number({ error: 'must be a number' })
  .refine((value) => (Number.isInteger(value) && value >= 1 && value <= 4096) || (value > 0 && value < 1), {
    error: 'must be an integer in [1, 4096] (pixels) or a decimal in (0, 1) (ratio of the source)',
  });
const onlyAnimations = z.undefined({ error: 'is not supported: the local IMM renders Image.Animations, Snapshots and Sprites only' }).optional();

const animationSchema = z.object({
  Format: z.enum(['gif', 'webp'], { error: 'must be gif or webp' }),
  URI: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }),
  Width: dimension.optional(),
  Height: dimension.optional(),
  ScaleType: z.enum(['stretch', 'crop', 'fill', 'fit'], { error: 'must be stretch, crop, fill or fit' }).optional(),
  FrameRate: z.number({ error: 'must be a number' }).min(0, { error: 'must be in [0, 240]' }).max(240, { error: 'must be in [0, 240]' }).optional(),
  Interval: seconds.optional(),
  StartTime: seconds.optional(),
  Number: z.number({ error: 'must be a number' }).int({ error: 'must be an integer' }).min(0, { error: 'must be >= 0' }).optional(),
});

const targetSchema = z.object({
  Image: z.object(
    {
      Animations: z.array(animationSchema, { error: 'must be an array' }).optional(),
      Snapshots: z.array(snapshotSchema, { error: 'must be an array' }).optional(),
      Sprites: z.array(spriteSchema, { error: 'must be an array' }).optional(),
    },
    { error: 'must be an object' },
  ).refine((image) => (image.Animations?.length ?? 0) + (image.Snapshots?.length ?? 0) + (image.Sprites?.length ?? 0) > 0, {
    error: 'must hold at least one animation, snapshot or sprite',
  }),
  URI: onlyAnimations,
  Container: onlyAnimations,
  Video: onlyAnimations,
  Audio: onlyAnimations,
  Subtitle: onlyAnimations,
  Segment: onlyAnimations,
});

const sourceSchema = z.object({ URI: ossUri, StartTime: seconds.optional(), Duration: seconds.optional() });

const parametersSchema = z.object({
  Sources: z.array(sourceSchema, { error: 'must be an array' }).min(1, { error: 'must hold at least one source' }).max(MAX_SOURCES, { error: `must hold at most ${MAX_SOURCES} sources` }),
  Targets: z.array(targetSchema, { error: 'must be an array' }).min(1, { error: 'must hold at least one target' }),
  Notification: z
    .object({ MNS: z.object({ TopicName: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }) }).optional() }, { error: 'must be an object' })
    .optional(),
  Tags: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]), { error: 'must be an object of strings' }).optional(),
});

export interface SourceClip {
  location: OssLocation;
  startTime?: number;
  /** Unset: to the end of the video (IMM's Duration 0 means the same). */
  duration?: number;
}

export interface AnimationOutput {
  /** Where the animation sits in the request, e.g. `Targets[0].Image.Animations[1]`. */
  path: string;
  output: OssLocation;
  spec: AnimationSpec;
}

/** A validated CreateMediaConvertTask; the `requested*` fields echo the request verbatim for GetTask and the notice. */
export interface MediaConvertJob {
  projectName: string;
  userData?: string;
  topicName?: string;
  tags?: Record<string, string | number | boolean>;
  sources: SourceClip[];
  animations: AnimationOutput[];
  /** Image.Snapshots and Image.Sprites, in request order (see stills.ts). */
  stills?: StillTarget[];
  requestedSources: unknown[];
  requestedTargets: unknown[];
}

export type RequestParameters = Record<string, unknown>;

/** Validates CreateMediaConvertTask parameters as the SDK sends them (structures as JSON strings); throws ImmApiError. */
export function parseMediaConvertRequest(parameters: RequestParameters): MediaConvertJob {
  const projectName = requiredString(parameters, 'ProjectName');
  const userData = optionalString(parameters, 'UserData');
  if (userData !== undefined && Buffer.byteLength(userData, 'utf8') > USER_DATA_MAX_BYTES) {
    throw invalidArgument(`UserData must be at most ${USER_DATA_MAX_BYTES} bytes, got ${Buffer.byteLength(userData, 'utf8')}`);
  }
  const structures = {
    Sources: jsonParameter(parameters, 'Sources', true),
    Targets: jsonParameter(parameters, 'Targets', true),
    Notification: jsonParameter(parameters, 'Notification', false),
    Tags: jsonParameter(parameters, 'Tags', false),
  };
  // CredentialConfig (a role chain for cross-account access) must be JSON but changes nothing locally.
  jsonParameter(parameters, 'CredentialConfig', false);

  const parsed = parametersSchema.safeParse(structures, { reportInput: true });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = formatPath(issue.path);
    throw invalidArgument(issue.input === undefined ? `${path} is required` : `${path} ${issue.message}`);
  }
  const { Sources, Targets, Notification, Tags } = parsed.data;

  const sources = Sources.map(
    (source): SourceClip => ({
      location: parseOssUri(source.URI)!,
      ...(source.StartTime ? { startTime: source.StartTime } : {}),
      ...(source.Duration ? { duration: source.Duration } : {}),
    }),
  );
  const firstSource = sources[0]!;
  const single = sources.length === 1 ? firstSource : undefined;
  const animations = Targets.flatMap((target, targetIndex) =>
    (target.Image.Animations ?? []).map((animation, animationIndex): AnimationOutput => {
      const path = `Targets[${targetIndex}].Image.Animations[${animationIndex}]`;
      return {
        path,
        output: expandOutputUri(animation.URI, firstSource.location, animation.Format, `${path}.URI`),
        spec: {
          format: animation.Format,
          width: animation.Width,
          height: animation.Height,
          scaleType: animation.ScaleType,
          interval: animation.Interval,
          frameRate: animation.FrameRate,
          startTime: animation.StartTime,
          number: animation.Number,
          // Several sources are joined into one clip before rendering; a single one is trimmed while rendering.
          sourceStartTime: single?.startTime,
          sourceDuration: single?.duration,
        },
      };
    }),
  );

  const clip = { ...(single?.startTime !== undefined ? { sourceStartTime: single.startTime } : {}), ...(single?.duration !== undefined ? { sourceDuration: single.duration } : {}) };
  const stills = Targets.flatMap((target, targetIndex): StillTarget[] => [
    ...(target.Image.Snapshots ?? []).map((snapshot, i): StillTarget => ({ kind: 'snapshot', path: `Targets[${targetIndex}].Image.Snapshots[${i}]`, target: snapshot, ...clip })),
    ...(target.Image.Sprites ?? []).map((sprite, i): StillTarget => ({ kind: 'sprite', path: `Targets[${targetIndex}].Image.Sprites[${i}]`, target: sprite, ...clip })),
  ]);

  return {
    projectName,
    ...(userData !== undefined ? { userData } : {}),
    ...(Notification?.MNS ? { topicName: Notification.MNS.TopicName } : {}),
    ...(Tags ? { tags: Tags } : {}),
    sources,
    animations,
    stills,
    requestedSources: structures.Sources as unknown[],
    requestedTargets: structures.Targets as unknown[],
  };
}

function expandOutputUri(template: string, source: OssLocation, format: string, path: string): OssLocation {
  let uri: string;
  try {
    uri = expandUriTemplate(template, source, format);
  } catch (error) {
    if (error instanceof UnknownTemplateVariableError) throw invalidArgument(`${path} has an ${error.message}`);
    throw error;
  }
  const location = parseOssUri(uri);
  if (!location || location.key.startsWith('/')) throw invalidArgument(`${path} must be an OSS URI oss://bucket/key, got ${uri}`);
  return location;
}

export function requiredString(parameters: RequestParameters, name: string): string {
  const value = optionalString(parameters, name);
  if (value === undefined || value === '') throw missingParameter(name);
  return value;
}

export function optionalString(parameters: RequestParameters, name: string): string | undefined {
  const value = parameters[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object') throw invalidArgument(`${name} must be a string`);
  return String(value);
}

/** A structure parameter: a JSON string in query or form parameters, or already an object in a JSON body. */
export function jsonParameter(parameters: RequestParameters, name: string, required: boolean): unknown {
  const value = parameters[name];
  if (value === undefined || value === '') {
    if (required) throw missingParameter(name);
    return undefined;
  }
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw invalidJson(name);
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`)).join('');
}
