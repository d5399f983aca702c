import path from 'node:path';
import { RulesConfigError } from '../shared/rules/validate';
import { buildFunctions, writeDeployFiles } from '../deploy/build';
import { checkSpecConsistency } from '../deploy/checks';
import { DeployConfigError } from '../deploy/deploy-resources';
import { loadSpec, SpecError } from '../deploy/spec';

const ROOT = path.resolve(__dirname, '..');

async function main() {
  const args = process.argv.slice(2);
  const specFile = args.find((a) => !a.startsWith('--')) ?? path.join(ROOT, 's.yaml');
  try {
    const spec = await loadSpec(specFile);
    checkSpecConsistency(spec);
    // Everything lands beside s.yaml, where its `code:`, `template:` and the README's policies/ point.
    const written = await writeDeployFiles(spec);
    for (const bundle of await buildFunctions(spec, path.join(path.dirname(path.resolve(specFile)), 'dist'))) {
      console.log(`${path.relative(ROOT, bundle.file)}  ${(bundle.bytes / 1024).toFixed(1)} KiB`);
    }
    if (written.template) console.log(`${path.relative(process.cwd(), written.template)}  (ROS template of resources.${spec.stacks[0]!.resource})`);
    for (const file of written.policies) console.log(`${path.relative(process.cwd(), file)}  (changed)`);
  } catch (error) {
    if (error instanceof RulesConfigError || error instanceof SpecError || error instanceof DeployConfigError) {
      console.error(`build failed: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

if (require.main === module) void main();
