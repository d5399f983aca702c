import { createHash } from 'node:crypto';
import { posterKeys, storyboardKeys } from '../rules/preview-keys';
import { outputDelivery, resolveOutputKey } from '../rules/naming';
import type { Output, Rule } from '../rules/schema';
import type { JobIdentity, OutputIdentity } from './job';
import { planPreviews, type PlannedPreview } from '../media/previews';
import { needsMedia, outputSampling, type MediaInfo, type Sampling } from './sampling';

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
  /** The posters and storyboards it makes, laid out. */
  previews?: PlannedPreview[];
  media?: MediaInfo;
}

/**
 * Works out each output's sampling and lays out the previews (`previews`: which of the rule's previews are owed;
 * default all); throws WindowOutsideVideo when a frames window misses the video.
 */
export function samplePlan(plan: JobPlan, media?: MediaInfo, previews: (preview: PlannedPreview) => boolean = () => true): SampledPlan {
  const planned = plan.rule.previews?.length ? planPreviews(plan.rule, plan.source.key, media).filter(previews) : [];
  return {
    ...plan,
    ...(media ? { media } : {}),
    outputs: plan.outputs.map((output) => ({ ...output, sampling: outputSampling(output, media) })),
    ...(planned.length > 0 ? { previews: planned } : {}),
  };
}

/** Whether planning the rule's outputs needs the video's duration and size (IMM DetectMediaMeta). */
export function planNeedsMedia(rule: Rule): boolean {
  return needsMedia(rule.outputs) || (rule.previews ?? []).some((p) => p.kind === 'storyboard' || typeof p.at === 'string');
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

/**
 * Every output a job makes, in the rule's order of kinds: the animations, then the posters and storyboards with
 * their files. An output outside the source's bucket names its bucket.
 */
export function plannedOutputs(plan: JobPlan): OutputIdentity[] {
  const { rule, source } = plan;
  const where = (output: Partial<Pick<Output, 'bucket' | 'cacheControl' | 'contentDisposition'>>) => {
    const bucket = outputDelivery(rule, output, source.bucket).bucket;
    return bucket !== source.bucket ? { bucket } : {};
  };
  const animations = plan.outputs.map((o) => ({ key: o.resolvedKey, format: o.format, maxFrames: o.maxFrames, ...where(o) }));
  const previews = (rule.previews ?? []).map((preview): OutputIdentity => {
    if (preview.kind === 'poster') {
      const keys = posterKeys(preview, source.key, rule.name);
      return { key: keys.key, kind: 'poster', format: preview.format, maxFrames: keys.candidates ? keys.candidates.keys.length : 1, ...where({}), ...(keys.candidates ? { candidates: keys.candidates.keys } : {}) };
    }
    const keys = storyboardKeys(preview, source.key, rule.name);
    return { key: keys.vttKey, kind: 'storyboard', format: preview.format, maxFrames: preview.frames, ...where({}), files: keys.sheetKeys };
  });
  return [...animations, ...previews];
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
    outputs: plannedOutputs(plan),
    createdAt: new Date(now).toISOString(),
    ...(retryOf ? { retryOf } : {}),
  };
}
