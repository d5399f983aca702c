import { build } from 'esbuild';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { DEFAULT_RECORDS_PREFIX } from '../shared/platform/config';
import { engineRuleProblems } from '../shared/engines/limits';
import type { Rule } from '../shared/rules/schema';
import { parseRuleSet, ruleSetWarnings, RulesConfigError } from '../shared/rules/validate';
import { DeployConfigError, deploymentFromSpec, destinationTopic, formatJson, policyFiles, stackTemplate } from '../deploy/deploy-resources';
import { loadSpec, SpecError, type FunctionSpec, type ServiceSpec } from '../deploy/spec';

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
      logLevel: 'warning',
    });
    results.push({ name, file, bytes: (await stat(file)).size });
  }
  return results;
}

const rulesContext = (spec: ServiceSpec, fn: FunctionSpec) => ({
  recordsPrefix: fn.env['RECORDS_PREFIX'] ?? DEFAULT_RECORDS_PREFIX,
  triggers: spec.functions.find((f) => f.resource === 'submit')?.ossTriggers ?? fn.ossTriggers,
  engineProblems: engineRuleProblems,
});

/**
 * The rules each function runs: `RULES` from its environment (validated like vars.rules, naming the resource and
 * field) or else the embedded vars.rules. Throws RulesConfigError / SpecError.
 */
export function functionRules(spec: ServiceSpec, fn: FunctionSpec): Rule[] {
  const where = `s.yaml resources.${fn.resource}.props.environmentVariables.RULES`;
  const text = fn.env['RULES'];
  if (text === undefined) return parseRuleSet(spec.rules, rulesContext(spec, fn), 's.yaml vars.rules');
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new SpecError(`${where} is not JSON (${(error as Error).message}): write the rules as one JSON array, in the form of vars.rules`);
  }
  return parseRuleSet(input, rulesContext(spec, fn), where);
}

/**
 * What must agree across resources for a deployment to work at all, checked before anything is bundled: every
 * function runs the same rules and records prefix, uses one IMM project, and sends IMM's notices (MNS_TOPIC) to the
 * topic the record function's mns_topic trigger listens to; reconcile's BUCKET is the bucket the OSS trigger watches.
 */
export function checkSpecConsistency(spec: ServiceSpec): void {
  const problems: string[] = [];
  const env = (fn: FunctionSpec, name: string) => `resources.${fn.resource}.props.environmentVariables.${name}`;

  const ruleSets = spec.functions.map((fn) => ({ fn, rules: functionRules(spec, fn) }));
  const [first, ...others] = ruleSets;
  for (const other of others) {
    if (first && !isDeepStrictEqual(first.rules, other.rules)) {
      const source = (fn: FunctionSpec) => (fn.env['RULES'] !== undefined ? env(fn, 'RULES') : 'vars.rules (embedded)');
      problems.push(
        `resources.${other.fn.resource} runs other rules (${source(other.fn)}) than resources.${first.fn.resource} (${source(first.fn)}): every function must run the same rules (submit starts their tasks, record and reconcile retry and record them)`,
      );
    }
  }

  const same = (name: string, why: string) => {
    const set = spec.functions.filter((fn) => fn.env[name] !== undefined);
    const values = [...new Set(set.map((fn) => fn.env[name]))];
    if (values.length > 1) problems.push(`${set.map((fn) => `${env(fn, name)} = "${fn.env[name]}"`).join(', ')}: ${why}`);
  };
  same('RECORDS_PREFIX', 'every function must read and write the same job records');
  same('IMM_PROJECT', 'tasks started in one project cannot be found or asked about in another');

  const listened = spec.functions.flatMap((fn) => fn.mnsTriggers.map((t) => ({ fn, topic: t.topic })));
  for (const fn of spec.functions) {
    const topic = fn.env['MNS_TOPIC'];
    if (topic === undefined) continue;
    if (listened.length === 0) {
      problems.push(`${env(fn, 'MNS_TOPIC')} = "${topic}" but no function has an mns_topic trigger: IMM's completion notices would reach nothing and every job would wait for reconcile`);
    } else if (!listened.some((l) => l.topic === topic)) {
      problems.push(
        `${env(fn, 'MNS_TOPIC')} = "${topic}" but ${listened.map((l) => `resources.${l.fn.resource}'s mns_topic trigger listens to "${l.topic}"`).join(', ')}: IMM would publish every completion notice where nothing listens, and every job would stay open`,
      );
    }
    const failure = destinationTopic(fn);
    if (failure !== undefined && failure === topic) {
      problems.push(`resources.${fn.resource}: the onFailure destination topic is MNS_TOPIC ("${topic}"): failed events would arrive at the record function as notices`);
    }
  }

  const watched = [...new Set(spec.functions.flatMap((fn) => fn.ossTriggers.map((t) => t.bucket)))];
  for (const fn of spec.functions) {
    const bucket = fn.env['BUCKET'];
    if (bucket !== undefined && watched.length > 0 && !watched.includes(bucket)) {
      problems.push(`${env(fn, 'BUCKET')} = "${bucket}" but the OSS trigger watches ${watched.map((b) => `"${b}"`).join(', ')}: reconcile would look after another bucket's jobs`);
    }
  }
  if (problems.length > 0) throw new SpecError(`s.yaml is inconsistent:\n  - ${problems.join('\n  - ')}`);
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

async function main() {
  const args = process.argv.slice(2);
  const specFile = args.find((a) => !a.startsWith('--')) ?? path.join(ROOT, 's.yaml');
  const writePolicies = args.includes(WRITE_POLICIES_FLAG);
  try {
    const spec = await loadSpec(specFile);
    checkSpecConsistency(spec);
    // policies/ belongs to the project's own s.yaml; another spec (a fixture) only gets its template written.
    const own = path.resolve(specFile) === path.join(ROOT, 's.yaml');
    const written = await writeDeployFiles(spec, { policies: !own ? 'skip' : writePolicies ? 'write' : 'check' });
    for (const bundle of await buildFunctions(spec)) {
      console.log(`${path.relative(ROOT, bundle.file)}  ${(bundle.bytes / 1024).toFixed(1)} KiB`);
    }
    if (written.template) console.log(`${path.relative(process.cwd(), written.template)}  (ROS template of resources.${spec.stacks[0]!.resource})`);
    for (const file of written.policies) console.log(`${path.relative(process.cwd(), file)}  (rewritten)`);
  } catch (error) {
    if (error instanceof RulesConfigError || error instanceof SpecError || error instanceof DeployConfigError) {
      console.error(`build failed: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

if (require.main === module) void main();
