/**
 * The proxy's request state machine: one Exchange per downstream request, one Attempt per try on
 * a replica (exchange.ts), through the raw client (raw-client.ts) or undici (undici-client.ts).
 *
 * One request's life:
 *   'request' → Exchange (headers filtered once, body buffered so it can be replayed; for the raw
 *     client the request head is serialized here, once, and shared by every retry)
 *     → Attempt on the next replica in round-robin (RawPool.dispatch, or undici pool.dispatch with
 *       the Attempt as handler)
 *       → response: buffered up to responseBufferBytes then written in one go, or streamed
 *       → failure: retried on a replica not tried yet when the rules allow (method, whether the
 *         request was sent, budget), else 502/504 with x-zerodrop-error.
 *
 * Hot-path rules: no closures, promises or streams per request (two closures for a request with
 * a body); nothing added to node:http's objects (client aborts are watched on the connection);
 * counters are plain numbers and typed arrays (metrics.ts reads them at scrape time); per-try
 * timeouts are one FIFO list swept by one timer (every attempt has the same timeout, so the list
 * is sorted by deadline); the raw client's idle expiry and body stalls, one more sweep.
 * docs/architecture.md, "Data planes".
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { Clock } from '../../../common/src/clock.js';
import { errorCode, errorMessage } from '../../../common/src/errors.js';
import { latin1 } from '../../../common/src/http1-parser.js';
import { DEFAULT_BODY_TIMEOUT_MS, DEFAULT_RESPONSE_BUFFER_BYTES } from './config.js';
import type { EndpointAdmin } from './endpoint-admin.js';
import type { Endpoint, EndpointTable, UpstreamPool } from './endpoints.js';
import { Attempt, Exchange, RECEIVING, SETTLED, WAITING, kClient, onReqData, onReqEnd, unlinkClient } from './exchange.js';
import type { AttemptClass, ExchangeHost, XSocket } from './exchange.js';
import { OUT_CONNECT_ERROR, OUT_OTHER, OUT_RESET, OUT_RESPONSE, OUT_TIMEOUT, outcomeIndex, classifyUpstreamError, mayRetry } from './http-semantics.js';
import { UPGRADE_REQUESTED, findHeader, readRequestHead } from './downstream.js';
import { IdAttestor } from './id-attestation.js';
import { DurationCounter } from './metrics.js';
import { READ_BUFFER_BYTES, RawAttempt, createRawPool, prepareRawRequest } from './raw-client.js';
import { RawPool } from './raw-upstream.js';
import type { RawSink } from './raw-upstream.js';
import { DEFAULT_UPSTREAM_CLIENT, FAILED_TRY_LOG_MAX, PROXY_HEADERS } from './types.js';
import type { FailedTry, ProxyConfig, RetryReason, UpstreamOutcome } from './types.js';
import { ControllerAttempt, UndiciAttempt, createUndiciPool, undiciForwardedHeaders, undiciRequest } from './undici-client.js';

/** Buffered bodies up to this size are written together with the response head (see onAttemptComplete). */
const SINGLE_WRITE_MAX = 16 * 1024;

/** With upstream.client 'undici' only, its handler style (see ServiceProxyOptions). */
export type UndiciHandlerApi = 'legacy' | 'controller';

export class RequestPath implements RawSink<RawAttempt>, ExchangeHost {
  private readonly AttemptClass: AttemptClass;
  /** The raw upstream client (else undici). */
  private readonly raw: boolean;
  private readonly readBuffer: Buffer | null;
  /** The admin's drains waiting for in-flight requests (the same map: checked on every release). */
  private readonly drainWaiters: Map<Endpoint, Array<() => void>>;
  private sweepTimer: NodeJS.Timeout | null = null;
  private maintainTimer: NodeJS.Timeout | null = null;
  private lastMaintain = 0;

  // counters (plain numbers: metrics.ts reads them at scrape time, the proxy's stats() too)
  received = 0;
  inFlight = 0;
  clientAborts = 0;
  malformed = 0;
  readonly responded = new Float64Array(600);
  readonly retries: Record<RetryReason, number> = { connect_error: 0, reset: 0, timeout: 0 };
  retryBudgetExhausted = 0;
  savedByRetry = 0;
  /** x-zerodrop-id for a service that does not echo it (id-attestation.ts). */
  readonly ids: IdAttestor;
  private retriesInFlight = 0;
  /** Every failed try (connect error, reset, per-try timeout): which replica, when. */
  readonly failed: FailedTry[] = [];
  failedDropped = 0;
  readonly durations = new DurationCounter();

