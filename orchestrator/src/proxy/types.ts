/**
 * The service proxy (the data plane): a Kubernetes Service + a careful L7 load balancer.
 * node:http in front, undici Pools to the replicas, on loopback only.
 */
import type { IdAttestationStats, IdMode } from './id-attestation.js';

export interface ProxyRetryConfig {
  /** false = never retry (negative controls: show what the replicas alone would have cost). */
  enabled: boolean;
  /** Total tries per request including the first (Envoy num_retries + 1). */
  maxAttempts: number;
  /** Per-try timeout for response headers; far below the driver's timeout (hang detection). */
  perTryTimeoutMs: number;
  /**
   * Retry budget (Envoy retry_budget): retries in flight may not exceed
   * max(minConcurrency, ratio × requests in flight). Sized so a whole zone's share of
   * 20k req/s can be retried; a static cap of 3 (Envoy's default) would overflow.
   */
  budgetRatio: number;
  budgetMinConcurrency: number;
  /**
   * Declare PUT and DELETE idempotent (RFC 9110 §9.2.2): the data plane may then replay them after
   * their first byte, like GET. Off by default: a write is never replayed (http-semantics.ts).
   */
  idempotentWrites?: boolean;
}

export interface ProxyHealthCheckConfig {
  /** Active health checks on this path (the replica's liveness path by default). */
  path: string;
  intervalMs: number;
  timeoutMs: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
}

export interface ProxyEjectionConfig {
  /** Consecutive local-origin failures (connect error, reset, timeout) that eject a replica. */
  consecutiveFailures: number;
  /** Ejected replicas return after passing active health checks, but not before this. */
  minEjectionMs: number;
  /**
   * When this many replicas of one zone are ejected within zoneWindowMs, eject the whole zone:
   * the rest of it is presumed gone too (a zone outage, not a bad replica). 0 = off.
   */
  zoneEjectionThreshold: number;
  zoneWindowMs: number;
}

/**
 * How the proxy talks to replicas. 'raw': its own keep-alive connections on net.Socket, one
 * request at a time per connection, a minimal HTTP/1.1 parser (raw-upstream.ts; about half the
 * CPU per request). 'undici': one undici Pool per replica (the only one that pipelines).
 */
export type UpstreamClient = 'raw' | 'undici';

export interface ProxyUpstreamConfig {
  /** Upstream HTTP client. Default 'raw' (DEFAULT_UPSTREAM_CLIENT). */
  client?: UpstreamClient;
  /** Keep-alive connections per replica (the most open at once; more requests wait for one). */
  connectionsPerReplica: number;
  /** undici pipelining (1 = keep-alive, no pipelining). The raw client never pipelines: it only accepts 1. */
  pipelining: number;
  /** Idle keep-alive kept below the replica's own keepAliveTimeout (client < server on every hop). */
  keepAliveTimeoutMs: number;
  connectTimeoutMs: number;
  /**
   * Responses up to this many bytes are buffered and written downstream in one go (one syscall,
   * and a reset mid-body can still be retried for idempotent requests); larger ones are streamed
   * from the first byte past it. 0 = always stream. Default 65536. (Added by the proxy.)
   */
  responseBufferBytes?: number;
  /** Max idle time between response body chunks once headers arrived. Default 30000. */
  bodyTimeoutMs?: number;
}

export interface ProxyConfig {
  runId: string;
  /** Always a loopback address. */
  host: string;
  /** 0 = ephemeral. */
  port: number;
  retries: ProxyRetryConfig;
  healthCheck: ProxyHealthCheckConfig;
  ejection: ProxyEjectionConfig;
  upstream: ProxyUpstreamConfig;
  /** Request bodies are buffered (so they can be replayed on retry) up to this size; larger → 413. */
  maxBodyBytes: number;
  /** Port for the proxy's own /metrics (0 = ephemeral, null = none). */
  metricsPort: number | null;
  /**
   * Slow start (Envoy's slow_start_config, HAProxy's `slowstart`): a replica that joins the
   * rotation gets a share of first attempts that grows linearly from 10 % to 100 % over this
   * window, so a cold JIT is not handed its full share at once. 0 (default) = off.
   */
  slowStartMs?: number;
  /**
   * x-zerodrop-id on responses of a service that does not echo it (id-attestation.ts): 'auto'
   * (default: decided from the first upstream 2xx), 'echo' or 'attest'.
   */
  ids?: IdMode;
}

export const DEFAULT_UPSTREAM_CLIENT: UpstreamClient = 'raw';

/**
 * Health-check defaults of the HAProxy data plane, where they differ from the Node proxy's.
 * HAProxy's passive observation (`observe layer4`) sees failed connects only, never a try
 * that timed out (a hung replica accepts connections), and `option redispatch` only avoids the *previous*
 * server, so with two hung replicas a request can spend all its tries on them: the active check
 * is the only detector, and it must mark a frozen replica down within about two per-try
 * timeouts. Measured (zone hang, 6 replicas, perTryTimeout 400 ms): 500 ms × 3 → 3-7 failed
 * requests (504 after three hung tries); 250 ms × 2 → 0. HAProxy spends ~1/3 of the Node
 * proxy's CPU, so a starved replica is less likely to be mistaken for a dead one.
 */
