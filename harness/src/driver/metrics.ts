/**
 * The driver's Prometheus metrics, on the harness (main) thread, fed by the worker's progress
 * messages. Progress numbers are cumulative, so a counter is incremented by the difference to
 * what it already shows; the last message of a run (`final`) is built from the ledger itself, so
 * once the run has ended every counter equals the ledger's totals exactly:
 *
 *   zerodrop_driver_requests_sent_total                = ledger rows
 *   zerodrop_driver_requests_completed_total{outcome}  = rows by outcome (abandoned included, as
 *                                                        outcome="abandoned": Σ = sent at the end)
 *   zerodrop_driver_responses_total{code}              = HTTP responses by status code
 *   zerodrop_driver_requests_retried_total             = rows with x-zerodrop-attempts > 1
 *   zerodrop_driver_late_sends_total                   = rows sent later than maxLateMs
 *   zerodrop_driver_request_duration_seconds{outcome}  = latency from the intended time; bucket
 *                                                        counts exact, _sum exact to float rounding
 *   zerodrop_driver_requests_in_flight, zerodrop_driver_open_connections,
 *   zerodrop_driver_schedule_lag_seconds (now), zerodrop_driver_max_schedule_lag_seconds,
 *   zerodrop_driver_target_rate (requests per second)
 *
 * The worker sends bucket counts and exact µs sums per (outcome, bucket); prom-client has no
 * "add n to a bucket", so n observations of that bucket's mean are recorded (the mean of values
 * in (lower, upper] lies in (lower, upper], so the counts land in the right bucket and the sum
 * is the exact sum).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { type DriverProgress, LATENCY_BUCKETS_SECONDS, Outcome, OUTCOME_NAMES } from './types.js';

export interface DriverMetrics {
  readonly registry: Registry;
  /** Apply one progress message (cumulative numbers). */
  update(p: DriverProgress): void;
  /** load.writes: what the read-back found (set once, after the load). */
  readBack(r: { durable: number; lost: number; phantom: number; landedUnacknowledged: number }): void;
  /**
   * Cumulative values that went backwards between two messages (a counter cannot): must stay 0.
   */
  readonly regressions: number;
}

export interface DriverMetricsOptions {
  runId: string;
  /** Default: a new Registry. */
  registry?: Registry;
}

const OUTCOME_LABELS = Object.entries(OUTCOME_NAMES)
  .filter(([k]) => Number(k) !== Outcome.Pending)
  .map(([k, name]) => ({ idx: Number(k), name }));

