import type OSS from 'ali-oss';
import { jobIdFor } from '../../shared/jobs/plan';
import { matchRules } from '../../shared/rules/match';
import type { Rule } from '../../shared/rules/schema';
import type { CommandContext, CommandResult } from '../context';
import { OperationError, UsageError } from '../errors';
import { mapWithConcurrency, rateLimiter } from '../pool';
import { ruleNamed } from '../settings';
import type { Target } from '../target';
import { readJob } from '../../shared/wiring/read-job';

/** One ListObjectsV2 page: OSS's maximum. */
const PAGE_SIZE = 1000;

export interface BackfillReport {
  dryRun: boolean;
  /** Objects a rule matches (prefix, suffix, size). */
  matched: number;
  /** Objects handed to the submit function (0 on a dry run). */
  submitted: number;
  /** Matched objects that have a job for their current ETag under every matching rule. */
  skipped: number;
  /** What was (or, on a dry run, would be) submitted, sorted. */
  keys: string[];
  /** Objects whose invocation FC refused; a run again submits them (and nothing already done). */
  failed: { key: string; error: string }[];
}

export interface BackfillOptions {
  prefix?: string;
  rule?: string;
  dryRun: boolean;
  /** Calls at a time (HEAD-like job lookups and invocations). */
  concurrency: number;
  /** Invocations per second at most. */
  rate: number;
}

interface ListedObject {
  key: string;
  /** As OSS events carry it: upper case, no quotes (the job id is derived from it). */
  eTag: string;
  size: number;
}

/**
 * `backfill`: hands every existing object a rule matches and that has no job for its current ETag to the submit
 * function (FC InvokeFunction, async), as an OSS event, so the same code, permissions and records apply as for an
 * upload. Whether an object is done is read from the job records (one GET per object and rule), never remembered
 * here: a second run submits nothing once the first run's invocations have made their jobs.
 */
export async function backfill(ctx: CommandContext, options: BackfillOptions): Promise<CommandResult> {
  const { settings, output } = ctx;
  const rules = options.rule === undefined ? settings.rules : [ruleNamed(settings, options.rule)];
  const prefixes = listingPrefixes(rules, options.prefix);
  if (prefixes.length === 0) {
    throw new UsageError(`--prefix "${options.prefix}" lies outside every rule's prefix (${rules.map((r) => `${r.name}: "${r.prefix}"`).join(', ')}); nothing there can be processed`);
  }
  const target = await ctx.target();

  const matchedObjects: { object: ListedObject; rules: Rule[] }[] = [];
  for (const prefix of prefixes) {
    for (const object of await listObjects(target.oss, prefix)) {
      if (object.key.startsWith(settings.recordsPrefix)) continue;
      const matching = matchRules(rules, object.key).filter((rule) => withinSize(rule, object.size));
      if (matching.length > 0) matchedObjects.push({ object, rules: matching });
    }
  }

  const checking = output.progress('checking jobs', matchedObjects.length);
  const needsJob = await mapWithConcurrency(matchedObjects, options.concurrency, async ({ object, rules: matching }) => {
    const source = { bucket: target.bucket, key: object.key, eTag: object.eTag, size: object.size };
    const missing = await Promise.all(matching.map(async (rule) => (await readJob(target.store, jobIdFor(source, rule.name))) === undefined));
    checking.tick();
    return missing.some(Boolean);
  });
  checking.stop();
  const candidates = matchedObjects.filter((_, i) => needsJob[i]).map(({ object }) => object).sort((a, b) => compareKeys(a.key, b.key));

  const failed: BackfillReport['failed'] = [];
  let submittedKeys: string[] = [];
  if (!options.dryRun && candidates.length > 0) {
    const invoker = await target.invoker();
    const slot = rateLimiter(options.rate);
    const submitting = output.progress('submitting', candidates.length);
    const outcomes = await mapWithConcurrency(candidates, options.concurrency, async (object) => {
      await slot();
      try {
        await invoker.invokeAsync(settings.submitFunction, ossEvent(target, object, new Date(ctx.now)));
        return true;
      } catch (error) {
        if (!(error instanceof OperationError)) throw error;
        failed.push({ key: object.key, error: error.message });
        return false;
      } finally {
        submitting.tick();
      }
    });
    submitting.stop();
    submittedKeys = candidates.filter((_, i) => outcomes[i]).map((o) => o.key);
  }

  const report: BackfillReport = {
    dryRun: options.dryRun,
    matched: matchedObjects.length,
    submitted: submittedKeys.length,
    skipped: matchedObjects.length - candidates.length,
    keys: options.dryRun ? candidates.map((o) => o.key) : submittedKeys,
    failed: failed.sort((a, b) => compareKeys(a.key, b.key)),
  };
  return { json: report, human: render(report, prefixes, options, ctx), exitCode: failed.length > 0 ? 1 : 0 };
}

