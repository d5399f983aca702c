import * as z from '../platform/zod';

/** Video container formats IMM reads (IMM guide, "Supported audio and video formats"). */
export const VIDEO_SUFFIXES = ['mp4', 'ts', 'mkv', 'mov', 'avi', 'flv', 'm3u8', 'webm', 'wmv', 'rm', 'rmvb', 'vob'] as const;

/** IMM bills animations per output frame: an output without maxFrames gets this cap. */
export const DEFAULT_MAX_FRAMES = 300;

/** OSS allows 10 tags per object; the app writes these itself (see shared/tags.ts). */
export const SYSTEM_TAG_KEYS = ['source', 'rule', 'job', 'task', 'format'] as const;
export const MAX_RULE_TAGS = 10 - SYSTEM_TAG_KEYS.length;

export const TEMPLATE_VARIABLES = ['dirname', 'barename', 'basename', 'ext', 'rule'] as const;

const dimension = z.number().check(
  z.refine((v: number) => (Number.isInteger(v) && v >= 32 && v <= 4096) || (v > 0 && v < 1), {
    message: 'must be an integer number of pixels from 32 to 4096, or a ratio of the source between 0 and 1 (exclusive)',
  }),
);

const tagText = /^[A-Za-z0-9 +\-=._:/]*$/;
const seconds = (max: number) => z.number().check(z.minimum(0), z.maximum(max));
const positiveSeconds = (max: number) => z.number().check(z.positive(), z.maximum(max));

// --- Where outputs go and how they are served (rule-wide or per output; an output's own setting wins). ---

/** OSS's bucket naming rule: 3-63 lower-case letters, digits and hyphens, starting and ending with a letter or digit. */
export const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

const headerText = (example: string) =>
  z.string().check(
    z.minLength(1, 'must not be empty (leave the field out for none)'),
    z.maxLength(1024),
    z.regex(/^[\x20-\x7e]*$/, `must be printable ASCII on one line, e.g. ${example}`),
  );

const deliveryFields = {
  /** Another bucket in the same region to write the outputs to (default: the source's bucket). */
  bucket: z.optional(
    z.string().check(
      z.superRefine((name: string, ctx) => {
        if (BUCKET_NAME.test(name)) return;
        ctx.addIssue({ code: 'custom', input: name, message: `"${name}" is not a bucket name OSS accepts: 3-63 lower-case letters, digits and "-", starting and ending with a letter or digit` });
      }),
    ),
  ),
  /** The outputs' Cache-Control header. */
  cacheControl: z.optional(headerText('"public, max-age=31536000, immutable"')),
  /** The outputs' Content-Disposition header (a non-ASCII file name goes in filename*=UTF-8''<percent-encoded>). */
  contentDisposition: z.optional(headerText('"inline" or "attachment; filename=preview.gif"')),
};

export const OutputSchema = z.strictObject({
  format: z.enum(['gif', 'webp']),
  /** Key template without extension; the extension follows `format`. */
  key: z.string().check(z.minLength(1)),
  width: z.optional(dimension),
  height: z.optional(dimension),
  scaleType: z.optional(z.enum(['stretch', 'crop', 'fill', 'fit'])),
  /** Seconds into the source where sampling starts. */
  start: z.optional(seconds(86_400)),
  /** Seconds of source to sample from `start`. */
  duration: z.optional(positiveSeconds(86_400)),
  /** Seconds between sampled frames. */
  interval: z.optional(positiveSeconds(3_600)),
  /** Exactly this many frames, spread evenly over the sampled window (the whole video by default). */
  frames: z.optional(z.int().check(z.minimum(1), z.maximum(1000))),
  /** Playback frames per second (default: 1/interval; with frames, a loop of about 4 s). */
  frameRate: z.optional(positiveSeconds(60)),
  /** Cap on output frames; IMM bills per frame. */
  maxFrames: z._default(z.int().check(z.minimum(1), z.maximum(10_000)), DEFAULT_MAX_FRAMES),
  ...deliveryFields,
});

const suffixes = z.pipe(
  z._default(z.array(z.string().check(z.regex(/^\.?[A-Za-z0-9]{1,16}$/, 'must be a file extension such as "mp4"'))).check(z.minLength(1)), [...VIDEO_SUFFIXES]),
  z.transform((list: string[]) => [...new Set(list.map((s) => s.replace(/^\./, '').toLowerCase()))]),
);

const ruleTags = z._default(
  z
    .record(
      z.string().check(z.minLength(1), z.maxLength(128), z.regex(tagText, 'tag keys may hold letters, digits, space and + - = . _ : /')),
      z.string().check(
        z.minLength(1, 'tag values must not be empty'),
        z.maxLength(256),
        z.regex(tagText, 'tag values may hold letters, digits, space and + - = . _ : /'),
      ),
    )
    .check(
      z.refine((tags: Record<string, string>) => Object.keys(tags).length <= MAX_RULE_TAGS, {
        message: `at most ${MAX_RULE_TAGS} tags (OSS allows 10 per object and the app writes ${SYSTEM_TAG_KEYS.join(', ')})`,
      }),
      z.refine((tags: Record<string, string>) => !Object.keys(tags).some((k) => (SYSTEM_TAG_KEYS as readonly string[]).includes(k)), {
        message: `tag keys ${SYSTEM_TAG_KEYS.join(', ')} are written by the app`,
      }),
    ),
  {},
);

export const RuleSchema = z
  .strictObject({
    name: z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'must be 1-63 letters, digits, "-" or "_", starting with a letter or digit')),
    /** Key prefix the rule watches, e.g. "videos/". */
    prefix: z.string().check(z.maxLength(1023)),
    /** Key suffixes (extensions, without dot), matched case-insensitively. */
    suffixes,
    /** Which service converts: IMM CreateMediaConvertTask, or OSS x-oss-async-process. */
    engine: z._default(z.enum(['imm', 'oss']), 'imm'),
    /** Source objects smaller than this many bytes are skipped. */
    minBytes: z.optional(z.int().check(z.minimum(0))),
    /** Source objects larger than this many bytes are skipped. */
    maxBytes: z.optional(z.int().check(z.positive())),
    outputs: z.array(OutputSchema).check(z.minLength(1), z.maxLength(20)),
    /** Extra tags put on every output. */
    tags: ruleTags,
    ...deliveryFields,
    /** Delete the outputs a source owns when the source is deleted (the OSS trigger must deliver removals). */
    deleteWithSource: z._default(z.boolean(), false),
  })
  .check(
    z.superRefine((rule, ctx) => {
      if (rule.minBytes !== undefined && rule.maxBytes !== undefined && rule.minBytes > rule.maxBytes) {
        ctx.addIssue({ code: 'custom', path: ['minBytes'], message: 'must not exceed maxBytes', input: rule.minBytes });
      }
    }),
  );

export const RulesSchema = z.array(RuleSchema).check(z.minLength(1, 'at least one rule is needed'));

export type Output = z.infer<typeof OutputSchema>;
export type Rule = z.infer<typeof RuleSchema>;
export type RuleInput = z.input<typeof RuleSchema>;
