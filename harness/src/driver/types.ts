/**
 * Load drivers. Two engines produce one ledger and one set of metrics:
 * - `open`: constant arrival rate; each request has an intended send time; latency is measured
 *   from it (coordinated-omission correct); sends that start late are counted.
 * - `autocannon`: the design package, closed loop per connection (its rate limiter is bursty);
 *   we count sends and completions ourselves and never trust its error counters.
 */

export type EngineName = 'open' | 'autocannon';

export interface RequestTemplate {
  method: string;
  /** Path and query, e.g. "/" or "/work?ms=5". */
  path: string;
  headers: Record<string, string>;
  body: string | null;
  /** Relative weight in the mix. */
  weight: number;
  /**
   * A write keyed from the request id (load.writes, writes.ts): the request goes to `<path><id>`
   * with body writeValue(id); `body` is ignored. Open engine only.
   */
  keyedWrite?: boolean;
}

export interface DriverConfig {
  engine: EngineName;
  /** Base URL of the target (the service proxy), loopback only. */
  url: string;
  runId: string;
  /**
   * Target requests per second. 0 = closed loop, as fast as the connections go (both engines; the
   * open engine's closed loop exists for throughput comparisons with wrk, never for a proof).
   */
  rate: number;
  /** Open model: most connections it may open. autocannon: connections. */
  connections: number;
  /** Total load duration, warm-up included. */
  durationMs: number;
  /** The first warmupMs are sent but excluded from the measured window. */
  warmupMs: number;
  /** Open model: the rate ramps linearly from 0 to `rate` over the first rampUpMs (≤ warmupMs; default 0). */
  rampUpMs?: number;
  /** Per-request timeout, from the actual send. */
  timeoutMs: number;
  requests: RequestTemplate[];
  /**
   * Open model: a send that starts more than this late counts as a late send; the run states
   * how far behind schedule the driver ever fell.
   */
  maxLateMs: number;
  /**
   * Target mode (a deployment zerodrop did not start, no data plane of its own to attest ids): a
   * 2xx without x-zerodrop-id is Ok; a wrong id is still a mismatch. Open engine only.
   */
  idsOptional?: boolean;
}

/** How a request ended, as recorded in the ledger (one byte per request). */
export const Outcome = {
  /** Sent (or scheduled) and not finished yet. */
  Pending: 0,
  /** 2xx with its own id echoed back. */
  Ok: 1,
  /** A response that is not 2xx. */
  HttpError: 2,
  /** 2xx, but the echoed x-zerodrop-id was missing or another request's. */
  IdMismatch: 3,
  /** The connection closed or reset before the response ended. */
  Reset: 4,
  /** The connection could not be made (ECONNREFUSED...). */
  Refused: 5,
  /** No complete response within the timeout. */
  Timeout: 6,
  /** Any other client-side error. */
  OtherError: 7,
  /** Still in flight when the driver gave up waiting at the end of the run. */
  Abandoned: 8,
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

export const OUTCOME_NAMES: Record<Outcome, string> = {
  0: 'pending',
  1: 'ok',
  2: 'http_error',
  3: 'id_mismatch',
  4: 'reset',
  5: 'refused',
  6: 'timeout',
  7: 'other_error',
  8: 'abandoned',
};

/** Periodic progress from a running engine (for the live line and the driver's metrics). */
export interface DriverProgress {
  /** Monotonic ms. */
  t: number;
  sent: number;
  completed: number;
  ok: number;
  failed: number;
  inFlight: number;
  openConnections: number;
  /** Requests/s completed over the last interval. */
  rateLastInterval: number;
  /** p99 latency (ms) over the last interval. */
  p99LastIntervalMs: number;
  lateSends: number;
  /** How far behind schedule the open model is right now (ms). */
  scheduleLagMs: number;
  /** The driver thread's worst event-loop delay since the previous progress (ms); set by its worker. */
  loopDelayMaxMs?: number;
  /** The driver thread's CPU time so far (1/100 s ticks, Linux); set by its worker. */
  cpuTicks?: number;
  // ---- added with the engines (issue 4): what the driver metrics need, all cumulative ----
  /** Rows that ended as Abandoned (in flight when the driver stopped waiting). Not in `completed`. */
  abandoned: number;
  /** Requests whose response carried x-zerodrop-attempts > 1 (the proxy retried them). */
  retried: number;
  /** Rows by Outcome; index = Outcome value (so byOutcome[Outcome.Ok] === ok). */
  byOutcome: number[];
  /** HTTP responses by status code ("200", "503"...), whatever their outcome. */
  byStatus: Record<string, number>;
  /** Cumulative latency histogram (from the intended time) per outcome, for the duration histogram. */
  latency: LatencyHistogramSnapshot;
  targetRate: number;
  /** Largest lag between a request's intended and actual send so far (ms). */
  maxScheduleLagMs: number;
  /** true on the last message of a run: its numbers equal the ledger's totals exactly. */
  final: boolean;
  /** load.writes (open engine): writes sent, acknowledged (2xx with the id), ended otherwise; cumulative. */
  writes?: { sent: number; acknowledged: number; failed: number };
}

/** Prometheus-style buckets (seconds, `le` inclusive) of zerodrop_driver_request_duration_seconds. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface LatencyHistogramSnapshot {
  /** Upper bounds (seconds); counts have one more slot for +Inf. */
  bucketsSeconds: readonly number[];
  /** counts[outcome][bucket] (non-cumulative per bucket, cumulative over time). */
  counts: number[][];
  /** Exact sum of the latencies in each bucket, µs (integers, so exact). */
  sumsUs: number[][];
}

export interface DriverSummary {
  engine: EngineName;
  /** Monotonic ms when the first request was scheduled. */
  startedAt: number;
  /** Monotonic ms when the last request was scheduled to be sent. */
  sendingEndedAt: number;
  /** Monotonic ms when the driver stopped waiting for responses. */
  endedAt: number;
  /**
   * Requests written, by the engine's running count (one per write, kept apart from the ledger):
   * the verifier compares it with the ledger's rows, two counters that can disagree.
   */
  sent: number;
  lateSends: number;
  maxScheduleLagMs: number;
  /** autocannon only: what autocannon itself reported, shown next to our own counts. */
  autocannonReported: { sent: number; completed: number; errors: number; timeouts: number; non2xx: number } | null;
  /** true if the driver was told to stop early (SIGINT). */
  interrupted: boolean;
  // ---- added with the engines (issue 4) ----
  targetRate: number;
  /**
   * Requests that were due before the end of the sending phase but never written because every
   * connection stayed busy (k6's dropped_iterations). They are NOT in the ledger; a run with
   * unsent > 0 did not produce its target load.
   */
  unsent: number;
  /** Rows that ended as Abandoned. */
  abandoned: number;
  /** TCP connections opened over the run, and the most open at once. */
  connectionsOpened: number;
  maxOpenConnections: number;
  /**
   * Bookkeeping anomalies the engine detected (a response with no request in flight, a request
   * written twice...). Must be 0; anything else means the ledger cannot be trusted.
   */
  anomalies: number;
}
