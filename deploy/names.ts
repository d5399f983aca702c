/**
 * Every name a deployment creates, with the limit its service puts on it, and the checks the build runs on them:
 * each fits its service's limit, no two collide where they share a namespace, and each trigger's name carries its
 * source (fc3 never updates an mns_topic trigger and FC's UpdateTrigger cannot change a sourceArn, so a trigger
 * whose bucket or topic changes must get a new name).
 *
 * Limits (checked 2026-12): FC function names 1-64 and trigger names 1-128, letters, digits, "_" and "-", not starting
 * with a digit or "-" (ROS ALIYUN::FC3::Function, ALIYUN::FC3::Trigger; FC CreateTrigger). RAM role names 1-64
 * (letters, digits, ".", "-"), policy names 1-128 (letters, digits, "-") (RAM CreateRole, CreatePolicy). MNS topic
 * and queue names at most 120 (Simple Message Queue "Limits"); subscription names at most 256 (ROS
 * ALIYUN::MNS::Subscription). ROS stack names at most 255, letters, digits, "_" and "-", starting with a letter or
 * digit (ROS CreateStack). IMM project names 1-128. SLS project names 3-63 (lowercase letters, digits, "-"; unique
 * in a region across all accounts), Logstore names 3-36 (ROS ALIYUN::SLS::Project, ALIYUN::SLS::Logstore). OSS
 * bucket names 3-63 (lowercase letters, digits, "-").
 */
import { createdResources, evaluateExpression } from './ros-template';
import { stackTemplate, type Deployment } from './deploy-resources';
import type { ServiceSpec } from './spec';

export interface NameRule {
  /** What the name is, for messages: "RAM role name". */
  kind: string;
  min: number;
  max: number;
  pattern: RegExp;
  /** The characters allowed, in words. */
  charset: string;
  /** Names in one namespace must differ: 'account', 'region', 'global' or per parent (set on the name). */
  namespace: 'account' | 'region' | 'global' | 'parent';
}

export const NAME_RULES = {
  fcFunction: { kind: 'FC function name', min: 1, max: 64, pattern: /^[A-Za-z_][A-Za-z0-9_-]*$/, charset: 'letters, digits, "_" and "-", not starting with a digit or "-"', namespace: 'region' },
  fcTrigger: { kind: 'FC trigger name', min: 1, max: 128, pattern: /^[A-Za-z_][A-Za-z0-9_-]*$/, charset: 'letters, digits, "_" and "-", not starting with a digit or "-"', namespace: 'parent' },
  ramRole: { kind: 'RAM role name', min: 1, max: 64, pattern: /^[A-Za-z0-9.-]+$/, charset: 'letters, digits, "." and "-"', namespace: 'account' },
  ramPolicy: { kind: 'RAM policy name', min: 1, max: 128, pattern: /^[A-Za-z0-9-]+$/, charset: 'letters, digits and "-"', namespace: 'account' },
  mnsTopic: { kind: 'MNS topic name', min: 1, max: 120, pattern: /^[A-Za-z][A-Za-z0-9-]*$/, charset: 'letters, digits and "-", starting with a letter', namespace: 'region' },
  mnsQueue: { kind: 'MNS queue name', min: 1, max: 120, pattern: /^[A-Za-z0-9][A-Za-z0-9-]*$/, charset: 'letters, digits and "-"', namespace: 'region' },
  mnsSubscription: { kind: 'MNS subscription name', min: 1, max: 256, pattern: /^[A-Za-z][A-Za-z0-9-]*$/, charset: 'letters, digits and "-", starting with a letter', namespace: 'parent' },
  rosStack: { kind: 'ROS stack name', min: 1, max: 255, pattern: /^[A-Za-z0-9][A-Za-z0-9_-]*$/, charset: 'letters, digits, "_" and "-", starting with a letter or digit', namespace: 'region' },
  immProject: { kind: 'IMM project name', min: 1, max: 128, pattern: /^[A-Za-z_][A-Za-z0-9_-]*$/, charset: 'letters, digits, "_" and "-", starting with a letter or "_"', namespace: 'region' },
  slsProject: { kind: 'SLS project name', min: 3, max: 63, pattern: /^[a-z0-9][a-z0-9-]*[a-z0-9]$/, charset: 'lowercase letters, digits and "-"', namespace: 'global' },
  slsLogstore: { kind: 'SLS Logstore name', min: 3, max: 36, pattern: /^[a-z0-9][a-z0-9_-]*[a-z0-9]$/, charset: 'lowercase letters, digits, "_" and "-"', namespace: 'parent' },
  ossBucket: { kind: 'OSS bucket name', min: 3, max: 63, pattern: /^[a-z0-9][a-z0-9-]*[a-z0-9]$/, charset: 'lowercase letters, digits and "-"', namespace: 'global' },
} satisfies Record<string, NameRule>;

export interface CreatedName {
  rule: NameRule;
  name: string;
  /** Where the name comes from in s.yaml (the field or the vars it is made of). */
  field: string;
  /** The parent for rules with namespace 'parent' (the function of a trigger, the topic of a subscription). */
  parent?: string;
}

/** Alibaba Cloud account ids have 16 digits: names that carry one are measured with one that long. */
export const ACCOUNT_ID_FOR_LENGTH = '1234567890123456';

