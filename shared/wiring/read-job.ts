import { deriveJob } from '../jobs/derive';
import type { Pricing } from '../jobs/cost';
import type { JobRecord } from '../jobs/job';
import type { JobStore } from '../jobs/store';
import { DEFAULT_POLICY } from './config';

/** A job as an operator sees it: its terminal record, or while it runs the view derived from its facts. */
export async function readJob(store: JobStore, jobId: string, pricing?: Pricing): Promise<JobRecord | undefined> {
  const facts = await store.loadJob(jobId);
  return facts ? deriveJob(facts, DEFAULT_POLICY, pricing) : undefined;
}
