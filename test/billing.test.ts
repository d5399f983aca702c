import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ossRequestsBench } from '../bench/oss-requests';
import { BENCH_RULE_NAME, benchRules } from '../bench/rules';
import type { StackOptions } from '../local/stack';
import { startOssRequestLog, type OssRequest, type OssRequestLog } from './helpers/oss-request-log';
import { startTestStack, type TestStack } from './helpers/stack';

/**
 * "Never billed twice", through the built bundles and the real clients against the local stack: a task-starting call
 * whose answer is lost (IMM and OSS async processing), a retry request delivered twice, a duplicate event while the
 * first invocation still holds the job, a versioned records bucket, and a skewed OSS clock. Every figure is a count.
 */

const SUBMIT = 'video-animation-submit';

async function upload(stack: TestStack, key: string, seconds = 1) {
  await stack.client.put(key, await stack.sampleVideo(seconds, `${key.replace(/\W/g, '_')}.mp4`));
  await stack.idle();
}

const tasksFor = (stack: TestStack, key: string) => stack.imm.tasks().filter((t) => JSON.stringify(t.requestedSources).includes(key));
const submitInvocations = (stack: TestStack) => stack.invocations().filter((i) => i.functionName === SUBMIT);
type Outcomes = { outcomes: { status: string; jobId?: string; taskIds?: string[]; reason?: string }[] };

/** A test stack whose functions reach OSS through a recording proxy. */
async function startLoggedStack(options: StackOptions = {}): Promise<{ stack: TestStack; oss: OssRequestLog }> {
  const oss = await startOssRequestLog();
  const stack = await startTestStack({ ...options, functionEnv: { ...options.functionEnv, OSS_ENDPOINT: oss.endpoint } });
  oss.forwardTo(stack.oss.port);
  return { stack, oss };
}

/** Waits until every request but `held` has been answered and nothing new came for a while (the holder is parked). */
async function settled(oss: OssRequestLog, held: OssRequest) {
  for (let quiet = 0, seen = -1; quiet < 3; ) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const requests = oss.requests();
    const busy = requests.some((r) => r !== held && r.endedAt === undefined);
    quiet = !busy && requests.length === seen ? quiet + 1 : 0;
    seen = requests.length;
  }
}

describe('IMM makes the task and the connection drops before its answer', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ faults: { imm: { dropFirstCreateAnswers: 1 } } });
  });
  after(async () => stack?.stop());

  it('bills one task: the same invocation finds it with ListTasks (tag JobId) and adopts it', async (t) => {
    const key = 'videos/lost-answer/imm.mp4';
    await upload(stack, key);
    const calls = stack.imm.apiCalls();
    const record = await stack.recordFor(key);
    const submits = submitInvocations(stack);
    t.diagnostic(`IMM calls ${JSON.stringify(calls)}; attempts ${JSON.stringify(record?.attempts.map((a) => [a.trigger, a.outcome]))}`);
    assert.equal(tasksFor(stack, key).length, 1, 'one billed task');
    assert.equal(calls['CreateMediaConvertTask']?.calls, 1, 'never sent again after the lost answer');
    assert.equal(calls['ListTasks']?.calls, 1, 'one look-up by the JobId tag');
    assert.equal(record?.status, 'succeeded');
    assert.deepEqual(
      record.attempts.map((a) => [a.trigger, a.outcome, a.tasks.map((task) => task.taskId)]),
      [['event', 'submitted', [tasksFor(stack, key)[0]!.taskId]]],
      'one attempt, which adopted the task it started',
    );
    assert.equal(submits.length, 1, 'adopted in the same invocation: FC did not have to deliver the event again');
    assert.deepEqual(
      (submits[0]!.result as Outcomes).outcomes.map((o) => [o.status, o.taskIds]),
      [['submitted', [tasksFor(stack, key)[0]!.taskId]]],
    );
    const adoption = stack.logs().filter((l) => l.source === SUBMIT && l.line.includes('adopted tasks an earlier attempt started'));
    assert.equal(adoption.length, 1, 'the submit log says it adopted the task');
    assert.equal(stack.failures().length, 0);
  });
});

