/**
 * The proxy's Prometheus registry. The hot path counts in plain numbers and typed arrays; the
 * prom-client metrics are filled from them at scrape time (`collect`), so a request costs no
 * label hashing and no allocation for metrics.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Endpoint } from './endpoints.js';
import { OUTCOMES } from './http-semantics.js';
import type { EndpointState, RetryReason } from './types.js';

export const DURATION_BUCKETS: readonly number[] = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Request duration histogram counted by hand: counts[i] = observations ≤ bounds[i] (not cumulative), last = +Inf. */
export class DurationCounter {
  readonly counts = new Float64Array(DURATION_BUCKETS.length + 1);
  sum = 0;
  count = 0;
  private readonly bounds = Float64Array.from(DURATION_BUCKETS);

  observe(seconds: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && seconds > (b[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += seconds;
    this.count++;
  }
}

/** What the metrics read at scrape time. */
export interface ProxyMetricsSource {
  received(): number;
  responded(): Float64Array;
  clientAborts(): number;
  malformed(): number;
  inFlight(): number;
  retries(): Record<RetryReason, number>;
  retryBudgetExhausted(): number;
  savedByRetry(): number;
  zoneEjections(): ReadonlyMap<string, number>;
  endpoints(): Iterable<Endpoint>;
  durations(): DurationCounter;
}

const STATES: readonly EndpointState[] = ['active', 'draining', 'ejected', 'removed'];

interface HistogramInternals {
  hashMap: Record<string, { labels: Record<string, string>; bucketValues: Record<string, number>; sum: number; count: number }>;
}

export function createProxyRegistry(runId: string, src: ProxyMetricsSource): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ run_id: runId });
  const registers = [registry];

  const received = new Counter({
    name: 'zerodrop_proxy_requests_received_total',
    help: 'Downstream requests received by the proxy (complete request heads).',
    registers,
    collect() {
      received.reset();
      received.inc(src.received());
    },
  });
  const responses = new Counter({
    name: 'zerodrop_proxy_responses_total',
    help: 'Downstream responses sent by the proxy, by status code.',
    labelNames: ['code'] as const,
    registers,
    collect() {
      responses.reset();
      const r = src.responded();
      for (let c = 0; c < r.length; c++) if ((r[c] as number) > 0) responses.inc({ code: String(c) }, r[c] as number);
    },
  });
  const attempts = new Counter({
    name: 'zerodrop_proxy_upstream_attempts_total',
    help: 'Upstream attempts by replica and how they ended.',
    labelNames: ['replica', 'zone', 'version', 'outcome'] as const,
    registers,
    collect() {
      attempts.reset();
      for (const ep of src.endpoints()) {
        for (let i = 0; i < OUTCOMES.length; i++) {
          attempts.inc({ replica: ep.id, zone: ep.zone, version: ep.version, outcome: OUTCOMES[i] }, ep.attempts[i] as number);
        }
      }
    },
  });
  const upstreamResponses = new Counter({
    name: 'zerodrop_proxy_upstream_responses_total',
    help: 'Upstream responses (headers received) by replica and status code.',
    labelNames: ['replica', 'zone', 'version', 'code'] as const,
    registers,
    collect() {
      upstreamResponses.reset();
      for (const ep of src.endpoints()) {
        const r = ep.responses;
        for (let c = 0; c < r.length; c++) {
          if ((r[c] as number) > 0) upstreamResponses.inc({ replica: ep.id, zone: ep.zone, version: ep.version, code: String(c) }, r[c] as number);
        }
      }
    },
  });
  const idleClosed = new Counter({
    name: 'zerodrop_proxy_upstream_idle_closed_total',
    help: 'Idle keep-alive connections a replica closed before their keep-alive limit, while a request could have been written on them (contract rule 2; only where the upstream client can tell: raw).',
    labelNames: ['replica', 'zone', 'version'] as const,
    registers,
    collect() {
      idleClosed.reset();
      for (const ep of src.endpoints()) {
        if (ep.idleClosedByReplica !== null) idleClosed.inc({ replica: ep.id, zone: ep.zone, version: ep.version }, ep.idleClosedByReplica);
      }
    },
  });
  const retries = new Counter({
    name: 'zerodrop_proxy_retries_total',
    help: 'Retries performed on another replica, by the reason of the failed attempt.',
    labelNames: ['reason'] as const,
    registers,
    collect() {
      retries.reset();
      const r = src.retries();
      for (const reason of Object.keys(r) as RetryReason[]) retries.inc({ reason }, r[reason]);
    },
  });
  const exhausted = new Counter({
    name: 'zerodrop_proxy_retry_budget_exhausted_total',
    help: 'Retries refused because the retry budget was exhausted.',
    registers,
    collect() {
      exhausted.reset();
      exhausted.inc(src.retryBudgetExhausted());
    },
  });
  const saved = new Counter({
    name: 'zerodrop_proxy_saved_by_retry_total',
    help: 'Requests that got an upstream answer only thanks to a retry.',
    registers,
    collect() {
      saved.reset();
      saved.inc(src.savedByRetry());
    },
  });
  const aborts = new Counter({
    name: 'zerodrop_proxy_client_aborts_total',
    help: 'Downstream requests whose client went away before the response ended.',
    registers,
    collect() {
      aborts.reset();
      aborts.inc(src.clientAborts());
    },
  });
  const malformed = new Counter({
    name: 'zerodrop_proxy_malformed_requests_total',
    help: 'Connections that sent something that is not valid HTTP (answered 400/431, not counted as received).',
    registers,
    collect() {
      malformed.reset();
      malformed.inc(src.malformed());
    },
  });
  const inFlight = new Gauge({
    name: 'zerodrop_proxy_requests_in_flight',
    help: 'Downstream requests in flight.',
    registers,
    collect() {
      inFlight.set(src.inFlight());
    },
  });
  const duration = new Histogram({
    name: 'zerodrop_proxy_request_duration_seconds',
    help: 'Time from the request head to the end of the downstream response.',
    buckets: [...DURATION_BUCKETS],
    registers,
    collect() {
      // Counted by hand on the hot path (DurationCounter); copied into prom-client's own store
      // here. prom-client 15.1.3 keeps an unlabelled histogram under hashMap[''] with per-bound,
      // non-cumulative bucketValues (lib/histogram.js); the unit test checks the exposition.
      const d = src.durations();
      const bucketValues: Record<string, number> = {};
      for (let i = 0; i < DURATION_BUCKETS.length; i++) bucketValues[String(DURATION_BUCKETS[i])] = d.counts[i] as number;
      (duration as unknown as HistogramInternals).hashMap = { '': { labels: {}, bucketValues, sum: d.sum, count: d.count } };
    },
  });
  const state = new Gauge({
    name: 'zerodrop_proxy_endpoint_state',
    help: '1 for the state each endpoint is in, 0 for the others.',
    labelNames: ['replica', 'zone', 'version', 'state'] as const,
    registers,
    collect() {
      state.reset();
      for (const ep of src.endpoints()) {
        const s = ep.state;
        for (const st of STATES) state.set({ replica: ep.id, zone: ep.zone, version: ep.version, state: st }, st === s ? 1 : 0);
      }
    },
  });
  const zoneEjections = new Counter({
    name: 'zerodrop_proxy_zone_ejections_total',
    help: 'Zone-wide ejections (a zone presumed down).',
    labelNames: ['zone'] as const,
    registers,
    collect() {
      zoneEjections.reset();
      for (const [zone, n] of src.zoneEjections()) zoneEjections.inc({ zone }, n);
    },
  });
  return registry;
}
