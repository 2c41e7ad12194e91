/**
 * HAProxy's counters (`show stat`, 2.6) as zerodrop's ProxyStats, and as `zerodrop_proxy_*`
 * Prometheus metrics. Pure functions over parsed rows.
 *
 * What each ProxyStats field is made of, and how faithful it is (verified against 2.6.12 in
 * orchestrator/test/integration/haproxy*.test.ts):
 *
 *   received            exact      frontend req_tot − ereq (ereq = requests HAProxy's parser refused;
 *                                  option http-ignore-probes keeps bare connects out of both)
 *   responded           classes    frontend hrsp_1xx…hrsp_5xx/other, keyed "2xx", "5xx", "other":
 *                                  HAProxy counts status classes, not codes. The 400s of refused
 *                                  requests are taken out of "4xx". Σ and the 2xx count are exact.
 *   malformedRequests   approx.    frontend ereq (also counts requests cut mid-head, 408s)
 *   clientAborts        approx.    backend cli_abrt (HAProxy books some client aborts as eresp)
 *   inFlight            exact      backend scur + qcur (streams at a replica or queued for one)
 *   retries             approx.    connect_error = wredis − wretr, reset = wretr, timeout = 0:
 *                                  HAProxy 2.6 counts a conn-failure retry in wredis only and an L7
 *                                  retry (empty response OR response timeout) in wretr and wredis;
 *                                  it has no counter telling an empty response from a timeout.
 *                                  The total (wredis, every retry is redispatched) is exact.
 *   savedByRetry        exact      stick-table gpc0 bumped per upstream answer < 500 with %rc > 0
 *   retryBudgetExhausted, zoneEjections   unavailable (0): HAProxy has neither
 *   events              partial    our own add/drain/remove, plus health transitions HAProxy prints
 *                                  on stderr ("Server replicas/x is DOWN/UP"), stamped on arrival
 *   endpoints[].responses           classes, exact per class (server hrsp_*)
 *   endpoints[].attempts            response = Σ hrsp (exact); connect_error = econ + wredis − wretr;
 *                                   reset = eresp − srv_abrt + wretr (resets AND timeouts: see
 *                                   retries); timeout = 0; other_error = stot − scur − the rest.
 *                                   Their sum (= stot) is exact.
 *   endpoints[].inFlight            exact      server scur + qcur
 *   endpoints[].ejections           exact      chkdown (times marked DOWN by checks or observe)
 *   endpoints[].state               removed/draining from our own calls; ejected = HAProxy says DOWN
 */
import type { IdAttestationStats, IdMode } from '../id-attestation.js';
import type { EndpointState, EndpointStats, ProxyEvent, ProxyStats, UpstreamOutcome } from '../types.js';
import { num, type StatRow } from './runtime-api.js';

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'other'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** One server's counters, as read from `show stat` (or frozen when it was deleted). */
export interface ServerCounters {
  stot: number;
  scur: number;
  qcur: number;
  econ: number;
  eresp: number;
  srvAbrt: number;
  wretr: number;
  wredis: number;
  chkdown: number;
  hrsp: Record<StatusClass, number>;
  /** HAProxy's status text: "UP", "UP 1/2", "DOWN", "DOWN 1/2", "DRAIN", "MAINT", "no check"... */
  status: string;
}

export function emptyCounters(): ServerCounters {
  return {
    stot: 0,
    scur: 0,
    qcur: 0,
    econ: 0,
    eresp: 0,
    srvAbrt: 0,
    wretr: 0,
    wredis: 0,
    chkdown: 0,
    hrsp: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, other: 0 },
    status: 'MAINT',
  };
}

export function hrspOf(row: StatRow | undefined): Record<StatusClass, number> {
  return {
    '1xx': num(row, 'hrsp_1xx'),
    '2xx': num(row, 'hrsp_2xx'),
    '3xx': num(row, 'hrsp_3xx'),
    '4xx': num(row, 'hrsp_4xx'),
    '5xx': num(row, 'hrsp_5xx'),
    other: num(row, 'hrsp_other'),
  };
}

