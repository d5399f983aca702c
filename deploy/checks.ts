/** The checks s.yaml must pass before anything is built or deployed: the rules, and what must agree across resources. */
import { isDeepStrictEqual } from 'node:util';
import { DEFAULT_RECORDS_PREFIX } from '../shared/wiring/config';
import { engineRuleProblems } from '../shared/engines/limits';
import type { Rule } from '../shared/rules/schema';
import { parseRuleSet } from '../shared/rules/validate';
import { deploymentFromSpec, destinationTopic } from './deploy-resources';
import { createdNames, NAME_RULES, nameProblems, triggerNameProblems } from './names';
import { SpecError, type FunctionSpec, type ServiceSpec } from './spec';

/** Validates the rules in s.yaml against the schema and the submit function's OSS triggers; throws RulesConfigError. */
export function validateSpecRules(spec: ServiceSpec): Rule[] {
  const submit = spec.functions.find((f) => f.resource === 'submit');
  if (!submit) throw new SpecError('s.yaml has no fc3 resource named "submit"');
  if (submit.ossTriggers.length === 0) throw new SpecError('s.yaml resources.submit has no OSS trigger: no upload would ever be processed');
  const context = { recordsPrefix: submit.env['RECORDS_PREFIX'] ?? DEFAULT_RECORDS_PREFIX, triggers: submit.ossTriggers, engineProblems: engineRuleProblems };
  const rules = parseRuleSet(spec.rules, context, 's.yaml vars.rules');
  const framed = rules.filter((rule) => rule.outputs.some((o) => o.frames !== undefined));
  if (framed.length > 0 && !submit.env['IMM_PROJECT']) {
    throw new SpecError(
      `rules ${framed.map((r) => `"${r.name}"`).join(', ')} use frames: the submit function learns each video's duration with IMM DetectMediaMeta, ` +
        'so resources.submit.props.environmentVariables.IMM_PROJECT must name the IMM project (with engine oss: the project attached to the bucket)',
    );
  }
  return rules;
}

const rulesContext = (spec: ServiceSpec, fn: FunctionSpec) => ({
  recordsPrefix: fn.env['RECORDS_PREFIX'] ?? DEFAULT_RECORDS_PREFIX,
  triggers: spec.functions.find((f) => f.resource === 'submit')?.ossTriggers ?? fn.ossTriggers,
  engineProblems: engineRuleProblems,
});

/**
 * The rules each function runs: `RULES` from its environment (validated like vars.rules, naming the resource and
 * field) or else the embedded vars.rules. Throws RulesConfigError / SpecError.
 */
export function functionRules(spec: ServiceSpec, fn: FunctionSpec): Rule[] {
  const where = `s.yaml resources.${fn.resource}.props.environmentVariables.RULES`;
  const text = fn.env['RULES'];
  if (text === undefined) return parseRuleSet(spec.rules, rulesContext(spec, fn), 's.yaml vars.rules');
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new SpecError(`${where} is not JSON (${(error as Error).message}): write the rules as one JSON array, in the form of vars.rules`);
  }
  return parseRuleSet(input, rulesContext(spec, fn), where);
}

/**
 * What must agree across resources for a deployment to work at all, checked before anything is bundled: every
 * function runs the same rules and records prefix, uses one IMM project, and sends IMM's notices (MNS_TOPIC) to the
 * topic the record function's mns_topic trigger listens to; reconcile's BUCKET is the bucket the OSS trigger watches.
 */
