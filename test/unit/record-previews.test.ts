import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordTaskNotice } from '../../shared/app/record';
import { submitUploads } from '../../shared/app/submit';
import { jobIdFor } from '../../shared/jobs/plan';
import { BUCKET, fakeApp, notice, serviceError, testConfig, uploadEvent } from '../helpers/fake-app';

/** Recording posters and storyboards (the record function's side of the preview kit), over the fakes. */
const KEY = 'videos/clip.mp4';
const config = () =>
  testConfig({}, [
    {
      name: 'preview',
      prefix: 'videos/',
      cacheControl: 'max-age=60',
      outputs: [
        { format: 'gif', key: 'animations/{basename}' },
        { kind: 'poster', key: 'posters/{basename}', candidates: 3 },
        { kind: 'storyboard', key: 'boards/{basename}', frames: 4, columns: 2, rows: 1, width: 32 },
      ],
    },
  ]);
const jobId = jobIdFor({ bucket: BUCKET, key: KEY, eTag: 'ETAG1', size: 1000 }, 'preview');

async function converted() {
  const app = fakeApp({ config: config() });
  app.bucket.objects.set(KEY, 'video');
  const [outcome] = await submitUploads(uploadEvent(KEY), app.deps());
  assert.equal(outcome?.status, 'submitted');
  app.bucket.objects.set('animations/clip.mp4.gif', 'GIF89a');
  // Three candidates: the middle one has the most detail.
  app.bucket.objects.set('posters/clip.mp4-candidate-1.jpg', 'x');
  app.bucket.objects.set('posters/clip.mp4-candidate-2.jpg', 'xxxxxxxx');
  app.bucket.objects.set('posters/clip.mp4-candidate-3.jpg', 'xxx');
  app.bucket.objects.set('boards/clip.mp4-1.jpg', 'sheet one');
  app.bucket.objects.set('boards/clip.mp4-2.jpg', 'sheet2');
  return app;
}

describe('recording posters and storyboards', () => {
  it('the task asked IMM for every kind at once', async () => {
    const app = await converted();
    assert.equal(app.imm.tasks.length, 1);
    assert.deepEqual(app.imm.tasks[0]!.outputs, ['animations/clip.mp4.gif']);
    assert.deepEqual(app.media.calls, [KEY], 'the storyboard needs the duration');
  });

  it('keeps the largest candidate as the poster, removes the candidates, writes the WebVTT, sets every header', async () => {
    const app = await converted();
    const outcome = await recordTaskNotice(notice('task-1', jobId), app.deps());
    assert.equal(outcome.status, 'recorded');
    const job = (await app.store.getJob(jobId))!;
    assert.equal(job.status, 'succeeded');
    assert.equal(app.bucket.objects.get('posters/clip.mp4.jpg'), 'xxxxxxxx');
    for (const n of [1, 2, 3]) assert.equal(app.bucket.objects.has(`posters/clip.mp4-candidate-${n}.jpg`), false);
    const vtt = app.bucket.objects.get('boards/clip.mp4.vtt')!;
    assert.match(vtt, /^WEBVTT/);
    assert.equal((vtt.match(/ --> /g) ?? []).length, 4);
    assert.match(vtt, /clip\.mp4-1\.jpg#xywh=/);
    assert.deepEqual(
      ['animations/clip.mp4.gif', 'posters/clip.mp4.jpg', 'boards/clip.mp4-1.jpg', 'boards/clip.mp4-2.jpg'].map((key) => app.bucket.headers.get(key)),
      [
        { contentType: 'image/gif', cacheControl: 'max-age=60' },
        { contentType: 'image/jpeg', cacheControl: 'max-age=60' },
        { contentType: 'image/jpeg', cacheControl: 'max-age=60' },
        { contentType: 'image/jpeg', cacheControl: 'max-age=60' },
      ],
    );
    for (const key of ['animations/clip.mp4.gif', 'posters/clip.mp4.jpg', 'boards/clip.mp4-1.jpg']) assert.equal(app.bucket.tags.get(key)?.['source'], KEY, key);
    const [, poster, board] = job.outputs;
    assert.deepEqual([poster?.kind, poster?.bytes, poster?.frames], ['poster', 8, 3]);
    assert.deepEqual([board?.kind, board?.frames, board?.fileBytes], ['storyboard', 4, { 'boards/clip.mp4-1.jpg': 9, 'boards/clip.mp4-2.jpg': 6 }]);
    assert.equal(board?.bytes, Buffer.byteLength(vtt));
    assert.equal(job.frames, (job.outputs[0]!.frames ?? job.outputs[0]!.plannedFrames!) + 3 + 4, 'the stills billed count: 3 candidates and 4 tiles');
  });

  it('a poster already chosen by an earlier recording is taken as it is; a missing sheet fails the job naming it', async () => {
    const app = await converted();
    for (const n of [1, 2, 3]) app.bucket.objects.delete(`posters/clip.mp4-candidate-${n}.jpg`);
    app.bucket.objects.set('posters/clip.mp4.jpg', 'chosen');
    app.bucket.objects.delete('boards/clip.mp4-2.jpg');
    await recordTaskNotice(notice('task-1', jobId), app.deps());
    const job = (await app.store.getJob(jobId))!;
    assert.equal(job.status, 'failed');
    assert.deepEqual(job.error, { code: 'OutputMissing', message: 'task task-1 succeeded but boards/clip.mp4-2.jpg does not exist' });
  });

  it('no candidate and no poster: OutputMissing names the poster', async () => {
    const app = await converted();
    for (const n of [1, 2, 3]) app.bucket.objects.delete(`posters/clip.mp4-candidate-${n}.jpg`);
    await recordTaskNotice(notice('task-1', jobId), app.deps());
    assert.deepEqual((await app.store.getJob(jobId))!.error, { code: 'OutputMissing', message: 'task task-1 succeeded but posters/clip.mp4.jpg does not exist' });
  });

  it('a permanent error while setting a preview\'s headers fails the job naming it; a transient one is thrown', async () => {
    const app = await converted();
    app.bucket.failNext('tag', serviceError(403, 'AccessDenied'), { key: 'boards/clip.mp4-1.jpg' });
    await recordTaskNotice(notice('task-1', jobId), app.deps());
    const job = (await app.store.getJob(jobId))!;
    assert.equal(job.error?.code, 'AccessDenied');
    assert.match(job.error!.message, /^recording boards\/clip\.mp4\.vtt failed: /);
  });
});