  // per-try timeouts
  private toHead: Attempt | null = null;
  private toTail: Attempt | null = null;

  private readonly perTryMs: number;
  private readonly bufferLimit: number;
  private readonly maxAttempts: number;
  private readonly retriesEnabled: boolean;
  private readonly budgetMin: number;
  private readonly budgetRatio: number;
  /** The proxy is closing: every answer carries Connection: close. */
  closing = false;
  /** Called (and cleared) when the last in-flight request ends. */
  idleWaiters: Array<() => void> = [];

  constructor(
    readonly config: ProxyConfig,
    private readonly table: EndpointTable,
    private readonly admin: EndpointAdmin,
    handlerApi: UndiciHandlerApi | undefined,
    private readonly clock: Clock,
  ) {
    this.raw = (config.upstream.client ?? DEFAULT_UPSTREAM_CLIENT) === 'raw';
    this.AttemptClass = this.raw ? RawAttempt : handlerApi === 'controller' ? ControllerAttempt : UndiciAttempt;
    this.readBuffer = this.raw ? Buffer.allocUnsafe(READ_BUFFER_BYTES) : null;
    this.perTryMs = config.retries.perTryTimeoutMs;
    this.bufferLimit = config.upstream.responseBufferBytes ?? DEFAULT_RESPONSE_BUFFER_BYTES;
    this.maxAttempts = config.retries.maxAttempts;
    this.retriesEnabled = config.retries.enabled;
    this.budgetMin = config.retries.budgetMinConcurrency;
    this.budgetRatio = config.retries.budgetRatio;
    this.ids = new IdAttestor(config.ids);
    this.drainWaiters = admin.drainWaiters;
  }

  /** The per-try timeout sweep, and the raw client's maintenance sweep. */
  startTimers(): void {
    const tick = Math.max(2, Math.min(50, Math.floor(this.perTryMs / 20)));
    this.sweepTimer = setInterval(this.sweep, tick);
    this.sweepTimer.unref();
    if (this.raw) {
      // Idle expiry and body stalls of the raw client's connections: one timer for all of them.
      const u = this.config.upstream;
      const every = Math.max(10, Math.min(250, Math.floor(u.keepAliveTimeoutMs / 4), Math.floor((u.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS) / 4)));
      this.lastMaintain = performance.now();
      this.maintainTimer = setInterval(this.maintain, every);
      this.maintainTimer.unref();
    }
  }

  stopTimers(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    if (this.maintainTimer) clearInterval(this.maintainTimer);
    this.maintainTimer = null;
  }

  createPool(ep: Endpoint): UpstreamPool {
    const u = this.config.upstream;
    if (this.raw) return createRawPool(ep, u, this.readBuffer as Buffer, this);
    return createUndiciPool(ep, u, this.perTryMs);
  }

  onRequest(req: IncomingMessage, res: ServerResponse): void {
    this.received++;
    this.inFlight++;
    const x = new Exchange(this, req, res);
    const c = (req.socket as XSocket)[kClient];
    if (c !== undefined) {
      x.client = c;
      const h = c.head;
      x.cnext = h;
      if (h !== null) h.cprev = x;
      c.head = x;
    }

    // Origin-form only: this is a reverse proxy for its own replicas, never an open proxy
    // (absolute-form "GET http://elsewhere/" and asterisk-form are refused; CONNECT: onConnectMethod).
    if (x.path.charCodeAt(0) !== 0x2f) {
      this.respondLocal(x, 400, 'bad_request_target', null, false);
      return;
    }

    const declared = readRequestHead(x, this.raw);
    if (declared === UPGRADE_REQUESTED) {
      this.respondLocal(x, 501, 'upgrade_not_supported', null, false);
      return;
    }
    if (declared > this.config.maxBodyBytes) {
      this.respondLocal(x, 413, 'body_too_large', null, true);
      return;
    }
    if (x.bodyChunks === null) {
      this.begin(x);
      return;
    }
    req.on('data', (chunk: Buffer) => onReqData(x, chunk));
    req.on('end', () => onReqEnd(x));
  }

