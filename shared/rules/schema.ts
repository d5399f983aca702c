import { z } from 'zod';

/** Video container formats IMM reads (IMM guide, "Supported audio and video formats"). */
export const VIDEO_SUFFIXES = ['mp4', 'ts', 'mkv', 'mov', 'avi', 'flv', 'm3u8', 'webm', 'wmv', 'rm', 'rmvb', 'vob'] as const;

/** IMM bills animations per output frame: an output without maxFrames gets this cap. */
export const DEFAULT_MAX_FRAMES = 300;

/** OSS allows 10 tags per object; the app writes these itself (see shared/tags.ts). */
export const SYSTEM_TAG_KEYS = ['source', 'rule', 'job', 'task', 'format'] as const;
export const MAX_RULE_TAGS = 10 - SYSTEM_TAG_KEYS.length;

export const TEMPLATE_VARIABLES = ['dirname', 'barename', 'basename', 'ext', 'rule'] as const;

const dimension = z
  .number()
  .refine((v) => (Number.isInteger(v) && v >= 32 && v <= 4096) || (v > 0 && v < 1), {
    message: 'must be an integer number of pixels from 32 to 4096, or a ratio of the source between 0 and 1 (exclusive)',
  });

const tagText = /^[A-Za-z0-9 +\-=._:/]*$/;

export const OutputSchema = z.strictObject({
  format: z.enum(['gif', 'webp']),
  /** Key template without extension; the extension follows `format`. */
  key: z.string().min(1),
  width: dimension.optional(),
  height: dimension.optional(),
  scaleType: z.enum(['stretch', 'crop', 'fill', 'fit']).optional(),
  /** Seconds into the source where sampling starts. */
  start: z.number().min(0).max(86_400).optional(),
  /** Seconds of source to sample from `start`. */
  duration: z.number().positive().max(86_400).optional(),
  /** Seconds between sampled frames. */
  interval: z.number().positive().max(3_600).optional(),
  /** Playback frames per second (IMM's default: 1/interval). */
  frameRate: z.number().positive().max(60).optional(),
  /** Cap on output frames; IMM bills per frame. */
  maxFrames: z.number().int().min(1).max(10_000).default(DEFAULT_MAX_FRAMES),
});

export const RuleSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'must be 1-63 letters, digits, "-" or "_", starting with a letter or digit'),
    /** Key prefix the rule watches, e.g. "videos/". */
    prefix: z.string().max(1023),
    /** Key suffixes (extensions, without dot), matched case-insensitively. */
    suffixes: z
      .array(z.string().regex(/^\.?[A-Za-z0-9]{1,16}$/, 'must be a file extension such as "mp4"'))
      .min(1)
      .default([...VIDEO_SUFFIXES])
      .transform((list) => [...new Set(list.map((s) => s.replace(/^\./, '').toLowerCase()))]),
    /** Which service converts: IMM CreateMediaConvertTask, or OSS x-oss-async-process. */
    engine: z.enum(['imm', 'oss']).default('imm'),
    /** Source objects smaller than this many bytes are skipped. */
    minBytes: z.number().int().min(0).optional(),
    /** Source objects larger than this many bytes are skipped. */
    maxBytes: z.number().int().positive().optional(),
    outputs: z.array(OutputSchema).min(1).max(20),
    /** Extra tags put on every output. */
    tags: z
      .record(
        z.string().min(1).max(128).regex(tagText, 'tag keys may hold letters, digits, space and + - = . _ : /'),
        // ali-oss (putObjectTagging) rejects an empty value before sending.
        z.string().min(1, 'tag values must not be empty').max(256).regex(tagText, 'tag values may hold letters, digits, space and + - = . _ : /'),
      )
      .default({})
      .refine((tags) => Object.keys(tags).length <= MAX_RULE_TAGS, {
        message: `at most ${MAX_RULE_TAGS} tags (OSS allows 10 per object and the app writes ${SYSTEM_TAG_KEYS.join(', ')})`,
      })
      .refine((tags) => !Object.keys(tags).some((k) => (SYSTEM_TAG_KEYS as readonly string[]).includes(k)), {
        message: `tag keys ${SYSTEM_TAG_KEYS.join(', ')} are written by the app`,
      }),
  })
  .superRefine((rule, ctx) => {
    if (rule.minBytes !== undefined && rule.maxBytes !== undefined && rule.minBytes > rule.maxBytes) {
      ctx.addIssue({ code: 'custom', path: ['minBytes'], message: 'must not exceed maxBytes' });
    }
  });

export const RulesSchema = z.array(RuleSchema).min(1, 'at least one rule is needed');

export type Output = z.infer<typeof OutputSchema>;
export type Rule = z.infer<typeof RuleSchema>;
export type RuleInput = z.input<typeof RuleSchema>;
