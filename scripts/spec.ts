import path from 'node:path';
import { z } from 'zod';
import type { OssTriggerFilter } from '../shared/rules/validate';

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
});

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
  region: string;
  handler: string;
  codeDir: string;
  timeoutSeconds: number;
  memoryMB: number;
  env: Record<string, string>;
  maxAsyncRetryAttempts: number;
  onFailureDestination?: string;
  ossTriggers: OssTrigger[];
  mnsTriggers: MnsTrigger[];
  timerTriggers: TimerTrigger[];
}

export interface ServiceSpec {
  file: string;
  functions: FunctionSpec[];
  /** `vars.rules` exactly as written (the build validates and embeds it). */
  rules: unknown;
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
  let parsed: { steps: { projectName: string; component: string; props: unknown }[]; yaml: { content: { vars?: { rules?: unknown } } } };
  try {
    parsed = await new ParseSpec(path.resolve(file), { argv: ['deploy'], logger } as never).start();
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
  const baseDir = path.dirname(path.resolve(file));
  const functions = parsed.steps
    .filter((step) => step.component === 'fc3')
    .map((step) => functionSpec(step.projectName, step.props, baseDir));
  return { file: path.resolve(file), functions, rules: parsed.yaml.content.vars?.rules };
}

function functionSpec(resource: string, rawProps: unknown, baseDir: string): FunctionSpec {
  const props = FunctionPropsSchema.safeParse(rawProps);
  if (!props.success) throw new SpecError(`s.yaml resources.${resource}.props: ${z.prettifyError(props.error)}`);
  const p = props.data;
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
    region: p.region,
    handler: p.handler,
    codeDir: path.resolve(baseDir, p.code),
    timeoutSeconds: p.timeout,
    memoryMB: p.memorySize,
    env: p.environmentVariables,
    maxAsyncRetryAttempts: p.asyncInvokeConfig?.maxAsyncRetryAttempts ?? 3,
    ...(onFailure ? { onFailureDestination: onFailure } : {}),
    ossTriggers,
    mnsTriggers,
    timerTriggers,
  };
}
