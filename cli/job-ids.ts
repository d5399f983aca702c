import type { JobStore } from '../shared/jobs/store';
import { UsageError } from './errors';

/** Tables show this many hex digits of a job id (as git and docker do); `show` and `retry` take any unique prefix. */
export const SHORT_ID_LENGTH = 12;
/** A prefix shorter than this would name many jobs in any real bucket. */
const MIN_PREFIX_LENGTH = 8;
const JOB_ID_PREFIX = new RegExp(`^[0-9a-f]{${MIN_PREFIX_LENGTH},32}$`);

export const shortId = (jobId: string) => jobId.slice(0, SHORT_ID_LENGTH);

/** Whether the text is a job id or a prefix of one (8 to 32 lower-case hex digits). */
export function isJobIdPrefix(text: string): boolean {
  return JOB_ID_PREFIX.test(text);
}

/**
 * The job id a prefix names, read from the job index (one listing); undefined when no job has it. A prefix that
 * several jobs share is a usage error listing them.
 */
export async function resolveJobId(store: JobStore, prefix: string): Promise<string | undefined> {
  if (prefix.length === 32) return prefix;
  const ids = [...new Set((await store.listJobIndex({})).map((e) => e.jobId).filter((id) => id.startsWith(prefix)))];
  if (ids.length > 1) throw new UsageError(`the job id prefix ${prefix} matches ${ids.length} jobs (${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ', …' : ''}): give more of its digits`);
  return ids[0];
}
