/**
 * The service proxy (the data plane): node:http in front, one connection pool per replica behind
 * (the raw client of raw-upstream.ts by default, or an undici Pool), loopback only.
 * DESIGN.md "Proxy", research/mechanics.md C5/C6.
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
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import type { Registry } from 'prom-client';
import { settledWithin } from '../common/async.js';
import { systemClock } from '../common/clock.js';
import type { Clock } from '../common/clock.js';
import { ZerodropError, errorCode, errorMessage } from '../common/errors.js';
import { latin1 } from '../common/http1-parser.js';
import { DEFAULT_BODY_TIMEOUT_MS, DEFAULT_RESPONSE_BUFFER_BYTES, validateProxyConfig } from './config.js';
import { EndpointTable } from './endpoints.js';
import type { Endpoint, UpstreamPool } from './endpoints.js';
import { HealthChecker } from './health.js';
import {
  HDR_CONNECTION,
  HDR_CONTENT_LENGTH,
  HDR_FORWARD,
  HDR_HOST,
  HDR_EXPECT,
  HDR_TRANSFER_ENCODING,
  HDR_UPGRADE,
  OUT_CONNECT_ERROR,
  OUT_OTHER,
  OUT_RESET,
  OUT_RESPONSE,
  OUT_TIMEOUT,
  outcomeIndex,
  classifyUpstreamError,
  connectionTokens,
  dropNamed,
  headerKind,
  isIdempotent,
  mayRetry,
} from './http-semantics.js';
import { DurationCounter, createProxyRegistry } from './metrics.js';
import { IdAttestor } from './id-attestation.js';
import { RawPool } from './raw-upstream.js';
import type { RawConn, RawMessage, RawRequest, RawSink } from './raw-upstream.js';
import { DEFAULT_UPSTREAM_CLIENT, PROXY_HEADERS } from './types.js';
import type {
  DrainResult,
  ProxyConfig,
  ProxyControl,
  ProxyEndpoint,
  ProxyEvent,
  ProxyStats,
  RetryReason,
  UpstreamOutcome,
} from './types.js';

/**
 * Client aborts are seen on the downstream socket (one 'close' listener per connection), not on
 * each response: a property and a listener added to every ServerResponse cost a hidden-class
 * transition per request and make node:http's own property loads on it megamorphic.
 */
const kClient = Symbol('zerodrop.client');
type XSocket = Duplex & { [kClient]?: ClientConn };

/** One downstream connection: its exchanges not finished yet (several when the client pipelines). */
class ClientConn {
  head: Exchange | null = null;
  constructor(readonly p: ServiceProxy) {}
}

function onClientSocketClose(this: XSocket): void {
  const c = this[kClient];
  if (c === undefined) return;
  let x = c.head;
  while (x !== null) {
    const next = x.cnext;
    c.p.onClientGone(x); // unlinks it
    x = next;
  }
}

const EMPTY: string[] = [];
/** Buffered bodies up to this size are written together with the response head (see onAttemptComplete). */
const SINGLE_WRITE_MAX = 16 * 1024;
const MAX_EVENTS = 1000;
/** close() waits this long for in-flight requests before cutting connections. */
const CLOSE_GRACE_MS = 10_000;
const POOL_CLOSE_GRACE_MS = 2_000;
/** Largest upstream response head the raw client accepts (Node's and undici's default). */
const MAX_RESPONSE_HEAD_BYTES = 16 * 1024;
/** The raw client's read buffer, shared by all its connections. */
const READ_BUFFER_BYTES = 64 * 1024;

/** Attempt phases. */
const WAITING = 0; // dispatched, no response headers yet (on the per-try timeout list)
const RECEIVING = 1; // headers received, body arriving
const SETTLED = 2; // outcome decided; later undici callbacks only release resources

/** Optional knobs for benchmarks and tests; not part of ProxyConfig. */
export interface ServiceProxyOptions {
  clock?: Clock;
  /**
   * With upstream.client 'undici' only, its handler style: 'legacy' (onConnect/onHeaders/onData/
   * onComplete/onError, raw header buffers, no wrapper objects: the default, measured faster) or
   * 'controller' (the v7 onRequestStart/onResponse* API, wrapped by undici in UnwrapHandler +
   * parseHeaders).
   */
  handlerApi?: 'legacy' | 'controller';
}

