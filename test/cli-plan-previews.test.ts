import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli, type CliRun } from './helpers/cli';

/**
 * `plan` prices posters and storyboards: the real binary (offline, no stack) on a copy of s.yaml whose rules hold
 * every kind of output, checked on what it prints.
 */
const RULES = `  rules:
    - name: kit
      prefix: videos/
      outputs:
        - format: gif
          key: animations/{dirname}/{basename}
          frames: 24
        - kind: poster
          key: posters/{dirname}/{basename}
        - kind: storyboard
          key: boards/{dirname}/{basename}
          frames: 60
          columns: 10
          rows: 6
        - kind: poster
          key: covers/{dirname}/{basename}
          format: png
          at: 3
        - format: webp
          key: animations/{dirname}/{basename}
          interval: 2
    - name: plain
      prefix: videos/plain/
      outputs:
        - format: gif
          key: plain/{basename}
          frames: 10

`;

let dir: string;
let spec: string;
let plainSpec: string;

function plan(args: string[], env: Record<string, string> = {}, file = spec): Promise<CliRun> {
  return runCli(dir, ['plan', '-t', file, ...args], env);
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cli-plan-previews-'));
  spec = path.join(dir, 's.yaml');
  const shipped = await readFile(path.join(import.meta.dirname, '..', 's.yaml'), 'utf8');
  const withRules = (rules: string) => shipped.replace(/^ {2}rules:\n[\s\S]*?\n(?=resources:)/m, rules);
  assert.notEqual(withRules(RULES), shipped, 'the rules of s.yaml were replaced');
  await writeFile(spec, withRules(RULES));
  plainSpec = path.join(dir, 'plain.yaml');
  await writeFile(plainSpec, withRules(RULES.replace(/^ {4}- name: kit\n[\s\S]*?(?=^ {4}- name: plain)/m, '')));
});
after(async () => rm(dir, { recursive: true, force: true }));

describe('plan with posters and storyboards', () => {
  test('--json: a row per configured output in its order, with its kind and the frames IMM captures or renders', async () => {
    const run = await plan(['--json', '--duration', '20'], { PRICE_PER_FRAME: '0.001' });
    assert.equal(run.code, 0, run.stderr);
    const rows = JSON.parse(run.stdout) as { rule: string; output: string; kind: string; format: string; frames: number; estimatedCost: { amount: number; currency: string } }[];
    assert.deepEqual(
      rows.map((r) => [r.rule, r.output, r.kind, r.format, r.frames, r.estimatedCost.amount]),
      [
        ['kit', 'animations/{dirname}/{basename}', 'animation', 'gif', 24, 0.024],
        // An automatic poster: its 5 candidates (the default) are captured, the largest kept.
        ['kit', 'posters/{dirname}/{basename}', 'poster', 'jpg', 5, 0.005],
        ['kit', 'boards/{dirname}/{basename}', 'storyboard', 'jpg', 60, 0.06],
        // A poster at a time: one frame.
        ['kit', 'covers/{dirname}/{basename}', 'poster', 'png', 1, 0.001],
        // 20 s every 2 s.
        ['kit', 'animations/{dirname}/{basename}', 'animation', 'webp', 10, 0.01],
        ['plain', 'plain/{basename}', 'animation', 'gif', 10, 0.01],
      ],
    );
  });

  test('the table shows each preview with its kind and frames, the total counts them, and the note says how they are billed', async () => {
    const run = await plan(['--duration', '20'], { PRICE_PER_FRAME: '0.001', NO_COLOR: '1' });
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split('\n');
    // 24 + 5 + 60 + 1 + 10 + 10 frames, 66 of them captured stills.
    assert.deepEqual(lines.slice(0, 2), [
      'A 20 s video at 30 fps makes up to 110 frames (66 captured for posters and storyboards), about 0.11',
      'CNY (when every rule matches it).',
    ]);
    const rows = lines.slice(2, 9).map((line) => line.trim().split(/\s+/));
    assert.deepEqual(rows, [
      ['rule', 'output', 'kind', 'format', 'frames', 'est.', 'cost'],
      ['kit', 'animations/{dirname}/{basename}', 'animation', 'gif', '24', '0.024', 'CNY'],
      ['kit', 'posters/{dirname}/{basename}', 'poster', 'jpg', '5', '0.005', 'CNY'],
      ['kit', 'boards/{dirname}/{basename}', 'storyboard', 'jpg', '60', '0.06', 'CNY'],
      ['kit', 'covers/{dirname}/{basename}', 'poster', 'png', '1', '0.001', 'CNY'],
      ['kit', 'animations/{dirname}/{basename}', 'animation', 'webp', '10', '0.01', 'CNY'],
      ['plain', 'plain/{basename}', 'animation', 'gif', '10', '0.01', 'CNY'],
    ]);
    const note = lines.slice(9).join(' ');
    assert.match(note, /Posters and storyboards: counted as one billed frame per captured frame/);
    assert.match(note, /Assumed: how IMM bills Image\.Snapshots and Image\.Sprites is not documented/);
    assert.match(note, /https:\/\/www\.alibabacloud\.com\/help\/en\/imm\/product-overview\/billable-items/);
    for (const line of lines) assert.ok(line.length <= 100, `within 100 columns: ${line}`);
  });

  test('rules without previews print no preview note', async () => {
    const run = await plan(['--duration', '20'], { NO_COLOR: '1' }, plainSpec);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^A 20 s video at 30 fps makes 10 frames\.\n/);
    assert.doesNotMatch(run.stdout, /captured for posters/);
    assert.doesNotMatch(run.stdout, /Posters and storyboards: counted/);
  });
});
