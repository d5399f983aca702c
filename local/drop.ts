import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { JobRecord } from '../shared/jobs/job';
import { keyExtension, matchRules } from '../shared/rules/match';
import type { Rule } from '../shared/rules/schema';

/** `21:07:03`: the local time a log line of `npm start` happened. */
export function stamp(date: Date = new Date()): string {
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** Prefixes each line of a (possibly multi-line) message with the time. */
export function stamped(text: string, date: Date = new Date()): string {
  const time = stamp(date);
  return text
    .split('\n')
    .map((line) => `${time} ${line}`)
    .join('\n');
}

/**
 * Why a file dropped at `key` will not be processed (so it is not uploaded), or undefined when some rule takes it.
 * Size limits are left to the submit function, which logs its own reason.
 */
export function ignoredReason(rules: readonly Pick<Rule, 'name' | 'prefix' | 'suffixes'>[], key: string): string | undefined {
  if (matchRules(rules, key).length > 0) return undefined;
  const watching = rules.filter((rule) => key.startsWith(rule.prefix));
  if (watching.length === 0) {
    const prefixes = [...new Set(rules.map((r) => r.prefix))].map((p) => `drop/${p}`).join(', ');
    return `outside every rule's prefix: put videos under ${prefixes || '(no rules in s.yaml)'}`;
  }
  const ext = keyExtension(key);
  const takes = watching.map((rule) => `rule ${rule.name} takes ${rule.suffixes.join(', ')}`).join('; ');
  return `no rule takes ${ext ? `.${ext}` : 'files without an extension'} here (${takes})`;
}

/**
 * Notes on outputs with fewer frames than the rule asks for (`frames`): the maxFrames cap cut them, or the video
 * (its window) has fewer frames. Outputs of the record are in the rule's order.
 */
export function frameNotes(rule: Pick<Rule, 'outputs'> | undefined, record: Pick<JobRecord, 'outputs'>): string[] {
  const notes: string[] = [];
  record.outputs.forEach((output, i) => {
    const asked = rule?.outputs[i]?.frames;
    const planned = output.plannedFrames;
    if (asked === undefined || planned === undefined || planned >= asked) return;
    notes.push(
      planned === output.maxFrames && output.maxFrames < asked
        ? `${output.key}: maxFrames ${output.maxFrames} cut it to ${planned} of the ${asked} frames the rule asks for (raise maxFrames to get them all; IMM bills per frame)`
        : `${output.key}: ${planned} of the ${asked} frames the rule asks for: the video has no more in its window`,
    );
  });
  return notes;
}

/** What `npm start` remembers across restarts: the files it uploaded (by size and mtime) and the jobs it reported. */
export interface DropState {
  /** Path under drop/ → `size:mtimeMs` when it was uploaded. */
  uploaded: Record<string, string>;
  /** Job id → the source it was for, once its result was printed. */
  reported: Record<string, { key: string; eTag: string }>;
}

export const DROP_STATE_FILE = 'drop-state.json';

export async function loadDropState(dataDir: string): Promise<DropState> {
  try {
    const parsed = JSON.parse(await readFile(path.join(dataDir, DROP_STATE_FILE), 'utf8')) as Partial<DropState>;
    return { uploaded: { ...parsed.uploaded }, reported: { ...parsed.reported } };
  } catch {
    return { uploaded: {}, reported: {} };
  }
}

export async function saveDropState(dataDir: string, state: DropState): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const file = path.join(dataDir, DROP_STATE_FILE);
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

/** ETags as OSS headers and job records spell them, compared without quotes and case. */
export function sameETag(a: string, b: string): boolean {
  const norm = (e: string) => e.replace(/"/g, '').toUpperCase();
  return norm(a) === norm(b);
}

/**
 * A file uploaded again (same content: the same job; new content: a new job) is a re-run: the jobs of that key and
 * ETag are forgotten as reported, so their result is printed (and copied to out/) as on the first run.
 */
export function forgetReported(state: DropState, key: string, eTag: string): string[] {
  const forgotten = Object.entries(state.reported)
    .filter(([, seen]) => seen.key === key && sameETag(seen.eTag, eTag))
    .map(([jobId]) => jobId);
  for (const jobId of forgotten) delete state.reported[jobId];
  return forgotten;
}

/** Whether a file under drop/ needs uploading: it changed since its upload, and stood still for one poll. */
export function readyToUpload(state: DropState, lastSeen: string | undefined, file: string, signature: string): boolean {
  return state.uploaded[file] !== signature && lastSeen === signature;
}
