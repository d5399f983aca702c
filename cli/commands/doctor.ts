import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { functionRules } from '../../deploy/checks';
import { deploymentFromSpec, policyFiles } from '../../deploy/deploy-resources';
import { loadSpec, type FunctionSpec, type ServiceSpec, type StackSpec } from '../../deploy/spec';
import { outputDelivery } from '../../shared/rules/naming';
import { animationSlot, type Rule } from '../../shared/rules/schema';
import { DEFAULT_RECORDS_PREFIX } from '../../shared/wiring/config';
import type { CommandContext, CommandResult } from '../context';
import { OperationError } from '../errors';
import type { DeployedTrigger, FunctionReader } from '../fc';
import type { AttachmentReader, StackReader } from '../cloud-readers';

/** GET /?versioning of a bucket (ali-oss getBucketVersioning): the status, undefined when never enabled. */
export type VersioningReader = (bucket: string) => Promise<{ versionStatus?: string }>;

/** GET /?location of a bucket (ali-oss getBucketLocation): `oss-<region>`. */
export type LocationReader = (bucket: string) => Promise<{ location: string }>;

/** One line of the report. `note` says why a check was skipped (`skipped`: it made no call) or what is worth knowing. */
export interface DoctorCheck {
  name: string;
  ok: boolean;
  skipped?: true;
  problem?: string;
  fix?: string;
  note?: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

/** Stack states a deployment can run on (ROS stack status values, GetStack `Status`). */
const HEALTHY_STACK_STATES = ['CREATE_COMPLETE', 'UPDATE_COMPLETE'];

/** Variable names whose values are never printed: only that they are missing or differ. */
const SECRET_NAME = /SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE|(^|_)KEY($|_)|ACCESS_?KEY/i;

/**
 * Checks the deployment against s.yaml with read-only calls: the ROS stack (status, the outputs s.yaml reads), each
 * fc3 function (GetFunction: runtime, handler, timeout, memory, environment, where its logs go; ListTriggers: each
 * trigger's type and config, and deployed triggers s.yaml no longer has), the versioning of the watched and the
 * records bucket (GetBucketVersioning), and for `engine: oss` rules the bucket's IMM project (GetOSSBucketAttachment).
 */
export async function doctor(ctx: CommandContext): Promise<CommandResult> {
  const { settings } = ctx;
  const target = await ctx.target();
  const readers = await target.readers();
  const spec = await loadSpec(settings.specFile);
  const specName = path.basename(settings.specFile);
  const checks: DoctorCheck[] = [];

  for (const stack of spec.stacks) {
    if (target.local || !readers.stacks) {
      checks.push({ name: `stack ${stack.name}`, ok: true, skipped: true, note: 'no stack on the local stack' });
      continue;
    }
    checks.push(await checkStack(readers.stacks, stack, await referencedOutputs(settings.specFile, stack.resource), specName));
  }
  for (const fn of spec.functions) checks.push(...(await checkFunction(readers.functions, fn, specName, target.local)));
  // ali-oss has getBucketVersioning (lib/common/bucket/getBucketVersioning.js); @types/ali-oss does not declare it.
  const oss = target.oss as unknown as { getBucketVersioning: VersioningReader };
  const versioning: VersioningReader = (bucket) => oss.getBucketVersioning(bucket);
  checks.push(...(await checkBuckets(versioning, spec, target.local)));
  // ali-oss getBucketLocation (lib/bucket.js) answers { location: 'oss-<region>' }.
  const location: LocationReader = (bucket) => (target.oss as unknown as { getBucketLocation: LocationReader }).getBucketLocation(bucket);
  checks.push(...(await checkOutputBuckets(location, spec, settings.rules, settings.bucket, settings.region)));
  checks.push(await checkAttachment(readers.attachments, spec, settings.bucket, settings.rules.some((r) => r.engine === 'oss'), target.local));

  const report: DoctorReport = { ok: checks.every((c) => c.ok), checks };
  return { json: report, human: human(report, ctx), exitCode: report.ok ? 0 : 1 };
}

function human(report: DoctorReport, ctx: CommandContext): string {
  const { colors } = ctx.output;
  // ✓/✗ where colours are on (a terminal); plain words otherwise, so logs and pipes stay ASCII.
  const fancy = colors.isColorSupported;
  const skipped = (c: DoctorCheck) => c.skipped === true;
  const mark = (c: DoctorCheck) =>
    skipped(c) ? (fancy ? colors.dim('-') : 'skip') : c.ok ? (fancy ? colors.green('✓') : 'ok  ') : fancy ? colors.red('✗') : 'FAIL';
  const lines: string[] = [];
  for (const check of report.checks) {
    lines.push(`${mark(check)} ${check.name}${check.note ? (skipped(check) ? `: ${check.note}` : ` (${check.note})`) : ''}`);
    if (check.problem) lines.push(`    problem: ${check.problem}`);
    if (check.fix) lines.push(`    fix: ${check.fix}`);
  }
  const failed = report.checks.filter((c) => !c.ok).length;
  lines.push('', report.ok ? 'The deployment matches s.yaml.' : `${failed} problem${failed === 1 ? '' : 's'} found.`);
  return lines.join('\n');
}

/** The `${resources.<resource>.output.<Key>}` keys s.yaml reads, comments left out. */
async function referencedOutputs(specFile: string, resource: string): Promise<string[]> {
  const text = await readFile(specFile, 'utf8');
  const keys = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.trimStart().startsWith('#')) continue;
    for (const match of line.matchAll(/\$\{resources\.([A-Za-z0-9_-]+)\.output\.([A-Za-z0-9_.-]+)\}/g)) {
      if (match[1] === resource) keys.add(match[2]!);
    }
  }
  return [...keys].sort();
}