/** One downstream request. */
class Exchange implements RawMessage {
  readonly t0 = performance.now();
  method: string;
  path: string;
  idempotent: boolean;
  isHead: boolean;
  /** undici: the forwarded headers, flat. */
  headers: string[] = EMPTY;
  /** raw: the request line, and the forwarded header lines + framing + blank line (see begin()). */
  line = '';
  rest = '';
  body: Buffer | null = null;
  bodyChunks: Buffer[] | null = null;
  bodyLen = 0;
  tries = 0;
  /** The replica of the first attempt; `tried` lists all of them once there was a retry. */
  first: Endpoint | null = null;
  tried: Endpoint[] | null = null;
  /** The downstream response was ended, or the client went away: nothing more to write. */
  finished = false;
  current: Attempt | null = null;
  opts: Dispatcher.DispatchOptions | null = null;
  /** Its downstream connection's list of unfinished exchanges. */
  client: ClientConn | null = null;
  cprev: Exchange | null = null;
  cnext: Exchange | null = null;

  constructor(
    readonly p: ServiceProxy,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {
    const method = req.method ?? 'GET';
    this.method = method;
    this.path = req.url ?? '/';
    this.idempotent = isIdempotent(method);
    this.isHead = method === 'HEAD';
  }
}

/** One try of an Exchange on one replica. */
abstract class Attempt {
  phase = WAITING;
  sent = false;
  /** The client is done with the attempt (its in-flight slot on the endpoint is released). */
  released = false;
  /** Response bytes arrived before the head was complete (raw client only: undici does not say). */
  rawAnswered = false;
  // per-try timeout list (intrusive, FIFO == deadline order)
  deadline = 0;
  prev: Attempt | null = null;
  next: Attempt | null = null;
  listed = false;
  // response
  status = 0;
  resHeaders: string[] | null = null;
  hasLength = false;
  chunks: Buffer[] | null = null;
  len = 0;
  streaming = false;
  discard = false;
  resume: (() => void) | null = null;

  constructor(
    readonly p: ServiceProxy,
    readonly x: Exchange,
    readonly ep: Endpoint,
    readonly retry: boolean,
  ) {}

  /** Stops the attempt now (per-try timeout, client gone): the client reports an error for it. */
  abstract abort(err: Error): void;
}

/** An attempt through undici; it is the dispatch handler (legacy API: raw header buffers, no wrapper objects). */
class UndiciAttempt extends Attempt {
  abortFn: ((err?: Error) => void) | null = null;

  abort(err: Error): void {
    // Still queued in the pool: onConnect aborts it as soon as it gets a socket.
    if (this.abortFn !== null) this.abortFn(err);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.phase === SETTLED) {
      abort();
      return;
    }
    this.abortFn = abort;
    this.sent = true;
  }
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    this.resume = resume;
    return this.p.onAttemptHeaders(this, statusCode, rawHeaders);
  }
  onData(chunk: Buffer): boolean {
    return this.p.onAttemptData(this, chunk);
  }
  onComplete(): void {
    this.p.onAttemptComplete(this, null, 0, 0);
  }
  onError(err: Error): void {
    this.p.onAttemptError(this, err);
  }
}

/** The same attempt through undici's v7 controller API (for comparison; see ServiceProxyOptions). */
class ControllerAttempt extends UndiciAttempt {
  private controller: Dispatcher.DispatchController | null = null;
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.onConnect((err) => controller.abort(err ?? new Error('aborted')));
    this.resume = () => controller.resume();
  }
  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number): void {
    const raw = controller.rawHeaders as Buffer[];
    if (!this.p.onAttemptHeaders(this, statusCode, raw)) controller.pause();
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.p.onAttemptData(this, chunk)) controller.pause();
  }
  onResponseEnd(): void {
    this.p.onAttemptComplete(this, null, 0, 0);
  }
  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.p.onAttemptError(this, err);
  }
}
// (undici wraps any handler that has onRequestStart in its UnwrapHandler and only talks to the
// wrapper, so the inherited legacy methods of ControllerAttempt are never called by undici.)

