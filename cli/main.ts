import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { BackfillOptions } from './commands/backfill';
import type { CommandContext, CommandResult } from './context';
import { OperationError, UsageError } from './errors';
import { commandLine, DEFAULT_TEMPLATE } from './hints';
import type { Target } from './target';

/** The commands and what they share, bundled apart (cli/app.ts) and loaded once a command runs. */
const app = () => import('./app');

interface GlobalOptions {
  json: boolean;
  color: boolean;
  local: boolean;
  localDir?: string;
  access?: string;
  template: string;
}

const EXAMPLES = `
Examples:
  video-animation status --since 24h           counts, stuck jobs, frames and cost of the last day
  video-animation jobs --status failed         failed jobs with IMM's error code
  video-animation show videos/clip.mp4         every job of a video, with links to its animations
  video-animation backfill --dry-run           what existing videos have no animation yet
  video-animation retry --failed               re-run every failed job
  video-animation plan --duration 120          frames and cost a 2-minute video makes
  video-animation gallery --local              a page with every video and its animations, in the browser
  video-animation doctor                       check the deployment against s.yaml (stack, functions, triggers)
  video-animation status --local               the same against the local stack (npm start)

Exit codes: 0 done, 1 ran but something failed (doctor: problems found), 2 usage error.`;

function positiveInteger(name: string) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`${name} must be a whole number of at least 1`);
    return value;
  };
}

function port(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new InvalidArgumentError('--port must be a whole number from 0 (a free port) to 65535');
  return value;
}

function positiveNumber(name: string) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(`${name} must be a number above 0`);
    return value;
  };
}

/** The whole command line; `run` resolves with the exit code once everything is written. */
export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const wantsJson = argv.includes('--json');
  let result: CommandResult | undefined;
  let helpText = '';

  const program = new Command('video-animation')
    .description('Operate the video-animation app: status, failures, frames and cost, backfill, retry, plan, a gallery page.')
    .option('--json', 'print one JSON document on stdout (for scripts)', false)
    .option('--no-color', 'no colours (also when NO_COLOR is set, or stdout is not a terminal)')
    .option('--local', 'act on the local stack (npm start) instead of the deployed app', false)
    .option('--local-dir <dir>', 'the local stack data folder holding endpoints.json (default .local, or env VIDEO_ANIMATION_LOCAL)')
    .option('--access <alias>', 'a key configured with Serverless Devs (s config add); default: the @alicloud/credentials chain')
    .option('-t, --template <file>', 'the s.yaml to read', DEFAULT_TEMPLATE)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => (helpText += text),
      writeErr: (text) => (helpText += text),
      // Commander's own usage errors: kept to become our one-line error with exit code 2.
      outputError: () => undefined,
    })
    .addHelpText('after', EXAMPLES);

  /** Commander calls an action with the arguments, the options, then the command itself. */
  const runCommand = (action: (ctx: CommandContext, command: Command) => Promise<CommandResult> | CommandResult) => async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const globals = command.optsWithGlobals<GlobalOptions>();
    if (globals.local && globals.access) throw new UsageError('--access goes with the deployed app, not --local');
    const { loadAppSettings, createOutput, connect } = await app();
    const settings = await loadAppSettings(globals.template);
    let target: Promise<Target> | undefined;
    const targetOptions = { local: globals.local, ...(globals.localDir ? { localDir: globals.localDir } : {}), ...(globals.access ? { access: globals.access } : {}) };
    const ctx: CommandContext = {
      settings,
      output: createOutput({ json: globals.json, color: globals.color, stdoutIsTTY: process.stdout.isTTY === true, stderrIsTTY: process.stderr.isTTY === true, env }),
      target: () => (target ??= connect(settings, targetOptions, env)),
      now: Date.now(),
      commandLine: (...args) => commandLine(globals, ...args),
    };
    result = await action(ctx, command);
  };

  program
    .command('status')
    .description('jobs by status and rule, stuck jobs, frames and estimated cost (reads the job index only)')
    .option('--since <duration|date>', 'only jobs created since then: 30m, 24h, 7d, 2w, or a date such as 2025-01-31')
    .action(runCommand(async (ctx, command) => (await app()).status(ctx, command.opts<{ since?: string }>())));

  program
    .command('jobs')
    .description('the newest jobs, with their key and error (one GET per listed job)')
    .option('--status <status>', 'only jobs in this status: pending, submitted, succeeded, failed')
    .option('--rule <rule>', 'only jobs of this rule')
    .option('--since <duration|date>', 'only jobs created since then: 30m, 24h, 7d, 2w, or a date')
    .addOption(new Option('--limit <n>', 'list at most this many').argParser(positiveInteger('--limit')).default(50))
    .action(runCommand(async (ctx, command) => (await app()).jobs(ctx, command.opts<{ status?: string; rule?: string; since?: string; limit: number }>())));

  program
    .command('show')
    .description('every job of a video (or one job): attempts, tasks, error, outputs with signed links valid for an hour')
    .argument('<sourceKey|jobId>', "the video's object key, or a job id (or its first 8 or more digits, as tables show 12)")
    .action(runCommand(async (ctx, command) => (await app()).show(ctx, { subject: command.processedArgs[0] as string })));

  program
    .command('backfill')
    .description('hand existing videos that have no job for their current version to the submit function')
    .option('--prefix <prefix>', "only keys under this prefix (within a rule's prefix)")
    .option('--rule <rule>', 'only objects this rule matches')
    .option('--dry-run', 'list what would be submitted, submit nothing', false)
    .addOption(new Option('--concurrency <n>', 'calls at a time').argParser(positiveInteger('--concurrency')).default(4))
    .addOption(new Option('--rate <n>', 'invocations per second at most').argParser(positiveNumber('--rate')).default(10))
    .action(runCommand(async (ctx, command) => (await app()).backfill(ctx, command.opts<BackfillOptions>())));

  program
    .command('retry')
    .description('re-run failed jobs as new jobs (by id, or every failed job not retried yet with --failed)')
    .argument('[jobId...]', 'failed job ids (or their first 8 or more digits)')
    .option('--failed', 'every failed job not retried yet', false)
    .option('--rule <rule>', "with --failed: only this rule's jobs")
    .action(runCommand(async (ctx, command) => (await app()).retry(ctx, { jobIds: (command.processedArgs[0] as string[] | undefined) ?? [], ...command.opts<{ failed: boolean; rule?: string }>() })));

  program
    .command('plan')
    .description("offline: the frames and estimated cost every rule's outputs give a video of that length")
    .addOption(new Option('--duration <seconds>', "the video's length in seconds").argParser(positiveNumber('--duration')).default(60))
    .addOption(new Option('--frame-rate <fps>', "the video's frames per second (a short video has fewer frames than a budget)").argParser(positiveNumber('--frame-rate')).default(30, '30, most phone and web video'))
    .action(
      runCommand(async (ctx, command) => {
        const { duration, frameRate } = command.opts<{ duration: number; frameRate: number }>();
        return (await app()).plan(ctx, { durationSeconds: duration, frameRate });
      }),
    );

  program
    .command('gallery')
    .description('serve a page on 127.0.0.1 with every video and its animations, failures and running jobs (Ctrl-C stops)')
    .addOption(new Option('--port <n>', 'the port (default: a free one, printed)').argParser(port).default(0))
    .option('--rule <rule>', "only this rule's jobs (the page can change it)")
    .option('--status <status>', 'only jobs in this status: pending, submitted, succeeded, failed (the page can change it)')
    .action(runCommand(async (ctx, command) => (await app()).gallery(ctx, command.opts<{ port: number; rule?: string; status?: string }>())));

  program
    .command('doctor')
    .description('check the deployment against s.yaml with read-only calls (ROS stack, FC functions, environment, triggers, IMM attachment); prints each problem with its fix')
    .action(runCommand(async (ctx) => (await app()).doctor(ctx)));

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help asked for (--help, help <command>) exits 0; help shown because no command was named is a usage error.
      if (error.exitCode === 0) return write(process.stdout, helpText, 0);
      if (error.code === 'commander.help') return write(process.stderr, helpText, 2);
      return fail(new UsageError(`${error.message.replace(/^error: /, '')}; see video-animation --help`), wantsJson);
    }
    return fail(error, wantsJson);
  }
  // Every command sets a result; commander answers a missing one with its help (above).
  if (!result) return fail(new UsageError('name a command; see video-animation --help'), wantsJson);
  if (result.written) return result.exitCode;
  return write(process.stdout, wantsJson ? `${JSON.stringify(result.json, null, 2)}\n` : `${result.human}\n`, result.exitCode);
}

