/**
 * The raw upstream client (`upstream.client: 'raw'`): per replica, a small pool of keep-alive
 * TCP connections managed by hand, one request at a time per connection (no pipelining), the
 * request head written as one latin1 string, the response parsed by the shared minimal parser
 * (common/http1-parser.ts) straight out of one read buffer shared by every connection.
 *
 * Why not undici: on this box undici's client side cost about twice node:http's server side per
 * request (wasm llhttp with a JS callback per header name and value, request validation, the
 * idle-socket check added in 7.28, a keep-alive timer per idle socket). Here a response costs one
 * pass over its bytes, two strings per forwarded header, and no timer: connect timeouts are the
 * only per-connection timers; idle expiry and body stalls are swept by the proxy's one
 * maintenance timer (maintain()).
 *
 * Contract with the proxy (RawSink), per request: sent() once it is written on a connected socket,
 * then headers() once the final head is in, data() for body bytes that must leave the current
 * read (the body is spread over reads, or the proxy streams), and exactly one of complete() or
 * error(). After error() or complete() the pool never mentions the request again.
 *
 * Keep-alive rules (docs/architecture.md, "The contract", rule 2): a connection idles at most keepAliveTimeoutMs,
 * and less when the replica announces `Keep-Alive: timeout=N` (N s − 1 s, undici's threshold), so
 * the client always gives up an idle connection before the server does; the age is checked when a
 * connection is taken from the idle stack (exact) and by the sweep (cleanup). close() closes idle
 * connections from the client side and busy ones as soon as their response ended: nothing can be
 * racing on them. destroy() fails every request still held, written or not.
 */
import net from 'node:net';
import { FAILED, NEED_MORE, latin1 } from '../../../common/src/http1-parser.js';
import { dropNamed } from './http-semantics.js';
import { UpstreamParser } from './raw-response-parser.js';

/** A request as the pool writes it; built once per downstream request, shared by its retries. */
export interface RawMessage {
  /** `METHOD target HTTP/1.1\r\n` */
  readonly line: string;
  /** The forwarded header lines, Content-Length when needed, and the blank line. */
  readonly rest: string;
  readonly body: Buffer | null;
  /** A HEAD request: the response has no body whatever its headers say. */
  readonly isHead: boolean;
}

/** One try of a request, as the pool sees it (the proxy's RawAttempt). */
export interface RawRequest<R extends RawRequest<R>> {
  readonly x: RawMessage;
  /** Set by the pool: resumes reading after the proxy paused it (downstream backpressure). */
  resume: (() => void) | null;
  rawConn: RawConn<R> | null;
  rawQueued: boolean;
  rawPrev: R | null;
  rawNext: R | null;
  /** Set by the pool before error(): response bytes had arrived (the head may be incomplete). */
  rawAnswered: boolean;
}

/** What the pool reports about each request (implemented by the proxy). */
export interface RawSink<R extends RawRequest<R>> {
  /** The request is being written on a connected socket: from now on the replica may have seen it. */
  onRawSent(r: R): void;
  /**
   * The final response head: status, the headers to forward (hop-by-hop ones removed), whether it
   * had a Content-Length, and whether its body is delimited by the connection's close (no length,
   * not chunked): such a body ends at the FIN, so a truncated one cannot be told from a whole one.
   */
  onRawHeaders(r: R, status: number, headers: string[], hasLength: boolean, closeDelimited: boolean): void;
  /** Body bytes the proxy may keep. false = stop reading until r.resume() is called. */
  onRawData(r: R, chunk: Buffer): boolean;
  /** The response ended; b[s..e) is its last body piece not yet passed to onRawData (b is null if none), valid only during the call. */
  onRawComplete(r: R, b: Buffer | null, s: number, e: number): void;
  /** The request failed (err.code says how: see http-semantics.ts classifyUpstreamError). */
  onRawError(r: R, err: Error): void;
}

