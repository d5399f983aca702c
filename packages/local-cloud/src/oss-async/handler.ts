import { randomBytes } from 'node:crypto';
import type { MediaConvertJob } from '../imm/media-convert-request';
import { expandUriTemplate, formatOssUri, UnknownTemplateVariableError, type OssLocation } from '../imm/oss-uri';
import type { LocalImm } from '../imm/server';
import type { SpriteTarget } from '../imm/stills';
import type { AnimationSpec } from '../media';
import { ossErrors } from '../oss/errors';
import type { AsyncProcessHandler } from '../oss/server';
import { InvalidProcessError, parseAsyncProcess, type AsyncProcess, type SpriteProcess } from './process-string';

export interface AsyncProcessOptions {
  /** Runs the conversions, as OSS hands them to the attached IMM project. */
  imm: LocalImm;
  /** The IMM project attached to the buckets; it must exist in `imm`. */
  projectName: string;
  /** Buckets with that project attached; others get OSS's "no IMM project attached" error. */
  attachedBuckets: string[];
  /**
   * Requests whose task is made (it runs and notifies as usual) but whose answer is lost: OSS drops the connection
   * instead of answering. A share of them, and/or the first N.
   */
  faults?: { dropAnswerRate?: number; dropFirstAnswers?: number; random?: () => number };
}

/**
 * The local OSS's `asyncProcess`: serves `POST /<key>?x-oss-async-process` with `video/animation` and `video/sprite`
 * as OSS does, by handing the work to the local IMM as a MediaConvert task (same runner, task list and completion
 * notice: OSS runs both through the attached IMM project, whose message is IMM's `imm:Task:MediaConvert`).
 */
export function createAsyncProcessHandler(options: AsyncProcessOptions): AsyncProcessHandler {
  const attached = new Set(options.attachedBuckets);
  const random = options.faults?.random ?? Math.random;
  let started = 0;
  const dropAnswer = () => {
    started++;
    if (started <= (options.faults?.dropFirstAnswers ?? 0)) return true;
    return !!options.faults?.dropAnswerRate && random() < options.faults.dropAnswerRate;
  };
  return async ({ bucket, key, process }) => {
    if (!attached.has(bucket)) {
      const { status, code, message } = ossErrors.immNotAttached();
      return { status, code, message };
    }
    let job: MediaConvertJob;
    try {
      job = mediaConvertJob(parseAsyncProcess(process), { bucket, key }, options.projectName);
    } catch (error) {
      if (error instanceof InvalidProcessError) return { status: 400, code: 'InvalidArgument', message: error.message };
      throw error;
    }
    // OSS request ids: 24 upper-case hex digits.
    const requestId = randomBytes(12).toString('hex').toUpperCase();
    const task = options.imm.runJob(job, requestId);
    const body = { EventId: task.eventId, RequestId: requestId, TaskId: task.taskId };
    return dropAnswer() ? { status: 200, body, dropAnswer: true } : { status: 200, body };
  };
}

/** The MediaConvert task a processing string amounts to: one source, one output, the notice on `notify`'s topic. */
function mediaConvertJob(process: AsyncProcess, source: OssLocation, projectName: string): MediaConvertJob {
  const outputBucket = process.saveas.bucket ?? source.bucket;
  const output = { bucket: outputBucket, key: outputKey(process, source) };
  const common = {
    projectName,
    ...(process.notifyTopic !== undefined ? { topicName: process.notifyTopic } : {}),
    sources: [{ location: source }],
    requestedSources: [{ URI: formatOssUri(source) }],
  };
  if (process.action === 'video/sprite') {
    const sprite = spriteTarget(process, output);
    const requestedSprite = { ...sprite, URI: `oss://${outputBucket}/${process.saveas.key}` };
    return { ...common, animations: [], stills: [{ kind: 'sprite', path: 'video/sprite', target: sprite }], requestedTargets: [{ Image: { Sprites: [requestedSprite] } }] };
  }
  const spec: AnimationSpec = {
    format: process.format,
    width: process.w ?? (process.pw === undefined ? undefined : process.pw / 100),
    height: process.h ?? (process.ph === undefined ? undefined : process.ph / 100),
    scaleType: process.scaletype,
    interval: process.inter === undefined ? undefined : process.inter / 1000,
    frameRate: process.fps,
    startTime: process.ss === undefined ? undefined : process.ss / 1000,
    number: process.num,
  };
  // What CreateMediaConvertTask would have carried, echoed in the completion notice as IMM does.
  const requestedAnimation = definedOnly({
    Format: spec.format,
    URI: `oss://${outputBucket}/${process.saveas.key}`,
    Width: spec.width,
    Height: spec.height,
    ScaleType: spec.scaleType,
    Interval: spec.interval,
    FrameRate: spec.frameRate,
    StartTime: spec.startTime,
    Number: spec.number,
  });
  return { ...common, animations: [{ path: 'video/animation', output, spec }], requestedTargets: [{ Image: { Animations: [requestedAnimation] } }] };
}

const SPRITE_MODES = { inter: 'interval', key: 'keyframe', avg: 'average', dhash: 'dhash' } as const;

/**
 * video/sprite as IMM Sprites: `m` as Mode, ms as seconds, `sw`/`sh` (or `psw`/`psh` as ratios) as ScaleWidth and
 * ScaleHeight, `tw`/`th` as TileWidth/TileHeight, `pad` and `margin` as they are; `num_0` and `inter_0` (no limit,
 * every frame) as unset. The sheet goes to the saveas key as given; how OSS names further sheets when the frames
 * outgrow one is not documented, so here each one overwrites the last, as IMM does without `{index}`.
 */
function spriteTarget(process: SpriteProcess, output: OssLocation): SpriteTarget {
  return definedOnly({
    Format: process.format,
    URI: formatOssUri({ bucket: output.bucket, key: output.key.replace(/[{}]/g, (brace) => brace + brace) }),
    Mode: SPRITE_MODES[process.m],
    StartTime: process.ss === undefined ? undefined : process.ss / 1000,
    Interval: process.inter ? process.inter / 1000 : undefined,
    Number: process.num || undefined,
    Threshold: process.thr,
    ScaleWidth: process.sw ?? (process.psw === undefined ? undefined : process.psw / 100),
    ScaleHeight: process.sh ?? (process.psh === undefined ? undefined : process.psh / 100),
    TileWidth: process.tw,
    TileHeight: process.th,
    Margin: process.margin,
    Pad: process.pad,
  }) as SpriteTarget;
}

function definedOnly<T extends Record<string, unknown>>(fields: T): Partial<T> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** The saveas key with IMM's template variables (`{autoext}`, `{barename}`, ...) filled in from the source. */
function outputKey(process: AsyncProcess, source: OssLocation): string {
  let key: string;
  try {
    key = expandUriTemplate(process.saveas.key, source, process.format);
  } catch (error) {
    if (error instanceof UnknownTemplateVariableError) throw new InvalidProcessError(`sys/saveas: parameter "o" has an ${error.message}`);
    throw error;
  }
  if (key === '' || key.startsWith('/') || Buffer.byteLength(key) > 1023) {
    throw new InvalidProcessError(`sys/saveas: parameter "o" must give an object key of 1 to 1023 bytes not starting with "/", got "${key}"`);
  }
  return key;
}
