/**
 * A small closed-loop HTTP/1.1 keep-alive load client on raw sockets, for tests that must count
 * every request exactly (autocannon cannot: it counts errors per connection and forgets a request whose socket got a FIN).
 *
 * Each connection writes one request, reads its response (Content-Length bodies only), then
 * writes the next one on the same socket. It reconnects when a response carries
 * `Connection: close` (or the server closes an idle socket), and stops when a connect is
 * refused. Every request carries `x-zerodrop-id: <prefix>-<conn>-<seq>`; the echo is checked.
 *
 * Accounting (each written request ends in exactly one of answered / failed):
 *   written   requests whose bytes were handed to a connected socket
 *   answered  complete responses (byStatus splits them by status code)
 *   failed    written requests with no complete response: reset, closed, timeout, bad response
 *   refused   connects refused before anything was written (safe to retry, nothing lost)
 *
 * Bounded: no request is written after `durationMs`; every request times out after
 * `requestTimeoutMs`; `done` resolves once every connection has ended.
 */
import net, { type Socket } from 'node:net';

export interface LoadRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export interface LoadOptions {
  host?: string;
  port: number;
  connections: number;
  /** No request is written after this (from start). */
  durationMs: number;
  /** A written request with no complete response after this fails with reason "timeout". Default 5000. */
  requestTimeoutMs?: number;
  idPrefix?: string;
  /** What each request is; default GET /. */
  request?: (connection: number, seq: number) => LoadRequest;
}

export interface LoadFailure {
  id: string;
  connection: number;
  reason: string;
  /** ms since the load started. */
  atMs: number;
}

export interface LoadCounts {
  written: number;
  answered: number;
  failed: number;
  refused: number;
  connects: number;
  /** Responses that carried Connection: close. */
  closeResponses: number;
  /** Responses whose x-zerodrop-id was missing or not the request's. */
  idMismatches: number;
  /** Bytes after a complete response that no request asked for. */
  protocolErrors: number;
}

export interface LoadResult extends LoadCounts {
  byStatus: Record<string, number>;
  failureReasons: Record<string, number>;
  /** The first 50 failures. */
  failures: LoadFailure[];
  /** Connect errors other than ECONNREFUSED, by code. */
  connectErrors: Record<string, number>;
  /** x-served-by of the responses. */
  servedBy: Record<string, number>;
  maxLatencyMs: number;
  elapsedMs: number;
}

export interface LoadRun {
  done: Promise<LoadResult>;
  /** Live counters. */
  counts(): LoadCounts;
  /** Stop writing new requests now (in-flight ones still complete or time out). */
  stop(): void;
}

const HEADER_END = Buffer.from('\r\n\r\n');

interface Pending {
  id: string;
  sentAt: number;
  timer: NodeJS.Timeout;
}

