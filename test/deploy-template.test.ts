import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { parseDocument } from 'yaml';
import { writeDeployFiles } from '../deploy/build';
import { checkSpecConsistency, functionRules } from '../deploy/checks';
import { deploymentFromSpec, formatJson, policyFiles, STACK_PARAMETERS, stackTemplate, type Deployment } from '../deploy/deploy-resources';
import { createdResources, evaluateOutputs, unresolvedReferences, type RosTemplate } from '../deploy/ros-template';
import { loadSpec, SpecError, type ServiceSpec } from '../deploy/spec';
import { RulesConfigError } from '../shared/rules/validate';

/**
 * The ROS stack `s deploy` creates before the functions, generated from s.yaml: checked offline against the ROS
 * resource reference (test/fixtures/ros/schema.json), for its references, for the outputs s.yaml reads, for the
 * order Serverless Devs' own parser gives, and for the shape of its least-privilege policies.
 */

const ROOT = path.join(__dirname, '..');
const S_YAML = path.join(ROOT, 's.yaml');
const SCHEMA = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'ros', 'schema.json'), 'utf8')) as RosSchema;

interface PropertySchema {
  type: 'String' | 'Integer' | 'Boolean' | 'Map' | 'List';
  required?: boolean;
  enum?: string[];
  pattern?: string;
  min?: number;
  max?: number;
  maxLength?: number;
  items?: Record<string, PropertySchema>;
  policy?: 'trust' | 'permissions';
}
interface RosSchema {
  template: { formatVersion: string; sections: string[]; parameterKeys: string[]; parameterTypes: string[]; resourceKeys: string[]; outputKeys: string[]; functions: { names: string[] }; pseudoParameters: { names: string[] } };
  policyDocument: { keys: string[]; statementKeys: string[]; effects: string[] };
  types: Record<string, { source: string; properties: Record<string, PropertySchema>; attributes: string[] }>;
}

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** s.yaml with edits, written next to nothing (a temp folder): the same file a user would have after editing. */
async function variant(edit: (doc: ReturnType<typeof parseDocument>) => void): Promise<string> {
  const doc = parseDocument(await readFile(S_YAML, 'utf8'));
  edit(doc);
  const dir = await mkdtemp(path.join(tmpdir(), 'deploy-template-'));
  dirs.push(dir);
  const file = path.join(dir, 's.yaml');
  await writeFile(file, doc.toString());
  return file;
}

/** Another user's rules: two rules under other prefixes, one through engine oss, one with a frame budget. */
const USER_RULES = [
  { name: 'movies', prefix: 'media/movies/', engine: 'oss', outputs: [{ format: 'webp', key: 'previews/{barename}', width: 320, interval: 1, maxFrames: 20 }] },
  { name: 'clips', prefix: 'media/clips/', suffixes: ['mp4'], outputs: [{ format: 'gif', key: '{dirname}/thumbs/{barename}', frames: 12 }] },
];
const userRulesSpec = () =>
  variant((doc) => {
    doc.setIn(['vars', 'rules'], USER_RULES);
    doc.setIn(['vars', 'watchPrefix'], 'media/');
    // The stack declared last: the parser still has to deploy it first.
    const stack = doc.getIn(['resources', 'stack']);
    doc.deleteIn(['resources', 'stack']);
    doc.setIn(['resources', 'stack'], stack);
  });

async function deploymentOf(file: string, env: Record<string, string> = {}): Promise<{ spec: ServiceSpec; deployment: Deployment; template: RosTemplate }> {
  const spec = await loadSpec(file, env);
  const submit = spec.functions.find((f) => f.resource === 'submit')!;
  const deployment = deploymentFromSpec(spec, functionRules(spec, submit), submit.env['RECORDS_PREFIX']!);
  return { spec, deployment, template: stackTemplate(deployment) };
}

const isFunction = (value: unknown) => value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 1 && /^(Ref|Fn::)/.test(Object.keys(value)[0]!);