export function serverCounters(row: StatRow): ServerCounters {
  return {
    stot: num(row, 'stot'),
    scur: num(row, 'scur'),
    qcur: num(row, 'qcur'),
    econ: num(row, 'econ'),
    eresp: num(row, 'eresp'),
    srvAbrt: num(row, 'srv_abrt'),
    wretr: num(row, 'wretr'),
    wredis: num(row, 'wredis'),
    chkdown: num(row, 'chkdown'),
    hrsp: hrspOf(row),
    status: row['status'] ?? '',
  };
}

/** a + b, field by field (a replica re-added after its server was deleted keeps its history). */
export function addCounters(a: ServerCounters, b: ServerCounters): ServerCounters {
  const hrsp = { ...a.hrsp };
  for (const k of STATUS_CLASSES) hrsp[k] += b.hrsp[k];
  return {
    stot: a.stot + b.stot,
    scur: a.scur + b.scur,
    qcur: a.qcur + b.qcur,
    econ: a.econ + b.econ,
    eresp: a.eresp + b.eresp,
    srvAbrt: a.srvAbrt + b.srvAbrt,
    wretr: a.wretr + b.wretr,
    wredis: a.wredis + b.wredis,
    chkdown: a.chkdown + b.chkdown,
    hrsp,
    status: b.status,
  };
}

export function attemptsOf(c: ServerCounters): Record<UpstreamOutcome, number> {
  let response = 0;
  for (const k of STATUS_CLASSES) response += c.hrsp[k];
  const connectError = c.econ + Math.max(0, c.wredis - c.wretr);
  const reset = Math.max(0, c.eresp - c.srvAbrt) + c.wretr;
  const other = Math.max(0, c.stot - c.scur - response - connectError - reset);
  return { response, connect_error: connectError, reset, timeout: 0, other_error: other };
}

export type AdminState = 'ready' | 'draining' | 'removed';

export function endpointState(admin: AdminState, status: string): EndpointState {
  if (admin === 'removed') return 'removed';
  if (admin === 'draining') return 'draining';
  return status.startsWith('DOWN') ? 'ejected' : 'active';
}

export interface EndpointView {
  id: string;
  zone: string;
  version: string;
  admin: AdminState;
  counters: ServerCounters;
}

export function endpointStats(v: EndpointView): EndpointStats {
  const responses: Record<string, number> = {};
  for (const k of STATUS_CLASSES) if (v.counters.hrsp[k] > 0) responses[k] = v.counters.hrsp[k];
  return {
    id: v.id,
    zone: v.zone,
    version: v.version,
    state: endpointState(v.admin, v.counters.status),
    attempts: attemptsOf(v.counters),
    responses,
    inFlight: v.admin === 'removed' ? 0 : v.counters.scur + v.counters.qcur,
    ejections: v.counters.chkdown,
  };
}

/**
 * The id-attestation stats from the zd_ids table's gpc0 and `get var proc.zd_ids`
 * ("proc.zd_ids: type=str value=<attest>", or an error text while it is unset).
 */
export function idStatsOf(mode: IdMode, attested: number, varText: string): IdAttestationStats {
  if (mode !== 'auto') return { mode, source: 'declared', attested };
  const m = /value=<(echo|attest)>/.exec(varText);
  return { mode: m ? (m[1] as 'echo' | 'attest') : 'undecided', source: 'detected', attested };
}

export function buildProxyStats(input: {
  frontend: StatRow | undefined;
  backend: StatRow | undefined;
  savedByRetry: number;
  endpoints: EndpointStats[];
  events: ProxyEvent[];
}): ProxyStats {
  const fe = input.frontend;
  const be = input.backend;
  const ereq = num(fe, 'ereq');
  const classes = hrspOf(fe);
  classes['4xx'] = Math.max(0, classes['4xx'] - ereq);
  const responded: Record<string, number> = {};
  for (const k of STATUS_CLASSES) if (classes[k] > 0) responded[k] = classes[k];
  const wretr = num(be, 'wretr');
  return {
    received: Math.max(0, num(fe, 'req_tot') - ereq),
    responded,
    clientAborts: num(be, 'cli_abrt'),
    inFlight: num(be, 'scur') + num(be, 'qcur'),
    retries: { connect_error: Math.max(0, num(be, 'wredis') - wretr), reset: wretr, timeout: 0 },
    retryBudgetExhausted: 0,
    savedByRetry: input.savedByRetry,
    zoneEjections: 0,
    endpoints: input.endpoints,
    malformedRequests: ereq,
    events: input.events,
  };
}

