import type { MediaInfo } from '../jobs/sampling';
import { posterKeys, relativeTo, storyboardKeys, type PosterKeys, type StoryboardKeys } from '../rules/preview-keys';
import type { PosterOutput, PreviewOutput, Rule, StoryboardOutput } from '../rules/schema';
import { posterTime } from './poster';
import { storyboardLayout, type StoryboardLayout } from './storyboard';

/** A poster for one source: its keys and, when `at` is set, the second it is taken at. */
export interface PlannedPoster {
  kind: 'poster';
  /** Index in the rule's configured `outputs`. */
  slot: number;
  output: PosterOutput;
  keys: PosterKeys;
  at?: number;
}

/** A storyboard for one source: its keys and the exact layout IMM is asked for (the VTT is written from it). */
export interface PlannedStoryboard {
  kind: 'storyboard';
  slot: number;
  output: StoryboardOutput;
  keys: StoryboardKeys;
  layout: StoryboardLayout;
}

export type PlannedPreview = PlannedPoster | PlannedStoryboard;

/**
 * The rule's posters and storyboards for one source. `media` (IMM DetectMediaMeta) is needed for a poster `at` in
 * percent and for a storyboard without a tile height; throws naming the output when it is missing.
 */
export function planPreviews(rule: Pick<Rule, 'name' | 'previews'>, sourceKey: string, media?: MediaInfo): PlannedPreview[] {
  return rule.previews.map((preview: PreviewOutput) => {
    const where = `rule "${rule.name}" outputs[${preview.slot}]`;
    try {
      if (preview.kind === 'poster') {
        const { slot, ...output } = preview;
        return { kind: 'poster', slot, output, keys: posterKeys(output, sourceKey, rule.name), ...(output.at !== undefined ? { at: posterTime(output.at, media?.duration) } : {}) };
      }
      const { slot, ...output } = preview;
      const keys = storyboardKeys(output, sourceKey, rule.name);
      const layout = storyboardLayout(output, media ?? {}, keys.sheetKeys.map((sheet) => relativeTo(keys.vttKey, sheet)));
      return { kind: 'storyboard', slot, output, keys, layout };
    } catch (error) {
      throw new Error(`${where}: ${(error as Error).message}`, { cause: error });
    }
  });
}

/** Every object key the previews write when the task succeeds (candidates excluded: the record function removes them). */
export function previewResultKeys(previews: readonly PlannedPreview[]): string[] {
  return previews.flatMap((p) => (p.kind === 'poster' ? [p.keys.key] : [...p.keys.sheetKeys, p.keys.vttKey]));
}

/**
 * Frames IMM captures for one configured preview, known from the rule alone: a poster taken `at` a time is one, an
 * automatic one its `candidates`; a storyboard its `frames` tiles (`Mode: average` takes exactly that many).
 */
export function previewFrames(preview: Pick<PosterOutput, 'kind' | 'at' | 'candidates'> | Pick<StoryboardOutput, 'kind' | 'frames'>): number {
  return preview.kind === 'poster' ? (preview.at === undefined ? preview.candidates : 1) : preview.frames;
}

/** Frames IMM captures for the previews: one per poster (or its candidates), one per storyboard tile. */
export function previewCapturedFrames(previews: readonly PlannedPreview[]): number {
  return previews.reduce((sum, p) => sum + previewFrames(p.output), 0);
}

/** The key a preview is recorded under in its job (a poster's image, a storyboard's WebVTT file). */
export function previewOutputKey(preview: PlannedPreview): string {
  return preview.kind === 'poster' ? preview.keys.key : preview.keys.vttKey;
}