  /** The request is complete (body buffered): first attempt. */
  begin(x: Exchange): void {
    if (x.finished) return;
    if (this.raw) prepareRawRequest(x);
    else x.opts = undiciRequest(x, this.config.upstream.pipelining);
    const ep = this.table.pick(null);
    if (ep === null) {
      this.respondLocal(x, 503, 'no_endpoints', null, false);
      return;
    }
    this.dispatch(x, ep, false);
  }

  private dispatch(x: Exchange, ep: Endpoint, retry: boolean): void {
    const pool = ep.pool;
    const a = new this.AttemptClass(this, x, ep, retry);
    x.tries++;
    if (x.first === null) x.first = ep;
    else if (x.tried === null) x.tried = [x.first, ep];
    else x.tried.push(ep);
    x.current = a;
    ep.inFlight++;
    if (retry) this.retriesInFlight++;
    // per-try timeout: append (deadlines are monotonic, the list stays sorted)
    const now = performance.now();
    a.deadline = now + this.perTryMs;
    a.listed = true;
    const tail = this.toTail;
    a.prev = tail;
    if (tail === null) this.toHead = a;
    else tail.next = a;
    this.toTail = a;
    if (pool === null) {
      // Removed between pick and dispatch (cannot happen synchronously, kept for safety).
      this.onAttemptError(a, Object.assign(new Error('endpoint has no pool'), { code: 'UND_ERR_DESTROYED' }));
      return;
    }
    if (this.raw) {
      const ra = a as RawAttempt;
      ra.pool = pool as RawPool<RawAttempt>;
      ra.pool.dispatch(ra, now);
    } else {
      (pool as Pool).dispatch(x.opts as Dispatcher.DispatchOptions, a as UndiciAttempt);
    }
  }

  private unlist(a: Attempt): void {
    if (!a.listed) return;
    a.listed = false;
    const { prev, next } = a;
    if (prev === null) this.toHead = next;
    else prev.next = next;
    if (next === null) this.toTail = prev;
    else next.prev = prev;
    a.prev = null;
    a.next = null;
  }

  private readonly sweep = (): void => {
    const now = performance.now();
    let a: Attempt | null;
    while ((a = this.toHead) !== null && a.deadline <= now) {
      this.unlist(a);
      this.onAttemptTimeout(a);
    }
  };

  /** The raw client's sweep: idle connections past their limit, stalled bodies. */
  private readonly maintain = (): void => {
    const now = performance.now();
    const elapsed = now - this.lastMaintain;
    this.lastMaintain = now;
    for (const ep of this.table.all()) {
      const pool = ep.pool;
      if (pool instanceof RawPool) pool.maintain(now, elapsed);
    }
  };

  private onAttemptTimeout(a: Attempt): void {
    if (a.phase !== WAITING) return;
    this.settle(a, OUT_TIMEOUT);
    // Abort it: the socket is destroyed (a hung replica will not answer on it anyway); one still
    // waiting for a connection is taken off the queue (raw) or aborted once it gets one (undici).
    a.abort(perTryTimeoutError(this.perTryMs));
    // Part of the head had arrived (raw client): the replica answered, so it is not replayed.
    if (a.rawAnswered) this.answeredThenCut(a, 'timeout');
    else this.afterFailure(a, 'timeout');
  }

  /** Outcome bookkeeping, exactly once per attempt. */
  private settle(a: Attempt, outcomeIdx: number): void {
    a.phase = SETTLED;
    const ep = a.ep;
    ep.attempts[outcomeIdx] = (ep.attempts[outcomeIdx] as number) + 1;
    if (a.retry) this.retriesInFlight--;
    if (outcomeIdx === OUT_CONNECT_ERROR || outcomeIdx === OUT_RESET || outcomeIdx === OUT_TIMEOUT) this.table.recordFailure(ep);
    if (a.x.current === a) a.x.current = null;
  }

