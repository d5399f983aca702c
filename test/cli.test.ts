import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { runCli, type CliRun } from './helpers/cli';
import { startTestStack, type TestStack } from './helpers/stack';

/** Runs the real binary as a user does (no TTY), pointed at the test stack through VIDEO_ANIMATION_LOCAL. */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runCli(stack.dir, args, env);
}

/** `--json` must print exactly one JSON document on stdout. */
function json<T>(run: CliRun): T {
  assert.equal(run.code, 0, `exit code 0 expected; stderr: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

const ANSI = /\x1b\[/;

let stack: TestStack;
// Keys longer than any table is wide: every table must still fit 100 columns.
const deep = 'videos/cli/a folder with a rather long name/and another one below it, for the width of tables';
const good = `${deep}/good clip.mp4`;
const bad = `${deep}/not a video.mp4`;
const copied = `${deep}/copied.mp4`;
const TABLE_WIDTH = 100;

before(async () => {
  stack = await startTestStack();
  await stack.uploadGoodAndBad(good, bad);
});

after(async () => {
  await stack?.stop();
});

describe('video-animation command line (the real binary, against the local stack)', () => {
  test('plan --json: frames and cost per rule and output, offline; null cost without a price', async () => {
    const rows = json<{ rule: string; output: string; format: string; frames: number; estimatedCost: unknown }[]>(await cli(['plan', '--json']));
    assert.deepEqual(
      rows.map((r) => [r.rule, r.output, r.format, r.frames, r.estimatedCost]),
      [
        ['preview', 'animations/{dirname}/{basename}', 'gif', 24, null],
        ['preview', 'animations/{dirname}/{basename}', 'webp', 48, null],
        ['preview', 'posters/{dirname}/{basename}', 'jpg', 5, null],
      ],
    );
    const priced = json<{ estimatedCost: { amount: number; currency: string } }[]>(await cli(['plan', '--json', '--duration', '10'], { PRICE_PER_FRAME: '0.0001' }));
    assert.deepEqual(priced.map((r) => r.estimatedCost), [
      { amount: 0.0024, currency: 'CNY' },
      { amount: 0.0048, currency: 'CNY' },
      { amount: 0.0005, currency: 'CNY' },
    ]);
  });

  test('status --json counts one succeeded and one failed job, with the frames of the good one', async () => {
    const report = json<{ byStatus: Record<string, number>; stuck: number; frames: number; estimatedCost: unknown; byRule: Record<string, { frames: number }> }>(
      await cli(['status', '--local', '--json']),
    );
    assert.deepEqual(report.byStatus, { pending: 0, submitted: 0, succeeded: 1, failed: 1 });
    assert.equal(report.stuck, 0);
    const record = await stack.recordFor(good);
    const counted = (record?.outputs ?? []).reduce((sum, o) => sum + (o.frames ?? 0), 0);
    assert.ok(counted > 0, 'the record function counted the frames');
    assert.equal(report.frames, counted);
    assert.equal(report.byRule['preview']?.frames, counted);
    assert.equal(report.estimatedCost, null);
  });

  test('jobs --status failed --json lists the bad upload with IMM\'s code', async () => {
    const rows = json<{ jobId: string; key: string; status: string; error: { code: string; message: string } | null }[]>(
      await cli(['jobs', '--local', '--status', 'failed', '--json']),
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.key, bad);
    assert.equal(rows[0]?.error?.code, 'InvalidFile.Media');
  });

  test('show <key> --json: signed URLs the local OSS serves, whose frame counts match the record', async () => {
    const jobs = json<{ key: string; status: string; taskIds: string[]; attempts: unknown[]; outputs: { key: string; kind?: string; format: string; bytes: number; frames: number; url: string }[] }[]>(
      await cli(['show', good, '--local', '--json']),
    );
    assert.equal(jobs.length, 1);
    const [job] = jobs;
    assert.equal(job?.status, 'succeeded');
    assert.equal(job?.taskIds.length, 1);
    assert.ok((job?.attempts.length ?? 0) >= 1);
    assert.deepEqual(job?.outputs.map((o) => [o.kind ?? 'animation', o.format]), [['animation', 'gif'], ['animation', 'webp'], ['poster', 'jpg']]);
    for (const output of job?.outputs ?? []) {
      const response = await fetch(output.url);
      assert.equal(response.status, 200, output.url);
      const body = Buffer.from(await response.arrayBuffer());
      assert.equal(body.length, output.bytes);
      const meta = await sharp(body, { animated: true }).metadata();
      if (output.kind === 'poster') {
        assert.equal(meta.format, 'jpeg', `${output.key}: a JPEG still`);
        continue;
      }
      assert.equal(meta.format, output.format);
      assert.equal(meta.pages, output.frames, `${output.key}: frames in the file`);
    }
  });

  test('backfill picks up a server-side copy (no trigger): dry run lists it, a run submits it, a second run submits nothing', async () => {
    await stack.client.copy(copied, good);
    await stack.idle();
    assert.equal(await stack.recordFor(copied), undefined, 'CopyObject fired no trigger');

    const dry = json<{ dryRun: boolean; matched: number; submitted: number; skipped: number; keys: string[] }>(await cli(['backfill', '--local', '--dry-run', '--json']));
    assert.deepEqual(dry, { dryRun: true, matched: 3, submitted: 0, skipped: 2, keys: [copied], failed: [] });

    const run = json<{ submitted: number; keys: string[] }>(await cli(['backfill', '--local', '--json']));
    assert.deepEqual([run.submitted, run.keys], [1, [copied]]);
    await stack.idle();
    assert.equal((await stack.recordFor(copied))?.status, 'succeeded');

    const again = json<{ matched: number; submitted: number; skipped: number; keys: string[] }>(await cli(['backfill', '--local', '--json']));
    assert.deepEqual([again.matched, again.submitted, again.skipped, again.keys], [3, 0, 3, []]);
  });

  test('retry <failed job> makes a new job linked to it', async () => {
    const failed = await stack.recordFor(bad);
    assert.equal(failed?.status, 'failed');
    const rows = json<{ jobId: string; status: string; newJobId: string }[]>(await cli(['retry', failed!.jobId, '--local', '--json']));
    assert.equal(rows.length, 1);
    assert.equal(rows[0]?.status, 'requested');
    await stack.idle();
    const retried = (await stack.records()).find((r) => r.jobId === rows[0]?.newJobId);
    assert.equal(retried?.retryOf, failed!.jobId);
    assert.equal(retried?.key, bad);
    assert.deepEqual((await stack.records()).find((r) => r.jobId === failed!.jobId)?.retriedBy, [rows[0]?.newJobId]);
  });

  test('usage errors exit 2 with one line saying what to do; --json still prints one document', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command/],
      [['jobs', '--local', '--status', 'done'], /--status "done" is not a job status/],
      [['status', '--local', '--since', 'last tuesday'], /--since "last tuesday"/],
      [['show', 'videos/never-uploaded.mp4', '--local'], /no job with id or source key/],
      [['retry', 'f'.repeat(32), '--local'], /no job f{32}/],
      [['retry', '--local'], /--failed/],
      [['backfill', '--local', '--rule', 'nope'], /no rule named "nope"/],
      [['status', '--local', '--local-dir', path.join(stack.dir, 'missing')], /start the local stack first: npm start/],
    ];
    for (const [args, message] of cases) {
      const run = await cli([...args, '--json']);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, message);
      assert.equal(run.stderr.trim().split('\n').length, 1, `one line: ${run.stderr}`);
      assert.equal((JSON.parse(run.stdout) as { error: { exitCode: number } }).error.exitCode, 2);
    }
    const human = await cli(['show', 'videos/never-uploaded.mp4', '--local']);
    assert.deepEqual([human.code, human.stdout], [2, '']);
  });

  test('plan counts the frames a short video has, not the budget: --duration 0.5 at 30 fps (the default) or at --frame-rate', async () => {
    const frames = async (args: string[]) => json<{ frames: number }[]>(await cli(['plan', '--json', ...args])).map((r) => r.frames);
    assert.deepEqual(await frames(['--duration', '0.5']), [15, 15, 5], 'the poster captures its 5 candidates whatever the length');
    assert.deepEqual(await frames(['--duration', '0.5', '--frame-rate', '10']), [5, 5, 5]);
    assert.deepEqual(await frames(['--duration', '3', '--frame-rate', '10']), [24, 30, 5], 'the gif budget (24) caps, the webp budget (48) is more than 30 frames');
    const human = await cli(['plan', '--duration', '0.5']);
    assert.match(human.stdout, /^A 0\.5 s video at 30 fps makes 35 frames \(5 captured for posters and storyboards\)\./);
  });

  test('failed jobs show no frames: jobs, show and status', async () => {
    const rows = json<{ key: string; status: string; frames: number | null; estimatedCost: unknown }[]>(await cli(['jobs', '--local', '--status', 'failed', '--json'], { PRICE_PER_FRAME: '0.0001' }));
    assert.ok(rows.length >= 1);
    for (const row of rows) assert.deepEqual([row.status, row.frames, row.estimatedCost], ['failed', null, null]);
    const shown = json<{ status: string; frames: number | null; outputs: { frames: number | null }[] }[]>(await cli(['show', bad, '--local', '--json']));
    for (const job of shown.filter((j) => j.status === 'failed')) {
      assert.equal(job.frames, null);
      assert.deepEqual(job.outputs.map((o) => o.frames), job.outputs.map(() => null));
    }
    const report = json<{ frames: number; openFrames: number }>(await cli(['status', '--local', '--json']));
    const succeeded = (await stack.records()).filter((r) => r.status === 'succeeded').reduce((sum, r) => sum + (r.frames ?? 0), 0);
    assert.equal(report.frames, succeeded, 'status counts only the frames of succeeded jobs');
  });

  test('every table of every command fits 100 columns, long keys shortened in the middle; --json keeps them whole', async () => {
    const failed = (await stack.records()).find((r) => r.key === bad && r.status === 'failed')!;
    const commands = [
      ['status', '--local'],
      ['jobs', '--local'],
      ['jobs', '--local', '--status', 'failed'],
      ['show', good, '--local'],
      ['show', bad, '--local'],
      ['show', failed.jobId.slice(0, 12), '--local'],
      ['plan'],
      ['backfill', '--local', '--dry-run'],
      ['retry', failed.jobId, '--local'],
    ];
    for (const args of commands) {
      const run = await cli(args);
      assert.ok(run.code === 0 || (args[0] === 'retry' && run.code === 1), `${args.join(' ')}: ${run.stderr}`);
      // Lines that are not table rows may carry a whole key or a signed link, to copy.
      const rows = run.stdout.split('\n').filter((line) => !line.includes(deep) && !/https?:\/\//.test(line));
      for (const line of rows) assert.ok(line.length <= TABLE_WIDTH, `${args.join(' ')}: ${line.length} columns: ${line}`);
    }
    const jobs = await cli(['jobs', '--local']);
    assert.match(jobs.stdout, /  videos\/\S*….*clip\.mp4  /, `the key keeps both ends:\n${jobs.stdout}`);
    const listed = json<{ key: string }[]>(await cli(['jobs', '--local', '--json']));
    assert.ok(listed.some((row) => row.key === good), '--json keeps the whole key');
  });

  test('every hint repeats the target flags the user gave, and runs as printed', async () => {
    const flags = ['--local', '--local-dir', stack.dir];
    const status = await runCli('/nonexistent', ['status', ...flags]);
    assert.equal(status.code, 0, status.stderr);
    const expected = [`video-animation jobs --status failed ${flags.join(' ')}`, `video-animation retry --failed ${flags.join(' ')}`];
    for (const hint of expected) assert.ok(status.stdout.includes(hint), `status prints ${hint}:\n${status.stdout}`);
    // Copied as printed (here without a shell: the folder has no characters a shell would read), it acts on the same stack.
    const again = await runCli('/nonexistent', expected[0]!.split(' ').slice(1));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /InvalidFile\.Media/);

    const usage = await cli(['retry', '--local']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /video-animation retry <jobId\.\.\.> --local\)/);
    assert.match(usage.stderr, /video-animation jobs --status failed --local$/m);
    const missing = await cli(['show', 'videos/never-uploaded.mp4', '--local', '-t', 's.yaml']);
    assert.match(missing.stderr, /video-animation backfill --prefix videos\/never-uploaded\.mp4 --local\b/);
    const jobs = await cli(['jobs', '--local']);
    assert.match(jobs.stdout, /video-animation show <jobId \| key> --local$/m);
    await stack.client.copy(`${deep}/another copy.mp4`, good);
    const dry = await cli(['backfill', '--local', '--dry-run', '--prefix', `${deep}/`]);
    assert.match(dry.stdout, /video-animation backfill --prefix 'videos\/cli\/a folder with a rather long name\/.*\/' --local$/m);
  });

  test('human output: tables without ANSI escapes when stdout is not a terminal, and with NO_COLOR', async () => {
    const envs: Record<string, string>[] = [{}, { NO_COLOR: '1', FORCE_COLOR: '1' }];
    for (const [args, shows] of [
      [['status', '--local'], /succeeded/],
      [['jobs', '--local'], /InvalidFile\.Media/],
      [['show', good, '--local'], /links work for 1 hour/],
      [['plan'], /animations\/\{dirname\}/],
    ] as const) {
      for (const env of envs) {
        const run = await cli([...args], env);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, shows);
        assert.doesNotMatch(run.stdout + run.stderr, ANSI, args.join(' '));
      }
    }
  });
});