/** Every departure of the template from the kept schema: sections, keys, types, required and enum values, attributes. */
function schemaProblems(template: RosTemplate): string[] {
  const problems: string[] = [];
  const t = SCHEMA.template;
  if (template.ROSTemplateFormatVersion !== t.formatVersion) problems.push(`ROSTemplateFormatVersion ${template.ROSTemplateFormatVersion}`);
  for (const key of Object.keys(template)) if (!t.sections.includes(key)) problems.push(`unknown section ${key}`);
  for (const [name, p] of Object.entries(template.Parameters ?? {})) {
    for (const key of Object.keys(p)) if (!t.parameterKeys.includes(key)) problems.push(`Parameters.${name}: unknown key ${key}`);
    if (!t.parameterTypes.includes(p.Type)) problems.push(`Parameters.${name}: type ${p.Type}`);
  }
  for (const [name, o] of Object.entries(template.Outputs ?? {})) for (const key of Object.keys(o)) if (!t.outputKeys.includes(key)) problems.push(`Outputs.${name}: unknown key ${key}`);

  const functions = (node: unknown, where: string): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach((n, i) => functions(n, `${where}[${i}]`));
    for (const [key, value] of Object.entries(node)) {
      if ((key === 'Ref' || key.startsWith('Fn::')) && !t.functions.names.includes(key)) problems.push(`${where}: function ${key} is not in the schema`);
      if (key === 'Ref' && typeof value === 'string' && value.startsWith('ALIYUN::') && !t.pseudoParameters.names.includes(value)) problems.push(`${where}: pseudo parameter ${value}`);
      functions(value, `${where}.${key}`);
    }
  };
  functions(template, 'template');

  const policy = (doc: unknown, kind: 'trust' | 'permissions', where: string) => {
    const d = doc as { Version?: unknown; Statement?: Record<string, unknown>[] };
    for (const key of Object.keys(d)) if (!SCHEMA.policyDocument.keys.includes(key)) problems.push(`${where}: unknown key ${key}`);
    if (d.Version !== '1') problems.push(`${where}.Version must be '1'`);
    (d.Statement ?? []).forEach((s, i) => {
      for (const key of Object.keys(s)) if (!SCHEMA.policyDocument.statementKeys.includes(key)) problems.push(`${where}.Statement[${i}]: unknown key ${key}`);
      if (!SCHEMA.policyDocument.effects.includes(s['Effect'] as string)) problems.push(`${where}.Statement[${i}].Effect`);
      if (kind === 'trust' && !s['Principal']) problems.push(`${where}.Statement[${i}]: a trust policy names a Principal`);
      if (kind === 'permissions' && (!s['Resource'] || s['Principal'])) problems.push(`${where}.Statement[${i}]: a permission policy has Resource and no Principal`);
    });
  };

  const value = (v: unknown, s: PropertySchema, where: string) => {
    if (isFunction(v)) return;
    const typeOk = { String: typeof v === 'string', Integer: Number.isInteger(v), Boolean: typeof v === 'boolean', Map: v !== null && typeof v === 'object' && !Array.isArray(v), List: Array.isArray(v) }[s.type];
    if (!typeOk) return problems.push(`${where}: expected ${s.type}, got ${JSON.stringify(v)}`);
    if (s.enum && !s.enum.includes(v as string)) problems.push(`${where}: ${String(v)} is not one of ${s.enum.join(', ')}`);
    if (s.pattern && !new RegExp(s.pattern).test(v as string)) problems.push(`${where}: "${String(v)}" does not match ${s.pattern}`);
    if (s.min !== undefined && (v as number) < s.min) problems.push(`${where}: below ${s.min}`);
    if (s.max !== undefined && (v as number) > s.max) problems.push(`${where}: above ${s.max}`);
    if (s.maxLength !== undefined && (v as string).length > s.maxLength) problems.push(`${where}: longer than ${s.maxLength}`);
    if (s.policy) policy(v, s.policy, where);
    if (s.items) (v as Record<string, unknown>[]).forEach((item, i) => properties(item, s.items!, `${where}[${i}]`));
  };
  const properties = (props: Record<string, unknown>, schema: Record<string, PropertySchema>, where: string) => {
    for (const [name, v] of Object.entries(props)) {
      const s = schema[name];
      if (!s) problems.push(`${where}.${name}: not a documented property`);
      else value(v, s, `${where}.${name}`);
    }
    for (const [name, s] of Object.entries(schema)) if (s.required && props[name] === undefined) problems.push(`${where}.${name}: required`);
  };
  for (const [id, resource] of Object.entries(template.Resources)) {
    for (const key of Object.keys(resource)) if (!t.resourceKeys.includes(key)) problems.push(`Resources.${id}: unknown key ${key}`);
    const type = SCHEMA.types[resource.Type];
    if (!type) {
      problems.push(`Resources.${id}: type ${resource.Type} is not in the kept schema`);
      continue;
    }
    properties(resource.Properties ?? {}, type.properties, `Resources.${id}.Properties`);
  }
  // Every attribute read (Fn::GetAtt, or ${Resource.Attribute} in Fn::Sub) is one the type documents.
  const text = JSON.stringify(template);
  for (const m of text.matchAll(/"Fn::GetAtt":\["([^"]+)","([^"]+)"\]/g)) {
    const type = SCHEMA.types[template.Resources[m[1]!]?.Type ?? ''];
    if (!type?.attributes.includes(m[2]!)) problems.push(`Fn::GetAtt ${m[1]}.${m[2]}: not a documented attribute`);
  }
  for (const m of text.matchAll(/\$\{([A-Za-z0-9]+)\.([A-Za-z.]+)\}/g)) {
    const type = SCHEMA.types[template.Resources[m[1]!]?.Type ?? ''];
    if (!type?.attributes.includes(m[2]!)) problems.push(`\${${m[1]}.${m[2]}}: not a documented attribute`);
  }
  return problems;
}