export const HAPROXY_HEALTH_CHECK_DEFAULTS: Pick<ProxyHealthCheckConfig, 'timeoutMs' | 'unhealthyThreshold'> = {
  timeoutMs: 250,
  unhealthyThreshold: 2,
};

/**
 * Tries per request on the HAProxy data plane, where the scenario leaves proxy.maxAttempts unset.
 * `option redispatch 1` moves every retry to another server, but avoids only the one just tried,
 * and a server leaves rotation only when a try's connect fails (passive ejection, config.ts) or
 * its checks fail. When a zone of k replicas dies, a request can spend k + 1 tries there before
 * it finds a live zone: one on a pooled connection the dead replica had kept idle (the request
 * went out before HAProxy read that connection's FIN: an empty response, which marks nothing
 * down), then one refused connect per replica, each marking it down. Out of tries, HAProxy logs
 * "503 0 SC-- +3" and, on a keep-alive connection that is not the client's first request, closes
 * it without the 503: a reset for the client.
 * Measured (demo replicas, HAProxy 2.6.12, 2 CPU hogs at nice 0, zone crashes and recoveries in
 * turn, logs of every retried request):
 *   - 3 tries: 7 requests lost in 6 of 20 crashes (2 dead replicas a zone).
 *   - 4 tries: 1 lost in 36 crashes at 1,000 req/s (6 replicas, 3 dead in a zone after a
 *     reschedule; "503 SC-- +3"); 7 more requests needed all 4.
 *   - 6 tries: 0 lost in 45 crashes at 1,000 req/s and 0 in 33 at 2,000 req/s (9 replicas, 3 a
 *     zone, 10 tries allowed): the most any request needed was 5 (+4), i.e. k + 2.
 * So 6 covers zones of up to 4 replicas. The Node proxy avoids every replica already tried and
 * prefers a zone that has not failed the request, so 3 is enough there.
 */
export const HAPROXY_MAX_ATTEMPTS_DEFAULT = 6;

export const DEFAULT_PROXY_CONFIG: Omit<ProxyConfig, 'runId'> = {
  host: '127.0.0.1',
  port: 0,
  retries: {
    enabled: true,
    maxAttempts: 3,
    perTryTimeoutMs: 1000,
    budgetRatio: 0.5,
    budgetMinConcurrency: 256,
  },
  // A hung replica is caught first by the per-try timeout of the requests sent to it; the
  // health check only has to keep it out afterwards, so it can afford not to mistake a replica
  // starved of CPU for a dead one (3 misses of 500 ms).
  healthCheck: {
    path: '/healthz',
    intervalMs: 250,
    timeoutMs: 500,
    unhealthyThreshold: 3,
    healthyThreshold: 2,
  },
  ejection: {
    consecutiveFailures: 3,
    minEjectionMs: 1000,
    zoneEjectionThreshold: 2,
    zoneWindowMs: 2000,
  },
  upstream: {
    client: DEFAULT_UPSTREAM_CLIENT,
    connectionsPerReplica: 32,
    pipelining: 1,
    keepAliveTimeoutMs: 2000,
    connectTimeoutMs: 500,
  },
  maxBodyBytes: 1024 * 1024,
  metricsPort: null,
};

export interface ProxyEndpoint {
  /** The replica id (label `replica`). */
  id: string;
  host: string;
  port: number;
  zone: string;
  version: string;
}

/** Where an endpoint stands in the proxy's rotation. */
export type EndpointState =
  /** In rotation. */
  | 'active'
  /** Taken out of rotation by the orchestrator; in-flight requests finish. */
  | 'draining'
  /** Out of rotation after failures (passive) or failed health checks (active). */
  | 'ejected'
  /** Drained and forgotten by the rotation; kept in stats. */
  | 'removed';

/** How one upstream attempt ended. */
export type UpstreamOutcome = 'response' | 'connect_error' | 'reset' | 'timeout' | 'other_error';

export type RetryReason = 'connect_error' | 'reset' | 'timeout';

export interface EndpointStats {
  id: string;
  zone: string;
  version: string;
  state: EndpointState;
  /** Attempts sent to this replica, by how they ended. */
  attempts: Record<UpstreamOutcome, number>;
  /** Upstream responses by status code ("200", "503"...). */
  responses: Record<string, number>;
  inFlight: number;
  ejections: number;
  /**
   * Idle keep-alive connections this replica closed while the proxy could have been writing on
   * them (before their keep-alive limit): contract rule 2. Undefined where the data plane cannot
   * tell (the undici client, HAProxy).
   */
  idleClosedByReplica?: number;
}

