import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildOnce, ROOT, type CliRun } from './helpers/cli';

function node(cwd: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, NODE_PATH: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let alone: string;

before(async () => {
  await buildOnce();
  // The binary and its build with s.yaml, in a folder with no node_modules anywhere above it: what it needs at run
  // time must be inside the bundle.
  alone = await mkdtemp(path.join(tmpdir(), 'cli-alone-'));
  await cp(path.join(ROOT, 'bin'), path.join(alone, 'bin'), { recursive: true });
  await cp(path.join(ROOT, 'dist', 'cli'), path.join(alone, 'dist', 'cli'), { recursive: true });
  await cp(path.join(ROOT, 's.yaml'), path.join(alone, 's.yaml'));
});

after(async () => {
  await rm(alone, { recursive: true, force: true });
});

describe('the built command line', () => {
  test('runs without node_modules and without TypeScript: --help, and plan reading s.yaml', async () => {
    const help = await node(alone, ['bin/video-animation.cjs', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: video-animation/);
    const plan = await node(alone, ['bin/video-animation.cjs', 'plan', '--json']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.equal((JSON.parse(plan.stdout) as unknown[]).length, 3, 'the default rule: a GIF, a WebP and a poster');
  });

  test('a usage error raised in the commands bundle still exits 2', async () => {
    const run = await node(alone, ['bin/video-animation.cjs', 'status', '--local']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /start the local stack first: npm start/);
  });

  test('reads Serverless Devs keys from inside the bundle too (--access)', async () => {
    const run = await node(alone, ['bin/video-animation.cjs', 'status', '--access', 'nope'], { serverless_devs_config_home: alone, HOME: alone });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /no Serverless Devs key named "nope" .*s config add --access nope/);
  });

  test('without a build: one line saying to run npm run build, exit 1', async () => {
    const bare = await mkdtemp(path.join(tmpdir(), 'cli-unbuilt-'));
    try {
      await cp(path.join(ROOT, 'bin'), path.join(bare, 'bin'), { recursive: true });
      const run = await node(bare, ['bin/video-animation.cjs', '--help']);
      assert.equal(run.code, 1);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /^video-animation: the command line is not built \(.*video-animation\.cjs is missing\): run npm run build in /);
      assert.equal(run.stderr.trim().split('\n').length, 1);
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });
});