export interface RawPoolOptions {
  host: string;
  port: number;
  connections: number;
  connectTimeoutMs: number;
  keepAliveTimeoutMs: number;
  bodyTimeoutMs: number;
  /** Largest response head accepted (undici's and Node's default: 16 KiB). */
  maxHeadBytes: number;
  /** Shared by every connection of the proxy (reads are handled synchronously, one at a time). */
  readBuffer: Buffer;
  /** The replica closed an idle connection before its keep-alive limit (see RawConn.notePeerCloseWhileIdle). */
  onPeerClosedIdle?: () => void;
}

/** Error codes of the raw client (classified in http-semantics.ts). */
export const RAW_ERR = {
  connectTimeout: 'ZD_CONNECT_TIMEOUT',
  /** The replica closed the connection before the response ended. */
  closed: 'ZD_UPSTREAM_CLOSED',
  /** The pool was destroyed (removeEndpoint, proxy destroy) while it held the request. */
  destroyed: 'ZD_UPSTREAM_DESTROYED',
  bodyTimeout: 'ZD_BODY_TIMEOUT',
  /** Not a valid HTTP/1.1 response (never retried, like undici's parser errors). */
  badResponse: 'ZD_BAD_UPSTREAM_RESPONSE',
} as const;

export function rawError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

const CONNECTING = 0;
const BUSY = 1;
const IDLE = 2;
const CLOSED = 3;

/** Keep-Alive: timeout=N is honoured as N s minus this (undici's keepAliveTimeoutThreshold). */
const KEEPALIVE_HINT_MARGIN_MS = 1000;
/** Request bodies up to this size leave in the same write as the head. */
const SINGLE_WRITE_BODY = 16 * 1024;

/** One upstream TCP connection. */
export class RawConn<R extends RawRequest<R>> {
  state = CONNECTING;
  req: R | null = null;
  readonly socket: net.Socket;
  readonly parser: UpstreamParser;
  idleSince = 0;
  idleLimitMs: number;
  /** Reads since it was created (the body-stall sweep compares it between sweeps). */
  reads = 0;
  readsSeen = 0;
  stalledMs = 0;
  paused = false;
  /** Index in the pool's `conns`. */
  slot = -1;
  private connectTimer: NodeJS.Timeout | null = null;
  // the latest body piece, still in the shared read buffer
  private pendB: Buffer | null = null;
  private pendS = 0;
  private pendE = 0;
  readonly resumeFn: () => void;

  constructor(
    private readonly pool: RawPool<R>,
    first: R,
  ) {
    const o = pool.options;
    this.idleLimitMs = o.keepAliveTimeoutMs;
    this.parser = new UpstreamParser(this, o.maxHeadBytes);
    this.req = first;
    first.rawConn = this;
    this.resumeFn = () => this.resume();
    const sock = net.connect({
      host: o.host,
      port: o.port,
      noDelay: true,
      onread: { buffer: o.readBuffer, callback: (n: number, b: Uint8Array) => this.onRead(n, b as Buffer) },
    });
    this.socket = sock;
    sock.once('connect', () => this.onConnect());
    sock.on('end', () => this.onEnd());
    sock.on('error', (err: Error) => this.onSocketError(err));
    sock.on('close', () => this.onClose());
    this.connectTimer = setTimeout(() => this.onConnectTimeout(), o.connectTimeoutMs);
    this.connectTimer.unref();
  }

  private onConnect(): void {
    if (this.connectTimer !== null) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
    if (this.state !== CONNECTING) return;
    const r = this.req;
    if (r === null) {
      // its request was aborted meanwhile: serve the queue, or idle
      this.state = BUSY;
      this.pool.release(this);
      return;
    }
    this.state = BUSY;
    this.write(r);
  }

  private onConnectTimeout(): void {
    this.connectTimer = null;
    if (this.state !== CONNECTING) return;
    const o = this.pool.options;
    this.fail(rawError(RAW_ERR.connectTimeout, `connect to ${o.host}:${o.port} timed out after ${o.connectTimeoutMs} ms`));
  }

  /** Takes request r (the connection is connected and free). */
  assign(r: R): void {
    this.state = BUSY;
    this.req = r;
    r.rawConn = this;
    this.write(r);
  }

