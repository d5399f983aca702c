import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, test } from 'node:test';
import OSS from 'ali-oss';

const MAIN = path.join(__dirname, '..', 'src', 'main.ts');
const run = (args: string[]) => spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });

describe('the local-cloud command', () => {
  test('--memory --json: prints its endpoints as JSON, serves the buckets, stops with exit 0 on SIGTERM', async () => {
    const child = run(['--bucket', 'media-bkt', '--bucket', 'outputs-bkt', '--memory', '--json']);
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const endpoints = JSON.parse(line) as { ossEndpoint: string; immEndpoint: string; region: string; credentials: { accessKeyId: string; accessKeySecret: string } };
    assert.match(endpoints.ossEndpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(endpoints.immEndpoint, /^127\.0\.0\.1:\d+$/);
    for (const bucket of ['media-bkt', 'outputs-bkt']) {
      const client = new OSS({ ...endpoints.credentials, bucket, endpoint: endpoints.ossEndpoint, region: `oss-${endpoints.region}`, secure: false });
      await client.put('hello.txt', Buffer.from(bucket));
      assert.equal((await client.get('hello.txt')).content.toString(), bucket);
    }
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0);
  });

  test('no --bucket, or an unknown flag, exits 2 with the usage', async () => {
    for (const args of [['--memory'], ['--bucket', 'media-bkt', '--port', '1']]) {
      const child = run(args);
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const [code] = (await once(child, 'exit')) as [number];
      assert.equal(code, 2, args.join(' '));
      assert.match(stderr, /usage: local-cloud --bucket NAME/);
    }
  });
});
