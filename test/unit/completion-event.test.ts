import Ajv from 'ajv';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  COMPLETION_EVENT_SCHEMA_ID,
  completionEventId,
  completionEventMessage,
  jobEndedEvent,
  outputsDeletedEvent,
  parseCompletionEvent,
  type CompletionJob,
} from '../../shared/events/completion';
import type { JobRecord } from '../../shared/jobs/job';

const SCHEMA_FILE = path.join(__dirname, '..', '..', 'schemas', 'completion-event.v1.json');
const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { $id: string };
const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
const CONTEXT = { region: 'cn-hangzhou', accountId: '1234567890123456' };

/** A finished job as the record function leaves it: two outputs, one of them in another bucket with its size. */
function job(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    schemaVersion: 2,
    jobId: 'c0ffee00c0ffee00c0ffee00c0ffee00',
    bucket: 'uploads',
    key: 'videos/cat.mp4',
    eTag: '5B3C1A2E053D763E1B002CC607C5A0FE',
    size: 1_048_576,
    rule: 'previews',
    engine: 'imm',
    status: 'succeeded',
    outputs: [
      { key: 'previews/cat.mp4.gif', format: 'gif', maxFrames: 300, taskId: 'MediaConvert-1', frames: 40, bytes: 812_345, tagged: true },
      { key: 'previews/cat.mp4.webp', format: 'webp', maxFrames: 300, taskId: 'MediaConvert-1', frames: 40, bytes: 301_002, tagged: true },
    ],
    attempts: [],
    frames: 80,
    estimatedCost: { amount: 0.0008, currency: 'CNY' },
    createdAt: '2026-12-03T07:00:00.000Z',
    updatedAt: '2026-12-03T07:00:31.000Z',
    finishedAt: '2026-12-03T07:00:30.000Z',
    error: null,
    ...overrides,
  };
}

/** What later output kinds and other-bucket outputs add to the record. */
function jobWithOutputExtras(): CompletionJob {
  const base = job();
  return {
    ...base,
    outputs: [
      { ...base.outputs[0]!, bucket: 'public-previews', width: 320, height: 180 },
      { ...base.outputs[1]!, kind: 'storyboard', format: 'jpg', key: 'previews/cat.vtt', files: ['previews/cat-1.jpg', 'previews/cat-2.jpg'], fileBytes: { 'previews/cat-1.jpg': 10 } },
    ],
  };
}

function assertValid(event: unknown): void {
  assert.equal(validate(event), true, JSON.stringify(validate.errors));
  parseCompletionEvent(event);
}

