import { MAX_DELETE_KEYS } from '../clients/oss';
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
    await deleteOutputs(ctx, owned);
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

/**
 * The outputs and every file of them (a storyboard's sheets, a poster's leftover candidates), each in its own bucket:
 * one request per bucket, a DeleteMultipleObjects when there are several keys (at most 1000 per request).
 */
async function deleteOutputs(ctx: BucketContext, outputs: readonly JobOutput[]): Promise<void> {
  const byBucket = new Map<string | undefined, string[]>();
  for (const output of outputs) byBucket.set(output.bucket, [...(byBucket.get(output.bucket) ?? []), output.key, ...(output.files ?? []), ...(output.candidates ?? [])]);
  await Promise.all(
    [...byBucket].map(async ([name, keys]) => {
      const bucket = name ? await ctx.deps.bucket(name) : ctx.bucket;
      // OSS answers a delete of a missing object as deleted: deleting again is harmless.
      for (let i = 0; i < keys.length; i += MAX_DELETE_KEYS) {
        const batch = keys.slice(i, i + MAX_DELETE_KEYS);
        await ctx.deps.retry('oss', () => (batch.length === 1 ? bucket.delete(batch[0]!) : bucket.deleteMany(batch)));
      }
    }),
  );
}
