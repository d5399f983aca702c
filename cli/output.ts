import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';
import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

/** How the command talks: JSON or people, colours or not, progress bars or not. */
export interface Output {
  json: boolean;
  colors: Colors;
  /** A table for people; cli-table3 draws it, without colours of its own (they are ours to switch off). */
  table(head: string[], rows: (string | number)[][]): string;
  /** A progress bar on stderr when it is a terminal and the output is for people; otherwise nothing is drawn. */
  progress(label: string, total: number): Progress;
}

export interface Progress {
  tick(): void;
  stop(): void;
}

const silentProgress: Progress = { tick: () => undefined, stop: () => undefined };

export interface OutputOptions {
  json: boolean;
  color: boolean;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  env: NodeJS.ProcessEnv;
}

/** Colours only on a terminal, never with NO_COLOR set to anything but '' (no-color.org) or --no-color. */
export function createOutput(options: OutputOptions): Output {
  const noColorEnv = (options.env['NO_COLOR'] ?? '') !== '';
  const colors = pc.createColors(options.color && options.stdoutIsTTY && !noColorEnv && !options.json);
  const showProgress = options.stderrIsTTY && !options.json;
  return {
    json: options.json,
    colors,
    table(head, rows) {
      const table = new Table({ head: head.map((h) => colors.bold(h)), style: { head: [], border: [], compact: true } });
      table.push(...rows.map((row) => row.map(String)));
      return table.toString();
    },
    progress(label, total) {
      if (!showProgress || total === 0) return silentProgress;
      const bar = new SingleBar({ format: `${label} [{bar}] {value}/{total}`, stream: process.stderr, hideCursor: true, clearOnComplete: true });
      bar.start(total, 0);
      return { tick: () => bar.increment(), stop: () => bar.stop() };
    },
  };
}