/** An attempt through the raw client (raw-upstream.ts); the proxy is its RawSink. */
class RawAttempt extends Attempt implements RawRequest<RawAttempt> {
  pool: RawPool<RawAttempt> | null = null;
  rawConn: RawConn<RawAttempt> | null = null;
  rawQueued = false;
  rawPrev: RawAttempt | null = null;
  rawNext: RawAttempt | null = null;

  abort(err: Error): void {
    if (this.pool !== null) this.pool.abort(this, err);
  }
}

type AttemptClass = new (p: ServiceProxy, x: Exchange, ep: Endpoint, retry: boolean) => Attempt;

function onReqData(x: Exchange, chunk: Buffer): void {
  if (x.finished || x.bodyChunks === null) return;
  x.bodyLen += chunk.length;
  const p = x.p;
  if (x.bodyLen > p.config.maxBodyBytes) {
    x.bodyChunks = null;
    p.respondLocal(x, 413, 'body_too_large', null, true);
    return;
  }
  x.bodyChunks.push(chunk);
}

function onReqEnd(x: Exchange): void {
  if (x.finished || x.bodyChunks === null) return;
  const chunks = x.bodyChunks;
  x.bodyChunks = null;
  x.body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, x.bodyLen);
  x.p.begin(x);
}

export class ServiceProxy implements ProxyControl, RawSink<RawAttempt> {
  readonly config: ProxyConfig;
  url = '';
  metricsUrl: string | null = null;
  readonly registry: Registry;

  private readonly server: http.Server;
  private metricsServer: http.Server | null = null;
  private readonly table: EndpointTable;
  private readonly clock: Clock;
  private readonly checkers = new Map<string, HealthChecker>();
  private readonly drainWaiters = new Map<Endpoint, Array<() => void>>();
  private readonly AttemptClass: AttemptClass;
  /** The raw upstream client (else undici). */
  private readonly raw: boolean;
  private readonly readBuffer: Buffer | null;
  private maintainTimer: NodeJS.Timeout | null = null;
  private lastMaintain = 0;
  private readonly events: ProxyEvent[] = [];

  // counters (plain numbers: metrics.ts reads them at scrape time)
  private received = 0;
  private inFlight = 0;
  private clientAborts = 0;
  private malformed = 0;
  private readonly responded = new Float64Array(600);
  private readonly retries: Record<RetryReason, number> = { connect_error: 0, reset: 0, timeout: 0 };
  private retryBudgetExhausted = 0;
  private savedByRetry = 0;
  private readonly ids: IdAttestor;
  private retriesInFlight = 0;
  private readonly durations = new DurationCounter();

  // per-try timeouts
  private toHead: Attempt | null = null;
  private toTail: Attempt | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;