export function createDriverMetrics(options: DriverMetricsOptions): DriverMetrics {
  const registry = options.registry ?? new Registry();
  registry.setDefaultLabels({ run_id: options.runId });
  const registers = [registry];

  const sent = new Counter({ name: 'zerodrop_driver_requests_sent_total', help: 'Requests the driver wrote to a socket (ledger rows).', registers });
  // load.writes (issue 16): the writes among them, and what the read-back found after the load.
  const writesSent = new Counter({ name: 'zerodrop_driver_writes_sent_total', help: 'Writes (PUT /kv/<request id>) the driver sent.', registers });
  const writesAcked = new Counter({
    name: 'zerodrop_driver_writes_acknowledged_total',
    help: 'Writes answered 2xx with their own id (acknowledged).',
    registers,
  });
  const writesFailed = new Counter({
    name: 'zerodrop_driver_writes_failed_total',
    help: 'Writes that ended without an acknowledgement (a failure of the ledger).',
    registers,
  });
  const writesReadBack = new Gauge({
    name: 'zerodrop_driver_writes_read_back',
    help: 'After the load: acknowledged writes read back intact (durable) or not (lost), keys nobody wrote (phantom), failed writes that landed anyway.',
    labelNames: ['result'],
    registers,
  });
  const lastWrites = { sent: 0, acknowledged: 0, failed: 0 };
  const completed = new Counter({
    name: 'zerodrop_driver_requests_completed_total',
    help: 'Requests ended, by outcome (ok, http_error, id_mismatch, reset, refused, timeout, other_error, abandoned).',
    labelNames: ['outcome'],
    registers,
  });
  const responses = new Counter({
    name: 'zerodrop_driver_responses_total',
    help: 'HTTP responses the driver received, by status code.',
    labelNames: ['code'],
    registers,
  });
  const retried = new Counter({
    name: 'zerodrop_driver_requests_retried_total',
    help: 'Requests whose response said the proxy needed more than one attempt (x-zerodrop-attempts > 1).',
    registers,
  });
  const late = new Counter({
    name: 'zerodrop_driver_late_sends_total',
    help: 'Requests written later than maxLateMs after their intended time.',
    registers,
  });
  const inFlight = new Gauge({ name: 'zerodrop_driver_requests_in_flight', help: 'Requests written and not ended.', registers });
  const conns = new Gauge({ name: 'zerodrop_driver_open_connections', help: 'TCP connections the driver holds open.', registers });
  const lag = new Gauge({
    name: 'zerodrop_driver_schedule_lag_seconds',
    help: 'How far behind its schedule the open-model driver is now.',
    registers,
  });
  const maxLag = new Gauge({
    name: 'zerodrop_driver_max_schedule_lag_seconds',
    help: "Largest lag between a request's intended and actual send so far.",
    registers,
  });
  const target = new Gauge({ name: 'zerodrop_driver_target_rate', help: 'Target arrival rate, requests per second (0 = closed loop).', registers });
  const duration = new Histogram({
    name: 'zerodrop_driver_request_duration_seconds',
    help: 'Request latency from its intended send time (coordinated-omission correct for the open model), by outcome.',
    labelNames: ['outcome'],
    buckets: [...LATENCY_BUCKETS_SECONDS],
    registers,
  });

  for (const { name } of OUTCOME_LABELS) completed.inc({ outcome: name }, 0);
  sent.inc(0);

  let lastSent = 0;
  let lastRetried = 0;
  let lastLate = 0;
  const lastOutcome = new Array<number>(9).fill(0);
  const lastStatus = new Map<string, number>();
  let lastCounts: number[][] = [];
  let lastSums: number[][] = [];
  let regressions = 0;

  const delta = (now: number, before: number): number => {
    if (now < before) {
      regressions++;
      return 0;
    }
    return now - before;
  };

  return {
    registry,
    get regressions() {
      return regressions;
    },
    readBack(r) {
      for (const [result, v] of Object.entries({ durable: r.durable, lost: r.lost, phantom: r.phantom, landed_unacknowledged: r.landedUnacknowledged })) {
        writesReadBack.set({ result }, v);
      }
    },
    update(p: DriverProgress): void {
      if (p.writes) {
        for (const [k, counter] of [
          ['sent', writesSent],
          ['acknowledged', writesAcked],
          ['failed', writesFailed],
        ] as const) {
          const v = p.writes[k];
          const dw = delta(v, lastWrites[k]);
          if (dw > 0) counter.inc(dw);
          lastWrites[k] = Math.max(lastWrites[k], v);
        }
      }
      let d = delta(p.sent, lastSent);
      if (d > 0) sent.inc(d);
      lastSent = Math.max(lastSent, p.sent);

      for (const { idx, name } of OUTCOME_LABELS) {
        const v = p.byOutcome[idx] ?? 0;
        d = delta(v, lastOutcome[idx] ?? 0);
        if (d > 0) completed.inc({ outcome: name }, d);
        lastOutcome[idx] = Math.max(lastOutcome[idx] ?? 0, v);
      }
      for (const [code, v] of Object.entries(p.byStatus)) {
        const before = lastStatus.get(code) ?? 0;
        d = delta(v, before);
        if (d > 0) responses.inc({ code }, d);
        lastStatus.set(code, Math.max(before, v));
      }
      d = delta(p.retried, lastRetried);
      if (d > 0) retried.inc(d);
      lastRetried = Math.max(lastRetried, p.retried);
      d = delta(p.lateSends, lastLate);
      if (d > 0) late.inc(d);
      lastLate = Math.max(lastLate, p.lateSends);

      inFlight.set(p.inFlight);
      conns.set(p.openConnections);
      lag.set(p.scheduleLagMs / 1000);
      maxLag.set(p.maxScheduleLagMs / 1000);
      target.set(p.targetRate);

      const bounds = p.latency.bucketsSeconds;
      for (const { idx, name } of OUTCOME_LABELS) {
        const counts = p.latency.counts[idx];
        const sums = p.latency.sumsUs[idx];
        if (counts === undefined || sums === undefined) continue;
        const prevC = lastCounts[idx] ?? [];
        const prevS = lastSums[idx] ?? [];
        for (let b = 0; b < counts.length; b++) {
          const n = delta(counts[b] ?? 0, prevC[b] ?? 0);
          if (n === 0) continue;
          const sumUs = (sums[b] ?? 0) - (prevS[b] ?? 0);
          const lower = b === 0 ? 0 : (bounds[b - 1] ?? 0);
          const upper = bounds[b] ?? Number.POSITIVE_INFINITY;
          let mean = sumUs / n / 1e6;
          if (!(mean > lower) && b > 0) mean = upper === Number.POSITIVE_INFINITY ? lower * 2 : (lower + upper) / 2;
          if (mean > upper) mean = upper;
          if (mean < 0) mean = 0;
          const labels = { outcome: name };
          for (let k = 0; k < n; k++) duration.observe(labels, mean);
        }
      }
      lastCounts = p.latency.counts.map((row, i) => row.map((v, b) => Math.max(v, lastCounts[i]?.[b] ?? 0)));
      lastSums = p.latency.sumsUs.map((row) => [...row]);
    },
  };
}
