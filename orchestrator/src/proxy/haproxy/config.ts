/**
 * The HAProxy configuration of the data plane, and the runtime-API lines that add a replica.
 * Pure functions: what they render is checked with `haproxy -c` in the tests.
 *
 * How zerodrop's proxy semantics map onto HAProxy 2.6 (doc/configuration.txt, doc/management.txt
 * of 2.6; each point verified against haproxy 2.6.12 in orchestrator/test/integration/haproxy*):
 *
 *   round-robin over Ready replicas   balance roundrobin; replicas are dynamic servers (`add server`,
 *                                     runtime API), in rotation once `set server … state ready`
 *   per-try timeout                   timeout server = retries.perTryTimeoutMs (HAProxy: inactivity,
 *                                     so it also bounds gaps inside a response body)
 *   connect timeout                   timeout connect = upstream.connectTimeoutMs
 *   retries on another replica        retries = maxAttempts − 1, option redispatch 1 (every retry
 *                                     re-runs the load balancer, which skips the failed server)
 *   what is retried                   retry-on conn-failure empty-response response-timeout;
 *                                     `http-request disable-l7-retry` unless the method is
 *                                     safe (RFC 9110 §9.2.1: GET HEAD OPTIONS TRACE; writes such as
 *                                     PUT are not replayed, as in the Node proxy): it disables every
 *                                     retry reason except conn-failure, so a POST or a PUT is retried
 *                                     only when its connection failed (request never sent), never
 *                                     after an empty response or a timeout
 *   request bodies                    L7 retries need the whole request in one buffer (tune.bufsize
 *                                     16 KiB): a bigger request is only retried on conn-failure;
 *                                     Content-Length > maxBodyBytes → 413 (chunked bodies unchecked)
 *   active health checks              option httpchk GET <path>; check inter/fastinter/downinter =
 *                                     intervalMs, timeout check = timeoutMs, fall/rise = thresholds
 *   passive ejection                  observe layer4 error-limit 1 on-error mark-down: the
 *                                     first failed connect (refused, connect timeout) marks a
 *                                     replica down, because a retry avoids only the server tried
 *                                     last: with a zone of three dead replicas and 3 errors to
 *                                     wait for, four tries could all land in it (HAProxy logs
 *                                     "503 SC-- +3" and closes the client's keep-alive connection:
 *                                     a reset). Measured (demo replicas, 12 zone crashes at 1,000
 *                                     req/s, 2 CPU hogs): layer7 error-limit 3 → 3 requests lost;
 *                                     this → 0 of 18. A try that failed on a pooled connection
 *                                     (empty response) marks nothing down, hence 6 tries by
 *                                     default (HAPROXY_MAX_ATTEMPTS_DEFAULT has the measurements).
 *                                     ejection.consecutiveFailures is the Node proxy's; back
 *                                     when `rise` checks pass (no minEjectionMs)
 *   zone ejection, retry budget       none in HAProxy (retries are bounded per request only)
 *   upstream keep-alive               http-reuse always, pool-max-conn = connectionsPerReplica,
 *                                     pool-purge-delay = keepAliveTimeoutMs / 4: idle connections
 *                                     beyond the estimated need are halved at each tick. Not a
 *                                     per-connection idle timeout: HAProxy 2.6 keeps the LAST idle
 *                                     connection to a replica until the replica closes it (measured:
 *                                     6 s = Node's 5 s keepAliveTimeout + 1 s). A request racing that
 *                                     close is retried if idempotent (empty-response); a POST gets
 *                                     a 502 (or its client connection closed). Under load every
 *                                     replica in rotation is used far more often than that.
 *   slow start                        slowstart = slowStartMs (HAProxy ramps the weight, and
 *                                     maxconn, of a server that comes up; 0 = off)
 *   connections per replica           maxconn = connectionsPerReplica: a full (e.g. hung) replica is
 *                                     skipped by the balancer; requests queue when all are full
 *                                     (timeout queue)
 *   malformed requests                rejected by HAProxy's own parser (400), never forwarded;
 *                                     option http-ignore-probes: a connect-and-close is not a request
 *   x-zerodrop-attempts               set on responses that needed a retry: the log-format alias %rc
 *                                     (retries of the stream, "+N" when redispatched) + 1
 *   requests saved by a retry         a stick-table counter (gpc0) bumped for upstream answers
 *                                     < 500 with %rc > 0 — the Node proxy's definition
 *   ids of a non-echoing service      ids: auto latches proc.zd_ids (echo | attest) on the first
 *                                     upstream 2xx; when attesting, a response without
 *                                     x-zerodrop-id gets the request's own (txn.zd_id), counted in
 *                                     the zd_ids table's gpc0 (id-attestation.ts has the semantics)
 */
