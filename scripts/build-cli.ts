import path from 'node:path';
import { buildCli } from '../cli/bundle';

/** npm run build (and npm ci's prepare): the command line as plain JavaScript in dist/cli/. */
async function main() {
  const root = path.resolve(__dirname, '..');
  for (const bundle of await buildCli()) console.log(`${path.relative(root, bundle.file)}  ${(bundle.bytes / 1024).toFixed(1)} KiB`);
}

void main();
