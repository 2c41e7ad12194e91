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
}

export interface DriverConfig {
  engine: EngineName;
  /** Base URL of the target (the service proxy), loopback only. */
  url: string;
  runId: string;
  /** Target requests per second. 0 = closed loop, as fast as the connections go (autocannon only). */
  rate: number;
  /** Open model: most connections it may open. autocannon: connections. */
  connections: number;
  /** Total load duration, warm-up included. */
  durationMs: number;
  /** The first warmupMs are sent but excluded from the measured window. */
  warmupMs: number;
  /** Per-request timeout, from the actual send. */
  timeoutMs: number;
  requests: RequestTemplate[];
  /**
   * Open model: a send that starts more than this late counts as a late send; the run states
   * how far behind schedule the driver ever fell.
   */
  maxLateMs: number;
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
}

export interface DriverSummary {
  engine: EngineName;
  /** Monotonic ms when the first request was scheduled. */
  startedAt: number;
  /** Monotonic ms when the last request was scheduled to be sent. */
  sendingEndedAt: number;
  /** Monotonic ms when the driver stopped waiting for responses. */
  endedAt: number;
  sent: number;
  lateSends: number;
  maxScheduleLagMs: number;
  /** autocannon only: what autocannon itself reported, shown next to our own counts. */
  autocannonReported: { sent: number; completed: number; errors: number; timeouts: number; non2xx: number } | null;
  /** true if the driver was told to stop early (SIGINT). */
  interrupted: boolean;
}