export function startLoad(options: LoadOptions): LoadRun {
  const host = options.host ?? '127.0.0.1';
  const requestTimeoutMs = options.requestTimeoutMs ?? 5000;
  const prefix = options.idPrefix ?? 'load';
  const makeRequest = options.request ?? ((): LoadRequest => ({ method: 'GET', path: '/' }));
  const t0 = performance.now();
  const deadline = t0 + options.durationMs;
  let stopped = false;

  const counts: LoadCounts = {
    written: 0,
    answered: 0,
    failed: 0,
    refused: 0,
    connects: 0,
    closeResponses: 0,
    idMismatches: 0,
    protocolErrors: 0,
  };
  const byStatus: Record<string, number> = {};
  const failureReasons: Record<string, number> = {};
  const failures: LoadFailure[] = [];
  const connectErrors: Record<string, number> = {};
  const servedBy: Record<string, number> = {};
  let maxLatencyMs = 0;

  const bump = (m: Record<string, number>, k: string): void => {
    m[k] = (m[k] ?? 0) + 1;
  };
  const running = (): boolean => !stopped && performance.now() < deadline;

  const runConnection = (index: number): Promise<void> =>
    new Promise((resolveConn) => {
      let seq = 0;
      let ended = false;
      const finish = (): void => {
        if (!ended) {
          ended = true;
          resolveConn();
        }
      };

      const open = (): void => {
        if (!running()) {
          finish();
          return;
        }
        const socket: Socket = net.connect({ host, port: options.port });
        socket.setNoDelay(true);
        let connected = false;
        let pending: Pending | null = null;
        let buf: Buffer = Buffer.alloc(0);
        let lastError: string | null = null;

        const fail = (reason: string): void => {
          if (pending === null) return;
          clearTimeout(pending.timer);
          counts.failed++;
          bump(failureReasons, reason);
          if (failures.length < 50) failures.push({ id: pending.id, connection: index, reason, atMs: performance.now() - t0 });
          pending = null;
        };

        const sendNext = (): void => {
          if (!running()) {
            socket.end();
            return;
          }
          const r = makeRequest(index, seq);
          const id = `${prefix}-${index}-${seq}`;
          seq++;
          const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
          let head = `${r.method} ${r.path} HTTP/1.1\r\nhost: ${host}:${options.port}\r\nx-zerodrop-id: ${id}\r\n`;
          for (const [k, v] of Object.entries(r.headers ?? {})) head += `${k}: ${v}\r\n`;
          if (body !== undefined) head += `content-length: ${body.length}\r\n`;
          head += '\r\n';
          const timer = setTimeout(() => {
            fail('timeout');
            socket.destroy();
          }, requestTimeoutMs);
          pending = { id, sentAt: performance.now(), timer };
          counts.written++;
          socket.write(body === undefined ? head : Buffer.concat([Buffer.from(head), body]));
        };

        const onResponse = (status: number, headers: Map<string, string>, extra: number): void => {
          const p = pending;
          if (p === null) {
            counts.protocolErrors++;
            return;
          }
          clearTimeout(p.timer);
          pending = null;
          counts.answered++;
          bump(byStatus, String(status));
          const latency = performance.now() - p.sentAt;
          if (latency > maxLatencyMs) maxLatencyMs = latency;
          if (headers.get('x-zerodrop-id') !== p.id) counts.idMismatches++;
          bump(servedBy, headers.get('x-served-by') ?? '(none)');
          if (extra > 0) counts.protocolErrors++;
          if ((headers.get('connection') ?? '').toLowerCase() === 'close') {
            counts.closeResponses++;
            socket.destroy(); // 'close' reconnects
            return;
          }
          sendNext();
        };

        const parse = (): void => {
          const headEnd = buf.indexOf(HEADER_END);
          if (headEnd === -1) return;
          const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
          const status = Number((lines[0] ?? '').split(' ')[1]);
          const headers = new Map<string, string>();
          for (const line of lines.slice(1)) {
            const c = line.indexOf(':');
            if (c > 0) headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
          }
          const cl = headers.get('content-length');
          if (cl === undefined || !Number.isInteger(status)) {
            fail(cl === undefined ? 'response-without-content-length' : 'bad-status-line');
            socket.destroy();
            return;
          }
          const total = headEnd + 4 + Number(cl);
          if (buf.length < total) return;
          const extra = buf.length - total;
          buf = Buffer.alloc(0);
          onResponse(status, headers, extra);
        };

        socket.on('connect', () => {
          connected = true;
          counts.connects++;
          sendNext();
        });
        socket.on('data', (chunk: Buffer) => {
          buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
          parse();
        });
        socket.on('error', (err: NodeJS.ErrnoException) => {
          lastError = err.code ?? err.message;
        });
        socket.on('close', () => {
          if (!connected) {
            if (lastError === 'ECONNREFUSED') counts.refused++;
            else bump(connectErrors, lastError ?? 'closed-before-connect');
            finish(); // stop this connection: the listener is gone
            return;
          }
          if (pending !== null) fail(lastError ?? (buf.length > 0 ? 'closed-mid-response' : 'closed-before-response'));
          open(); // reconnect (after Connection: close, or an idle socket the server closed)
        });
      };
      open();
    });

  const done = Promise.all(Array.from({ length: options.connections }, (_, i) => runConnection(i))).then((): LoadResult => ({
    ...counts,
    byStatus,
    failureReasons,
    failures,
    connectErrors,
    servedBy,
    maxLatencyMs,
    elapsedMs: performance.now() - t0,
  }));
  return {
    done,
    counts: () => ({ ...counts }),
    stop: () => {
      stopped = true;
    },
  };
}

/** Resolves once `predicate(counts)` holds, polling every 5 ms; rejects after timeoutMs. */
export async function waitForCounts(run: LoadRun, predicate: (c: LoadCounts) => boolean, timeoutMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (!predicate(run.counts())) {
    if (performance.now() > until) throw new Error(`load counts did not reach the condition in ${timeoutMs} ms: ${JSON.stringify(run.counts())}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
