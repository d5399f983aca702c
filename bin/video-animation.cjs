#!/usr/bin/env node
// Runs the command line as `npm run build` bundled it (scripts/build-cli.ts): plain JavaScript, no TypeScript compiler
// and no dev dependency at run time.
const { existsSync } = require('node:fs');
const path = require('node:path');

const dir = path.join(__dirname, '..', 'dist', 'cli');
const bundle = path.join(dir, 'video-animation.cjs');
const missing = [bundle, path.join(dir, 'app.cjs')].find((file) => !existsSync(file));
if (missing) {
  process.stderr.write(`video-animation: the command line is not built (${missing} is missing): run npm run build in ${path.resolve(__dirname, '..')}\n`);
  process.exit(1);
}

require(bundle)
  .run(process.argv.slice(2))
  .then(
    (exitCode) => process.exit(exitCode),
    (error) => {
      process.stderr.write(`video-animation: ${error && error.message ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
