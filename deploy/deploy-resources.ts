/**
 * Everything `s deploy` needs besides the functions, generated from s.yaml: the ROS template of the stack the `ros`
 * resource deploys (IMM project and its service role, the notice and failure topics, a queue keeping failed events,
 * one role per function with a least-privilege inline policy) and the same policies as files under policies/ for
 * users who manage roles themselves. `npm run build` (scripts/build.ts) writes both.
 *
 * What each function may do comes from deploy/calls.ts (the calls the code makes), narrowed to the rules:
 * OSS actions only on the rule prefixes, the output prefixes and the records prefix; IMM actions only on the
 * project; MNS publish only on the function's failure topic. No `*` action, no OSS action on every object.
 *
 * Resource types and properties: ROS resource reference (URLs in test/fixtures/ros/schema.json, which the tests
 * validate this template against). RAM actions per API operation: the table below, with its sources.
 */
import { FUNCTION_CALLS, type CloudCall, type FunctionRole, type OssOperation } from './calls';
import { templateStaticPrefix } from '../shared/rules/naming';
import type { Rule } from '../shared/rules/schema';
import { evaluateOutputs, type RosTemplate } from './ros-template';
import type { FunctionSpec, ServiceSpec, StackSpec } from './spec';

export class DeployConfigError extends Error {
  override name = 'DeployConfigError';
}

/** The parameters the template declares; the s.yaml `ros` resource passes each (from vars). */
export const STACK_PARAMETERS = ['AppName', 'ImmProjectName', 'CreateImmProject', 'NoticeTopicName', 'FailureTopicName', 'CreateTopics'] as const;
export type StackParameter = (typeof STACK_PARAMETERS)[number];

const FUNCTION_ROLES: readonly FunctionRole[] = ['submit', 'record', 'reconcile'];

/**
 * RAM actions that authorize each OSS operation. HeadObject is authorized as oss:GetObject and ListObjectsV2 as
 * oss:ListObjects on the bucket (OSS API reference, "Permissions" of HeadObject / ListObjectsV2:
 * https://www.alibabacloud.com/help/en/oss/developer-reference/headobject). x-oss-async-process needs oss:GetObject
 * and oss:ProcessImm on the source, oss:PostProcessTask for the asynchronous call, oss:PutObject where sys/saveas
 * writes, and the IMM action of the operation (https://www.alibabacloud.com/help/en/oss/user-guide/permissions).
 */
const OSS_OBJECT_ACTIONS: Record<Exclude<OssOperation, 'ListObjectsV2' | 'AsyncProcessObject'>, string> = {
  HeadObject: 'oss:GetObject',
  GetObject: 'oss:GetObject',
  PutObject: 'oss:PutObject',
  DeleteObject: 'oss:DeleteObject',
  PutObjectTagging: 'oss:PutObjectTagging',
};
const ASYNC_PROCESS = { source: ['oss:GetObject', 'oss:PostProcessTask', 'oss:ProcessImm'], saveas: ['oss:PutObject'], imm: ['imm:CreateMediaConvertTask'] };

// ---------------------------------------------------------------------------------------------------------------
// Text with placeholders: one policy, rendered for the template (Fn::Sub) or for a file (concrete names).

type Token = 'region' | 'account' | 'project' | 'noticeTopic' | 'failureTopic';
type Text = readonly (string | { token: Token })[];

const TEMPLATE_TOKENS: Record<Token, string> = {
  region: '${ALIYUN::Region}',
  account: '${ALIYUN::AccountId}',
  project: '${ImmProjectName}',
  noticeTopic: '${NoticeTopicName}',
  failureTopic: '${FailureTopicName}',
};

function renderForTemplate(text: Text): unknown {
  if (text.every((p) => typeof p === 'string')) return text.join('');
  // Literal text must not read as a substitution: ROS writes a literal ${ as ${! (Fn::Sub).
  return { 'Fn::Sub': text.map((p) => (typeof p === 'string' ? p.replaceAll('${', '${!') : TEMPLATE_TOKENS[p.token])).join('') };
}

function renderForFile(text: Text, values: Record<Token, string>): string {
  return text.map((p) => (typeof p === 'string' ? p : values[p.token])).join('');
}

