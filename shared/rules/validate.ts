import { ConfigError } from '../platform/errors';
import type * as z from '../platform/zod';
import { prefixesOverlap } from './match';
import { parseTemplate, templateStaticPrefix } from './naming';
import { animationSlot, RulesSchema, type Rule } from './schema';
import { previewKeyTemplates } from './preview-keys';

/** The parts of an s.yaml OSS trigger that decide which uploads reach the submit function. */
export interface OssTriggerFilter {
  name: string;
  events: string[];
  prefix: string;
  suffix: string;
  /** The bucket whose uploads it delivers (s.yaml's sourceArn); outputs in another bucket cannot start a task. */
  bucket?: string;
}

export interface RuleSetContext {
  /** Where job records are written; no rule may watch it. */
  recordsPrefix: string;
  /** The submit function's OSS triggers; known at build time, not at run time. */
  triggers?: OssTriggerFilter[];
  /** What the rule's engine cannot express (engines own their limits; see engines/limits.ts). */
  engineProblems?: (rule: Rule) => string[];
}

/** Every problem found in a rule set, each naming the rule and field. */
export class RulesConfigError extends ConfigError {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid rules in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'RulesConfigError';
  }
}

/** The removals a rule with deleteWithSource needs from its trigger: single deletes and DeleteMultipleObjects. */
export const REMOVAL_TRIGGER_EVENTS = ['oss:ObjectRemoved:DeleteObject', 'oss:ObjectRemoved:DeleteObjects'] as const;

export const REQUIRED_TRIGGER_EVENTS = [
  'oss:ObjectCreated:PutObject',
  'oss:ObjectCreated:PostObject',
  'oss:ObjectCreated:CompleteMultipartUpload',
] as const;

/** Parses and cross-checks a rule set; throws RulesConfigError listing every problem. */
export function parseRuleSet(input: unknown, context: RuleSetContext, source = 'rules'): Rule[] {
  const parsed = RulesSchema.safeParse(input);
  if (!parsed.success) throw new RulesConfigError(source, parsed.error.issues.map((issue) => describeIssue(issue, input)));
  const problems = crossCheck(parsed.data, context);
  if (problems.length > 0) throw new RulesConfigError(source, problems);
  return parsed.data;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const [index, ...rest] = issue.path;
  const raw = Array.isArray(input) && typeof index === 'number' ? (input[index] as { name?: unknown } | undefined) : undefined;
  const where =
    typeof index !== 'number'
      ? 'rules'
      : typeof raw?.name === 'string'
        ? `rule "${raw.name}"`
        : `rule #${index + 1}`;
  const field = rest.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
  const message =
    issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
  return field ? `${where} ${field}: ${message}` : `${where}: ${message}`;
}

function crossCheck(rules: Rule[], context: RuleSetContext): string[] {
  const problems: string[] = [];
  const seenNames = new Set<string>();
  const outputOwners = new Map<string, string>();
  // Outputs land among the uploads (and may start tasks) in the source bucket, or in a bucket that is also a trigger's.
  const sourceBuckets = context.triggers?.flatMap((t) => (t.bucket ? [t.bucket] : [])) ?? [];

  if (context.recordsPrefix === '') problems.push('RECORDS_PREFIX must not be empty: records would sit among the videos');

  for (const rule of rules) {
    const where = `rule "${rule.name}"`;
    if (seenNames.has(rule.name)) problems.push(`${where} name: duplicate rule name`);
    seenNames.add(rule.name);

    if (prefixesOverlap(context.recordsPrefix, rule.prefix) && rule.suffixes.includes('json')) {
      problems.push(`${where} suffixes: with prefix "${rule.prefix}", "json" would match job records under "${context.recordsPrefix}" (recursion)`);
    }

    if (context.engineProblems) problems.push(...context.engineProblems(rule));

    rule.outputs.forEach((output, index) => {
      const i = animationSlot(rule, index);
      if (output.frames !== undefined && output.interval !== undefined) {
        problems.push(
          `${where} outputs[${i}].frames and outputs[${i}].interval: set one, not both (frames spreads that many frames over the window; interval samples every so many seconds)`,
        );
      }
      const field = `${where} outputs[${i}].key`;
      let normalized: string;
      try {
        parseTemplate(output.key);
        normalized = normalizeTemplate(output.key, rule.name) + `.${output.format}`;
      } catch (error) {
        problems.push(`${field}: ${(error as Error).message}`);
        return;
      }
      if (/\.(gif|webp)$/i.test(output.key)) problems.push(`${field}: leave out the extension; ".${output.format}" is added from format`);
      if (output.key.startsWith('/') || output.key.endsWith('/')) problems.push(`${field}: must not start or end with "/"`);

      const bucket = output.bucket ?? rule.bucket;
      const ownerKey = `${bucket ?? ''}/${normalized}`;
      const owner = outputOwners.get(ownerKey);
      if (owner) problems.push(`${field}: resolves to the same key as ${owner} ("${normalized}")`);
      else outputOwners.set(ownerKey, `rule "${rule.name}" outputs[${i}]`);
      // An output in a bucket no trigger watches neither sits among the records nor starts another task.
      if (bucket !== undefined && !sourceBuckets.includes(bucket)) return;

      const outputPrefix = templateStaticPrefix(output.key, rule.prefix);
      if (outputPrefix.startsWith(context.recordsPrefix)) {
        problems.push(`${field}: outputs would land under the records prefix "${context.recordsPrefix}"`);
      }
      for (const other of rules) {
        if (prefixesOverlap(outputPrefix, other.prefix) && other.suffixes.includes(output.format)) {
          problems.push(`${field}: a ${output.format} written under "${outputPrefix}" would match rule "${other.name}" and start another task (recursion)`);
        }
      }
    });

    for (const preview of rule.previews) {
      const field = `${where} outputs[${preview.slot}].key`;
      try {
        parseTemplate(preview.key);
      } catch (error) {
        problems.push(`${field}: ${(error as Error).message}`);
        continue;
      }
      if (/\.(jpe?g|png|vtt)$/i.test(preview.key)) problems.push(`${field}: leave out the extension; it is added from format (and ".vtt" for the cues)`);
      if (preview.key.startsWith('/') || preview.key.endsWith('/')) problems.push(`${field}: must not start or end with "/"`);
      for (const { template, extension } of previewKeyTemplates(preview)) {
        const normalized = normalizeTemplate(template, rule.name) + `.${extension}`;
        const owner = outputOwners.get(normalized);
        if (owner) problems.push(`${field}: resolves to the same key as ${owner} ("${normalized}")`);
        else outputOwners.set(normalized, `rule "${rule.name}" outputs[${preview.slot}]`);
        const outputPrefix = templateStaticPrefix(template, rule.prefix);
        if (outputPrefix.startsWith(context.recordsPrefix)) problems.push(`${field}: outputs would land under the records prefix "${context.recordsPrefix}"`);
        for (const other of rules) {
          if (prefixesOverlap(outputPrefix, other.prefix) && other.suffixes.includes(extension)) {
            problems.push(`${field}: a ${extension} written under "${outputPrefix}" would match rule "${other.name}" and start another task (recursion)`);
          }
        }
      }
    }

    if (context.triggers) problems.push(...checkTriggerCoverage(rule, context.triggers));
    if (context.triggers && rule.deleteWithSource) problems.push(...checkRemovalCoverage(rule, context.triggers));
  }

  if (context.triggers) {
    for (const trigger of context.triggers) {
      // A trigger that only delivers removals (for deleteWithSource) is not an upload trigger.
      if (trigger.events.every((e) => e.startsWith('oss:ObjectRemoved:'))) continue;
      const missing = trigger.events.includes('oss:ObjectCreated:*') ? [] : REQUIRED_TRIGGER_EVENTS.filter((e) => !trigger.events.includes(e));
      if (missing.length > 0) {
        problems.push(`OSS trigger "${trigger.name}" events: missing ${missing.join(', ')}; uploads made that way would never be processed`);
      }
    }
  }
  return problems;
}

