/** The flags that say which app a command acts on: a hint that drops them would act on another one. */
export interface TargetFlags {
  local: boolean;
  localDir?: string;
  access?: string;
  /** The s.yaml given with -t; the default (`s.yaml`) is left out. */
  template: string;
}

export const DEFAULT_TEMPLATE = 's.yaml';

/** A word as a POSIX shell reads it back: bare when it is plain, else in single quotes. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The target flags as the user gave them, ready to append to a command line. */
export function targetArgs(flags: TargetFlags): string[] {
  return [
    ...(flags.local ? ['--local'] : []),
    ...(flags.localDir !== undefined ? ['--local-dir', flags.localDir] : []),
    ...(flags.access !== undefined ? ['--access', flags.access] : []),
    ...(flags.template !== DEFAULT_TEMPLATE ? ['-t', flags.template] : []),
  ];
}

/**
 * Every command line a hint prints: `video-animation <args> <the user's target flags>`, so copying it acts on the
 * same app. `args` are words (each quoted as needed); a placeholder such as `<jobId>` is passed as it should read.
 */
export function commandLine(flags: TargetFlags, ...args: string[]): string {
  return ['video-animation', ...args.map((a) => (/^<[^>]+>$/.test(a) ? a : shellWord(a))), ...targetArgs(flags).map(shellWord)].join(' ');
}
