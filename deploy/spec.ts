import path from 'node:path';
import { z } from 'zod';
import type { Pricing } from '../shared/jobs/cost';
import type { OssTriggerFilter } from '../shared/rules/validate';
import { localStackOutputs } from './deploy-resources';

/** s.yaml as `s deploy` sees it, read with Serverless Devs' own parser, narrowed to what the app uses. */
const OssTriggerSchema = z.object({
  triggerName: z.string(),
  triggerType: z.literal('oss'),
  sourceArn: z.string().regex(/^acs:oss:[^:]+:[^:]*:[^:]+$/, 'must be acs:oss:<region>:<account>:<bucket>'),
  triggerConfig: z.object({
    events: z.array(z.string()).min(1),
    filter: z.object({ key: z.object({ prefix: z.string(), suffix: z.string() }) }),
  }),
});

const MnsTriggerSchema = z.object({
  triggerName: z.string(),
  triggerType: z.literal('mns_topic'),
  sourceArn: z.string().regex(/^acs:mns:[^:]+:[^:]*:\/topics\/[^/]+$/, 'must be acs:mns:<region>:<account>:/topics/<topic>'),
  triggerConfig: z.object({
    notifyContentFormat: z.enum(['JSON', 'STREAM']),
    notifyStrategy: z.enum(['BACKOFF_RETRY', 'EXPONENTIAL_DECAY_RETRY']),
    filterTag: z.string().optional(),
  }),
});

/**
 * fc3's ITimerTriggerConfig (devsapp/fc3 src/interface/trigger.ts): `cronExpression` is `@every <duration>`
 * (e.g. `@every 10m`) or a 6-field cron expression in UTC (seconds minutes hours day-of-month month day-of-week),
 * optionally prefixed with `CRON_TZ=<zone> `. Whether the local stack can run one is its own check.
 */
const CRON_EXPRESSION = /^@every \S+$|^(CRON_TZ=\S+ +)?\S+( +\S+){5}$/;
const TimerTriggerSchema = z.object({
  triggerName: z.string(),
  triggerType: z.literal('timer'),
  triggerConfig: z.object({
    cronExpression: z.string().regex(CRON_EXPRESSION, 'must be "@every <duration>" or a 6-field cron expression (seconds minutes hours day-of-month month day-of-week), optionally after CRON_TZ=<zone>'),
    enable: z.boolean(),
    payload: z.string().optional(),
  }),
});

const FunctionPropsSchema = z.looseObject({
  region: z.string(),
  functionName: z.string(),
  description: z.string().optional(),
  runtime: z.string(),
  handler: z.string().default('index.handler'),
  code: z.string(),
  timeout: z.number().default(3),
  memorySize: z.number().default(512),
  environmentVariables: z.record(z.string(), z.string()).default({}),
  asyncInvokeConfig: z
    .object({
      maxAsyncRetryAttempts: z.number().int().min(0).max(8).default(3),
      destinationConfig: z.object({ onFailure: z.object({ destination: z.string() }).optional() }).optional(),
    })
    .optional(),
  triggers: z.array(z.looseObject({ triggerType: z.string() })).default([]),
  /**
   * fc3's ILogConfig: `auto` (fc3 makes a project and store, and the service-linked role only for a function without
   * a role) or the project and store to write to.
   */
  logConfig: z.union([z.literal('auto'), z.looseObject({ project: z.string().min(1), logstore: z.string().min(1) })]).optional(),
  /** Only custom runtimes take it on FC 3.0 (below). */
  instanceConcurrency: z.number().optional(),
  /** fc3's IConcurrencyConfig (devsapp/fc3 src/interface/concurrency_config.ts): applied by `s deploy`; 0 pauses the function. */
  concurrencyConfig: z.object({ reservedConcurrency: z.number().int().min(0) }).optional(),
});

/**
 * A resource with `component: ros` (devsapp/ros, edition 3.0.0): one ROS stack, deployed before the functions that
 * read its outputs. Its `template` is read relative to the directory `s` runs in (devsapp/ros src/impl/ros.ts).
 */
