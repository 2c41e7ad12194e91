/**
 * The proof's counter equalities (docs/architecture.md, "The proof", point 2),
 * evaluated again with PromQL, two ways: each exported counter against the in-process number it
 * came from (fidelity rows), and the equalities between components in PromQL alone (cross rows,
 * buildCrossQueries).
 *
 * Exact counts never come from increase()/rate(): those extrapolate and miss the increments
 * before a series' first scrape (observability.md 1.4). Every query here reads the latest raw
 * sample of each series over the whole run, `last_over_time(x[<run>s])`, at one instant after the
 * load ended and after Prometheus scraped the final values. Range selectors skip stale markers,
 * so a target that went away still contributes the last value it was scraped with.
 *
 * Replicas (mirrors the verifier's replicaReconciliation):
 *   exact        retired replicas: the orchestrator's final read after the drain
 *                (zerodrop_orchestrator_replica_final_responses), else live replicas: their last
 *                scrape of http_requests_total over traffic routes (`or` keeps the final when both
 *                exist). Must equal the in-process sum of the same replicas.
 *   lower bound  replicas killed or frozen before a final read: Prometheus' last scrape and the
 *                orchestrator's last scrape are two different lower bounds of a count nobody can
 *                read any more. They cannot be equal in general; each must be ≤ what the proxy
 *                attributes to those replicas (answered + failed attempts). Reported as its own
 *                row, never mixed into the exact one.
 */
import type { ProxyStats, ReplicaRecord } from '../../../orchestrator/index.js';
import { PROBE_ROUTES } from '../../../contract/index.js';
import type { LedgerData } from '../driver/ledger.js';
import type { PrometheusResult } from '../result/types.js';
import { PrometheusApiError, type PrometheusApi, type QueryResult } from './api.js';

/** Routes that are probes, not traffic (the contract's PROBE_ROUTES). */
export const PROBE_ROUTE_REGEX = PROBE_ROUTES.join('|');

export type PromQuery = PrometheusResult['queries'][number];

/** A query row plus how it is compared (the verifier displays `=`; lower-bound rows are `≤`). */
export interface PromCheck extends PromQuery {
  relation: '=' | '≤';
}

export interface ReplicaNumbers {
  /** Replicas counted exactly: id → in-process count (final read, or last scrape of a live replica). */
  exact: Map<string, { count: number; source: 'final' | 'live' }>;
  /** Killed/frozen before a final read: id → orchestrator's last scrape (null if never scraped). */
  lowerBound: Map<string, number | null>;
  /** Σ proxy responses + failed attempts of the lower-bound replicas: no replica can have served more. */
  lowerBoundProxyCeiling: number;
  /** Live replicas the orchestrator could not read at the end (left out of both rows). */
  unread: string[];
}

export interface InProcessNumbers {
  driverSent: number;
  driver2xx: number;
  proxyReceived: number;
  proxy2xx: number;
  proxyUpstreamResponses: number;
  /** null when the service exposes no metrics (metricsPath: null). */
  replicas: ReplicaNumbers | null;
}

export interface InProcessSource {
  ledger: Pick<LedgerData, 'length' | 'status'>;
  proxyStats: ProxyStats;
  replicas: readonly ReplicaRecord[];
  metricsPath: string | null;
}

