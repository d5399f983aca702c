import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

// Which folder may import which: the rooms of docs/architecture.md, checked over every import in the tree.

const ROOT = path.resolve(__dirname, '..');
const LOCAL_CLOUD = 'packages/local-cloud';
const LOCAL_CLOUD_ENTRY = '@video-animation/local-cloud';
/** The package's public entry points: its main one and the subpaths its package.json exports (e.g. a light one). */
const LOCAL_CLOUD_EXPORTS = new Set(
  Object.keys((JSON.parse(readFileSync(path.join(ROOT, LOCAL_CLOUD, 'package.json'), 'utf8')) as { exports: Record<string, string> }).exports).map((subpath) =>
    subpath === '.' ? LOCAL_CLOUD_ENTRY : `${LOCAL_CLOUD_ENTRY}/${subpath.slice(2)}`,
  ),
);
const APP_ROOMS = ['shared', 'cli', 'scripts', 'local', 'functions', 'deploy'];
const SKIPPED = new Set(['node_modules', 'dist', '.git', '.local', 'reports', 'coverage']);

interface ImportRecord {
  /** Repository-relative path of the importing file, with forward slashes. */
  file: string;
  specifier: string;
  /** Repository-relative path of the imported file or folder for a relative specifier; undefined for a package. */
  target: string | undefined;
}

/** Specifiers of static imports and re-exports, `import('x')` and `require('x')`, comments ignored. */
function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match[1]!));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIPPED.has(name)) return [];
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.(?:ts|mts|cts|js|mjs|cjs)$/.test(name) && !name.endsWith('.d.ts') ? [full] : [];
  });
}

function allImports(): ImportRecord[] {
  return sourceFiles(ROOT).flatMap((full) => {
    const file = path.relative(ROOT, full).split(path.sep).join('/');
    return importSpecifiers(readFileSync(full, 'utf8')).map((specifier) => ({
      file,
      specifier,
      target: specifier.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)) : undefined,
    }));
  });
}

const within = (file: string | undefined, folder: string) => file !== undefined && (file === folder || file.startsWith(`${folder}/`));
const room = (file: string) => APP_ROOMS.find((r) => within(file, r));
const describeAll = (records: ImportRecord[]) => records.map((r) => `${r.file} imports ${r.specifier}`).join('\n');
const imports = allImports();

describe('architecture: who may import whom', () => {
  test('the import reader sees every form of import and skips comments', () => {
    const source = [
      "import a from './a';",
      "import type { B } from '../b';",
      "export { c } from './c';",
      "export * from './d';",
      "import './e';",
      "const f = await import('./f');",
      "const g = require('./g');",
      "import {\n  h,\n  type H,\n} from './h';",
      "// import x from './commented';",
      "/* import y from './block'; */",
    ].join('\n');
    assert.deepEqual(importSpecifiers(source).sort(), ['../b', './a', './c', './d', './e', './f', './g', './h']);
  });

  test('the tree is read: the app imports the local cloud, the local cloud has files', () => {
    assert.ok(existsSync(path.join(ROOT, LOCAL_CLOUD, 'src/index.ts')));
    assert.ok(imports.some((r) => within(r.file, 'local') && r.specifier === LOCAL_CLOUD_ENTRY));
    assert.ok(imports.some((r) => within(r.file, LOCAL_CLOUD)));
  });

  test('packages/local-cloud imports nothing from the app', () => {
    const violations = imports.filter((r) => within(r.file, LOCAL_CLOUD) && (room(r.target ?? '') !== undefined || r.specifier === 'video-animation'));
    assert.equal(violations.length, 0, describeAll(violations));
  });

  test("the app imports the local cloud only through its entry point, never a module under it", () => {
    const violations = imports.filter(
      (r) =>
        room(r.file) !== undefined &&
        (within(r.target, LOCAL_CLOUD) || (r.specifier.startsWith(`${LOCAL_CLOUD_ENTRY}/`) && !LOCAL_CLOUD_EXPORTS.has(r.specifier))),
    );
    assert.equal(violations.length, 0, describeAll(violations));
  });

  test('nothing outside scripts/ imports scripts/ (it holds entry points only)', () => {
    const violations = imports.filter((r) => !within(r.file, 'scripts') && within(r.target, 'scripts'));
    assert.equal(violations.length, 0, describeAll(violations));
  });

  test('shared/platform/ imports no other room of shared/ (it is the bottom layer)', () => {
    const violations = imports.filter((r) => within(r.file, 'shared/platform') && within(r.target, 'shared') && !within(r.target, 'shared/platform'));
    assert.equal(violations.length, 0, describeAll(violations));
  });
});