const RosPropsSchema = z.looseObject({
  region: z.string().min(1),
  name: z.string().min(1),
  template: z.string().min(1),
  parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).default({}),
});

export interface StackSpec {
  resource: string;
  region: string;
  /** The stack name. */
  name: string;
  /** `template` as written in s.yaml. */
  template: string;
  /** `template` resolved against the folder of s.yaml (where `s` is run). */
  templateFile: string;
  parameters: Record<string, string>;
  /**
   * What `${resources.<resource>.output.<Key>}` gives, computed offline from the template the build generates for
   * these parameters (deploy/deploy-resources.ts): the names the stack creates, role ARNs in account `AccountID`.
   */
  outputs: Record<string, string>;
}

export interface OssTrigger extends OssTriggerFilter {
  region: string;
  bucket: string;
}

export interface MnsTrigger {
  name: string;
  topic: string;
  notifyContentFormat: 'JSON' | 'STREAM';
  notifyStrategy: 'BACKOFF_RETRY' | 'EXPONENTIAL_DECAY_RETRY';
}

export interface TimerTrigger {
  name: string;
  cronExpression: string;
  enable: boolean;
  /** Passed to the function as the event's `payload`. */
  payload?: string;
}

export interface FunctionSpec {
  resource: string;
  functionName: string;
  description?: string;
  region: string;
  runtime: string;
  handler: string;
  codeDir: string;
  timeoutSeconds: number;
  memoryMB: number;
  env: Record<string, string>;
  maxAsyncRetryAttempts: number;
  onFailureDestination?: string;
  /**
   * `concurrencyConfig.reservedConcurrency`: at most this many invocations of the function run at once (FC queues
   * asynchronous ones above it and refuses synchronous ones). Unset: no cap of its own.
   */
  reservedConcurrency?: number;
  /** `logConfig` as written: where FC writes the function's logs. */
  logConfig?: 'auto' | { project: string; logstore: string };
  ossTriggers: OssTrigger[];
  mnsTriggers: MnsTrigger[];
  timerTriggers: TimerTrigger[];
}

/**
 * `vars.pricing`: what IMM charges per MediaAnimation output frame, `{ currency, pricePerFrame }`. No price (the
 * block absent or null, or `pricePerFrame` empty, as `${env('PRICE_PER_FRAME', '')}` gives when the variable is
 * unset) means costs are reported as unknown, never as zero. Values from `${env(...)}` are strings: hence coercion.
 */
const PricingSchema = z.nullish(
  z.object({
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be a currency code such as CNY'),
    pricePerFrame: z.union([z.literal(''), z.null(), z.undefined(), z.coerce.number().nonnegative()], {
      error: 'must be a price per frame (a number, 0 or more), or empty for none',
    }),
  }),
);

export interface ServiceSpec {
  file: string;
  functions: FunctionSpec[];
  /** `vars.rules` exactly as written (the build validates and embeds it). */
  rules: unknown;
  /** `vars` with every `${...}` resolved, as `s deploy` sees them. */
  vars: Record<string, unknown>;
  /** `vars.pricing`, when a price per frame is configured. */
  pricing?: Pricing;
  /** The ros resources (the stack with the IMM project, topics and roles). */
  stacks: StackSpec[];
}

export class SpecError extends Error {
  override name = 'SpecError';
}

