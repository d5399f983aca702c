import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { checkSpecConsistency, validateSpecRules } from '../deploy/checks';
import { buildRegistryPackage, REGISTRY_PARAMETERS, templateSpec } from '../deploy/registry';
import { loadSpec } from '../deploy/spec';

/**
 * `npm run package` makes the Serverless Devs registry package; `s init` renders its s.yaml from the parameters with
 * @serverless-devs/art-template. Rendered here the way `s init` does it (the `s` tool's load-application:
 * `defaults.extname` = the file's extension, `escape` off, `template(file, data)`), in a child process because
 * Serverless Devs' s.yaml parser switches the same module's syntax to `${...}` once it has run.
 */

const ROOT = path.join(__dirname, '..');
const PARAMETERS = { region: 'cn-shanghai', bucket: 'clips-bucket', watchPrefix: 'uploads/', appName: 'clips' };
const RENDER = `
const fs = require('node:fs');
const path = require('node:path');
const template = require('@serverless-devs/art-template');
const [file, data] = [process.argv[1], JSON.parse(process.argv[2])];
template.defaults.extname = path.extname(file);
template.defaults.escape = false;
fs.writeFileSync(file, template(file, data), 'utf8');
`;

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'registry-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the registry package (npm run package)', () => {
  test('publish.yaml: Edition 3.0.0, Type Project, the four parameters, a bucket picker', async () => {
    await buildRegistryPackage(dir);
    assert.deepEqual((await readdir(dir)).sort(), ['README.md', 'publish.yaml', 'src']);
    const publish = parse(await readFile(path.join(dir, 'publish.yaml'), 'utf8')) as {
      Edition: string;
      Type: string;
      Name: string;
      Parameters: { required: string[]; properties: Record<string, Record<string, unknown>> };
    };
    assert.equal(publish.Edition, '3.0.0');
    assert.equal(publish.Type, 'Project');
    assert.equal(publish.Name, 'video-animation');
    assert.deepEqual(Object.keys(publish.Parameters.properties), [...REGISTRY_PARAMETERS]);
    assert.deepEqual(publish.Parameters.required, [...REGISTRY_PARAMETERS]);
    assert.deepEqual(publish.Parameters.properties['bucket']!['x-bucket'], { dependency: ['region'] });
    assert.deepEqual((await readdir(path.join(dir, 'src'))).sort(), ['README.md', 'deploy', 'functions', 'package-lock.json', 'package.json', 's.yaml', 'scripts', 'shared', 'tsconfig.json']);
  });

  test('s init renders it with art-template, and the rendered app builds: names, bucket, region and prefix from the parameters', async () => {
    const src = path.join(dir, 'src');
    const specFile = path.join(src, 's.yaml');
    const render = spawnSync(process.execPath, ['-e', RENDER, specFile, JSON.stringify(PARAMETERS)], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(render.status, 0, render.stderr);
    const rendered = await readFile(specFile, 'utf8');
    assert.doesNotMatch(rendered, /\{\{/);

    const spec = await loadSpec(specFile);
    checkSpecConsistency(spec);
    assert.deepEqual(validateSpecRules(spec).map((r) => r.prefix), ['uploads/']);
    assert.deepEqual(spec.functions.map((f) => [f.functionName, f.region]), [['clips-submit', 'cn-shanghai'], ['clips-record', 'cn-shanghai'], ['clips-reconcile', 'cn-shanghai']]);
    assert.deepEqual(spec.functions.flatMap((f) => f.ossTriggers.map((t) => [t.name, t.bucket, t.prefix])), [['clips-oss-clips-bucket', 'clips-bucket', 'uploads/']]);

    // The app's own build, in the rendered folder, as `s deploy`'s pre-deploy action runs it.
    await symlink(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'), 'dir');
    const build = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: src, encoding: 'utf8', timeout: 180_000 });
    assert.equal(build.status, 0, build.stderr + build.stdout);
    assert.deepEqual((await readdir(path.join(src, 'dist'))).sort(), ['reconcile', 'record', 'ros', 'submit']);
    assert.match(await readFile(path.join(src, 'policies', 'submit-function.json'), 'utf8'), /acs:oss:\*:\*:clips-bucket\/uploads\/\*/);
    assert.match(await readFile(path.join(src, 'policies', 'deployer.json'), 'utf8'), /role\/clips-cn-shanghai-submit/);
  });

  test('the template fails loudly when s.yaml moves a default it replaces', () => {
    assert.throws(() => templateSpec('vars:\n  region: cn-hangzhou\n'), /vars\.region is not where the registry template expects it/);
  });
});