export function inProcessNumbers(src: InProcessSource): InProcessNumbers {
  let driver2xx = 0;
  const status = src.ledger.status;
  for (let i = 0; i < src.ledger.length; i++) {
    const s = status[i] ?? 0;
    if (s >= 200 && s < 300) driver2xx++;
  }
  const sum2xx = (rec: Record<string, number>): number => Object.entries(rec).reduce((n, [code, v]) => (code.startsWith('2') ? n + v : n), 0);
  const endpoints = new Map(src.proxyStats.endpoints.map((e) => [e.id, e]));
  let upstream = 0;
  for (const ep of src.proxyStats.endpoints) upstream += Object.values(ep.responses).reduce((a, b) => a + b, 0);

  let replicas: ReplicaNumbers | null = null;
  if (src.metricsPath !== null) {
    replicas = { exact: new Map(), lowerBound: new Map(), lowerBoundProxyCeiling: 0, unread: [] };
    for (const r of src.replicas) {
      if (!r.started) continue;
      if (r.final) {
        replicas.exact.set(r.id, { count: r.final.responses, source: 'final' });
      } else if (r.exit === null && !r.zoneFailedUnnoticed) {
        if (r.lastScrape) replicas.exact.set(r.id, { count: r.lastScrape.responses, source: 'live' });
        else replicas.unread.push(r.id);
      } else {
        replicas.lowerBound.set(r.id, r.lastScrape?.responses ?? null);
        const ep = endpoints.get(r.id);
        if (ep) {
          replicas.lowerBoundProxyCeiling += Object.values(ep.responses).reduce((a, b) => a + b, 0);
          replicas.lowerBoundProxyCeiling += ep.attempts.connect_error + ep.attempts.reset + ep.attempts.timeout + ep.attempts.other_error;
        }
      }
    }
  }
  return {
    driverSent: src.ledger.length,
    driver2xx,
    proxyReceived: src.proxyStats.received,
    proxy2xx: sum2xx(src.proxyStats.responded),
    proxyUpstreamResponses: upstream,
    replicas,
  };
}

/** A PromQL string literal (double quotes, backslash escapes). */
export function promString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

/** An RE2 alternation matching exactly these values (inside a PromQL string). */
export function exactAlternation(values: readonly string[]): string {
  return values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
}

export interface QuerySpec {
  name: string;
  /**
   * 'fidelity' (default): the PromQL value of one counter against the in-process number it was
   * exported from. 'cross': one of the proof's equalities between components, evaluated in PromQL
   * alone; the value is the mismatch and must equal `expected`.
   */
  kind?: 'fidelity' | 'cross';
  /** 'cross' rows: the value the expression must have (0: no mismatch). */
  expected?: number;
  /** 'cross' rows: the equality in words, for the report. */
  what?: string;
  /** The expression shown in the report and evaluated for the value. */
  promql: string;
  /** Per-replica breakdown (diagnostics and "which replica is missing"), when the row is about replicas. */
  byReplica?: string;
  inProcess: number | null;
  relation: '=' | '≤';
  /** For '≤' rows: the value must not exceed this. */
  ceiling?: number;
  /** `or vector(0)` rows: missing data is a valid 0 (lower bounds). */
  zeroWhenMissing?: boolean;
  /** Replicas that must each have data (exact replica row). */
  expectReplicas?: string[];
}

/** `last_over_time(metric{run_id="…"<extra>}[<range>s])`: the latest raw sample of each series over the run. */
function lastSelector(runId: string, rangeS: number): (metric: string, extra?: string) => string {
  const run = `run_id=${promString(runId)}`;
  const range = `[${Math.max(1, Math.ceil(rangeS))}s]`;
  return (metric, extra = '') => `last_over_time(${metric}{${run}${extra}}${range})`;
}

/** The label matcher that keeps replicas' traffic routes (probes and /metrics are not traffic). */
const TRAFFIC = `,route!~${promString(PROBE_ROUTE_REGEX)}`;

/**
 * The per-replica count the replicas report: the orchestrator's final read of retired ones `or`
 * the last scrape of live ones (`or` keeps the final when both exist). Shared by the fidelity row
 * and the cross row, so both read the same numbers.
 */
function exactReplicaCounts(last: ReturnType<typeof lastSelector>, r: ReplicaNumbers): string {
  const finals = `sum by (replica) (${last('zerodrop_orchestrator_replica_final_responses')})`;
  const liveIds = [...r.exact].filter(([, v]) => v.source === 'live').map(([id]) => id);
  const live = liveIds.length ? ` or sum by (replica) (${last('http_requests_total', `,replica=~${promString(exactAlternation(liveIds))}${TRAFFIC}`)})` : '';
  return `${finals}${live}`;
}

/**
 * The queries for one run. `rangeS` must cover the run from the first scrape to now. The
 * fidelity rows come first (each counter against its in-process number), then the cross rows
 * (the proof's equalities between components, in PromQL alone).
 */
export function buildQueries(runId: string, rangeS: number, n: InProcessNumbers): QuerySpec[] {
  return [...buildFidelityQueries(runId, rangeS, n), ...buildCrossQueries(runId, rangeS, n)];
}

