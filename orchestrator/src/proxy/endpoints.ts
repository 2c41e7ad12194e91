/**
 * The endpoint table: which replicas are in rotation, and the rules that take them out and put
 * them back (passive ejection, active health checks, zone ejection, draining). Pure logic on an
 * injected clock: no sockets here, so every rule is unit-tested with a fake clock.
 *
 * Routing (kube-proxy with ProxyTerminatingEndpoints, KEP-1669): round-robin over endpoints that
 * are serving and not ejected; only when none is left, over draining endpoints that are not
 * ejected; never over ejected ones (no panic mode, unlike Envoy's 50% default: research C2).
 */
import type { Clock } from '../../../common/src/clock.js';
import type { EndpointState, EndpointStats, ProxyEjectionConfig, ProxyEndpoint, ProxyEvent, ProxyHealthCheckConfig } from './types.js';
import { OUTCOMES } from './http-semantics.js';

/** A replica's connection pool as the control plane sees it (an undici Pool or a RawPool). */
export interface UpstreamPool {
  /** Graceful: queued and in-flight requests finish, then the connections close from the client side. */
  close(): Promise<void>;
  /** Now: requests still held fail. */
  destroy(): Promise<void>;
}

/** Administrative state set by the orchestrator (HAProxy's ready / drain / maint). */
export type AdminState = 'serving' | 'draining' | 'removed';

export type EjectReason = 'consecutive_failures' | 'health_check' | 'zone';

export class Endpoint {
  readonly id: string;
  readonly zone: string;
  version: string;
  host: string;
  port: number;
  admin: AdminState = 'serving';
  ejected = false;
  ejectedAt = 0;
  ejectReason: EjectReason | null = null;
  /** Local-origin failures (connect error, reset, timeout) since the last response. */
  consecutiveFailures = 0;
  /** Consecutive active health check results. */
  hcFailures = 0;
  hcPasses = 0;
  /** Upstream attempts not finished yet (undici has not called back). */
  inFlight = 0;
  /** Attempts by outcome, indexed like OUTCOMES. */
  readonly attempts = new Float64Array(OUTCOMES.length);
  /** Upstream responses by status code (index = code). */
  readonly responses = new Float64Array(600);
  ejections = 0;
  /** Slow start: when it (re)joined the rotation, and the share of its turns it has taken up. */
  joinedAt = 0;
  slowCredit = 0;
  /**
   * Idle keep-alive connections the replica closed before their keep-alive limit; null while no
   * pool that can tell (the raw client's) has served it: unknown, not 0.
   */
  idleClosedByReplica: number | null = null;
  /** Its connection pool while it can be routed to (owned by the proxy; null here in unit tests). */
  pool: UpstreamPool | null = null;

  constructor(spec: ProxyEndpoint) {
    this.id = spec.id;
    this.zone = spec.zone;
    this.version = spec.version;
    this.host = spec.host;
    this.port = spec.port;
  }

  get origin(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** One state for reports: removed > draining > ejected > active. */
  get state(): EndpointState {
    if (this.admin === 'removed') return 'removed';
    if (this.admin === 'draining') return 'draining';
    if (this.ejected) return 'ejected';
    return 'active';
  }

  stats(): EndpointStats {
    const attempts = { response: 0, connect_error: 0, reset: 0, timeout: 0, other_error: 0 };
    for (let i = 0; i < OUTCOMES.length; i++) attempts[OUTCOMES[i] as keyof typeof attempts] = this.attempts[i] as number;
    const responses: Record<string, number> = {};
    for (let c = 0; c < this.responses.length; c++) {
      const n = this.responses[c] as number;
      if (n > 0) responses[String(c)] = n;
    }
    return {
      id: this.id,
      zone: this.zone,
      version: this.version,
      state: this.state,
      attempts,
      responses,
      inFlight: this.inFlight,
      ejections: this.ejections,
      ...(this.idleClosedByReplica !== null ? { idleClosedByReplica: this.idleClosedByReplica } : {}),
    };
  }
}

export interface EndpointTableConfig {
  ejection: ProxyEjectionConfig;
  healthCheck: Pick<ProxyHealthCheckConfig, 'unhealthyThreshold' | 'healthyThreshold'>;
  slowStartMs?: number;
}

/** Envoy's min_weight_percent: a replica in slow start gets at least this share of its turns. */
export const SLOW_START_MIN_SHARE = 0.1;

export class EndpointTable {
  private readonly byId = new Map<string, Endpoint>();
  /** Routable now: serving and not ejected, in insertion order. */
  private active: Endpoint[] = [];
  /** Routable only when `active` is empty: draining and not ejected. */
  private fallback: Endpoint[] = [];
  private rr = 0;
  /** Until when some routable endpoint is still in slow start (0 = none). */
  private warmUntil = 0;
  private rrFallback = 0;
  private rrRetry = 0;
  private readonly lastZoneEjection = new Map<string, number>();
  zoneEjections = 0;
  readonly zoneEjectionsByZone = new Map<string, number>();