async function checkStack(reader: StackReader, stack: StackSpec, referenced: string[], specName: string): Promise<DoctorCheck> {
  const name = `stack ${stack.name}`;
  const deploy = `s ${stack.resource} deploy (in the folder of ${specName})`;
  let state;
  try {
    state = await reader.findStack(stack.name, stack.region);
  } catch (error) {
    return unreadable(name, error, 'ros:ListStacks and ros:GetStack');
  }
  if (!state) return { name, ok: false, problem: `no stack named ${stack.name} in ${stack.region}`, fix: deploy };
  const problems: string[] = [];
  let fix = deploy;
  if (!HEALTHY_STACK_STATES.includes(state.status)) {
    problems.push(`status ${state.status}${state.statusReason ? ` (${state.statusReason})` : ''}, not ${HEALTHY_STACK_STATES.join(' or ')}`);
    fix = state.status.endsWith('_IN_PROGRESS')
      ? 'wait for the stack operation to finish, then run doctor again'
      : `read the stack's events in the ROS console (stack ${state.stackId}), fix the cause, then ${deploy}`;
  }
  const missing = referenced.filter((key) => state.outputs[key] === undefined);
  if (missing.length) problems.push(`outputs ${missing.join(', ')} that ${specName} reads are missing (the stack has ${Object.keys(state.outputs).sort().join(', ') || 'none'})`);
  return problems.length ? { name, ok: false, problem: problems.join('; '), fix } : { name, ok: true };
}

