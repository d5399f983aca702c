import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordTaskNotice } from '../../shared/app/record';
import { submitUploads } from '../../shared/app/submit';
import { estimateCost } from '../../shared/jobs/cost';
import { jobIdFor } from '../../shared/jobs/plan';
import { loadConfig } from '../../shared/wiring/config';
import { BUCKET, fakeApp, notice, testConfig, uploadEvent } from '../helpers/fake-app';

const env = { MNS_TOPIC: 't', IMM_PROJECT: 'p', FC_REGION: 'cn-hangzhou', RULES: JSON.stringify([{ name: 'p', prefix: 'videos/', outputs: [{ format: 'gif', key: 'a/{basename}' }] }]) };

describe('pricing', () => {
  it('comes from PRICE_PER_FRAME and PRICE_CURRENCY; an empty price means none, not zero', () => {
    assert.deepEqual(loadConfig({}, { ...env, PRICE_PER_FRAME: '0.00025', PRICE_CURRENCY: 'USD' }).pricing, { currency: 'USD', pricePerFrame: 0.00025 });
    assert.deepEqual(loadConfig({}, { ...env, PRICE_PER_FRAME: '0.001' }).pricing, { currency: 'CNY', pricePerFrame: 0.001 });
    assert.equal(loadConfig({}, { ...env, PRICE_PER_FRAME: '' }).pricing, undefined);
    assert.equal(loadConfig({}, env).pricing, undefined);
    assert.throws(() => loadConfig({}, { ...env, PRICE_PER_FRAME: '-1' }), /PRICE_PER_FRAME/);
    assert.throws(() => loadConfig({}, { ...env, PRICE_PER_FRAME: '1', PRICE_CURRENCY: 'yuan' }), /currency code/);
  });

  it('estimateCost multiplies and rounds to a millionth', () => {
    assert.deepEqual(estimateCost(72, { currency: 'CNY', pricePerFrame: 0.0003 }), { amount: 0.0216, currency: 'CNY' });
    assert.deepEqual(estimateCost(3, { currency: 'CNY', pricePerFrame: 0.1234567 }), { amount: 0.37037, currency: 'CNY' });
    assert.equal(estimateCost(72, undefined), undefined);
  });

  it('a job record knows its frames and cost from submission (planned), then from the animations (counted)', async () => {
    const app = fakeApp({ config: testConfig({ pricing: { currency: 'CNY', pricePerFrame: 0.001 } }, [{ name: 'preview', prefix: 'videos/', outputs: [{ format: 'gif', key: 'a/{basename}', frames: 12 }, { format: 'webp', key: 'a/{basename}', frames: 24 }] }]) });
    app.bucket.objects.set('videos/clip.mp4', 'video');
    await submitUploads(uploadEvent('videos/clip.mp4'), app.deps());
    const id = jobIdFor({ bucket: BUCKET, key: 'videos/clip.mp4', eTag: 'ETAG1', size: 1000 }, 'preview');
    const submitted = (await app.store.getJob(id))!;
    assert.equal(submitted.frames, 36);
    assert.deepEqual(submitted.estimatedCost, { amount: 0.036, currency: 'CNY' });
    assert.deepEqual((await app.store.listJobIndex({})).map((e) => [e.status, e.frames]), [['submitted', 36]]);

    // The animations IMM made: a 2-frame GIF and a 3-frame animated WebP (minimal valid containers).
    const gif = Buffer.from('47494638396101000100000000' + '2c000000000100010000' + '0202440100' + '2c000000000100010000' + '0202440100' + '3b', 'hex');
    const anmf = (n: number) => Buffer.concat([Buffer.from('ANMF'), Buffer.from([16, 0, 0, 0]), Buffer.alloc(16, n)]);
    const body = Buffer.concat([Buffer.from('WEBP'), Buffer.from('VP8X'), Buffer.from([10, 0, 0, 0]), Buffer.alloc(10), anmf(1), anmf(2), anmf(3)]);
    const webp = Buffer.concat([Buffer.from('RIFF'), Buffer.from([body.length & 0xff, body.length >> 8, 0, 0]), body]);
    app.bucket.objects.set('a/clip.mp4.gif', gif.toString('latin1'));
    app.bucket.objects.set('a/clip.mp4.webp', webp.toString('latin1'));
    await recordTaskNotice(notice('task-1', id), app.deps());
    const done = (await app.store.getJob(id))!;
    assert.equal(done.status, 'succeeded');
    assert.deepEqual(done.outputs.map((o) => [o.plannedFrames, o.frames]), [[12, 2], [24, 3]]);
    assert.equal(done.frames, 5, 'the counted frames are what IMM billed');
    assert.deepEqual(done.estimatedCost, { amount: 0.005, currency: 'CNY' });
    assert.deepEqual((await app.store.listJobIndex({})).map((e) => [e.status, e.frames]), [['succeeded', 5]]);
  });
});
