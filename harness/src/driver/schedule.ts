/**
 * The open model's arrival schedule: when request i is due, and how many are due by a time.
 *
 * A constant rate R (requests/ms) after an optional linear ramp from 0 to R over the first T ms
 * (k6's ramping-arrival-rate, Gatling's rampUsersPerSec). The ramp exists because a cold
 * system (JIT, connection pools, page cache) cannot take the full rate in its first second: a
 * cold start at full rate builds a backlog that the open model must then pay back above the rate,
 * which a machine near its limit never does (measured: 6 replicas at 5,000 req/s, lag > 2.9 s
 * from a cold start, none once warm). The ramp lies inside the warm-up, which is not measured.
 *
 * Arrivals up to time t: N(t) = R t² / 2T for t < T, then R T / 2 + R (t − T). Request i (0-based)
 * is due at N⁻¹(i): √(2 T i / R) in the ramp, T + (i − R T / 2) / R after it. Pure functions.
 */
export interface ArrivalSchedule {
  /** Requests in [0, durationMs). */
  readonly total: number;
  /** How many requests are due by `elapsedMs` (index of the first one not yet due), capped at total. */
  dueBy(elapsedMs: number): number;
  /** When request i is due, in ms since the start. */
  at(i: number): number;
}

export function arrivalSchedule(ratePerSecond: number, durationMs: number, rampUpMs = 0): ArrivalSchedule {
  const r = ratePerSecond / 1000;
  const ramp = Math.max(0, Math.min(rampUpMs, durationMs));
  const inRamp = (r * ramp) / 2; // requests due during the ramp (fractional)
  const arrivals = (t: number): number => (t <= 0 ? 0 : t < ramp ? (r * t * t) / (2 * ramp) : inRamp + r * (t - ramp));
  const total = Math.ceil(arrivals(durationMs) - 1e-9);
  return {
    total,
    // Request i is due at at(i); at(0) = 0, so one request is due at t = 0 already. Without a
    // ramp this is exactly floor(t · rate) + 1; in the ramp, a hair of slack keeps dueBy(at(i))
    // from losing request i to the rounding of the square root.
    dueBy: (t) => Math.min(total, t < 0 ? 0 : Math.floor(ramp > 0 ? arrivals(t) + 1e-9 : r * t) + 1),
    at: (i) => (i < inRamp ? Math.sqrt((2 * ramp * i) / r) : ramp + (i - inRamp) / r),
  };
}

/**
 * Requests sent together when a response frees a connection (open model). Below it, the driver's
 * 1 ms timer tick sends whatever is due. Sending each request the instant it is due wakes the data
 * plane and a replica once per request; a few at a time lets each wake-up serve several. Measured on
 * 2 cores (docs/architecture.md, "Pacing"): context switches per request 4.2 → 2.3 at 6,000 req/s
 * steady; the demo at 10,000 req/s PASSed 6 of 6 against 6 of 9. The cost is up to one tick of send delay above
 * ~1,000 req/s, which the latency shows (it is measured from the intended send time).
 */
export const SEND_BATCH = 4;

/**
 * Whether a response that frees a connection sends the requests due now, or leaves them to the
 * timer: it sends when no timer is armed (the driver is behind and every connection was busy, so
 * nothing else would send) or when a batch is due.
 */
export function sendsOnResponse(timerArmed: boolean, dueUnsent: number): boolean {
  return !timerArmed || dueUnsent >= SEND_BATCH;
}