/** One line on stderr saying what to do next; with --json also `{"error": ...}` on stdout, so scripts always get a document. */
function fail(error: unknown, json: boolean): Promise<number> {
  const known = error instanceof UsageError || error instanceof OperationError;
  const exitCode = known ? error.exitCode : 1;
  const message = known ? error.message : describeUnexpected(error);
  process.stderr.write(`video-animation: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  return json ? write(process.stdout, `${JSON.stringify({ error: { message, exitCode } }, null, 2)}\n`, exitCode) : Promise.resolve(exitCode);
}

/** Errors the commands do not translate: what OSS or the network said, in one line. */
function describeUnexpected(error: unknown): string {
  const e = error as { code?: string; status?: number; message?: string };
  // ali-oss errors carry the HTTP status (-1 or -2 when no answer came) and OSS's code.
  if (e.code && e.status !== undefined && e.status > 0) return `OSS answered ${e.status} ${e.code}: ${e.message ?? ''} (check the key's permissions and the bucket in s.yaml)`;
  if (e.status !== undefined && e.status <= 0) {
    // ali-oss appends the request and its socket pool's state to the cause: the cause is what the user can act on.
    const cause = (e.message ?? e.code ?? 'no response').split(/, (?:GET|HEAD|PUT|POST|DELETE) /)[0];
    return `OSS did not answer (${cause}): check the network, and the region and bucket in s.yaml`;
  }
  return e.message ?? String(error);
}

function write(stream: NodeJS.WriteStream, text: string, exitCode: number): Promise<number> {
  return new Promise((resolve) => stream.write(text, () => resolve(exitCode)));
}
