import path from 'node:path';
import { RulesConfigError } from '../shared/rules/validate';
import { buildFunctions, writeDeployFiles, WRITE_POLICIES_FLAG } from '../deploy/build';
import { checkSpecConsistency } from '../deploy/checks';
import { DeployConfigError } from '../deploy/deploy-resources';
import { loadSpec, SpecError } from '../deploy/spec';

const ROOT = path.resolve(__dirname, '..');

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
