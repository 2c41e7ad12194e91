/**
 * Fast, exact questions over a finished ledger. Rows are appended in intended-time order by
 * both engines, so a time window is a contiguous row range found by binary search; percentiles
 * are exact (a sorted copy of the window's latencies, no histogram error).
 */
import type { LedgerData } from '../driver/ledger.js';
import { Outcome } from '../driver/types.js';
import type { LatencySummary } from '../result/types.js';

export class LedgerView {
  readonly data: LedgerData;
  /** Monotonic ms of time 0. */
  readonly origin: number;
  private readonly sorted: boolean;

  constructor(data: LedgerData, origin: number) {
    this.data = data;
    this.origin = origin;
    let sorted = true;
    const t = data.intended;
    for (let i = 1; i < data.length; i++) {
      if ((t[i] ?? 0) < (t[i - 1] ?? 0)) {
        sorted = false;
        break;
      }
    }
    this.sorted = sorted;
  }

  get length(): number {
    return this.data.length;
  }

  /** Intended time of row i, ms from origin. */
  at(i: number): number {
    return (this.data.intended[i] ?? 0) - this.origin;
  }

  /** Completion time of row i (intended + latency), ms from origin. */
  endAt(i: number): number {
    return this.at(i) + (this.data.latencyUs[i] ?? 0) / 1000;
  }

  isOk(i: number): boolean {
    return this.data.outcome[i] === Outcome.Ok;
  }

  isFailed(i: number): boolean {
    const o = this.data.outcome[i];
    return o !== Outcome.Ok && o !== Outcome.Pending && o !== Outcome.Abandoned;
  }

  /** Rows whose intended time is in [fromMs, toMs). */
  range(fromMs: number, toMs: number): { start: number; end: number } {
    if (!this.sorted) return { start: 0, end: this.data.length };
    return { start: this.lowerBound(fromMs), end: this.lowerBound(toMs) };
  }

  /** Calls fn for every row with intended time in [fromMs, toMs). */
  forEach(fromMs: number, toMs: number, fn: (i: number) => void): void {
    const { start, end } = this.range(fromMs, toMs);
    for (let i = start; i < end; i++) {
      const t = this.at(i);
      if (t >= fromMs && t < toMs) fn(i);
    }
  }

  /** Exact latency percentiles (ms) of the Ok rows in the window. */
  latency(fromMs: number, toMs: number): LatencySummary {
    const values: number[] = [];
    this.forEach(fromMs, toMs, (i) => {
      if (this.isOk(i)) values.push(this.data.latencyUs[i] ?? 0);
    });
    return summarize(Float64Array.from(values));
  }

  /**
   * Longest time without a successful response completing, inside [fromMs, toMs), at 1 ms
   * resolution. A window with no success at all counts as one gap of its whole length.
   */
  longestGap(fromMs: number, toMs: number): { gapMs: number; atMs: number | null } {
    const width = Math.max(0, Math.ceil(toMs - fromMs));
    if (width === 0) return { gapMs: 0, atMs: null };
    const hit = new Uint8Array(width);
    // Successes completing inside the window may have been sent a little before it.
    const lookback = 60_000;
    this.forEach(fromMs - lookback, toMs, (i) => {
      if (!this.isOk(i)) return;
      const end = this.endAt(i);
      if (end >= fromMs && end < toMs) hit[Math.floor(end - fromMs)] = 1;
    });
    let best = 0;
    let bestAt: number | null = null;
    let run = 0;
    let runStart = 0;
    for (let ms = 0; ms < width; ms++) {
      if (hit[ms]) {
        run = 0;
        continue;
      }
      if (run === 0) runStart = ms;
      run++;
      if (run > best) {
        best = run;
        bestAt = fromMs + runStart;
      }
    }
    return { gapMs: best, atMs: bestAt };
  }

  private lowerBound(ms: number): number {
    const target = ms + this.origin;
    let lo = 0;
    let hi = this.data.length;
    const t = this.data.intended;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((t[mid] ?? 0) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Percentiles of latencies given in µs, reported in ms. Sorts `us` in place. */
export function summarize(us: Float64Array): LatencySummary {
  if (us.length === 0) return { count: 0, p50Ms: null, p99Ms: null, p999Ms: null, maxMs: null };
  us.sort();
  return {
    count: us.length,
    p50Ms: quantile(us, 0.5) / 1000,
    p99Ms: quantile(us, 0.99) / 1000,
    p999Ms: quantile(us, 0.999) / 1000,
    maxMs: (us[us.length - 1] ?? 0) / 1000,
  };
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? 0;
}