/** The prefixes to list: each rule's, narrowed to --prefix; none listed twice (one inside another is covered). */
export function listingPrefixes(rules: readonly Rule[], prefix: string | undefined): string[] {
  const wanted = rules.flatMap((rule) => {
    if (prefix === undefined || prefix.startsWith(rule.prefix)) return [prefix ?? rule.prefix];
    return rule.prefix.startsWith(prefix) ? [rule.prefix] : [];
  });
  const unique = [...new Set(wanted)].sort();
  return unique.filter((p) => !unique.some((other) => other !== p && p.startsWith(other)));
}

async function listObjects(oss: OSS, prefix: string): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  let continuationToken: string | undefined;
  do {
    const page = (await oss.listV2({ prefix, 'max-keys': String(PAGE_SIZE), ...(continuationToken ? { 'continuation-token': continuationToken } : {}) }, {})) as {
      objects?: { name: string; etag: string; size: number }[];
      nextContinuationToken?: string;
    };
    for (const o of page.objects ?? []) objects.push({ key: o.name, eTag: o.etag.replace(/"/g, '').toUpperCase(), size: Number(o.size) });
    continuationToken = page.nextContinuationToken || undefined;
  } while (continuationToken);
  return objects;
}

/** The submit function skips a source outside a rule's size range; so does backfill, or it would submit it on every run. */
function withinSize(rule: Rule, size: number): boolean {
  return (rule.minBytes === undefined || size >= rule.minBytes) && (rule.maxBytes === undefined || size <= rule.maxBytes);
}

/** The OSS trigger's payload for one object (shared/events/oss.ts reads it): the submit function cannot tell it from an upload. */
function ossEvent(target: Target, object: ListedObject, now: Date) {
  return {
    events: [
      {
        eventName: 'ObjectCreated:PutObject',
        eventSource: 'acs:oss',
        eventTime: now.toISOString(),
        region: target.region,
        oss: { bucket: { name: target.bucket }, object: { key: object.key, eTag: object.eTag, size: object.size } },
      },
    ],
  };
}

/** Code-unit order, as OSS lists keys, whatever the locale. */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The selection the user made, to repeat in a hint (without --dry-run: the hint is the run itself). */
function backfillArgs(options: BackfillOptions): string[] {
  return [...(options.prefix !== undefined ? ['--prefix', options.prefix] : []), ...(options.rule !== undefined ? ['--rule', options.rule] : [])];
}

function render(report: BackfillReport, prefixes: string[], options: BackfillOptions, ctx: CommandContext): string {
  const { colors } = ctx.output;
  const where = prefixes.map((p) => `"${p}"`).join(', ');
  const lines = [`Under ${where}: ${report.matched} object(s) a rule matches, ${report.skipped} already have their jobs.`];
  if (report.dryRun) {
    lines.push(report.keys.length > 0 ? `Would submit ${report.keys.length}:` : 'Nothing to submit.');
    lines.push(...report.keys.map((k) => `  ${k}`));
    if (report.keys.length > 0) lines.push(`Submit them: ${ctx.commandLine('backfill', ...backfillArgs(options))}`);
  } else {
    lines.push(report.submitted > 0 ? `Submitted ${report.submitted} to the submit function:` : 'Nothing submitted.');
    lines.push(...report.keys.map((k) => `  ${k}`));
    if (report.submitted > 0) lines.push(`Their jobs appear once the function has run: ${ctx.commandLine('status')}`);
  }
  if (report.failed.length > 0) {
    lines.push(colors.red(`${report.failed.length} could not be submitted; submit them again with ${ctx.commandLine('backfill', ...backfillArgs(options))}:`));
    lines.push(...report.failed.map((f) => `  ${f.key}: ${f.error}`));
  }
  return lines.join('\n');
}
