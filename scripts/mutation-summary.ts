// Per-folder mutation score from Stryker's JSON report (run by `npm run mutate` after `stryker run`).
// Usage: tsx scripts/mutation-summary.ts [reports/mutation/mutation.json]
// Score = (killed + timeout) / (killed + timeout + survived + no coverage), the same "total" score
// Stryker's thresholds.break is checked against; "covered" leaves the no-coverage mutants out.
import { readFileSync } from 'node:fs';
import path from 'node:path';

type Status = 'Killed' | 'Timeout' | 'Survived' | 'NoCoverage' | 'CompileError' | 'RuntimeError' | 'Ignored' | 'Pending';
interface Report {
  thresholds?: { high: number; low: number; break?: number | null };
  files: Record<string, { mutants: { status: Status }[] }>;
}
interface Counts { killed: number; timeout: number; survived: number; noCoverage: number; errors: number; ignored: number }

const reportPath = process.argv[2] ?? 'reports/mutation/mutation.json';
let report: Report;
try {
  report = JSON.parse(readFileSync(reportPath, 'utf8')) as Report;
} catch (error) {
  console.error(`mutation summary: cannot read ${reportPath}: ${(error as Error).message}`);
  process.exit(2);
}

const empty = (): Counts => ({ killed: 0, timeout: 0, survived: 0, noCoverage: 0, errors: 0, ignored: 0 });
const add = (c: Counts, status: Status): void => {
  if (status === 'Killed') c.killed++;
  else if (status === 'Timeout') c.timeout++;
  else if (status === 'Survived') c.survived++;
  else if (status === 'NoCoverage') c.noCoverage++;
  else if (status === 'CompileError' || status === 'RuntimeError') c.errors++;
  else c.ignored++;
};
const score = (c: Counts, covered: boolean): string => {
  const detected = c.killed + c.timeout;
  const valid = detected + c.survived + (covered ? 0 : c.noCoverage);
  return valid === 0 ? 'n/a' : ((100 * detected) / valid).toFixed(2);
};

const folders = new Map<string, Counts>();
const total = empty();
for (const [file, { mutants }] of Object.entries(report.files)) {
  const rel = path.isAbsolute(file) ? path.relative(process.cwd(), file) : file;
  const folder = path.dirname(rel).split(path.sep).join('/');
  const counts = folders.get(folder) ?? empty();
  folders.set(folder, counts);
  for (const { status } of mutants) {
    add(counts, status);
    add(total, status);
  }
}

const header = ['folder', 'score', 'covered', 'killed', 'timeout', 'survived', 'no cov', 'errors'];
const row = (name: string, c: Counts): string[] => [
  name, score(c, false), score(c, true),
  String(c.killed), String(c.timeout), String(c.survived), String(c.noCoverage), String(c.errors),
];
const rows = [...folders.keys()].sort().map((f) => row(f, folders.get(f)!));
rows.push(row('all', total));
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]): string => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');

console.log('\nMutation score per folder (%):');
console.log(line(header));
rows.forEach((r, i) => {
  if (i === rows.length - 1) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  console.log(line(r));
});
const breakAt = report.thresholds?.break;
if (typeof breakAt === 'number') console.log(`break threshold: ${breakAt}% on the "all" score`);
