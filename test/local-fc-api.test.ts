import FC, { GetFunctionRequest, InvokeFunctionHeaders, InvokeFunctionRequest, ListTriggersRequest } from '@alicloud/fc20230330';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { RuntimeOptions } from '@darabonba/typescript';
import assert from 'node:assert/strict';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { LocalEndpointsSchema } from '@video-animation/local-cloud';
import { LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, startStack, type Stack } from '../local/stack';

const SPEC = path.join(__dirname, 'fixtures', 'specs', 'timers.yaml');

/** Returns what it got; payload "always-fail" throws (so FC's async retries show). */
const HANDLER = `
exports.handler = async (event, context) => {
  const body = JSON.parse(event.toString('utf8'));
  if (body.payload === 'always-fail') throw new Error('every call fails');
  return { event: body, functionName: context.function.name, requestId: context.requestId };
};
`;

let dir: string;
let stack: Stack;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'local-fc-api-test-'));
  const codeDir = path.join(dir, 'code');
  await mkdir(codeDir);
  await writeFile(path.join(codeDir, 'index.js'), HANDLER);
  stack = await startStack({ specFile: SPEC, specEnv: { CODE_DIR: codeDir }, dataDir: path.join(dir, 'data'), ossStorage: 'memory', build: false, delayScale: 0.001 });
});

after(async () => {
  await stack.close();
  await rm(dir, { recursive: true, force: true });
});

/** The official FC 3.0 client, pointed at the local FC API as the command line points it. */
function fcClient(credentials: { accessKeyId: string; accessKeySecret: string } = LOCAL_CREDENTIALS): FC {
  return new FC(new $OpenApiUtil.Config({ ...credentials, endpoint: stack.fc.endpoint, protocol: 'http', regionId: 'cn-hangzhou' }));
}

async function invoke(functionName: string, event: unknown, invocationType: 'Sync' | 'Async', client = fcClient()) {
  const response = await client.invokeFunctionWithOptions(
    functionName,
    new InvokeFunctionRequest({ body: Readable.from([Buffer.from(JSON.stringify(event))]) }),
    new InvokeFunctionHeaders({ xFcInvocationType: invocationType }),
    new RuntimeOptions({}),
  );
  const chunks: Buffer[] = [];
  for await (const chunk of response.body ?? []) chunks.push(Buffer.from(chunk as Buffer));
  return { statusCode: response.statusCode, headers: response.headers ?? {}, body: Buffer.concat(chunks).toString('utf8') };
}

