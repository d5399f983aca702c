import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readEndpointsFile } from '@video-animation/local-cloud';
import { startStack } from '../local/stack';

// npm start's stack (restartable) takes the ports of its last run, so an open gallery keeps working after a
// restart; a port another program took meanwhile is replaced by a free one, and the log says so.
const SPEC = path.join(__dirname, 'fixtures', 'specs', 'timers.yaml');

let dir: string;
let codeDir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'local-restart-test-'));
  codeDir = path.join(dir, 'code');
  await mkdir(codeDir);
  await writeFile(path.join(codeDir, 'index.js'), 'exports.handler = async () => ({});\n');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const start = (dataDir: string, logs: string[] = []) =>
  startStack({ specFile: SPEC, specEnv: { CODE_DIR: codeDir }, dataDir, ossStorage: 'memory', build: false, restartable: true, log: (line) => logs.push(line) });

describe('local stack, restartable: ports kept across restarts', () => {
  test('a restart listens on the same four ports, written to ports.json and endpoints.json', async () => {
    const dataDir = path.join(dir, 'same');
    const first = await start(dataDir);
    const ports = { oss: first.oss.port, imm: first.imm.port, fc: first.fc.port, mns: first.mnsApi.port };
    await first.close();
    assert.deepEqual(JSON.parse(await readFile(path.join(dataDir, 'ports.json'), 'utf8')), ports);
    const second = await start(dataDir);
    try {
      assert.deepEqual({ oss: second.oss.port, imm: second.imm.port, fc: second.fc.port, mns: second.mnsApi.port }, ports);
      assert.equal((await readEndpointsFile(dataDir))?.ossEndpoint, `http://127.0.0.1:${ports.oss}`);
    } finally {
      await second.close();
    }
  });

  test('a saved port another program holds is replaced by a free one, with a log line naming it', async () => {
    const dataDir = path.join(dir, 'taken');
    const first = await start(dataDir);
    const ossPort = first.oss.port;
    await first.close();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(ossPort, '127.0.0.1', resolve));
    const logs: string[] = [];
    const second = await start(dataDir, logs);
    try {
      assert.notEqual(second.oss.port, ossPort);
      assert.deepEqual(logs.filter((line) => line.includes('of the last run is taken')), [
        `[stack] oss port ${ossPort} of the last run is taken by another program: listening on a new port (an open gallery must be reopened)`,
      ]);
      assert.equal(JSON.parse(await readFile(path.join(dataDir, 'ports.json'), 'utf8')).oss, second.oss.port);
    } finally {
      await second.close();
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  test('a stack that is not restartable picks free ports and writes no ports.json', async () => {
    const dataDir = path.join(dir, 'plain');
    const stack = await startStack({ specFile: SPEC, specEnv: { CODE_DIR: codeDir }, dataDir, ossStorage: 'memory', build: false });
    await stack.close();
    await assert.rejects(readFile(path.join(dataDir, 'ports.json')), { code: 'ENOENT' });
  });

  test('a conversion task a stop interrupted runs again at start, and the log says so', async () => {
    const dataDir = path.join(dir, 'resume');
    await mkdir(dataDir, { recursive: true });
    // What the local IMM's state file holds after a stop in the middle of a task (packages/local-cloud tasks.ts).
    const taskId = 'MediaConvert-interrupted-1';
    const location = { bucket: 'timer-bucket', key: 'videos/gone.mp4' };
    const task = {
      projectName: 'video-animation', taskId, eventId: 'ABC-1', requestId: 'R-1', status: 'Running', code: '', message: '', progress: 40,
      startTime: new Date(0).toISOString(), requestDefinition: {}, requestedSources: [], requestedTargets: [], outputs: [],
    };
    const job = {
      projectName: 'video-animation', sources: [{ location }], requestedSources: [], requestedTargets: [],
      animations: [{ path: 'Targets[0].Image.Animations[0]', output: { bucket: 'timer-bucket', key: 'out/gone.gif' }, spec: { format: 'gif' } }],
    };
    await writeFile(path.join(dataDir, 'imm-tasks.json'), JSON.stringify({ tasks: [{ task, job }] }));
    const logs: string[] = [];
    const stack = await start(dataDir, logs);
    try {
      await stack.imm.idle();
      assert.deepEqual(logs.filter((line) => line.startsWith('[imm] resuming')), [`[imm] resuming 1 conversion task(s) that were running when the stack stopped: ${taskId}`]);
      // It ran again: its source is gone, so it ends Failed with ResourceNotFound instead of staying Running.
      assert.deepEqual(stack.imm.tasks().map((t) => [t.taskId, t.status, t.code]), [[taskId, 'Failed', 'ResourceNotFound']]);
    } finally {
      await stack.close();
    }
  });
});