function checkTriggerCoverage(rule: Rule, triggers: OssTriggerFilter[]): string[] {
  const covering = triggers.filter((t) => rule.prefix.startsWith(t.prefix));
  if (covering.length === 0) {
    const under = triggers[0] ? ` or move the rule under "${triggers[0].prefix}"` : '';
    return [
      `rule "${rule.name}" prefix: "${rule.prefix}" is under no OSS trigger prefix (${triggers.map((t) => `"${t.prefix}"`).join(', ') || 'none'}); the rule would never fire: ` +
        `set vars.watchPrefix in s.yaml (the trigger's filter.key.prefix) to a start of "${rule.prefix}" ("" watches every key)${under}`,
    ];
  }
  // OSS compares the suffix filter case-sensitively against the raw key.
  const uncovered = rule.suffixes.filter((s) => !covering.some((t) => t.suffix === '' || `.${s}`.endsWith(t.suffix)));
  if (uncovered.length > 0) {
    return [`rule "${rule.name}" suffixes: ${uncovered.join(', ')} pass no OSS trigger suffix filter; such uploads would never fire`];
  }
  return [];
}

function checkRemovalCoverage(rule: Rule, triggers: OssTriggerFilter[]): string[] {
  const delivers = (trigger: OssTriggerFilter, event: string, suffix: string) =>
    rule.prefix.startsWith(trigger.prefix) &&
    (trigger.suffix === '' || `.${suffix}`.endsWith(trigger.suffix)) &&
    (trigger.events.includes(event) || trigger.events.includes('oss:ObjectRemoved:*'));
  const missing = REMOVAL_TRIGGER_EVENTS.filter((event) => !rule.suffixes.every((suffix) => triggers.some((t) => delivers(t, event, suffix))));
  if (missing.length === 0) return [];
  return [
    `rule "${rule.name}" deleteWithSource: no OSS trigger over "${rule.prefix}" delivers ${missing.join(', ')} for every suffix of the rule; ` +
      "add them to the trigger's events, or the outputs would outlive their source",
  ];
}

/**
 * Rules that pass but may surprise: an output template that drops the source's extension while the rule takes
 * several, so `clip.avi` and `clip.webm` resolve to one output key (the second job then fails: the key is owned).
 */
export function ruleSetWarnings(rules: readonly Rule[]): string[] {
  return rules.flatMap((rule) =>
    rule.outputs.flatMap((output, i) => {
      if (rule.suffixes.length < 2 || /\{(basename|ext)\}/.test(output.key.replaceAll('{{', '').replaceAll('}}', ''))) return [];
      return [
        `rule "${rule.name}" outputs[${animationSlot(rule, i)}].key: "${output.key}" has neither {basename} nor {ext}, so sources differing only in extension ` +
          `(clip.${rule.suffixes[0]}, clip.${rule.suffixes[1]}) share one output; the first claims it and the other fails. ` +
          `Keep the extension, e.g. "${output.key.replace('{barename}', '{basename}')}".`,
      ];
    }),
  );
}

/** A template's canonical form for collision checks: {rule} filled in and {barename}.{ext} written as {basename}. */
function normalizeTemplate(template: string, rule: string): string {
  return template.replaceAll('{rule}', rule).replaceAll('{barename}.{ext}', '{basename}').replace(/\/+/g, '/');
}
