import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { functionRules } from '../deploy/checks';
import { deploymentFromSpec, roleLogicalId, stackTemplate, type Deployment } from '../deploy/deploy-resources';
import { evaluateExpression, type RosTemplate } from '../deploy/ros-template';
import { loadSpec } from '../deploy/spec';
import { LOCAL_ACCOUNT_ID, type StackOptions } from '../local/stack';
import { parseOssRequestTarget as parseTarget } from '@video-animation/local-cloud';
import { parseRuleSet } from '../shared/rules/validate';
import { startTestStack, type TestStack } from './helpers/stack';

/**
 * The deployed roles grant exactly what the functions call. The expected calls are not taken from the generator or
 * from deploy/calls.ts: the functions run end to end on the local stack behind a recording proxy, every
 * OSS and IMM request they send is turned into the RAM authorization it needs (the table below, from the OSS and IMM
 * API references), attributed to the function whose invocation sent it, and checked against the policy the stack
 * template gives that function's role (Fn::Sub evaluated). Then the other way: every grant of every policy must have
 * been used by some call, except the few listed with the reason no local run can exercise them.
 */

const ROOT = path.join(__dirname, '..');
const REGION = 'cn-hangzhou';

// ---------------------------------------------------------------------------------------------------------------
// A recording proxy in front of the local OSS and IMM: every request the functions send, with its time and body.

