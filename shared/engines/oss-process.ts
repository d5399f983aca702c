import { PermanentFailure } from '../platform/errors';
import type { JobPlan, SampledOutput } from '../jobs/plan';
import type { PlannedStoryboard } from '../media/previews';
import type { Output, Rule } from '../rules/schema';

/**
 * The `x-oss-async-process` value converting the job's source into one output (OSS guide "Convert a video to an
 * animated image"): `video/animation,<params>|sys/saveas,b_<bucket>,o_<key>/notify,topic_<topic>`, names and values
 * URL-safe Base64 without padding. Only the parameters the output's sampling sets are sent, plus `num`, the frame
 * cap. OSS has no duration parameter: a window's end is reached by `num` frames every `inter` (a `frames` output:
 * inter = window / frames, rounded to whole milliseconds). Throws when the output holds something OSS cannot
 * express (see ossEngineProblems, which validation runs first).
 */
export function ossProcessString(plan: JobPlan, output: SampledOutput, settings: { topicName: string }): string {
  const problems = outputProblems(output);
  if (problems.length > 0) {
    throw new PermanentFailure('UnsupportedByEngine', `output ${output.resolvedKey} cannot be sent to OSS: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
  }
  const { sampling } = output;
  const params = [`f_${output.format}`];
  if (sampling.start !== undefined) params.push(`ss_${Math.round(sampling.start * 1000)}`);
  params.push(`num_${sampling.number}`);
  if (sampling.interval !== undefined) params.push(`inter_${Math.max(1, Math.round(sampling.interval * 1000))}`);
  if (sampling.frameRate !== undefined) params.push(`fps_${sampling.frameRate}`);
  if (output.width !== undefined) params.push(sizeParam('w', output.width));
  if (output.height !== undefined) params.push(sizeParam('h', output.height));
  if (output.scaleType !== undefined) params.push(`scaletype_${output.scaleType}`);
  // IMM expands `{...}` templates in the saveas key (`{autoext}` and others), so literal braces are doubled.
  const targetKey = output.resolvedKey.replace(/[{}]/g, (brace) => brace + brace);
  return (
    `video/animation,${params.join(',')}` +
    `|sys/saveas,b_${base64Url(plan.source.bucket)},o_${base64Url(targetKey)}` +
    `/notify,topic_${base64Url(settings.topicName)}`
  );
}

/** Every field of the rule's outputs that OSS's video/animation cannot express, in validate.ts's message style. */
export function ossEngineProblems(rule: Rule): string[] {
  return rule.outputs.flatMap((output, i) =>
    outputProblems(output).map((p) => `rule "${rule.name}" outputs[${i}].${p.field}: ${p.message}`),
  );
}

function outputProblems(output: Output): { field: keyof Output; message: string }[] {
  const problems: { field: keyof Output; message: string }[] = [];
  if (output.duration !== undefined && output.interval === undefined && output.frames === undefined) {
    problems.push({
      field: 'duration',
      message: 'needs interval or frames with engine oss (OSS has no duration parameter; the window is sent as num frames every inter)',
    });
  }
  for (const field of ['start', 'interval'] as const) {
    const seconds = output[field];
    if (seconds !== undefined && !isWhole(seconds * 1000)) {
      const param = field === 'start' ? 'ss' : 'inter';
      problems.push({ field, message: `${seconds} must be a whole number of milliseconds with engine oss (OSS takes ${param} in integer ms)` });
    }
  }
  for (const field of ['width', 'height'] as const) {
    const size = output[field];
    if (size !== undefined && size < 1 && !isWhole(size * 100)) {
      const param = field === 'width' ? 'pw' : 'ph';
      problems.push({
        field,
        message: `${size} must be a whole percent of the source, e.g. ${Math.max(1, Math.round(size * 100)) / 100}, with engine oss (OSS takes ${param} as an integer percent)`,
      });
    }
  }
  return problems;
}

/** Pixels as w/h, a ratio of the source as pw/ph in percent. */
function sizeParam(name: 'w' | 'h', size: number): string {
  return size < 1 ? `p${name}_${Math.round(size * 100)}` : `${name}_${size}`;
}

/** Decimal seconds and ratios carry float noise (0.29 * 100 = 28.999999999999996). */
function isWhole(value: number): boolean {
  return Math.abs(value - Math.round(value)) < 1e-6;
}

/** URL-safe Base64 without padding, as OSS wants names in processing strings. */
function base64Url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

/** OSS video/sprite takes a tile's `sw` and `sh` from 32 to 4096 pixels (OSS guide "Generate sprites from video snapshots"). */
const MIN_SPRITE_TILE = 32;

/**
 * The `x-oss-async-process` value for a storyboard with engine oss: OSS's `video/sprite` (OSS guide "Generate sprites
 * from video snapshots"; the OSS SDK's sample `video/sprite,f_jpg,sw_100,sh_100,inter_10000,tw_10,th_10,pad_0,
 * margin_0`): `m_avg` takes `num` frames at even intervals, `sw`/`sh` one tile's size, `tw`/`th` tiles per row and
 * column, `pad` and `margin` as IMM's Pad and Margin; saved to the one sheet's key (ossPreviewProblems refuses a
 * storyboard that needs several sheets: how OSS names them is not documented).
 */
export function ossStoryboardProcessString(plan: JobPlan, storyboard: PlannedStoryboard, settings: { topicName: string }): string {
  const { layout, keys } = storyboard;
  const problems = [
    ...(keys.sheetKeys.length !== 1 ? [`it needs ${keys.sheetKeys.length} sheets`] : []),
    // A tile height taken from the video's aspect ratio is only known now (OSS takes sw and sh from 32 to 4096).
    ...(layout.tileHeight < MIN_SPRITE_TILE ? [`its tiles would be ${layout.tileWidth}x${layout.tileHeight} pixels, and video/sprite takes sh from ${MIN_SPRITE_TILE}; set a larger width or a height`] : []),
  ];
  if (problems.length > 0) throw new PermanentFailure('UnsupportedByEngine', `storyboard ${keys.vttKey} cannot be sent to OSS: ${problems.join('; ')}`);
  const params = [
    `f_${storyboard.output.format}`,
    'm_avg',
    `num_${layout.frames}`,
    `sw_${layout.tileWidth}`,
    `sh_${layout.tileHeight}`,
    `tw_${layout.columns}`,
    `th_${layout.rows}`,
    `pad_${layout.pad}`,
    `margin_${layout.margin}`,
  ];
  const targetKey = keys.sheetKeys[0]!.replace(/[{}]/g, (brace) => brace + brace);
  return (
    `video/sprite,${params.join(',')}` +
    `|sys/saveas,b_${base64Url(plan.source.bucket)},o_${base64Url(targetKey)}` +
    `/notify,topic_${base64Url(settings.topicName)}`
  );
}

/**
 * What engine oss cannot do of a rule's posters and storyboards. OSS's asynchronous processing offers
 * `video/snapshots` ("Capture multiple video frames") and `video/sprite`; the app sends storyboards that fit one sheet
 * through `video/sprite` and refuses posters (no documented start-time parameter for `video/snapshots`, and
 * candidates would need the serial-number naming OSS leaves to media-processing variables) and storyboards that
 * need several sheets, a scaleType (`video/sprite` documents none) or tiles below 32 pixels.
 */
export function ossPreviewProblems(rule: Rule): string[] {
  return rule.previews.flatMap((p) => {
    const where = `rule "${rule.name}" outputs[${p.slot}]`;
    if (p.kind === 'poster') return [`${where}.kind: "poster" is not supported with engine oss; use engine imm for posters (a rule of its own if the animations need oss)`];
    const problems: string[] = [];
    const perSheet = p.columns * p.rows;
    if (p.frames > perSheet) {
      problems.push(`${where}.frames: ${p.frames} tiles need ${Math.ceil(p.frames / perSheet)} sheets of ${p.columns}x${p.rows}; engine oss writes one sheet, so raise columns or rows to hold ${p.frames}, or use engine imm`);
    }
    for (const field of ['width', 'height'] as const) {
      const size = p[field];
      if (size !== undefined && size < MIN_SPRITE_TILE) {
        problems.push(`${where}.${field}: ${size} is below ${MIN_SPRITE_TILE} pixels, the smallest tile video/sprite makes (s${field[0]} from ${MIN_SPRITE_TILE} to 4096) with engine oss; raise it or use engine imm`);
      }
    }
    if (p.scaleType !== undefined) problems.push(`${where}.scaleType: not supported for a storyboard with engine oss (video/sprite has no scale type); leave it out or use engine imm`);
    return problems;
  });
}
