import type { RuleInput } from '../shared/rules/schema';

/**
 * The rule the per-upload figures (OSS requests, first invocation) are measured with: one rule, two animations, the
 * default rules as they were before they gained a poster. Fixed here rather than read from s.yaml, so the figures stay
 * comparable from run to run whatever the default rules become; every figure names it.
 */
export const BENCH_RULE_NAME = 'two-animations';

const OUTPUTS = [
  { format: 'gif', key: 'animations/{dirname}/{basename}', width: 320, height: 180, scaleType: 'fit', frames: 24, frameRate: 6 },
  { format: 'webp', key: 'animations/{dirname}/{basename}', width: 640, height: 360, scaleType: 'fit', frames: 48, frameRate: 8 },
] as const;

/** The rule set (RULES) for a stack whose OSS trigger watches `prefix`. */
export function benchRules(prefix: string): RuleInput[] {
  return [{ name: BENCH_RULE_NAME, prefix, tags: { app: 'video-animation' }, outputs: [...OUTPUTS] }];
}

/** `two-animations (gif 24 frames, webp 48 frames)`: what a figure line says it measured. */
export function describeBenchRule(): string {
  return `${BENCH_RULE_NAME} (${OUTPUTS.map((o) => `${o.format} ${o.frames} frames`).join(', ')})`;
}
