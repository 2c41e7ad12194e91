/**
 * sample-app: the reference service, and the executable statement of the zero-downtime contract
 * (docs/architecture.md, "The contract"). express 5 serves every route; `GET /` (the load target) and the probes are answered
 * by the node:http listener before express when the fast path is on, with the same body, headers
 * and metrics (see serveRootFast). express is then loaded on the first request that needs it: a
 * replica that only serves `GET /` and probes never pays its ~0.1 s of start-up CPU, which counts
 * on 2 cores when a rollout starts six replicas under 20k req/s.
 *
 * Shutdown on SIGTERM/SIGINT (contract rule 2, docs/architecture.md "The contract"):
 *   1. draining: /readyz 503, sampleapp_draining 1, sampleapp_ready 0;
 *   2. keep accepting and serving for drainDelayMs, every response with `Connection: close`;
 *      if connections are still arriving at the end of it (routing has not converged: e.g. a
 *      client reconnecting straight here), quiesce first (see quiesceThenClose): closing a
 *      listener resets the connections still in the kernel's accept queue;
 *   3. close the LISTENER only (net.Server.prototype.close): Node >= 19's http `server.close()`
 *      also calls closeIdleConnections(), which resets idle keep-alive sockets a client may be
 *      writing to at that moment (nodejs/node#52649); new connects now get ECONNREFUSED;
 *   4. wait for in-flight requests (their responses carry Connection: close, so their sockets
 *      close after them); idle keep-alive sockets close from the client side or by their own
 *      keep-alive timeout, never destroyed while idle; exit 0 when no connection is left, or at
 *      drainTimeoutMs (counted from the signal) destroy what is left and exit 0;
 *   5. the admin port stays up until exit (final counters).
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Express, NextFunction, Request, Response } from 'express';
import type { Config } from './config.js';
import { ErrorRateGate } from './faults.js';
import type { KvStore } from './kv.js';
import { loadBearerGate, type BearerGate } from './auth.js';
import { createAppMetrics, type AppMetrics, type RouteSeries } from './metrics.js';
import { isProbeRoute, methodLabel, routeLabel, type RouteLabel } from './routes.js';

import { FINAL_READ_HEADER, ID_HEADER, SERVED_BY_HEADER, VERSION_HEADER } from '../../contract/index.js';
export const ECHO_LIMIT_BYTES = 64 * 1024;
export const WORK_MAX_MS = 10_000;
const JSON_TYPE = 'application/json; charset=utf-8';

export interface AppHooks {
  /** One line to stderr (phases only; the app is quiet per request). */
  log(message: string): void;
  /** Ends the process. */
  exit(code: number): void;
}

export interface BoundPorts {
  port: number;
  adminPort: number | null;
}

export type Phase = 'starting' | 'warming' | 'serving' | 'draining' | 'quiescing' | 'closing' | 'drained' | 'exiting';

/**
 * Before closing the listener, no connection may have been accepted for this long (see
 * `quiesce`): closing a listening socket resets every connection still in the kernel's accept
 * queue, and a client may already have written its request on one.
 */
export const QUIET_MS = 100;
/** The quiet wait gives up (and closes anyway) after this long. */
export const QUIESCE_MAX_MS = 1000;

export interface SampleApp {
  readonly config: Config;
  readonly metrics: AppMetrics;
  /** Binds the main port (and the admin port); warm-up starts now. */
  start(): Promise<BoundPorts>;
  /** What SIGTERM / SIGINT do (main.ts wires the signals here). */
  onSignal(signal: string): void;
  phase(): Phase;
  /** Main-port requests whose response has not ended. */
  inFlight(): number;
  /** Open main-port connections. */
  openConnections(): number;
}

/** First value of a header in rawHeaders (cheaper than building req.headers on the hot path). */
export function rawHeader(raw: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i] as string;
    if (k.length === lowerName.length && k.toLowerCase() === lowerName) return raw[i + 1];
  }
  return undefined;
}