interface Statement {
  actions: string[];
  resources: Text[];
  condition?: Record<string, Record<string, string[]>>;
}

function renderPolicy(statements: Statement[], render: (text: Text) => unknown) {
  return {
    Version: '1',
    Statement: statements.map((s) => ({
      Effect: 'Allow',
      Action: s.actions,
      Resource: s.resources.map(render),
      ...(s.condition ? { Condition: s.condition } : {}),
    })),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The deployment as s.yaml describes it.

export interface FunctionAccessSpec {
  resource: FunctionRole;
  functionName: string;
  /** The MNS topic of asyncInvokeConfig's onFailure destination, if any. */
  failureDestinationTopic?: string;
}

export interface Deployment {
  stack: StackSpec;
  parameters: Record<StackParameter, string>;
  bucket: string;
  recordsPrefix: string;
  functions: FunctionAccessSpec[];
  /** Validated rules; undefined builds the template's skeleton only (resources and outputs, no policies). */
  rules?: Rule[];
}

export function stackParameters(stack: StackSpec): Record<StackParameter, string> {
  const where = `s.yaml resources.${stack.resource}.props.parameters`;
  const unknown = Object.keys(stack.parameters).filter((k) => !(STACK_PARAMETERS as readonly string[]).includes(k));
  if (unknown.length) throw new DeployConfigError(`${where}: unknown ${unknown.join(', ')} (the template declares ${STACK_PARAMETERS.join(', ')})`);
  const missing = STACK_PARAMETERS.filter((k) => stack.parameters[k] === undefined || stack.parameters[k] === '');
  if (missing.length) throw new DeployConfigError(`${where}: ${missing.join(', ')} must be set (the template declares ${STACK_PARAMETERS.join(', ')})`);
  const p = stack.parameters as Record<StackParameter, string>;
  const problems: string[] = [];
  if (!/^[a-z][a-z0-9-]{0,39}$/.test(p.AppName)) problems.push(`AppName "${p.AppName}": 1-40 lowercase letters, digits and "-", starting with a letter (it starts every resource name)`);
  if (!/^[A-Za-z_][A-Za-z0-9_-]{0,127}$/.test(p.ImmProjectName)) problems.push(`ImmProjectName "${p.ImmProjectName}": 1-128 letters, digits, "-" or "_", starting with a letter or "_" (IMM project names)`);
  for (const topic of ['NoticeTopicName', 'FailureTopicName'] as const) {
    if (!/^[A-Za-z][A-Za-z0-9-]{0,255}$/.test(p[topic])) problems.push(`${topic} "${p[topic]}": up to 256 letters, digits and "-", starting with a letter (MNS topic names)`);
  }
  if (p.NoticeTopicName === p.FailureTopicName) problems.push(`NoticeTopicName and FailureTopicName are both "${p.NoticeTopicName}": failed events would arrive at the record function as notices`);
  for (const flag of ['CreateImmProject', 'CreateTopics'] as const) {
    if (p[flag] !== 'true' && p[flag] !== 'false') problems.push(`${flag} "${p[flag]}": 'true' (the stack creates it) or 'false' (it exists; the stack leaves it alone)`);
  }
  if (!/^[A-Za-z][A-Za-z0-9-]{0,90}$/.test(stack.name)) {
    problems.push(`the stack name "${stack.name}" (resources.${stack.resource}.props.name): letters, digits and "-", starting with a letter, at most 91 (inline RAM policy names carry it)`);
  }
  if (problems.length) throw new DeployConfigError(`${where}:\n  - ${problems.join('\n  - ')}`);
  return p;
}

/** The topic of an fc3 onFailure destination `acs:mns:<region>::/topics/<topic>/messages`. */
export function destinationTopic(fn: FunctionSpec): string | undefined {
  const match = /^acs:mns:[^:]*:[^:]*:\/topics\/([^/]+)\/messages$/.exec(fn.onFailureDestination ?? '');
  return match?.[1];
}

export function functionAccess(spec: ServiceSpec): FunctionAccessSpec[] {
  return spec.functions.map((fn) => {
    if (!(FUNCTION_ROLES as readonly string[]).includes(fn.resource)) {
      throw new DeployConfigError(
        `s.yaml resources.${fn.resource}: deploy/calls.ts declares no calls for a function "${fn.resource}" (only ${FUNCTION_ROLES.join(', ')}), so no policy can be generated for it`,
      );
    }
    const topic = destinationTopic(fn);
    if (fn.onFailureDestination && !topic) {
      throw new DeployConfigError(`s.yaml resources.${fn.resource}.props.asyncInvokeConfig.destinationConfig.onFailure.destination: expected acs:mns:<region>::/topics/<topic>/messages, got ${fn.onFailureDestination}`);
    }
    return { resource: fn.resource as FunctionRole, functionName: fn.functionName, ...(topic ? { failureDestinationTopic: topic } : {}) };
  });
}

/** The stack, bucket, records prefix and functions of s.yaml; rules as validated by the build. */
export function deploymentFromSpec(spec: ServiceSpec, rules: Rule[] | undefined, recordsPrefix: string): Deployment {
  const stack = spec.stacks[0];
  if (!stack) throw new DeployConfigError('s.yaml has no resource with component: ros (the stack with the IMM project, topics and roles)');
  if (spec.stacks.length > 1) throw new DeployConfigError(`s.yaml has ${spec.stacks.length} ros resources (${spec.stacks.map((s) => s.resource).join(', ')}); expected one`);
  const bucket = spec.functions.flatMap((f) => f.ossTriggers.map((t) => t.bucket))[0];
  if (!bucket) throw new DeployConfigError('s.yaml has no function with an OSS trigger: the bucket is unknown');
  return { stack, parameters: stackParameters(stack), bucket, recordsPrefix, functions: functionAccess(spec), ...(rules ? { rules } : {}) };
}

// ---------------------------------------------------------------------------------------------------------------
// Least-privilege statements from the declared calls and the rules.

const ossObject = (bucket: string, prefix: string): Text => [`acs:oss:*:*:${bucket}/${prefix}*`];
const immProject: Text = ['acs:imm:', { token: 'region' }, ':', { token: 'account' }, ':project/', { token: 'project' }];
/** PublishMessage is authorized on the topic's messages; the topic itself is listed too (MNS RAM reference). */
const mnsTopic = (topic: Text): Text[] => [
  ['acs:mns:', { token: 'region' }, ':', { token: 'account' }, ':/topics/', ...topic],
  ['acs:mns:', { token: 'region' }, ':', { token: 'account' }, ':/topics/', ...topic, '/messages'],
];

function requirePrefix(prefix: string, what: string): string {
  if (prefix === '') {
    throw new DeployConfigError(
      `${what} is empty: its role would need access to every object in the bucket. Give it a prefix (least-privilege policies are limited to the rule, output and records prefixes)`,
    );
  }
  return prefix;
}

const sourcePrefixes = (rules: readonly Rule[]) => rules.map((r) => requirePrefix(r.prefix, `rule "${r.name}" prefix`));
const outputPrefixes = (rules: readonly Rule[]) =>
  rules.flatMap((r) => r.outputs.map((o, i) => requirePrefix(templateStaticPrefix(o.key, r.prefix), `rule "${r.name}" outputs[${i}].key "${o.key}": the literal start of its output keys`)));

class Grants {
  private readonly objects = new Map<string, { bucket: string; prefix: string; actions: Set<string> }>();
  private readonly other = new Map<string, { resources: Text[]; actions: Set<string>; condition?: Statement['condition'] }>();

  objectActions(bucket: string, prefixes: readonly string[], actions: readonly string[]) {
    for (const prefix of prefixes) {
      const key = `${bucket}/${prefix}`;
      const entry = this.objects.get(key) ?? { bucket, prefix, actions: new Set<string>() };
      for (const a of actions) entry.actions.add(a);
      this.objects.set(key, entry);
    }
  }

  add(key: string, resources: Text[], actions: readonly string[], condition?: Statement['condition']) {
    const entry = this.other.get(key) ?? { resources, actions: new Set<string>(), ...(condition ? { condition } : {}) };
    for (const a of actions) entry.actions.add(a);
    this.other.set(key, entry);
  }

  statements(): Statement[] {
    // A prefix inside another one with every action it needs already granted there adds nothing.
    const objects = [...this.objects.values()].filter(
      (inner) =>
        ![...this.objects.values()].some(
          (outer) => outer !== inner && outer.bucket === inner.bucket && inner.prefix.startsWith(outer.prefix) && outer.prefix !== inner.prefix && [...inner.actions].every((a) => outer.actions.has(a)),
        ),
    );
    const byActions = new Map<string, { actions: string[]; resources: string[] }>();
    for (const o of objects.sort((a, b) => a.prefix.localeCompare(b.prefix))) {
      const actions = [...o.actions].sort();
      const key = actions.join(',');
      const group = byActions.get(key) ?? { actions, resources: [] };
      group.resources.push(`acs:oss:*:*:${o.bucket}/${o.prefix}*`);
      byActions.set(key, group);
    }
    const statements: Statement[] = [...byActions.values()].map((g) => ({ actions: g.actions, resources: g.resources.map((r) => [r]) }));
    for (const entry of this.other.values()) {
      statements.push({ actions: [...entry.actions].sort(), resources: entry.resources, ...(entry.condition ? { condition: entry.condition } : {}) });
    }
    return statements;
  }
}

function applies(call: CloudCall, rules: readonly Rule[]): boolean {
  switch (call.when) {
    case 'always':
      return true;
    case 'engine-imm':
      return rules.some((r) => r.engine === 'imm');
    case 'engine-oss':
      return rules.some((r) => r.engine === 'oss');
    case 'frames':
      return rules.some((r) => r.outputs.some((o) => o.frames !== undefined));
  }
}

/** The statements of one function's policy: its declared calls, on the keys and resources the rules give them. */
export function functionStatements(deployment: Deployment, fn: FunctionAccessSpec): Statement[] {
  const rules = deployment.rules ?? [];
  const { bucket, recordsPrefix } = deployment;
  const grants = new Grants();
  const records = requirePrefix(recordsPrefix, 'RECORDS_PREFIX');
  for (const call of FUNCTION_CALLS[fn.resource]) {
    if (!applies(call, rules)) continue;
    if (call.service === 'imm') {
      grants.add('imm', [immProject], [`imm:${call.operation}`]);
    } else if (call.service === 'mns') {
      const topic = fn.failureDestinationTopic;
      if (topic === undefined) continue;
      const text: Text = topic === deployment.parameters.FailureTopicName ? [{ token: 'failureTopic' }] : [topic];
      grants.add(`mns:${topic}`, mnsTopic(text), ['mns:PublishMessage']);
    } else if (call.operation === 'ListObjectsV2') {
      // ListObjectsV2 is a bucket-level action: the oss:Prefix condition keeps it to the records.
      grants.add('list', [[`acs:oss:*:*:${bucket}`]], ['oss:ListObjects'], { StringLike: { 'oss:Prefix': [`${records}*`] } });
    } else if (call.operation === 'AsyncProcessObject') {
      const ossRules = rules.filter((r) => r.engine === 'oss');
      grants.objectActions(bucket, sourcePrefixes(ossRules), ASYNC_PROCESS.source);
      grants.objectActions(bucket, outputPrefixes(ossRules), ASYNC_PROCESS.saveas);
      grants.add('imm', [immProject], ASYNC_PROCESS.imm);
    } else {
      const prefixes = call.on === 'records' ? [records] : call.on === 'sources' ? sourcePrefixes(rules) : outputPrefixes(rules);
      grants.objectActions(bucket, prefixes, [OSS_OBJECT_ACTIONS[call.operation]]);
    }
  }
  return grants.statements();
}

/** The IMM project's service role: read the sources, write the animations, publish completion notices. */
export function immServiceStatements(deployment: Deployment): Statement[] {
  const rules = deployment.rules ?? [];
  const grants = new Grants();
  grants.objectActions(deployment.bucket, sourcePrefixes(rules), ['oss:GetObject']);
  grants.objectActions(deployment.bucket, outputPrefixes(rules), ['oss:PutObject']);
  grants.add('notice', mnsTopic([{ token: 'noticeTopic' }]), ['mns:PublishMessage']);
  return grants.statements();
}

export const trustPolicy = (service: 'fc.aliyuncs.com' | 'imm.aliyuncs.com') => ({
  Version: '1',
  Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: [service] } }],
});

