import { build } from 'esbuild';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_RECORDS_PREFIX } from '../shared/platform/config';
import { engineRuleProblems } from '../shared/engines/limits';
import type { Rule } from '../shared/rules/schema';
import { parseRuleSet, ruleSetWarnings, RulesConfigError } from '../shared/rules/validate';
import { loadSpec, SpecError, type ServiceSpec } from './spec';

const ROOT = path.resolve(__dirname, '..');
export const FUNCTION_NAMES = ['submit', 'record', 'reconcile'] as const;

/** Validates the rules in s.yaml against the schema and the submit function's OSS triggers; throws RulesConfigError. */
export function validateSpecRules(spec: ServiceSpec): Rule[] {
  const submit = spec.functions.find((f) => f.resource === 'submit');
  if (!submit) throw new SpecError('s.yaml has no fc3 resource named "submit"');
  if (submit.ossTriggers.length === 0) throw new SpecError('s.yaml resources.submit has no OSS trigger: no upload would ever be processed');
  const context = { recordsPrefix: submit.env['RECORDS_PREFIX'] ?? DEFAULT_RECORDS_PREFIX, triggers: submit.ossTriggers, engineProblems: engineRuleProblems };
  const rules = parseRuleSet(spec.rules, context, 's.yaml vars.rules');
  const framed = rules.filter((rule) => rule.outputs.some((o) => o.frames !== undefined));
  if (framed.length > 0 && !submit.env['IMM_PROJECT']) {
    throw new SpecError(
      `rules ${framed.map((r) => `"${r.name}"`).join(', ')} use frames: the submit function learns each video's duration with IMM DetectMediaMeta, ` +
        'so resources.submit.props.environmentVariables.IMM_PROJECT must name the IMM project (with engine oss: the project attached to the bucket)',
    );
  }
  return rules;
}

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
      // urllib (under ali-oss) requires proxy-agent only when an HTTP proxy is configured, which FC never does.
      external: ['proxy-agent'],
      logLevel: 'warning',
    });
    results.push({ name, file, bytes: (await stat(file)).size });
  }
  return results;
}

async function main() {
  const specFile = process.argv[2] ?? path.join(ROOT, 's.yaml');
  try {
    const spec = await loadSpec(specFile);
    for (const bundle of await buildFunctions(spec)) {
      console.log(`${path.relative(ROOT, bundle.file)}  ${(bundle.bytes / 1024).toFixed(1)} KiB`);
    }
  } catch (error) {
    if (error instanceof RulesConfigError || error instanceof SpecError) {
      console.error(`build failed: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

if (require.main === module) void main();
