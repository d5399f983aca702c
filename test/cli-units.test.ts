import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { listingPrefixes } from '../cli/commands/backfill';
import { wrapText } from '../cli/commands/format';
import { jobRow } from '../cli/commands/jobs';
import { shownOutputs } from '../cli/commands/show';
import { OperationError, UsageError } from '../cli/errors';
import { commandLine, shellWord } from '../cli/hints';
import { isJobIdPrefix, resolveJobId } from '../cli/job-ids';
import type { JobStore } from '../shared/jobs/store';
import { createOutput, fitTable, shortenMiddle, TABLE_WIDTH } from '../cli/output';
import type { JobRecord } from '../shared/jobs/job';
import { mapWithConcurrency, rateLimiter } from '../cli/pool';
import { parseSince } from '../cli/since';
import type { Rule } from '../shared/rules/schema';

const NOW = Date.parse('2025-06-15T12:00:00Z');
const ANSI = /\x1b\[/;

describe('--since', () => {
  test('durations count back from now; dates are UTC midnight; times keep their zone', () => {
    assert.equal(parseSince('30m', NOW), '2025-06-15T11:30:00.000Z');
    assert.equal(parseSince('24h', NOW), '2025-06-14T12:00:00.000Z');
    assert.equal(parseSince('7d', NOW), '2025-06-08T12:00:00.000Z');
    assert.equal(parseSince('2w', NOW), '2025-06-01T12:00:00.000Z');
    assert.equal(parseSince('2025-01-31', NOW), '2025-01-31T00:00:00.000Z');
    assert.equal(parseSince('2025-01-31T08:00:00+08:00', NOW), '2025-01-31T00:00:00.000Z');
  });

  test('anything else is a usage error naming both forms', () => {
    for (const bad of ['yesterday', '7', '7 days', '2025-13-45', '-1d', '']) {
      assert.throws(() => parseSince(bad, NOW), (error: unknown) => error instanceof UsageError && /duration .* date/.test(error.message), bad);
    }
  });
});

describe('backfill listing prefixes', () => {
  const rule = (name: string, prefix: string) => ({ name, prefix }) as Rule;
  test("each rule's prefix once, a prefix inside another listed by the outer one", () => {
    assert.deepEqual(listingPrefixes([rule('a', 'videos/'), rule('b', 'videos/hd/'), rule('c', 'clips/')], undefined), ['clips/', 'videos/']);
  });
  test('--prefix narrows a rule prefix, selects the rules below it, and lists nothing outside every rule', () => {
    const rules = [rule('a', 'videos/'), rule('c', 'clips/')];
    assert.deepEqual(listingPrefixes(rules, 'videos/2024/'), ['videos/2024/']);
    assert.deepEqual(listingPrefixes(rules, ''), ['clips/', 'videos/']);
    assert.deepEqual(listingPrefixes(rules, 'photos/'), []);
  });
});

describe('output', () => {
  const options = { json: false, color: true, stdoutIsTTY: true, stderrIsTTY: false, env: {} };
  test('colours on a terminal only, never with NO_COLOR, --no-color or --json', () => {
    assert.match(createOutput(options).colors.red('x'), ANSI);
    assert.doesNotMatch(createOutput({ ...options, stdoutIsTTY: false }).colors.red('x'), ANSI);
    assert.doesNotMatch(createOutput({ ...options, env: { NO_COLOR: '1' } }).colors.red('x'), ANSI);
    assert.doesNotMatch(createOutput({ ...options, color: false }).colors.red('x'), ANSI);
    assert.doesNotMatch(createOutput({ ...options, json: true }).colors.red('x'), ANSI);
    // no-color.org: an empty NO_COLOR does not count.
    assert.match(createOutput({ ...options, env: { NO_COLOR: '' } }).colors.red('x'), ANSI);
  });
  test('a table with long keys fits 100 columns: the key loses its middle, the message its end, short columns stay whole', () => {
    const key = `videos/${'very-long-folder/'.repeat(8)}clip.mp4`;
    const message = 'The media file is not a video IMM can read: '.repeat(3);
    const table = createOutput({ ...options, stdoutIsTTY: false }).table(
      ['created (UTC)', 'job', { head: 'key', shrink: 'middle' }, { head: 'error', shrink: 'end' }],
      [['2025-01-31 08:00:12', '0123456789ab', key, message]],
    );
    const lines = table.split('\n');
    assert.equal(lines.length, 2);
    for (const line of lines) assert.ok(line.length <= TABLE_WIDTH, `${line.length}: ${line}`);
    assert.equal(lines[1]!.length, TABLE_WIDTH, 'the room left is used, not wasted');
    assert.match(lines[1]!, /^2025-01-31 08:00:12  0123456789ab  videos\/very-lon…folder\/clip\.mp4  The media file .*…$/);
    assert.equal(shortenMiddle('videos/version-2/clip.mp4', 20), 'videos/ve…2/clip.mp4');
    assert.equal(shortenMiddle('videos/a.mp4', 20), 'videos/a.mp4');
  });
  test('fitTable narrows the widest shrinkable column first and never below its floor', () => {
    const [row] = fitTable([{ head: 'a', shrink: 'middle' }, { head: 'b', shrink: 'end' }], [['x'.repeat(90), 'y'.repeat(30)]]);
    assert.deepEqual(row!.map((cell) => cell.length), [68, 30]);
    const [fixed] = fitTable([{ head: 'a' }], [['z'.repeat(150)]]);
    assert.equal(fixed![0]!.length, 150, 'a column without shrink is never cut');
  });
  test('prose wraps at words within 100 columns, indented', () => {
    const text = wrapText(`failed: InvalidFile.Media: ${'the file is not a video '.repeat(10)}`, '  ', '    ');
    const lines = text.split('\n');
    assert.ok(lines.length > 1);
    for (const line of lines) assert.ok(line.length <= TABLE_WIDTH, line);
    assert.match(lines[0]!, /^ {2}failed: InvalidFile\.Media: the/);
    assert.match(lines[1]!, /^ {4}\S/);
  });
  test('tables carry no colour of their own', () => {
    const table = createOutput({ ...options, stdoutIsTTY: false }).table(['a', 'b'], [[1, 'two']]);
    assert.doesNotMatch(table, ANSI);
    assert.match(table, /two/);
  });
});

describe('hints', () => {
  const base = { local: false, template: 's.yaml' };
  test('repeat the target flags the user gave, and only those', () => {
    assert.equal(commandLine(base, 'retry', '--failed'), 'video-animation retry --failed');
    assert.equal(commandLine({ ...base, local: true }, 'jobs', '--status', 'failed'), 'video-animation jobs --status failed --local');
    assert.equal(commandLine({ ...base, local: true, localDir: '/tmp/my stack' }, 'status'), "video-animation status --local --local-dir '/tmp/my stack'");
    assert.equal(commandLine({ ...base, access: 'prod' }, 'status'), 'video-animation status --access prod');
    assert.equal(commandLine({ ...base, template: 'deploy/s.yaml' }, 'status'), 'video-animation status -t deploy/s.yaml');
  });
  test('words are quoted for a POSIX shell; placeholders stay as they read', () => {
    assert.equal(commandLine(base, 'show', '<jobId | key>'), 'video-animation show <jobId | key>');
    assert.equal(commandLine(base, 'backfill', '--prefix', "videos/it's here/"), `video-animation backfill --prefix 'videos/it'\\''s here/'`);
    assert.equal(shellWord('videos/clip.mp4'), 'videos/clip.mp4');
    assert.equal(shellWord('a$b'), "'a$b'");
  });
});

describe('failed jobs', () => {
  const record = {
    jobId: 'a'.repeat(32),
    key: 'videos/x.mp4',
    rule: 'preview',
    status: 'failed',
    error: { code: 'InvalidFile.Media', message: 'not a video' },
    frames: 72,
    estimatedCost: { amount: 0.0072, currency: 'CNY' },
    createdAt: '2025-01-31T08:00:00.000Z',
    attempts: [],
    outputs: [{ key: 'animations/x.gif', format: 'gif', plannedFrames: 24 }],
  } as unknown as JobRecord;
  const signedUrl = async () => 'http://signed';
  test('show no frames and no cost they never made', async () => {
    assert.deepEqual([jobRow(record).frames, jobRow(record).estimatedCost], [null, null]);
    assert.deepEqual((await shownOutputs(record, { signedUrl })).map((o) => [o.frames, o.url]), [[null, null]]);
  });
  test('open jobs keep their planned frames', async () => {
    const open = { ...record, status: 'submitted', error: null } as unknown as JobRecord;
    assert.equal(jobRow(open).frames, 72);
    assert.deepEqual((await shownOutputs(open, { signedUrl })).map((o) => o.frames), [24]);
  });
});

describe('job id prefixes', () => {
  const ids = ['0123456789abcdef'.repeat(2), '0123456789abffff'.repeat(2), 'fedcba9876543210'.repeat(2)];
  const store = { listJobIndex: async () => ids.map((jobId) => ({ jobId, rule: 'r', status: 'failed', createdAt: '2025-01-01T00:00:00.000Z' })) } as unknown as JobStore;
  test('a unique prefix names its job; none: undefined; a shared one: a usage error asking for more digits', async () => {
    assert.equal(await resolveJobId(store, 'fedcba98'), ids[2]);
    assert.equal(await resolveJobId(store, '0123456789abcd'), ids[0]);
    assert.equal(await resolveJobId(store, '99999999'), undefined);
    await assert.rejects(resolveJobId(store, '0123456789ab'), (error: unknown) => error instanceof UsageError && /matches 2 jobs.*give more of its digits/.test(error.message));
  });
  test('8 to 32 lower-case hex digits', () => {
    assert.deepEqual(['0123456', '01234567', 'a'.repeat(32), 'a'.repeat(33), 'videos/x.mp4', 'ABCDEF01'].map(isJobIdPrefix), [false, true, true, false, false, false]);
  });
});

describe('errors', () => {
  test('are told apart by kind, also across the two bundles (a brand, not the class object)', () => {
    const fromOtherBundle = Object.assign(new Error('x'), { [Symbol.for('video-animation.cli-error')]: 'usage' });
    assert.ok(fromOtherBundle instanceof UsageError);
    assert.ok(!(fromOtherBundle instanceof OperationError));
    assert.ok(new OperationError('y') instanceof OperationError);
    assert.ok(!(new Error('z') instanceof UsageError));
  });
});

describe('pool', () => {
  test('keeps the order and never runs more than the concurrency', async () => {
    let running = 0;
    let most = 0;
    const results = await mapWithConcurrency([5, 1, 4, 2, 3], 2, async (n) => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, n));
      running--;
      return n * 10;
    });
    assert.deepEqual(results, [50, 10, 40, 20, 30]);
    assert.equal(most, 2);
  });
  test('the rate limiter spaces calls 1/rate apart', async () => {
    const slot = rateLimiter(50);
    const started = Date.now();
    await Promise.all([slot(), slot(), slot(), slot(), slot()]);
    assert.ok(Date.now() - started >= 75, 'five calls at 50/s take at least 80 ms (minus timer slack)');
  });
});
