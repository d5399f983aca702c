import { storyboardSheetCount } from '../media/storyboard';
import { fitKeyLength, resolveOutputKey } from './naming';
import type { PosterOutput, StoryboardOutput } from './schema';

/**
 * The objects a poster or storyboard writes, as key templates (rule variables unfilled; IMM's `{index}` written as
 * the escaped literal `{{index}}`):
 * a poster at `<key>.<format>` (and, chosen automatically, its candidates at `<key>-candidate-{index}.<format>`);
 * a storyboard's sheet at `<key>.<format>`, or `<key>-{index}.<format>` (1, 2, ...) when it needs several, and its
 * cues at `<key>.vtt`.
 */
export function previewKeyTemplates(preview: PosterOutput | StoryboardOutput): { template: string; extension: string }[] {
  if (preview.kind === 'poster') {
    return [{ template: preview.key, extension: preview.format }, ...(preview.at === undefined ? [{ template: `${preview.key}-candidate-{{index}}`, extension: preview.format }] : [])];
  }
  const several = storyboardSheetCount(preview) > 1;
  return [
    { template: several ? `${preview.key}-{{index}}` : preview.key, extension: preview.format },
    { template: preview.key, extension: 'vtt' },
  ];
}

export interface PosterKeys {
  /** The poster's key. */
  key: string;
  /** Chosen automatically: the candidates' key with IMM's `{index}` (1-based), and each candidate's key. */
  candidates?: { uriKey: string; keys: string[] };
}

export interface StoryboardKeys {
  /** The sheets' key as sent to IMM (with `{index}` when several), and each sheet's key. */
  sheetUriKey: string;
  sheetKeys: string[];
  vttKey: string;
}

/** A literal `{` or `}` in a key is doubled in IMM target URIs (IMM expands `{...}` variables there). */
function escapeBraces(text: string): string {
  return text.replace(/[{}]/g, (brace) => brace + brace);
}

/**
 * The stem of a family of keys (`<stem>-candidate-<n>.jpg`, `<stem>-<n>.jpg`), shortened with a hash when its longest
 * member would pass OSS's key length: the output key itself fits, but a suffix added to it may not.
 */
function stemFitting(stem: string, longestSuffix: string): string {
  return fitKeyLength(stem, longestSuffix).slice(0, -longestSuffix.length);
}

/** The resolved keys of a poster for one source. */
export function posterKeys(poster: PosterOutput, sourceKey: string, rule: string): PosterKeys {
  const key = resolveOutputKey(poster.key, sourceKey, rule, poster.format);
  if (poster.at !== undefined) return { key };
  const stem = stemFitting(key.slice(0, -(poster.format.length + 1)), `-candidate-${poster.candidates}.${poster.format}`);
  return {
    key,
    candidates: {
      uriKey: `${escapeBraces(stem)}-candidate-{index}.${poster.format}`,
      keys: Array.from({ length: poster.candidates }, (_, i) => `${stem}-candidate-${i + 1}.${poster.format}`),
    },
  };
}

/** The resolved keys of a storyboard for one source; IMM numbers sheets from 1 (`{index}`). */
export function storyboardKeys(storyboard: StoryboardOutput, sourceKey: string, rule: string): StoryboardKeys {
  const vttKey = resolveOutputKey(storyboard.key, sourceKey, rule, 'vtt');
  const count = storyboardSheetCount(storyboard);
  const stem = stemFitting(vttKey.slice(0, -'.vtt'.length), count === 1 ? `.${storyboard.format}` : `-${count}.${storyboard.format}`);
  if (count === 1) return { sheetUriKey: `${escapeBraces(stem)}.${storyboard.format}`, sheetKeys: [`${stem}.${storyboard.format}`], vttKey };
  return {
    sheetUriKey: `${escapeBraces(stem)}-{index}.${storyboard.format}`,
    sheetKeys: Array.from({ length: count }, (_, i) => `${stem}-${i + 1}.${storyboard.format}`),
    vttKey,
  };
}

/** A key relative to another key's folder (the VTT refers to its sheets this way). */
export function relativeTo(fromKey: string, toKey: string): string {
  const from = fromKey.split('/').slice(0, -1);
  const to = toKey.split('/');
  let common = 0;
  while (common < from.length && common < to.length - 1 && from[common] === to[common]) common++;
  return [...Array(from.length - common).fill('..'), ...to.slice(common)].join('/');
}