  private write(r: R): void {
    r.resume = this.resumeFn;
    this.parser.reset(r.x.isHead);
    this.readsSeen = this.reads;
    this.stalledMs = 0;
    this.pool.sink.onRawSent(r);
    if (this.req !== r) return; // aborted from the callback
    const x = r.x;
    const head = x.line + this.pool.hostLine + x.rest;
    const body = x.body;
    const s = this.socket;
    if (body === null || body.length === 0) s.write(head, 'latin1');
    else if (body.length <= SINGLE_WRITE_BODY) s.write(head + latin1(body, 0, body.length), 'latin1');
    else {
      s.cork();
      s.write(head, 'latin1');
      s.write(body);
      s.uncork();
    }
  }

  private onRead(n: number, b: Buffer): boolean {
    const r = this.req;
    if (r === null || this.state !== BUSY) {
      // Bytes with no request in flight (no pipelining): the replica is out of step.
      this.destroy();
      return false;
    }
    this.reads++;
    const p = this.parser;
    const at = p.execute(b, 0, n);
    if (this.req !== r) return false; // failed (or aborted) while parsing: already reported
    if (at === NEED_MORE) {
      if (this.pendB !== null) this.flush(r);
      if (this.paused) return false;
      return true;
    }
    if (at === FAILED) {
      this.pendB = null;
      this.fail(rawError(RAW_ERR.badResponse, `bad response from ${this.pool.options.host}:${this.pool.options.port}: ${p.error}`));
      return false;
    }
    // complete
    const reuse = at === n && p.keepAlive && this.hintAllowsReuse();
    this.complete(r, reuse);
    return reuse && (this.state as number) !== CLOSED; // (a released connection may be closed already)
  }

  private hintAllowsReuse(): boolean {
    const ka = this.parser.keepAliveTimeoutS;
    if (ka < 0) return true;
    const limit = Math.min(this.pool.options.keepAliveTimeoutMs, ka * 1000 - KEEPALIVE_HINT_MARGIN_MS);
    this.idleLimitMs = limit;
    return limit > 0;
  }

  private complete(r: R, reuse: boolean): void {
    const pb = this.pendB;
    this.pendB = null;
    this.req = null;
    r.rawConn = null;
    r.resume = null;
    if (this.paused) {
      // paused by this response's last piece: the next exchange must read
      this.paused = false;
      if (reuse) this.socket.resume();
    }
    if (!reuse) this.destroy();
    this.pool.sink.onRawComplete(r, pb, this.pendS, this.pendE);
    if (reuse && this.state === BUSY) this.pool.release(this);
    else this.pool.pump();
  }

  /** Called by the parser at the end of the final head. */
  onHeadEnd(): void {
    const r = this.req;
    if (r === null) return;
    const p = this.parser;
    if (p.status === 101 || p.badLength || p.lengthAndChunked()) {
      const why = p.status === 101 ? 'an upgrade (101) nobody asked for' : 'conflicting message lengths';
      this.fail(rawError(RAW_ERR.badResponse, `bad response from ${this.pool.options.host}:${this.pool.options.port}: ${why}`));
      return;
    }
    const headers = p.connDrop === null ? p.headers : dropNamed(p.headers, p.connDrop);
    p.headers = [];
    this.pool.sink.onRawHeaders(r, p.status, headers, p.hasLength, p.completesAtEof());
  }

  /** Called by the parser with body bytes (in the shared read buffer). */
  onBody(b: Buffer, s: number, e: number): void {
    const r = this.req;
    if (r === null) return;
    if (this.pendB !== null) {
      this.flush(r);
      if (this.req !== r) return;
    }
    this.pendB = b;
    this.pendS = s;
    this.pendE = e;
  }

  /** Hands the pending body piece to the proxy as a copy it may keep. */
  private flush(r: R): void {
    const b = this.pendB as Buffer;
    this.pendB = null;
    const chunk = Buffer.allocUnsafe(this.pendE - this.pendS);
    b.copy(chunk, 0, this.pendS, this.pendE);
    if (!this.pool.sink.onRawData(r, chunk) && this.req === r && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.state !== CLOSED) this.socket.resume();
  }

