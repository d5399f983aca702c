import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { parseDocument } from 'yaml';
import { checkSpecConsistency, functionRules } from '../deploy/checks';
import { deploymentFromSpec, functionStatements, policyFiles, stackTemplate, type Deployment } from '../deploy/deploy-resources';
import { createdNames, type CreatedName } from '../deploy/names';
import { createdResources } from '../deploy/ros-template';
import { loadSpec, SpecError, type ServiceSpec } from '../deploy/spec';

/**
 * Every name a deployment creates derives from vars.app (account-wide RAM names also from the region), fits its
 * service's limit, and carries what FC cannot update in a trigger; the build refuses names that collide or are too
 * long, naming the field and the limit.
 */

const ROOT = path.join(__dirname, '..');
const S_YAML = path.join(ROOT, 's.yaml');

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function deploymentOf(env: Record<string, string> = {}, file = S_YAML): Promise<{ spec: ServiceSpec; deployment: Deployment; names: CreatedName[] }> {
  const spec = await loadSpec(file, env);
  const submit = spec.functions.find((f) => f.resource === 'submit')!;
  const deployment = deploymentFromSpec(spec, functionRules(spec, submit), submit.env['RECORDS_PREFIX']!);
  return { spec, deployment, names: createdNames(spec, deployment) };
}

async function variant(edit: (doc: ReturnType<typeof parseDocument>) => void): Promise<string> {
  const doc = parseDocument(await readFile(S_YAML, 'utf8'));
  edit(doc);
  const dir = await mkdtemp(path.join(tmpdir(), 'deploy-names-'));
  dirs.push(dir);
  const file = path.join(dir, 's.yaml');
  await writeFile(file, doc.toString());
  return file;
}

async function refused(env: Record<string, string>, pattern: RegExp, file = S_YAML) {
  const spec = await loadSpec(file, env);
  assert.throws(() => checkSpecConsistency(spec), (error: unknown) => {
    assert.ok(error instanceof SpecError, String(error));
    assert.match(error.message, pattern);
    return true;
  });
}