async function checkFunction(reader: FunctionReader, fn: FunctionSpec, specName: string, local: boolean): Promise<DoctorCheck[]> {
  const name = `function ${fn.functionName}`;
  const deploy = `s ${fn.resource} deploy`;
  let deployed;
  try {
    deployed = await reader.getFunction(fn.functionName);
  } catch (error) {
    return [unreadable(name, error, 'fc:GetFunction')];
  }
  if (!deployed) return [{ name, ok: false, problem: `FC has no function ${fn.functionName} (resources.${fn.resource} of ${specName})`, fix: deploy }];
  const checks: DoctorCheck[] = [];

  const differences: string[] = [];
  const compare = (field: string, actual: unknown, expected: unknown) => {
    if (actual !== expected) differences.push(`${field} is ${JSON.stringify(actual ?? null)}, ${specName} says ${JSON.stringify(expected)}`);
  };
  compare('runtime', deployed.runtime, fn.runtime);
  compare('handler', deployed.handler, fn.handler);
  compare('timeout', deployed.timeout, fn.timeoutSeconds);
  compare('memorySize', deployed.memorySize, fn.memoryMB);
  checks.push(differences.length ? { name, ok: false, problem: differences.join('; '), fix: deploy } : { name, ok: true });

  checks.push(checkLogs(fn, deployed.logConfig, specName, local));

  const envProblems = environmentDifferences(deployed.environmentVariables, fn.env, specName);
  checks.push(
    envProblems.length
      ? { name: `environment of ${fn.functionName}`, ok: false, problem: envProblems.join('; '), fix: `${deploy} (it sets the environment to ${specName}'s environmentVariables)` }
      : { name: `environment of ${fn.functionName}`, ok: true },
  );

  let triggers: DeployedTrigger[];
  try {
    triggers = await reader.listTriggers(fn.functionName);
  } catch (error) {
    return [...checks, unreadable(`triggers of ${fn.functionName}`, error, 'fc:ListTriggers')];
  }
  for (const trigger of [...fn.ossTriggers.map((t) => ({ kind: 'oss' as const, t })), ...fn.mnsTriggers.map((t) => ({ kind: 'mns_topic' as const, t })), ...fn.timerTriggers.map((t) => ({ kind: 'timer' as const, t }))]) {
    const triggerName = trigger.t.name;
    const check = `trigger ${fn.functionName}/${triggerName}`;
    const found = triggers.find((d) => d.triggerName === triggerName);
    if (!found) {
      checks.push({ name: check, ok: false, problem: `FC has no trigger ${triggerName} on ${fn.functionName}`, fix: deploy });
      continue;
    }
    const problems: string[] = [];
    if (found.triggerType !== trigger.kind) problems.push(`type is ${found.triggerType}, ${specName} says ${trigger.kind}`);
    let config: Record<string, unknown> = {};
    try {
      config = JSON.parse(found.triggerConfig ?? '{}') as Record<string, unknown>;
    } catch {
      problems.push('its triggerConfig is not JSON');
    }
    const same = (field: string, actual: unknown, expected: unknown) => {
      if (JSON.stringify(actual ?? null) !== JSON.stringify(expected)) problems.push(`${field} is ${JSON.stringify(actual ?? null)}, ${specName} says ${JSON.stringify(expected)}`);
    };
    if (found.triggerType === trigger.kind) {
      if (trigger.kind === 'oss') {
        const key = ((config['filter'] as { key?: { prefix?: string; suffix?: string } } | undefined)?.key ?? {}) as { prefix?: string; suffix?: string };
        same('events', [...((config['events'] as string[] | undefined) ?? [])].sort(), [...trigger.t.events].sort());
        same('prefix', key.prefix ?? '', trigger.t.prefix);
        same('suffix', key.suffix ?? '', trigger.t.suffix);
        const [, , region, , bucket] = (found.sourceArn ?? '').split(':');
        same('bucket', bucket, trigger.t.bucket);
        same('region', region, trigger.t.region);
      } else if (trigger.kind === 'mns_topic') {
        same('topic', found.sourceArn?.slice(found.sourceArn.lastIndexOf('/') + 1), trigger.t.topic);
        same('notifyContentFormat', config['notifyContentFormat'], trigger.t.notifyContentFormat);
        same('notifyStrategy', config['notifyStrategy'], trigger.t.notifyStrategy);
      } else {
        same('cronExpression', config['cronExpression'], trigger.t.cronExpression);
        same('enable', config['enable'], trigger.t.enable);
      }
    }
    const fix =
      trigger.kind === 'mns_topic'
        ? `fc3 never updates an existing mns_topic trigger: delete ${triggerName} on ${fn.functionName} (FC console, Triggers) or rename it in ${specName}, then ${deploy}`
        : deploy;
    checks.push(problems.length ? { name: check, ok: false, problem: problems.join('; '), fix } : { name: check, ok: true });
  }
  checks.push(...staleTriggers(fn, triggers, specName));
  return checks;
}

/**
 * Deployed triggers s.yaml no longer has. Trigger names carry their bucket or topic, so a new bucket or topic makes a
 * new trigger and leaves the old one behind (FC cannot move a trigger): the old bucket still invokes the function,
 * now without the role's permission on it. `s <resource> remove --trigger <name>` removes just that trigger (fc3).
 */
function staleTriggers(fn: FunctionSpec, deployed: DeployedTrigger[], specName: string): DoctorCheck[] {
  const declared = new Set([...fn.ossTriggers, ...fn.mnsTriggers, ...fn.timerTriggers].map((t) => t.name));
  return deployed
    .filter((d) => !declared.has(d.triggerName))
    .map((d) => {
      const source = d.triggerType === 'oss' ? `bucket ${(d.sourceArn ?? '').split(':')[4] ?? '?'}` : d.triggerType === 'mns_topic' ? `topic ${d.sourceArn?.slice(d.sourceArn.lastIndexOf('/') + 1) ?? '?'}` : undefined;
      const wanted =
        d.triggerType === 'oss'
          ? fn.ossTriggers.map((t) => `bucket ${t.bucket}`)
          : d.triggerType === 'mns_topic'
            ? fn.mnsTriggers.map((t) => `topic ${t.topic}`)
            : [];
      const listens = source ? `it listens to ${source}` : `a ${d.triggerType} trigger`;
      const says = wanted.length ? `${specName} says ${wanted.join(', ')}` : `${specName} has no such trigger`;
      return {
        name: `trigger ${fn.functionName}/${d.triggerName}`,
        ok: false,
        problem: `deployed but not in ${specName}: ${listens}, ${says}; it still invokes ${fn.functionName}`,
        fix: `s ${fn.resource} remove --trigger ${d.triggerName} -y (in the folder of ${specName}; removes only that trigger)`,
      };
    });
}

