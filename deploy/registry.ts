/**
 * The Serverless Devs 3 registry package of the app (`s init video-animation`): `publish.yaml` (Edition 3.0.0, Type
 * Project, the Parameters `s init` prompts for) and the app under `src/`, whose s.yaml `s init` renders from those
 * parameters with @serverless-devs/art-template (`{{ name }}` placeholders; Serverless Devs' own `${...}` stays as it
 * is). Layout as in the devsapp start templates (devsapp/start-fc, devsapp/start-ffmpeg: publish.yaml + src/).
 */
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';

const ROOT = path.resolve(__dirname, '..');

/** What `s init` asks for, and the placeholder each fills in s.yaml. */
export const REGISTRY_PARAMETERS = ['region', 'bucket', 'watchPrefix', 'appName'] as const;
export type RegistryParameters = Record<(typeof REGISTRY_PARAMETERS)[number], string>;

/** The folders and files of the app that a deployment needs (the local cloud, CLI, tests and benches stay out). */
const APP_FILES = ['functions', 'shared', 'deploy', 'scripts/build.ts', 'tsconfig.json', 'package-lock.json'];

export class RegistryPackageError extends Error {
  override name = 'RegistryPackageError';
}

/**
 * s.yaml with its defaults replaced by `s init` placeholders: the region, the watched bucket, the app name, and the
 * watched prefix (which the default rule's prefix follows, so the rendered rules lie below the trigger's filter).
 */
export function templateSpec(text: string): string {
  const replacements: [RegExp, string, string][] = [
    [/^( {2}region: \$\{env\('REGION', )'[^']*'\)\}$/m, "$1'{{ region }}')}", 'vars.region'],
    [/^( {2}bucket: \$\{env\('BUCKET', )'[^']*'\)\}$/m, "$1'{{ bucket }}')}", 'vars.bucket'],
    [/^( {2}app: \$\{env\('APP_NAME', )'[^']*'\)\}$/m, "$1'{{ appName }}')}", 'vars.app'],
    [/^( {2}watchPrefix: ).*$/m, '$1{{ watchPrefix }}', 'vars.watchPrefix'],
    [/^( {6}prefix: )videos\/$/m, '$1{{ watchPrefix }}', "vars.rules[0].prefix ('videos/')"],
  ];
  let out = text;
  for (const [pattern, replacement, what] of replacements) {
    if (!pattern.test(out)) throw new RegistryPackageError(`s.yaml: ${what} is not where the registry template expects it (${pattern.source}): update deploy/registry.ts`);
    out = out.replace(pattern, replacement);
  }
  if (/\{\{(?! (region|bucket|appName|watchPrefix) \}\})/.test(out) || out.includes('<%')) {
    throw new RegistryPackageError('s.yaml contains "{{" or "<%" of its own: art-template would read it as a placeholder');
  }
  return out;
}

/** publish.yaml: what the registry shows and what `s init` prompts for. */
export function publishYaml(version: string): string {
  return stringify({
    Edition: '3.0.0',
    Type: 'Project',
    Name: 'video-animation',
    Version: version,
    Provider: ['阿里云'],
    Description: 'Videos uploaded under an OSS prefix become animated GIF/WebP previews (Function Compute 3.0, IMM, MNS)',
    Tags: ['video', 'animation', 'gif', 'webp', 'IMM', 'OSS'],
    Parameters: {
      type: 'object',
      additionalProperties: false,
      required: [...REGISTRY_PARAMETERS],
      properties: {
        region: {
          title: 'Region',
          type: 'string',
          default: 'cn-hangzhou',
          description: 'Where the functions, the IMM project and the bucket are (one region where FC 3.0 and IMM both run)',
          pattern: '^[a-z]{2}-[a-z0-9-]+$',
        },
        bucket: {
          title: 'OSS bucket',
          type: 'string',
          description: 'The bucket whose uploads become animations (in the region above)',
          'x-bucket': { dependency: ['region'] },
        },
        watchPrefix: {
          title: 'Watched prefix',
          type: 'string',
          default: 'videos/',
          description: 'Uploads under this prefix are converted; it ends with "/"',
          pattern: '^[^/].*/$',
        },
        appName: {
          title: 'App name',
          type: 'string',
          default: 'video-animation',
          description: 'Starts the name of every resource the app creates: lowercase letters, digits and "-"',
          pattern: '^[a-z][a-z0-9-]*$',
        },
      },
    },
  });
}

/** The app's package.json for the registry: only what building and deploying need. */
function appPackageJson(pkg: Record<string, unknown>): string {
  const scripts = pkg['scripts'] as Record<string, string>;
  return `${JSON.stringify({ ...pkg, scripts: { build: scripts['build'], typecheck: scripts['typecheck'] } }, null, 2)}\n`;
}

const APP_README = `# video-animation

Videos uploaded under a prefix of an OSS bucket become animated GIF/WebP previews: Function Compute 3.0 functions
hand each upload to IMM (\`CreateMediaConvertTask\`), record the results and tag the animations.

Deploy (Node 20 and Serverless Devs 3):

    npm ci
    s deploy

\`s deploy\` runs \`npm run build\` first: it checks s.yaml, bundles the functions and writes the stack's template and
\`policies/\`. The key that deploys needs what \`policies/deployer.json\` allows. Edit the rules in s.yaml
(\`vars.rules\`); the project's README describes every field.
`;

/** Writes dist/registry/ (or `outDir`): publish.yaml, and the app under src/ with s.yaml as an `s init` template. */
export async function buildRegistryPackage(outDir = path.join(ROOT, 'dist', 'registry')): Promise<{ dir: string; files: string[] }> {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  await rm(outDir, { recursive: true, force: true });
  const src = path.join(outDir, 'src');
  await mkdir(path.join(src, 'scripts'), { recursive: true });
  for (const file of APP_FILES) await cp(path.join(ROOT, file), path.join(src, file), { recursive: true });
  await writeFile(path.join(src, 's.yaml'), templateSpec(await readFile(path.join(ROOT, 's.yaml'), 'utf8')));
  await writeFile(path.join(src, 'package.json'), appPackageJson(pkg));
  await writeFile(path.join(src, 'README.md'), APP_README);
  await writeFile(path.join(outDir, 'publish.yaml'), publishYaml(String(pkg['version'])));
  await writeFile(path.join(outDir, 'README.md'), APP_README);
  return { dir: outDir, files: ['publish.yaml', 'README.md', 'src/s.yaml', 'src/package.json', 'src/README.md', ...APP_FILES.map((f) => `src/${f}`)] };
}
