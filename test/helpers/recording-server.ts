import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ScriptedAnswer {
  status: number;
  type?: string;
  body?: string;
  headers?: Record<string, string>;
}

/**
 * A loopback HTTP server that records every request and answers from a script (the next queued answers, then the
 * default one): for checking what a client sends and how it reads each kind of answer, without the real service.
 */
export async function startRecordingServer() {
  const requests: RecordedRequest[] = [];
  const queued: ScriptedAnswer[] = [];
  let fallback: ScriptedAnswer = { status: 200, type: 'application/json', body: '{}' };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = queued.shift() ?? fallback;
      res.writeHead(answer.status, { ...(answer.type ? { 'content-type': answer.type } : {}), 'x-oss-request-id': 'REQ', ...answer.headers });
      res.end(req.method === 'HEAD' ? undefined : answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    /** Answers every later request with this (until changed). */
    answerAlways(answer: ScriptedAnswer) {
      fallback = answer;
    },
    /** Answers the next requests with these, in order. */
    answerNext(...answers: ScriptedAnswer[]) {
      queued.push(...answers);
    },
    reset() {
      requests.length = 0;
      queued.length = 0;
      fallback = { status: 200, type: 'application/json', body: '{}' };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