import { ID_HEADER, type IdMode } from '../id-attestation.js';
import type { ProxyConfig, ProxyEndpoint } from '../types.js';
import { LOG_FORMAT } from './request-log.js';

/** HAProxy time value: whole seconds as "Ns", anything else as "Nms". */
export function hapTime(ms: number): string {
  const v = Math.max(0, Math.round(ms));
  return v > 0 && v % 1000 === 0 ? `${v / 1000}s` : `${v}ms`;
}

/** `global` with the thread count and the connection cap, plus extra lines. Shared with the bench. */
export function globalSection(o: { threads: number; maxconn: number; extra?: readonly string[] }): string[] {
  return ['global', `  nbthread ${o.threads}`, `  maxconn ${o.maxconn}`, ...(o.extra ?? []).map((l) => `  ${l}`)];
}

export interface DefaultsOptions {
  connectMs: number;
  clientMs: number;
  serverMs: number;
  keepAliveMs: number;
  /** `retries` (0 = none). */
  retries: number;
  /** `option redispatch 1` (only with retries > 0). */
  redispatch: boolean;
  extra?: readonly string[];
}

/** HTTP mode, keep-alive on both sides, idle server connections shared by every client. Shared with the bench. */
export function defaultsSection(o: DefaultsOptions): string[] {
  return [
    'defaults',
    '  mode http',
    '  option http-keep-alive',
    '  http-reuse always',
    `  timeout connect ${hapTime(o.connectMs)}`,
    `  timeout client ${hapTime(o.clientMs)}`,
    `  timeout server ${hapTime(o.serverMs)}`,
    `  timeout http-keep-alive ${hapTime(o.keepAliveMs)}`,
    `  retries ${o.retries}`,
    ...(o.redispatch && o.retries > 0 ? ['  option redispatch 1'] : []),
    ...(o.extra ?? []).map((l) => `  ${l}`),
  ];
}

export const BACKEND = 'replicas';
export const FRONTEND = 'zerodrop';
export const COUNTERS_TABLE = 'zd_counters';
/** Responses whose id the data plane attested (gpc0), and the proc variable holding the decided mode. */
export const IDS_TABLE = 'zd_ids';
export const IDS_MODE_VAR = 'proc.zd_ids';

/**
 * Methods HAProxy may replay after the request reached a replica: the safe ones (RFC 9110 §9.2.1),
 * as the Node proxy's isIdempotent(); writes (PUT, DELETE) only on conn-failure. METH_GET matches GET and HEAD.
 */
const IDEMPOTENT_ACLS = ['METH_GET', 'METH_OPTIONS', 'METH_TRACE'];

export interface DataPlaneRender {
  config: ProxyConfig;
  /** The service port (config.port, or a free one the caller picked). */
  port: number;
  socketPath: string;
  threads: number;
  maxconn: number;
  /** Port of HAProxy's own Prometheus exporter (haproxy_* metrics), or null for none. */
  nativeMetricsPort: number | null;
  /** Bound on a graceful stop (hard-stop-after). */
  hardStopAfterMs: number;
  /** Where ERRORS_MAP is written (status → x-zerodrop-error of the answers HAProxy makes itself). */
  errorsMapPath: string;
  /** Log abnormal requests (errors, 5xx, retries) on stderr in request-log.ts's LOG_FORMAT. */
  requestLog: boolean;
}

/**
 * x-zerodrop-error on answers HAProxy made itself (the termination state %tsc is not known yet
 * when http-after-response runs, so the status says it). 503 = no replica in rotation, or every
 * try's connection failed; 502 = empty, reset or invalid answer (not retried, or out of tries).
 */
export const ERRORS_MAP = [
  '400 bad_request',
  '408 request_timeout',
  '413 body_too_large',
  '500 internal',
  '502 reset',
  '503 unavailable',
  '504 timeout',
  '',
].join('\n');

/** Client-side limits: far above the driver's 2 s idle limit, so HAProxy never closes a connection the client may be writing on. */
const CLIENT_TIMEOUT_MS = 60_000;
const CLIENT_KEEPALIVE_MS = 10_000;
const HTTP_REQUEST_TIMEOUT_MS = 10_000;

