import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { listingPrefixes } from '../cli/commands/backfill';
import { UsageError } from '../cli/errors';
import { createOutput } from '../cli/output';
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
  test('tables carry no colour of their own', () => {
    const table = createOutput({ ...options, stdoutIsTTY: false }).table(['a', 'b'], [[1, 'two']]);
    assert.doesNotMatch(table, ANSI);
    assert.match(table, /two/);
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