/** Each exported counter against the in-process number it was exported from (scrape fidelity). */
export function buildFidelityQueries(runId: string, rangeS: number, n: InProcessNumbers): QuerySpec[] {
  const last = lastSelector(runId, rangeS);
  const out: QuerySpec[] = [
    { name: 'driver-sent', promql: `sum(${last('zerodrop_driver_requests_sent_total')})`, inProcess: n.driverSent, relation: '=' },
    { name: 'proxy-received', promql: `sum(${last('zerodrop_proxy_requests_received_total')})`, inProcess: n.proxyReceived, relation: '=' },
    { name: 'proxy-2xx', promql: `sum(${last('zerodrop_proxy_responses_total', ',code=~"2.."')})`, inProcess: n.proxy2xx, relation: '=' },
    { name: 'driver-2xx', promql: `sum(${last('zerodrop_driver_responses_total', ',code=~"2.."')})`, inProcess: n.driver2xx, relation: '=' },
    {
      name: 'proxy-upstream-responses',
      promql: `sum(${last('zerodrop_proxy_upstream_responses_total')})`,
      inProcess: n.proxyUpstreamResponses,
      relation: '=',
    },
  ];
  const r = n.replicas;
  if (r) {
    const perReplica = exactReplicaCounts(last, r);
    let inProcess = 0;
    for (const v of r.exact.values()) inProcess += v.count;
    out.push({
      name: 'replica-responses',
      promql: `sum(${perReplica})`,
      byReplica: perReplica,
      inProcess,
      relation: '=',
      expectReplicas: [...r.exact.keys()],
    });
    if (r.lowerBound.size > 0) {
      const ids = [...r.lowerBound.keys()];
      const sel = last('http_requests_total', `,replica=~${promString(exactAlternation(ids))}${TRAFFIC}`);
      let orchestrator = 0;
      for (const v of r.lowerBound.values()) orchestrator += v ?? 0;
      out.push({
        name: 'replica-responses-killed',
        promql: `sum(${sel}) or vector(0)`,
        byReplica: `sum by (replica) (${sel})`,
        inProcess: orchestrator,
        relation: '≤',
        ceiling: r.lowerBoundProxyCeiling,
        zeroWhenMissing: true,
      });
    }
  }
  return out;
}

/**
 * The proof's equalities between components, evaluated in PromQL alone (no in-process number
 * involved): a scrape that lost or invented increments in one component shows up here even if
 * each component's own export looks plausible. Each value is a mismatch that must be 0:
 *   sent-equals-received   driver sent − refused connects − proxy received (a refused connect
 *                          never reached the proxy; the in-process check excludes it the same way)
 *   2xx-agree              proxy 2xx − driver 2xx
 *   replicas-cover-proxy   replicas out of bounds: for each replica counted exactly,
 *                          proxy responses ≤ replica count; for every replica, also
 *                          replica count ≤ proxy responses + failed attempts (an excess is only
 *                          explained by attempts that failed and were retried elsewhere).
 *                          Per replica, like the in-process check: a sum could hide one replica's
 *                          shortfall behind another's excess.
 * Missing data is never a silent 0: the main terms have no `or vector(0)`, so a series Prometheus
 * never scraped leaves the row without a value (INVALID).
 */
