/**
 * Endpoint administration, the proxy's control plane: adding a replica (its pool and health
 * checker), draining it (out of rotation, wait for its in-flight requests, then close its pool
 * from the client side) and removing it at once. The request path only reads the table.
 */
import type { Clock } from '../../../common/src/clock.js';
import { ZerodropError } from '../../../common/src/errors.js';
import type { Endpoint, EndpointTable, UpstreamPool } from './endpoints.js';
import { HealthChecker } from './health.js';
import type { DrainResult, ProxyConfig, ProxyEndpoint, ProxyEvent } from './types.js';

export class EndpointAdmin {
  private readonly checkers = new Map<string, HealthChecker>();
  /** Drains waiting for an endpoint's in-flight requests (the request path releases them). */
  readonly drainWaiters = new Map<Endpoint, Array<() => void>>();

  constructor(
    private readonly config: ProxyConfig,
    private readonly table: EndpointTable,
    private readonly clock: Clock,
    private readonly pushEvent: (e: ProxyEvent) => void,
    private readonly createPool: (ep: Endpoint) => UpstreamPool,
    private readonly isClosing: () => boolean,
  ) {}

  async add(spec: ProxyEndpoint): Promise<void> {
    validateEndpoint(spec);
    if (this.isClosing()) throw new ZerodropError('ZD_PROXY_FAILED', `proxy is closing: cannot add endpoint ${spec.id}`);
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
      checker = new HealthChecker(ep, this.config.healthCheck, this.config.upstream.connectTimeoutMs, (e, ok) => this.table.recordHealthCheck(e, ok));
      this.checkers.set(ep.id, checker);
      checker.start();
    }
  }

  async drain(id: string, timeoutMs: number): Promise<DrainResult> {
    const ep = this.mustGet(id);
    if (ep.admin === 'removed') return { inFlightAtRemoval: 0, drainedInMs: 0, complete: true };
    const started = this.clock.now();
    this.table.setAdmin(ep, 'draining');
    const unroutedAt = this.clock.now();
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
    if (ep.admin !== 'draining') return { inFlightAtRemoval, drainedInMs, complete, unroutedAt };
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
    return { inFlightAtRemoval, drainedInMs, complete, unroutedAt };
  }

  async remove(id: string): Promise<void> {
    const ep = this.mustGet(id);
    if (ep.admin === 'removed' && ep.pool === null) return;
    this.table.setAdmin(ep, 'removed');
    const pool = ep.pool;
    ep.pool = null;
    // In-flight attempts fail now (UND_ERR_DESTROYED) and are retried elsewhere when allowed.
    const destroyed = pool === null ? Promise.resolve() : pool.destroy().catch(() => undefined);
    await Promise.all([destroyed, this.stopChecker(ep.id)]);
  }

  releaseDrainWaiters(ep: Endpoint): void {
    const list = this.drainWaiters.get(ep);
    if (list === undefined) return;
    this.drainWaiters.delete(ep);
    for (const fn of list) fn();
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

  async stopChecker(id: string): Promise<void> {
    const c = this.checkers.get(id);
    if (c === undefined) return;
    this.checkers.delete(id);
    await c.stop();
  }

  /** Stops every health checker (the proxy is shutting down). */
  async stopAllCheckers(): Promise<void> {
    await Promise.all([...this.checkers.keys()].map((id) => this.stopChecker(id)));
  }
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
