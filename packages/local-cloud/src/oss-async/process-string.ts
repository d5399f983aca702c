/** A `video/animation` processing string, read as the OSS guide's parameter table defines it. */
export interface AnimationProcess {
  format: 'gif' | 'webp';
  /** Start, ms. */
  ss?: number;
  /** Maximum frames. */
  num?: number;
  /** Sampling interval, ms. */
  inter?: number;
  /** Playback frames per second. */
  fps?: number;
  /** Pixels. */
  w?: number;
  h?: number;
  /** Percent of the source. */
  pw?: number;
  ph?: number;
  scaletype?: 'crop' | 'stretch' | 'fill' | 'fit';
  saveas: {
    /** Unset: the source bucket. */
    bucket?: string;
    /** May hold IMM template variables such as `{autoext}`. */
    key: string;
  };
  notifyTopic?: string;
}

/** OSS answers 400 InvalidArgument with this message; it names the offending parameter. */
export class InvalidProcessError extends Error {
  override name = 'InvalidProcessError';
}

const SCALE_TYPES = ['crop', 'stretch', 'fill', 'fit'] as const;
const ANIMATION_PARAMS = ['f', 'ss', 'num', 'inter', 'fps', 'w', 'h', 'pw', 'ph', 'scaletype'] as const;
type AnimationParam = (typeof ANIMATION_PARAMS)[number];

/** Parses `video/animation,<params>|sys/saveas,b_<b64>,o_<b64>[/notify,topic_<b64>]`; throws InvalidProcessError. */
export function parseAnimationProcess(process: string): AnimationProcess {
  const [animationPart, sysPart, ...extra] = process.split('|');
  if (extra.length > 0) throw new InvalidProcessError(`x-oss-async-process: unexpected "|${extra.join('|')}" after sys/...`);
  const [action, ...rawParams] = (animationPart ?? '').split(',');
  if (action !== 'video/animation') {
    throw new InvalidProcessError(`x-oss-async-process: the local stand-in supports video/animation only, got "${action ?? ''}"`);
  }
  const params = readParams('video/animation', rawParams, ANIMATION_PARAMS);

  const format = params.get('f');
  if (format === undefined) throw new InvalidProcessError('video/animation: parameter "f" is required (gif or webp)');
  if (format !== 'gif' && format !== 'webp') throw new InvalidProcessError(`video/animation: parameter "f" must be gif or webp, got "${format}"`);
  const integer = (name: AnimationParam, min: number, max: number) => {
    const value = params.get(name);
    if (value === undefined) return undefined;
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < min || number > max) {
      throw new InvalidProcessError(`video/animation: parameter "${name}" must be an integer from ${min} to ${max}, got "${value}"`);
    }
    return number;
  };
  const fps = params.get('fps');
  if (fps !== undefined && (!/^\d+(\.\d+)?$/.test(fps) || Number(fps) > 240)) {
    throw new InvalidProcessError(`video/animation: parameter "fps" must be a number from 0 to 240, got "${fps}"`);
  }
  const scaleType = params.get('scaletype');
  if (scaleType !== undefined && !(SCALE_TYPES as readonly string[]).includes(scaleType)) {
    throw new InvalidProcessError(`video/animation: parameter "scaletype" must be one of ${SCALE_TYPES.join(', ')}, got "${scaleType}"`);
  }
  for (const [pixels, percent] of [['w', 'pw'], ['h', 'ph']] as const) {
    if (params.has(pixels) && params.has(percent)) {
      throw new InvalidProcessError(`video/animation: parameters "${pixels}" and "${percent}" exclude each other`);
    }
  }
  return {
    format,
    ss: integer('ss', 0, Number.MAX_SAFE_INTEGER),
    num: integer('num', 1, Number.MAX_SAFE_INTEGER),
    inter: integer('inter', 1, Number.MAX_SAFE_INTEGER),
    fps: fps === undefined ? undefined : Number(fps),
    w: integer('w', 32, 4096),
    h: integer('h', 32, 4096),
    // Percent of the source; the renderer takes ratios below 1, so 100 (the source size) is left to omitting pw/ph.
    pw: integer('pw', 1, 99),
    ph: integer('ph', 1, 99),
    scaletype: scaleType as AnimationProcess['scaletype'],
    ...readSys(sysPart),
  };
}