  private readonly perTryMs: number;
  private readonly bufferLimit: number;
  private readonly maxAttempts: number;
  private readonly retriesEnabled: boolean;
  private readonly budgetMin: number;
  private readonly budgetRatio: number;
  private closing = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(config: ProxyConfig, options: ServiceProxyOptions = {}) {
    this.config = validateProxyConfig(config);
    this.clock = options.clock ?? systemClock;
    this.raw = (config.upstream.client ?? DEFAULT_UPSTREAM_CLIENT) === 'raw';
    this.AttemptClass = this.raw ? RawAttempt : options.handlerApi === 'controller' ? ControllerAttempt : UndiciAttempt;
    this.readBuffer = this.raw ? Buffer.allocUnsafe(READ_BUFFER_BYTES) : null;
    this.perTryMs = config.retries.perTryTimeoutMs;
    this.bufferLimit = config.upstream.responseBufferBytes ?? DEFAULT_RESPONSE_BUFFER_BYTES;
    this.maxAttempts = config.retries.maxAttempts;
    this.retriesEnabled = config.retries.enabled;
    this.budgetMin = config.retries.budgetMinConcurrency;
    this.budgetRatio = config.retries.budgetRatio;
    this.ids = new IdAttestor(config.ids);
    this.table = new EndpointTable(config, this.clock, (e) => this.pushEvent(e));
    this.registry = createProxyRegistry(config.runId, {
      received: () => this.received,
      responded: () => this.responded,
      clientAborts: () => this.clientAborts,
      malformed: () => this.malformed,
      inFlight: () => this.inFlight,
      retries: () => this.retries,
      retryBudgetExhausted: () => this.retryBudgetExhausted,
      savedByRetry: () => this.savedByRetry,
      zoneEjections: () => this.table.zoneEjectionsByZone,
      endpoints: () => this.table.all(),
      durations: () => this.durations,
    });

    this.server = http.createServer(this.onRequest.bind(this));
    this.server.on('clientError', this.onClientError.bind(this));
    this.server.on('connect', this.onConnectMethod.bind(this));
    this.server.on('connection', (socket: Duplex) => {
      (socket as XSocket)[kClient] = new ClientConn(this);
      socket.on('close', onClientSocketClose);
    });
  }

  /** Binds the listener (and the metrics listener); resolves once both accept connections. */
  async listen(): Promise<void> {
    const { host, port } = this.config;
    await listenOn(this.server, host, port);
    this.url = `http://${hostForUrl(host)}:${addressPort(this.server)}`;
    if (this.config.metricsPort !== null) {
      const registry = this.registry;
      this.metricsServer = http.createServer((req, res) => {
        if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
          return;
        }
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${errorMessage(err)}\n`),
        );
      });
      await listenOn(this.metricsServer, host, this.config.metricsPort);
      this.metricsUrl = `http://${hostForUrl(host)}:${addressPort(this.metricsServer)}/metrics`;
    }
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

  // ------------------------------------------------------------------ control plane

  async addEndpoint(spec: ProxyEndpoint): Promise<void> {
    validateEndpoint(spec);
    if (this.closing) throw new ZerodropError('ZD_PROXY_FAILED', `proxy is closing: cannot add endpoint ${spec.id}`);
    const existing = this.table.get(spec.id);
    if (existing !== undefined && existing.zone !== spec.zone) {
      throw new ZerodropError('ZD_BAD_SPEC', `endpoint ${spec.id} is already known in zone ${existing.zone}, not ${spec.zone}`, {
        fix: 'give every replica a unique id',
      });
    }
    const moved = existing !== undefined && (existing.host !== spec.host || existing.port !== spec.port);
    const ep = this.table.add(spec);
    // A drain that was waiting on it is over: it is back in rotation, its pool stays.
    this.releaseDrainWaiters(ep);
    const pool = ep.pool;
    if (pool === null || moved) {
      if (pool !== null) void pool.close().catch(() => undefined);
      ep.pool = this.createPool(ep);
    }
    let checker = this.checkers.get(ep.id);
    if (checker === undefined || moved) {
      void checker?.stop();
      checker = new HealthChecker(ep, this.config.healthCheck, this.config.upstream.connectTimeoutMs, (e, ok) =>
        this.table.recordHealthCheck(e, ok),
      );
      this.checkers.set(ep.id, checker);
      checker.start();
    }
  }

  async drainEndpoint(id: string, timeoutMs: number): Promise<DrainResult> {
    const ep = this.mustGet(id);
    if (ep.admin === 'removed') return { inFlightAtRemoval: 0, drainedInMs: 0, complete: true };
    const started = this.clock.now();
    this.table.setAdmin(ep, 'draining');
    const inFlightAtRemoval = ep.inFlight;
    if (ep.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(0, timeoutMs));
        timer.unref();
        const list = this.drainWaiters.get(ep) ?? [];
        list.push(done);
        this.drainWaiters.set(ep, list);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    const drainedInMs = this.clock.now() - started;
    const complete = ep.inFlight === 0;
    // Put back in rotation while we waited (addEndpoint): leave it alone.
    if (ep.admin !== 'draining') return { inFlightAtRemoval, drainedInMs, complete };
    this.table.setAdmin(ep, 'removed');
    this.pushEvent({ t: this.clock.now(), type: 'endpoint.drained', replica: ep.id, zone: ep.zone, reason: complete ? null : 'deadline' });
    await this.stopChecker(ep.id);
    const pool = ep.pool;
    ep.pool = null;
    // Client-side close of idle keep-alive sockets: no request can be racing on them (mechanics D2).
    if (pool !== null) {
      if (complete) await pool.close().catch(() => undefined);
      else void pool.close().catch(() => undefined);
    }
    return { inFlightAtRemoval, drainedInMs, complete };
  }

  async removeEndpoint(id: string): Promise<void> {
    const ep = this.mustGet(id);
    if (ep.admin === 'removed' && ep.pool === null) return;
    this.table.setAdmin(ep, 'removed');
    const pool = ep.pool;
    ep.pool = null;
    // In-flight attempts fail now (UND_ERR_DESTROYED) and are retried elsewhere when allowed.
    const destroyed = pool === null ? Promise.resolve() : pool.destroy().catch(() => undefined);
    await Promise.all([destroyed, this.stopChecker(ep.id)]);
  }

  async stats(): Promise<ProxyStats> {
    return this.statsSync();
  }

  statsSync(): ProxyStats {
    const responded: Record<string, number> = {};
    for (let c = 0; c < this.responded.length; c++) {
      const n = this.responded[c] as number;
      if (n > 0) responded[String(c)] = n;
    }
    return {
      received: this.received,
      responded,
      clientAborts: this.clientAborts,
      inFlight: this.inFlight,
      retries: { ...this.retries },
      retryBudgetExhausted: this.retryBudgetExhausted,
      savedByRetry: this.savedByRetry,
      zoneEjections: this.table.zoneEjections,
      endpoints: [...this.table.all()].map((e) => e.stats()),
      malformedRequests: this.malformed,
      events: this.events.slice(),
      ids: this.ids.stats(),
    };
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_GRACE_MS);
        timer.unref();
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.server.closeAllConnections();
    await serverClosed;
    await this.shutdown(false);
  }

  async destroy(): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await this.shutdown(true);
    await serverClosed;
  }

