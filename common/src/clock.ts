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

/** A pending timer of a SchedulingClock. */
export interface Timer {
  cancel(): void;
}

export interface TimerOptions {
  /** false: the timer does not keep the process alive (Node's unref). Default true. */
  ref?: boolean;
}

/**
 * A clock that also schedules: components whose timers decide behaviour (the controller's resync,
 * zone detection, termination) take one, so unit tests drive them under fake time.
 */
export interface SchedulingClock extends Clock {
  /** Calls `fn` once, `ms` from now. */
  after(ms: number, fn: () => void, options?: TimerOptions): Timer;
  /** Calls `fn` every `ms` until cancelled. */
  every(ms: number, fn: () => void, options?: TimerOptions): Timer;
}

export const systemClock: SchedulingClock = {
  now: monotonicMs,
  after(ms, fn, options) {
    const timer = setTimeout(fn, ms);
    if (options?.ref === false) timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
  every(ms, fn, options) {
    const timer = setInterval(fn, ms);
    if (options?.ref === false) timer.unref();
    return { cancel: () => clearInterval(timer) };
  },
};

/** Resolves `ms` from now on `clock` (at once for ms ≤ 0). */
export function delay(ms: number, clock: SchedulingClock = systemClock): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => clock.after(ms, resolve));
}

/** Pairs a monotonic instant with wall time, so reports can print dates for monotonic stamps. */
export interface ClockAnchor {
  monotonicMs: number;
  epochMs: number;
}

export function captureAnchor(): ClockAnchor {
  return { monotonicMs: monotonicMs(), epochMs: Date.now() };
}