  constructor(
    private readonly config: EndpointTableConfig,
    private readonly clock: Clock,
    private readonly emit: (event: ProxyEvent) => void = () => undefined,
  ) {}

  get(id: string): Endpoint | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<Endpoint> {
    return this.byId.values();
  }

  get activeCount(): number {
    return this.active.length;
  }

  /**
   * Adds a new endpoint in rotation, or puts a known one back: a removed (drained) one starts
   * afresh; a draining one returns to serving but stays ejected if it was; adding one that is
   * already serving at the same address changes nothing (a repeated add must not un-eject it).
   */
  add(spec: ProxyEndpoint): Endpoint {
    let ep = this.byId.get(spec.id);
    if (ep !== undefined && ep.admin === 'serving' && ep.host === spec.host && ep.port === spec.port) {
      ep.version = spec.version;
      return ep;
    }
    if (ep === undefined) {
      ep = new Endpoint(spec);
      this.byId.set(spec.id, ep);
    } else {
      const fresh = ep.admin === 'removed' || ep.host !== spec.host || ep.port !== spec.port;
      ep.version = spec.version;
      ep.host = spec.host;
      ep.port = spec.port;
      if (fresh) {
        ep.ejected = false;
        ep.ejectReason = null;
        ep.consecutiveFailures = 0;
        ep.hcFailures = 0;
        ep.hcPasses = 0;
      }
    }
    // Slow start counts from joining (or rejoining after a removal), not from a drain undone.
    if (ep.admin !== 'draining') {
      ep.joinedAt = this.clock.now();
      ep.slowCredit = 0;
    }
    ep.admin = 'serving';
    this.rebuild();
    this.emit({ t: this.clock.now(), type: 'endpoint.added', replica: ep.id, zone: ep.zone, reason: null });
    return ep;
  }

  setAdmin(ep: Endpoint, admin: AdminState): void {
    if (ep.admin === admin) return;
    ep.admin = admin;
    this.rebuild();
    const type = admin === 'draining' ? 'endpoint.draining' : admin === 'removed' ? 'endpoint.removed' : 'endpoint.added';
    this.emit({ t: this.clock.now(), type, replica: ep.id, zone: ep.zone, reason: null });
  }

