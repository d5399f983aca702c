import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { writeDeployFiles } from '../deploy/build';
import { after, before, describe, test } from 'node:test';
import { checkBuckets, type VersioningReader } from '../cli/commands/doctor';
import { loadSpec } from '../deploy/spec';
import { runCli, ROOT, type CliRun } from './helpers/cli';
import { startTestStack, type TestStack } from './helpers/stack';



interface Report {
  ok: boolean;
  checks: { name: string; ok: boolean; problem?: string; fix?: string; note?: string }[];
}

/** Runs the real binary as a user does (no TTY), pointed at a test stack through VIDEO_ANIMATION_LOCAL. */
function cli(stack: TestStack, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(stack.dir, args, env);
}

const ANSI = /\x1b\[/;
const FUNCTIONS = ['video-animation-submit', 'video-animation-record', 'video-animation-reconcile'];

let healthy: TestStack;
let drifted: TestStack;

before(async () => {
  healthy = await startTestStack();
  // The same s.yaml, but the running functions' environment has drifted from it (as after an edit in the console).
  drifted = await startTestStack({ build: false, functionEnv: { RECORDS_PREFIX: 'drifted-records/', DEBUG_FLAG: 'on' } });
});

after(async () => {
  await healthy?.stop();
  await drifted?.stop();
});

describe('video-animation doctor (the real binary, against the local stack)', () => {
  test('a healthy stack: every check passes, exit 0, --json ok true', async () => {
    const run = await cli(healthy, ['doctor', '--local', '--json']);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const report = JSON.parse(run.stdout) as Report;
    assert.equal(report.ok, true);
    assert.ok(report.checks.every((c) => c.ok && c.problem === undefined && c.fix === undefined), run.stdout);
    const names = report.checks.map((c) => c.name);
    for (const fn of FUNCTIONS) {
      assert.ok(names.includes(`function ${fn}`), `${fn} checked`);
      assert.ok(names.includes(`environment of ${fn}`), `${fn} environment checked`);
    }
    assert.ok(names.includes('trigger video-animation-submit/video-animation-oss-my-video-bucket'));
    assert.ok(names.includes('trigger video-animation-record/video-animation-mns-video-animation-done'));
    assert.ok(names.includes('trigger video-animation-reconcile/video-animation-every-10m'));
    for (const fn of FUNCTIONS) {
      const logs = report.checks.find((c) => c.name === `logs of ${fn}`);
      assert.match(logs?.note ?? '', /s\.yaml sends them to video-animation-cn-hangzhou-\d+\/functions; the local stack keeps them itself/, fn);
    }
    const versioning = report.checks.find((c) => c.name === 'records bucket my-video-bucket: versioning off');
    assert.ok(versioning, 'the records bucket (the watched bucket by default) is checked');
    assert.equal(report.checks.filter((c) => c.name.includes('versioning')).length, 1, 'one bucket: checked once');
    assert.match(report.checks.find((c) => c.name === 'stack video-animation-stack')?.note ?? '', /no stack on the local stack/);

    const human = await cli(healthy, ['doctor', '--local']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^skip stack video-animation-stack: no stack on the local stack/m);
    assert.match(human.stdout, /^ok {3}function video-animation-submit$/m);
    assert.match(human.stdout, /The deployment matches s\.yaml\./);
    assert.doesNotMatch(human.stdout + human.stderr, ANSI);
  });

  test('a drifted environment: each function and variable named with its fix, exit 1', async () => {
    const run = await cli(drifted, ['doctor', '--local', '--json']);
    assert.equal(run.code, 1, run.stderr + run.stdout);
    const report = JSON.parse(run.stdout) as Report;
    assert.equal(report.ok, false);
    const failed = report.checks.filter((c) => !c.ok);
    assert.deepEqual(
      failed.map((c) => c.name),
      FUNCTIONS.map((fn) => `environment of ${fn}`),
    );
    for (const check of failed) {
      assert.match(check.problem ?? '', /RECORDS_PREFIX is "drifted-records\/", s\.yaml says "\.video-animation\/"/);
      assert.match(check.problem ?? '', /DEBUG_FLAG is set but not in s\.yaml/);
      assert.match(check.fix ?? '', /^s (submit|record|reconcile) deploy/);
    }
    assert.ok(report.checks.filter((c) => c.name.startsWith('trigger ')).every((c) => c.ok), 'the triggers still match');

    const human = await cli(drifted, ['doctor', '--local']);
    assert.equal(human.code, 1);
    assert.match(human.stdout, /^FAIL environment of video-animation-submit\n {4}problem: RECORDS_PREFIX is "drifted-records\/"/m);
    assert.match(human.stdout, /^ {4}fix: s submit deploy/m);
    assert.match(human.stdout, /3 problems found\./);
    assert.doesNotMatch(human.stdout, ANSI);
  });

  test('a new BUCKET: the old OSS trigger is reported with the command that removes it, the new one as missing', async () => {
    const run = await cli(healthy, ['doctor', '--local', '--json'], { BUCKET: 'other-videos' });
    assert.equal(run.code, 1, run.stderr + run.stdout);
    const report = JSON.parse(run.stdout) as Report;
    const stale = report.checks.find((c) => c.name === 'trigger video-animation-submit/video-animation-oss-my-video-bucket');
    assert.equal(stale?.ok, false);
    assert.equal(stale?.problem, 'deployed but not in s.yaml: it listens to bucket my-video-bucket, s.yaml says bucket other-videos; it still invokes video-animation-submit');
    assert.match(stale?.fix ?? '', /^s submit remove --trigger video-animation-oss-my-video-bucket -y /);
    const missing = report.checks.find((c) => c.name === 'trigger video-animation-submit/video-animation-oss-other-videos');
    assert.equal(missing?.problem, 'FC has no trigger video-animation-oss-other-videos on video-animation-submit');
    assert.equal(missing?.fix, 's submit deploy');
    // The other triggers did not move: nothing else about triggers is reported.
    assert.deepEqual(report.checks.filter((c) => c.name.startsWith('trigger ') && !c.ok).map((c) => c.name).sort(), [
      'trigger video-animation-submit/video-animation-oss-my-video-bucket',
      'trigger video-animation-submit/video-animation-oss-other-videos',
    ]);
  });

  test('usage errors exit 2', async () => {
    const unknown = await cli(healthy, ['doctor', '--local', '--frobnicate', '--json']);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.equal((JSON.parse(unknown.stdout) as { error: { exitCode: number } }).error.exitCode, 2);
    const noStack = await cli(healthy, ['doctor', '--local', '--local-dir', path.join(healthy.dir, 'missing')]);
    assert.equal(noStack.code, 2);
    assert.match(noStack.stderr, /start the local stack first/);
  });
});

/** The local OSS does not serve GET /?versioning: the verdicts on a versioned or missing bucket, from a stand-in. */
describe('doctor: the versioning of the watched and the records bucket', () => {
  const reader =
    (statuses: Record<string, string | undefined | Error>): VersioningReader =>
    async (bucket) => {
      const status = statuses[bucket];
      if (status instanceof Error) throw status;
      return status === undefined ? {} : { versionStatus: status };
    };
  const noSuchBucket = Object.assign(new Error('The specified bucket does not exist.'), { code: 'NoSuchBucket', status: 404 });

  test('records in a versioned watched bucket fail, with the way out; a records bucket of its own is checked too', async () => {
    const spec = await loadSpec(path.join(ROOT, 's.yaml'));
    const [versioned] = await checkBuckets(reader({ 'my-video-bucket': 'Suspended' }), spec, false);
    assert.equal(versioned?.name, 'records bucket my-video-bucket: versioning off');
    assert.equal(versioned?.ok, false);
    assert.match(versioned?.problem ?? '', /^versioning is Suspended: OSS ignores create-only writes/);
    assert.match(versioned?.fix ?? '', /vars\.recordsBucket <new bucket>, vars\.createRecordsBucket 'true'/);

    const separate = await loadSpec(path.join(ROOT, 's.yaml'), { RECORDS_BUCKET: 'my-records' });
    const checks = await checkBuckets(reader({ 'my-video-bucket': 'Enabled', 'my-records': noSuchBucket }), separate, false);
    assert.deepEqual(
      checks.map((c) => [c.name, c.ok]),
      [
        ['bucket my-video-bucket: versioning', true],
        ['records bucket my-records: versioning off', false],
      ],
    );
    assert.match(checks[1]!.fix ?? '', /createRecordsBucket to 'true'/);
    const fine = await checkBuckets(reader({}), separate, false);
    assert.ok(fine.every((c) => c.ok && c.problem === undefined));
  });
});

/**
 * Outputs in other buckets: the stack serves `my-previews` (same region) and `far-previews` (GetBucketLocation answers
 * cn-shanghai); doctor runs on an s.yaml beside the repository's whose rules name them, with or without the policies
 * `npm run build` writes for it.
 */
describe('doctor: the buckets the outputs go to (the real binary, against the local stack)', () => {
  let stack: TestStack;
  let dir: string;
  before(async () => {
    stack = await startTestStack({ build: false, buckets: [{ name: 'my-previews' }, { name: 'far-previews', region: 'cn-shanghai' }] });
    dir = await mkdtemp(path.join(tmpdir(), 'doctor-outputs-'));
  });
  after(async () => {
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** s.yaml with these rules, in a folder of its own; `policies`: write what npm run build writes beside it. */
  async function specWith(name: string, rules: unknown[], policies: boolean): Promise<string> {
    const doc = parseDocument(await readFile(path.join(ROOT, 's.yaml'), 'utf8'));
    doc.setIn(['vars', 'rules'], doc.createNode(rules));
    const folder = path.join(dir, name);
    const file = path.join(folder, 's.yaml');
    await mkdir(folder, { recursive: true });
    await writeFile(file, doc.toString());
    if (policies) await writeDeployFiles(await loadSpec(file), { policiesDir: path.join(folder, 'policies') });
    return file;
  }
  const previewRule = (bucket: string, extra: Record<string, unknown> = {}) => ({
    name: 'preview',
    prefix: 'videos/',
    bucket,
    ...extra,
    outputs: [{ format: 'gif', key: 'previews/{dirname}/{basename}', frames: 8 }],
  });

  test('an output bucket in the region, with policies that grant it: checked, exit 0', async () => {
    const file = await specWith('healthy', [previewRule('my-previews', { deleteWithSource: true })], true);
    const run = await cli(stack, ['doctor', '--local', '--json', '-t', file]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const report = JSON.parse(run.stdout) as Report;
    const bucket = report.checks.find((c) => c.name === 'output bucket my-previews');
    assert.deepEqual(bucket, { name: 'output bucket my-previews', ok: true, note: 'cn-hangzhou; rule "preview" bucket' });
    assert.deepEqual(report.checks.find((c) => c.name === 'policies for output bucket my-previews'), { name: 'policies for output bucket my-previews', ok: true });
    assert.equal(report.checks.filter((c) => c.name.startsWith('output bucket ')).length, 1, 'the watched bucket is not an output bucket');
    // The deploying key's policy lets doctor read where the output bucket lives.
    const deployer = JSON.parse(await readFile(path.join(path.dirname(file), 'policies', 'deployer.json'), 'utf8')) as { Statement: { Action: string[]; Resource: string[] }[] };
    assert.deepEqual(deployer.Statement.filter((st) => st.Action.includes('oss:GetBucketLocation')).map((st) => st.Resource), [['acs:oss:*:*:my-previews']]);
  });

  test('a missing bucket and one in another region: each named with the rule, the field and the fix, exit 1', async () => {
    const rules = [
      { ...previewRule('far-previews'), outputs: [{ format: 'gif', key: 'previews/{basename}', frames: 8 }, { format: 'webp', key: 'previews/{basename}', frames: 8, bucket: 'gone-previews' }] },
    ];
    const file = await specWith('wrong-buckets', rules, true);
    const run = await cli(stack, ['doctor', '--local', '--json', '-t', file]);
    assert.equal(run.code, 1, run.stderr + run.stdout);
    const report = JSON.parse(run.stdout) as Report;
    const failed = report.checks.filter((c) => !c.ok);
    assert.deepEqual(failed.map((c) => c.name), ['output bucket far-previews', 'output bucket gone-previews']);
    assert.equal(
      failed[0]!.problem,
      'far-previews is in cn-shanghai, the watched bucket my-video-bucket in cn-hangzhou: IMM writes outputs only to buckets in its own region, so every task of rule "preview" bucket fails',
    );
    assert.equal(failed[0]!.fix, 'name a bucket in cn-hangzhou in rule "preview" bucket (s.yaml), then s deploy');
    assert.equal(failed[1]!.problem, 'there is no bucket gone-previews (rule "preview" outputs[1].bucket in s.yaml)');
    assert.equal(failed[1]!.fix, 'create gone-previews in cn-hangzhou (the region of my-video-bucket), or name an existing bucket there in rule "preview" outputs[1].bucket');

    const human = await cli(stack, ['doctor', '--local', '-t', file]);
    assert.equal(human.code, 1);
    assert.match(human.stdout, /^FAIL output bucket gone-previews\n {4}problem: there is no bucket gone-previews/m);
  });

  test('policies generated for other rules (the bucket not in them): the role files and actions named, the fix is a build', async () => {
    // The policies beside it were written for the shipped rules, which write to the watched bucket only.
    const shipped = parseDocument(await readFile(path.join(ROOT, 's.yaml'), 'utf8')).getIn(['vars', 'rules']) as { toJSON(): unknown[] };
    await specWith('stale-policies', shipped.toJSON(), true);
    const file = await specWith('stale-policies', [previewRule('my-previews', { deleteWithSource: true })], false);
    const run = await cli(stack, ['doctor', '--local', '--json', '-t', file]);
    assert.equal(run.code, 1, run.stderr + run.stdout);
    const report = JSON.parse(run.stdout) as Report;
    assert.deepEqual(report.checks.filter((c) => !c.ok).map((c) => c.name), ['policies for output bucket my-previews']);
    const stale = report.checks.find((c) => c.name === 'policies for output bucket my-previews')!;
    for (const role of ['imm-service-role', 'record-function', 'reconcile-function', 'submit-function']) assert.match(stale.problem ?? '', new RegExp(`policies/${role}\\.json does not allow`), role);
    assert.match(stale.problem ?? '', /policies\/submit-function\.json does not allow oss:DeleteObject on acs:oss:\*:\*:my-previews\/previews\/\*/);
    assert.match(stale.problem ?? '', /policies\/record-function\.json does not allow [^;]*oss:PutObjectTagging on acs:oss:\*:\*:my-previews\/previews\/\*/);
    assert.match(stale.fix ?? '', /^npm run build \(it writes policies\/ and the stack's roles from s\.yaml\), then s deploy/);
  });
});
