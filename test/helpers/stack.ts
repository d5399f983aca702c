import type OSS from 'ali-oss';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listJobRecords } from '../../local/inspect';
import { generateSampleVideo } from '@video-animation/local-cloud';
import { startStack, type Stack, type StackOptions } from '../../local/stack';
import type { JobRecord } from '../../shared/jobs/job';

export const RECORDS_PREFIX = '.video-animation/';

export interface TestStack extends Stack {
  dir: string;
  client: OSS & { getObjectTagging(key: string): Promise<{ tag: Record<string, string> }> };
  /** A small generated video (640x360, 25 fps). */
  sampleVideo(seconds?: number, name?: string): Promise<string>;
  records(): Promise<JobRecord[]>;
  recordFor(key: string, rule?: string): Promise<JobRecord | undefined>;
  /** Uploads a 2 s video to `good` and 64 KiB of noise to `bad`, then waits until both jobs have ended. */
  uploadGoodAndBad(good: string, bad: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A stack on ephemeral ports with its own data folder, objects in memory, fast retry intervals and the functions
 * built from s.yaml.
 */
export async function startTestStack(options: StackOptions = {}): Promise<TestStack> {
  const dir = await mkdtemp(path.join(tmpdir(), 'video-animation-test-'));
  const stack = await startStack({ dataDir: dir, delayScale: 0.001, ossStorage: 'memory', ...options });
  const client = stack.ossClient() as TestStack['client'];
  let videos = 0;
  return Object.assign(stack, {
    dir,
    client,
    async sampleVideo(seconds = 4, name = `sample-${++videos}.mp4`) {
      const file = path.join(dir, name);
      await generateSampleVideo(file, { seconds, width: 640, height: 360, fps: 25 });
      return file;
    },
    records: () => listJobRecords(client, RECORDS_PREFIX),
    async recordFor(key: string, rule = 'preview') {
      return (await listJobRecords(client, RECORDS_PREFIX)).find((r) => r.key === key && r.rule === rule);
    },
    async uploadGoodAndBad(good: string, bad: string) {
      await client.put(good, await this.sampleVideo(2));
      const junk = path.join(dir, 'junk.mp4');
      await writeFile(junk, randomBytes(64 * 1024));
      await client.put(bad, junk);
      await stack.idle();
    },
    async stop() {
      await stack.close();
      await rm(dir, { recursive: true, force: true });
    },
  });
}

/** Retries a test's own client call through injected 503s, as any OSS client would. */
export async function retrying<T>(operation: () => Promise<T>, attempts = 20): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= attempts || (error as { status?: number }).status !== 503) throw error;
    }
  }
}