/** Validates /work's `ms`: absent = 0; else a whole number 0..10000. Returns the error text otherwise. */
export function parseWorkMs(raw: unknown): { ms: number } | { error: string } {
  if (raw === undefined) return { ms: 0 };
  if (typeof raw !== 'string' || !/^\d{1,6}$/.test(raw) || Number(raw) > WORK_MAX_MS) {
    const shown = typeof raw === 'string' ? JSON.stringify(raw) : 'a repeated parameter';
    return { error: `query parameter ms must be a whole number of milliseconds from 0 to ${WORK_MAX_MS} (got ${shown})` };
  }
  return { ms: Number(raw) };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const buf = Buffer.from(JSON.stringify(body));
  res.statusCode = status;
  res.setHeader('content-type', JSON_TYPE);
  res.setHeader('content-length', buf.length);
  res.end(buf);
}

function statusOf(err: unknown): number {
  if (typeof err === 'object' && err !== null) {
    const e = err as { status?: unknown; statusCode?: unknown };
    const s = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
    if (s !== undefined && s >= 400 && s <= 599) return s;
  }
  return 500;
}

export function createSampleApp(config: Config, hooks: AppHooks): SampleApp {
  const { version, replica, zone, faults } = config;

  // ---- state -------------------------------------------------------------------------------
  let phase: Phase = 'starting';
  let warm = false;
  let draining = false;
  /** Responses say Connection: close (draining, except while quiescing). */
  let closeConnections = false;
  let lastConnectionAt = 0;
  let slowUntil = 0;
  let inFlight = 0;
  /** True while a per-request gate (warm-up, error-rate, slow-start) may apply: fast path off. */
  let gated = true;
  let fastOpen = false;
  let shutdownStarted = false;
  let exited = false;
  const errorGate = faults.errorRate > 0 ? new ErrorRateGate(faults.errorRate) : null;
  /** Responses in progress on the general path, to add Connection: close when draining starts. */
  const active = new Set<ServerResponse>();
  const sockets = new Set<Socket>();

  const readiness = (): { ok: boolean; reason: string } => {
    if (draining) return { ok: false, reason: 'draining' };
    if (phase === 'starting') return { ok: false, reason: 'starting' };
    if (!warm) return faults.readyEarly ? { ok: true, reason: 'ready (fault ready-early: still warming up)' } : { ok: false, reason: 'warming up' };
    return { ok: true, reason: 'ready' };
  };

  const metrics = createAppMetrics({ version, replica, zone }, { inFlight: () => inFlight, ready: () => readiness().ok, draining: () => draining });

  const recompute = (): void => {
    gated = !warm || errorGate !== null || performance.now() < slowUntil;
    fastOpen = config.fastPath && !gated;
  };

  // ---- probes (main port through express, and the admin port) -------------------------------
  const healthz = (res: ServerResponse): void => sendJson(res, 200, { status: 'ok', replica, version });
  const readyz = (res: ServerResponse): void => {
    const r = readiness();
    sendJson(res, r.ok ? 200 : 503, { ready: r.ok, reason: r.reason, replica, version });
  };
  const metricsRoute = async (res: ServerResponse): Promise<void> => {
    const text = await metrics.exposition();
    res.statusCode = 200;
    res.setHeader('content-type', metrics.contentType);
    res.end(text);
  };

  // ---- express: every route (loaded on first use) -------------------------------------------
  const rootObject = { version, replica, zone };
  const buildExpressApp = (express: typeof import('express')): Express => {
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);
    app.get('/', (_req: Request, res: Response) => {
      res.json(rootObject);
    });
    app.get('/work', (req: Request, res: Response) => {
      const parsed = parseWorkMs(req.query.ms);
      if ('error' in parsed) {
        res.status(400).json({ error: parsed.error });
        return;
      }
      setTimeout(() => {
        if (res.destroyed) return; // the client went away; counted as aborted
        res.json({ ...rootObject, workedMs: parsed.ms });
      }, parsed.ms);
    });
    app.post('/echo', express.raw({ type: () => true, limit: ECHO_LIMIT_BYTES }), (req: Request, res: Response) => {
      const body: unknown = req.body;
      const buf = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
      res.status(201);
      res.setHeader('content-type', req.get('content-type') ?? 'application/octet-stream');
      res.send(buf);
    });
    app.get('/healthz', (_req: Request, res: Response) => healthz(res));
    app.get('/readyz', (_req: Request, res: Response) => readyz(res));
    app.get('/metrics', (_req: Request, res: Response) => metricsRoute(res));
    app.use((req: Request, res: Response) => {
      res.status(404).json({ error: `no route for ${req.method} ${req.path}` });
    });
    app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
      if (res.headersSent) {
        next(err);
        return;
      }
      const status = statusOf(err);
      const message =
        status === 413 ? `request body larger than ${ECHO_LIMIT_BYTES} bytes` : status < 500 && err instanceof Error ? err.message : 'internal error';
      res.status(status).json({ error: message });
    });
    return app;
  };
  let expressApp: Express | null = null;
  let expressLoading: Promise<Express> | null = null;
  const loadExpress = (): Promise<Express> => (expressLoading ??= import('express').then((m) => (expressApp = buildExpressApp(m.default))));
  /** The Deployment's secret: a bearer token on traffic routes (auth.ts), when the replica has one. */
  const bearer: BearerGate | null =
    config.secretsDir === null
      ? null
      : loadBearerGate(config.secretsDir, { withoutOverlap: faults.rotateWithoutOverlap, log: faults.logSecret ? (line: string) => hooks.log(line) : null });
  /**
   * The Deployment's volume: PUT/GET /kv/<key> (kv.ts), when the replica has one. Created in
   * start(), before listening: kv.ts (and prom-client, for its counters) stay off the boot path of
   * a replica without a volume.
   */
  let kv: KvStore | null = null;
  /** Hands a request to express, loading it first if this is the first request that needs it. */
  const app = (req: IncomingMessage, res: ServerResponse): void => {
    if (kv !== null && kv.handles(req.url ?? '')) {
      kv.handle(req, res);
      return;
    }
    if (expressApp !== null) {
      expressApp(req as Request, res as Response);
      return;
    }
    loadExpress().then(
      (loaded) => {
        loaded(req as Request, res as Response);
      },
      (err: unknown) => sendJson(res, 500, { error: `express failed to load: ${err instanceof Error ? err.message : String(err)}` }),
    );
  };

  // ---- the main listener --------------------------------------------------------------------
  const rootBody = Buffer.from(JSON.stringify(rootObject));
  const fastHeaders: string[] = ['content-type', JSON_TYPE, 'content-length', String(rootBody.length), SERVED_BY_HEADER, replica, VERSION_HEADER, version];
  const fastHeadersClose = [...fastHeaders, 'connection', 'close'];
  const rootSeries = metrics.series('/', 'GET');

  /**
   * GET / without express: the same bytes, headers and metrics as the express route, for about a
   * fifth of the CPU. The response ends synchronously, so the request is never observable as in
   * flight by a scrape (the in-flight gauge is read at scrape time) and cannot be aborted midway.
   */
  const serveRootFast = (req: IncomingMessage, res: ServerResponse, start: number): void => {
    rootSeries.received();
    const id = rawHeader(req.rawHeaders, ID_HEADER);
    let headers = closeConnections ? fastHeadersClose : fastHeaders;
    if (id !== undefined) headers = headers.concat(ID_HEADER, id);
    res.writeHead(200, headers);
    res.end(rootBody);
    rootSeries.responded(200, (performance.now() - start) / 1000);
  };

  const proceed = (req: IncomingMessage, res: ServerResponse): void => {
    if (errorGate !== null && errorGate.shouldFail()) {
      sendJson(res, 500, { error: `injected failure (fault error-rate=${faults.errorRate})`, replica });
      return;
    }
    app(req, res);
  };

  /** Warm-up, slow-start and error-rate: traffic routes only, never probes. */
  const gate = (req: IncomingMessage, res: ServerResponse): void => {
    if (!warm) {
      sendJson(res, 503, { error: 'warming up', replica });
      return;
    }
    const wait = slowUntil - performance.now();
    if (wait > 0) {
      setTimeout(() => {
        if (res.destroyed) return;
        proceed(req, res);
      }, Math.ceil(wait));
      return;
    }
    proceed(req, res);
  };

  const probeHandlers = new Map<string, (res: ServerResponse) => void>([
    ['/healthz', healthz],
    ['/readyz', readyz],
    [
      '/metrics',
      (res) =>
        void metricsRoute(res).catch((err: unknown) => {
          hooks.log(`/metrics failed: ${err instanceof Error ? err.message : String(err)}`);
          if (!res.headersSent) sendJson(res, 500, { error: 'metrics collection failed' });
          else res.destroy();
        }),
    ],
  ]);

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const start = performance.now();
    const url = req.url ?? '/';
    const denied = bearer !== null && !isProbeRoute(routeLabel(url)) && !bearer.allows(rawHeader(req.rawHeaders, 'authorization'));
    if (fastOpen && !denied && url === '/' && req.method === 'GET') {
      serveRootFast(req, res, start);
      return;
    }
    // Probes never go through a gate; with the fast path on they skip express too.
    const probe = config.fastPath && req.method === 'GET' ? probeHandlers.get(url) : undefined;
    const route: RouteLabel = routeLabel(url);
    const series: RouteSeries = metrics.series(route, methodLabel(req.method));
    series.received();
    inFlight++;
    active.add(res);
    res.setHeader(SERVED_BY_HEADER, replica);
    res.setHeader(VERSION_HEADER, version);
    const id = rawHeader(req.rawHeaders, ID_HEADER);
    if (id !== undefined) res.setHeader(ID_HEADER, id);
    if (closeConnections) res.setHeader('connection', 'close');
    res.once('close', () => {
      active.delete(res);
      inFlight--;
      if (res.writableFinished) series.responded(res.statusCode, (performance.now() - start) / 1000);
      else series.aborted();
    });
    if (denied) {
      res.setHeader('www-authenticate', 'Bearer');
      sendJson(res, 401, { error: "a bearer token is required (Authorization: Bearer <the Deployment's secret>)", replica });
    } else if (probe !== undefined) probe(res);
    else if (gated && !isProbeRoute(route)) gate(req, res);
    else app(req, res);
  };

  const server: Server = http.createServer(onRequest);
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    lastConnectionAt = performance.now();
    socket.once('close', () => sockets.delete(socket));
  });

  // ---- the admin port -------------------------------------------------------------------------
  let adminServer: Server | null = null;
  if (config.adminPort !== null) {
    adminServer = http.createServer((req, res) => {
      res.setHeader(SERVED_BY_HEADER, replica);
      res.setHeader(VERSION_HEADER, version);
      const id = rawHeader(req.rawHeaders, ID_HEADER);
      if (id !== undefined) res.setHeader(ID_HEADER, id);
      const route = routeLabel(req.url ?? '/');
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendJson(res, 405, { error: 'the admin port only answers GET' });
        return;
      }
      if (route === '/metrics') {
        // The orchestrator's final read (marked by FINAL_READ_HEADER) is what the linger waits for;
        // a Prometheus scrape in the meantime must not end it.
        if (rawHeader(req.rawHeaders, FINAL_READ_HEADER) !== undefined) {
          finalReadSeen = true;
          if (phase === 'drained') res.once('finish', () => setImmediate(() => exit(0)));
        }
        metricsRoute(res).catch((err: unknown) => {
          hooks.log(`admin /metrics failed: ${err instanceof Error ? err.message : String(err)}`);
          if (!res.headersSent) sendJson(res, 500, { error: 'metrics collection failed' });
          else res.destroy();
        });
      } else if (route === '/healthz') healthz(res);
      else if (route === '/readyz') readyz(res);
      else sendJson(res, 404, { error: `the admin port serves /metrics, /healthz and /readyz, not ${req.url ?? ''}` });
    });
  }

  // ---- lifecycle ----------------------------------------------------------------------------
  const listen = (s: Server, port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      s.once('error', onError);
      s.listen({ port, host: config.host }, () => {
        s.off('error', onError);
        resolve((s.address() as AddressInfo).port);
      });
    });

  const endWarmup = (): void => {
    warm = true;
    if (phase === 'warming') phase = 'serving';
    if (faults.slowStartMs > 0) {
      slowUntil = performance.now() + faults.slowStartMs;
      setTimeout(recompute, faults.slowStartMs + 1);
    }
    recompute();
    if (config.warmupMs > 0 && !draining) hooks.log(`warm-up done: ready`);
  };

  const exit = (code: number): void => {
    if (exited) return;
    exited = true;
    phase = 'exiting';
    // Fault ack-before-fsync: what was acknowledged from memory reaches the disk only here (never on SIGKILL).
    if (kv !== null && faults.ackBeforeFsync) hooks.log(`flushed ${kv.flushSync()} write(s) acknowledged before they were on disk (fault ack-before-fsync)`);
    hooks.exit(code);
  };

  let signalAt = 0;
  let finalReadSeen = false;

  const forceExit = (): void => {
    if (exited) return;
    if (phase === 'drained') {
      exit(0); // lingering for a final scrape; the deadline ends that too
      return;
    }
    const n = sockets.size;
    hooks.log(`drain timeout ${config.drainTimeoutMs} ms reached: destroying ${n} connection(s) still open (${inFlight} request(s) in flight); exiting 0`);
    for (const s of sockets) s.destroy();
    exit(0);
  };

  const drained = (): void => {
    phase = 'drained';
    const left = Math.max(0, config.drainTimeoutMs - (performance.now() - signalAt));
    // Nothing to linger for once the orchestrator has read the final counters.
    const linger = finalReadSeen ? 0 : Math.min(config.exitLingerMs, left);
    hooks.log(
      `drained: no connection left; exiting 0${linger > 0 ? ` after the final counters are read on the admin port, or in ${Math.round(linger)} ms` : ''}`,
    );
    if (linger > 0) setTimeout(() => exit(0), linger);
    else exit(0);
  };

  const markCloseOnActive = (): void => {
    for (const res of active) if (!res.headersSent) res.setHeader('connection', 'close');
  };

  const closeListener = (): void => {
    phase = 'closing';
    closeConnections = true;
    markCloseOnActive();
    if (!server.listening) {
      hooks.log('listener was not open');
      drained();
      return;
    }
    // Logged after the close, so whoever reads the line can rely on connects being refused.
    const closed = (how: string): void =>
      hooks.log(`listener closed${how} (new connections refused); ${sockets.size} connection(s) open, ${inFlight} request(s) in flight`);
    if (faults.closeIdle) {
      server.close(() => drained());
      closed(' with http server.close() (fault close-idle: idle keep-alive sockets destroyed)');
      return;
    }
    // NOT server.close(): on Node >= 19 it also calls closeIdleConnections() (see the header).
    net.Server.prototype.close.call(server, () => drained());
    closed('');
  };

  /**
   * Closes the listener only once no connection has been accepted for QUIET_MS. Closing a
   * listening socket resets the connections that completed their handshake but were not accepted
   * yet; a client may have written a request on one already (seen in sample-app's own shutdown
   * test: a client reconnecting after each `Connection: close` got ECONNRESET at listener close).
   * So while connections still arrive, answer keep-alive (no `Connection: close`, which is what
   * makes a client reconnect) until they stop, then close; every response after that says
   * `Connection: close` again, and the client's next connect is refused, before anything is
   * written. The check runs in setImmediate, right after a poll phase has accepted whatever
   * was pending. When routing has converged (nobody connects any more) this adds no delay.
   */
  const quiesceThenClose = (): void => {
    const startedAt = performance.now();
    const budget = Math.max(0, Math.min(QUIESCE_MAX_MS, config.drainTimeoutMs - (startedAt - signalAt) - 500));
    const check = (): void => {
      setImmediate(() => {
        const now = performance.now();
        const quietFor = now - lastConnectionAt;
        if (quietFor >= QUIET_MS) {
          closeListener();
          return;
        }
        if (phase !== 'quiescing') {
          phase = 'quiescing';
          closeConnections = false;
          for (const res of active) if (!res.headersSent) res.removeHeader('connection');
          hooks.log(
            `quiescing: a connection arrived ${Math.round(quietFor)} ms ago; answering keep-alive until none arrives for ${QUIET_MS} ms (at most ${Math.round(budget)} ms)`,
          );
        }
        if (now - startedAt >= budget) {
          hooks.log(`connections still arriving after ${Math.round(now - startedAt)} ms of quiescing; closing anyway`);
          closeListener();
          return;
        }
        setTimeout(check, Math.max(1, Math.min(QUIET_MS - quietFor, budget - (now - startedAt))));
      });
    };
    check();
  };

  const onSignal = (signal: string): void => {
    if (faults.ignoreSigterm) {
      hooks.log(`${signal} ignored (fault ignore-sigterm): only SIGKILL stops this process`);
      return;
    }
    if (shutdownStarted) {
      hooks.log(`${signal} again: already shutting down`);
      return;
    }
    shutdownStarted = true;
    signalAt = performance.now();
    if (faults.abruptExit) {
      hooks.log(`${signal}: exiting at once (fault abrupt-exit); ${inFlight} request(s) in flight are cut off`);
      exit(0);
      return;
    }
    if (faults.noDrain) {
      hooks.log(`${signal}: destroying ${sockets.size} connection(s) and exiting (fault no-drain); ${inFlight} request(s) in flight`);
      for (const s of sockets) s.destroy();
      exit(0);
      return;
    }
    draining = true;
    closeConnections = true;
    phase = 'draining';
    markCloseOnActive();
    hooks.log(`${signal}: draining: /readyz 503, serving with Connection: close for ${config.drainDelayMs} ms; deadline ${config.drainTimeoutMs} ms`);
    setTimeout(forceExit, config.drainTimeoutMs);
    setTimeout(quiesceThenClose, config.drainDelayMs);
  };

  return {
    config,
    metrics,
    async start() {
      // Without the fast path every request goes through express: load it up front.
      if (!config.fastPath) await loadExpress();
      // The metrics registry (prom-client: ~80 ms of synchronous require) before Ready, not at the
      // first scrape or soon after Ready: a serving replica must never stall on it. Loaded later,
      // it hit all six replicas together (a scrape reaches them within one interval; Ready comes
      // within half a second) just as the load began, and on 2 busy cores HAProxy's health checks
      // (250 ms × 2) took every one of them out: 503 storms in 2 of 7 demos at 6,300 req/s at the
      // first scrape, and in 2 of 6 bench probes at 5,500–6,000 req/s when loaded 250 ms after Ready.
      const t0 = performance.now();
      void metrics.registry;
      hooks.log(`metrics registry loaded before Ready (prom-client, ${Math.round(performance.now() - t0)} ms)`);
      if (config.dataDir !== null) {
        const { createKvStore } = await import('./kv.js');
        kv = createKvStore({
          dir: config.dataDir,
          replica,
          ackBeforeFsync: faults.ackBeforeFsync,
          perReplica: faults.volumePerReplica,
          registry: metrics.registry,
        });
      }
      const port = await listen(server, config.port);
      phase = 'warming';
      if (config.warmupMs > 0) setTimeout(endWarmup, config.warmupMs);
      else endWarmup();
      let adminPort: number | null = null;
      if (adminServer !== null) adminPort = await listen(adminServer, config.adminPort ?? 0);
      return { port, adminPort };
    },
    onSignal,
    phase: () => phase,
    inFlight: () => inFlight,
    openConnections: () => sockets.size,
  };
}