export interface ProxyStats {
  /** Downstream requests received (complete request heads). */
  received: number;
  /** Downstream responses sent, by status code. */
  responded: Record<string, number>;
  /** Downstream requests whose client went away before the response ended. */
  clientAborts: number;
  inFlight: number;
  /** Retries performed, by the reason of the failed attempt. */
  retries: Record<RetryReason, number>;
  /** Retries refused because the budget was exhausted. */
  retryBudgetExhausted: number;
  /** Requests that succeeded only thanks to at least one retry. */
  savedByRetry: number;
  /** Zone-wide ejections performed. */
  zoneEjections: number;
  endpoints: EndpointStats[];
  /** Requests rejected before routing because they were not valid HTTP (400/431, never counted in received). */
  malformedRequests?: number;
  /** Routing events (ejections, returns, drains), oldest first, bounded (latest 1000). */
  events?: ProxyEvent[];
  /** Whether the service echoed x-zerodrop-id or the data plane attested it (id-attestation.ts). */
  ids?: IdAttestationStats;
}

/** Something the data plane did on its own, stamped on the run's monotonic clock (common/clock.ts). */
export interface ProxyEvent {
  /** Monotonic ms. */
  t: number;
  type:
    | 'endpoint.added'
    | 'endpoint.ejected'
    | 'endpoint.returned'
    | 'endpoint.draining'
    | 'endpoint.drained'
    | 'endpoint.removed'
    | 'zone.ejected'
    | 'zone.ejection-skipped'
    | 'endpoint.ejection-skipped';
  replica: string | null;
  zone: string;
  /** ejected: 'consecutive_failures' | 'health_check' | 'zone'; others: free text or null. */
  reason: string | null;
}

export interface DrainResult {
  /** Requests to this replica in flight when it left the rotation. */
  inFlightAtRemoval: number;
  /** How long the in-flight requests took to finish. */
  drainedInMs: number;
  /** false if the wait hit its deadline with requests still in flight. */
  complete: boolean;
  /** Monotonic ms at which it was out of rotation (absent: it already was). */
  unroutedAt?: number;
}

/** What a data plane logged of the requests that failed (ProxyControl.loggedRequests). */
export interface LoggedRequests {
  /** Request id → the data plane's one-line account of it (HAProxy: haproxy/request-log.ts accountOf). */
  accounts: ReadonlyMap<string, string>;
  /** Failed requests logged beyond what it keeps. */
  dropped: number;
}

/** What the orchestrator can ask of the data plane. Implemented in-thread and across a worker. */
export interface ProxyControl {
  /** The URL clients send traffic to, e.g. http://127.0.0.1:40123 */
  readonly url: string;
  /** The proxy's own metrics URL, or null. */
  readonly metricsUrl: string | null;
  addEndpoint(endpoint: ProxyEndpoint): Promise<void>;
  /**
   * Take a replica out of rotation now, wait (up to timeoutMs) for its in-flight requests,
   * then close its connection pool from the client side (no keep-alive race).
   */
  drainEndpoint(id: string, timeoutMs: number): Promise<DrainResult>;
  /** Forget a replica at once (it is gone: crashed, killed). In-flight attempts fail and may retry. */
  removeEndpoint(id: string): Promise<void>;
  stats(): Promise<ProxyStats>;
  /** Every failed upstream try with its replica and time (read once, at the end of the load). */
  failedTries(): Promise<FailedTryLog>;
  /**
   * The data plane's own account of each failed request, by request id, where it keeps one
   * (HAProxy: status, termination state, tries, last server; haproxy/request-log.ts).
   */
  loggedRequests?(): Promise<LoggedRequests>;
  /** Prometheus text exposition of the proxy's registry. */
  metrics(): Promise<string>;
  /** Stop accepting, let in-flight requests finish, close pools. */
  close(): Promise<void>;
  /** Abort everything now. */
  destroy(): Promise<void>;
}

/**
 * An upstream try that failed on a replica (then retried elsewhere, or answered 502/504), with
 * when and where: the verifier judges each by the state of that replica at that instant.
 */
export interface FailedTry {
  /** Monotonic ms (common/clock.ts). HAProxy: the read of the counters that showed it. */
  t: number;
  replica: string;
  reason: RetryReason;
  /** How many tries this entry stands for (1 on the Node proxy; HAProxy reads counters). */
  count: number;
}

export interface FailedTryLog {
  tries: FailedTry[];
  /** Failed tries not kept (the log is bounded): non-zero makes the retry checks unprovable. */
  dropped: number;
  /** How precisely `t` is known: 0 when stamped at the try, else the counter read interval (ms). */
  resolutionMs: number;
}

/** Bound of the failed-try log (a zone crash at 20,000 req/s fails a few thousand). */
export const FAILED_TRY_LOG_MAX = 200_000;

/** The counts of a data plane nothing went through (a run interrupted before its load). */
export function emptyProxyStats(): ProxyStats {
  return {
    received: 0,
    responded: {},
    clientAborts: 0,
    inFlight: 0,
    retries: { connect_error: 0, reset: 0, timeout: 0 },
    retryBudgetExhausted: 0,
    savedByRetry: 0,
    zoneEjections: 0,
    endpoints: [],
  };
}

/** Headers the proxy adds: the contract's (contract/src/headers.ts). */
export { PROXY_HEADERS } from '../../../contract/index.js';
