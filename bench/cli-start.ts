import { spawn } from 'node:child_process';
import path from 'node:path';
import { buildCli } from '../cli/bundle';

/**
 * How fast the command line starts: `video-animation --help` through bin/video-animation.cjs (the built bundle),
 * against `node -e 0`, alternating so drift on a shared machine hits both series alike. The figure is the ratio of
 * the medians (target: within 3x).
 */
export interface CliStartFigures {
  rounds: number;
  baselineMs: number;
  helpMs: number;
  ratio: number;
}

const BIN = path.join(__dirname, '..', 'bin', 'video-animation.cjs');

function timeNode(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`node ${args.join(' ')} exited ${code}`))));
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function cliStartBench(options: { rounds: number; bin?: string }): Promise<CliStartFigures> {
  await buildCli();
  const baseline: number[] = [];
  const help: number[] = [];
  for (let round = 0; round < options.rounds; round++) {
    baseline.push(await timeNode(['-e', '0']));
    help.push(await timeNode([options.bin ?? BIN, '--help']));
  }
  const baselineMs = median(baseline);
  const helpMs = median(help);
  return { rounds: options.rounds, baselineMs, helpMs, ratio: helpMs / baselineMs };
}

export function formatCliStart(figures: CliStartFigures): string[] {
  return [
    `command line start: video-animation --help against node -e 0 (median of ${figures.rounds} runs each, alternating)`,
    `  ${figures.ratio.toFixed(2)}x node -e 0 (${figures.helpMs.toFixed(0)} ms against ${figures.baselineMs.toFixed(0)} ms)`,
  ];
}

if (require.main === module) {
  void cliStartBench({ rounds: Number(process.env['BENCH_ROUNDS'] ?? 15) }).then((figures) => console.log(formatCliStart(figures).join('\n')));
}
