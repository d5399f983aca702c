import type { BucketApi } from '../clients/oss';
import type { ConversionEngine, MediaProbe, TaskLookup } from '../engines/engine';
import { jobEndedEvent, type CompletionEvent } from '../events/completion';
import type { JobRecord } from '../jobs/job';
import type { Clock, Lifecycle } from '../jobs/lifecycle';
import type { MediaInfo } from '../jobs/sampling';
import type { JobStore } from '../jobs/store';
import type { AppConfig } from '../wiring/config';
import type { Logger } from '../platform/log';
import type { Retrier } from '../platform/retry';
import type { Rule } from '../rules/schema';

/** What the use cases need, wired by wiring/runtime.ts from the real adapters (or by tests from fakes). */
export interface AppDeps {
  config: AppConfig;
  log: Logger;
  clock: Clock;
  requestId: string;
  /** How long an attempt owns a job before another invocation may take over. */
  leaseMs: number;
  /** Epoch ms by which the invocation must be done with its work (the function's time budget). */
  deadline: number;
  /** A bucket that holds sources and outputs. */
  bucket(name: string): Promise<BucketApi>;
  /** The job store for the jobs of a source bucket (in RECORDS_BUCKET, or that bucket), checked fit for create-only. */
  records(sourceBucket: string): Promise<JobStore>;
  engine(rule: Rule, bucket: BucketApi): Promise<ConversionEngine>;
  /** IMM DetectMediaMeta; undefined when no IMM project is configured. */
  mediaProbe(): Promise<MediaProbe | undefined>;
  /** IMM GetTask, for reconcile; undefined when no IMM project is configured. */
  taskLookup(): Promise<TaskLookup | undefined>;
  /** Where completion events go (the EVENTS_TOPIC topic); undefined when events are off. */
  events?: EventPublisher;
  retry: Retrier;
}

/** The port completion events go out through (MNS PublishMessage in the cloud). */
export interface EventPublisher {
  /** The account that owns the source buckets, for the events' `source`. */
  accountId: string;
  publish(event: CompletionEvent): Promise<void>;
}

/** The use cases' view of one source bucket: the bucket, the lifecycle over its job store. */
export interface BucketContext {
  deps: AppDeps;
  bucket: BucketApi;
  life: Lifecycle;
  /** What DetectMediaMeta said of each source, asked once and shared by every rule and output that needs it. */
  media: Map<string, Promise<MediaInfo>>;
}

export async function bucketContext(deps: AppDeps, name: string): Promise<BucketContext> {
  const [bucket, store] = await Promise.all([deps.bucket(name), deps.records(name)]);
  return {
    deps,
    bucket,
    media: new Map(),
    life: {
      store,
      clock: deps.clock,
      policy: deps.config.policy,
      ...(deps.config.pricing ? { pricing: deps.config.pricing } : {}),
      leaseMs: deps.leaseMs,
      requestId: deps.requestId,
      retry: (operation) => deps.retry('oss', operation),
      ...(deps.events ? { publish: publisher(deps, deps.events) } : {}),
    },
  };
}

/** Publishes a job's completion event (retried: a repeat carries the same id) and says what went out. */
function publisher(deps: AppDeps, events: EventPublisher) {
  return async (view: JobRecord) => {
    const event = jobEndedEvent(view, { region: deps.config.region, accountId: events.accountId });
    await deps.retry('mns', () => events.publish(event));
    deps.log.info('completion event published', { jobId: view.jobId, type: event.type, id: event.id });
    return { id: event.id, type: event.type, publishedAt: new Date(deps.clock.now()).toISOString() };
  };
}
