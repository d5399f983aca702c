import path from 'node:path';
import { buildRegistryPackage, RegistryPackageError } from '../deploy/registry';

/** `npm run package`: the Serverless Devs registry package in dist/registry/ (publish with `s registry publish` there). */
async function main() {
  try {
    const { dir, files } = await buildRegistryPackage();
    for (const file of files) console.log(path.relative(process.cwd(), path.join(dir, file)));
  } catch (error) {
    if (error instanceof RegistryPackageError) {
      console.error(`package failed: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

if (require.main === module) void main();
