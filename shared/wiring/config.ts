import type { CloudCredentials } from '../clients/credentials';
import { parseEndpoint, type EndpointOverride } from '../clients/endpoint';
import { mnsTopicNameProblem } from '../clients/mns';
import { isRetryableTaskCode } from '../engines/imm';
import { engineRuleProblems } from '../engines/limits';
import type { Pricing } from '../jobs/cost';
import type { LifecyclePolicy } from '../jobs/derive';
import { embeddedRules } from '../rules/embedded';
import type { Rule } from '../rules/schema';
import { parseRuleSet } from '../rules/validate';
import { ConfigError } from '../platform/errors';
import * as z from '../platform/zod';

/** Task and attempt budgets, and IMM's task-failure policy (both engines' tasks are IMM MediaConvert tasks). */
export const DEFAULT_POLICY: LifecyclePolicy = { maxTaskAttempts: 3, maxJobAttempts: 12, isRetryableTaskCode };

/** Where records go unless RECORDS_PREFIX says otherwise: outside any sensible rule prefix. */
export const DEFAULT_RECORDS_PREFIX = '.video-animation/';

/** The FC invocation context (Node.js runtime); only what the app reads. */
export interface FcContext {
  requestId?: string;
  region?: string;
  accountId?: string;
  credentials?: Partial<CloudCredentials>;
  function?: { name?: string; timeout?: number };
}

const optionalText = z.optional(z.string().check(z.minLength(1)));

const EnvSchema = z.object({
  IMM_PROJECT: optionalText,
  MNS_TOPIC: z.string('MNS_TOPIC is required: the topic IMM notifies when a task ends').check(z.minLength(1, 'MNS_TOPIC must not be empty')),
  RECORDS_PREFIX: z._default(z.string().check(z.minLength(1)), DEFAULT_RECORDS_PREFIX),
  /** The bucket that holds the job records; default: the bucket of the job's source. */
  RECORDS_BUCKET: optionalText,
  IMM_ENDPOINT: optionalText,
  OSS_ENDPOINT: optionalText,
  MNS_ENDPOINT: optionalText,
  /** The MNS topic completion events go to; empty or unset: no events. */
  EVENTS_TOPIC: z.optional(z.string()),
  FC_ACCOUNT_ID: optionalText,
  RULES: optionalText,
  /** How long an attempt owns a job before another invocation may take it over; default: the function's timeout. */
  JOB_LEASE_SECONDS: z.optional(z.coerce.number().check(z.positive(), z.maximum(86_400))),
  /** Reconcile asks IMM about a job whose tasks have run this long without a notice. */
  RECONCILE_AFTER_SECONDS: z._default(z.coerce.number().check(z.positive(), z.maximum(7 * 86_400)), 900),
  /** Jobs one reconcile run looks at, at most (the rest wait for the next run). */
  RECONCILE_MAX_JOBS: z._default(z.coerce.number().check(z.int(), z.positive(), z.maximum(10_000)), 100),
  /** Tasks per output in all, counting retries after transient task failures. */
  MAX_TASK_ATTEMPTS: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(10)), DEFAULT_POLICY.maxTaskAttempts),
  /** The bucket reconcile looks after (the submit and record functions learn it from their events). */
  BUCKET: optionalText,
  /** IMM's price per MediaAnimation output frame, for cost estimates in job records (s.yaml vars.pricing). */
  PRICE_PER_FRAME: z.optional(z.coerce.number().check(z.minimum(0))),
  PRICE_CURRENCY: z._default(z.string().check(z.regex(/^[A-Z]{3}$/, 'must be a currency code such as CNY')), 'CNY'),
  FC_REGION: optionalText,
  ALIBABA_CLOUD_REGION: optionalText,
});

export interface AppConfig {
  region: string;
  immProject?: string;
  mnsTopic: string;
  recordsPrefix: string;
  recordsBucket?: string;
  immEndpoint?: EndpointOverride;
  ossEndpoint?: EndpointOverride;
  mnsEndpoint?: EndpointOverride;
  /** Completion events: the topic, and the account that owns it (and the source buckets). */
  events?: { topic: string; accountId: string };
  rules: Rule[];
  leaseSeconds?: number;
  reconcileAfterSeconds: number;
  reconcileMaxJobs: number;
  policy: LifecyclePolicy;
  bucket?: string;
  pricing?: Pricing;
}


let cached: { signature: string; config: AppConfig } | undefined;