/** Reads s.yaml with @serverless-devs/parse-spec; `${config('AccountID')}` resolves from env AccountID (any value locally). */
export async function loadSpec(file: string, env: Record<string, string> = {}): Promise<ServiceSpec> {
  const { default: ParseSpec } = await import('@serverless-devs/parse-spec');
  const saved = { ...process.env };
  Object.assign(process.env, { AccountID: '1234567890', AccessKeyID: 'local', AccessKeySecret: 'local', ...env });
  const quiet = () => undefined;
  const logger = { debug: quiet, info: quiet, warn: quiet, error: quiet, write: quiet, output: quiet, append: quiet };
  let parsed: {
    steps: { projectName: string; component: string; props: unknown }[];
    yaml: { content: { vars?: { rules?: unknown } }; vars?: Record<string, unknown> };
  };
  try {
    parsed = await new ParseSpec(path.resolve(file), { argv: ['deploy'], logger } as never).start();
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
  const baseDir = path.dirname(path.resolve(file));
  const fc3Steps = parsed.steps.filter((step) => step.component === 'fc3');
  const stacks = parsed.steps.filter((step) => step.component === 'ros').map((step) => stackSpec(step.projectName, step.props, baseDir));
  resolveStackOutputs(stacks, fc3Steps, baseDir, { AccountID: '1234567890', ...env }['AccountID']);
  const functions = fc3Steps.map((step) => functionSpec(step.projectName, step.props, baseDir));
  const vars = parsed.yaml.vars ?? {};
  const pricing = PricingSchema.safeParse(vars['pricing']);
  if (!pricing.success) {
    throw new SpecError(pricing.error.issues.map((issue) => `s.yaml vars.pricing${issue.path.map((p) => `.${String(p)}`).join('')}: ${issue.message}`).join('; '));
  }
  const pricePerFrame = pricing.data?.pricePerFrame;
  return {
    file: path.resolve(file),
    functions,
    rules: parsed.yaml.content.vars?.rules,
    vars,
    ...(typeof pricePerFrame === 'number' ? { pricing: { currency: pricing.data!.currency, pricePerFrame } } : {}),
    stacks,
  };
}

function stackSpec(resource: string, rawProps: unknown, baseDir: string): StackSpec {
  const props = RosPropsSchema.safeParse(rawProps);
  if (!props.success) throw new SpecError(`s.yaml resources.${resource}.props: ${z.prettifyError(props.error)}`);
  const { region, name, template, parameters } = props.data;
  return { resource, region, name, template, templateFile: path.resolve(baseDir, template), parameters, outputs: {} };
}

const STACK_OUTPUT = /\$\{resources\.([A-Za-z0-9_-]+)\.output\.([A-Za-z0-9_.-]+)\}/g;

/**
 * Serverless Devs resolves `${resources.<stack>.output.<Key>}` only once the stack is deployed (parse-spec leaves
 * the text as it is and orders the stack first). Offline they take the values the template would produce: each
 * stack's outputs are computed from the template for its parameters, and written into the fc3 props in place.
 */
function resolveStackOutputs(stacks: StackSpec[], fc3Steps: { projectName: string; props: unknown }[], baseDir: string, accountId: string): void {
  if (stacks.length === 0 || !fc3Steps.some((step) => new RegExp(STACK_OUTPUT.source).test(JSON.stringify(step.props ?? null)))) return;
  // The outputs depend on the functions (one role each) and the stack's parameters only, never on other outputs.
  const functions = fc3Steps.map((step) => functionSpec(step.projectName, step.props, baseDir));
  for (const stack of stacks) {
    try {
      stack.outputs = localStackOutputs(stack, functions, accountId);
    } catch (error) {
      const message = (error as Error).message;
      throw new SpecError(message.startsWith('s.yaml ') ? message : `s.yaml resources.${stack.resource}: ${message}`);
    }
  }
  const byResource = new Map(stacks.map((s) => [s.resource, s]));
  const substitute = (value: unknown, where: string): unknown => {
    if (typeof value === 'string') {
      return value.replace(STACK_OUTPUT, (text, resource: string, key: string) => {
        const stack = byResource.get(resource);
        if (!stack) throw new SpecError(`${where}: ${text}: resources.${resource} is not a ros resource (only stack outputs resolve offline)`);
        const output = stack.outputs[key];
        if (output === undefined) throw new SpecError(`${where}: ${text}: the stack template has no output ${key} (it has ${Object.keys(stack.outputs).join(', ')})`);
        return output;
      });
    }
    if (Array.isArray(value)) return value.map((v, i) => substitute(v, `${where}[${i}]`));
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, `${where}.${k}`)]));
    return value;
  };
  for (const step of fc3Steps) step.props = substitute(step.props, `s.yaml resources.${step.projectName}.props`);
}