  // ------------------------------------------------------------------ data plane

  private createPool(ep: Endpoint): UpstreamPool {
    const u = this.config.upstream;
    if (this.raw) {
      ep.idleClosedByReplica ??= 0; // known from now on (undici cannot tell: it stays null)
      return new RawPool<RawAttempt>(
        {
          host: ep.host,
          port: ep.port,
          connections: u.connectionsPerReplica,
          connectTimeoutMs: u.connectTimeoutMs,
          keepAliveTimeoutMs: u.keepAliveTimeoutMs,
          bodyTimeoutMs: u.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
          maxHeadBytes: MAX_RESPONSE_HEAD_BYTES,
          readBuffer: this.readBuffer as Buffer,
          onPeerClosedIdle: () => {
            // Only a replica in rotation can race a request onto the connection it closes: once
            // it is draining nothing new is sent to it (nginx closes idle connections on SIGQUIT).
            if (ep.admin === 'serving') ep.idleClosedByReplica = (ep.idleClosedByReplica ?? 0) + 1;
          },
        },
        this,
      );
    }
    return new Pool(ep.origin, {
      connections: u.connectionsPerReplica,
      pipelining: u.pipelining,
      keepAliveTimeout: u.keepAliveTimeoutMs,
      keepAliveMaxTimeout: u.keepAliveTimeoutMs,
      keepAliveTimeoutThreshold: 1000,
      connect: { timeout: u.connectTimeoutMs },
      // Backstop only: the per-try timeout (sweep) fires first and counts from dispatch.
      headersTimeout: this.perTryMs * 2 + 1000,
      bodyTimeout: u.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
    });
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
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

    // One pass over the headers: the end-to-end ones are kept (raw: as header lines, ready to
    // write; undici: as a flat list); Host (each replica gets its own), Expect (the body is
    // buffered here), framing and hop-by-hop ones are dropped.
    const raw = req.rawHeaders;
    const asLines = this.raw;
    let lines = '';
    let fwd: string[] = asLines ? EMPTY : [];
    let hasBody = false;
    let declared = -1;
    let upgrade = false;
    let connDrop: string[] | null = null;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      const kind = headerKind(name);
      if (kind === HDR_FORWARD) {
        if (asLines) lines += `${name}: ${raw[i + 1] as string}\r\n`;
        else fwd.push(name, raw[i + 1] as string);
        continue;
      }
      switch (kind) {
        case HDR_CONTENT_LENGTH:
          declared = Number(raw[i + 1]);
          if (declared > 0) hasBody = true;
          break;
        case HDR_TRANSFER_ENCODING:
          hasBody = true;
          break;
        case HDR_UPGRADE:
          upgrade = true;
          break;
        case HDR_CONNECTION: {
          const t = connectionTokens(raw[i + 1] as string);
          if (t !== null) connDrop = connDrop === null ? t : connDrop.concat(t);
          break;
        }
        default:
          break;
      }
    }
    if (upgrade) {
      this.respondLocal(x, 501, 'upgrade_not_supported', null, false);
      return;
    }
    if (connDrop !== null) {
      // Rare: headers the client marked hop-by-hop in Connection are dropped too.
      const kept: string[] = [];
      for (let i = 0; i < raw.length; i += 2) if (headerKind(raw[i] as string) === HDR_FORWARD) kept.push(raw[i] as string, raw[i + 1] as string);
      fwd = dropNamed(kept, connDrop);
      if (asLines) {
        lines = '';
        for (let i = 0; i < fwd.length; i += 2) lines += `${fwd[i] as string}: ${fwd[i + 1] as string}\r\n`;
        fwd = EMPTY;
      }
    }
    if (asLines) x.rest = lines;
    else x.headers = fwd;
    if (declared > this.config.maxBodyBytes) {
      this.respondLocal(x, 413, 'body_too_large', null, true);
      return;
    }
    if (!hasBody) {
      this.begin(x);
      return;
    }
    x.bodyChunks = [];
    req.on('data', (chunk: Buffer) => onReqData(x, chunk));
    req.on('end', () => onReqEnd(x));
  }

  /** The request is complete (body buffered): first attempt. */
  begin(x: Exchange): void {
    if (x.finished) return;
    if (this.raw) {
      // The request head, once for every attempt (the pool puts each replica's Host after the
      // request line). Framing as undici does it: the buffered body's length; Content-Length: 0
      // for an empty POST / PUT / PATCH (RFC 9110 §8.6: a user agent SHOULD send it).
      x.line = `${x.method} ${x.path} HTTP/1.1\r\n`;
      const body = x.body;
      const m = x.method;
      if (body !== null && body.length > 0) x.rest += `content-length: ${body.length}\r\n\r\n`;
      else if (m === 'POST' || m === 'PUT' || m === 'PATCH') x.rest += 'content-length: 0\r\n\r\n';
      else x.rest += '\r\n';
    } else {
      x.opts = {
        path: x.path,
        method: x.method as Dispatcher.HttpMethod,
        headers: x.headers,
        body: x.body,
        // undici's idempotent flag only orders pipelined requests; ours decides retries.
        idempotent: x.idempotent,
        blocking: this.config.upstream.pipelining <= 1,
      };
    }
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
      (pool as Pool).dispatch(x.opts as Dispatcher.DispatchOptions, a as UndiciAttempt as Dispatcher.DispatchHandler);
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
    if (--ep.inFlight === 0 && this.drainWaiters.has(ep)) this.releaseDrainWaiters(ep);
  }

  private releaseDrainWaiters(ep: Endpoint): void {
    const list = this.drainWaiters.get(ep);
    if (list === undefined) return;
    this.drainWaiters.delete(ep);
    for (const fn of list) fn();
  }

  /** A failed attempt: retry on another replica when allowed, else answer with the error. */
  private afterFailure(a: Attempt, outcome: UpstreamOutcome, err?: unknown): void {
    const x = a.x;
    if (x.finished) return;
    if (outcome === 'other_error' && errorCode(err) === 'UND_ERR_INVALID_ARG') {
      this.respondLocal(x, 400, 'bad_request', a.ep, false);
      return;
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
    const out: string[] = [];
    let connDrop: string[] | null = null;
    let hasLength = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = (raw[i] as Buffer).toString('latin1');
      const kind = headerKind(name);
      if (kind === HDR_FORWARD || kind === HDR_HOST || kind === HDR_EXPECT) {
        out.push(name, (raw[i + 1] as Buffer).toString('latin1'));
      } else if (kind === HDR_CONTENT_LENGTH) {
        hasLength = true;
        out.push(name, (raw[i + 1] as Buffer).toString('latin1'));
      } else if (kind === HDR_CONNECTION) {
        const t = connectionTokens((raw[i + 1] as Buffer).toString('latin1'));
        if (t !== null) connDrop = connDrop === null ? t : connDrop.concat(t);
      }
    }
    this.headersReady(a, status, connDrop === null ? out : dropNamed(out, connDrop), hasLength);
    return true;
  }

  onRawSent(a: RawAttempt): void {
    a.sent = true;
  }

  /** raw: the final head, hop-by-hop headers already removed. */
  onRawHeaders(a: RawAttempt, status: number, headers: string[], hasLength: boolean): void {
    if (this.headersArrived(a, status)) this.headersReady(a, status, headers, hasLength);
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

  private headersReady(a: Attempt, status: number, headers: string[], hasLength: boolean): void {
    a.status = status;
    a.hasLength = hasLength;
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
    if (!a.hasLength && a.status !== 204 && a.status !== 304 && !x.isHead) headers.push('content-length', String(len));
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

  private count(_x: Exchange, status: number): void {
    if (status < 600) this.responded[status] = (this.responded[status] as number) + 1;
  }

  private finish(x: Exchange): void {
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

  private onClientError(err: Error & { code?: string }, socket: Duplex): void {
    const code = err.code ?? '';
    // A request whose head was fine but whose body is not (bad chunk...) has an exchange: the
    // newest unfinished one of this connection (the one being parsed).
    const msg = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    const x = (socket as XSocket)[kClient]?.head ?? null;
    if (code === 'HPE_INVALID_EOF_STATE') {
      // The client closed its side in the middle of a request (body cut short): it went away,
      // it did not send garbage.
      if (x !== null) this.onClientGone(x);
      socket.destroy();
      return;
    }
    if (code.startsWith('HPE_')) this.malformed++;
    if (code === 'ECONNRESET' || !socket.writable || (msg && msg.headersSent)) {
      socket.destroy();
      return;
    }
    const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    if (x !== null && !x.finished) {
      // It was counted as received: count its answer too (received = responded + client aborts).
      this.count(x, status);
      this.finish(x);
    }
    const text = http.STATUS_CODES[status] ?? 'Bad Request';
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n${PROXY_HEADERS.error}: malformed_request\r\n\r\n`,
    );
  }

  private onConnectMethod(_req: IncomingMessage, socket: Duplex): void {
    // CONNECT would make this an open proxy: refused.
    this.received++;
    this.responded[400] = (this.responded[400] as number) + 1;
    socket.end(`HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n${PROXY_HEADERS.error}: connect_not_supported\r\n\r\n`);
  }

  private pushEvent(e: ProxyEvent): void {
    this.events.push(e);
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }

  private mustGet(id: string): Endpoint {
    const ep = this.table.get(id);
    if (ep === undefined) {
      throw new ZerodropError('ZD_REPLICA_NOT_FOUND', `the proxy has no endpoint ${JSON.stringify(id)}`, {
        fix: 'add the endpoint first (addEndpoint) or check the replica id',
      });
    }
    return ep;
  }

  private async stopChecker(id: string): Promise<void> {
    const c = this.checkers.get(id);
    if (c === undefined) return;
    this.checkers.delete(id);
    await c.stop();
  }

  private async shutdown(hard: boolean): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    if (this.maintainTimer) clearInterval(this.maintainTimer);
    this.maintainTimer = null;
    await Promise.all([...this.checkers.keys()].map((id) => this.stopChecker(id)));
    const pools: UpstreamPool[] = [];
    for (const ep of this.table.all()) {
      if (ep.pool !== null) pools.push(ep.pool);
      ep.pool = null;
    }
    // Graceful close waits for queued attempts; an abandoned one stuck on a hung replica could
    // wait forever, so a close that takes longer than POOL_CLOSE_GRACE_MS becomes a destroy.
    await Promise.all(pools.map((p) => (hard ? p.destroy().catch(() => undefined) : closeWithin(p, POOL_CLOSE_GRACE_MS))));
    for (const ep of this.table.all()) this.releaseDrainWaiters(ep);
    const ms = this.metricsServer;
    this.metricsServer = null;
    if (ms) {
      await new Promise<void>((resolve) => {
        ms.close(() => resolve());
        ms.closeAllConnections();
      });
    }
  }
}

/** Takes a finished exchange off its connection's list. */
function unlinkClient(x: Exchange): void {
  const c = x.client;
  if (c === null) return;
  x.client = null;
  const { cprev, cnext } = x;
  if (cprev === null) c.head = cnext;
  else cprev.cnext = cnext;
  if (cnext !== null) cnext.cprev = cprev;
  x.cprev = null;
  x.cnext = null;
}

/** A copy of b[s..e) the caller may keep (b may be a shared read buffer). */
function copyOf(b: Buffer, s: number, e: number): Buffer {
  const out = Buffer.allocUnsafe(e - s);
  b.copy(out, 0, s, e);
  return out;
}

async function closeWithin(pool: UpstreamPool, ms: number): Promise<void> {
  if (!(await settledWithin(pool.close(), ms))) await pool.destroy().catch(() => undefined);
}

function perTryTimeoutError(ms: number): Error {
  return Object.assign(new Error(`no response headers within the per-try timeout (${ms} ms)`), { code: 'ZD_PER_TRY_TIMEOUT' });
}

function findHeader(raw: string[], lower: string): string | null {
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as string;
    if (n.length === lower.length && n.toLowerCase() === lower) return raw[i + 1] as string;
  }
  return null;
}

function validateEndpoint(spec: ProxyEndpoint): void {
  const bad = (why: string): never => {
    throw new ZerodropError('ZD_BAD_SPEC', `endpoint ${JSON.stringify(spec.id)}: ${why}`, {
      fix: 'pass {id, host, port, zone, version} with a non-empty id, an IP or host name and a port in 1..65535',
    });
  };
  if (typeof spec.id !== 'string' || spec.id === '') bad('id must be a non-empty string');
  if (typeof spec.host !== 'string' || spec.host === '') bad('host must be a non-empty string');
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) bad(`port ${String(spec.port)} is not in 1..65535`);
  if (typeof spec.zone !== 'string' || spec.zone === '') bad('zone must be a non-empty string');
  if (typeof spec.version !== 'string') bad('version must be a string');
}

function listenOn(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(
        new ZerodropError('ZD_PROXY_FAILED', `the proxy could not listen on ${host}:${port}: ${err.message}`, {
          cause: err,
          fix: port === 0 ? 'check that loopback networking works' : `free port ${port} or use port 0`,
        }),
      );
    };
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function addressPort(server: http.Server): number {
  const a = server.address();
  if (a === null || typeof a === 'string') throw new ZerodropError('ZD_INTERNAL', 'proxy listener has no TCP address');
  return a.port;
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Starts the proxy in this thread. */
export async function startServiceProxy(config: ProxyConfig, options: ServiceProxyOptions = {}): Promise<ServiceProxy> {
  const proxy = new ServiceProxy(config, options);
  try {
    await proxy.listen();
  } catch (err) {
    await proxy.destroy().catch(() => undefined);
    throw err;
  }
  return proxy;
}

