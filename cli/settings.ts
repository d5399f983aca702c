import { access } from 'node:fs/promises';
import path from 'node:path';
import { loadSpec, SpecError, type ServiceSpec } from '../deploy/spec';
import type { Pricing } from '../shared/jobs/cost';
import { DEFAULT_RECORDS_PREFIX } from '../shared/wiring/config';
import type { Rule } from '../shared/rules/schema';
import { parseRuleSet, RulesConfigError } from '../shared/rules/validate';
import { UsageError } from './errors';

/** Reconcile's default when s.yaml sets no RECONCILE_AFTER_SECONDS (shared/wiring/config.ts). */
const DEFAULT_RECONCILE_AFTER_SECONDS = 900;

/** What the command line needs of the app, read from s.yaml as `s deploy` reads it. */
export interface AppSettings {
  specFile: string;
  region: string;
  bucket: string;
  /** Where the job records live (RECORDS_BUCKET of the functions; by default the watched bucket). */
  recordsBucket: string;
  recordsPrefix: string;
  /** The function with the OSS trigger: backfill and retry hand their work to it. */
  submitFunction: string;
  rules: Rule[];
  pricing?: Pricing;
  /** A job open longer than this is stuck: reconcile should have finished it by then. */
  reconcileAfterSeconds: number;
}

export async function loadAppSettings(specFile: string): Promise<AppSettings> {
  const file = path.resolve(specFile);
  try {
    await access(file);
  } catch {
    throw new UsageError(`no s.yaml at ${file}: run in the project folder or pass -t <path to s.yaml>`);
  }
  let spec: ServiceSpec;
  try {
    spec = await loadSpec(file);
  } catch (error) {
    if (error instanceof SpecError) throw new UsageError(`${error.message}; fix ${path.basename(file)}`);
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const submit = spec.functions.find((f) => f.ossTriggers.length > 0);
  const trigger = submit?.ossTriggers[0];
  if (!submit || !trigger) throw new UsageError(`${file} has no function with an OSS trigger: the command line needs the submit function`);
  const recordsPrefix = submit.env['RECORDS_PREFIX'] ?? DEFAULT_RECORDS_PREFIX;
  let rules: Rule[];
  try {
    rules = parseRuleSet(spec.rules, { recordsPrefix }, `${path.basename(file)} vars.rules`);
  } catch (error) {
    if (error instanceof RulesConfigError) throw new UsageError(`invalid rules in ${error.source}: ${error.problems.join('; ')}; fix them (npm run build checks them)`);
    throw error;
  }
  const reconcileAfter = spec.functions.map((f) => f.env['RECONCILE_AFTER_SECONDS']).find((v) => v !== undefined);
  const reconcileAfterSeconds = reconcileAfter === undefined ? DEFAULT_RECONCILE_AFTER_SECONDS : Number(reconcileAfter);
  if (!(reconcileAfterSeconds > 0)) throw new UsageError(`${file}: RECONCILE_AFTER_SECONDS must be a positive number of seconds, not "${reconcileAfter}"`);
  return {
    specFile: file,
    region: trigger.region,
    bucket: trigger.bucket,
    recordsBucket: submit.env['RECORDS_BUCKET'] || trigger.bucket,
    recordsPrefix,
    submitFunction: submit.functionName,
    rules,
    ...(spec.pricing ? { pricing: spec.pricing } : {}),
    reconcileAfterSeconds,
  };
}

/** The configured rule of that name, or a usage error listing the ones there are. */
export function ruleNamed(settings: AppSettings, name: string): Rule {
  const rule = settings.rules.find((r) => r.name === name);
  if (!rule) throw new UsageError(`no rule named "${name}" in ${path.basename(settings.specFile)}; its rules are: ${settings.rules.map((r) => r.name).join(', ')}`);
  return rule;
}