describe('names', () => {
  test('s.yaml as shipped makes 23 names, each within its limit, and passes the checks', async () => {
    const { spec, names } = await deploymentOf();
    checkSpecConsistency(spec);
    // stack, 3 functions, 3 triggers, 4 roles (3 functions and IMM) with 4 policies, 3 topics, 1 queue and its
    // subscription, the IMM project, the log project and its store.
    assert.equal(names.length, 23, names.map((n) => `${n.rule.kind} ${n.name}`).join('\n'));
    for (const n of names) {
      assert.ok(n.name.length >= n.rule.min && n.name.length <= n.rule.max, `${n.rule.kind} ${n.name}`);
      assert.match(n.name, n.rule.pattern, n.rule.kind);
    }
    // The limits, from the services' references (deploy/names.ts has the sources).
    const max = Object.fromEntries(names.map((n) => [n.rule.kind, n.rule.max]));
    assert.deepEqual(max, {
      'ROS stack name': 255,
      'FC function name': 64,
      'FC trigger name': 128,
      'RAM role name': 64,
      'RAM policy name': 128,
      'MNS topic name': 120,
      'MNS queue name': 120,
      'MNS subscription name': 256,
      'IMM project name': 128,
      'SLS project name': 63,
      'SLS Logstore name': 36,
    });
  });

  test('two configurations with different app share no name; RAM names carry the region', async () => {
    const first = await deploymentOf();
    const second = await deploymentOf({ APP_NAME: 'clips' });
    // A name inside another resource (a Logstore in its project) is compared with its parent.
    const same = (a: CreatedName, b: CreatedName) => a.name === b.name && a.parent === b.parent;
    const shared = first.names.filter((a) => second.names.some((b) => same(a, b)));
    assert.deepEqual(shared, []);
    for (const { names } of [first, second]) {
      const ram = names.filter((n) => n.rule.kind.startsWith('RAM '));
      assert.equal(ram.length, 8);
      for (const n of ram) assert.ok(n.name.includes('-cn-hangzhou-'), n.name);
    }
    const otherRegion = await deploymentOf({ REGION: 'cn-shanghai' });
    const ramShared = first.names.filter((a) => a.rule.kind.startsWith('RAM ') && otherRegion.names.some((b) => b.name === a.name));
    assert.deepEqual(ramShared, [], 'the same app in two regions shares no RAM name');
    assert.deepEqual(
      second.spec.functions.map((f) => f.functionName),
      ['clips-submit', 'clips-record', 'clips-reconcile'],
    );
  });

  test('changing BUCKET changes the OSS trigger name; changing the topic changes the mns_topic trigger name', async () => {
    const first = await deploymentOf();
    const moved = await deploymentOf({ BUCKET: 'other-videos', MNS_TOPIC: 'other-done' });
    const oss = (s: ServiceSpec) => s.functions.flatMap((f) => f.ossTriggers.map((t) => t.name));
    const mns = (s: ServiceSpec) => s.functions.flatMap((f) => f.mnsTriggers.map((t) => t.name));
    assert.deepEqual(oss(first.spec), ['video-animation-oss-my-video-bucket']);
    assert.deepEqual(oss(moved.spec), ['video-animation-oss-other-videos']);
    assert.deepEqual(mns(first.spec), ['video-animation-mns-video-animation-done']);
    assert.deepEqual(mns(moved.spec), ['video-animation-mns-other-done']);
    checkSpecConsistency(moved.spec);
  });

  test('an app name that makes a RAM role name longer than 64 characters is refused, naming the field and the limit', async () => {
    await refused({ APP_NAME: `a${'b'.repeat(45)}` }, /vars\.app and vars\.region: the RAM role name "a?b+-cn-hangzhou-reconcile" has 6\d characters; the limit is 1-64/);
  });

  test('a topic that another name already takes is refused, naming both fields', async () => {
    await refused({ MNS_TOPIC: 'video-animation-events' }, /vars\.topic and vars\.app both make the MNS topic name "video-animation-events"/);
  });

  test('a topic a function names itself that MNS would refuse is refused, naming the field (the stack checks only its own)', async () => {
    const file = await variant((doc) => {
      doc.setIn(['resources', 'reconcile', 'props', 'environmentVariables', 'EVENTS_TOPIC'], 'events_v2');
      doc.setIn(['resources', 'submit', 'props', 'asyncInvokeConfig', 'destinationConfig', 'onFailure', 'destination'], 'acs:mns:cn-hangzhou::/topics/9-failed/messages');
    });
    await refused({}, /resources\.reconcile\.props\.environmentVariables\.EVENTS_TOPIC = "events_v2" is not a topic name MNS accepts: up to 120 letters, digits and "-", starting with a letter/, file);
    await refused({}, /resources\.submit\.props\.asyncInvokeConfig\.destinationConfig\.onFailure\.destination = "9-failed" is not a topic name MNS accepts/, file);
    // The stack's topics are refused as soon as s.yaml is read, with the stack parameter.
    await assert.rejects(loadSpec(S_YAML, { MNS_TOPIC: 'x'.repeat(121) }), /NoticeTopicName "x{121}": up to 120 letters, digits and "-"/);
  });

  test('a trigger whose name does not carry its bucket or topic is refused', async () => {
    const file = await variant((doc) => {
      doc.setIn(['resources', 'submit', 'props', 'triggers', 0, 'triggerName'], 'uploads');
      doc.setIn(['resources', 'record', 'props', 'triggers', 0, 'triggerName'], 'notices');
    });
    await refused({}, /the OSS trigger "uploads" does not carry its bucket "my-video-bucket"[^\n]*\n {2}- resources\.record: the mns_topic trigger "notices" does not carry its topic "video-animation-done"/s, file);
  });

  test('instanceConcurrency on nodejs20 is refused (FC 3.0 built-in runtimes do not support it)', async () => {
    const file = await variant((doc) => doc.setIn(['resources', 'reconcile', 'props', 'instanceConcurrency'], 1));
    await assert.rejects(loadSpec(file), /resources\.reconcile\.props\.instanceConcurrency: FC 3\.0 supports instance concurrency only for custom runtimes, not nodejs20/);
  });

  test("a function without the stack's logConfig is refused", async () => {
    const file = await variant((doc) => doc.setIn(['resources', 'record', 'props', 'logConfig'], 'auto'));
    await refused({}, /resources\.record\.props\.logConfig is 'auto'/, file);
  });
});