/** Where the function's logs go: the log project and store s.yaml names (the stack creates them). */
function checkLogs(fn: FunctionSpec, deployed: { project?: string; logstore?: string } | undefined, specName: string, local: boolean): DoctorCheck {
  const name = `logs of ${fn.functionName}`;
  const logs = fn.logConfig;
  if (logs === undefined || logs === 'auto') {
    return {
      name,
      ok: false,
      problem: `${specName} resources.${fn.resource}.props.logConfig is ${logs === undefined ? 'missing' : "'auto'"}: with a role, fc3 sets up no service-linked role for logs, so a new account gets none`,
      fix: `set logConfig project and logstore to the stack's LogProjectName and LogStoreName outputs (as the shipped ${specName} does), then s ${fn.resource} deploy`,
    };
  }
  const target = `${logs.project}/${logs.logstore}`;
  if (local) return { name, ok: true, note: `${specName} sends them to ${target}; the local stack keeps them itself` };
  if (deployed?.project !== logs.project || deployed?.logstore !== logs.logstore) {
    const actual = deployed?.project ? `${deployed.project}/${deployed.logstore ?? ''}` : 'nowhere';
    return { name, ok: false, problem: `they go to ${actual}, ${specName} says ${target}`, fix: `s ${fn.resource} deploy` };
  }
  return { name, ok: true, note: target };
}

/**
 * Job records are written create-only (x-oss-forbid-overwrite), which OSS ignores on a bucket with versioning on
 * (Enabled or Suspended): the records bucket must never have had it. Versioning cannot be switched off again.
 */
export async function checkBuckets(read: VersioningReader, spec: ServiceSpec, local: boolean): Promise<DoctorCheck[]> {
  const watched = spec.functions.flatMap((f) => f.ossTriggers.map((t) => t.bucket))[0];
  const records = spec.functions.map((f) => f.env['RECORDS_BUCKET']).find((b) => b !== undefined && b !== '') ?? watched;
  const checks: DoctorCheck[] = [];
  for (const bucket of [...new Set([watched, records])]) {
    if (bucket === undefined) continue;
    const holdsRecords = bucket === records;
    const name = holdsRecords ? `records bucket ${bucket}: versioning off` : `bucket ${bucket}: versioning`;
    let status: string | undefined;
    try {
      status = (await read(bucket)).versionStatus;
    } catch (error) {
      const code = (error as { code?: string; status?: number }).code;
      if (local && (error as { status?: number }).status === 501) {
        checks.push({ name, ok: true, skipped: true, note: 'the local OSS does not serve GET /?versioning' });
      } else if (code === 'NoSuchBucket') {
        checks.push({
          name,
          ok: false,
          problem: `there is no bucket ${bucket}`,
          fix: holdsRecords && bucket !== watched ? `set vars.createRecordsBucket to 'true' and s deploy (the stack creates it without versioning)` : `create it, or fix vars.bucket`,
        });
      } else {
        checks.push(unreadable(name, error, 'oss:GetBucketVersioning'));
      }
      continue;
    }
    const on = status === 'Enabled' || status === 'Suspended';
    if (!on) checks.push({ name, ok: true, ...(holdsRecords ? {} : { note: 'no records here' }) });
    else if (!holdsRecords) checks.push({ name, ok: true, note: `versioning ${status}; no records here, so it does no harm` });
    else {
      checks.push({
        name,
        ok: false,
        problem: `versioning is ${status}: OSS ignores create-only writes (x-oss-forbid-overwrite) on it, so two writers of one job record would both win; the functions refuse it`,
        fix: `versioning cannot be turned off: put the records in a bucket that never had it (vars.recordsBucket <new bucket>, vars.createRecordsBucket 'true'), then s deploy`,
      });
    }
  }
  return checks;
}

