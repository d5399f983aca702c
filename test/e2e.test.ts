import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { inspectAnimation } from '../local/inspect';
import { startTestStack, type TestStack } from './helpers/stack';

/**
 * The whole pipeline on the local stack, checked as a user would: upload with ali-oss, then look at the record,
 * the animations (with sharp), their tags, and the task IMM received. Default rules from s.yaml: "preview" turns
 * videos/ uploads into whole-video previews animations/<dir>/<name>.<ext>.gif (320x180 fit, 24 frames at 6 fps)
 * and .webp (640x360 fit, 48 frames at 8 fps), and a poster posters/<dir>/<name>.<ext>.jpg (640 wide, the most
 * detailed of 5 candidates).
 */
describe('end to end on the local stack (default rules, JSON notices)', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => stack?.stop());

  it('turns an uploaded video into a tagged GIF, WebP and poster with the frames, size and delay the rule implies', async () => {
    const key = 'videos/holiday/beach.mp4';
    await stack.client.put(key, await stack.sampleVideo(4));
    await stack.idle();

    const record = await stack.recordFor(key);
    assert.ok(record, 'a job record exists');
    assert.equal(record.status, 'succeeded', JSON.stringify(record.error));
    assert.deepEqual(
      record.outputs.map((o) => [o.key, o.format, o.tagged]),
      [
        ['animations/videos/holiday/beach.mp4.gif', 'gif', true],
        ['animations/videos/holiday/beach.mp4.webp', 'webp', true],
        ['posters/videos/holiday/beach.mp4.jpg', 'jpg', true],
      ],
    );

    const gif = await inspectAnimation((await stack.client.get('animations/videos/holiday/beach.mp4.gif')).content as Buffer);
    assert.equal(gif.format, 'gif');
    assert.deepEqual([gif.width, gif.height], [320, 180]);
    assert.equal(gif.frames, 24, 'the documented budget: 24 frames over the whole video');
    assert.ok(gif.delaysMs.every((d) => d >= 160 && d <= 170), `6 fps is ~167 ms a frame (GIF counts hundredths), got ${gif.delaysMs.slice(0, 5).join(',')}`);
    assert.equal(gif.loop, 0, 'loops forever');

    const webp = await inspectAnimation((await stack.client.get('animations/videos/holiday/beach.mp4.webp')).content as Buffer);
    assert.equal(webp.format, 'webp');
    assert.deepEqual([webp.width, webp.height], [640, 360]);
    assert.equal(webp.frames, 48, 'the documented budget: 48 frames');
    assert.ok(webp.delaysMs.every((d) => d === 125), `8 fps is 125 ms a frame`);
    assert.equal(record.outputs[1]?.bytes, webp.bytes);
    const [, , posterOutput] = record.outputs;
    assert.deepEqual(record.outputs.slice(0, 2).map((o) => o.plannedFrames), [24, 48], 'frames known when the task was submitted');
    assert.deepEqual(record.outputs.slice(0, 2).map((o) => o.frames), [gif.frames, webp.frames], 'the record function counted the frames IMM billed');
    assert.deepEqual([posterOutput?.kind, posterOutput?.maxFrames, posterOutput?.plannedFrames, posterOutput?.frames], ['poster', 5, undefined, 5], 'the poster: 5 candidates captured');
    assert.equal(record.frames, 77, '24 + 48 animation frames and the 5 poster candidates');

    const poster = (await stack.client.get('posters/videos/holiday/beach.mp4.jpg')).content as Buffer;
    const posterMeta = await sharp(poster).metadata();
    assert.deepEqual([posterMeta.format, posterMeta.width, posterMeta.height], ['jpeg', 640, 360]);
    assert.deepEqual((await stack.client.list({ prefix: 'posters/videos/holiday/beach.mp4-candidate-', 'max-keys': 10 }, {})).objects ?? [], [], 'the candidates are removed');
    assert.ok(record.media && Math.abs(record.media.duration - 4) < 0.1, `DetectMediaMeta's duration is kept: ${JSON.stringify(record.media)}`);
    assert.deepEqual([record.media.width, record.media.height, record.media.frameRate], [640, 360, 25]);

    const tags = (await stack.client.getObjectTagging('animations/videos/holiday/beach.mp4.gif')).tag;
    assert.deepEqual(tags, { source: key, rule: 'preview', job: record.jobId, task: record.outputs[0]!.taskId, format: 'gif', app: 'video-animation' });

    const task = stack.imm.tasks().find((t) => t.taskId === record.outputs[0]!.taskId);
    assert.ok(task, 'IMM received the task');
    const duration = record.media.duration;
    assert.deepEqual(task.requestedSources, [{ URI: `oss://${stack.bucket}/${key}`, Duration: duration }]);
    assert.deepEqual(task.requestedTargets, [
      {
        Image: {
          Animations: [
            { Format: 'gif', URI: `oss://${stack.bucket}/animations/videos/holiday/beach.mp4.gif`, Width: 320, Height: 180, ScaleType: 'fit', Interval: duration / 24, FrameRate: 6, Number: 24 },
            { Format: 'webp', URI: `oss://${stack.bucket}/animations/videos/holiday/beach.mp4.webp`, Width: 640, Height: 360, ScaleType: 'fit', Interval: duration / 48, FrameRate: 8, Number: 48 },
          ],
          Snapshots: [{ Format: 'jpg', URI: `oss://${stack.bucket}/posters/videos/holiday/beach.mp4-candidate-{index}.jpg`, Width: 640, Mode: 'average', Number: 5 }],
        },
      },
    ]);
    assert.equal(task.topicName, 'video-animation-done');
    assert.deepEqual(JSON.parse(task.userData ?? ''), { app: 'video-animation', v: 1, jobId: record.jobId, bucket: stack.bucket, rule: 'preview' });
  });

  it('processes a key with spaces, +, % and CJK characters', async () => {
    const key = 'videos/假期 2024/a+b 100% 海滩.MOV';
    await stack.client.put(key, await stack.sampleVideo(2));
    await stack.idle();
    const record = await stack.recordFor(key);
    assert.equal(record?.status, 'succeeded', JSON.stringify(record?.error));
    assert.deepEqual(record.outputs.map((o) => o.key), [
      'animations/videos/假期 2024/a+b 100% 海滩.MOV.gif',
      'animations/videos/假期 2024/a+b 100% 海滩.MOV.webp',
      'posters/videos/假期 2024/a+b 100% 海滩.MOV.jpg',
    ]);
    const tags = (await stack.client.getObjectTagging(record.outputs[0]!.key)).tag;
    assert.match(tags['source'] ?? '', /^videos\/_ 2024\/a\+b 100_ _\.MOV-[0-9a-f]{12}$/);
    assert.ok((await stack.client.head(record.outputs[1]!.key)).res.status === 200);
  });

  it('processes a video uploaded with a multipart upload', async () => {
    const key = 'videos/big/long take.mp4';
    const video = await stack.sampleVideo(12, 'long.mp4');
    await stack.client.multipartUpload(key, video, { partSize: 100 * 1024 });
    await stack.idle();
    const record = await stack.recordFor(key);
    assert.equal(record?.status, 'succeeded', JSON.stringify(record?.error));
    const gif = await inspectAnimation((await stack.client.get(record.outputs[0]!.key)).content as Buffer);
    assert.equal(gif.frames, 24, 'the same 24 frames whatever the length');
  });

  it('fails an unreadable file with IMM\'s code before any task is started, and tags nothing', async () => {
    const key = 'videos/broken.mp4';
    const junk = path.join(stack.dir, 'junk.mp4');
    await writeFile(junk, randomBytes(64 * 1024));
    await stack.client.put(key, junk);
    await stack.idle();
    const record = await stack.recordFor(key);
    assert.equal(record?.status, 'failed');
    assert.equal(record.error?.code, 'InvalidFile.Media');
    assert.ok(record.error?.message);
    assert.equal(stack.imm.tasks().filter((t) => JSON.stringify(t.requestedSources).includes('broken.mp4')).length, 0, 'no conversion billed');
    assert.ok(record.outputs.every((o) => o.tagged !== true));
  });

  it('submits one task however often the same upload event arrives', async () => {
    const key = 'videos/dup.mp4';
    await stack.client.put(key, await stack.sampleVideo(1));
    await stack.idle();
    const submit = stack.functions.get('video-animation-submit')!;
    const original = stack.invocations().filter((i) => i.functionName === 'video-animation-submit').length;
    const payload = stack.ossEvents().find((e) => e.oss.object.key === key);
    assert.ok(payload);
    await Promise.all([1, 2, 3].map(() => submit.invoke(Buffer.from(JSON.stringify({ events: [payload] })))));
    await stack.idle();
    const tasks = stack.imm.tasks().filter((t) => JSON.stringify(t.requestedSources).includes('dup.mp4'));
    assert.equal(tasks.length, 1);
    assert.ok(stack.invocations().length > original);
  });

  it('acknowledges malformed events without retrying', async () => {
    const submit = stack.functions.get('video-animation-submit')!;
    const result = (await submit.invoke(Buffer.from('{"events":[{"eventName":42}]}'))) as { acknowledged: boolean; reason: string };
    assert.equal(result.acknowledged, true);
    assert.match(result.reason, /eventName/);
    const record = stack.functions.get('video-animation-record')!;
    const ack = (await record.invoke(Buffer.from('not json at all'))) as { acknowledged: boolean };
    assert.equal(ack.acknowledged, true);
  });

  it('refuses a client signing with the wrong secret', async () => {
    const intruder = stack.ossClient({ accessKeySecret: 'wrong-secret' });
    await assert.rejects(intruder.put('videos/x.mp4', Buffer.from('x')), (error: { code?: string; status?: number }) => {
      assert.equal(error.status, 403);
      assert.equal(error.code, 'SignatureDoesNotMatch');
      return true;
    });
  });

  it('functions print nothing but their own structured JSON log lines', () => {
    const functionNames = new Set(stack.spec.functions.map((f) => f.functionName));
    const lines = stack.logs().filter(({ source }) => functionNames.has(source));
    assert.ok(lines.length > 0);
    for (const { source, line } of lines) {
      let parsed: { level?: unknown; message?: unknown } | undefined;
      try {
        parsed = JSON.parse(line) as { level?: unknown; message?: unknown };
      } catch {
        assert.fail(`${source} printed a line that is not JSON: ${line}`);
      }
      assert.ok(typeof parsed?.level === 'string' && typeof parsed.message === 'string', `${source}: ${line}`);
    }
  });

  it('never logs credentials or signatures', () => {
    const secrets = [stack.credentials.accessKeySecret, 'local-function-sts-secret', 'local-function-sts-token'];
    for (const { line } of stack.logs()) for (const secret of secrets) assert.ok(!line.includes(secret), `log line leaks a secret: ${line}`);
    assert.ok(stack.logs().length > 0);
    assert.equal(stack.failures().length, 0, JSON.stringify(stack.failures()));
  });
});

describe('end to end with STREAM notices, Base64 bodies', () => {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ notifyContentFormat: 'STREAM', base64Messages: true });
  });
  after(async () => stack?.stop());

  it('records and tags the outputs', async () => {
    const key = 'videos/stream.webm';
    await stack.client.put(key, await stack.sampleVideo(2));
    await stack.idle();
    const record = await stack.recordFor(key);
    assert.equal(record?.status, 'succeeded', JSON.stringify(record?.error));
    assert.ok(record.outputs.every((o) => o.tagged));
    assert.ok(stack.mns.deliveries().length > 0);
  });
});
