/**
 * The ledger on the report's clock (ms from the run's origin), with windows by ACTUAL time: a
 * request belongs to a window when it was really in flight during it (sent ≤ end and answered
 * ≥ start), whatever its intended time. Latency stays measured from the intended send time
 * (coordinated-omission correct). The whole-run math is driver/analysis.ts.
 */
import { isFailed, latencySummary, longestGap, type LedgerView } from '../driver/analysis.js';
import { Outcome } from '../driver/types.js';
import type { LatencySummary, WindowStats } from '../result/types.js';

export class RelativeLedger {
  /** The longest a row lasted from its intended time to its end (ms): bounds every window scan. */
  private readonly maxSpanMs: number;

  constructor(
    readonly data: LedgerView,
    readonly origin: number,
  ) {
    let max = 0;
    for (let i = 0; i < data.length; i++) {
      const us = Math.max(data.latencyUs[i] ?? 0, data.sendLagUs[i] ?? 0);
      if (us > max) max = us;
    }
    this.maxSpanMs = max / 1000;
  }

  get length(): number {
    return this.data.length;
  }

  /** Intended send time. */
  at(i: number): number {
    return (this.data.intended[i] ?? 0) - this.origin;
  }

  /** Actual send time (intended + send lag). */
  sentAt(i: number): number {
    return this.at(i) + (this.data.sendLagUs[i] ?? 0) / 1000;
  }

  /** Actual end: the answer, the failure, or when the driver gave up. */
  endAt(i: number): number {
    return this.at(i) + (this.data.latencyUs[i] ?? 0) / 1000;
  }

  isOk(i: number): boolean {
    return this.data.outcome[i] === Outcome.Ok;
  }

  isFailed(i: number): boolean {
    return isFailed(this.data.outcome[i] ?? 0);
  }

  retried(i: number): boolean {
    return (this.data.attempts[i] ?? 1) > 1;
  }

  /** Rows with intended time in [fromMs, toMs), in order. */
  forEach(fromMs: number, toMs: number, fn: (i: number) => void): void {
    const t = this.data.intended;
    const lo = fromMs + this.origin;
    const hi = toMs + this.origin;
    for (let i = lowerBound(t, this.data.length, lo); i < this.data.length; i++) {
      const x = t[i] ?? 0;
      if (x >= hi) break;
      if (x >= lo) fn(i);
    }
  }

  /** Rows in flight at some instant of [fromMs, toMs]: sent ≤ toMs and ended ≥ fromMs. */
  forEachInFlight(fromMs: number, toMs: number, fn: (i: number) => void): void {
    const t = this.data.intended;
    const n = this.data.length;
    const hi = toMs + this.origin;
    for (let i = lowerBound(t, n, fromMs - this.maxSpanMs + this.origin); i < n; i++) {
      if ((t[i] ?? 0) > hi) break;
      if (this.sentAt(i) <= toMs && this.endAt(i) >= fromMs) fn(i);
    }
  }

  /** Rows actually sent in [fromMs, toMs). */
  sentIn(fromMs: number, toMs: number): number {
    let n = 0;
    this.forEachInFlight(fromMs, toMs, (i) => {
      const s = this.sentAt(i);
      if (s >= fromMs && s < toMs) n++;
    });
    return n;
  }

  /** The window's traffic by actual time (see WindowStats). */
  window(fromMs: number, toMs: number): WindowStats {
    if (toMs < fromMs) toMs = fromMs; // an event before the measured window has an empty "before"
    let sent = 0;
    let ok = 0;
    let failed = 0;
    let retried = 0;
    const lat: number[] = [];
    this.forEachInFlight(fromMs, toMs, (i) => {
      const s = this.sentAt(i);
      if (s >= fromMs && s < toMs) sent++;
      const o = this.data.outcome[i];
      if (o === Outcome.Ok) {
        const e = this.endAt(i);
        if (e >= fromMs && e < toMs) ok++;
      } else failed++;
      if (this.retried(i)) retried++;
      if (o !== Outcome.Abandoned && o !== Outcome.Pending) lat.push(this.data.latencyUs[i] ?? 0);
    });
    const secs = (toMs - fromMs) / 1000;
    return { startMs: fromMs, endMs: toMs, sent, ok, failed, retried, achievedRate: secs > 0 ? sent / secs : 0, latency: summarize(lat) };
  }

  /** Latency over the rows intended in [fromMs, toMs) (the measured window's figures). */
  latency(fromMs: number, toMs: number): LatencySummary {
    return latencySummary(this.data, this.origin + fromMs, this.origin + toMs);
  }

  longestGap(fromMs: number, toMs: number): { gapMs: number; atMs: number | null } {
    const g = longestGap(this.data, this.origin + fromMs, this.origin + toMs);
    return { gapMs: g.gapMs, atMs: g.fromMs - this.origin };
  }
}

/** Exact nearest-rank p50/p99/p99.9/max of latencies in µs, in ms. */
function summarize(us: number[]): LatencySummary {
  const n = us.length;
  if (n === 0) return { count: 0, p50Ms: null, p99Ms: null, p999Ms: null, maxMs: null };
  const s = Float64Array.from(us).sort();
  const q = (p: number): number => s[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]! / 1000;
  return { count: n, p50Ms: q(0.5), p99Ms: q(0.99), p999Ms: q(0.999), maxMs: s[n - 1]! / 1000 };
}

function lowerBound(t: Float64Array, n: number, ms: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((t[mid] ?? 0) < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
