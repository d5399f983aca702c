import * as z from '../platform/zod';

/**
 * File extensions of the video containers IMM reads. IMM's guide ("Supported audio and video formats", media
 * transcoding and video-to-animation pages) names MP4, MPEG-TS, MKV, MOV, AVI, FLV, M3U8, WebM, WMV, RM and VOB
 * "and other mainstream formats"; besides their usual extensions this takes the other common extensions of those
 * same containers: m4v and 3gp (the MP4/MOV file format), mts and m2ts (MPEG-TS), mpg and mpeg (MPEG program
 * streams, VOB's container). Ogg (ogv) and others IMM does not name are left to a rule's own suffixes.
 */
export const VIDEO_SUFFIXES = ['mp4', 'ts', 'mkv', 'mov', 'avi', 'flv', 'm3u8', 'webm', 'wmv', 'rm', 'rmvb', 'vob', 'm4v', '3gp', 'mts', 'm2ts', 'mpg', 'mpeg'] as const;

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
  /** An animated preview (the default kind; see the preview kinds below for the others). */
  kind: z.optional(z.literal('animation')),
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

// ---- Preview kinds (issue 21): a poster and a storyboard beside the animations, in the same IMM task. ----

/** A position in the video: seconds from the start, or a share of its duration written as a percent ("50%"). */
const position = z.union([
  z.number().check(z.minimum(0), z.maximum(86_400)),
  z.string().check(z.regex(/^(100|[1-9]?\d)(\.\d+)?%$/, 'must be seconds (a number) or a percent of the duration such as "50%"')),
]);

/** One still image; without `at`, the most detailed of `candidates` evenly spaced frames (never a black first frame). */
export const PosterOutputSchema = z.strictObject({
  kind: z.literal('poster'),
  format: z._default(z.enum(['jpg', 'png']), 'jpg'),
  /** Key template without extension; the extension follows `format`. */
  key: z.string().check(z.minLength(1)),
  width: z.optional(dimension),
  height: z.optional(dimension),
  scaleType: z.optional(z.enum(['stretch', 'crop', 'fill', 'fit'])),
  /** Where to take the poster: seconds, or "NN%" of the duration. Unset: chosen automatically. */
  at: z.optional(position),
  /** Automatic choice: how many evenly spaced frames IMM captures to choose from (each one is billed). */
  candidates: z._default(z.int().check(z.minimum(2), z.maximum(20)), 5),
});

/** Sprite sheet(s) of `frames` tiles over the whole video, and a WebVTT file mapping time ranges to tiles. */
export const StoryboardOutputSchema = z.strictObject({
  kind: z.literal('storyboard'),
  format: z._default(z.enum(['jpg', 'png']), 'jpg'),
  /** Key template without extension: sheets are `<key>.<format>` (or `<key>-<n>.<format>` when several), the cues `<key>.vtt`. */
  key: z.string().check(z.minLength(1)),
  frames: z._default(z.int().check(z.minimum(1), z.maximum(1000)), 100),
  columns: z._default(z.int().check(z.minimum(1), z.maximum(50)), 10),
  rows: z._default(z.int().check(z.minimum(1), z.maximum(50)), 10),
  /** Tile size in pixels; without height, the source's aspect ratio decides it. */
  width: z._default(z.int().check(z.minimum(16), z.maximum(1024)), 160),
  height: z.optional(z.int().check(z.minimum(16), z.maximum(1024))),
  /** Pixels around the tiles and between them (IMM Sprites Margin and Pad; IMM's defaults). */
  margin: z._default(z.int().check(z.minimum(0), z.maximum(64)), 2),
  pad: z._default(z.int().check(z.minimum(0), z.maximum(64)), 2),
  scaleType: z.optional(z.enum(['stretch', 'crop', 'fill', 'fit'])),
});

/** What `outputs` accepts: an animation (no `kind`, or `kind: animation`), a poster or a storyboard. */
const AnyOutputSchema = z.discriminatedUnion('kind', [OutputSchema, PosterOutputSchema, StoryboardOutputSchema], {
  error: 'kind must be "animation" (the default), "poster" or "storyboard"',
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

const RuleObjectSchema = z
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
    outputs: z.array(AnyOutputSchema).check(z.minLength(1), z.maxLength(20)),
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

/**
 * A rule as the app uses it: `outputs` holds the animations (in configured order) and `previews` the posters and
 * storyboards, each with `slot`, its index in the configured `outputs` list (for messages naming the field).
 */
export const RuleSchema = z.pipe(RuleObjectSchema, z.transform(splitPreviews));

export const RulesSchema = z.array(RuleSchema).check(z.minLength(1, 'at least one rule is needed'));

export type Output = z.infer<typeof OutputSchema>;
export type Rule = z.infer<typeof RuleSchema>;
export type RuleInput = z.input<typeof RuleSchema>;
export type PosterOutput = z.infer<typeof PosterOutputSchema>;
export type StoryboardOutput = z.infer<typeof StoryboardOutputSchema>;
/** A poster or storyboard of a rule; `slot` is its index in the configured `outputs` list. */
export type PreviewOutput = (PosterOutput | StoryboardOutput) & { slot: number };

function splitPreviews<R extends { outputs: z.infer<typeof AnyOutputSchema>[] }>(rule: R): Omit<R, 'outputs'> & { outputs: Output[]; previews: PreviewOutput[] } {
  const outputs: Output[] = [];
  const previews: PreviewOutput[] = [];
  rule.outputs.forEach((output, slot) => {
    if (output.kind === 'poster' || output.kind === 'storyboard') previews.push({ ...output, slot });
    else outputs.push(output);
  });
  return { ...rule, outputs, previews };
}

/** The index in the configured `outputs` list of the rule's i-th animation (previews took the other slots). */
export function animationSlot(rule: Pick<Rule, 'previews'>, i: number): number {
  const taken = new Set(rule.previews.map((p) => p.slot));
  let slot = -1;
  for (let seen = -1; seen < i; ) if (!taken.has(++slot)) seen++;
  return slot;
}