// ------------------------------------------------------------------ Prometheus

/**
 * The `zerodrop_proxy_*` families the Node proxy exposes, from the same numbers as stats(), so
 * the PromQL proof (harness/src/prometheus/checks.ts) and the dashboard work with either engine.
 * code labels are status classes ("2xx"): `code=~"2.."` still selects them. Not exposed, because
 * HAProxy has no such thing: zerodrop_proxy_request_duration_seconds (no per-request histogram in
 * 2.6), zerodrop_proxy_retry_budget_exhausted_total, zerodrop_proxy_zone_ejections_total.
 * HAProxy's own haproxy_* metrics are on the data plane's nativeMetricsUrl.
 */
export function renderMetrics(runId: string, s: ProxyStats, info: { engine: string; version: string }): string {
  const out: string[] = [];
  const run = `run_id="${esc(runId)}"`;
  const family = (name: string, type: 'counter' | 'gauge', help: string, samples: Array<[labels: string, value: number]>): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}{${labels ? `${labels},` : ''}${run}} ${value}`);
  };
  const ep = (e: EndpointStats): string => `replica="${esc(e.id)}",zone="${esc(e.zone)}",version="${esc(e.version)}"`;
  family('zerodrop_proxy_info', 'gauge', 'The data plane serving the run (engine, version).', [
    [`engine="${esc(info.engine)}",version="${esc(info.version)}"`, 1],
  ]);
  family('zerodrop_proxy_requests_received_total', 'counter', 'Downstream requests received by the proxy (complete request heads).', [['', s.received]]);
  family(
    'zerodrop_proxy_responses_total',
    'counter',
    'Downstream responses sent by the proxy, by status class (HAProxy counts classes, not codes).',
    Object.entries(s.responded).map(([code, n]) => [`code="${esc(code)}"`, n]),
  );
  const attempts: Array<[string, number]> = [];
  const upstream: Array<[string, number]> = [];
  const states: Array<[string, number]> = [];
  for (const e of s.endpoints) {
    for (const [outcome, n] of Object.entries(e.attempts)) attempts.push([`${ep(e)},outcome="${outcome}"`, n]);
    for (const [code, n] of Object.entries(e.responses)) upstream.push([`${ep(e)},code="${esc(code)}"`, n]);
    for (const st of ['active', 'draining', 'ejected', 'removed'] as const) states.push([`${ep(e)},state="${st}"`, e.state === st ? 1 : 0]);
  }
  family(
    'zerodrop_proxy_upstream_attempts_total',
    'counter',
    'Upstream attempts by replica and how they ended (HAProxy: resets and timeouts are both "reset").',
    attempts,
  );
  family('zerodrop_proxy_upstream_responses_total', 'counter', 'Upstream responses (headers received) by replica and status class.', upstream);
  family(
    'zerodrop_proxy_retries_total',
    'counter',
    'Retries performed on another replica, by the reason of the failed attempt (HAProxy: "reset" also holds response timeouts).',
    Object.entries(s.retries).map(([reason, n]) => [`reason="${reason}"`, n]),
  );
  family('zerodrop_proxy_saved_by_retry_total', 'counter', 'Requests that got an upstream answer only thanks to a retry.', [['', s.savedByRetry]]);
  family('zerodrop_proxy_client_aborts_total', 'counter', 'Downstream requests whose client went away before the response ended.', [['', s.clientAborts]]);
  family('zerodrop_proxy_malformed_requests_total', 'counter', 'Requests HAProxy refused as not valid HTTP (never counted as received).', [
    ['', s.malformedRequests ?? 0],
  ]);
  family('zerodrop_proxy_requests_in_flight', 'gauge', 'Downstream requests in flight.', [['', s.inFlight]]);
  family('zerodrop_proxy_endpoint_state', 'gauge', '1 for the state each endpoint is in, 0 for the others.', states);
  out.push('');
  return out.join('\n');
}

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