// ---------------------------------------------------------------------------------------------------------------
// The ROS template.

const pascal = (name: string) => name.replace(/(^|[-_])(\w)/g, (_m, _s, c: string) => c.toUpperCase());
export const roleLogicalId = (resource: string) => `${pascal(resource)}Role`;
export const roleOutputKey = (resource: string) => `${pascal(resource)}RoleArn`;

export function stackTemplate(deployment: Deployment): RosTemplate {
  const p = deployment.parameters;
  const withPolicies = deployment.rules !== undefined;
  const policy = (name: string, statements: Statement[]) =>
    withPolicies ? { Policies: [{ PolicyName: { 'Fn::Sub': `\${ALIYUN::StackName}-${name}` }, PolicyDocument: renderPolicy(statements, renderForTemplate) }] } : {};

  const resources: RosTemplate['Resources'] = {
    ImmServiceRole: {
      Type: 'ALIYUN::RAM::Role',
      Condition: 'ImmProjectIsNew',
      Properties: {
        RoleName: { 'Fn::Sub': '${AppName}-imm-role' },
        Description: 'IMM project service role: reads the sources, writes the animations, publishes task notices',
        AssumeRolePolicyDocument: trustPolicy('imm.aliyuncs.com'),
        ...policy('imm', withPolicies ? immServiceStatements(deployment) : []),
      },
    },
    ImmProject: {
      Type: 'ALIYUN::IMM::Project2',
      Condition: 'ImmProjectIsNew',
      Properties: {
        ProjectName: { Ref: 'ImmProjectName' },
        ServiceRole: { 'Fn::GetAtt': ['ImmServiceRole', 'RoleName'] },
        Description: { 'Fn::Sub': '${AppName}: animations from videos' },
      },
    },
    NoticeTopic: { Type: 'ALIYUN::MNS::Topic', Condition: 'TopicsAreNew', Properties: { TopicName: { Ref: 'NoticeTopicName' } } },
    FailureTopic: { Type: 'ALIYUN::MNS::Topic', Condition: 'TopicsAreNew', Properties: { TopicName: { Ref: 'FailureTopicName' } } },
    FailureQueue: {
      Type: 'ALIYUN::MNS::Queue',
      Condition: 'TopicsAreNew',
      // Failed events are kept for the longest MNS allows (7 days) to be read and re-run.
      Properties: { QueueName: { Ref: 'FailureTopicName' }, MessageRetentionPeriod: 604800 },
    },
    FailureQueueSubscription: {
      Type: 'ALIYUN::MNS::Subscription',
      Condition: 'TopicsAreNew',
      Properties: {
        TopicName: { 'Fn::GetAtt': ['FailureTopic', 'TopicName'] },
        SubscriptionName: { 'Fn::Sub': '${FailureTopicName}-to-queue' },
        // QueueEndpoint: acs:mns:{REGION}:{AccountID}:queues/{QueueName} (ALIYUN::MNS::Subscription, Endpoint).
        Endpoint: { 'Fn::Sub': 'acs:mns:${ALIYUN::Region}:${ALIYUN::AccountId}:queues/${FailureQueue.QueueName}' },
        NotifyStrategy: 'EXPONENTIAL_DECAY_RETRY',
        NotifyContentFormat: 'JSON',
      },
    },
  };
  const outputs: NonNullable<RosTemplate['Outputs']> = {
    ImmProjectName: {
      Description: 'IMM_PROJECT of the functions',
      Value: { 'Fn::If': ['ImmProjectIsNew', { 'Fn::GetAtt': ['ImmProject', 'ProjectName'] }, { Ref: 'ImmProjectName' }] },
    },
    ImmServiceRoleArn: { Description: "The IMM project's service role", Condition: 'ImmProjectIsNew', Value: { 'Fn::GetAtt': ['ImmServiceRole', 'Arn'] } },
    NoticeTopicName: {
      Description: 'MNS_TOPIC: IMM publishes task completion notices here; the record function listens',
      Value: { 'Fn::If': ['TopicsAreNew', { 'Fn::GetAtt': ['NoticeTopic', 'TopicName'] }, { Ref: 'NoticeTopicName' }] },
    },
    FailureTopicName: {
      Description: 'Where FC sends events that failed every retry',
      Value: { 'Fn::If': ['TopicsAreNew', { 'Fn::GetAtt': ['FailureTopic', 'TopicName'] }, { Ref: 'FailureTopicName' }] },
    },
    FailureQueueName: { Description: 'Keeps the failed events (7 days)', Condition: 'TopicsAreNew', Value: { 'Fn::GetAtt': ['FailureQueue', 'QueueName'] } },
  };
  for (const fn of deployment.functions) {
    resources[roleLogicalId(fn.resource)] = {
      Type: 'ALIYUN::RAM::Role',
      Properties: {
        RoleName: { 'Fn::Sub': `\${AppName}-${fn.resource}-role` },
        Description: `Role of the ${fn.functionName} function: exactly the calls it makes (deploy/calls.ts) on the keys of the rules`,
        AssumeRolePolicyDocument: trustPolicy('fc.aliyuncs.com'),
        ...policy(fn.resource, withPolicies ? functionStatements(deployment, fn) : []),
      },
    };
    outputs[roleOutputKey(fn.resource)] = { Description: `role of ${fn.functionName}`, Value: { 'Fn::GetAtt': [roleLogicalId(fn.resource), 'Arn'] } };
  }
  return {
    ROSTemplateFormatVersion: '2015-09-01',
    Description: `${p.AppName}: IMM project, notice and failure topics, failed-event queue and least-privilege function roles. Generated by npm run build from s.yaml: do not edit.`,
    Parameters: {
      AppName: { Type: 'String', Default: p.AppName, AllowedPattern: '^[a-z][a-z0-9-]{0,39}$', Description: 'Starts every resource name' },
      ImmProjectName: { Type: 'String', Default: p.ImmProjectName, AllowedPattern: '^[A-Za-z_][A-Za-z0-9_-]{0,127}$', Description: 'The IMM project (created unless CreateImmProject is false)' },
      CreateImmProject: { Type: 'String', Default: p.CreateImmProject, AllowedValues: ['true', 'false'] },
      NoticeTopicName: { Type: 'String', Default: p.NoticeTopicName, AllowedPattern: '^[A-Za-z][A-Za-z0-9-]{0,255}$' },
      FailureTopicName: { Type: 'String', Default: p.FailureTopicName, AllowedPattern: '^[A-Za-z][A-Za-z0-9-]{0,255}$' },
      CreateTopics: { Type: 'String', Default: p.CreateTopics, AllowedValues: ['true', 'false'], Description: 'false: both topics exist (no topic, queue or subscription is created)' },
    },
    Conditions: {
      ImmProjectIsNew: { 'Fn::Equals': ['true', { Ref: 'CreateImmProject' }] },
      TopicsAreNew: { 'Fn::Equals': ['true', { Ref: 'CreateTopics' }] },
    },
    Resources: resources,
    Outputs: outputs,
  };
}