/** `sys/saveas,b_<b64>,o_<b64>` optionally followed by `/notify,topic_<b64>`; Base64 contains no `/`. */
function readSys(sysPart: string | undefined): Pick<AnimationProcess, 'saveas' | 'notifyTopic'> {
  if (sysPart === undefined) throw new InvalidProcessError('sys/saveas: parameter "o" is required; video/animation writes its output only through sys/saveas');
  const [prefix, ...operations] = sysPart.split('/');
  if (prefix !== 'sys') throw new InvalidProcessError(`x-oss-async-process: expected sys/saveas after "|", got "${sysPart}"`);
  let saveas: AnimationProcess['saveas'] | undefined;
  let notifyTopic: string | undefined;
  for (const operation of operations) {
    const [name, ...rawParams] = operation.split(',');
    if (name === 'saveas' && saveas === undefined) {
      const params = readParams('sys/saveas', rawParams, ['b', 'o'] as const);
      const bucketText = params.get('b');
      const bucket = bucketText === undefined ? undefined : decodeBase64Url('sys/saveas', 'b', bucketText);
      if (bucket !== undefined && !/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket)) {
        throw new InvalidProcessError(`sys/saveas: parameter "b" must name a bucket, got "${bucket}"`);
      }
      const keyText = params.get('o');
      if (keyText === undefined) throw new InvalidProcessError('sys/saveas: parameter "o" is required');
      saveas = { ...(bucket !== undefined ? { bucket } : {}), key: decodeBase64Url('sys/saveas', 'o', keyText) };
    } else if (name === 'notify' && notifyTopic === undefined) {
      const params = readParams('notify', rawParams, ['topic'] as const);
      const topic = params.get('topic');
      if (topic === undefined) throw new InvalidProcessError('notify: parameter "topic" is required');
      notifyTopic = decodeBase64Url('notify', 'topic', topic);
    } else {
      throw new InvalidProcessError(`sys: unexpected operation "${name ?? ''}"; use saveas and notify, once each`);
    }
  }
  if (!saveas) throw new InvalidProcessError('sys/saveas: parameter "o" is required; video/animation writes its output only through sys/saveas');
  return { saveas, ...(notifyTopic !== undefined ? { notifyTopic } : {}) };
}

/** `name_value` items; the name ends at the first `_` (URL-safe Base64 values contain `_` themselves). */
function readParams<Name extends string>(operation: string, items: string[], known: readonly Name[]): Map<Name, string> {
  const params = new Map<Name, string>();
  for (const item of items) {
    const underscore = item.indexOf('_');
    const name = underscore < 0 ? item : item.slice(0, underscore);
    if (!(known as readonly string[]).includes(name)) {
      throw new InvalidProcessError(`${operation}: unknown parameter "${name}"; supported: ${known.join(', ')}`);
    }
    if (underscore < 0 || underscore === item.length - 1) throw new InvalidProcessError(`${operation}: parameter "${name}" has no value`);
    if (params.has(name as Name)) throw new InvalidProcessError(`${operation}: parameter "${name}" is given twice`);
    params.set(name as Name, item.slice(underscore + 1));
  }
  return params;
}

/**
 * URL-safe Base64 of UTF-8 text. The guide asks for no padding (its Go sample pads), so correct padding is accepted;
 * anything else, including standard Base64's `+` and `/`, is refused.
 */
function decodeBase64Url(operation: string, name: string, text: string): string {
  const unpadded = text.replace(/={1,2}$/, '');
  const invalid = () => new InvalidProcessError(`${operation}: parameter "${name}" is not URL-safe Base64: "${text}"`);
  if (!/^[A-Za-z0-9_-]+$/.test(unpadded) || (unpadded !== text && text.length % 4 !== 0)) throw invalid();
  const bytes = Buffer.from(unpadded, 'base64url');
  // Node decodes leniently; re-encoding exposes dangling characters and non-zero trailing bits.
  if (bytes.toString('base64url') !== unpadded) throw invalid();
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidProcessError(`${operation}: parameter "${name}" does not decode to UTF-8 text: "${text}"`);
  }
}
