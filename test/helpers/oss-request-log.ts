import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

const now = () => performance.timeOrigin + performance.now();

/** One request a function made to OSS, as the proxy in front of the local OSS saw it (times: epoch ms with fractions, comparable with Date.now()). */
export interface OssRequest {
  method: string;
  url: string;
  /** Sent with `x-oss-forbid-overwrite: true` (a create-only write). */
  createOnly: boolean;
  status?: number;
  startedAt: number;
  endedAt?: number;
}

export interface OssRequestLog {
  /** Give the functions this as OSS_ENDPOINT (`functionEnv`); requests go on to the OSS bound with `forwardTo`. */
  endpoint: string;
  forwardTo(upstreamPort: number): void;
  requests(): OssRequest[];
  /**
   * Holds the first request that matches until `release()` (the request is forwarded then): keeps the invocation
   * that sent it alive and waiting, at a known point. `arrived` resolves when that request comes.
   */
  hold(matches: (request: OssRequest) => boolean): { arrived: Promise<OssRequest>; release(): void };
  close(): Promise<void>;
}

/**
 * A recording proxy between the functions and the local OSS: every request with its start and end, so tests and
 * the bench count requests and sequential rounds. Only the functions use it (the stack's own clients and the local
 * IMM talk to the OSS directly).
 */
export async function startOssRequestLog(): Promise<OssRequestLog> {
  let upstreamPort: number | undefined;
  const log: OssRequest[] = [];
  const holds: { matches: (r: OssRequest) => boolean; arrived: (r: OssRequest) => void; released: Promise<void> }[] = [];
  const server = http.createServer((request, response) => {
    const entry: OssRequest = {
      method: request.method ?? 'GET',
      url: request.url ?? '/',
      createOnly: request.headers['x-oss-forbid-overwrite'] === 'true',
      startedAt: now(),
    };
    log.push(entry);
    const holdIndex = holds.findIndex((h) => h.matches(entry));
    const hold = holdIndex >= 0 ? holds.splice(holdIndex, 1)[0] : undefined;
    hold?.arrived(entry);
    void (hold?.released ?? Promise.resolve()).then(() => {
      if (upstreamPort === undefined) throw new Error('startOssRequestLog: forwardTo() was never called');
      const upstream = http.request({ host: '127.0.0.1', port: upstreamPort, method: request.method, path: request.url, headers: request.headers }, (answer) => {
        entry.status = answer.statusCode;
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
        answer.on('end', () => (entry.endedAt = now()));
      });
      upstream.on('error', () => response.destroy());
      request.pipe(upstream);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    forwardTo: (p) => (upstreamPort = p),
    requests: () => [...log],
    hold(matches) {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let arrived!: (r: OssRequest) => void;
      const arrival = new Promise<OssRequest>((resolve) => (arrived = resolve));
      holds.push({ matches, arrived, released });
      return { arrived: arrival, release };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Sequential rounds: the longest chain of requests each of which started only after the one before it had ended
 * (requests that overlap went out together and count as one round).
 */
export function sequentialRounds(requests: readonly OssRequest[]): number {
  return longestChain(requests).length;
}

/** The requests of that longest chain, in order. */
export function longestChain(requests: readonly OssRequest[]): OssRequest[] {
  const ordered = [...requests].sort((a, b) => a.startedAt - b.startedAt);
  const length: number[] = [];
  const previous: (number | undefined)[] = [];
  ordered.forEach((request, i) => {
    let best: number | undefined;
    for (let j = 0; j < i; j++) {
      const before = ordered[j]!;
      if (before.endedAt !== undefined && before.endedAt <= request.startedAt && (best === undefined || length[j]! > length[best]!)) best = j;
    }
    length.push(best === undefined ? 1 : length[best]! + 1);
    previous.push(best);
  });
  if (ordered.length === 0) return [];
  const chain: OssRequest[] = [];
  for (let i: number | undefined = length.indexOf(Math.max(...length)); i !== undefined; i = previous[i]) chain.unshift(ordered[i]!);
  return chain;
}

/** The requests that started within an invocation's run (its startedAt and endedAt). */
export function requestsWithin(requests: readonly OssRequest[], from: number, to: number): OssRequest[] {
  return requests.filter((r) => r.startedAt >= from && r.startedAt <= to);
}