/** What `${resources.<stack>.output.<Key>}` resolves to, computed offline from the template the stack deploys. */
export function localStackOutputs(stack: StackSpec, functions: FunctionSpec[], accountId: string): Record<string, string> {
  const parameters = stackParameters(stack);
  const deployment: Deployment = { stack, parameters, bucket: '', recordsPrefix: '', functions: functions.map((f) => ({ resource: f.resource as FunctionRole, functionName: f.functionName })) };
  return evaluateOutputs(stackTemplate(deployment), { stackName: stack.name, region: stack.region, accountId, parameters });
}

// ---------------------------------------------------------------------------------------------------------------
// policies/*.json: the same documents with concrete names, for users who manage roles themselves.

export function policyFiles(deployment: Deployment): Record<string, unknown> {
  const p = deployment.parameters;
  const values: Record<Token, string> = {
    region: deployment.stack.region,
    account: '*',
    project: p.ImmProjectName,
    noticeTopic: p.NoticeTopicName,
    failureTopic: p.FailureTopicName,
  };
  const render = (text: Text) => renderForFile(text, values);
  const files: Record<string, unknown> = {
    'fc-trust.json': trustPolicy('fc.aliyuncs.com'),
    'imm-trust.json': trustPolicy('imm.aliyuncs.com'),
    'imm-service-role.json': renderPolicy(immServiceStatements(deployment), render),
  };
  for (const fn of deployment.functions) files[`${fn.resource}-function.json`] = renderPolicy(functionStatements(deployment, fn), render);
  return files;
}

export const formatJson = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
