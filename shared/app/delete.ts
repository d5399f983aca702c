import { outputsDeletedEvent } from '../events/completion';
import type { JobOutput } from '../jobs/job';
import { loadJob } from '../jobs/lifecycle';
import type { Rule } from '../rules/schema';
import type { BucketContext } from './context';

export interface DeleteOutcome {
  status: 'deleted';
  key: string;
  rule: string;
  jobId: string;
  outputs: string[];
}

/**
 * A source was deleted and its rule says `deleteWithSource`: every job of that source deletes the outputs the source
 * owns (by the output-owner markers: never another source's), with their files, gives up their keys, records once
 * that it did (`jobs/<id>/deleted.json`) and publishes an `outputs.deleted` event. Deleting is idempotent, so a
 * repeated removal event only finds the jobs already marked.
 */
export async function deleteOutputsOfSource(ctx: BucketContext, sourceKey: string, rules: readonly Rule[]): Promise<DeleteOutcome[]> {
  const { life, deps } = ctx;
  const outcomes: DeleteOutcome[] = [];
  for (const jobId of await life.retry(() => life.store.jobsOfSource(sourceKey))) {
    const state = await loadJob(life, jobId);
    if (!state || state.facts.deleted || state.view.key !== sourceKey || !rules.some((r) => r.name === state.view.rule)) continue;
    const owners = await Promise.all(state.view.outputs.map((output) => life.retry(() => life.store.outputOwner(output.key))));
    const owned = state.view.outputs.filter((_, i) => owners[i]?.sourceKey === sourceKey);
    await Promise.all(owned.map((output) => deleteOutput(ctx, output)));
    await Promise.all(owned.map((output) => life.retry(() => life.store.releaseOutput(output.key))));
    const deletedAt = new Date(life.clock.now()).toISOString();
    let event: { id: string; publishedAt: string } | undefined;
    if (deps.events) {
      const published = outputsDeletedEvent(state.view, owned, { region: deps.config.region, accountId: deps.events.accountId }, deletedAt);
      await deps.retry('mns', () => deps.events!.publish(published));
      event = { id: published.id, publishedAt: new Date(life.clock.now()).toISOString() };
    }
    await life.retry(() => life.store.markDeleted({ jobId, outputs: owned.map((o) => o.key), deletedAt, ...(event ? { event } : {}) }));
    deps.log.info('outputs deleted with their source', { jobId, key: sourceKey, outputs: owned.map((o) => o.key) });
    outcomes.push({ status: 'deleted', key: sourceKey, rule: state.view.rule, jobId, outputs: owned.map((o) => o.key) });
  }
  return outcomes;
}

/** An output and every file of it (a storyboard's sheets, a poster's leftover candidates), in its own bucket. */
async function deleteOutput(ctx: BucketContext, output: JobOutput): Promise<void> {
  const bucket = output.bucket ? await ctx.deps.bucket(output.bucket) : ctx.bucket;
  const keys = [output.key, ...(output.files ?? []), ...(output.candidates ?? [])];
  // OSS answers a DELETE of a missing object with 204: deleting again is harmless.
  await Promise.all(keys.map((key) => ctx.deps.retry('oss', () => bucket.delete(key))));
}
