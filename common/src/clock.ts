/**
 * One clock for every part of a run (docs/architecture.md, "One clock").
 *
 * process.hrtime is CLOCK_MONOTONIC: the same time base in every thread and every process on the
 * machine, so the driver (worker thread), the proxy (worker thread), the orchestrator and the
 * replicas (child processes) can all stamp events that line up to the microsecond.
 * Values are milliseconds as floats (microsecond resolution survives in a double for years).
 */

export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** A clock the planner and tests can inject (the Kubernetes `nowFn` habit). */
export interface Clock {
  /** Monotonic milliseconds (see monotonicMs). */
  now(): number;
}

export const systemClock: Clock = { now: monotonicMs };

/** Pairs a monotonic instant with wall time, so reports can print dates for monotonic stamps. */
export interface ClockAnchor {
  monotonicMs: number;
  epochMs: number;
}

export function captureAnchor(): ClockAnchor {
  return { monotonicMs: monotonicMs(), epochMs: Date.now() };
}