describe('engine oss: the x-oss-async-process POST makes the task and its answer is lost', () => {
  const RULES = JSON.stringify([
    { name: 'oss-preview', prefix: 'videos/', engine: 'oss', outputs: [{ format: 'gif', key: 'previews/{basename}', width: 160, height: 90, interval: 0.5, frameRate: 4 }] },
  ]);
  const RECONCILE_AFTER_SECONDS = 2;
  let stack: TestStack;
  let oss: OssRequestLog;
  before(async () => {
    ({ stack, oss } = await startLoggedStack({
      functionEnv: { RULES, RECONCILE_AFTER_SECONDS: String(RECONCILE_AFTER_SECONDS) },
      faults: { ossAsync: { dropFirstAnswers: 1 } },
    }));
  });
  after(async () => {
    await stack?.stop();
    await oss?.close();
  });

  it(
    'bills one task and finishes the job when the notice comes, without a second POST (not even by reconcile)',
    async (t) => {
      const key = 'videos/lost-answer/oss.mp4';
      const posts = () => oss.requests().filter((r) => r.method === 'POST' && r.url.includes('x-oss-async-process')).length;
      await upload(stack, key);
      const afterNotice = await stack.recordFor(key, 'oss-preview');
      const seen = `after the notice: POSTs ${posts()}, tasks ${tasksFor(stack, key).length}, status ${afterNotice?.status}, attempts ${JSON.stringify(afterNotice?.attempts.map((a) => [a.trigger, a.outcome, a.error?.code]))}`;
      // Past the wait for an unrecorded task: reconcile may submit again now; it must find nothing owed.
      const waitUntil = Date.parse(afterNotice?.attempts[0]?.startedAt ?? '') + RECONCILE_AFTER_SECONDS * 1000 + 100;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, waitUntil - Date.now())));
      await stack.fireTimer('reconcile');
      await stack.idle();
      const record = await stack.recordFor(key, 'oss-preview');
      t.diagnostic(`${seen}; after reconcile: POSTs ${posts()}, tasks ${tasksFor(stack, key).length}, status ${record?.status}`);
      assert.equal(afterNotice?.status, 'succeeded', 'the notice of the task adopts it');
      assert.equal(posts(), 1, 'the POST is never sent again blindly');
      assert.equal(tasksFor(stack, key).length, 1, 'one billed task');
      assert.equal(record?.outputs[0]?.taskId, tasksFor(stack, key)[0]!.taskId);
    },
  );
});

describe('a retry request delivered twice', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ faults: { imm: { failFirstTasks: 1, failTaskCode: 'InvalidFile.Media' } } });
  });
  after(async () => stack?.stop());

  it('makes one re-run job and one new task', async (t) => {
    const key = 'videos/retry/twice.mp4';
    await upload(stack, key);
    const failed = await stack.recordFor(key);
    assert.equal(failed?.status, 'failed', 'the first task fails permanently');
    const request = Buffer.from(JSON.stringify({ retry: { bucket: stack.bucket, jobId: failed.jobId, requestId: 'retry-request-1' } }));
    const submit = stack.functions.get(SUBMIT)!;
    // FC delivers an async invocation at least once: the same request twice at once, then once more later.
    const together = (await Promise.all([submit.invoke(request, 'async'), submit.invoke(request, 'async')])) as Outcomes[];
    await stack.idle();
    const later = (await submit.invoke(request, 'async')) as Outcomes;
    await stack.idle();

    const outcomes = [...together, later].map((r) => r.outcomes[0]!);
    t.diagnostic(JSON.stringify(outcomes.map((o) => [o.status, o.jobId, o.reason])));
    const rerunIds = new Set(outcomes.map((o) => o.jobId));
    assert.equal(rerunIds.size, 1, 'every delivery names the same re-run job');
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['duplicate', 'duplicate', 'submitted']);
    const jobs = (await stack.records()).filter((r) => r.key === key);
    assert.deepEqual(jobs.map((r) => [r.jobId, r.status]).sort(), [
      [failed.jobId, 'failed'],
      [[...rerunIds][0], 'succeeded'],
    ].sort());
    assert.equal(jobs.find((r) => r.jobId !== failed.jobId)?.retryOf, failed.jobId);
    assert.equal(tasksFor(stack, key).length, 2, 'the failed task and one new task');
  });
});

