// Mutation testing of shared/ with the fast unit tests only: `npm run mutate`.
// Reports: reports/mutation/mutation.json (+ .html); scripts/mutation-summary.ts prints the score per folder.
//
// Unit tests = test/unit/**/*.test.ts: they import from shared/ and need no server process, no local stack, no ffmpeg.
// Tests that start the local stack or ffmpeg stay in test/ and are not run here (npm test runs both folders).
//
// Runner: @stryker-mutator/tap-runner. It runs each unit test file as its own `node` process with node:test's TAP
// reporter, so coverage is per test file: a mutant runs only the files that execute it, and a mutant no file
// reaches is reported "no coverage" without running anything. The `command` runner ran the whole suite per mutant
// (about 4x slower in the pilot) and the typescript checker cost 3.7x the run time for +1.3 points: both left out.
// `-r tsx/cjs` (the package is CommonJS) starts ~30 % faster than `--import tsx`, which also registers the ESM loader.
//
// Core and runner are pinned to 9.6.1: StrykerJS 10 requires Node >= 22 and this project runs on Node 20,
// and the tap runner's peer dependency is the exact core version.

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [
    'shared/**/*.ts',
    // Returns a constant esbuild injects at build time (scripts/build.ts): only the built bundles (spec/e2e tests) see it.
    '!shared/rules/embedded.ts',
    // The declaration of each function's cloud calls (data the deploy generator reads): test/deploy-policies.test.ts
    // checks it against the requests the functions really make on the local stack, which no unit test can.
    '!deploy/calls.ts',
  ],
  testRunner: 'tap',
  tap: {
    testFiles: ['test/unit/**/*.test.ts'],
    nodeArgs: ['--test-reporter=tap', '-r', '{{hookFile}}', '-r', 'tsx/cjs', '{{testFile}}'],
    forceBail: true,
  },
  coverageAnalysis: 'perTest',
  // Static mutants (module-level code: zod schemas, constant tables) run when a module loads, so Stryker cannot tell
  // which test file covers them and runs every unit file for each one: they were a third of the run time on 2 cores.
  // They are left out of the score; the schemas they would mutate are pinned by the rules/events unit tests anyway.
  ignoreStatic: true,
  concurrency: 2,
  // Not copied into the sandbox: build output and local-stack data.
  ignorePatterns: ['/dist', '/.local', '/drop', '/out'],
  reporters: ['clear-text', 'html', 'json', 'progress-append-only'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  // Per-file score table only; the surviving mutants are listed in the HTML report.
  clearTextReporter: { reportMutants: false, reportTests: false },
  // Exit code 1 when the total mutation score is below 80 %.
  thresholds: { high: 90, low: 80, break: 80 },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