export function buildCrossQueries(runId: string, rangeS: number, n: InProcessNumbers): QuerySpec[] {
  const last = lastSelector(runId, rangeS);
  const total = (metric: string, extra = ''): string => `sum(${last(metric, extra)})`;
  const cross = (name: string, promql: string, what: string): QuerySpec => ({ name, kind: 'cross', promql, inProcess: null, expected: 0, relation: '=', what });
  const out: QuerySpec[] = [
    cross(
      'sent-equals-received',
      `${total('zerodrop_driver_requests_sent_total')} - (${total('zerodrop_driver_requests_completed_total', ',outcome="refused"')} or vector(0)) - ${total('zerodrop_proxy_requests_received_total')}`,
      'driver sent − refused connects − proxy received',
    ),
    cross(
      '2xx-agree',
      `${total('zerodrop_proxy_responses_total', ',code=~"2.."')} - ${total('zerodrop_driver_responses_total', ',code=~"2.."')}`,
      'proxy 2xx − driver 2xx',
    ),
  ];
  const r = n.replicas;
  if (r && (r.exact.size > 0 || r.lowerBound.size > 0)) {
    const exact = r.exact.size > 0 ? exactReplicaCounts(last, r) : null;
    const killedIds = [...r.lowerBound.keys()];
    const killed = killedIds.length
      ? `sum by (replica) (${last('http_requests_total', `,replica=~${promString(exactAlternation(killedIds))}${TRAFFIC}`)})`
      : null;
    const all = [exact, killed]
      .filter((x): x is string => x !== null)
      .map((x) => `(${x})`)
      .join(' or ');
    const proxy = `sum by (replica) (${last('zerodrop_proxy_upstream_responses_total')})`;
    const failedAttempts = `sum by (replica) (${last('zerodrop_proxy_upstream_attempts_total', ',outcome!="response"')})`;
    // A replica with no upstream response exported yet has a 0, not a missing term.
    const ceiling = `((${proxy}) or (${failedAttempts}) * 0) + (${failedAttempts})`;
    const below = exact ? `((${exact}) < (${proxy}))` : null;
    const above = `((${all}) > (${ceiling}))`;
    const violators = below ? `${below} or ${above}` : above;
    out.push({
      ...cross(
        'replicas-cover-proxy',
        `count(${violators}) or (count(${all}) * 0)`,
        'replicas out of bounds: proxy responses ≤ replica count ≤ proxy responses + failed attempts',
      ),
      // The violators by name, for the note (their values are the replicas' own counts).
      byReplica: violators,
    });
  }
  return out;
}

function scalarOf(result: QueryResult): number | null {
  if (result.resultType === 'scalar') return result.value;
  if (result.resultType === 'vector') {
    if (result.vector.length === 0) return null;
    return result.vector.reduce((a, s) => a + s.value, 0);
  }
  return null;
}

export interface Evaluated {
  spec: QuerySpec;
  value: number | null;
  agree: boolean | null;
  /** Why value is null or agree is false, in words. */
  problem: string | null;
  /** Per-replica values (when the row has a breakdown and it was asked for). */
  perReplica?: Map<string, number>;
}

/** Evaluates every query once at `timeMs` (epoch ms). Never throws for a query error: the row says it. */
export async function evaluateQueries(api: PrometheusApi, specs: readonly QuerySpec[], timeMs: number, withBreakdown = false): Promise<Evaluated[]> {
  return await Promise.all(
    specs.map(async (spec): Promise<Evaluated> => {
      let value: number | null;
      try {
        value = scalarOf(await api.query(spec.promql, timeMs));
      } catch (err) {
        return { spec, value: null, agree: null, problem: `query failed: ${err instanceof PrometheusApiError ? err.message : String(err)}` };
      }
      let perReplica: Map<string, number> | undefined;
      if (spec.byReplica && (withBreakdown || spec.expectReplicas || spec.zeroWhenMissing)) {
        try {
          const res = await api.query(spec.byReplica, timeMs);
          perReplica = new Map(res.resultType === 'vector' ? res.vector.map((s) => [s.metric['replica'] ?? '', s.value]) : []);
        } catch {
          perReplica = undefined;
        }
      }
      if (value === null) {
        return {
          spec,
          value: null,
          agree: null,
          problem: 'no data: Prometheus has no sample of this series for the run (a missed scrape)',
          ...(perReplica ? { perReplica } : {}),
        };
      }
      const missing = spec.expectReplicas && perReplica ? spec.expectReplicas.filter((id) => !perReplica.has(id)) : [];
      if (missing.length > 0) {
        return {
          spec,
          value: null,
          agree: null,
          problem: `no data for ${missing.length} replica(s): ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? '…' : ''} (never scraped by Prometheus, and no final read exported)`,
          ...(perReplica ? { perReplica } : {}),
        };
      }
      let agree: boolean;
      let problem: string | null = null;
      if (spec.kind === 'cross') {
        agree = value === (spec.expected ?? 0);
        if (!agree) problem = `PromQL mismatch ${value}, must be ${spec.expected ?? 0} (${spec.what ?? spec.promql})`;
      } else if (spec.relation === '≤') {
        agree = value <= (spec.ceiling ?? Number.POSITIVE_INFINITY);
        if (!agree)
          problem = `${value} > ${spec.ceiling} (the proxy's responses + failed attempts to these replicas): a replica counted more than it can have served`;
      } else {
        agree = spec.inProcess !== null && value === spec.inProcess;
        if (!agree) problem = `PromQL ${value} ≠ in-process ${spec.inProcess}`;
      }
      return { spec, value, agree, problem, ...(perReplica ? { perReplica } : {}) };
    }),
  );
}

