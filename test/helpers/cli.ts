import { spawn } from 'node:child_process';
import path from 'node:path';
import { buildCli } from '../../cli/bundle';

export const ROOT = path.join(__dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'video-animation.cjs');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

let built: Promise<unknown> | undefined;

/** The binary runs the bundle: built once per test process from the code under test, never a stale one. */
export function buildOnce(): Promise<unknown> {
  return (built ??= buildCli());
}

/** Runs the real binary as a user does (no TTY), pointed at a test stack's data folder through VIDEO_ANIMATION_LOCAL. */
export async function runCli(localDir: string, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  await buildOnce();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, VIDEO_ANIMATION_LOCAL: localDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