/** Each bucket the rules write outputs to, other than the watched one, with the fields that name it. */
function outputBuckets(rules: readonly Rule[], watched: string): Map<string, { fields: string[] }> {
  const buckets = new Map<string, { fields: string[] }>();
  const add = (bucket: string, field: string) => {
    if (bucket === watched) return;
    const entry = buckets.get(bucket) ?? { fields: [] };
    if (!entry.fields.includes(field)) entry.fields.push(field);
    buckets.set(bucket, entry);
  };
  for (const rule of rules) {
    const named = (output: { bucket?: string | undefined }, slot: number) =>
      output.bucket !== undefined ? `rule "${rule.name}" outputs[${slot}].bucket` : `rule "${rule.name}" bucket`;
    rule.outputs.forEach((output, i) => add(outputDelivery(rule, output, watched).bucket, named(output, animationSlot(rule, i))));
    // Posters and storyboards take no bucket of their own: the rule's.
    for (const preview of rule.previews) add(outputDelivery(rule, {}, watched).bucket, named({}, preview.slot));
  }
  return buckets;
}

/**
 * The buckets outputs go to, besides the watched one: each exists and lies in the watched bucket's region (IMM
 * writes only there, and refuses the task otherwise), and the policies `npm run build` wrote beside s.yaml
 * (policies/*.json, the same statements as the stack's roles) grant the record and reconcile roles, the IMM service
 * role and (with deleteWithSource) the submit role what they need in it.
 */
export async function checkOutputBuckets(read: LocationReader, spec: ServiceSpec, rules: readonly Rule[], watched: string, region: string): Promise<DoctorCheck[]> {
  const buckets = outputBuckets(rules, watched);
  if (buckets.size === 0) return [];
  const specName = path.basename(spec.file);
  const checks: DoctorCheck[] = [];
  for (const [bucket, { fields }] of buckets) {
    const name = `output bucket ${bucket}`;
    const namedBy = fields.join(', ');
    let location: string;
    try {
      location = (await read(bucket)).location;
    } catch (error) {
      if ((error as { code?: string }).code === 'NoSuchBucket') {
        checks.push({ name, ok: false, problem: `there is no bucket ${bucket} (${namedBy} in ${specName})`, fix: `create ${bucket} in ${region} (the region of ${watched}), or name an existing bucket there in ${namedBy}` });
      } else {
        checks.push(unreadable(name, error, 'oss:GetBucketLocation'));
      }
      continue;
    }
    const bucketRegion = location.replace(/^oss-/, '');
    if (bucketRegion !== region) {
      checks.push({
        name,
        ok: false,
        problem: `${bucket} is in ${bucketRegion}, the watched bucket ${watched} in ${region}: IMM writes outputs only to buckets in its own region, so every task of ${namedBy} fails`,
        fix: `name a bucket in ${region} in ${namedBy} (${specName}), then s deploy`,
      });
    } else {
      checks.push({ name, ok: true, note: `${region}; ${namedBy}` });
    }
  }
  checks.push(...(await checkOutputPolicies(spec, buckets)));
  return checks;
}

/** A RAM policy document as policies/*.json holds it. */
interface PolicyDocument {
  /** Trust policies have a Principal instead of Resource. */
  Statement: { Effect: string; Action?: string[]; Resource?: string[] }[];
}

const ramPattern = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);