interface Recorded {
  service: 'oss' | 'imm';
  at: number;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

async function recordingProxy(service: 'oss' | 'imm', log: Recorded[]) {
  let upstreamPort = 0;
  const server = http.createServer((request, response) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      log.push({ service, at, method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, body });
      const upstream = http.request({ host: '127.0.0.1', port: upstreamPort, method: request.method, path: request.url, headers: request.headers }, (res) => {
        response.writeHead(res.statusCode ?? 502, res.headers);
        res.pipe(response);
      });
      upstream.on('error', () => response.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    forwardTo(port: number) {
      upstreamPort = port;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The oracle: which RAM authorization each request needs.

interface Need {
  action: string;
  resource: string;
  context: Record<string, string>;
  /** The request, for messages. */
  call: string;
}

const base64Url = (text: string) => Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8');

/**
 * OSS API reference, "Permissions" of each operation: GetObject and HeadObject need oss:GetObject, PutObject
 * oss:PutObject, DeleteObject oss:DeleteObject, PutObjectTagging oss:PutObjectTagging, ListObjectsV2 oss:ListObjects
 * on the bucket (condition key oss:Prefix). x-oss-async-process (OSS user guide "Permissions" for IMM processing):
 * oss:GetObject and oss:ProcessImm on the object, oss:PostProcessTask for the asynchronous call, oss:PutObject for
 * sys/saveas, and the IMM action the processing maps to (CreateMediaConvertTask) on the attached project.
 * IMM: the action is the API name (x-acs-action) on acs:imm:<region>:<account>:project/<ProjectName>.
 */
function needs(r: Recorded, immProject: string): Need[] {
  const call = `${r.service} ${r.method} ${r.url}`;
  const arn = (bucket: string, key?: string) => `acs:oss:${REGION}:${LOCAL_ACCOUNT_ID}:${bucket}${key === undefined ? '' : `/${key}`}`;
  const need = (action: string, resource: string, context: Record<string, string> = {}): Need => ({ action, resource, context, call });
  if (r.service === 'imm') {
    const action = String(r.headers['x-acs-action'] ?? '');
    const query = new URL(r.url, 'http://x').searchParams;
    const project = query.get('ProjectName') ?? new URLSearchParams(r.body.toString('utf8')).get('ProjectName') ?? '?';
    return [need(`imm:${action}`, `acs:imm:${REGION}:${LOCAL_ACCOUNT_ID}:project/${project}`)];
  }
  const target = parseTarget(r.url, r.headers.host);
  const q = target.query;
  if (target.key === '') {
    if (r.method === 'GET' && q.get('list-type') === '2') return [need('oss:ListObjects', arn(target.bucket), { 'oss:Prefix': q.get('prefix') ?? '' })];
    // GetBucketVersioning (OSS API reference): a bucket-level action on the bucket itself.
    if (r.method === 'GET' && q.has('versioning')) return [need('oss:GetBucketVersioning', arn(target.bucket))];
    if (r.method === 'POST' && q.has('delete')) {
      // DeleteMultipleObjects (OSS API reference, "Permissions"): oss:DeleteObject on every object it names.
      const keys = [...r.body.toString('utf8').matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&'));
      assert.ok(keys.length > 0, `${call}: no keys in the body`);
      return keys.map((key) => need('oss:DeleteObject', arn(target.bucket, key)));
    }
  } else if (r.method === 'HEAD') {
    return [need('oss:GetObject', arn(target.bucket, target.key))];
  } else if (r.method === 'GET' && !q.has('tagging')) {
    return [need('oss:GetObject', arn(target.bucket, target.key))];
  } else if (r.method === 'PUT' && q.has('tagging')) {
    return [need('oss:PutObjectTagging', arn(target.bucket, target.key))];
  } else if (r.method === 'PUT') {
    // CopyObject (OSS API reference): read the source, write the target; tags sent with a write need their own action.
    const copied = headerOf(r, 'x-oss-copy-source');
    const source = copied ? decodeURIComponent(copied).replace(/^\//, '') : undefined;
    return [
      ...(source ? [need('oss:GetObject', arn(source.slice(0, source.indexOf('/')), source.slice(source.indexOf('/') + 1)))] : []),
      need('oss:PutObject', arn(target.bucket, target.key)),
      ...(headerOf(r, 'x-oss-tagging') ? [need('oss:PutObjectTagging', arn(target.bucket, target.key))] : []),
    ];
  } else if (r.method === 'DELETE') {
    return [need('oss:DeleteObject', arn(target.bucket, target.key))];
  } else if (r.method === 'POST' && q.has('x-oss-async-process')) {
    const process = decodeURIComponent(r.body.toString('utf8').replace(/^x-oss-async-process=/, ''));
    const saveas = Object.fromEntries((/sys\/saveas,([^/]*)/.exec(process)?.[1] ?? '').split(',').map((p) => [p.slice(0, 1), base64Url(p.slice(2))]));
    return [
      need('oss:GetObject', arn(target.bucket, target.key)),
      need('oss:ProcessImm', arn(target.bucket, target.key)),
      need('oss:PostProcessTask', arn(target.bucket, target.key)),
      need('oss:PutObject', arn(saveas['b'] ?? target.bucket, saveas['o'] ?? '?')),
      need('imm:CreateMediaConvertTask', `acs:imm:${REGION}:${LOCAL_ACCOUNT_ID}:project/${immProject}`),
    ];
  }
  throw new Error(`the oracle does not know what ${call} needs: add it from the OSS API reference`);
}

// ---------------------------------------------------------------------------------------------------------------
// RAM evaluation (policy grammar: https://www.alibabacloud.com/help/en/doc-detail/93738.htm): `*` and `?` wildcards.

interface Statement {
  Effect: string;
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string[]>>;
}
const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
const conditionHolds = (s: Statement, context: Record<string, string>) =>
  Object.entries(s.Condition ?? {}).every(([operator, keys]) => {
    assert.equal(operator, 'StringLike', `condition operator ${operator} is not modelled here`);
    return Object.entries(keys).every(([key, patterns]) => key in context && patterns.some((p) => glob(p).test(context[key]!)));
  });
const grantedBy = (s: Statement, n: Need, resource: string) =>
  s.Effect === 'Allow' && s.Action.some((a) => glob(a).test(n.action)) && glob(resource).test(n.resource) && conditionHolds(s, n.context);
const allows = (statements: Statement[], n: Need) => statements.some((s) => s.Resource.some((r) => grantedBy(s, n, r)));

/** A function role's policy as the deployed stack would have it: the template's, with every Fn::Sub evaluated. */
function deployedPolicy(template: RosTemplate, deployment: Deployment, resource: string): Statement[] {
  const role = template.Resources[roleLogicalId(resource)]!;
  const policies = evaluateExpression(template, { stackName: deployment.stack.name, region: REGION, accountId: LOCAL_ACCOUNT_ID, parameters: deployment.parameters }, role.Properties!['Policies']);
  return (policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap((p) => p.PolicyDocument.Statement);
}

// ---------------------------------------------------------------------------------------------------------------
// Scenarios: the local stack with the functions' OSS and IMM traffic through the recorder.

interface Run {
  stack: TestStack;
  log: Recorded[];
  stop(): Promise<void>;
}

async function run(options: StackOptions & { functionEnv?: Record<string, string> }): Promise<Run> {
  const log: Recorded[] = [];
  const oss = await recordingProxy('oss', log);
  const imm = await recordingProxy('imm', log);
  const stack = await startTestStack({ ...options, functionEnv: { ...options.functionEnv, OSS_ENDPOINT: oss.endpoint, IMM_ENDPOINT: imm.endpoint } });
  oss.forwardTo(stack.oss.port);
  imm.forwardTo(stack.imm.port);
  return {
    stack,
    log,
    async stop() {
      await stack.stop();
      await oss.close();
      await imm.close();
    },
  };
}

/** Each recorded request with the function resource whose invocation sent it (invocations of two functions never overlap here). */
function attribute(r: Run): { resource: string; request: Recorded }[] {
  const byName = new Map(r.stack.spec.functions.map((f) => [f.functionName, f.resource]));
  const invocations = r.stack.invocations();
  return r.log.map((request) => {
    const during = new Set(invocations.filter((i) => i.startedAt <= request.at && request.at <= (i.endedAt ?? Date.now())).map((i) => byName.get(i.functionName)!));
    assert.equal(during.size, 1, `${request.method} ${request.url} at ${request.at} falls in invocations of ${[...during].join(', ') || 'no function'}`);
    return { resource: [...during][0]!, request };
  });
}

async function upload(stack: TestStack, key: string, seconds = 1) {
  await stack.client.put(key, await stack.sampleVideo(seconds, `${key.replace(/\W/g, '_')}.mp4`));
  await stack.idle();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Observed {
  deployment: Deployment;
  template: RosTemplate;
  calls: Map<string, Need[]>;
}

/** Runs the scenarios with one rule set, and collects each function's needs. */
async function observe(rules: unknown[] | undefined, scenarios: ((r: Run) => Promise<void>)[], faults: StackOptions['faults'][], stackOptions: StackOptions = {}): Promise<Observed> {
  const spec = await loadSpec(path.join(ROOT, 's.yaml'), { AccountID: LOCAL_ACCOUNT_ID });
  const submit = spec.functions.find((f) => f.resource === 'submit')!;
  const recordsPrefix = submit.env['RECORDS_PREFIX']!;
  const parsed = rules ? parseRuleSet(rules, { recordsPrefix, triggers: submit.ossTriggers }, 'test rules') : functionRules(spec, submit);
  const deployment = deploymentFromSpec(spec, parsed, recordsPrefix);
  const calls = new Map<string, Need[]>(spec.functions.map((f) => [f.resource, []]));
  for (const [i, scenario] of scenarios.entries()) {
    const r = await run({
      ...stackOptions,
      faults: faults[i] ?? {},
      functionEnv: { RECONCILE_AFTER_SECONDS: '0.5', ...(rules ? { RULES: JSON.stringify(rules) } : {}) },
    });
    try {
      await scenario(r);
      for (const { resource, request } of attribute(r)) calls.get(resource)!.push(...needs(request, submit.env['IMM_PROJECT']!));
    } finally {
      await r.stop();
    }
  }
  return { deployment, template: stackTemplate(deployment), calls };
}

function denied(o: Observed): string[] {
  return [...o.calls].flatMap(([resource, list]) => {
    const policy = deployedPolicy(o.template, o.deployment, resource);
    return list.filter((n) => !allows(policy, n)).map((n) => `${resource}: ${n.action} on ${n.resource} ${JSON.stringify(n.context)} (${n.call})`);
  });
}

/** Grants no observed call used: `<function> <action> <resource>`. */
function unused(o: Observed): string[] {
  return [...o.calls].flatMap(([resource, list]) =>
    deployedPolicy(o.template, o.deployment, resource).flatMap((s) =>
      s.Action.flatMap((action) => s.Resource.filter((r) => !list.some((n) => n.action === action && grantedBy(s, n, r))).map((r) => `${resource} ${action} ${r}`)),
    ),
  );
}

// The FC destination is written by FC itself (the local FC writes failure records to disk, no MNS call is made).
const FC_DESTINATION = (fn: string) => [
  `${fn} mns:PublishMessage acs:mns:${REGION}:${LOCAL_ACCOUNT_ID}:/topics/video-animation-failed`,
  `${fn} mns:PublishMessage acs:mns:${REGION}:${LOCAL_ACCOUNT_ID}:/topics/video-animation-failed/messages`,
];
const EVENTS = (fn: string) => [
  `${fn} mns:PublishMessage acs:mns:${REGION}:${LOCAL_ACCOUNT_ID}:/topics/video-animation-events`,
  `${fn} mns:PublishMessage acs:mns:${REGION}:${LOCAL_ACCOUNT_ID}:/topics/video-animation-events/messages`,
];
const project = (action: string, fn: string) => `${fn} imm:${action} acs:imm:${REGION}:${LOCAL_ACCOUNT_ID}:project/video-animation`;


const BUCKET_PREFIX = 'acs:oss:*:*:my-video-bucket/';
/**
 * A first delivery of an upload event whose ETag and size are in it writes only: submit reads a job's facts (and
 * closes it) for a duplicate, a takeover or a failure at submission, and HEADs a source only for a key that may be
 * URL-encoded. None happens in these runs; the unit tests cover those paths.
 */
const SUBMIT_READS = (sources: string) => [
  `submit oss:DeleteObject ${BUCKET_PREFIX}.video-animation/*`,
  `submit oss:GetObject ${BUCKET_PREFIX}.video-animation/*`,
  `submit oss:GetObject ${sources}`,
  'submit oss:ListObjects acs:oss:*:*:my-video-bucket',
];

/** One request header as text (Node folds repeated headers into arrays). */
const headerOf = (r: { headers: http.IncomingHttpHeaders }, name: string): string | undefined => {
  const value = r.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** A poster chosen among candidates deletes them; the rules of these runs make no poster. */
const RECORD_PREVIEWS = (fn: string, prefix: string) => [`${fn} oss:DeleteObject ${BUCKET_PREFIX}${prefix}/*`];

/**
 * Every grant the runs did not use is one the runs cannot reach (listed, with why, by each test). A listed grant
 * that a run did use is fine: timing decides, for example, whether reconcile or the record function records a task.
 */
function assertOnlyUnreachableUnused(unusedGrants: string[], unreachable: string[]): void {
  assert.deepEqual(unusedGrants.filter((grant) => !unreachable.includes(grant)).sort(), []);
}
describe('the function roles grant exactly what the functions call (default rules: engine imm, frames)', () => {
  let observed: Observed;
  before(async () => {
    observed = await observe(
      undefined,
      [
        // A task fails and its notice is lost: reconcile asks IMM, retries; that task fails too and record retries.
        async ({ stack }) => {
          await upload(stack, 'videos/policy/retried.mp4');
          await sleep(600);
          await stack.fireTimer('reconcile');
          await stack.idle();
          assert.equal((await stack.recordFor('videos/policy/retried.mp4'))?.status, 'succeeded');
        },
        // A notice of a task that succeeded is lost: reconcile records it (checks and tags the animations).
        async ({ stack }) => {
          await upload(stack, 'videos/policy/lost.mp4');
          await sleep(600);
          await stack.fireTimer('reconcile');
          await stack.idle();
          assert.equal((await stack.recordFor('videos/policy/lost.mp4'))?.status, 'succeeded');
        },
      ],
      [{ imm: { failFirstTasks: 2 }, notices: { dropFirst: 1, delayMs: 300 } }, { notices: { dropFirst: 1 } }],
    );
  });

  it('every OSS and IMM request each function sent is allowed by its role', () => {
    for (const fn of ['submit', 'record', 'reconcile']) assert.ok(observed.calls.get(fn)!.length > 0, `${fn} made calls`);
    assert.deepEqual(denied(observed), []);
  });

  it('a role missing one action the code uses is caught (the check is not vacuous)', () => {
    const template = structuredClone(observed.template);
    const policies = template.Resources[roleLogicalId('record')]!.Properties!['Policies'] as { PolicyDocument: { Statement: Statement[] } }[];
    for (const s of policies[0]!.PolicyDocument.Statement) s.Action = s.Action.filter((a) => a !== 'oss:PutObjectTagging');
    const found = denied({ ...observed, template });
    assert.ok(found.length > 0 && found.every((d) => d.startsWith('record: oss:PutObjectTagging on acs:oss:cn-hangzhou:')), found.join('\n'));
  });

  it('every grant was used, but for those no local run can reach', () => {
    assertOnlyUnreachableUnused(unused(observed), [
      // A takeover of an attempt that died adopts its tasks: covered by the crash scenario of e2e-lifecycle, whose
      // crash proxy replaces this recorder.
      project('ListTasks', 'submit'),
      // The media is learned by the first attempt; a retry asks again only when that attempt died before asking.
      project('DetectMediaMeta', 'record'),
      project('DetectMediaMeta', 'reconcile'),
      ...FC_DESTINATION('record'),
      ...FC_DESTINATION('submit'),
      ...SUBMIT_READS(`${BUCKET_PREFIX}videos/*`),
      ...RECORD_PREVIEWS('record', 'animations'),
      ...RECORD_PREVIEWS('reconcile', 'animations'),
      // Declared for completion events; the functions of this tree do not publish them yet.
      ...EVENTS('record'),
      ...EVENTS('reconcile'),
    ]);
  });
});

describe("the function roles grant exactly what the functions call (a user's rules: two prefixes, engine oss)", () => {
  const RULES = [
    { name: 'movies', prefix: 'videos/movies/', engine: 'oss', outputs: [{ format: 'webp', key: 'previews/{barename}', width: 160, height: 90, interval: 1, maxFrames: 4 }] },
    { name: 'clips', prefix: 'videos/clips/', suffixes: ['mp4'], outputs: [{ format: 'gif', key: 'thumbs/{dirname}/{barename}', width: 160, height: 90, frames: 6 }] },
  ];
  let observed: Observed;
  before(async () => {
    observed = await observe(
      RULES,
      [
        // engine oss: the first task fails and record submits again through x-oss-async-process; an imm rule after it.
        async ({ stack }) => {
          await upload(stack, 'videos/movies/a.mp4', 2);
          assert.equal((await stack.recordFor('videos/movies/a.mp4', 'movies'))?.status, 'succeeded');
          await upload(stack, 'videos/clips/b.mp4');
          assert.equal((await stack.recordFor('videos/clips/b.mp4', 'clips'))?.status, 'succeeded');
        },
        // Both engines with their notices lost: reconcile asks IMM, retries the failed oss task, records the rest.
        async ({ stack }) => {
          await upload(stack, 'videos/movies/c.mp4', 2);
          await upload(stack, 'videos/clips/d.mp4');
          await sleep(600);
          await stack.fireTimer('reconcile');
          await stack.idle();
          await sleep(600);
          await stack.fireTimer('reconcile');
          await stack.idle();
          assert.equal((await stack.recordFor('videos/movies/c.mp4', 'movies'))?.status, 'succeeded');
          assert.equal((await stack.recordFor('videos/clips/d.mp4', 'clips'))?.status, 'succeeded');
        },
      ],
      [{ imm: { failFirstTasks: 1 }, notices: { delayMs: 300 } }, { imm: { failFirstTasks: 1 }, notices: { dropFirst: 3, delayMs: 300 } }],
    );
  });

  it('every OSS and IMM request each function sent is allowed by its role', () => {
    assert.deepEqual(denied(observed), []);
  });

  it('every grant was used, but for those no local run can reach', () => {
    assertOnlyUnreachableUnused(unused(observed), [
      project('ListTasks', 'submit'),
      project('DetectMediaMeta', 'record'),
      project('DetectMediaMeta', 'reconcile'),
      // No imm-rule task fails in these runs (the retries that list imm tasks are the default rules' test above);
      // the retries here go through x-oss-async-process, which needs imm:CreateMediaConvertTask and no listing.
      project('ListTasks', 'record'),
      project('ListTasks', 'reconcile'),
      ...FC_DESTINATION('record'),
      ...FC_DESTINATION('submit'),
      ...SUBMIT_READS(`${BUCKET_PREFIX}videos/clips/*`),
      ...['previews', 'thumbs'].flatMap((prefix) => [...RECORD_PREVIEWS('record', prefix), ...RECORD_PREVIEWS('reconcile', prefix)]),
      // Which outputs reconcile records, rather than the record function, depends on timing.
      `reconcile oss:GetObject ${BUCKET_PREFIX}previews/*`,
      `reconcile oss:PutObject ${BUCKET_PREFIX}previews/*`,
      `reconcile oss:PutObjectTagging ${BUCKET_PREFIX}previews/*`,
      // Declared for completion events; the functions of this tree do not publish them yet.
      ...EVENTS('record'),
      ...EVENTS('reconcile'),
    ]);
  });
});

describe('the function roles grant exactly what the functions call (deleteWithSource, outputs in another bucket)', () => {
  const PREVIEWS = 'my-previews';
  const RULES = [
    { name: 'cleaned', prefix: 'videos/cleaned/', bucket: PREVIEWS, deleteWithSource: true, outputs: [{ format: 'gif', key: 'previews/{basename}', frames: 4 }, { format: 'webp', key: 'previews/{basename}', frames: 4 }] },
    { name: 'kept', prefix: 'videos/kept/', outputs: [{ format: 'gif', key: 'kept/{basename}', frames: 4 }] },
  ];
  let observed: Observed;
  before(async () => {
    observed = await observe(
      RULES,
      [
        // Both sources are deleted: submit deletes the outputs of the rule with deleteWithSource, in their bucket.
        async ({ stack }) => {
          await upload(stack, 'videos/cleaned/a.mp4');
          await upload(stack, 'videos/kept/b.mp4');
          const previews = stack.ossClient({ bucket: PREVIEWS });
          assert.equal((await previews.list({ prefix: 'previews/', 'max-keys': 10 }, {})).objects?.length, 2);
          await stack.client.delete('videos/cleaned/a.mp4');
          await stack.client.delete('videos/kept/b.mp4');
          await stack.idle();
          assert.deepEqual((await previews.list({ prefix: 'previews/', 'max-keys': 10 }, {})).objects ?? [], [], 'the outputs are deleted');
          assert.equal((await stack.client.list({ prefix: 'kept/', 'max-keys': 10 }, {})).objects?.length, 1, 'a rule without deleteWithSource keeps its output');
        },
      ],
      // The fast conversion ends a task at once: the notice waits so that record never runs beside submit.
      [{ notices: { delayMs: 300 } }],
      { buckets: [{ name: PREVIEWS }], imm: { conversion: 'fast' } },
    );
  });

  it('every request each function sent, the deletions in the other bucket among them, is allowed by its role', () => {
    const deletions = observed.calls.get('submit')!.filter((n) => n.action === 'oss:DeleteObject' && n.resource.includes(`:${PREVIEWS}/`));
    assert.deepEqual(deletions.map((n) => n.resource).sort(), [`acs:oss:${REGION}:${LOCAL_ACCOUNT_ID}:${PREVIEWS}/previews/a.mp4.gif`, `acs:oss:${REGION}:${LOCAL_ACCOUNT_ID}:${PREVIEWS}/previews/a.mp4.webp`]);
    assert.deepEqual(denied(observed), []);
  });

  it('submit may delete only the outputs of rules with deleteWithSource', () => {
    const deletable = deployedPolicy(observed.template, observed.deployment, 'submit')
      .filter((s) => s.Action.includes('oss:DeleteObject'))
      .flatMap((s) => s.Resource)
      .sort();
    assert.deepEqual(deletable, [`acs:oss:*:*:${PREVIEWS}/previews/*`, `${BUCKET_PREFIX}.video-animation/*`]);
  });

  it('without the grant, the deletion would be refused (the check is not vacuous)', () => {
    const template = structuredClone(observed.template);
    const policies = template.Resources[roleLogicalId('submit')]!.Properties!['Policies'] as { PolicyDocument: { Statement: Statement[] } }[];
    for (const s of policies[0]!.PolicyDocument.Statement) s.Resource = s.Resource.filter((r) => !JSON.stringify(r).includes(PREVIEWS));
    const found = denied({ ...observed, template });
    assert.ok(found.length > 0 && found.every((d) => d.startsWith(`submit: oss:DeleteObject on acs:oss:${REGION}:${LOCAL_ACCOUNT_ID}:${PREVIEWS}/previews/`)), found.join('\n'));
  });
});