export interface ConvergeOptions {
  /** Epoch ms when the load ended (every in-process counter final). */
  loadEndedMs: number;
  /** Prometheus' scrape interval (ms): at least two pass before the values are taken. */
  scrapeIntervalMs: number;
  /** Give up waiting for agreement this long after loadEndedMs. */
  deadlineMs: number;
  pollMs?: number;
  /** True once every target of the run was scraped after the load ended. */
  scrapedSinceLoadEnd?: () => Promise<boolean>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface Converged {
  rows: Evaluated[];
  /** When the values were read, ms after the load ended. */
  readAfterMs: number;
  /** false if the deadline passed before everything agreed. */
  converged: boolean;
  /** true once every target had a scrape after the load ended. */
  scraped: boolean;
}

/**
 * Polls until every row agrees (and at least two scrape intervals passed, and every target was
 * scraped after the load ended), or the deadline: Prometheus scrapes the final values on its own
 * schedule. Disagreement at the deadline is the answer.
 */
export async function evaluateWhenScraped(api: PrometheusApi, specs: readonly QuerySpec[], options: ConvergeOptions): Promise<Converged> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const minAt = options.loadEndedMs + 2 * options.scrapeIntervalMs;
  const deadline = options.loadEndedMs + options.deadlineMs;
  let scraped = false;
  for (;;) {
    const t = now();
    if (t < minAt) {
      await sleep(Math.min(minAt - t, options.pollMs ?? 250));
      continue;
    }
    if (!scraped) scraped = options.scrapedSinceLoadEnd ? await options.scrapedSinceLoadEnd().catch(() => false) : true;
    const readAt = now();
    const rows = await evaluateQueries(api, specs, readAt);
    const done = scraped && rows.every((r) => r.agree === true);
    if (done || now() >= deadline) {
      // The final read gets the per-replica breakdown for the note.
      const final = done ? rows : await evaluateQueries(api, specs, readAt, true);
      return { rows: final, readAfterMs: readAt - options.loadEndedMs, converged: done, scraped };
    }
    await sleep(options.pollMs ?? 500);
  }
}

/** The rows as the result wants them (the relation kept on the side for reports that know it). */
export function toResultQueries(rows: readonly Evaluated[]): PromCheck[] {
  return rows.map((r) => {
    const q: PromCheck = {
      name: r.spec.name,
      promql: r.spec.promql,
      value: r.value,
      inProcess: r.spec.inProcess,
      agree: r.value === null ? null : r.agree,
      relation: r.spec.relation,
    };
    if (r.spec.kind === 'cross') {
      q.kind = 'cross';
      q.expected = r.spec.expected ?? 0;
      if (r.spec.what !== undefined) q.what = r.spec.what;
    }
    return q;
  });
}

/** Words for the note: what disagreed or was missing, per row, with the per-replica differences. */
export function explainRows(rows: readonly Evaluated[], n: InProcessNumbers): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (r.problem === null) continue;
    let line = `${r.spec.name}: ${r.problem}`;
    if (r.perReplica && n.replicas && r.spec.name === 'replica-responses') {
      const diffs: string[] = [];
      for (const [id, v] of n.replicas.exact) {
        const p = r.perReplica.get(id);
        if (p !== v.count) diffs.push(`${id} PromQL ${p ?? 'none'} vs ${v.source} ${v.count}`);
      }
      if (diffs.length) line += ` [${diffs.slice(0, 6).join('; ')}${diffs.length > 6 ? '…' : ''}]`;
    }
    if (r.perReplica && r.spec.kind === 'cross' && r.perReplica.size > 0) {
      const who = [...r.perReplica].map(([id, v]) => `${id} (replica count ${v})`);
      line += ` [out of bounds: ${who.slice(0, 6).join('; ')}${who.length > 6 ? '…' : ''}]`;
    }
    out.push(line);
  }
  return out;
}