  /**
   * The replica closed this connection while it sat idle in the pool, before its keep-alive limit:
   * a client could have been writing a request on it at that moment (contract rule 2, the race
   * Node's server.close() creates on ≥ 19). Connections the pool closes itself are CLOSED first.
   * Called from the socket's end/error/close handlers, not from fail(): fail() also serves the
   * pool's own destroy(), which closes idle connections that the replica never touched.
   */
  private notePeerCloseWhileIdle(): void {
    if (this.state === IDLE && performance.now() - this.idleSince <= this.idleLimitMs) this.pool.options.onPeerClosedIdle?.();
  }

  private onEnd(): void {
    this.notePeerCloseWhileIdle();
    const r = this.req;
    if (r !== null && this.state === BUSY && this.parser.completesAtEof()) {
      // a body delimited by the connection's close: complete now
      this.complete(r, false);
      return;
    }
    this.fail(rawError(RAW_ERR.closed, 'the replica closed the connection before the response ended'));
  }

  private onSocketError(err: Error): void {
    this.notePeerCloseWhileIdle();
    this.fail(err);
  }

  private onClose(): void {
    this.notePeerCloseWhileIdle();
    this.fail(rawError(RAW_ERR.closed, 'the connection to the replica closed before the response ended'));
  }

  /** Fails the request it holds (if any) with err, and closes. */
  fail(err: Error): void {
    const r = this.req;
    this.pendB = null;
    this.req = null;
    this.destroy();
    if (r !== null) {
      r.rawConn = null;
      r.resume = null;
      if (this.reads > this.readsSeen) r.rawAnswered = true;
      this.pool.sink.onRawError(r, err);
    }
    this.pool.pump();
  }

  /** Closes the socket and leaves the pool (idempotent; the request it holds is not reported). */
  destroy(): void {
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    if (this.connectTimer !== null) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
    this.socket.destroy();
    this.pool.forget(this);
  }
}

/** The connections to one replica, and the requests waiting for one. */
export class RawPool<R extends RawRequest<R>> {
  readonly hostLine: string;
  private readonly conns: RawConn<R>[] = [];
  /** Free connections, most recently used last (LIFO: the spare ones age out). May hold closed ones (skipped). */
  private idle: RawConn<R>[] = [];
  private qHead: R | null = null;
  private qTail: R | null = null;
  private queued = 0;
  private closing = false;
  private destroyed = false;
  private closedWaiters: Array<() => void> = [];

  constructor(
    readonly options: RawPoolOptions,
    readonly sink: RawSink<R>,
  ) {
    const h = options.host.includes(':') ? `[${options.host}]` : options.host;
    this.hostLine = `host: ${h}:${options.port}\r\n`;
  }

  /** Open connections (connecting, busy or idle). */
  get size(): number {
    return this.conns.length;
  }

  /** Sends r on a free connection, a new one, or queues it. `now` = performance.now(). */
  dispatch(r: R, now: number): void {
    if (this.destroyed || this.closing) {
      // Never written: the caller may retry it anywhere.
      this.sink.onRawError(r, rawError(RAW_ERR.destroyed, "the replica's connection pool is closed"));
      return;
    }
    const idle = this.idle;
    let c: RawConn<R> | undefined;
    while ((c = idle.pop()) !== undefined) {
      if (c.state !== IDLE) continue;
      if (now - c.idleSince > c.idleLimitMs) {
        c.destroy();
        continue;
      }
      c.assign(r);
      return;
    }
    if (this.conns.length < this.options.connections) {
      this.open(r);
      return;
    }
    r.rawQueued = true;
    r.rawPrev = this.qTail;
    r.rawNext = null;
    if (this.qTail === null) this.qHead = r;
    else this.qTail.rawNext = r;
    this.qTail = r;
    this.queued++;
  }

  private open(r: R): void {
    const c = new RawConn<R>(this, r);
    c.slot = this.conns.length;
    this.conns.push(c);
  }

