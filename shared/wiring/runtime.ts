import type { AppDeps, EventPublisher } from '../app/context';
import { createTopicClient, type TopicApi } from '../clients/mns';
import { completionEventMessage } from '../events/completion';
import { invocationCredentials, type CloudCredentials } from '../clients/credentials';
import { createImmClient, type ImmApi } from '../clients/imm';
import { createBucketClient, type BucketApi } from '../clients/oss';
import type { ConversionEngine } from '../engines/engine';
import { immEngine, immMediaProbe, immTaskLookup } from '../engines/imm';
import { ossAsyncEngine } from '../engines/oss';
import { ossJobStore } from '../jobs/stores/oss';
import { ConfigError } from '../platform/errors';
import type { Logger } from '../platform/log';
import { withRetries, type Retrier } from '../platform/retry';
import type { Rule } from '../rules/schema';
import type { AppConfig, FcContext } from './config';
import { checkRecordsBucket } from './records-bucket';

/** Completion events through the functions' own MNS client, built on the first event (most invocations send none). */
function eventPublisher(config: AppConfig, events: NonNullable<AppConfig['events']>, credentials: () => CloudCredentials): EventPublisher {
  let topic: TopicApi | undefined;
  return {
    accountId: events.accountId,
    async publish(event) {
      topic ??= createTopicClient({
        topic: events.topic,
        region: config.region,
        accountId: events.accountId,
        credentials: credentials(),
        ...(config.mnsEndpoint ? { endpoint: config.mnsEndpoint } : {}),
      });
      await topic.publish(completionEventMessage(event));
    },
  };
}

/** FC's default timeout is 3 s; the functions are deployed with more, this is the fallback outside FC. */
const DEFAULT_TIMEOUT_SECONDS = 60;
/** Time kept back from the function's timeout for writing the record after the last retry. */
const BUDGET_MARGIN_MS = 3_000;

/**
 * Wires the real adapters for one invocation: credentials resolved once (FC's STS credentials rotate),
 * one OSS client per bucket, the IMM client only when a job needs it, and the retry policy bound to the time budget.
 */
export function invocationRuntime(config: AppConfig, context: FcContext, log: Logger): AppDeps {
  const started = Date.now();
  const timeoutMs = (context.function?.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
  const deadline = started + Math.max(timeoutMs - BUDGET_MARGIN_MS, timeoutMs / 2);
  let credentials: CloudCredentials | undefined;
  const getCredentials = () => (credentials ??= invocationCredentials(context.credentials));
  const buckets = new Map<string, Promise<BucketApi>>();

  const retry: Retrier = (service, operation, kind = 'idempotent') =>
    withRetries(operation, {
      service,
      kind,
      deadline,
      onRetry: (info, attempt, delayMs) => log.warn(`${service} call failed; retrying`, { code: info.code, status: info.status, attempt, delayMs }),
    });

  const bucket = (name: string) => {
    let client = buckets.get(name);
    if (!client) {
      // Missing credentials reject the promise (a config error) rather than throw at the call.
      client = Promise.resolve().then(() =>
        createBucketClient({ bucket: name, region: config.region, credentials: getCredentials(), ...(config.ossEndpoint ? { endpoint: config.ossEndpoint } : {}) }),
      );
      buckets.set(name, client);
    }
    return client;
  };

  let imm: ImmApi | undefined;
  const immClient = () =>
    (imm ??= createImmClient({ region: config.region, credentials: getCredentials(), ...(config.immEndpoint ? { endpoint: config.immEndpoint } : {}) }));

  const engine = async (rule: Rule, bucket: BucketApi): Promise<ConversionEngine> => {
    if (rule.engine === 'oss') return ossAsyncEngine(bucket, { topicName: config.mnsTopic }, retry);
    if (!config.immProject) throw new ConfigError('IMM_PROJECT is not set');
    return immEngine(immClient(), { projectName: config.immProject, topicName: config.mnsTopic }, retry);
  };

  return {
    config,
    log,
    clock: { now: () => Date.now() },
    leaseMs: config.leaseSeconds !== undefined ? config.leaseSeconds * 1000 : timeoutMs,
    deadline,
    requestId: context.requestId ?? 'unknown',
    bucket,
    async records(sourceBucket: string) {
      const records = await bucket(config.recordsBucket ?? sourceBucket);
      await retry('oss', () => checkRecordsBucket(records));
      return ossJobStore(records, config.recordsPrefix);
    },
    engine,
    mediaProbe: async () => (config.immProject ? immMediaProbe(immClient(), config.immProject, retry) : undefined),
    taskLookup: async () => (config.immProject ? immTaskLookup(immClient(), config.immProject, retry) : undefined),
    ...(config.events ? { events: eventPublisher(config, config.events, getCredentials) } : {}),
    retry,
  };
}