describe('a duplicate event while the first invocation holds the job (one rule, two outputs)', () => {
  let stack: TestStack;
  let oss: OssRequestLog;
  before(async () => {
    // The bench's fixed two-animation rule, not s.yaml's (whose poster is a third output owner): the count stays comparable.
    ({ stack, oss } = await startLoggedStack({ functionEnv: { RULES: JSON.stringify(benchRules('videos/')) } }));
  });
  after(async () => {
    await stack?.stop();
    await oss?.close();
  });

  it('is acknowledged as duplicate at once: no polling, one task', async (t) => {
    const key = 'videos/duplicate/held.mp4';
    // The holder stops, alive, at the write of its attempt's outcome (after IMM accepted the task).
    const held = oss.hold((r) => r.method === 'PUT' && r.url.includes('/attempt-0001.json') && !r.createOnly);
    await stack.client.put(key, await stack.sampleVideo(1, 'held.mp4'));
    const holding = await held.arrived;
    await settled(oss, holding);
    const event = stack.ossEvents().find((e) => e.oss.object.key === key)!;
    const before = oss.requests().length;
    const duplicate = (await stack.functions.get(SUBMIT)!.invoke(Buffer.from(JSON.stringify({ events: [event] })), 'async')) as Outcomes;
    const duplicateRequests = oss.requests().slice(before);
    held.release();
    await stack.idle();

    const summary = duplicateRequests.map((r) => `${r.method} ${decodeURIComponent(r.url.replace(/^\/[^/]*\.video-animation\//, '').split('?')[0]!)}`);
    t.diagnostic(`${duplicateRequests.length} OSS requests by the duplicate: ${summary.join(', ')}`);
    assert.deepEqual(duplicate.outcomes.map((o) => o.status), ['duplicate']);
    assert.match(duplicate.outcomes[0]!.reason ?? '', /another invocation is working on this job/);
    // Open mark, identity and claim (create-only, refused), the two output owners (refused, read), one read of the
    // job (list, identity, attempt): then it answers. No loop.
    assert.equal(duplicateRequests.length, 10, summary.join(', '));
    assert.equal(new Set(duplicateRequests.map((r) => `${r.method} ${r.url}`)).size, duplicateRequests.length, 'no request repeated');
    assert.equal(tasksFor(stack, key).length, 1);
    assert.equal((await stack.recordFor(key, BENCH_RULE_NAME))?.status, 'succeeded');
  });
});

describe('a records bucket with versioning on', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ buckets: [{ name: 'my-video-bucket', versioning: 'Enabled' }] });
  });
  after(async () => stack?.stop());

  it('stops the functions with a ConfigError naming the bucket; no task starts; the failure reaches onFailure', async () => {
    await upload(stack, 'videos/versioned/clip.mp4');
    const submits = submitInvocations(stack);
    assert.ok(submits.length >= 1 && submits.every((i) => i.ok === false), 'every delivery fails');
    assert.deepEqual([...new Set(submits.map((i) => i.error?.name))], ['ConfigError']);
    assert.match(submits[0]!.error!.message, /records bucket "my-video-bucket" has versioning Enabled/);
    assert.match(submits[0]!.error!.message, /RECORDS_BUCKET/, 'the message says how to fix it');
    assert.equal(stack.imm.tasks().length, 0, 'no task starts');
    assert.equal(stack.failures().length, 1, 'the event ends at the onFailure destination');
    assert.match(JSON.stringify(stack.failures()[0]), /versioning Enabled/);
    assert.deepEqual(await stack.records(), [], 'no record written');
  });
});

describe('the OSS clock 20 minutes ahead of the functions', () => {
  let stack: TestStack;
  let oss: OssRequestLog;
  before(async () => {
    ({ stack, oss } = await startLoggedStack({ ossClockOffsetMs: 20 * 60 * 1000 }));
  });
  after(async () => {
    await stack?.stop();
    await oss?.close();
  });

  it('still converts: each instance corrects its clock from the first 403 RequestTimeTooSkewed and retries once', async () => {
    const key = 'videos/skew/clip.mp4';
    // The test's own uploader (ali-oss) is told the offset; the functions have to find it out.
    (stack.client as unknown as { options: { amendTimeSkewed: number } }).options.amendTimeSkewed = 20 * 60 * 1000;
    await upload(stack, key);
    assert.equal((await stack.recordFor(key))?.status, 'succeeded');
    assert.equal(tasksFor(stack, key).length, 1);
    const skewed = oss.requests().filter((r) => r.status === 403);
    // One refusal per function instance that talked to OSS (submit and record), none after the correction.
    assert.equal(skewed.length, 2);
    assert.equal(stack.failures().length, 0);
  });
});

describe('the cost of one upload (one rule, two outputs) and its notice', () => {
  it('is 20 OSS requests: 9 by submit, 11 by record (each first invocation checks the records bucket once)', async (t) => {
    const figures = await ossRequestsBench({ build: true, runs: 1 });
    const counts = figures.functions.map((f) => [f.functionName, f.requests.length]);
    t.diagnostic(`${JSON.stringify(counts)}; rounds ${figures.functions.map((f) => f.rounds).join(' + ')}`);
    assert.deepEqual([figures.rule, figures.outputs], [BENCH_RULE_NAME, 2], 'the bench\'s fixed two-animation rule, not s.yaml\'s');
    assert.deepEqual(counts, [
      ['video-animation-submit', 9],
      ['video-animation-record', 11],
    ]);
    for (const f of figures.functions) assert.equal(f.requests.filter((r) => r.url.includes('?versioning')).length, 1, f.functionName);
  });
});