export function retriesOf(config: ProxyConfig): number {
  return config.retries.enabled ? config.retries.maxAttempts - 1 : 0;
}

export function renderDataPlaneConfig(r: DataPlaneRender): string {
  const c = r.config;
  const retries = retriesOf(c);
  const retryOn = retries > 0 ? 'conn-failure empty-response response-timeout' : 'none';
  // Requests waiting for a free slot (every replica at maxconn) give up after what a request may
  // take with all its tries: 503 then.
  const queueMs = c.retries.perTryTimeoutMs * c.retries.maxAttempts + c.upstream.connectTimeoutMs;
  const bind = r.config.host.includes(':') ? `[${r.config.host}]:${r.port}` : `${r.config.host}:${r.port}`;
  const hasRc = '{ var(txn.zd_rc) -m int gt 0 }';
  const lines = [
    `# zerodrop HAProxy data plane, run ${sanitizeComment(c.runId)} (generated). Replicas are added at run time`,
    '# through the runtime API (add server / set server state / del server): see orchestrator/src/proxy/haproxy/.',
    ...globalSection({
      threads: r.threads,
      maxconn: r.maxconn,
      extra: [
        `stats socket ${r.socketPath} mode 600 level admin`,
        'stats timeout 30s',
        `hard-stop-after ${hapTime(r.hardStopAfterMs)}`,
        ...(r.requestLog ? ['log stderr format raw local0'] : []),
      ],
    }),
    '',
    ...defaultsSection({
      connectMs: c.upstream.connectTimeoutMs,
      clientMs: CLIENT_TIMEOUT_MS,
      serverMs: c.retries.perTryTimeoutMs,
      keepAliveMs: CLIENT_KEEPALIVE_MS,
      retries,
      redispatch: true,
      extra: [
        'option http-ignore-probes',
        `timeout http-request ${hapTime(HTTP_REQUEST_TIMEOUT_MS)}`,
        `timeout queue ${hapTime(queueMs)}`,
        `timeout check ${hapTime(c.healthCheck.timeoutMs)}`,
        `retry-on ${retryOn}`,
        // Normal requests are not logged: the cost stays with the ones that went wrong.
        ...(r.requestLog ? ['log global', 'option dontlog-normal', `log-format "${LOG_FORMAT}"`] : []),
      ],
    }),
    '',
    `frontend ${FRONTEND}`,
    `  bind ${bind}`,
    `  maxconn ${r.maxconn}`,
    ...(r.requestLog ? [`  http-request capture req.hdr(${ID_HEADER}) len 128`] : []),
    `  http-request deny deny_status 413 if { req.hdr(content-length) -m int gt ${c.maxBodyBytes} }`,
    ...(retries > 0
      ? [`  http-request disable-l7-retry unless ${[...IDEMPOTENT_ACLS, ...(c.retries.idempotentWrites ? ['METH_PUT', 'METH_DELETE'] : [])].join(' or ')}`]
      : []),
    // Upstream answers: remember the retry count, count the ones a retry saved (< 500, as the Node proxy).
    '  http-response set-var-fmt(txn.zd_rc) "%rc"',
    `  http-response track-sc0 int(1) table ${COUNTERS_TABLE} if ${hasRc} { status lt 500 }`,
    `  http-response sc-inc-gpc0(0) if ${hasRc} { status lt 500 }`,
    // Answers HAProxy made itself (no upstream answer: 502/503/504, 400, 413): why, and which replica.
    `  http-after-response set-header x-zerodrop-error "%[status,map_int(${r.errorsMapPath},haproxy)]" unless { var(txn.zd_rc) -m found }`,
    '  http-after-response set-header x-zerodrop-upstream "%s" if !{ var(txn.zd_rc) -m found } { srv_id -m found }',
    '  http-after-response set-var-fmt(txn.zd_rc) "%rc" unless { var(txn.zd_rc) -m found }',
    `  http-after-response set-header x-zerodrop-attempts "%[var(txn.zd_rc),add(1)]" if ${hasRc}`,
    ...idAttestationLines(c.ids ?? 'auto'),
    `  default_backend ${BACKEND}`,
    '',
    `backend ${BACKEND}`,
    '  balance roundrobin',
    `  option httpchk GET ${c.healthCheck.path}`,
    '',
    `backend ${COUNTERS_TABLE}`,
    '  stick-table type integer size 1 store gpc0',
    '',
    `backend ${IDS_TABLE}`,
    '  stick-table type integer size 1 store gpc0',
  ];
  if (r.nativeMetricsPort !== null) {
    lines.push(
      '',
      'frontend zd_metrics',
      `  bind 127.0.0.1:${r.nativeMetricsPort}`,
      '  http-request use-service prometheus-exporter if { path /metrics }',
      '  http-request return status 404',
    );
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * Frontend rules that put the request's own x-zerodrop-id on upstream answers that carry none,
 * once the service is known not to echo it (declared, or latched from the first upstream 2xx).
 * An answer that carries an id is left alone, so a wrong echo stays a mismatch for the driver.
 */
export function idAttestationLines(mode: IdMode): string[] {
  if (mode === 'echo') return [];
  const upstream2xx = '{ status ge 200 } { status lt 300 }';
  const noId = `!{ res.hdr(${ID_HEADER}) -m found }`;
  const attesting = mode === 'attest' ? '' : ` { var(${IDS_MODE_VAR}) -m str attest }`;
  const att = '{ var(txn.zd_att) -m bool }';
  return [
    `  http-request set-var(txn.zd_id) req.hdr(${ID_HEADER})`,
    ...(mode === 'auto'
      ? [
          `  http-response set-var(${IDS_MODE_VAR}) str(echo) if !{ var(${IDS_MODE_VAR}) -m found } ${upstream2xx} { res.hdr(${ID_HEADER}) -m found }`,
          `  http-response set-var(${IDS_MODE_VAR}) str(attest) if !{ var(${IDS_MODE_VAR}) -m found } ${upstream2xx}`,
        ]
      : []),
    `  http-response set-var(txn.zd_att) bool(true) if { var(txn.zd_id) -m found } ${noId}${attesting}`,
    `  http-response track-sc1 int(1) table ${IDS_TABLE} if ${att}`,
    `  http-response sc-inc-gpc0(1) if ${att}`,
    `  http-response set-header ${ID_HEADER} "%[var(txn.zd_id)]" if ${att}`,
  ];
}

/** HAProxy object names: letters, digits, '-', '_', '.', ':'. */
export function isValidServerName(name: string): boolean {
  return /^[A-Za-z0-9_.:-]{1,100}$/.test(name);
}

/** A server name for a replica id: the id itself when HAProxy accepts it. */
export function serverNameFor(id: string): string {
  if (isValidServerName(id)) return id;
  const cleaned = id.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 90);
  return cleaned.length > 0 ? cleaned : 'replica';
}

function address(ep: Pick<ProxyEndpoint, 'host' | 'port'>): string {
  return ep.host.includes(':') ? `[${ep.host}]:${ep.port}` : `${ep.host}:${ep.port}`;
}

/**
 * The `add server` line for a replica. Dynamic servers take nothing from `default-server`, so
 * every per-server setting is here. The server starts in maintenance with checks disabled; the
 * caller enables health checks, then puts it in rotation.
 */
export function addServerCommand(name: string, ep: Pick<ProxyEndpoint, 'host' | 'port'>, c: ProxyConfig): string {
  const h = c.healthCheck;
  const conns = c.upstream.connectionsPerReplica;
  const purgeMs = Math.max(100, Math.floor(c.upstream.keepAliveTimeoutMs / 4));
  return [
    `add server ${BACKEND}/${name} ${address(ep)}`,
    `check inter ${h.intervalMs} fastinter ${h.intervalMs} downinter ${h.intervalMs} fall ${h.unhealthyThreshold} rise ${h.healthyThreshold}`,
    `observe layer4 error-limit 1 on-error mark-down`,
    `maxconn ${conns} pool-max-conn ${conns} pool-purge-delay ${purgeMs}`,
    ...(c.slowStartMs ? [`slowstart ${c.slowStartMs}`] : []),
  ].join(' ');
}

function sanitizeComment(s: string): string {
  return s.replace(/[\r\n]/g, ' ');
}

/** Problems with a config HAProxy could not take (beyond validateProxyConfig's). */
export function haproxyConfigProblems(c: ProxyConfig): string[] {
  const out: string[] = [];
  if (/\s|#/.test(c.healthCheck.path))
    out.push(`healthCheck.path ${JSON.stringify(c.healthCheck.path)} contains whitespace or '#': HAProxy's "option httpchk" cannot send it`);
  return out;
}
