/** What `npm run build` writes: the function bundles (rules embedded), the stack's ROS template and policies/. */
import { build } from 'esbuild';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { DEFAULT_RECORDS_PREFIX } from '../shared/platform/config';
import { ruleSetWarnings } from '../shared/rules/validate';
import { functionRules, validateSpecRules } from './checks';
import { deploymentFromSpec, formatJson, policyFiles, stackTemplate } from './deploy-resources';
import { SpecError, type ServiceSpec } from './spec';

const ROOT = path.resolve(__dirname, '..');
export const FUNCTION_NAMES = ['submit', 'record', 'reconcile'] as const;

/** Bundles each function into dist/<name>/index.js (CommonJS, Node 20, minified) with the validated rules embedded. */
export async function buildFunctions(
  spec: ServiceSpec,
  outDir = path.join(ROOT, 'dist'),
  warn: (message: string) => void = (message) => console.warn(`warning: ${message}`),
): Promise<{ name: string; file: string; bytes: number }[]> {
  for (const warning of ruleSetWarnings(validateSpecRules(spec))) warn(warning);
  const results = [];
  for (const name of FUNCTION_NAMES) {
    const file = path.join(outDir, name, 'index.js');
    await build({
      entryPoints: [path.join(ROOT, 'functions', name, 'index.ts')],
      outfile: file,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      sourcemap: false,
      legalComments: 'none',
      define: { __VIDEO_ANIMATION_RULES__: JSON.stringify(spec.rules) },
      logLevel: 'warning',
    });
    results.push({ name, file, bytes: (await stat(file)).size });
  }
  return results;
}

const POLICIES_DIR = path.join(ROOT, 'policies');
export const WRITE_POLICIES_FLAG = '--write-policies';

/**
 * Writes the stack's ROS template where the ros resource reads it, and checks (or, with --write-policies, writes)
 * policies/*.json. Returns the files written; throws SpecError when policies/ is stale.
 */
export async function writeDeployFiles(
  spec: ServiceSpec,
  options: { policiesDir?: string; policies?: 'check' | 'write' | 'skip' } = {},
): Promise<{ template?: string; policies: string[] }> {
  if (spec.stacks.length === 0) return { policies: [] };
  const submit = spec.functions.find((f) => f.resource === 'submit') ?? spec.functions[0];
  if (!submit) throw new SpecError('s.yaml has no fc3 resource');
  const deployment = deploymentFromSpec(spec, functionRules(spec, submit), submit.env['RECORDS_PREFIX'] ?? DEFAULT_RECORDS_PREFIX);
  const template = deployment.stack.templateFile;
  await mkdir(path.dirname(template), { recursive: true });
  await writeFile(template, formatJson(stackTemplate(deployment)));

  const files = policyFiles(deployment);
  if (options.policies === 'skip') return { template, policies: [] };
  const dir = options.policiesDir ?? POLICIES_DIR;
  const stale: string[] = [];
  for (const [name, document] of Object.entries(files)) {
    const current = await readFile(path.join(dir, name), 'utf8').then(
      (text) => JSON.parse(text) as unknown,
      () => undefined,
    );
    if (!isDeepStrictEqual(current, document)) stale.push(name);
  }
  if (stale.length > 0 && options.policies !== 'write') {
    throw new SpecError(
      `${stale.map((n) => path.relative(ROOT, path.join(dir, n))).join(', ')} ${stale.length === 1 ? 'is' : 'are'} stale against s.yaml ` +
        `(the policies are generated from its rules, bucket, prefixes and names): run \`npm run build -- ${WRITE_POLICIES_FLAG}\` to rewrite them`,
    );
  }
  if (stale.length > 0) {
    await mkdir(dir, { recursive: true });
    for (const name of stale) await writeFile(path.join(dir, name), formatJson(files[name]));
  }
  return { template, policies: stale.map((n) => path.join(dir, n)) };
}

