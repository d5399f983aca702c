import { createHash } from 'node:crypto';

/** OSS object tags: at most 10; keys <= 128 and values <= 256 characters of letters, digits, space and + - = . _ : / */
export const MAX_TAGS = 10;
export const MAX_TAG_KEY_LENGTH = 128;
export const MAX_TAG_VALUE_LENGTH = 256;
const DISALLOWED = /[^A-Za-z0-9 +\-=._:/]+/g;

/**
 * Makes a value acceptable to OSS: runs of other characters become "_", and when anything was changed or cut, a
 * short hash of the original keeps distinct values distinct (the job record holds the exact value).
 */
export function fitTagValue(value: string, maxLength = MAX_TAG_VALUE_LENGTH): string {
  const cleaned = value.replace(DISALLOWED, '_');
  if (cleaned === value && value.length <= maxLength) return value;
  // The separator must itself be allowed: ali-oss rejects "~" (and everything else outside the set) before sending.
  const hash = `-${createHash('sha256').update(value).digest('hex').slice(0, 12)}`;
  return cleaned.slice(0, maxLength - hash.length) + hash;
}

/** The tags an output carries: the app's own first, then the rule's, at most 10. */
export function outputTags(system: Record<string, string>, ruleTags: Record<string, string>): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [key, value] of [...Object.entries(system), ...Object.entries(ruleTags)]) {
    if (Object.keys(tags).length >= MAX_TAGS) break;
    const fittedKey = fitTagValue(key, MAX_TAG_KEY_LENGTH);
    if (!(fittedKey in tags)) tags[fittedKey] = fitTagValue(value);
  }
  return tags;
}