  /** The client is done with the attempt: release the endpoint's in-flight slot. */
  private release(a: Attempt): void {
    if (a.released) return;
    a.released = true;
    const ep = a.ep;
    if (--ep.inFlight === 0 && this.drainWaiters.has(ep)) this.admin.releaseDrainWaiters(ep);
  }

  /** A failed attempt: retry on another replica when allowed, else answer with the error. */
  private afterFailure(a: Attempt, outcome: UpstreamOutcome, err?: unknown): void {
    const x = a.x;
    if (x.finished) return;
    if (outcome === 'other_error' && errorCode(err) === 'UND_ERR_INVALID_ARG') {
      this.respondLocal(x, 400, 'bad_request', a.ep, false);
      return;
    }
    if (outcome === 'connect_error' || outcome === 'reset' || outcome === 'timeout') {
      if (this.failed.length < FAILED_TRY_LOG_MAX) this.failed.push({ t: this.clock.now(), replica: a.ep.id, reason: outcome, count: 1 });
      else this.failedDropped++;
    }
    if (this.retriesEnabled && x.tries < this.maxAttempts && mayRetry(outcome, a.sent, x.idempotent)) {
      const next = this.table.pick(x.tried ?? (x.first === null ? null : [x.first]));
      if (next !== null) {
        if (this.retriesInFlight < Math.max(this.budgetMin, this.budgetRatio * this.inFlight)) {
          this.retries[outcome as RetryReason]++;
          this.dispatch(x, next, true);
          return;
        }
        this.retryBudgetExhausted++;
      }
    }
    this.respondLocal(x, outcome === 'timeout' ? 504 : 502, outcome, a.ep, false);
  }

  // ---- the clients' callbacks: undici (raw header buffers) and raw (RawSink) ----

  /** undici: response head as raw buffers (1xx included). */
  onAttemptHeaders(a: Attempt, status: number, raw: Buffer[]): boolean {
    if (status < 200) return true; // 1xx: not forwarded (we answered any 100-continue ourselves)
    if (!this.headersArrived(a, status)) return true;
    const headers = undiciForwardedHeaders(a, status, raw);
    this.headersReady(a, status, headers, a.hasLength, a.closeDelimited);
    return true;
  }

  onRawSent(a: RawAttempt): void {
    a.sent = true;
  }

  /** raw: the final head, hop-by-hop headers already removed. */
  onRawHeaders(a: RawAttempt, status: number, headers: string[], hasLength: boolean, closeDelimited: boolean): void {
    if (this.headersArrived(a, status)) this.headersReady(a, status, headers, hasLength, closeDelimited);
  }

  onRawData(a: RawAttempt, chunk: Buffer): boolean {
    return this.onAttemptData(a, chunk);
  }

  onRawComplete(a: RawAttempt, b: Buffer | null, s: number, e: number): void {
    this.onAttemptComplete(a, b, s, e);
  }

  onRawError(a: RawAttempt, err: Error): void {
    this.onAttemptError(a, err);
  }

  /** Response headers arrived: counted, off the per-try timeout list. false = nothing to forward them to. */
  private headersArrived(a: Attempt, status: number): boolean {
    if (a.phase !== WAITING) return false; // timed out meanwhile: ignore what comes
    this.unlist(a);
    a.phase = RECEIVING;
    const ep = a.ep;
    if (status < 600) ep.responses[status] = (ep.responses[status] as number) + 1;
    this.table.recordResponse(ep);
    if (a.x.finished) {
      a.discard = true;
      return false;
    }
    return true;
  }

  private headersReady(a: Attempt, status: number, headers: string[], hasLength: boolean, closeDelimited: boolean): void {
    a.status = status;
    a.hasLength = hasLength;
    a.closeDelimited = closeDelimited;
    a.resHeaders = headers;
    const x = a.x;
    if (!this.ids.passive) this.ids.onResponse(status, x.req.rawHeaders, headers);
    if (x.tries > 1) headers.push(PROXY_HEADERS.attempts, String(x.tries));
    if (this.closing) headers.push('connection', 'close');
    if (this.bufferLimit === 0) this.startStreaming(a);
  }

