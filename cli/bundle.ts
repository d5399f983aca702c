// How the command line is built (scripts/build-cli.ts runs it); never part of the command line's own bundles.
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { stat } from 'node:fs/promises';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
/** Where bin/video-animation.cjs looks for the command line. */
export const CLI_DIR = path.join(ROOT, 'dist', 'cli');
export const CLI_ENTRY = 'video-animation.cjs';
export const CLI_APP = 'app.cjs';

/** main.ts's `import('./app')` becomes a require of the app bundle beside it, instead of being inlined. */
const appApart: Plugin = {
  name: 'app-apart',
  setup(build) {
    build.onResolve({ filter: /^\.\/app$/ }, (args) => (path.resolve(args.resolveDir) === path.join(ROOT, 'cli') ? { path: `./${CLI_APP}`, external: true } : undefined));
  },
};

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Smaller text parses faster at every start; names are kept so stack traces stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  sourcemap: false,
  legalComments: 'none',
  // urllib (under ali-oss) requires it only when a proxy is configured and the user installed it.
  external: ['proxy-agent'],
  logLevel: 'warning',
};

/**
 * Bundles the command line into plain JavaScript, node_modules included, so running it needs neither a TypeScript
 * compiler nor a dev dependency (s.yaml is read with @serverless-devs/parse-spec, a dev dependency, bundled in):
 * - `video-animation.cjs`: cli/main.ts and commander, all `--help` and usage errors need;
 * - `app.cjs`: cli/app.ts, the commands and the cloud clients (6 MB), read only once a command runs.
 * One file would do, but reading 6 MB doubles the time `--help` takes (bench/cli-start.ts).
 */
export async function buildCli(outDir = CLI_DIR): Promise<{ file: string; bytes: number }[]> {
  const files = [path.join(outDir, CLI_ENTRY), path.join(outDir, CLI_APP)];
  await Promise.all([
    build({ ...common, entryPoints: [path.join(ROOT, 'cli', 'main.ts')], outfile: files[0], plugins: [appApart] }),
    build({ ...common, entryPoints: [path.join(ROOT, 'cli', 'app.ts')], outfile: files[1] }),
  ]);
  return Promise.all(files.map(async (file) => ({ file, bytes: (await stat(file)).size })));
}
