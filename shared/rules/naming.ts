import { createHash } from 'node:crypto';
import { TEMPLATE_VARIABLES, type Output, type Rule } from './schema';

/** OSS object keys are at most 1023 bytes of UTF-8. */
export const MAX_KEY_BYTES = 1023;

type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

/** One piece of a parsed key template: literal text or a variable. */
export type TemplatePart = { text: string } | { variable: TemplateVariable };

/**
 * Parses a key template in IMM's syntax: `{name}` is a variable, `{{` and `}}` are literal braces.
 * Throws with a message naming the problem; callers add the rule and field.
 */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const ch = template[i];
    const next = template[i + 1];
    if ((ch === '{' && next === '{') || (ch === '}' && next === '}')) {
      text += ch;
      i++;
    } else if (ch === '{') {
      const end = template.indexOf('}', i);
      if (end < 0) throw new Error(`unclosed "{" at position ${i}`);
      const name = template.slice(i + 1, end);
      if (!(TEMPLATE_VARIABLES as readonly string[]).includes(name)) {
        throw new Error(`unknown variable {${name}}; use ${TEMPLATE_VARIABLES.map((v) => `{${v}}`).join(', ')}`);
      }
      if (text) parts.push({ text });
      text = '';
      parts.push({ variable: name as TemplateVariable });
      i = end;
    } else if (ch === '}') {
      throw new Error(`lone "}" at position ${i}; write "}}" for a literal brace`);
    } else {
      text += ch;
    }
  }
  if (text) parts.push({ text });
  return parts;
}

/** The IMM template variables of a source key: `a/b/c.mp4` -> dirname `a/b`, basename `c.mp4`, barename `c`, ext `mp4`. */
export function keyVariables(sourceKey: string, rule: string): Record<TemplateVariable, string> {
  const slash = sourceKey.lastIndexOf('/');
  const basename = sourceKey.slice(slash + 1);
  const dot = basename.lastIndexOf('.');
  return {
    dirname: slash < 0 ? '' : sourceKey.slice(0, slash),
    basename,
    barename: dot > 0 ? basename.slice(0, dot) : basename,
    ext: dot > 0 ? basename.slice(dot + 1) : '',
    rule,
  };
}

/**
 * The exact output key for a source: the template filled in, empty path segments removed (an object at the bucket
 * root has an empty dirname), the format's extension appended, and shortened with a hash if it would exceed OSS's
 * key length.
 */
export function resolveOutputKey(template: string, sourceKey: string, rule: string, format: string): string {
  const vars = keyVariables(sourceKey, rule);
  const filled = parseTemplate(template)
    .map((part) => ('text' in part ? part.text : vars[part.variable]))
    .join('');
  const path = filled.split('/').filter((segment) => segment !== '').join('/');
  return fitKeyLength(path, `.${format}`);
}

/** `stem + extension`, the stem shortened with a hash of it when the whole would pass OSS's key length. */
export function fitKeyLength(stem: string, extension: string): string {
  if (Buffer.byteLength(stem + extension) <= MAX_KEY_BYTES) return stem + extension;
  const hash = `~${createHash('sha256').update(stem).digest('hex').slice(0, 16)}`;
  const budget = MAX_KEY_BYTES - Buffer.byteLength(hash + extension);
  return truncateUtf8(stem, budget) + hash + extension;
}

/** The longest prefix of `text` within `maxBytes` of UTF-8 that does not split a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const size = Buffer.byteLength(ch);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += ch.length;
  }
  return text.slice(0, end);
}

/**
 * The literal start every key from this template shares, for overlap checks: text up to the first variable,
 * with `{dirname}` standing for the directory part of the rule's prefix (a matching source lies below it).
 */
export function templateStaticPrefix(template: string, rulePrefix: string): string {
  let prefix = '';
  for (const part of parseTemplate(template)) {
    if ('text' in part) {
      prefix += part.text;
      continue;
    }
    if (part.variable === 'dirname' && prefix === '') {
      prefix = rulePrefix.slice(0, rulePrefix.lastIndexOf('/') + 1);
    }
    break;
  }
  // resolveOutputKey drops empty path segments, so "a//b" is written as "a/b".
  return prefix.replace(/\/+/g, '/').replace(/^\//, '');
}

/** The Content-Type each output format is served with (set on the output by BucketApi.copyInPlace). */
export const OUTPUT_CONTENT_TYPES: Readonly<Record<string, string>> = {
  gif: 'image/gif',
  webp: 'image/webp',
  jpg: 'image/jpeg',
  png: 'image/png',
  vtt: 'text/vtt',
};

export function outputContentType(format: string): string {
  const type = OUTPUT_CONTENT_TYPES[format];
  if (type === undefined) throw new Error(`no Content-Type for output format "${format}"`);
  return type;
}

/** Where an output is written and the headers it is served with. */
export interface OutputDelivery {
  bucket: string;
  cacheControl?: string;
  contentDisposition?: string;
}

/** An output's own bucket and headers, else its rule's; the bucket defaults to the source's. */
export function outputDelivery(
  rule: Pick<Rule, 'bucket' | 'cacheControl' | 'contentDisposition'>,
  output: Pick<Output, 'bucket' | 'cacheControl' | 'contentDisposition'>,
  sourceBucket: string,
): OutputDelivery {
  const cacheControl = output.cacheControl ?? rule.cacheControl;
  const contentDisposition = output.contentDisposition ?? rule.contentDisposition;
  return {
    bucket: output.bucket ?? rule.bucket ?? sourceBucket,
    ...(cacheControl !== undefined ? { cacheControl } : {}),
    ...(contentDisposition !== undefined ? { contentDisposition } : {}),
  };
}

/**
 * Why a source key cannot be converted safely, or undefined. A `.` or `..` path segment, a leading `/` or a control
 * character: OSS documents none of them as portable, and IMM's handling of `oss://` URIs with them is not
 * documented, so such a key is refused rather than guessed at (an output key built from it could land elsewhere).
 */
export function unsafeKeyProblem(key: string): string | undefined {
  if (key.startsWith('/')) return 'it starts with "/"';
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'it contains a control character';
  if (key.split('/').some((segment) => segment === '.' || segment === '..')) return 'it has a "." or ".." path segment';
  return undefined;
}
