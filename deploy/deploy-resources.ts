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
import { outputDelivery, templateStaticPrefix } from '../shared/rules/naming';
import { animationSlot, type Output, type Rule } from '../shared/rules/schema';
import { evaluateOutputs, type RosTemplate } from './ros-template';
import type { FunctionSpec, ServiceSpec, StackSpec } from './spec';

export class DeployConfigError extends Error {
  override name = 'DeployConfigError';
}

/** The parameters the template declares; the s.yaml `ros` resource passes each (from vars). */
export const STACK_PARAMETERS = [
  'AppName',
  'ImmProjectName',
  'CreateImmProject',
  'NoticeTopicName',
  'FailureTopicName',
  'CreateTopics',
  'RecordsBucket',
  'CreateRecordsBucket',
  'Events',
  'EventsQueue',
] as const;
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

/**
 * Names the stack gives what it creates, as ROS Fn::Sub strings. RAM names are account-wide, so they carry the region
 * as well as the app: the same app in two regions gets two sets of roles.
 */
export const EVENTS_TOPIC_SUB = '${AppName}-events';
/** Lowercase because SLS project and OSS bucket names must be; its length is checked name by name (deploy/names.ts). */
const APP_NAME_PATTERN = '^[a-z][a-z0-9-]*$';
/** MNS topic names: at most 120 characters (Simple Message Queue limits: help.aliyun.com/en/mns/product-overview/limits). */
const MNS_TOPIC_PATTERN = '^[A-Za-z][A-Za-z0-9-]{0,119}$';
const RAM_NAME_SUB = '${AppName}-${ALIYUN::Region}';
/** SLS project names are unique across all accounts of a region: the account id makes them ours. */
const LOG_PROJECT_SUB = '${AppName}-${ALIYUN::Region}-${ALIYUN::AccountId}';
export const LOG_STORE_NAME = 'functions';
/** What `${vars.app}-events` is for an app: the topic completion events go to (EVENTS_TOPIC). */
export const eventsTopicName = (app: string) => `${app}-events`;

// ---------------------------------------------------------------------------------------------------------------
// Text with placeholders: one policy, rendered for the template (Fn::Sub) or for a file (concrete names).

type Token = 'region' | 'account' | 'project' | 'noticeTopic' | 'failureTopic' | 'eventsTopic';
type Text = readonly (string | { token: Token })[];

