import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { startStack } from '../local/stack';
import { parseCompletionEvent } from '../shared/events/completion';
import { ROOT } from './helpers/cli';
import { startRecordingServer } from './helpers/recording-server';
import { startTestStack, type TestStack } from './helpers/stack';

/** s.yaml's vars.localEventSubscribers: endpoints of the user's own app that the local stack subscribes to the events topic. */

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'local-event-subscribers-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The repository's s.yaml with vars.localEventSubscribers set, in a folder of its own (the bundles stay the repository's). */
async function specWithSubscribers(name: string, subscribers: unknown): Promise<string> {
  const doc = parseDocument(await readFile(path.join(ROOT, 's.yaml'), 'utf8'));
  doc.setIn(['vars', 'localEventSubscribers'], doc.createNode(subscribers));
  for (const fn of ['submit', 'record', 'reconcile']) doc.setIn(['resources', fn, 'props', 'code'], path.join(ROOT, 'dist', fn));
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(file, doc.toString());
  return file;
}

describe('vars.localEventSubscribers', () => {
  let stack: TestStack;
  let app: Awaited<ReturnType<typeof startRecordingServer>>;
  before(async () => {
    app = await startRecordingServer();
    app.answerAlways({ status: 204 });
    stack = await startTestStack({ specFile: await specWithSubscribers('one-endpoint', [`http://127.0.0.1:${app.port}/events?token=abc`]), imm: { conversion: 'fast' } });
  });
  after(async () => {
    await stack?.stop();
    await app?.close();
  });

  it('an endpoint named in s.yaml receives the completion event of an upload, as MNS pushes it', async () => {
    await stack.client.put('videos/subscribed.mp4', await stack.sampleVideo(1));
    await stack.idle();
    await stack.mns.idle();
    assert.equal(app.requests.length, 1, app.requests.map((r) => r.body).join('\n'));
    const push = app.requests[0]!;
    assert.equal(push.method, 'POST');
    assert.equal(push.url, '/events?token=abc');
    assert.equal(push.headers['content-type'], 'text/xml;charset=utf-8');
    assert.ok(push.headers['x-mns-signing-cert-url'] && push.headers['authorization'], 'signed as MNS signs its pushes');
    assert.match(push.body, /<TopicName>video-animation-events<\/TopicName>/);
    const message = /<Message>([\s\S]*)<\/Message>/.exec(push.body)?.[1] ?? '';
    const event = parseCompletionEvent(JSON.parse(message.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')));
    assert.equal(event.type, 'video-animation.job.succeeded');
    assert.equal(event.subject, 'videos/subscribed.mp4');
  });
});

describe('vars.localEventSubscribers refused before anything starts', () => {
  it('an entry that is not an http(s) URL names the field and the entry', async () => {
    const file = await specWithSubscribers('bad', ['http://127.0.0.1:8080/events', 'ftp://example.com/x']);
    await assert.rejects(startStack({ specFile: file, build: false, ossStorage: 'memory', dataDir: path.join(dir, 'bad-data') }), /^SpecError: s\.yaml vars\.localEventSubscribers\[1\]: must be an http:\/\/ or https:\/\/ URL of your endpoint/);
  });

  it('subscribers with events off name the setting to change', async () => {
    const file = await specWithSubscribers('events-off', ['http://127.0.0.1:8080/events']);
    await assert.rejects(
      startStack({ specFile: file, specEnv: { EVENTS: 'false' }, build: false, ossStorage: 'memory', dataDir: path.join(dir, 'off-data') }),
      /s\.yaml vars\.localEventSubscribers \(or eventEndpoints\) name endpoints, but no function has an EVENTS_TOPIC: set vars\.events to 'true'/,
    );
  });
});
