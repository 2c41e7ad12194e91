/**
 * The service proxy (the data plane): node:http in front, one connection pool per replica behind
 * (the raw client of raw-client.ts by default, or an undici Pool: undici-client.ts), loopback
 * only. This file is its face: listeners, the ProxyControl port (endpoint administration is
 * endpoint-admin.ts), stats and shutdown. Requests go through the state machine of request-path.ts.
 * docs/architecture.md, "Data planes".
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';
import { settledWithin } from '../../../common/src/async.js';
import { systemClock } from '../../../common/src/clock.js';
import type { Clock } from '../../../common/src/clock.js';
import { validateProxyConfig } from './config.js';
import { onClientError, onConnectMethod } from './downstream.js';
import { EndpointAdmin } from './endpoint-admin.js';
import { EndpointTable } from './endpoints.js';
import type { UpstreamPool } from './endpoints.js';
import { ClientConn, kClient, onClientSocketClose } from './exchange.js';
import type { XSocket } from './exchange.js';
import { addressPort, hostForUrl, listenOn, metricsServer } from './listener.js';
import { createProxyRegistry } from './metrics.js';
import { RequestPath } from './request-path.js';
import type { UndiciHandlerApi } from './request-path.js';
import type { DrainResult, FailedTryLog, ProxyConfig, ProxyControl, ProxyEndpoint, ProxyEvent, ProxyStats } from './types.js';

const MAX_EVENTS = 1000;
/** close() waits this long for in-flight requests before cutting connections. */
const CLOSE_GRACE_MS = 10_000;
const POOL_CLOSE_GRACE_MS = 2_000;

/** Optional knobs for benchmarks and tests; not part of ProxyConfig. */
export interface ServiceProxyOptions {
  clock?: Clock;
  /**
   * With upstream.client 'undici' only, its handler style: 'legacy' (onConnect/onHeaders/onData/
   * onComplete/onError, raw header buffers, no wrapper objects: the default, measured faster) or
   * 'controller' (the v7 onRequestStart/onResponse* API, wrapped by undici in UnwrapHandler +
   * parseHeaders).
   */
  handlerApi?: UndiciHandlerApi;
}

export class ServiceProxy implements ProxyControl {
  readonly config: ProxyConfig;
  url = '';
  metricsUrl: string | null = null;
  readonly registry: Registry;

  private readonly server: http.Server;
  private metricsServer: http.Server | null = null;
  private readonly table: EndpointTable;
  private readonly clock: Clock;
  private readonly admin: EndpointAdmin;
  private readonly path: RequestPath;
  private readonly events: ProxyEvent[] = [];
  private closed = false;

  constructor(config: ProxyConfig, options: ServiceProxyOptions = {}) {
    this.config = validateProxyConfig(config);
    this.clock = options.clock ?? systemClock;
    this.table = new EndpointTable(config, this.clock, (e) => this.pushEvent(e));
    this.admin = new EndpointAdmin(
      this.config,
      this.table,
      this.clock,
      (e) => this.pushEvent(e),
      (ep) => this.path.createPool(ep),
      () => this.path.closing,
    );
    const path = new RequestPath(this.config, this.table, this.admin, options.handlerApi, this.clock);
    this.path = path;
    this.registry = createProxyRegistry(config.runId, {
      received: () => path.received,
      responded: () => path.responded,
      clientAborts: () => path.clientAborts,
      malformed: () => path.malformed,
      inFlight: () => path.inFlight,
      retries: () => path.retries,
      retryBudgetExhausted: () => path.retryBudgetExhausted,
      savedByRetry: () => path.savedByRetry,
      zoneEjections: () => this.table.zoneEjectionsByZone,
      endpoints: () => this.table.all(),
      durations: () => path.durations,
    });

    this.server = http.createServer(path.onRequest.bind(path));
    this.server.on('clientError', (err: Error & { code?: string }, socket: Duplex) => onClientError(path, err, socket));
    this.server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => onConnectMethod(path, socket));
    this.server.on('connection', (socket: Duplex) => {
      (socket as XSocket)[kClient] = new ClientConn(path);
      socket.on('close', onClientSocketClose);
    });
  }

  /** Binds the listener (and the metrics listener); resolves once both accept connections. */
  async listen(): Promise<void> {
    const { host, port } = this.config;
    await listenOn(this.server, host, port);
    this.url = `http://${hostForUrl(host)}:${addressPort(this.server)}`;
    if (this.config.metricsPort !== null) {
      this.metricsServer = metricsServer(this.registry);
      await listenOn(this.metricsServer, host, this.config.metricsPort);
      this.metricsUrl = `http://${hostForUrl(host)}:${addressPort(this.metricsServer)}/metrics`;
    }
    this.path.startTimers();
  }

  // ------------------------------------------------------------------ control plane

  addEndpoint(spec: ProxyEndpoint): Promise<void> {
    return this.admin.add(spec);
  }

  drainEndpoint(id: string, timeoutMs: number): Promise<DrainResult> {
    return this.admin.drain(id, timeoutMs);
  }

  removeEndpoint(id: string): Promise<void> {
    return this.admin.remove(id);
  }

  async failedTries(): Promise<FailedTryLog> {
    return { tries: this.path.failed.slice(), dropped: this.path.failedDropped, resolutionMs: 0 };
  }

  async stats(): Promise<ProxyStats> {
    return this.statsSync();
  }

  statsSync(): ProxyStats {
    const path = this.path;
    const responded: Record<string, number> = {};
    for (let c = 0; c < path.responded.length; c++) {
      const n = path.responded[c] as number;
      if (n > 0) responded[String(c)] = n;
    }
    return {
      received: path.received,
      responded,
      clientAborts: path.clientAborts,
      inFlight: path.inFlight,
      retries: { ...path.retries },
      retryBudgetExhausted: path.retryBudgetExhausted,
      savedByRetry: path.savedByRetry,
      zoneEjections: this.table.zoneEjections,
      endpoints: [...this.table.all()].map((e) => e.stats()),
      malformedRequests: path.malformed,
      events: this.events.slice(),
      ids: path.ids.stats(),
    };
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.path.closing = true;
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.path.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_GRACE_MS);
        timer.unref();
        this.path.idleWaiters.push(() => {
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
    this.path.closing = true;
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await this.shutdown(true);
    await serverClosed;
  }

  private pushEvent(e: ProxyEvent): void {
    this.events.push(e);
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }

  private async shutdown(hard: boolean): Promise<void> {
    this.closed = true;
    this.path.stopTimers();
    await this.admin.stopAllCheckers();
    const pools: UpstreamPool[] = [];
    for (const ep of this.table.all()) {
      if (ep.pool !== null) pools.push(ep.pool);
      ep.pool = null;
    }
    // Graceful close waits for queued attempts; an abandoned one stuck on a hung replica could
    // wait forever, so a close that takes longer than POOL_CLOSE_GRACE_MS becomes a destroy.
    await Promise.all(pools.map((p) => (hard ? p.destroy().catch(() => undefined) : closeWithin(p, POOL_CLOSE_GRACE_MS))));
    for (const ep of this.table.all()) this.admin.releaseDrainWaiters(ep);
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

async function closeWithin(pool: UpstreamPool, ms: number): Promise<void> {
  if (!(await settledWithin(pool.close(), ms))) await pool.destroy().catch(() => undefined);
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
