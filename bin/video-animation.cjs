#!/usr/bin/env node
// The command line is TypeScript run through tsx (a dependency of the project), so it needs no build step.
require('tsx/cjs');
const { run } = require('../cli/main.ts');

run(process.argv.slice(2)).then(
  (exitCode) => process.exit(exitCode),
  (error) => {
    process.stderr.write(`video-animation: ${error && error.message ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
