/** A `video/animation` processing string, read as the OSS guide's parameter table defines it. */
export interface AnimationProcess {
  action: 'video/animation';
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
  saveas: SaveAs;
  notifyTopic?: string;
}

/**
 * A `video/sprite` processing string (OSS guide "Generate sprites from video snapshots"): `ss` start (ms), `f` jpg or
 * png, `m` frame selection (`inter` every `inter` ms, default; `key` key frames; `avg` `num` frames at even
 * intervals, `num` required; `dhash` frames changing more than `thr`, 0-100), `num` frames (0: no limit), `sw`/`sh`
 * tile pixels (32-4096) or `psw`/`psh` percent of the source (`sw`/`sh` win over them). The layout parameters `tw`,
 * `th` (tiles per row and column), `pad` and `margin` are those of the OSS SDK's sample
 * (`video/sprite,f_jpg,sw_100,sh_100,inter_10000,tw_10,th_10,pad_0,margin_0`); their ranges and defaults are not in
 * the part of the guide we could read, so IMM Sprites' own apply (TileWidth/TileHeight 1-100, default 6; Margin
 * and Pad default 2).
 */
export interface SpriteProcess {
  action: 'video/sprite';
  format: 'jpg' | 'png';
  ss?: number;
  m: 'inter' | 'key' | 'avg' | 'dhash';
  thr?: number;
  num?: number;
  inter?: number;
  sw?: number;
  sh?: number;
  psw?: number;
  psh?: number;
  tw?: number;
  th?: number;
  pad?: number;
  margin?: number;
  saveas: SaveAs;
  notifyTopic?: string;
}

export interface SaveAs {
  /** Unset: the source bucket. */
  bucket?: string;
  /** May hold IMM template variables such as `{autoext}`. */
  key: string;
}

export type AsyncProcess = AnimationProcess | SpriteProcess;

/** OSS answers 400 InvalidArgument with this message; it names the offending parameter. */
export class InvalidProcessError extends Error {
  override name = 'InvalidProcessError';
}

const SCALE_TYPES = ['crop', 'stretch', 'fill', 'fit'] as const;
const ANIMATION_PARAMS = ['f', 'ss', 'num', 'inter', 'fps', 'w', 'h', 'pw', 'ph', 'scaletype'] as const;
const SPRITE_PARAMS = ['f', 'ss', 'm', 'thr', 'num', 'inter', 'sw', 'sh', 'psw', 'psh', 'tw', 'th', 'pad', 'margin'] as const;
const SPRITE_MODES = ['inter', 'key', 'avg', 'dhash'] as const;
const ACTIONS = ['video/animation', 'video/sprite'];

/** Parses `<action>,<params>|sys/saveas,b_<b64>,o_<b64>[/notify,topic_<b64>]`; throws InvalidProcessError. */
export function parseAsyncProcess(process: string): AsyncProcess {
  const [actionPart, sysPart, ...extra] = process.split('|');
  if (extra.length > 0) throw new InvalidProcessError(`x-oss-async-process: unexpected "|${extra.join('|')}" after sys/...`);
  const [action, ...rawParams] = (actionPart ?? '').split(',');
  if (action === 'video/animation') return { ...animationParams(rawParams), ...readSys(action, sysPart) };
  if (action === 'video/sprite') return { ...spriteParams(rawParams), ...readSys(action, sysPart) };
  throw new InvalidProcessError(`x-oss-async-process: the local stand-in supports ${ACTIONS.join(' and ')} only, got "${action ?? ''}"`);
}

function animationParams(rawParams: string[]): Omit<AnimationProcess, 'saveas' | 'notifyTopic'> {
  const params = readParams('video/animation', rawParams, ANIMATION_PARAMS);
  const integer = integerReader('video/animation', params);
  const format = params.get('f');
  if (format === undefined) throw new InvalidProcessError('video/animation: parameter "f" is required (gif or webp)');
  if (format !== 'gif' && format !== 'webp') throw new InvalidProcessError(`video/animation: parameter "f" must be gif or webp, got "${format}"`);
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
    action: 'video/animation',
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
  };
}

function spriteParams(rawParams: string[]): Omit<SpriteProcess, 'saveas' | 'notifyTopic'> {
  const params = readParams('video/sprite', rawParams, SPRITE_PARAMS);
  const integer = integerReader('video/sprite', params);
  const format = params.get('f');
  if (format === undefined) throw new InvalidProcessError('video/sprite: parameter "f" is required (jpg or png)');
  if (format !== 'jpg' && format !== 'png') throw new InvalidProcessError(`video/sprite: parameter "f" must be jpg or png, got "${format}"`);
  const mode = params.get('m') ?? 'inter';
  if (!(SPRITE_MODES as readonly string[]).includes(mode)) throw new InvalidProcessError(`video/sprite: parameter "m" must be one of ${SPRITE_MODES.join(', ')}, got "${mode}"`);
  const num = integer('num', 0, Number.MAX_SAFE_INTEGER);
  if (mode === 'avg' && !num) throw new InvalidProcessError('video/sprite: parameter "num" must be 1 or more with m_avg (frames at even intervals)');
  return {
    action: 'video/sprite',
    format,
    m: mode as SpriteProcess['m'],
    ss: integer('ss', 0, Number.MAX_SAFE_INTEGER),
    thr: integer('thr', 0, 100),
    num,
    inter: integer('inter', 0, Number.MAX_SAFE_INTEGER),
    sw: integer('sw', 32, 4096),
    sh: integer('sh', 32, 4096),
    // The guide allows up to 200 percent; the local renderer scales by ratios up to the source size.
    psw: integer('psw', 1, 100),
    psh: integer('psh', 1, 100),
    tw: integer('tw', 1, 100),
    th: integer('th', 1, 100),
    pad: integer('pad', 0, 4096),
    margin: integer('margin', 0, 4096),
  };
}

/** Reads an integer parameter in [min, max]; undefined when absent. */
function integerReader<Name extends string>(operation: string, params: Map<Name, string>) {
  return (name: Name, min: number, max: number): number | undefined => {
    const value = params.get(name);
    if (value === undefined) return undefined;
    const number = Number(value);
    if (!/^\d+$/.test(value) || number < min || number > max) {
      throw new InvalidProcessError(`${operation}: parameter "${name}" must be an integer from ${min} to ${max}, got "${value}"`);
    }
    return number;
  };
}

/** `sys/saveas,b_<b64>,o_<b64>` optionally followed by `/notify,topic_<b64>`; Base64 contains no `/`. */
function readSys(action: AsyncProcess['action'], sysPart: string | undefined): { saveas: SaveAs; notifyTopic?: string } {
  const onlyThroughSaveas = `sys/saveas: parameter "o" is required; ${action} writes its output only through sys/saveas`;
  if (sysPart === undefined) throw new InvalidProcessError(onlyThroughSaveas);
  const [prefix, ...operations] = sysPart.split('/');
  if (prefix !== 'sys') throw new InvalidProcessError(`x-oss-async-process: expected sys/saveas after "|", got "${sysPart}"`);
  let saveas: SaveAs | undefined;
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
  if (!saveas) throw new InvalidProcessError(onlyThroughSaveas);
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