/** What each role needs on the output buckets (the policies the build generates for this s.yaml), against the files beside it. */
async function checkOutputPolicies(spec: ServiceSpec, buckets: Map<string, { fields: string[] }>): Promise<DoctorCheck[]> {
  const specName = path.basename(spec.file);
  const submit = spec.functions.find((f) => f.resource === 'submit');
  if (!submit || spec.stacks.length === 0) {
    return [...buckets.keys()].map((bucket) => ({ name: `policies for output bucket ${bucket}`, ok: true, skipped: true as const, note: `${specName} has no stack: no policies are generated` }));
  }
  let expected: Record<string, unknown>;
  try {
    expected = policyFiles(deploymentFromSpec(spec, functionRules(spec, submit), submit.env['RECORDS_PREFIX'] ?? DEFAULT_RECORDS_PREFIX));
  } catch (error) {
    return [{ name: 'policies for the output buckets', ok: false, problem: (error as Error).message, fix: `fix ${specName}; npm run build says the same` }];
  }
  const dir = path.join(path.dirname(spec.file), 'policies');
  const checks: DoctorCheck[] = [];
  for (const bucket of buckets.keys()) {
    const missing: string[] = [];
    for (const [file, document] of Object.entries(expected)) {
      const needs = ((document as PolicyDocument).Statement ?? []).flatMap((s) =>
        (s.Resource ?? []).filter((r) => r.startsWith(`acs:oss:*:*:${bucket}/`)).flatMap((r) => (s.Action ?? []).map((action) => ({ action, object: r.replace(/\*$/, 'x') }))),
      );
      if (needs.length === 0) continue;
      let onDisk: PolicyDocument | undefined;
      try {
        onDisk = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as PolicyDocument;
      } catch {
        onDisk = undefined;
      }
      const allowed = (need: { action: string; object: string }) =>
        (onDisk?.Statement ?? []).some((s) => s.Effect === 'Allow' && (s.Action ?? []).some((a) => ramPattern(a).test(need.action)) && (s.Resource ?? []).some((r) => ramPattern(r).test(need.object)));
      const denied = needs.filter((need) => !allowed(need));
      if (denied.length > 0) missing.push(`policies/${file} ${onDisk ? `does not allow ${[...new Set(denied.map((d) => `${d.action} on ${d.object.replace(/x$/, '*')}`))].join(', ')}` : 'is missing or not JSON'}`);
    }
    checks.push(
      missing.length
        ? {
            name: `policies for output bucket ${bucket}`,
            ok: false,
            problem: `${missing.join('; ')}: the roles were generated for other rules`,
            fix: `npm run build (it writes policies/ and the stack's roles from ${specName}), then s deploy; roles managed by hand: give them what policies/ then says`,
          }
        : { name: `policies for output bucket ${bucket}`, ok: true },
    );
  }
  return checks;
}

/** Missing, different and extra variables, values only for names that do not look secret. */
function environmentDifferences(deployed: Record<string, string>, expected: Record<string, string>, specName: string): string[] {
  const problems: string[] = [];
  const shown = (name: string, value: string) => (SECRET_NAME.test(name) ? '(value hidden)' : JSON.stringify(value));
  for (const [name, value] of Object.entries(expected)) {
    if (!(name in deployed)) problems.push(`${name} is missing (${specName}: ${shown(name, value)})`);
    else if (deployed[name] !== value) problems.push(`${name} is ${shown(name, deployed[name]!)}, ${specName} says ${shown(name, value)}`);
  }
  const extra = Object.keys(deployed).filter((name) => !(name in expected));
  if (extra.length) problems.push(`${extra.join(', ')} ${extra.length === 1 ? 'is' : 'are'} set but not in ${specName}`);
  return problems;
}

async function checkAttachment(reader: AttachmentReader, spec: ServiceSpec, bucket: string, needed: boolean, local: boolean): Promise<DoctorCheck> {
  const project = spec.functions.map((f) => f.env['IMM_PROJECT']).find((p) => p !== undefined) ?? '';
  const name = `bucket ${bucket} attached to IMM project ${project}`;
  if (!needed) return { name, ok: true, skipped: true, note: 'no rule has engine: oss, so none is needed' };
  const attach = `attach it once: OSS console, bucket ${bucket}, Data Processing, Intelligent Media Management, project ${project}; or IMM AttachOSSBucket (ProjectName=${project}, OSSBucket=${bucket}, same region)`;
  let attachment;
  try {
    attachment = await reader.attachment(bucket);
  } catch (error) {
    return { ...unreadable(name, error, 'imm:GetOSSBucketAttachment'), fix: `give the key imm:GetOSSBucketAttachment, or check by hand; if it is not attached, ${attach}` };
  }
  if (!attachment) return { name, ok: false, problem: `${bucket} has no IMM project attached: engine: oss jobs fail`, fix: attach };
  if (attachment.project !== undefined && attachment.project !== project) {
    return {
      name,
      ok: false,
      problem: `${bucket} is attached to IMM project ${attachment.project}, the functions' IMM_PROJECT is ${project}`,
      fix: `detach it (IMM DetachOSSBucket) and ${attach}; or set vars.immProject to ${attachment.project} with createImmProject 'false' and s deploy`,
    };
  }
  return local ? { name, ok: true, note: 'the local stack attaches all its buckets' } : { name, ok: true };
}

/** A call that failed (access denied, network): the check cannot say, which is a problem too. */
function unreadable(name: string, error: unknown, actions: string): DoctorCheck {
  const message = error instanceof OperationError ? error.message : (error as Error).message ?? String(error);
  return { name, ok: false, problem: `could not read it: ${message}`, fix: `check the network and the region, and that the key may call ${actions} (read-only)` };
}
