import { createHash } from 'node:crypto';
import { resolveOutputKey } from '../rules/naming';
import type { Output, Rule } from '../rules/schema';
import type { JobIdentity } from './job';
import { outputSampling, type MediaInfo, type Sampling } from './sampling';

/** The uploaded object version a job converts. */
export interface SourceObject {
  bucket: string;
  key: string;
  eTag: string;
  size: number;
}

export interface PlannedOutput extends Output {
  /** The exact key the output is written to, resolved before the task runs. */
  resolvedKey: string;
}

export interface JobPlan {
  jobId: string;
  source: SourceObject;
  rule: Rule;
  outputs: PlannedOutput[];
}

export interface SampledOutput extends PlannedOutput {
  sampling: Sampling;
}

/** A plan ready for an engine: every output's sampling worked out, with the media facts it needed. */
export interface SampledPlan extends JobPlan {
  outputs: SampledOutput[];
  media?: MediaInfo;
}

/** Works out each output's sampling; throws WindowOutsideVideo when a frames window misses the video. */
export function samplePlan(plan: JobPlan, media?: MediaInfo): SampledPlan {
  return { ...plan, ...(media ? { media } : {}), outputs: plan.outputs.map((output) => ({ ...output, sampling: outputSampling(output, media) })) };
}

/** One job per object version and rule: the same upload event, however often delivered, maps to the same id. */
export function jobIdFor(source: SourceObject, ruleName: string): string {
  return createHash('sha256').update(JSON.stringify([source.bucket, source.key, source.eTag, ruleName])).digest('hex').slice(0, 32);
}

export function planJob(source: SourceObject, rule: Rule): JobPlan {
  return {
    jobId: jobIdFor(source, rule.name),
    source,
    rule,
    outputs: rule.outputs.map((output) => ({ ...output, resolvedKey: resolveOutputKey(output.key, source.key, rule.name, output.format) })),
  };
}

/** The plan of an existing job: its rule as configured now, its outputs as the record fixed them. */
export function planOfJob(job: Pick<JobIdentity, 'jobId' | 'bucket' | 'key' | 'eTag' | 'size'>, rule: Rule): JobPlan {
  const source = { bucket: job.bucket, key: job.key, eTag: job.eTag, size: job.size };
  return { ...planJob(source, rule), jobId: job.jobId };
}

/** A new job's identity (the first attempt is claimed alongside it, like any other). */
export function newJobIdentity(plan: JobPlan, now: number, retryOf?: string): JobIdentity {
  return {
    schemaVersion: 3,
    jobId: plan.jobId,
    bucket: plan.source.bucket,
    key: plan.source.key,
    eTag: plan.source.eTag,
    size: plan.source.size,
    rule: plan.rule.name,
    engine: plan.rule.engine,
    outputs: plan.outputs.map((o) => ({ key: o.resolvedKey, format: o.format, maxFrames: o.maxFrames })),
    createdAt: new Date(now).toISOString(),
    ...(retryOf ? { retryOf } : {}),
  };
}