  /** Headers go downstream now; from here on the attempt can no longer be retried. */
  private startStreaming(a: Attempt): boolean {
    const x = a.x;
    const res = x.res;
    a.streaming = true;
    if (a.closeDelimited) closeFramed(res);
    try {
      res.writeHead(a.status, a.resHeaders as string[]);
    } catch (err) {
      this.badUpstreamResponse(a, err);
      return false;
    }
    this.count(x, a.status);
    const chunks = a.chunks;
    a.chunks = null;
    if (chunks !== null) for (const c of chunks) res.write(c);
    return true;
  }

  /** Body bytes the proxy may keep: buffered up to the limit, then streamed. false = pause the upstream. */
  onAttemptData(a: Attempt, chunk: Buffer): boolean {
    if (a.discard || a.phase !== RECEIVING) return true;
    if (!a.streaming) {
      a.len += chunk.length;
      if (a.len <= this.bufferLimit) {
        if (a.chunks === null) a.chunks = [chunk];
        else a.chunks.push(chunk);
        return true;
      }
      if (!this.startStreaming(a)) return true;
    }
    const res = a.x.res;
    if (res.write(chunk)) return true;
    // Backpressure: the client pauses the upstream until the downstream drained.
    const resume = a.resume;
    if (resume !== null) res.once('drain', resume);
    return false;
  }