/** The one reader of process.env: env + FC context -> typed config, parsed once per container. */
export function loadConfig(context: FcContext, env: NodeJS.ProcessEnv = process.env): AppConfig {
  // s.yaml passes PRICE_PER_FRAME as '' when no price is configured: that means none, not a price of 0.
  const parsedEnv = EnvSchema.safeParse(env['PRICE_PER_FRAME'] === '' ? { ...env, PRICE_PER_FRAME: undefined } : env);
  if (!parsedEnv.success) throw new ConfigError(`bad environment: ${z.prettifyError(parsedEnv.error)}`);
  const e = parsedEnv.data;
  const region = context.region ?? e.FC_REGION ?? e.ALIBABA_CLOUD_REGION;
  if (!region) throw new ConfigError('no region: FC passes context.region; elsewhere set FC_REGION or ALIBABA_CLOUD_REGION');
  const signature = JSON.stringify([e, region]);
  if (cached?.signature === signature) return cached.config;

  const rulesInput = e.RULES !== undefined ? parseJsonOrThrow(e.RULES, 'RULES') : embeddedRules();
  if (rulesInput === undefined) throw new ConfigError('no rules: none were embedded at build time and RULES is not set');
  let rules: Rule[];
  try {
    rules = parseRuleSet(rulesInput, { recordsPrefix: e.RECORDS_PREFIX, engineProblems: engineRuleProblems }, e.RULES !== undefined ? 'RULES' : 'embedded rules');
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  if (!e.IMM_PROJECT && rules.some((r) => r.engine === 'imm')) throw new ConfigError('IMM_PROJECT is required: a rule uses the imm engine');
  if (!e.IMM_PROJECT && rules.some((r) => r.outputs.some((o) => o.frames !== undefined))) {
    throw new ConfigError('IMM_PROJECT is required: a rule uses frames, and the video duration comes from IMM DetectMediaMeta (engine oss: the project attached to the bucket)');
  }

  const config: AppConfig = {
    region,
    mnsTopic: e.MNS_TOPIC,
    recordsPrefix: e.RECORDS_PREFIX,
    rules,
    reconcileAfterSeconds: e.RECONCILE_AFTER_SECONDS,
    reconcileMaxJobs: e.RECONCILE_MAX_JOBS,
    policy: { ...DEFAULT_POLICY, maxTaskAttempts: e.MAX_TASK_ATTEMPTS },
    ...(e.BUCKET ? { bucket: e.BUCKET } : {}),
    ...(e.RECORDS_BUCKET ? { recordsBucket: e.RECORDS_BUCKET } : {}),
    ...(e.PRICE_PER_FRAME !== undefined ? { pricing: { currency: e.PRICE_CURRENCY, pricePerFrame: e.PRICE_PER_FRAME } } : {}),
    ...(e.IMM_PROJECT ? { immProject: e.IMM_PROJECT } : {}),
    ...(e.JOB_LEASE_SECONDS !== undefined ? { leaseSeconds: e.JOB_LEASE_SECONDS } : {}),
    ...(e.IMM_ENDPOINT ? { immEndpoint: endpointOrThrow(e.IMM_ENDPOINT, 'IMM_ENDPOINT') } : {}),
    ...(e.OSS_ENDPOINT ? { ossEndpoint: endpointOrThrow(e.OSS_ENDPOINT, 'OSS_ENDPOINT') } : {}),
    ...(e.MNS_ENDPOINT ? { mnsEndpoint: endpointOrThrow(e.MNS_ENDPOINT, 'MNS_ENDPOINT') } : {}),
    ...(e.EVENTS_TOPIC ? { events: eventsConfig(e.EVENTS_TOPIC, context.accountId ?? e.FC_ACCOUNT_ID) } : {}),
  };
  cached = { signature, config };
  return config;
}

function eventsConfig(topic: string, accountId: string | undefined): { topic: string; accountId: string } {
  const problem = mnsTopicNameProblem(topic);
  if (problem) throw new ConfigError(`EVENTS_TOPIC "${topic}": ${problem}`);
  if (!accountId) throw new ConfigError('EVENTS_TOPIC is set but the account id is unknown: FC passes context.accountId; elsewhere set FC_ACCOUNT_ID');
  return { topic, accountId };
}

function parseJsonOrThrow(text: string, name: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ConfigError(`${name} is not JSON: ${(error as Error).message}`);
  }
}

function endpointOrThrow(value: string, name: string): EndpointOverride {
  try {
    return parseEndpoint(value);
  } catch (error) {
    throw new ConfigError(`${name}: ${(error as Error).message}`);
  }
}