function functionSpec(resource: string, rawProps: unknown, baseDir: string): FunctionSpec {
  const props = FunctionPropsSchema.safeParse(rawProps);
  if (!props.success) throw new SpecError(`s.yaml resources.${resource}.props: ${z.prettifyError(props.error)}`);
  const p = props.data;
  // FC 3.0: "standard runtimes no longer support instance concurrency; custom runtimes still do" (Function Compute
  // 3.0 feature updates); fc3's 2-to-3 migration deletes the setting.
  if (p.instanceConcurrency !== undefined && !p.runtime.startsWith('custom')) {
    throw new SpecError(`s.yaml resources.${resource}.props.instanceConcurrency: FC 3.0 supports instance concurrency only for custom runtimes, not ${p.runtime}: remove it`);
  }
  const ossTriggers: OssTrigger[] = [];
  const mnsTriggers: MnsTrigger[] = [];
  const timerTriggers: TimerTrigger[] = [];
  p.triggers.forEach((trigger, i) => {
    const where = `s.yaml resources.${resource}.props.triggers[${i}]`;
    if (trigger.triggerType === 'oss') {
      const t = OssTriggerSchema.safeParse(trigger);
      if (!t.success) throw new SpecError(`${where}: ${z.prettifyError(t.error)}`);
      const [, , region = '', , bucket = ''] = t.data.sourceArn.split(':');
      ossTriggers.push({
        name: t.data.triggerName,
        region,
        bucket,
        events: t.data.triggerConfig.events,
        prefix: t.data.triggerConfig.filter.key.prefix,
        suffix: t.data.triggerConfig.filter.key.suffix,
      });
    } else if (trigger.triggerType === 'mns_topic') {
      const t = MnsTriggerSchema.safeParse(trigger);
      if (!t.success) throw new SpecError(`${where}: ${z.prettifyError(t.error)}`);
      mnsTriggers.push({
        name: t.data.triggerName,
        topic: t.data.sourceArn.slice(t.data.sourceArn.lastIndexOf('/') + 1),
        notifyContentFormat: t.data.triggerConfig.notifyContentFormat,
        notifyStrategy: t.data.triggerConfig.notifyStrategy,
      });
    } else if (trigger.triggerType === 'timer') {
      const t = TimerTriggerSchema.safeParse(trigger);
      if (!t.success) throw new SpecError(`${where}: ${z.prettifyError(t.error)}`);
      const { cronExpression, enable, payload } = t.data.triggerConfig;
      timerTriggers.push({ name: t.data.triggerName, cronExpression, enable, ...(payload !== undefined ? { payload } : {}) });
    }
  });
  const onFailure = p.asyncInvokeConfig?.destinationConfig?.onFailure?.destination;
  return {
    resource,
    functionName: p.functionName,
    ...(p.description !== undefined ? { description: p.description } : {}),
    region: p.region,
    runtime: p.runtime,
    handler: p.handler,
    codeDir: path.resolve(baseDir, p.code),
    timeoutSeconds: p.timeout,
    memoryMB: p.memorySize,
    env: p.environmentVariables,
    maxAsyncRetryAttempts: p.asyncInvokeConfig?.maxAsyncRetryAttempts ?? 3,
    ...(onFailure ? { onFailureDestination: onFailure } : {}),
    ...(p.concurrencyConfig ? { reservedConcurrency: p.concurrencyConfig.reservedConcurrency } : {}),
    ...(p.logConfig === 'auto' ? { logConfig: 'auto' as const } : p.logConfig ? { logConfig: { project: p.logConfig.project, logstore: p.logConfig.logstore } } : {}),
    ossTriggers,
    mnsTriggers,
    timerTriggers,
  };
}