type PolicyStatement = { Effect: string; Action: string[]; Resource: unknown[]; Condition?: Record<string, Record<string, string[]>> };
const rolePolicies = (template: RosTemplate) =>
  Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'ALIYUN::RAM::Role')
    .map(([id, r]) => ({ id, statements: ((r.Properties?.['Policies'] as { PolicyDocument: { Statement: PolicyStatement[] } }[] | undefined) ?? []).flatMap((p) => p.PolicyDocument.Statement) }));
const resourceText = (r: unknown) => (typeof r === 'string' ? r : (r as { 'Fn::Sub': string })['Fn::Sub']);

/** One line per (resource, condition): its actions, sorted: what a role may do, however the statements group it. */
function grants(statements: PolicyStatement[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const s of statements) {
    for (const r of s.Resource) {
      const key = `${resourceText(r)}${s.Condition ? ` if ${JSON.stringify(s.Condition)}` : ''}`;
      for (const a of s.Action) (out[key] ??= new Set()).add(a);
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

describe('the stack template for the default rules (s.yaml)', async () => {
  const { spec, deployment, template } = await deploymentOf(S_YAML);

  test('types and property names are the ROS reference ones (test/fixtures/ros/schema.json)', () => {
    assert.deepEqual(schemaProblems(template), []);
    assert.deepEqual(
      [...new Set(Object.values(template.Resources).map((r) => r.Type))].sort(),
      ['ALIYUN::IMM::Project2', 'ALIYUN::MNS::Queue', 'ALIYUN::MNS::Subscription', 'ALIYUN::MNS::Topic', 'ALIYUN::OSS::Bucket', 'ALIYUN::RAM::Role', 'ALIYUN::SLS::Index', 'ALIYUN::SLS::Logstore', 'ALIYUN::SLS::Project'],
    );
  });

  test('every Ref, Fn::GetAtt, ${...} and condition resolves inside the template', () => {
    assert.deepEqual(unresolvedReferences(template), []);
  });

  test('the schema check catches an undocumented property, type, attribute and a missing required one', () => {
    const broken = structuredClone(template);
    (broken.Resources['NoticeTopic']!.Properties as Record<string, unknown>)['Name'] = 'x';
    (broken.Resources['FailureQueue']!.Properties as Record<string, unknown>)['MessageRetentionPeriod'] = '7d';
    delete (broken.Resources['ImmProject']!.Properties as Record<string, unknown>)['ProjectName'];
    broken.Outputs!['ImmServiceRoleArn']!.Value = { 'Fn::GetAtt': ['ImmServiceRole', 'ARN'] };
    broken.Resources['Extra'] = { Type: 'ALIYUN::ECS::Instance', Properties: {} };
    const problems = schemaProblems(broken).join('\n');
    for (const expected of ['NoticeTopic.Properties.Name: not a documented property', 'MessageRetentionPeriod: expected Integer', 'ImmProject.Properties.ProjectName: required', 'ImmServiceRole.ARN: not a documented attribute', 'ALIYUN::ECS::Instance is not in the kept schema']) {
      assert.ok(problems.includes(expected), `${expected}\nin\n${problems}`);
    }
  });

  test('creates the IMM project with its own service role (trusts imm.aliyuncs.com), the notice, failure and events topics, a queue on the failure topic, the log project, store and index, one role per function (trusts fc.aliyuncs.com)', () => {
    const r = template.Resources;
    assert.deepEqual(createdResources(template, { stackName: 'video-animation-stack', region: 'cn-hangzhou', accountId: '1', parameters: deployment.parameters }).sort(), [
      'EventsTopic', 'FailureQueue', 'FailureQueueSubscription', 'FailureTopic', 'ImmProject', 'ImmServiceRole', 'LogIndex', 'LogProject', 'LogStore', 'NoticeTopic', 'ReconcileRole', 'RecordRole', 'SubmitRole',
    ]);
    assert.deepEqual(r['ImmProject']!.Properties!['ServiceRole'], { 'Fn::GetAtt': ['ImmServiceRole', 'RoleName'] });
    assert.deepEqual((r['ImmServiceRole']!.Properties!['AssumeRolePolicyDocument'] as { Statement: { Principal: unknown }[] }).Statement[0]!.Principal, { Service: ['imm.aliyuncs.com'] });
    for (const role of ['SubmitRole', 'RecordRole', 'ReconcileRole']) {
      assert.deepEqual((r[role]!.Properties!['AssumeRolePolicyDocument'] as { Statement: { Principal: unknown }[] }).Statement[0]!.Principal, { Service: ['fc.aliyuncs.com'] });
    }
    assert.deepEqual(r['FailureQueueSubscription']!.Properties!['TopicName'], { 'Fn::GetAtt': ['FailureTopic', 'TopicName'] });
    assert.match(resourceText(r['FailureQueueSubscription']!.Properties!['Endpoint']), /^acs:mns:\$\{ALIYUN::Region\}:\$\{ALIYUN::AccountId\}:queues\/\$\{FailureQueue\.QueueName\}$/);
  });

  test('the IMM service role reads the sources, writes the animations and posters, publishes to the notice topic: nothing else', () => {
    const imm = rolePolicies(template).find((p) => p.id === 'ImmServiceRole')!;
    assert.deepEqual(grants(imm.statements), {
      'acs:oss:*:*:my-video-bucket/videos/*': ['oss:GetObject'],
      'acs:oss:*:*:my-video-bucket/animations/*': ['oss:PutObject'],
      'acs:oss:*:*:my-video-bucket/posters/*': ['oss:PutObject'],
      'acs:mns:${ALIYUN::Region}:${ALIYUN::AccountId}:/topics/${NoticeTopicName}': ['mns:PublishMessage'],
      'acs:mns:${ALIYUN::Region}:${ALIYUN::AccountId}:/topics/${NoticeTopicName}/messages': ['mns:PublishMessage'],
    });
  });

  test('RAM role and inline policy names (account-wide) carry the app name and the region', () => {
    for (const [id, r] of Object.entries(template.Resources).filter(([, r]) => r.Type === 'ALIYUN::RAM::Role')) {
      assert.match(resourceText(r.Properties!['RoleName']), /^\$\{AppName\}-\$\{ALIYUN::Region\}-/, id);
      for (const p of r.Properties!['Policies'] as { PolicyName: unknown }[]) assert.match(resourceText(p.PolicyName), /^\$\{AppName\}-\$\{ALIYUN::Region\}-/, id);
    }
    assert.equal(spec.stacks[0]!.name, 'video-animation-stack');
    assert.equal(spec.stacks[0]!.parameters['AppName'], 'video-animation');
    assert.deepEqual(Object.keys(template.Parameters!), [...STACK_PARAMETERS]);
    assert.deepEqual(Object.keys(spec.stacks[0]!.parameters).sort(), [...STACK_PARAMETERS].sort(), 'the ros resource passes exactly the declared parameters');
  });

  test('s.yaml keeps ROS functions out of itself and reads the template from a path relative to where `s` runs', async () => {
    const text = await readFile(S_YAML, 'utf8');
    assert.doesNotMatch(text, /Fn::|\$\{ALIYUN::/);
    assert.equal(spec.stacks[0]!.template, './dist/ros/stack.json');
  });

  test('npm run build writes that template where the ros resource reads it, and the policies beside s.yaml', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'deploy-policies-'));
    dirs.push(dir);
    const written = await writeDeployFiles(spec, { policiesDir: dir });
    assert.equal(written.template, path.join(ROOT, 'dist', 'ros', 'stack.json'));
    assert.deepEqual(JSON.parse(await readFile(written.template!, 'utf8')), template);
    assert.equal(written.policies.length, Object.keys(policyFiles(deployment)).length, 'every policy is written into an empty folder');
    assert.deepEqual((await writeDeployFiles(spec, { policiesDir: dir })).policies, [], 'a second build changes nothing');
    for (const [name, document] of Object.entries(policyFiles(deployment))) {
      assert.deepEqual(JSON.parse(await readFile(path.join(ROOT, 'policies', name), 'utf8')), document, name);
    }
  });
});

describe('least privilege, for the default rules and for a user\'s rules', async () => {
  const cases = [
    { name: 'default rules', ...(await deploymentOf(S_YAML)), prefixes: ['videos/', 'animations/', 'posters/', '.video-animation/'] },
    { name: 'two rules, other prefixes, engine oss', ...(await deploymentOf(await userRulesSpec())), prefixes: ['media/movies/', 'media/clips/', 'previews/', '.video-animation/'] },
  ];
  for (const c of cases) {
    test(`${c.name}: no * action, OSS only under the rule, output and records prefixes, listing only the records`, () => {
      for (const { id, statements } of rolePolicies(c.template)) {
        for (const s of statements) {
          for (const action of s.Action) assert.doesNotMatch(action, /\*/, `${id}: ${action}`);
          for (const r of s.Resource.map(resourceText)) {
            if (!r.startsWith('acs:oss:')) continue;
            const object = /^acs:oss:\*:\*:my-video-bucket\/(.+)\*$/.exec(r);
            if (object) {
              assert.ok(c.prefixes.includes(object[1]!), `${id}: ${r} is outside ${c.prefixes.join(', ')}`);
            } else if (s.Action.includes('oss:GetBucketVersioning')) {
              assert.equal(r, 'acs:oss:*:*:my-video-bucket', `${id}: ${r}`);
              assert.deepEqual(s.Action, ['oss:GetBucketVersioning'], `${id}: versioning is read alone, on the records bucket`);
            } else {
              assert.equal(r, 'acs:oss:*:*:my-video-bucket', `${id}: ${r}`);
              assert.deepEqual(s.Action, ['oss:ListObjects'], `${id}: only listing is bucket-level`);
              assert.deepEqual(s.Condition, { StringLike: { 'oss:Prefix': ['.video-animation/*'] } });
            }
          }
        }
      }
    });
  }

  test("a user's rules: each function gets its calls on that rule's keys only (engine oss: async processing on its sources, saveas on its outputs)", () => {
    const { template } = cases[1]!;
    const p = Object.fromEntries(rolePolicies(template).map((r) => [r.id, grants(r.statements)]));
    const bucket = (prefix: string) => `acs:oss:*:*:my-video-bucket/${prefix}*`;
    const records = {
      [bucket('.video-animation/')]: ['oss:DeleteObject', 'oss:GetObject', 'oss:PutObject'],
      'acs:oss:*:*:my-video-bucket if {"StringLike":{"oss:Prefix":[".video-animation/*"]}}': ['oss:ListObjects'],
      'acs:oss:*:*:my-video-bucket': ['oss:GetBucketVersioning'],
    };
    const events = {
      'acs:mns:${ALIYUN::Region}:${ALIYUN::AccountId}:/topics/${AppName}-events': ['mns:PublishMessage'],
      'acs:mns:${ALIYUN::Region}:${ALIYUN::AccountId}:/topics/${AppName}-events/messages': ['mns:PublishMessage'],
    };
    const imm = 'acs:imm:${ALIYUN::Region}:${ALIYUN::AccountId}:project/${ImmProjectName}';
    const failure = {
      'acs:mns:${ALIYUN::Region}:${ALIYUN::AccountId}:/topics/${FailureTopicName}': ['mns:PublishMessage'],
      'acs:mns:${ALIYUN::Region}:${ALIYUN::AccountId}:/topics/${FailureTopicName}/messages': ['mns:PublishMessage'],
    };
    const asyncProcess = { [bucket('media/movies/')]: ['oss:GetObject', 'oss:PostProcessTask', 'oss:ProcessImm'], [bucket('previews/')]: ['oss:PutObject'] };
    assert.deepEqual(p['SubmitRole'], {
      ...records,
      [bucket('media/clips/')]: ['oss:GetObject'],
      ...asyncProcess,
      [imm]: ['imm:CreateMediaConvertTask', 'imm:DetectMediaMeta', 'imm:ListTasks'],
      ...failure,
    });
    // Recording copies each output onto itself with its headers and tags, removes a poster's candidates.
    const recordOutputs = {
      [bucket('media/clips/')]: ['oss:DeleteObject', 'oss:GetObject', 'oss:PutObject', 'oss:PutObjectTagging'],
      [bucket('previews/')]: ['oss:DeleteObject', 'oss:GetObject', 'oss:PutObject', 'oss:PutObjectTagging'],
    };
    // Completion events: record and reconcile publish to exactly the events topic; submit does not.
    assert.deepEqual(p['RecordRole'], { ...records, ...asyncProcess, ...recordOutputs, [imm]: ['imm:CreateMediaConvertTask', 'imm:DetectMediaMeta', 'imm:ListTasks'], ...events, ...failure });
    assert.deepEqual(p['ReconcileRole'], { ...records, ...asyncProcess, ...recordOutputs, [imm]: ['imm:CreateMediaConvertTask', 'imm:DetectMediaMeta', 'imm:GetTask', 'imm:ListTasks'], ...events });
    assert.deepEqual(p['ImmServiceRole'], {
      [bucket('media/clips/')]: ['oss:GetObject', 'oss:PutObject'],
      [bucket('media/movies/')]: ['oss:GetObject'],
      [bucket('previews/')]: ['oss:PutObject'],
      'acs:mns:${ALIYUN::Region}:${ALIYUN::AccountId}:/topics/${NoticeTopicName}': ['mns:PublishMessage'],
      'acs:mns:${ALIYUN::Region}:${ALIYUN::AccountId}:/topics/${NoticeTopicName}/messages': ['mns:PublishMessage'],
    });
    assert.deepEqual(schemaProblems(template), []);
    assert.deepEqual(unresolvedReferences(template), []);
  });

  test('an output template with no literal start fails the build instead of granting the whole bucket', async () => {
    for (const [rules, expected] of [
      [[{ name: 'all', prefix: 'videos/', outputs: [{ format: 'gif', key: '{barename}-preview', interval: 1 }] }], /rule "all" outputs\[0\]\.key "\{barename\}-preview": the literal start of its output keys is empty/],
    ] as const) {
      const file = await variant((doc) => doc.setIn(['vars', 'rules'], rules));
      await assert.rejects(deploymentOf(file), (error: unknown) => {
        assert.match((error as Error).message, expected);
        assert.match((error as Error).message, /would need access to every object in the bucket/);
        return true;
      });
    }
  });
});

describe('pointing s.yaml at an existing project and topics', async () => {
  const file = await variant((doc) => {
    doc.setIn(['vars', 'createImmProject'], 'false');
    doc.setIn(['vars', 'immProject'], 'our-imm');
    doc.setIn(['vars', 'createTopics'], 'false');
    doc.setIn(['vars', 'topic'], 'our-done');
    doc.setIn(['vars', 'failureTopic'], 'our-failed');
  });
  const { spec, template, deployment } = await deploymentOf(file);

  test('the stack creates only the function roles, the events topic and the log project; its outputs name the existing project and topics', () => {
    const context = { stackName: spec.stacks[0]!.name, region: 'cn-hangzhou', accountId: '1234567890', parameters: deployment.parameters };
    assert.deepEqual(createdResources(template, context).sort(), ['EventsTopic', 'LogIndex', 'LogProject', 'LogStore', 'ReconcileRole', 'RecordRole', 'SubmitRole']);
    assert.deepEqual(evaluateOutputs(template, context), {
      ImmProjectName: 'our-imm',
      NoticeTopicName: 'our-done',
      FailureTopicName: 'our-failed',
      EventsTopicName: 'video-animation-events',
      LogProjectName: 'video-animation-cn-hangzhou-1234567890',
      LogStoreName: 'functions',
      SubmitRoleArn: 'acs:ram::1234567890:role/video-animation-cn-hangzhou-submit',
      RecordRoleArn: 'acs:ram::1234567890:role/video-animation-cn-hangzhou-record',
      ReconcileRoleArn: 'acs:ram::1234567890:role/video-animation-cn-hangzhou-reconcile',
    });
  });

  test('locally, the functions get those names (what `s deploy` would pass them from the stack outputs)', () => {
    const record = spec.functions.find((f) => f.resource === 'record')!;
    assert.equal(record.env['IMM_PROJECT'], 'our-imm');
    assert.equal(record.env['MNS_TOPIC'], 'our-done');
    assert.deepEqual(record.mnsTriggers.map((t) => t.topic), ['our-done']);
    assert.equal(record.onFailureDestination, 'acs:mns:cn-hangzhou::/topics/our-failed/messages');
  });
});

describe('Serverless Devs reads the stack first', async () => {
  const { default: ParseSpec } = await import('@serverless-devs/parse-spec');
  async function steps(file: string) {
    const saved = { ...process.env };
    Object.assign(process.env, { AccountID: '1234567890', AccessKeyID: 'local', AccessKeySecret: 'local' });
    const quiet = () => undefined;
    const logger = { debug: quiet, info: quiet, warn: quiet, error: quiet, write: quiet, output: quiet, append: quiet };
    try {
      const parsed = (await new ParseSpec(file, { argv: ['deploy'], logger } as never).start()) as { steps: { projectName: string; component: string; props: unknown; order?: number }[] };
      return parsed.steps;
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  }

  for (const [name, file] of [['s.yaml', S_YAML], ['a spec declaring the stack last', await userRulesSpec()]] as const) {
    test(`${name}: @serverless-devs/parse-spec orders the ros step before every fc3 step that reads its outputs`, async () => {
      const list = await steps(file);
      assert.deepEqual(list.map((s) => s.component), ['ros', 'fc3', 'fc3', 'fc3']);
      const stack = list[0]!;
      for (const fn of list.slice(1)) {
        assert.ok((fn.order ?? 0) > (stack.order ?? 0), `${fn.projectName} after ${stack.projectName}`);
        assert.match(JSON.stringify(fn.props), /\$\{resources\.stack\.output\.[A-Za-z]+RoleArn\}/, `${fn.projectName} reads its role from the stack`);
      }
    });
  }

  test('every output s.yaml reads exists in the template, and exists whatever the parameters (no Condition)', async () => {
    const list = await steps(S_YAML);
    const { template } = await deploymentOf(S_YAML);
    const read = new Set([...JSON.stringify(list.map((s) => s.props)).matchAll(/\$\{resources\.stack\.output\.([A-Za-z0-9]+)\}/g)].map((m) => m[1]!));
    assert.deepEqual([...read].sort(), ['EventsTopicName', 'FailureTopicName', 'ImmProjectName', 'LogProjectName', 'LogStoreName', 'NoticeTopicName', 'ReconcileRoleArn', 'RecordRoleArn', 'SubmitRoleArn']);
    for (const key of read) {
      assert.ok(template.Outputs?.[key], `output ${key}`);
      assert.equal(template.Outputs[key]!.Condition, undefined, `output ${key} must not depend on a condition`);
    }
  });

  test('loadSpec resolves those outputs offline to what the template gives for the parameters', async () => {
    const spec = await loadSpec(S_YAML, { AccountID: '1111' });
    const { template, deployment } = await deploymentOf(S_YAML);
    assert.deepEqual(spec.stacks[0]!.outputs, evaluateOutputs(template, { stackName: 'video-animation-stack', region: 'cn-hangzhou', accountId: '1111', parameters: deployment.parameters }));
    for (const fn of spec.functions) {
      assert.equal(fn.env['IMM_PROJECT'], spec.stacks[0]!.outputs['ImmProjectName']);
      assert.equal(fn.env['MNS_TOPIC'], spec.stacks[0]!.outputs['NoticeTopicName']);
    }
  });
});

describe('static consistency at build time', async () => {
  const spec0 = await loadSpec(S_YAML);
  const expectSpecError = async (file: string, pattern: RegExp) => {
    const spec = await loadSpec(file);
    assert.throws(() => checkSpecConsistency(spec), (error: unknown) => {
      assert.ok(error instanceof SpecError, String(error));
      assert.match(error.message, pattern);
      return true;
    });
  };

  test('s.yaml as shipped is consistent', () => {
    assert.doesNotThrow(() => checkSpecConsistency(spec0));
  });

  test("submit's MNS_TOPIC must be the topic the record function's trigger listens to", async () => {
    const file = await variant((doc) => doc.setIn(['resources', 'submit', 'props', 'environmentVariables', 'MNS_TOPIC'], 'somewhere-else'));
    await expectSpecError(file, /resources\.submit\.props\.environmentVariables\.MNS_TOPIC = "somewhere-else" but resources\.record's mns_topic trigger listens to "video-animation-done": IMM would publish every completion notice where nothing listens/);
  });

  test('RULES in a function environment is validated like vars.rules, naming the resource and field', async () => {
    const bad = await variant((doc) => doc.setIn(['resources', 'record', 'props', 'environmentVariables', 'RULES'], JSON.stringify([{ name: 'x', prefix: 'videos/', outputs: [{ format: 'gif', key: 'a/{basename}', fps: 3 }] }])));
    const spec = await loadSpec(bad);
    assert.throws(() => checkSpecConsistency(spec), (error: unknown) => {
      assert.ok(error instanceof RulesConfigError);
      assert.match(error.message, /^invalid rules in s\.yaml resources\.record\.props\.environmentVariables\.RULES:/);
      assert.ok(error.problems.includes('rule "x" outputs[0]: unknown field "fps"'), error.problems.join('\n'));
      return true;
    });
    const notJson = await variant((doc) => doc.setIn(['resources', 'reconcile', 'props', 'environmentVariables', 'RULES'], '[{name: x}]'));
    await expectSpecError(notJson, /^s\.yaml resources\.reconcile\.props\.environmentVariables\.RULES is not JSON/);
  });

  test('every function must run the same rules: RULES that differ from vars.rules fail; the same rules pass', async () => {
    const other = [{ name: 'other', prefix: 'videos/', outputs: [{ format: 'gif', key: 'animations/{dirname}/{basename}', interval: 1 }] }];
    const differs = await variant((doc) => doc.setIn(['resources', 'reconcile', 'props', 'environmentVariables', 'RULES'], JSON.stringify(other)));
    await expectSpecError(differs, /resources\.reconcile runs other rules \(resources\.reconcile\.props\.environmentVariables\.RULES\) than resources\.submit \(vars\.rules \(embedded\)\)/);
    const same = await variant((doc) => {
      const rules = (doc.getIn(['vars', 'rules']) as { toJSON(): unknown }).toJSON();
      for (const fn of ['submit', 'record', 'reconcile']) doc.setIn(['resources', fn, 'props', 'environmentVariables', 'RULES'], JSON.stringify(rules));
    });
    const sameSpec = await loadSpec(same);
    assert.doesNotThrow(() => checkSpecConsistency(sameSpec));
  });

  test('IMM_PROJECT and RECORDS_PREFIX must be the same for every function; reconcile BUCKET must be the watched bucket', async () => {
    const file = await variant((doc) => {
      doc.setIn(['resources', 'record', 'props', 'environmentVariables', 'IMM_PROJECT'], 'another-project');
      doc.setIn(['resources', 'reconcile', 'props', 'environmentVariables', 'RECORDS_PREFIX'], '.other/');
      doc.setIn(['resources', 'reconcile', 'props', 'environmentVariables', 'BUCKET'], 'not-the-bucket');
    });
    await expectSpecError(file, /environmentVariables\.RECORDS_PREFIX = "\.other\/": every function must read and write the same job records/);
    await expectSpecError(file, /resources\.record\.props\.environmentVariables\.IMM_PROJECT = "another-project".*tasks started in one project cannot be found/);
    await expectSpecError(file, /resources\.reconcile\.props\.environmentVariables\.BUCKET = "not-the-bucket" but the OSS trigger watches "my-video-bucket"/);
  });

  test('a bad stack parameter names the resource and the field', async () => {
    const file = await variant((doc) => doc.setIn(['vars', 'createTopics'], 'yes'));
    await assert.rejects(loadSpec(file), /^SpecError: s\.yaml resources\.stack\.props\.parameters:\n {2}- CreateTopics "yes": 'true' \(the stack creates it\) or 'false'/);
  });

  test('npm run build after editing the rules succeeds and rewrites the policies beside that s.yaml', async () => {
    const file = await userRulesSpec();
    const dir = path.join(path.dirname(file), 'policies');
    await mkdir(dir, { recursive: true });
    const stale = formatJson({ Version: '1', Statement: [] });
    await writeFile(path.join(dir, 'submit-function.json'), stale);
    const build = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'build.ts'), file], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(build.status, 0, build.stderr);
    const edited = await loadSpec(file);
    const expected = policyFiles(deploymentFromSpec(edited, functionRules(edited, edited.functions[0]!), '.video-animation/'));
    const names = Object.keys(expected).sort();
    assert.deepEqual((await readdir(dir)).sort(), names);
    for (const name of names) assert.equal(await readFile(path.join(dir, name), 'utf8'), formatJson(expected[name]), name);
    assert.notEqual(await readFile(path.join(dir, 'submit-function.json'), 'utf8'), stale);
    assert.match(await readFile(path.join(dir, 'submit-function.json'), 'utf8'), /media\/movies\//, "the edited rules' prefixes");
    assert.match(build.stdout, /submit-function\.json {2}\(changed\)/);
  });
});

describe('outputs in another bucket, posters and storyboards', () => {
  test('the record role and the IMM service role reach exactly those keys, in the bucket each output names', async () => {
    const rules = [
      {
        name: 'kit',
        prefix: 'videos/',
        outputs: [
          { format: 'gif', key: 'previews/{basename}', bucket: 'public-previews' },
          { kind: 'poster', key: 'posters/{basename}' },
          { kind: 'storyboard', key: 'boards/{basename}' },
        ],
      },
    ];
    const { template } = await deploymentOf(await variant((doc) => doc.setIn(['vars', 'rules'], rules)));
    const p = Object.fromEntries(rolePolicies(template).map((r) => [r.id, grants(r.statements)]));
    const outputs = ['acs:oss:*:*:public-previews/previews/*', 'acs:oss:*:*:my-video-bucket/posters/*', 'acs:oss:*:*:my-video-bucket/boards/*'];
    for (const resource of outputs) {
      assert.deepEqual(p['RecordRole']?.[resource], ['oss:DeleteObject', 'oss:GetObject', 'oss:PutObject', 'oss:PutObjectTagging'], resource);
      assert.deepEqual(p['ImmServiceRole']?.[resource], ['oss:PutObject'], resource);
    }
    assert.equal(p['RecordRole']?.['acs:oss:*:*:my-video-bucket/previews/*'], undefined, 'not in the watched bucket');
  });
});