  /**
   * The next endpoint in round-robin order that is not in `tried` (retries always go to a
   * different replica: Envoy previous_hosts, HAProxy redispatch). null = nowhere to go.
   * A retry prefers a zone none of its failed tries was in (Envoy's previous_priorities, per
   * zone): when a zone dies with three replicas in it, three tries that only avoid the replicas
   * already tried can all land there (measured: 3 requests lost in 12 crashes under load).
   * Retries turn their own cursor, so they neither shift the rotation of first attempts (a dead
   * replica would otherwise be picked first by every request) nor all land on one neighbour.
   */
  pick(tried: readonly Endpoint[] | null): Endpoint | null {
    const retry = tried !== null && tried.length > 0;
    let list = this.active;
    let n = list.length;
    // Slow start shapes first attempts only: a retry goes wherever it can.
    let gate = false;
    let now = 0;
    if (!retry && this.warmUntil !== 0) {
      now = this.clock.now();
      if (now >= this.warmUntil) this.warmUntil = 0;
      else gate = true;
    }
    let passedOver: Endpoint | null = null;
    let passedOverNext = 0;
    let sameZone: Endpoint | null = null;
    let sameZoneNext = 0;
    for (let k = 0; k < n; k++) {
      let i = retry ? this.rrRetry : this.rr;
      if (i >= n) i = 0;
      if (retry) this.rrRetry = i + 1;
      else this.rr = i + 1;
      const ep = list[i] as Endpoint;
      if (retry) {
        if (tried.includes(ep)) continue;
        if (triedZone(tried, ep.zone)) {
          if (sameZone === null) {
            sameZone = ep;
            sameZoneNext = i + 1;
          }
          continue;
        }
        return ep;
      }
      if (gate && !this.takesTurn(ep, now)) {
        if (passedOver === null) {
          passedOver = ep;
          passedOverNext = i + 1;
        }
        continue;
      }
      return ep;
    }
    // Every replica not tried yet is in a zone that already failed this request: take one anyway.
    if (sameZone !== null) {
      this.rrRetry = sameZoneNext;
      return sameZone;
    }
    // Everyone is warming (a deployment that just started): no one is held back, in turn.
    if (passedOver !== null) {
      this.rr = passedOverNext;
      return passedOver;
    }
    list = this.fallback;
    n = list.length;
    for (let k = 0; k < n; k++) {
      let i = this.rrFallback;
      if (i >= n) i = 0;
      this.rrFallback = i + 1;
      const ep = list[i] as Endpoint;
      if (!retry || !tried.includes(ep)) return ep;
    }
    return null;
  }

  /** An upstream answered (any status): the replica is alive. */
  recordResponse(ep: Endpoint): void {
    ep.consecutiveFailures = 0;
  }

  /** A local-origin failure (connect error, reset, per-try timeout): passive ejection (Envoy consecutive local-origin failures). */
  recordFailure(ep: Endpoint): void {
    ep.consecutiveFailures++;
    if (!ep.ejected && ep.admin !== 'removed' && ep.consecutiveFailures >= this.config.ejection.consecutiveFailures) {
      this.eject(ep, 'consecutive_failures');
    }
  }

  /** One active health check result. */
  recordHealthCheck(ep: Endpoint, ok: boolean): void {
    if (ep.admin === 'removed') return;
    if (ok) {
      ep.hcFailures = 0;
      ep.hcPasses++;
      if (ep.ejected) this.maybeReturn(ep);
      return;
    }
    ep.hcPasses = 0;
    ep.hcFailures++;
    if (!ep.ejected && ep.hcFailures >= this.config.healthCheck.unhealthyThreshold) this.eject(ep, 'health_check');
  }

  private hasOtherRoutable(ep: Endpoint): boolean {
    for (const other of this.byId.values()) {
      if (other !== ep && other.admin === 'serving' && !other.ejected) return true;
    }
    return false;
  }

  /** Re-evaluates ejected endpoints whose minimum ejection time may have passed since their last check. */
  private maybeReturn(ep: Endpoint): void {
    const now = this.clock.now();
    if (ep.hcPasses < this.config.healthCheck.healthyThreshold) return;
    if (now - ep.ejectedAt < this.config.ejection.minEjectionMs) return;
    ep.ejected = false;
    ep.ejectReason = null;
    ep.consecutiveFailures = 0;
    this.rebuild();
    this.emit({ t: now, type: 'endpoint.returned', replica: ep.id, zone: ep.zone, reason: null });
  }