  /** Fails r now with err: unqueued, or its connection closed (a written request cannot be taken back). */
  abort(r: R, err: Error): void {
    if (r.rawQueued) {
      this.unqueue(r);
      this.sink.onRawError(r, err);
      return;
    }
    const c = r.rawConn;
    if (c !== null) c.fail(err);
  }

  private unqueue(r: R): void {
    r.rawQueued = false;
    const { rawPrev: prev, rawNext: next } = r;
    if (prev === null) this.qHead = next;
    else prev.rawNext = next;
    if (next === null) this.qTail = prev;
    else next.rawPrev = prev;
    r.rawPrev = null;
    r.rawNext = null;
    this.queued--;
  }

  /** A connection finished its exchange and may be reused: next queued request, else idle (or closed when closing). */
  release(c: RawConn<R>): void {
    const r = this.qHead;
    if (r !== null) {
      this.unqueue(r);
      c.assign(r);
      return;
    }
    if (this.closing) {
      c.destroy();
      return;
    }
    c.state = IDLE;
    c.idleSince = performance.now();
    this.idle.push(c);
  }

  /** A connection slot may have freed: open one for the first queued request. */
  pump(): void {
    if (this.destroyed) return;
    while (this.qHead !== null && this.conns.length < this.options.connections) {
      const r = this.qHead;
      this.unqueue(r);
      this.open(r);
    }
    this.checkClosed();
  }

  /** Called by a connection that closed. */
  forget(c: RawConn<R>): void {
    const i = c.slot;
    if (i < 0) return;
    c.slot = -1;
    const last = this.conns.pop() as RawConn<R>;
    if (last !== c) {
      this.conns[i] = last;
      last.slot = i;
    }
    this.checkClosed();
  }

  /**
   * The sweep (every few hundred ms, from the proxy's maintenance timer): idle connections past
   * their limit are closed from this side; a response whose body stalled longer than
   * bodyTimeoutMs fails (timeout).
   */
  maintain(now: number, elapsedMs: number): void {
    if (this.idle.length > 0) {
      const keep: RawConn<R>[] = [];
      for (const c of this.idle) {
        if (c.state !== IDLE) continue;
        if (now - c.idleSince > c.idleLimitMs) c.destroy();
        else keep.push(c);
      }
      this.idle = keep;
    }
    const bodyTimeout = this.options.bodyTimeoutMs;
    for (let i = this.conns.length - 1; i >= 0; i--) {
      const c = this.conns[i];
      if (c === undefined || c.state !== BUSY || c.req === null || c.paused || !c.parser.headDone()) continue;
      if (c.reads !== c.readsSeen) {
        c.readsSeen = c.reads;
        c.stalledMs = 0;
        continue;
      }
      c.stalledMs += elapsedMs;
      if (c.stalledMs >= bodyTimeout) c.fail(rawError(RAW_ERR.bodyTimeout, `no response body bytes for ${bodyTimeout} ms`));
    }
  }

  /** Graceful: queued and in-flight requests finish, then every connection is closed from this side. */
  close(): Promise<void> {
    this.closing = true;
    for (const c of this.idle) c.destroy();
    this.idle = [];
    return new Promise<void>((resolve) => {
      this.closedWaiters.push(resolve);
      this.checkClosed();
    });
  }

  /** Now: every request held fails (written ones as resets, the others as never sent), every socket closes. */
  destroy(): Promise<void> {
    this.destroyed = true;
    this.closing = true;
    const err = rawError(RAW_ERR.destroyed, 'the replica was removed from the proxy');
    const queued: R[] = [];
    for (let r = this.qHead; r !== null; r = r.rawNext) queued.push(r);
    for (const r of queued) this.unqueue(r);
    for (const c of this.conns.slice()) c.fail(err);
    for (const r of queued) this.sink.onRawError(r, err);
    this.idle = [];
    this.checkClosed();
    return Promise.resolve();
  }

  private checkClosed(): void {
    if (!this.closing || this.closedWaiters.length === 0) return;
    if (this.conns.length > 0 || this.queued > 0) return;
    const list = this.closedWaiters;
    this.closedWaiters = [];
    for (const fn of list) fn();
  }
}
