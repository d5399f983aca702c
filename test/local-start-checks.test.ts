import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';

// `npm start` checks s.yaml exactly as `npm run build` does, before anything starts: the same checks, the same
// message after its own "npm start failed:", exit 1, no stack trace. Each case is an s.yaml in a folder of its own
// (npm start reads ./s.yaml), run through local/cli.ts and scripts/build.ts as the npm scripts run them.
const ROOT = path.resolve(__dirname, '..');
const TSX = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

let dir: string;
let spec: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'local-start-checks-'));
  spec = await readFile(path.join(ROOT, 's.yaml'), 'utf8');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(cwd: string, script: string, args: string[]) {
  const result = spawnSync(process.execPath, ['--import', TSX, path.join(ROOT, script), ...args], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const cases: [string, (yaml: string) => string, RegExp][] = [
  ['a rule outside the watched prefix names vars.watchPrefix', (yaml) => yaml.replace(/^ {2}watchPrefix: videos\/$/m, '  watchPrefix: movies/'), /set vars\.watchPrefix in s\.yaml/],
  ['an output template with an unknown variable', (yaml) => yaml.replace('key: animations/{dirname}/{basename}', 'key: animations/{dirname}/{nope}'), /\{nope\}/],
];

describe('npm start checks s.yaml as the build does', () => {
  for (const [what, edit, expected] of cases) {
    test(what, async (t) => {
      const edited = edit(spec);
      assert.notEqual(edited, spec, 'the case changes s.yaml');
      const cwd = path.join(dir, t.name.replace(/\W+/g, '-'));
      await mkdir(cwd);
      await writeFile(path.join(cwd, 's.yaml'), edited);

      const build = run(cwd, 'scripts/build.ts', [path.join(cwd, 's.yaml')]);
      assert.equal(build.status, 1, build.stderr);
      const message = build.stderr.replace(/^build failed: /, '').trimEnd();
      assert.match(message, expected);

      const start = run(cwd, 'local/cli.ts', ['start']);
      assert.equal(start.status, 1, start.stderr);
      assert.equal(start.stderr.trimEnd(), `npm start failed: ${message}`);
      assert.doesNotMatch(start.stderr, /^\s+at /m, 'no stack trace');
      assert.equal(start.stdout, '', 'nothing started');
    });
  }
});
