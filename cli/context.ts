import type { Output } from './output';
import type { AppSettings } from './settings';
import type { Target } from './target';

/** What every command gets: the app as s.yaml describes it, how to talk, and (on demand) the app it acts on. */
export interface CommandContext {
  settings: AppSettings;
  output: Output;
  /** Connects on first use: `plan` never does, so it runs offline and without credentials. */
  target(): Promise<Target>;
  now: number;
  /** A command line for a hint: `video-animation <args>` with the target flags the user gave (cli/hints.ts). */
  commandLine(...args: string[]): string;
}

/** What a command hands back: one JSON document for --json, text for people, and the exit code. */
export interface CommandResult {
  json: unknown;
  human: string;
  /** 0: did what was asked; 1: ran, but something failed. */
  exitCode: 0 | 1;
  /** The command wrote its own output as it ran (gallery prints its address before serving): nothing more to write. */
  written?: boolean;
}