export function checkSpecConsistency(spec: ServiceSpec): void {
  const problems: string[] = [];
  const env = (fn: FunctionSpec, name: string) => `resources.${fn.resource}.props.environmentVariables.${name}`;

  const ruleSets = spec.functions.map((fn) => ({ fn, rules: functionRules(spec, fn) }));
  const [first, ...others] = ruleSets;
  for (const other of others) {
    if (first && !isDeepStrictEqual(first.rules, other.rules)) {
      const source = (fn: FunctionSpec) => (fn.env['RULES'] !== undefined ? env(fn, 'RULES') : 'vars.rules (embedded)');
      problems.push(
        `resources.${other.fn.resource} runs other rules (${source(other.fn)}) than resources.${first.fn.resource} (${source(first.fn)}): every function must run the same rules (submit starts their tasks, record and reconcile retry and record them)`,
      );
    }
  }

  const same = (name: string, why: string) => {
    const set = spec.functions.filter((fn) => fn.env[name] !== undefined);
    const values = [...new Set(set.map((fn) => fn.env[name]))];
    if (values.length > 1) problems.push(`${set.map((fn) => `${env(fn, name)} = "${fn.env[name]}"`).join(', ')}: ${why}`);
  };
  same('RECORDS_PREFIX', 'every function must read and write the same job records');
  same('RECORDS_BUCKET', 'every function must read and write the same job records');
  same('IMM_PROJECT', 'tasks started in one project cannot be found or asked about in another');

  const listened = spec.functions.flatMap((fn) => fn.mnsTriggers.map((t) => ({ fn, topic: t.topic })));
  for (const fn of spec.functions) {
    const topic = fn.env['MNS_TOPIC'];
    if (topic === undefined) continue;
    if (listened.length === 0) {
      problems.push(`${env(fn, 'MNS_TOPIC')} = "${topic}" but no function has an mns_topic trigger: IMM's completion notices would reach nothing and every job would wait for reconcile`);
    } else if (!listened.some((l) => l.topic === topic)) {
      problems.push(
        `${env(fn, 'MNS_TOPIC')} = "${topic}" but ${listened.map((l) => `resources.${l.fn.resource}'s mns_topic trigger listens to "${l.topic}"`).join(', ')}: IMM would publish every completion notice where nothing listens, and every job would stay open`,
      );
    }
    const failure = destinationTopic(fn);
    if (failure !== undefined && failure === topic) {
      problems.push(`resources.${fn.resource}: the onFailure destination topic is MNS_TOPIC ("${topic}"): failed events would arrive at the record function as notices`);
    }
  }

  const watched = [...new Set(spec.functions.flatMap((fn) => fn.ossTriggers.map((t) => t.bucket)))];
  for (const fn of spec.functions) {
    const bucket = fn.env['BUCKET'];
    if (bucket !== undefined && watched.length > 0 && !watched.includes(bucket)) {
      problems.push(`${env(fn, 'BUCKET')} = "${bucket}" but the OSS trigger watches ${watched.map((b) => `"${b}"`).join(', ')}: reconcile would look after another bucket's jobs`);
    }
  }
  for (const fn of spec.functions) {
    // An attempt owns its job for the lease; a lease shorter than the invocation lets a duplicate take over a job
    // whose attempt is still running, and both could start a task.
    const lease = fn.env['JOB_LEASE_SECONDS'];
    if (lease !== undefined && lease !== '' && Number(lease) < fn.timeoutSeconds) {
      problems.push(`${env(fn, 'JOB_LEASE_SECONDS')} = ${lease} is shorter than resources.${fn.resource}.props.timeout (${fn.timeoutSeconds} s): an attempt would lose its job while it still runs; set it to at least ${fn.timeoutSeconds} or leave it unset (the timeout)`);
    }
  }
  const stack = spec.stacks[0];
  if (stack) problems.push(...stackProblems(spec, watched));
  problems.push(...triggerNameProblems(spec));
  problems.push(...topicNameProblems(spec));
  if (problems.length > 0) throw new SpecError(`s.yaml is inconsistent:\n  - ${problems.join('\n  - ')}`);
  if (stack) {
    const names = nameProblems(createdNames(spec, deploymentFromSpec(spec, undefined, spec.functions[0]?.env['RECORDS_PREFIX'] ?? DEFAULT_RECORDS_PREFIX)));
    if (names.length > 0) throw new SpecError(`s.yaml makes names its services refuse:\n  - ${names.join('\n  - ')}`);
  }
}

/**
 * Topics named in the functions themselves (their environment, mns_topic triggers, onFailure destination) that MNS
 * would refuse. The stack's own topics are checked with its parameters; these matter where no stack names them (roles
 * and topics managed by hand, `${resources.stack.output...}` replaced by names).
 */
function topicNameProblems(spec: ServiceSpec): string[] {
  const rule = NAME_RULES.mnsTopic;
  const problems: string[] = [];
  const check = (topic: string | undefined, field: string) => {
    if (topic === undefined || topic === '') return;
    if (topic.length > rule.max || !rule.pattern.test(topic)) {
      problems.push(`${field} = "${topic}" is not a topic name MNS accepts: up to ${rule.max} ${rule.charset} (name the topic the stack or you created)`);
    }
  };
  for (const fn of spec.functions) {
    const props = `resources.${fn.resource}.props`;
    check(fn.env['MNS_TOPIC'], `${props}.environmentVariables.MNS_TOPIC`);
    check(fn.env['EVENTS_TOPIC'], `${props}.environmentVariables.EVENTS_TOPIC`);
    check(destinationTopic(fn), `${props}.asyncInvokeConfig.destinationConfig.onFailure.destination`);
    fn.mnsTriggers.forEach((t) => check(t.topic, `${props}.triggers (${t.name}).sourceArn`));
  }
  return problems;
}

/** What must agree between the functions and the stack: the records bucket, the events topic, the log project. */
function stackProblems(spec: ServiceSpec, watched: string[]): string[] {
  const stack = spec.stacks[0]!;
  const problems: string[] = [];
  const env = (fn: FunctionSpec, name: string) => `resources.${fn.resource}.props.environmentVariables.${name}`;
  const records = stack.parameters['RecordsBucket'];
  for (const fn of spec.functions) {
    const bucket = fn.env['RECORDS_BUCKET'] ?? watched[0];
    if (records !== undefined && bucket !== records) {
      problems.push(`${env(fn, 'RECORDS_BUCKET')} = "${bucket ?? ''}" but the stack's RecordsBucket (vars.recordsBucket) is "${records}": the roles grant the records there`);
    }
    const events = fn.env['EVENTS_TOPIC'];
    const topic = stack.outputs['EventsTopicName'];
    if (events !== undefined && events !== '' && topic !== undefined && events !== topic) {
      problems.push(`${env(fn, 'EVENTS_TOPIC')} = "${events}" but the stack's events topic is "${topic || '(none: vars.events is off)'}": use \${resources.${stack.resource}.output.EventsTopicName}`);
    }
    const logs = fn.logConfig;
    const project = stack.outputs['LogProjectName'];
    const logstore = stack.outputs['LogStoreName'];
    if (logs === undefined || logs === 'auto') {
      problems.push(
        `resources.${fn.resource}.props.logConfig is ${logs === undefined ? 'missing' : "'auto'"}: set project \${resources.${stack.resource}.output.LogProjectName} and logstore \${resources.${stack.resource}.output.LogStoreName} (with a role, fc3's auto never sets up the service-linked role logs need)`,
      );
    } else if (logs.project !== project || logs.logstore !== logstore) {
      problems.push(`resources.${fn.resource}.props.logConfig writes to ${logs.project}/${logs.logstore}, but the stack creates ${project}/${logstore}: use its LogProjectName and LogStoreName outputs`);
    }
  }
  return problems;
}