describe('records bucket and completion events', () => {
  const context = (d: Deployment) => ({ stackName: d.stack.name, region: d.stack.region, accountId: '1', parameters: d.parameters });

  test('a separate records bucket: the records grants move there, sources and outputs stay on the watched bucket; the stack creates it on request', async () => {
    const { spec, deployment, names } = await deploymentOf({ RECORDS_BUCKET: 'my-records', CREATE_RECORDS_BUCKET: 'true' });
    checkSpecConsistency(spec);
    assert.ok(createdResources(stackTemplate(deployment), context(deployment)).includes('RecordsBucket'));
    assert.deepEqual(names.filter((n) => n.rule.kind === 'OSS bucket name').map((n) => [n.name, n.field]), [['my-records', 'vars.recordsBucket']]);
    const submit = deployment.functions.find((f) => f.resource === 'submit')!;
    const resources = (action: string) => functionStatements(deployment, submit).filter((s) => s.actions.includes(action)).flatMap((s) => s.resources.map((r) => r.join('')));
    assert.deepEqual(resources('oss:PutObject'), ['acs:oss:*:*:my-records/.video-animation/*']);
    assert.deepEqual(resources('oss:ListObjects'), ['acs:oss:*:*:my-records']);
    assert.deepEqual(resources('oss:GetBucketVersioning'), ['acs:oss:*:*:my-records']);
    assert.deepEqual(resources('oss:GetObject').sort(), ['acs:oss:*:*:my-records/.video-animation/*', 'acs:oss:*:*:my-video-bucket/videos/*']);
  });

  test('creating the watched bucket as the records bucket is refused', async () => {
    await assert.rejects(async () => deploymentOf({ CREATE_RECORDS_BUCKET: 'true' }), /vars\.createRecordsBucket is 'true' but vars\.recordsBucket is the watched bucket "my-video-bucket"/);
  });

  test('events off: no topic, no publish grant; events queue on: a queue subscribed to the events topic', async () => {
    const off = await deploymentOf({ EVENTS: 'false' });
    assert.ok(!createdResources(stackTemplate(off.deployment), context(off.deployment)).includes('EventsTopic'));
    const policies = policyFiles(off.deployment);
    assert.doesNotMatch(JSON.stringify([policies['record-function.json'], policies['reconcile-function.json']]), /-events/);
    const queued = await deploymentOf({ EVENTS_QUEUE: 'true' });
    const created = createdResources(stackTemplate(queued.deployment), context(queued.deployment));
    assert.deepEqual(created.filter((id) => id.startsWith('Events')), ['EventsTopic', 'EventsQueue', 'EventsQueueSubscription']);
    assert.deepEqual(queued.names.filter((n) => n.rule.kind === 'MNS queue name').map((n) => n.name).sort(), ['video-animation-events', 'video-animation-failed']);
  });

  test('only record and reconcile may publish, and only to the events topic', async () => {
    const { deployment } = await deploymentOf();
    const files = policyFiles(deployment);
    const publish = (file: string) =>
      (files[file] as { Statement: { Action: string[]; Resource: string[] }[] }).Statement.filter((s) => s.Action.includes('mns:PublishMessage')).flatMap((s) => s.Resource).filter((r) => r.includes('events'));
    assert.deepEqual(publish('submit-function.json'), []);
    for (const file of ['record-function.json', 'reconcile-function.json']) {
      assert.deepEqual(publish(file), ['acs:mns:cn-hangzhou:*:/topics/video-animation-events', 'acs:mns:cn-hangzhou:*:/topics/video-animation-events/messages'], file);
    }
  });
});

describe('policies/deployer.json', () => {
  test('PassRole on exactly the app\'s roles and the default trigger roles; the IMM service role\'s permissions included', async () => {
    const { deployment } = await deploymentOf();
    const deployer = policyFiles(deployment)['deployer.json'] as { Statement: { Action: string[]; Resource: string[] }[] };
    const pass = deployer.Statement.filter((s) => s.Action.includes('ram:PassRole'));
    assert.equal(pass.length, 1);
    assert.deepEqual(pass[0]!.Action, ['ram:PassRole']);
    assert.deepEqual(pass[0]!.Resource, [
      'acs:ram:*:*:role/video-animation-cn-hangzhou-submit',
      'acs:ram:*:*:role/video-animation-cn-hangzhou-record',
      'acs:ram:*:*:role/video-animation-cn-hangzhou-reconcile',
      'acs:ram:*:*:role/video-animation-cn-hangzhou-imm',
      'acs:ram:*:*:role/aliyunosseventnotificationrole',
      'acs:ram:*:*:role/aliyunmnsnotificationrole',
    ]);
    const imm = policyFiles(deployment)['imm-service-role.json'] as { Statement: unknown[] };
    for (const statement of imm.Statement) assert.ok(deployer.Statement.some((s) => JSON.stringify(s) === JSON.stringify(statement)), JSON.stringify(statement));
    for (const service of ['ros:', 'ram:', 'imm:', 'mns:', 'fc:', 'oss:', 'log:']) assert.ok(deployer.Statement.some((s) => s.Action.some((a) => a.startsWith(service))), service);
    assert.ok(deployer.Statement.every((s) => s.Action.every((a) => !a.includes('*'))), 'no wildcard action');
  });
});

describe('the lease', () => {
  test('the build refuses a JOB_LEASE_SECONDS shorter than the function timeout, and takes one as long', async () => {
    const withLease = (seconds: string) =>
      variant((doc) => {
        for (const fn of ['submit', 'record', 'reconcile']) doc.setIn(['resources', fn, 'props', 'environmentVariables', 'JOB_LEASE_SECONDS'], seconds);
      });
    const submitTimeout = (await loadSpec(S_YAML, {})).functions.find((f) => f.resource === 'submit')!.timeoutSeconds;
    await refused({}, new RegExp(`resources\\.submit\\.props\\.environmentVariables\\.JOB_LEASE_SECONDS = 5 is shorter than resources\\.submit\\.props\\.timeout \\(${submitTimeout} s\\)`), await withLease('5'));
    checkSpecConsistency(await loadSpec(await withLease('86400'), {}));
  });
});