  /**
   * The response ended. b[s..e) (b may be null) is its last body piece, not passed to
   * onAttemptData: the raw client hands it over in its read buffer (valid only during the call),
   * so a small body in one read becomes the downstream body without a copy of its own.
   */
  onAttemptComplete(a: Attempt, b: Buffer | null, s: number, e: number): void {
    this.release(a);
    if (a.phase !== RECEIVING) return;
    const x = a.x;
    const tries = x.tries;
    this.settle(a, OUT_RESPONSE);
    if (a.discard || x.finished) return;
    if (tries > 1 && a.status < 500) this.savedByRetry++;
    const res = x.res;
    if (a.streaming) {
      this.finish(x);
      if (b === null) res.end();
      else res.end(copyOf(b, s, e));
      return;
    }
    // The whole body is here: b[s..e) alone (the usual case), or earlier chunks + b[s..e).
    let len = a.len;
    let one: Buffer | null = null;
    let os = 0;
    let oe = 0;
    const chunks = a.chunks;
    if (chunks === null) {
      if (b !== null) {
        one = b;
        os = s;
        oe = e;
        len = e - s;
      }
    } else {
      if (b !== null) {
        chunks.push(copyOf(b, s, e));
        len += e - s;
      }
      one = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, len);
      oe = one.length;
    }
    const headers = a.resHeaders as string[];
    // A chunked upstream response was de-chunked: give it a length (we have it all).
    // One delimited by the upstream's close is forwarded close-delimited: a length computed from
    // whatever arrived before the FIN would pass a truncated body off as a whole one.
    if (a.closeDelimited) closeFramed(res);
    else if (!a.hasLength && a.status !== 204 && a.status !== 304 && !x.isHead) headers.push('content-length', String(len));
    try {
      res.writeHead(a.status, headers);
    } catch (err) {
      this.badUpstreamResponse(a, err);
      return;
    }
    this.count(x, a.status);
    this.finish(x);
    if (one === null || len === 0) res.end();
    // A small body as a latin1 string (byte for byte) is concatenated to the header by node:http
    // and leaves in one write(); a Buffer goes through writev([header, body]): measurably dearer.
    else if (len <= SINGLE_WRITE_MAX) res.end(latin1(one, os, oe), 'latin1');
    else res.end(one === b ? copyOf(one, os, oe) : one);
  }

  onAttemptError(a: Attempt, err: Error): void {
    this.release(a);
    if (a.phase === SETTLED) return;
    this.unlist(a);
    const x = a.x;
    if (a.phase === RECEIVING) {
      const cut = classifyUpstreamError(err, true) === 'timeout' ? 'timeout' : 'reset';
      this.settle(a, outcomeIndex(cut));
      if (a.streaming) {
        // Headers already went downstream: nothing to retry, nothing to answer. Cut the client
        // connection so it sees a truncated response, not a short complete one.
        if (!x.finished) {
          this.finish(x);
          x.res.destroy();
        }
        return;
      }
      // Buffered, so nothing went downstream yet, but the replica did answer.
      this.answeredThenCut(a, cut);
      return;
    }
    const outcome = classifyUpstreamError(err, a.sent);
    this.settle(a, outcomeIndex(outcome));
    // Cut inside the response head (raw client): the replica answered, so not retried either.
    // A head that does not parse stays other_error (502, no retry), as with undici.
    if (a.rawAnswered && outcome === 'reset') this.answeredThenCut(a, 'reset');
    else this.afterFailure(a, outcome, err);
  }

  /**
   * The replica answered (response bytes arrived) and then reset or stalled: never retried,
   * whatever the method (Envoy's `reset` retry_on stops at the first response byte too).
   * Replaying would hide a replica that cuts its answers short; the client sees 502/504 and the
   * replica is named.
   */
  private answeredThenCut(a: Attempt, cut: 'reset' | 'timeout'): void {
    this.respondLocal(a.x, cut === 'timeout' ? 504 : 502, cut, a.ep, false, 'the replica stopped in the middle of its response');
  }

  private badUpstreamResponse(a: Attempt, err: unknown): void {
    // Headers Node refuses to write (invalid characters): the replica's fault, answered as 502.
    a.discard = true;
    const x = a.x;
    if (!x.res.headersSent) this.respondLocal(x, 502, 'bad_upstream_response', a.ep, false, errorMessage(err));
  }

  /** The client went away before its response ended. */
  onClientGone(x: Exchange): void {
    if (x.finished) return;
    this.clientAborts++;
    x.finished = true;
    unlinkClient(x);
    this.inFlight--;
    if (this.inFlight === 0) this.notifyIdle();
    const a = x.current;
    // A response being streamed is aborted (it cannot be delivered; don't pull the rest). An
    // attempt still waiting is left to finish so the replica's answer is counted as it really was.
    if (a !== null && a.phase === RECEIVING && a.streaming) {
      this.settle(a, OUT_OTHER);
      a.abort(new Error('client went away'));
    }
  }

  /** A response the proxy writes itself (errors, refusals). */
  respondLocal(x: Exchange, status: number, reason: string, ep: Endpoint | null, close: boolean, detail?: string): void {
    if (x.finished) return;
    const res = x.res;
    const headers: string[] = ['content-type', 'text/plain; charset=utf-8', PROXY_HEADERS.error, reason];
    if (ep !== null) headers.push(PROXY_HEADERS.upstream, ep.id);
    if (x.tries > 1) headers.push(PROXY_HEADERS.attempts, String(x.tries));
    const id = findHeader(x.req.rawHeaders, 'x-zerodrop-id');
    if (id !== null) headers.push('x-zerodrop-id', id);
    if (close || this.closing) headers.push('connection', 'close');
    const body = `${status} ${reason}${detail ? `: ${detail}` : ''}\n`;
    headers.push('content-length', String(Buffer.byteLength(body)));
    this.count(x, status);
    this.finish(x);
    res.writeHead(status, headers);
    res.end(x.method === 'HEAD' ? undefined : body);
  }

  count(_x: Exchange, status: number): void {
    if (status < 600) this.responded[status] = (this.responded[status] as number) + 1;
  }

  finish(x: Exchange): void {
    x.finished = true;
    unlinkClient(x);
    this.durations.observe((performance.now() - x.t0) / 1000);
    if (--this.inFlight === 0) this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0) return;
    const list = this.idleWaiters;
    this.idleWaiters = [];
    for (const fn of list) fn();
  }
}

/** A copy of b[s..e) the caller may keep (b may be a shared read buffer). */
function copyOf(b: Buffer, s: number, e: number): Buffer {
  const out = Buffer.allocUnsafe(e - s);
  b.copy(out, 0, s, e);
  return out;
}

function perTryTimeoutError(ms: number): Error {
  return Object.assign(new Error(`no response headers within the per-try timeout (${ms} ms)`), { code: 'ZD_PER_TRY_TIMEOUT' });
}

/**
 * Frames a downstream response by closing the connection after it (no Content-Length, no
 * chunking), as the upstream framed it: node:http then sends `Connection: close` and ends the
 * body with the socket.
 */
function closeFramed(res: ServerResponse): void {
  res.useChunkedEncodingByDefault = false;
  res.shouldKeepAlive = false;
}
