/** Replaced at build time by scripts/build.ts (esbuild `define`) with the validated rules from s.yaml. */
declare const __VIDEO_ANIMATION_RULES__: unknown;

export function embeddedRules(): unknown {
  return typeof __VIDEO_ANIMATION_RULES__ === 'undefined' ? undefined : __VIDEO_ANIMATION_RULES__;
}