describe('completion events (CloudEvents 1.0, structured)', () => {
  it('a succeeded job: the envelope, the source, every output with its bucket, frames and cost', () => {
    const event = jobEndedEvent(jobWithOutputExtras(), CONTEXT);
    assertValid(event);
    assert.deepEqual(
      { ...event, data: undefined },
      {
        specversion: '1.0',
        id: completionEventId('c0ffee00c0ffee00c0ffee00c0ffee00', 'video-animation.job.succeeded'),
        source: 'acs:oss:cn-hangzhou:1234567890123456:uploads',
        type: 'video-animation.job.succeeded',
        subject: 'videos/cat.mp4',
        time: '2026-12-03T07:00:30.000Z',
        datacontenttype: 'application/json',
        dataschema: COMPLETION_EVENT_SCHEMA_ID,
        data: undefined,
      },
    );
    assert.deepEqual(event.data, {
      jobId: 'c0ffee00c0ffee00c0ffee00c0ffee00',
      rule: 'previews',
      source: { bucket: 'uploads', key: 'videos/cat.mp4', eTag: '5B3C1A2E053D763E1B002CC607C5A0FE', size: 1_048_576 },
      outputs: [
        { bucket: 'public-previews', key: 'previews/cat.mp4.gif', format: 'gif', width: 320, height: 180, frames: 40, bytes: 812_345 },
        {
          bucket: 'uploads',
          key: 'previews/cat.vtt',
          format: 'jpg',
          kind: 'storyboard',
          frames: 40,
          bytes: 301_002,
          files: [{ key: 'previews/cat-1.jpg', bytes: 10 }, { key: 'previews/cat-2.jpg' }],
        },
      ],
      frames: 80,
      estimatedCost: { amount: 0.0008, currency: 'CNY' },
    });
  });

  it('a failed job carries the code and message, and no cost without a price', () => {
    const failed = job({
      status: 'failed',
      error: { code: 'InvalidFile.Media', message: 'The media file is invalid.' },
      estimatedCost: undefined,
      frames: undefined,
      outputs: [{ key: 'previews/cat.mp4.gif', format: 'gif', maxFrames: 300 }],
    });
    delete failed.estimatedCost;
    delete failed.frames;
    const event = jobEndedEvent(failed, CONTEXT);
    assertValid(event);
    assert.equal(event.type, 'video-animation.job.failed');
    assert.deepEqual(event.data.error, { code: 'InvalidFile.Media', message: 'The media file is invalid.' });
    assert.equal('estimatedCost' in event.data, false);
    assert.equal('frames' in event.data, false);
    assert.deepEqual(event.data.outputs, [{ bucket: 'uploads', key: 'previews/cat.mp4.gif', format: 'gif' }]);
  });

  it('outputs deleted with their source: the deleted outputs, at the time given', () => {
    const record = job({ retryOf: 'deadbeef' });
    const event = outputsDeletedEvent(record, [record.outputs[1]!], CONTEXT, '2026-12-03T08:00:00.000Z');
    assertValid(event);
    assert.equal(event.type, 'video-animation.outputs.deleted');
    assert.equal(event.time, '2026-12-03T08:00:00.000Z');
    assert.deepEqual(event.data.outputs.map((o) => o.key), ['previews/cat.mp4.webp']);
    assert.equal(event.data.retryOf, 'deadbeef');
    assert.equal('error' in event.data, false);
  });

  it('the id is stable per job and type, and differs across jobs and types', () => {
    const first = jobEndedEvent(job(), CONTEXT);
    const repeat = jobEndedEvent(job({ updatedAt: '2026-12-03T09:00:00.000Z' }), CONTEXT);
    assert.equal(JSON.stringify(repeat), JSON.stringify(first), 'a repeat is the same message');
    const ids = new Set([
      first.id,
      jobEndedEvent(job({ jobId: 'another' }), CONTEXT).id,
      outputsDeletedEvent(job(), [], CONTEXT, '2026-12-03T08:00:00.000Z').id,
      jobEndedEvent(job({ status: 'failed', error: { code: 'X', message: 'y' } }), CONTEXT).id,
    ]);
    assert.equal(ids.size, 4);
    for (const id of ids) assert.match(id, /^[0-9a-f]{32}$/);
  });

  it('a failed job without a recorded reason still says it failed; a record without finishedAt gives its updatedAt', () => {
    const bare = job({ status: 'failed', error: null });
    delete bare.finishedAt;
    const event = jobEndedEvent(bare, CONTEXT);
    assertValid(event);
    assert.deepEqual(event.data.error, { code: 'Unknown', message: 'the job failed without a recorded reason' });
    assert.equal(event.time, '2026-12-03T07:00:31.000Z');
  });

  it('the message body is the event as JSON, and reads back', () => {
    const event = jobEndedEvent(jobWithOutputExtras(), CONTEXT);
    const body = completionEventMessage(event);
    assert.deepEqual(JSON.parse(body), event);
    assert.deepEqual(parseCompletionEvent(JSON.parse(body)), event);
  });

  it('a running job has no completion event', () => {
    assert.throws(() => jobEndedEvent(job({ status: 'submitted' }), CONTEXT), /only a succeeded or failed job/);
  });

  it('the JSON Schema and the zod schema refuse the same broken events', () => {
    const good = jobEndedEvent(job(), CONTEXT);
    const broken: unknown[] = [
      { ...good, specversion: '0.3' },
      { ...good, type: 'video-animation.job.started' },
      { ...good, data: { ...good.data, error: { code: 'X', message: 'y' } } },
      { ...good, type: 'video-animation.job.failed' },
      { ...good, data: { ...good.data, source: { ...good.data.source, size: -1 } } },
      { ...good, data: { ...good.data, outputs: [{ key: 'k', format: 'gif' }] } },
    ];
    for (const event of broken) {
      assert.equal(validate(event), false, `JSON Schema took ${JSON.stringify(event).slice(0, 120)}`);
      assert.throws(() => parseCompletionEvent(event), /not a video-animation completion event/);
    }
  });

  it('names what is wrong: an error on a succeeded job, none on a failed one', () => {
    const good = jobEndedEvent(job(), CONTEXT);
    for (const event of [{ ...good, data: { ...good.data, error: { code: 'X', message: 'y' } } }, { ...good, type: 'video-animation.job.failed' }]) {
      assert.throws(() => parseCompletionEvent(event), /data\.error is present exactly on video-animation\.job\.failed[\s\S]*at data\.error/);
    }
  });

  it('the schema file is versioned: its $id is the dataschema every event names', () => {
    assert.equal(schema.$id, COMPLETION_EVENT_SCHEMA_ID);
    assert.match(schema.$id, /:v1$/);
  });
});