describe('local FC API (2023-03-30) through the official @alicloud/fc20230330 client', () => {
  test('Async InvokeFunction answers 202 with x-fc-request-id, then runs the function with that request id', async () => {
    const answer = await invoke('timers-ingest', { hello: 'async' }, 'Async');
    assert.equal(answer.statusCode, 202);
    const requestId = answer.headers['x-fc-request-id'];
    assert.ok(requestId);
    await stack.idle();
    const invocation = stack.invocations().find((i) => i.requestId === requestId);
    assert.equal(invocation?.kind, 'async');
    assert.equal(invocation?.ok, true);
    assert.deepEqual((invocation?.result as { event: unknown }).event, { hello: 'async' });
  });

  test("an Async invocation that fails gets FC's retries (maxAsyncRetryAttempts) and ends at onFailure", async () => {
    const answer = await invoke('timers-reconcile', { payload: 'always-fail' }, 'Async');
    assert.equal(answer.statusCode, 202);
    await stack.idle();
    const attempts = stack.invocations().filter((i) => i.requestId === answer.headers['x-fc-request-id']);
    // timers.yaml: maxAsyncRetryAttempts 1, so two attempts in all.
    assert.deepEqual(attempts.map((a) => [a.attempt, a.ok]), [[1, false], [2, false]]);
    assert.equal(stack.failures().filter((f) => f.requestId === answer.headers['x-fc-request-id']).length, 1);
  });

  test("Sync InvokeFunction answers 200 with the function's result; a thrown error is UnhandledInvocationError", async () => {
    const ok = await invoke('timers-ingest', { hello: 'sync' }, 'Sync');
    assert.equal(ok.statusCode, 200);
    const result = JSON.parse(ok.body) as { event: unknown; functionName: string; requestId: string };
    assert.deepEqual(result.event, { hello: 'sync' });
    assert.equal(result.functionName, 'timers-ingest');
    assert.equal(result.requestId, ok.headers['x-fc-request-id']);

    const failed = await invoke('timers-ingest', { payload: 'always-fail' }, 'Sync');
    assert.equal(failed.statusCode, 200);
    assert.equal(failed.headers['x-fc-error-type'], 'UnhandledInvocationError');
    assert.equal((JSON.parse(failed.body) as { errorMessage: string }).errorMessage, 'every call fails');
  });

  test('an unknown function is 404 FunctionNotFound in FC error JSON', async () => {
    await assert.rejects(invoke('no-such-function', {}, 'Async'), (error: { statusCode?: number; code?: string; data?: Record<string, unknown> }) => {
      assert.equal(error.statusCode, 404);
      assert.equal(error.code, 'FunctionNotFound');
      assert.deepEqual(Object.keys(error.data ?? {}).sort(), ['Code', 'Message', 'RequestId']);
      return true;
    });
  });

  test('the ACS3 signature is checked: a wrong secret is 403 SignatureNotMatch, an unknown key 403 InvalidAccessKeyID', async () => {
    const before = stack.invocations().length;
    await assert.rejects(invoke('timers-ingest', {}, 'Async', fcClient({ ...LOCAL_CREDENTIALS, accessKeySecret: 'wrong' })), { statusCode: 403, code: 'SignatureNotMatch' });
    await assert.rejects(invoke('timers-ingest', {}, 'Async', fcClient({ accessKeyId: 'LTAIunknown', accessKeySecret: 'x' })), { statusCode: 403, code: 'InvalidAccessKeyID' });
    await stack.idle();
    assert.equal(stack.invocations().length, before, 'a refused request invokes nothing');
  });

  test('GetFunction and ListTriggers answer the fc20230330 models from s.yaml', async () => {
    const fn = (await fcClient().getFunctionWithOptions('timers-reconcile', new GetFunctionRequest({}), {}, new RuntimeOptions({}))).body;
    assert.equal(fn?.functionName, 'timers-reconcile');
    assert.equal(fn?.functionArn, `acs:fc:cn-hangzhou:${LOCAL_ACCOUNT_ID}:functions/timers-reconcile`);
    assert.equal(fn?.runtime, 'nodejs20');
    assert.equal(fn?.handler, 'index.handler');
    assert.equal(fn?.timeout, 10);
    assert.equal(fn?.state, 'Active');

    const listed = (await fcClient().listTriggersWithOptions('timers-ingest', new ListTriggersRequest({}), {}, new RuntimeOptions({}))).body;
    const oss = listed?.triggers?.find((t) => t.triggerName === 'uploads');
    assert.equal(oss?.triggerType, 'oss');
    assert.equal(oss?.sourceArn, 'acs:oss:cn-hangzhou:1234567890123456:timer-bucket');
    assert.deepEqual(JSON.parse(oss?.triggerConfig ?? '{}'), { events: ['oss:ObjectCreated:PutObject'], filter: { key: { prefix: '', suffix: '' } } });
    const timers = (await fcClient().listTriggersWithOptions('timers-reconcile', new ListTriggersRequest({}), {}, new RuntimeOptions({}))).body;
    assert.deepEqual(
      timers?.triggers?.map((t) => [t.triggerName, t.triggerType, JSON.parse(t.triggerConfig ?? '{}').enable]),
      [
        ['every-ten-minutes', 'timer', true],
        ['nightly', 'timer', false],
      ],
    );
  });

  test('the stack writes its endpoints file for the command line, and close() removes it', async () => {
    const endpoints = LocalEndpointsSchema.parse(JSON.parse(await readFile(stack.endpointsFile, 'utf8')));
    assert.equal(endpoints.fcEndpoint, stack.fc.endpoint);
    assert.equal(endpoints.ossEndpoint, stack.oss.endpoint);
    assert.equal(endpoints.bucket, 'timer-bucket');
    assert.equal(endpoints.pid, process.pid);

    const other = await startStack({ specFile: SPEC, specEnv: { CODE_DIR: path.join(dir, 'code') }, dataDir: path.join(dir, 'other'), build: false });
    await other.close();
    await assert.rejects(access(other.endpointsFile), { code: 'ENOENT' });
  });
});
