import type { JobPlan, PlannedOutput } from '../plan';
import type { Output, Rule } from '../rules/schema';

/**
 * The `x-oss-async-process` value converting the job's source into one output (OSS guide "Convert a video to an
 * animated image"): `video/animation,<params>|sys/saveas,b_<bucket>,o_<key>/notify,topic_<topic>`, names and values
 * URL-safe Base64 without padding. Only the parameters the output sets are sent, plus `num`, the frame cap.
 * Throws when the output holds something OSS cannot express (see ossEngineProblems, which validation runs first).
 */
export function ossProcessString(plan: JobPlan, output: PlannedOutput, settings: { topicName: string }): string {
  const problems = outputProblems(output);
  if (problems.length > 0) {
    throw new Error(`output ${output.resolvedKey} cannot be sent to OSS: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
  }
  const params = [`f_${output.format}`];
  if (output.start !== undefined) params.push(`ss_${Math.round(output.start * 1000)}`);
  params.push(`num_${frameCap(output)}`);
  if (output.interval !== undefined) params.push(`inter_${Math.round(output.interval * 1000)}`);
  if (output.frameRate !== undefined) params.push(`fps_${output.frameRate}`);
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
  if (output.duration !== undefined && output.interval === undefined) {
    problems.push({
      field: 'duration',
      message: 'needs interval with engine oss (OSS has no duration parameter; the window is sent as num = duration / interval frames)',
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

/**
 * `num`: the output's maxFrames, or fewer when it sets a duration. OSS has no duration parameter; frames are sampled
 * every `inter` from `ss`, so sampling `duration` seconds from `start` is ceil(duration / interval) frames.
 * (When interval is below the source's frame interval OSS samples every source frame instead, and those frames
 * cover less than `duration`.)
 */
function frameCap(output: Output): number {
  if (output.duration === undefined || output.interval === undefined) return output.maxFrames;
  const intervalMs = Math.round(output.interval * 1000);
  // The small bias keeps float noise (1.1 s / 100 ms = 11.000000000000002) from adding a frame.
  return Math.min(output.maxFrames, Math.ceil((output.duration * 1000) / intervalMs - 1e-9));
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