  private eject(ep: Endpoint, reason: EjectReason): void {
    const now = this.clock.now();
    // Never eject the last routable replica (Envoy's max_ejection_percent keeps at least one
    // host too): when the whole machine is starved, every health check is slow at once, and
    // ejecting them all would turn a slowdown into a total outage of 503s.
    if (reason !== 'zone' && ep.admin === 'serving' && !this.hasOtherRoutable(ep)) {
      this.emit({ t: now, type: 'endpoint.ejection-skipped', replica: ep.id, zone: ep.zone, reason: `${reason}: last routable replica` });
      return;
    }
    ep.ejected = true;
    ep.ejectedAt = now;
    ep.ejectReason = reason;
    ep.ejections++;
    ep.hcPasses = 0;
    this.rebuild();
    this.emit({ t: now, type: 'endpoint.ejected', replica: ep.id, zone: ep.zone, reason });
    if (reason !== 'zone') this.maybeEjectZone(ep.zone, now);
  }

  /**
   * Zone ejection: when `zoneEjectionThreshold` replicas of one zone were ejected on their own
   * within `zoneWindowMs`, the rest of the zone is presumed gone too and is ejected at once,
   * healthy-looking members included (a partition often shows up replica by replica). Members that
   * really are fine come back like any ejected endpoint: `healthyThreshold` passing checks and
   * `minEjectionMs`. Never done when it would leave no routable endpoint outside the zone (then it
   * is not a zone to route around, it is the whole service), and at most once per window per zone.
   */
  private maybeEjectZone(zone: string, now: number): void {
    const { zoneEjectionThreshold, zoneWindowMs } = this.config.ejection;
    if (zoneEjectionThreshold <= 0) return;
    const last = this.lastZoneEjection.get(zone);
    if (last !== undefined && now - last < zoneWindowMs) return;
    let recent = 0;
    let remaining = 0;
    const members: Endpoint[] = [];
    for (const ep of this.byId.values()) {
      if (ep.admin === 'removed') continue;
      if (ep.zone !== zone) {
        if (!ep.ejected && ep.admin === 'serving') remaining++;
        continue;
      }
      members.push(ep);
      if (ep.ejected && ep.ejectReason !== 'zone' && now - ep.ejectedAt <= zoneWindowMs) recent++;
    }
    if (recent < zoneEjectionThreshold) return;
    this.lastZoneEjection.set(zone, now);
    if (remaining === 0) {
      this.emit({ t: now, type: 'zone.ejection-skipped', replica: null, zone, reason: 'no routable endpoint outside the zone' });
      return;
    }
    this.zoneEjections++;
    this.zoneEjectionsByZone.set(zone, (this.zoneEjectionsByZone.get(zone) ?? 0) + 1);
    this.emit({ t: now, type: 'zone.ejected', replica: null, zone, reason: `${recent} replicas ejected within ${zoneWindowMs} ms` });
    for (const ep of members) if (!ep.ejected) this.eject(ep, 'zone');
  }

  /**
   * Whether a replica in slow start takes this turn: its share grows linearly with the time since
   * it joined (at least SLOW_START_MIN_SHARE); each turn adds the share to its credit and a whole
   * credit buys a request, so it gets exactly that fraction of its turns, deterministically.
   */
  private takesTurn(ep: Endpoint, now: number): boolean {
    const window = this.config.slowStartMs ?? 0;
    const age = now - ep.joinedAt;
    if (age >= window) return true;
    ep.slowCredit += Math.max(SLOW_START_MIN_SHARE, age / window);
    if (ep.slowCredit < 1) return false;
    ep.slowCredit -= 1;
    return true;
  }

  private rebuild(): void {
    const active: Endpoint[] = [];
    const fallback: Endpoint[] = [];
    const window = this.config.slowStartMs ?? 0;
    let warmUntil = 0;
    for (const ep of this.byId.values()) {
      if (ep.ejected) continue;
      if (ep.admin === 'serving') {
        active.push(ep);
        if (window > 0) warmUntil = Math.max(warmUntil, ep.joinedAt + window);
      } else if (ep.admin === 'draining') fallback.push(ep);
    }
    this.active = active;
    this.fallback = fallback;
    this.warmUntil = warmUntil > this.clock.now() ? warmUntil : 0;
  }
}

function triedZone(tried: readonly Endpoint[], zone: string): boolean {
  for (const t of tried) if (t.zone === zone) return true;
  return false;
}
