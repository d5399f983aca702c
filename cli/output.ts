import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';
import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

/** How the command talks: JSON or people, colours or not, progress bars or not. */
export interface Output {
  json: boolean;
  colors: Colors;
  /**
   * A table for people, at most TABLE_WIDTH columns wide: the widest shrinkable columns give way first (a key loses
   * its middle, a message its end). cli-table3 draws it, without colours of its own (they are ours to switch off).
   */
  table(columns: (string | Column)[], rows: (string | number)[][]): string;
  /** A progress bar on stderr when it is a terminal and the output is for people; otherwise nothing is drawn. */
  progress(label: string, total: number): Progress;
}

/** A column that may be narrowed to fit: `middle` keeps both ends (object keys), `end` keeps the start (messages). */
export interface Column {
  head: string;
  shrink?: 'middle' | 'end';
}

/** Every table fits this many columns, whatever the keys and messages in it. */
export const TABLE_WIDTH = 100;
/** A shrinkable column keeps at least this many characters (or its heading's). */
const MIN_SHRUNK = 10;
const ANSI = /\x1b\[[0-9;]*m/g;

const visibleLength = (text: string) => text.replace(ANSI, '').length;

/** `videos/ver…/clip.mp4`: both ends of a key kept, the middle cut, `width` characters in all. */
export function shortenMiddle(text: string, width: number): string {
  if (text.length <= width) return text;
  const head = Math.floor((width - 1) / 2);
  return `${text.slice(0, head)}…${text.slice(text.length - (width - 1 - head))}`;
}

/** A message cut at `width` characters, ending in `…`. */
export function shortenEnd(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** Columns are two spaces apart, with no borders (as `docker ps` or `kubectl get` print them): more room for keys. */
const GAP = '  ';
const BORDERLESS = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: GAP,
};

/** The cells of a table narrowed so that it is at most TABLE_WIDTH wide, gaps included. */
export function fitTable(columns: Column[], rows: string[][]): string[][] {
  const widths = columns.map((column, i) => Math.max(column.head.length, ...rows.map((row) => visibleLength(row[i] ?? ''))));
  const floor = columns.map((column) => Math.max(column.head.length, MIN_SHRUNK));
  let excess = widths.reduce((sum, w) => sum + w, 0) + GAP.length * (columns.length - 1) - TABLE_WIDTH;
  while (excess > 0) {
    let widest = -1;
    columns.forEach((column, i) => {
      if (column.shrink && widths[i]! > floor[i]! && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    });
    if (widest < 0) break;
    widths[widest]!--;
    excess--;
  }
  return rows.map((row) =>
    row.map((cell, i) => {
      const shrink = columns[i]?.shrink;
      // Coloured cells are short words (statuses, counts); only plain text is cut.
      if (!shrink || visibleLength(cell) <= widths[i]! || cell !== cell.replace(ANSI, '')) return cell;
      return shrink === 'middle' ? shortenMiddle(cell, widths[i]!) : shortenEnd(cell, widths[i]!);
    }),
  );
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
    table(heads, rows) {
      const columns = heads.map((h) => (typeof h === 'string' ? { head: h } : h));
      const table = new Table({
        head: columns.map((c) => colors.bold(c.head)),
        chars: BORDERLESS,
        style: { head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 0 },
      });
      table.push(...fitTable(columns, rows.map((row) => row.map(String))));
      return table
        .toString()
        .split('\n')
        .map((line) => line.trimEnd())
        .join('\n');
    },
    progress(label, total) {
      if (!showProgress || total === 0) return silentProgress;
      const bar = new SingleBar({ format: `${label} [{bar}] {value}/{total}`, stream: process.stderr, hideCursor: true, clearOnComplete: true });
      bar.start(total, 0);
      return { tick: () => bar.increment(), stop: () => bar.stop() };
    },
  };
}