/** Where each stack resource's name comes from in s.yaml. */
function stackField(logicalId: string, type: string): string {
  if (type === 'ALIYUN::RAM::Role') return 'vars.app and vars.region';
  const fields: Record<string, string> = {
    ImmProject: 'vars.immProject',
    NoticeTopic: 'vars.topic',
    FailureTopic: 'vars.failureTopic',
    FailureQueue: 'vars.failureTopic',
    FailureQueueSubscription: 'vars.app',
    EventsTopic: 'vars.app',
    EventsQueue: 'vars.app',
    EventsQueueSubscription: 'vars.app',
    LogProject: 'vars.app and vars.region',
    LogStore: 'deploy/deploy-resources.ts LOG_STORE_NAME',
    RecordsBucket: 'vars.recordsBucket',
  };
  return fields[logicalId] ?? `the stack's ${logicalId}`;
}

/** The names s.yaml gives (stack, functions, triggers) and those the stack creates for these parameters. */
export function createdNames(spec: ServiceSpec, deployment: Deployment): CreatedName[] {
  const names: CreatedName[] = [];
  const { stack } = deployment;
  names.push({ rule: NAME_RULES.rosStack, name: stack.name, field: `resources.${stack.resource}.props.name` });
  for (const fn of spec.functions) {
    names.push({ rule: NAME_RULES.fcFunction, name: fn.functionName, field: `resources.${fn.resource}.props.functionName` });
    for (const t of [...fn.ossTriggers, ...fn.mnsTriggers, ...fn.timerTriggers]) {
      names.push({ rule: NAME_RULES.fcTrigger, name: t.name, field: `resources.${fn.resource}.props.triggers (triggerName)`, parent: fn.functionName });
    }
  }
  const template = stackTemplate(deployment);
  const context = { stackName: stack.name, region: stack.region, accountId: ACCOUNT_ID_FOR_LENGTH, parameters: deployment.parameters };
  const value = (expression: unknown) => String(evaluateExpression(template, context, expression));
  for (const id of createdResources(template, context)) {
    const resource = template.Resources[id]!;
    const p = resource.Properties ?? {};
    const field = stackField(id, resource.Type);
    switch (resource.Type) {
      case 'ALIYUN::RAM::Role':
        names.push({ rule: NAME_RULES.ramRole, name: value(p['RoleName']), field });
        for (const policy of (p['Policies'] as { PolicyName: unknown }[] | undefined) ?? []) names.push({ rule: NAME_RULES.ramPolicy, name: value(policy.PolicyName), field });
        break;
      case 'ALIYUN::MNS::Topic':
        names.push({ rule: NAME_RULES.mnsTopic, name: value(p['TopicName']), field });
        break;
      case 'ALIYUN::MNS::Queue':
        names.push({ rule: NAME_RULES.mnsQueue, name: value(p['QueueName']), field });
        break;
      case 'ALIYUN::MNS::Subscription':
        names.push({ rule: NAME_RULES.mnsSubscription, name: value(p['SubscriptionName']), field, parent: value(p['TopicName']) });
        break;
      case 'ALIYUN::IMM::Project2':
        names.push({ rule: NAME_RULES.immProject, name: value(p['ProjectName']), field });
        break;
      case 'ALIYUN::SLS::Project':
        names.push({ rule: NAME_RULES.slsProject, name: value(p['Name']), field });
        break;
      case 'ALIYUN::SLS::Logstore':
        names.push({ rule: NAME_RULES.slsLogstore, name: value(p['LogstoreName']), field, parent: value(p['ProjectName']) });
        break;
      case 'ALIYUN::SLS::Index':
        break; // named by its Logstore
      case 'ALIYUN::OSS::Bucket':
        names.push({ rule: NAME_RULES.ossBucket, name: value(p['BucketName']), field });
        break;
      default:
        throw new Error(`deploy/names.ts does not know the name of ${resource.Type} (${id}): add its rule`);
    }
  }
  return names;
}

/** Names over their service's limit or with characters it refuses, and names that collide in one namespace. */
export function nameProblems(names: readonly CreatedName[]): string[] {
  const problems: string[] = [];
  for (const n of names) {
    const { rule } = n;
    if (n.name.length < rule.min || n.name.length > rule.max) {
      problems.push(`${n.field}: the ${rule.kind} "${n.name}" has ${n.name.length} characters; the limit is ${rule.min}-${rule.max} (shorten ${n.field})`);
    } else if (!rule.pattern.test(n.name)) {
      problems.push(`${n.field}: the ${rule.kind} "${n.name}" may only have ${rule.charset}`);
    }
  }
  const seen = new Map<string, CreatedName>();
  for (const n of names) {
    const key = `${n.rule.kind}\u0000${n.rule.namespace === 'parent' ? n.parent : n.rule.namespace}\u0000${n.name}`;
    const first = seen.get(key);
    if (first) problems.push(`${first.field} and ${n.field} both make the ${n.rule.kind} "${n.name}": give them different names`);
    else seen.set(key, n);
  }
  return problems;
}

/**
 * Triggers whose names do not carry their source: an OSS trigger's name must contain its bucket, an mns_topic
 * trigger's its topic, so that a new bucket or topic makes a new trigger instead of an update FC cannot make.
 */
export function triggerNameProblems(spec: ServiceSpec): string[] {
  const problems: string[] = [];
  for (const fn of spec.functions) {
    for (const t of fn.ossTriggers) {
      if (!t.name.includes(t.bucket)) problems.push(`resources.${fn.resource}: the OSS trigger "${t.name}" does not carry its bucket "${t.bucket}" in its name: FC cannot move a trigger to another bucket, so name it after the bucket (e.g. \${vars.app}-oss-\${vars.bucket})`);
    }
    for (const t of fn.mnsTriggers) {
      if (!t.name.includes(t.topic)) problems.push(`resources.${fn.resource}: the mns_topic trigger "${t.name}" does not carry its topic "${t.topic}" in its name: fc3 never updates an mns_topic trigger, so name it after the topic (e.g. \${vars.app}-mns-\${vars.topic})`);
    }
  }
  return problems;
}