const TEMPLATE_TOKENS: Record<Token, string> = {
  region: '${ALIYUN::Region}',
  account: '${ALIYUN::AccountId}',
  project: '${ImmProjectName}',
  noticeTopic: '${NoticeTopicName}',
  failureTopic: '${FailureTopicName}',
  eventsTopic: EVENTS_TOPIC_SUB,
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
  /** The watched bucket: sources and outputs. */
  bucket: string;
  /** Where the job records live (RECORDS_BUCKET; by default the watched bucket). */
  recordsBucket: string;
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
  if (!new RegExp(APP_NAME_PATTERN).test(p.AppName)) problems.push(`AppName "${p.AppName}": lowercase letters, digits and "-", starting with a letter (it starts every resource name; deploy/names.ts checks each name it makes against its service's limit)`);
  if (!/^[A-Za-z_][A-Za-z0-9_-]{0,127}$/.test(p.ImmProjectName)) problems.push(`ImmProjectName "${p.ImmProjectName}": 1-128 letters, digits, "-" or "_", starting with a letter or "_" (IMM project names)`);
  for (const topic of ['NoticeTopicName', 'FailureTopicName'] as const) {
    if (!new RegExp(MNS_TOPIC_PATTERN).test(p[topic])) problems.push(`${topic} "${p[topic]}": up to 120 letters, digits and "-", starting with a letter (MNS topic names)`);
  }
  if (p.NoticeTopicName === p.FailureTopicName) problems.push(`NoticeTopicName and FailureTopicName are both "${p.NoticeTopicName}": failed events would arrive at the record function as notices`);
  if (!/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(p.RecordsBucket)) problems.push(`RecordsBucket "${p.RecordsBucket}": 3-63 lowercase letters, digits and "-", starting and ending with a letter or digit (OSS bucket names)`);
  for (const flag of ['CreateImmProject', 'CreateTopics', 'CreateRecordsBucket', 'Events', 'EventsQueue'] as const) {
    if (p[flag] !== 'true' && p[flag] !== 'false') problems.push(`${flag} "${p[flag]}": 'true' (the stack creates it) or 'false' (it exists; the stack leaves it alone)`);
  }
  if (p.EventsQueue === 'true' && p.Events !== 'true') problems.push(`EventsQueue is 'true' but Events is '${p.Events}': the queue subscribes to the events topic, which exists only with Events 'true'`);
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
  const parameters = stackParameters(stack);
  if (parameters.CreateRecordsBucket === 'true' && parameters.RecordsBucket === bucket) {
    throw new DeployConfigError(
      `s.yaml vars.createRecordsBucket is 'true' but vars.recordsBucket is the watched bucket "${bucket}", which exists already: set createRecordsBucket to 'false', or name another bucket in recordsBucket`,
    );
  }
  return { stack, parameters, bucket, recordsBucket: parameters.RecordsBucket, recordsPrefix, functions: functionAccess(spec), ...(rules ? { rules } : {}) };
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
/**
 * Where the rules write: per output (animations, posters, storyboards), its bucket (the output's or the rule's
 * `bucket`, else the watched one) and the literal start of its keys.
 */
const outputLocations = (rules: readonly Rule[], watched: string) =>
  rules.flatMap((r) =>
    [
      ...r.outputs.map((o, i) => ({ output: o as Pick<Output, 'key' | 'bucket'>, slot: animationSlot(r, i) })),
      ...(r.previews ?? []).map((p) => ({ output: { key: p.key } as Pick<Output, 'key' | 'bucket'>, slot: p.slot })),
    ].map(({ output, slot }) => ({
      bucket: outputDelivery(r, output.bucket !== undefined ? { bucket: output.bucket } : {}, watched).bucket,
      prefix: requirePrefix(templateStaticPrefix(output.key, r.prefix), `rule "${r.name}" outputs[${slot}].key "${output.key}": the literal start of its output keys`),
    })),
  );

/** Grants object actions on every output location of the rules. */
function outputActions(grants: Grants, rules: readonly Rule[], watched: string, actions: readonly string[]): void {
  for (const location of outputLocations(rules, watched)) grants.objectActions(location.bucket, [location.prefix], actions);
}

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

function applies(call: CloudCall, deployment: Deployment): boolean {
  const rules = deployment.rules ?? [];
  switch (call.when) {
    case 'always':
      return true;
    case 'events':
      return deployment.parameters.Events === 'true';
    case 'engine-imm':
      return rules.some((r) => r.engine === 'imm');
    case 'engine-oss':
      return rules.some((r) => r.engine === 'oss');
    case 'frames':
      return rules.some((r) => r.outputs.some((o) => o.frames !== undefined));
    case 'delete-with-source':
      return rules.some((r) => r.deleteWithSource);
  }
}

/** The statements of one function's policy: its declared calls, on the keys and resources the rules give them. */
export function functionStatements(deployment: Deployment, fn: FunctionAccessSpec): Statement[] {
  const rules = deployment.rules ?? [];
  const { bucket, recordsBucket, recordsPrefix } = deployment;
  const grants = new Grants();
  const records = requirePrefix(recordsPrefix, 'RECORDS_PREFIX');
  for (const call of FUNCTION_CALLS[fn.resource]) {
    if (!applies(call, deployment)) continue;
    if (call.service === 'imm') {
      grants.add('imm', [immProject], [`imm:${call.operation}`]);
    } else if (call.service === 'mns' && call.on === 'events-topic') {
      grants.add('events', mnsTopic([{ token: 'eventsTopic' }]), ['mns:PublishMessage']);
    } else if (call.service === 'mns') {
      const topic = fn.failureDestinationTopic;
      if (topic === undefined) continue;
      const text: Text = topic === deployment.parameters.FailureTopicName ? [{ token: 'failureTopic' }] : [topic];
      grants.add(`mns:${topic}`, mnsTopic(text), ['mns:PublishMessage']);
    } else if (call.operation === 'ListObjectsV2') {
      // ListObjectsV2 is a bucket-level action: the oss:Prefix condition keeps it to the records.
      grants.add('list', [[`acs:oss:*:*:${recordsBucket}`]], ['oss:ListObjects'], { StringLike: { 'oss:Prefix': [`${records}*`] } });
    } else if (call.operation === 'GetBucketVersioning') {
      grants.add('versioning', [[`acs:oss:*:*:${recordsBucket}`]], ['oss:GetBucketVersioning']);
    } else if (call.operation === 'AsyncProcessObject') {
      const ossRules = rules.filter((r) => r.engine === 'oss');
      grants.objectActions(bucket, sourcePrefixes(ossRules), ASYNC_PROCESS.source);
      outputActions(grants, ossRules, bucket, ASYNC_PROCESS.saveas);
      grants.add('imm', [immProject], ASYNC_PROCESS.imm);
    } else {
      if (call.on === 'records') grants.objectActions(recordsBucket, [records], [OSS_OBJECT_ACTIONS[call.operation]]);
      else if (call.on === 'sources') grants.objectActions(bucket, sourcePrefixes(rules), [OSS_OBJECT_ACTIONS[call.operation]]);
      else outputActions(grants, call.when === 'delete-with-source' ? rules.filter((r) => r.deleteWithSource) : rules, bucket, [OSS_OBJECT_ACTIONS[call.operation]]);
    }
  }
  return grants.statements();
}

/** The IMM project's service role: read the sources, write the animations, publish completion notices. */
export function immServiceStatements(deployment: Deployment): Statement[] {
  const rules = deployment.rules ?? [];
  const grants = new Grants();
  grants.objectActions(deployment.bucket, sourcePrefixes(rules), ['oss:GetObject']);
  outputActions(grants, rules, deployment.bucket, ['oss:PutObject']);
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
    withPolicies ? { Policies: [{ PolicyName: { 'Fn::Sub': `${RAM_NAME_SUB}-${name}` }, PolicyDocument: renderPolicy(statements, renderForTemplate) }] } : {};
  const queueEndpoint = (queue: string) => ({ 'Fn::Sub': `acs:mns:\${ALIYUN::Region}:\${ALIYUN::AccountId}:queues/\${${queue}.QueueName}` });

  const resources: RosTemplate['Resources'] = {
    ImmServiceRole: {
      Type: 'ALIYUN::RAM::Role',
      Condition: 'ImmProjectIsNew',
      Properties: {
        RoleName: { 'Fn::Sub': `${RAM_NAME_SUB}-imm` },
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
        SubscriptionName: { 'Fn::Sub': '${AppName}-failed-to-queue' },
        // QueueEndpoint: acs:mns:{REGION}:{AccountID}:queues/{QueueName} (ALIYUN::MNS::Subscription, Endpoint).
        Endpoint: queueEndpoint('FailureQueue'),
        NotifyStrategy: 'EXPONENTIAL_DECAY_RETRY',
        NotifyContentFormat: 'JSON',
      },
    },
    EventsTopic: { Type: 'ALIYUN::MNS::Topic', Condition: 'EventsAreOn', Properties: { TopicName: { 'Fn::Sub': EVENTS_TOPIC_SUB } } },
    EventsQueue: {
      Type: 'ALIYUN::MNS::Queue',
      Condition: 'EventsQueueIsOn',
      Properties: { QueueName: { 'Fn::Sub': EVENTS_TOPIC_SUB }, MessageRetentionPeriod: 604800 },
    },
    EventsQueueSubscription: {
      Type: 'ALIYUN::MNS::Subscription',
      Condition: 'EventsQueueIsOn',
      Properties: {
        TopicName: { 'Fn::GetAtt': ['EventsTopic', 'TopicName'] },
        SubscriptionName: { 'Fn::Sub': '${AppName}-events-to-queue' },
        Endpoint: queueEndpoint('EventsQueue'),
        NotifyStrategy: 'EXPONENTIAL_DECAY_RETRY',
        NotifyContentFormat: 'JSON',
      },
    },
    // The functions' logs (logConfig in s.yaml): FC writes them with its service-linked role AliyunServiceRoleForFC.
    LogProject: {
      Type: 'ALIYUN::SLS::Project',
      Properties: { Name: { 'Fn::Sub': LOG_PROJECT_SUB }, Description: { 'Fn::Sub': '${AppName}: function logs' } },
    },
    LogStore: {
      Type: 'ALIYUN::SLS::Logstore',
      Properties: { ProjectName: { 'Fn::GetAtt': ['LogProject', 'Name'] }, LogstoreName: LOG_STORE_NAME, TTL: 30 },
    },
    // Without an index the Logstore keeps the logs but nothing (the FC console included) can search them.
    LogIndex: {
      Type: 'ALIYUN::SLS::Index',
      Properties: {
        ProjectName: { 'Fn::GetAtt': ['LogStore', 'ProjectName'] },
        LogstoreName: { 'Fn::GetAtt': ['LogStore', 'LogstoreName'] },
        FullTextIndex: { Enable: true },
      },
    },
    // Job records are written create-only (x-oss-forbid-overwrite), which versioning would silently turn off: the
    // bucket is created without it.
    RecordsBucket: {
      Type: 'ALIYUN::OSS::Bucket',
      Condition: 'RecordsBucketIsNew',
      Properties: { BucketName: { Ref: 'RecordsBucket' }, AccessControl: 'private' },
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
    // Empty with events off: EVENTS_TOPIC is then empty and the functions publish nothing.
    EventsTopicName: { Description: 'EVENTS_TOPIC: one completion event per ended job', Value: { 'Fn::If': ['EventsAreOn', { 'Fn::GetAtt': ['EventsTopic', 'TopicName'] }, ''] } },
    EventsQueueName: { Description: 'Keeps the completion events (7 days)', Condition: 'EventsQueueIsOn', Value: { 'Fn::GetAtt': ['EventsQueue', 'QueueName'] } },
    LogProjectName: { Description: "logConfig.project of the functions", Value: { 'Fn::GetAtt': ['LogProject', 'Name'] } },
    LogStoreName: { Description: "logConfig.logstore of the functions", Value: { 'Fn::GetAtt': ['LogStore', 'LogstoreName'] } },
  };
  for (const fn of deployment.functions) {
    resources[roleLogicalId(fn.resource)] = {
      Type: 'ALIYUN::RAM::Role',
      Properties: {
        RoleName: { 'Fn::Sub': `${RAM_NAME_SUB}-${fn.resource}` },
        Description: `Role of the ${fn.functionName} function: exactly the calls it makes (deploy/calls.ts) on the keys of the rules`,
        AssumeRolePolicyDocument: trustPolicy('fc.aliyuncs.com'),
        ...policy(fn.resource, withPolicies ? functionStatements(deployment, fn) : []),
      },
    };
    outputs[roleOutputKey(fn.resource)] = { Description: `role of ${fn.functionName}`, Value: { 'Fn::GetAtt': [roleLogicalId(fn.resource), 'Arn'] } };
  }
  const flag = (value: string, description: string) => ({ Type: 'String', Default: value, AllowedValues: ['true', 'false'], Description: description });
  return {
    ROSTemplateFormatVersion: '2015-09-01',
    Description: `${p.AppName}: IMM project, topics, queues, log project, least-privilege function roles. Generated by npm run build from s.yaml: do not edit.`,
    Parameters: {
      AppName: { Type: 'String', Default: p.AppName, AllowedPattern: APP_NAME_PATTERN, Description: 'Starts every resource name' },
      ImmProjectName: { Type: 'String', Default: p.ImmProjectName, AllowedPattern: '^[A-Za-z_][A-Za-z0-9_-]{0,127}$', Description: 'The IMM project (created unless CreateImmProject is false)' },
      CreateImmProject: flag(p.CreateImmProject, 'false: the IMM project exists (no project or service role is created)'),
      NoticeTopicName: { Type: 'String', Default: p.NoticeTopicName, AllowedPattern: MNS_TOPIC_PATTERN },
      FailureTopicName: { Type: 'String', Default: p.FailureTopicName, AllowedPattern: MNS_TOPIC_PATTERN },
      CreateTopics: flag(p.CreateTopics, 'false: both topics exist (no topic, queue or subscription is created)'),
      RecordsBucket: { Type: 'String', Default: p.RecordsBucket, AllowedPattern: '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$', Description: 'RECORDS_BUCKET: where the job records live' },
      CreateRecordsBucket: flag(p.CreateRecordsBucket, 'true: the stack creates RecordsBucket (without versioning)'),
      Events: flag(p.Events, 'true: the stack creates the <AppName>-events topic for completion events'),
      EventsQueue: flag(p.EventsQueue, 'true: a queue subscribed to the events topic keeps the events 7 days'),
    },
    Conditions: {
      ImmProjectIsNew: { 'Fn::Equals': ['true', { Ref: 'CreateImmProject' }] },
      TopicsAreNew: { 'Fn::Equals': ['true', { Ref: 'CreateTopics' }] },
      RecordsBucketIsNew: { 'Fn::Equals': ['true', { Ref: 'CreateRecordsBucket' }] },
      EventsAreOn: { 'Fn::Equals': ['true', { Ref: 'Events' }] },
      EventsQueueIsOn: { 'Fn::And': ['EventsAreOn', { 'Fn::Equals': ['true', { Ref: 'EventsQueue' }] }] },
    },
    Resources: resources,
    Outputs: outputs,
  };
}

/** What `${resources.<stack>.output.<Key>}` resolves to, computed offline from the template the stack deploys. */
export function localStackOutputs(stack: StackSpec, functions: FunctionSpec[], accountId: string): Record<string, string> {
  const parameters = stackParameters(stack);
  const deployment: Deployment = { stack, parameters, bucket: '', recordsBucket: parameters.RecordsBucket, recordsPrefix: '', functions: functions.map((f) => ({ resource: f.resource as FunctionRole, functionName: f.functionName })) };
  return evaluateOutputs(stackTemplate(deployment), { stackName: stack.name, region: stack.region, accountId, parameters });
}

// ---------------------------------------------------------------------------------------------------------------
// policies/*.json: the same documents with concrete names, for users who manage roles themselves.

/**
 * What the key that runs `s deploy` needs (policies/deployer.json): ROS runs the stack with the caller's own
 * permissions, so the key needs every action the stack's resources take, plus what fc3 does itself. Names are the
 * ones this s.yaml makes; `ram:PassRole` is limited to exactly the roles the app hands to FC and IMM (its own three
 * function roles and IMM service role, and the default trigger roles fc3 uses for triggers without invocationRole).
 * IMM refuses to create a project unless the caller holds every permission of the project's service role: those
 * statements are included.
 */
export function deployerStatements(deployment: Deployment): Statement[] {
  const p = deployment.parameters;
  const region = deployment.stack.region;
  const ramName = `${p.AppName}-${region}`;
  const roleArn = (name: string) => [`acs:ram:*:*:role/${name.toLowerCase()}`];
  const mns = (path: string): Text => [`acs:mns:${region}:*:${path}`];
  const statements: Statement[] = [
    {
      actions: ['ros:CreateStack', 'ros:DeleteStack', 'ros:GetStack', 'ros:GetTemplate', 'ros:ListStackEvents', 'ros:ListStackResources', 'ros:ListStacks', 'ros:UpdateStack', 'ros:ValidateTemplate'],
      resources: [[`acs:ros:${region}:*:*`]],
    },
    {
      // ALIYUN::RAM::Role: the role, and its policies (created as custom policies and attached).
      actions: [
        'ram:AttachPolicyToRole', 'ram:CreatePolicy', 'ram:CreatePolicyVersion', 'ram:CreateRole', 'ram:DeletePolicy', 'ram:DeletePolicyVersion', 'ram:DeleteRole',
        'ram:DetachPolicyFromRole', 'ram:GetPolicy', 'ram:GetRole', 'ram:ListPoliciesForRole', 'ram:ListPolicyVersions', 'ram:UpdateRole',
      ],
      resources: [[`acs:ram:*:*:role/${ramName}-*`], [`acs:ram:*:*:policy/${ramName}-*`]],
    },
    {
      actions: ['ram:PassRole'],
      resources: [
        ...[...deployment.functions.map((f) => `${ramName}-${f.resource}`), ...(p.CreateImmProject === 'true' ? [`${ramName}-imm`] : [])].map(roleArn),
        roleArn('AliyunOSSEventNotificationRole'),
        roleArn('AliyunMNSNotificationRole'),
      ],
    },
    {
      // fc3 gets or creates the default trigger roles (no invocationRole in s.yaml) and attaches their system policies.
      actions: ['ram:AttachPolicyToRole', 'ram:CreateRole', 'ram:GetRole'],
      resources: [roleArn('AliyunOSSEventNotificationRole'), roleArn('AliyunMNSNotificationRole'), ['acs:ram:*:system:policy/AliyunOSSEventNotificationRolePolicy'], ['acs:ram:*:system:policy/AliyunMNSNotificationRolePolicy']],
    },
    {
      // FC writes the functions' logs with its service-linked role; creating it is allowed for FC only.
      actions: ['ram:CreateServiceLinkedRole'],
      resources: [['*']],
      condition: { StringEquals: { 'ram:ServiceName': ['fc.aliyuncs.com'] } },
    },
    {
      actions: [
        'fc:CreateFunction', 'fc:CreateTrigger', 'fc:DeleteAsyncInvokeConfig', 'fc:DeleteConcurrencyConfig', 'fc:DeleteFunction', 'fc:DeleteTrigger', 'fc:GetAsyncInvokeConfig',
        'fc:GetConcurrencyConfig', 'fc:GetFunction', 'fc:GetTrigger', 'fc:ListTriggers', 'fc:PutAsyncInvokeConfig', 'fc:PutConcurrencyConfig', 'fc:UpdateFunction', 'fc:UpdateTrigger',
      ],
      resources: deployment.functions.map((f) => [`acs:fc:${region}:*:functions/${f.functionName}`]),
    },
    {
      // The OSS trigger sets up the bucket's event notification; doctor reads both buckets' versioning.
      actions: ['oss:GetBucketNotification', 'oss:GetBucketVersioning', 'oss:PutBucketNotification'],
      resources: [[`acs:oss:*:*:${deployment.bucket}`]],
    },
    {
      actions: [
        'log:CreateIndex', 'log:CreateLogStore', 'log:CreateProject', 'log:DeleteIndex', 'log:DeleteLogStore', 'log:DeleteProject', 'log:GetIndex', 'log:GetLogStore',
        'log:GetProject', 'log:UpdateIndex', 'log:UpdateLogStore', 'log:UpdateProject',
      ],
      resources: [[`acs:log:${region}:*:project/${p.AppName}-${region}-*`]],
    },
  ];
  const outputBuckets = [...new Set(outputLocations(deployment.rules ?? [], deployment.bucket).map((l) => l.bucket))].filter((b) => b !== deployment.bucket).sort();
  // doctor reads where each bucket the outputs go to lives (it must be the region's).
  if (outputBuckets.length > 0) statements.push({ actions: ['oss:GetBucketLocation'], resources: outputBuckets.map((b) => [`acs:oss:*:*:${b}`]) });
  if (deployment.recordsBucket !== deployment.bucket) {
    statements.push({
      actions: ['oss:GetBucketVersioning', ...(p.CreateRecordsBucket === 'true' ? ['oss:DeleteBucket', 'oss:GetBucketInfo', 'oss:PutBucket'] : [])],
      resources: [[`acs:oss:*:*:${deployment.recordsBucket}`]],
    });
  }
  if (p.CreateImmProject === 'true') {
    statements.push({ actions: ['imm:CreateProject', 'imm:DeleteProject', 'imm:GetProject', 'imm:UpdateProject'], resources: [[`acs:imm:${region}:*:project/${p.ImmProjectName}`]] });
    statements.push(...immServiceStatements(deployment));
  }
  const topics = [...(p.CreateTopics === 'true' ? [p.NoticeTopicName, p.FailureTopicName] : []), ...(p.Events === 'true' ? [eventsTopicName(p.AppName)] : [])];
  const queues = [...(p.CreateTopics === 'true' ? [p.FailureTopicName] : []), ...(p.Events === 'true' && p.EventsQueue === 'true' ? [eventsTopicName(p.AppName)] : [])];
  if (topics.length > 0) {
    statements.push({
      actions: ['mns:CreateTopic', 'mns:DeleteTopic', 'mns:GetTopicAttributes', 'mns:SetTopicAttributes', 'mns:GetSubscriptionAttributes', 'mns:Subscribe', 'mns:Unsubscribe'],
      resources: topics.flatMap((t) => [mns(`/topics/${t}`), mns(`/topics/${t}/subscriptions/*`)]),
    });
  }
  if (queues.length > 0) {
    statements.push({ actions: ['mns:CreateQueue', 'mns:DeleteQueue', 'mns:GetQueueAttributes', 'mns:SetQueueAttributes'], resources: queues.map((q) => mns(`/queues/${q}`)) });
  }
  return statements;
}

export function policyFiles(deployment: Deployment): Record<string, unknown> {
  const p = deployment.parameters;
  const values: Record<Token, string> = {
    region: deployment.stack.region,
    account: '*',
    project: p.ImmProjectName,
    noticeTopic: p.NoticeTopicName,
    failureTopic: p.FailureTopicName,
    eventsTopic: eventsTopicName(p.AppName),
  };
  const render = (text: Text) => renderForFile(text, values);
  const files: Record<string, unknown> = {
    'fc-trust.json': trustPolicy('fc.aliyuncs.com'),
    'imm-trust.json': trustPolicy('imm.aliyuncs.com'),
    'imm-service-role.json': renderPolicy(immServiceStatements(deployment), render),
  };
  for (const fn of deployment.functions) files[`${fn.resource}-function.json`] = renderPolicy(functionStatements(deployment, fn), render);
  files['deployer.json'] = renderPolicy(deployerStatements(deployment), render);
  return files;
}

export const formatJson = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
