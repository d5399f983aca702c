/** What `npm run build` writes: the function bundles (rules embedded), the stack's ROS template and policies/. */
import { build } from 'esbuild';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_RECORDS_PREFIX } from '../shared/wiring/config';
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

/**
 * Writes the stack's ROS template where the ros resource reads it and policies/*.json beside s.yaml (both generated
 * from s.yaml, so both are written every time). Returns the template and the policy files whose content changed.
 */
export async function writeDeployFiles(spec: ServiceSpec, options: { policiesDir?: string } = {}): Promise<{ template?: string; policies: string[] }> {
  if (spec.stacks.length === 0) return { policies: [] };
  const submit = spec.functions.find((f) => f.resource === 'submit') ?? spec.functions[0];
  if (!submit) throw new SpecError('s.yaml has no fc3 resource');
  const deployment = deploymentFromSpec(spec, functionRules(spec, submit), submit.env['RECORDS_PREFIX'] ?? DEFAULT_RECORDS_PREFIX);
  const template = deployment.stack.templateFile;
  await mkdir(path.dirname(template), { recursive: true });
  await writeFile(template, formatJson(stackTemplate(deployment)));

  const dir = options.policiesDir ?? path.join(path.dirname(spec.file), 'policies');
  await mkdir(dir, { recursive: true });
  const changed: string[] = [];
  for (const [name, document] of Object.entries(policyFiles(deployment))) {
    const file = path.join(dir, name);
    const current = await readFile(file, 'utf8').then((text) => text, () => undefined);
    const next = formatJson(document);
    if (current === next) continue;
    await writeFile(file, next);
    changed.push(file);
  }
  return { template, policies: changed };
}
