/**
 * Running counters of an engine, updated once per finished row, and the same counters rebuilt
 * from a ledger (the final progress message is built from the ledger itself, so the driver
 * metrics end equal to the ledger's totals by construction).
 */
import type { LedgerData } from './ledger.js';
import { type DriverProgress, LATENCY_BUCKETS_SECONDS, type LatencyHistogramSnapshot, Outcome } from './types.js';

export const OUTCOME_COUNT = 9;
const NB = LATENCY_BUCKETS_SECONDS.length + 1; // + Inf
const BUCKETS_US = Float64Array.from(LATENCY_BUCKETS_SECONDS, (s) => Math.round(s * 1e6));
const MAX_STATUS = 1000;

/** Index of the duration-histogram bucket of a latency in µs (`le` inclusive). */
export function latencyBucket(us: number): number {
  for (let i = 0; i < BUCKETS_US.length; i++) if (us <= BUCKETS_US[i]!) return i;
  return BUCKETS_US.length;
}

// Per-interval fine histogram for the live p99: log2 with 16 sub-buckets (≈ 6 % wide).
const FINE = 64 * 16;
function fineIndex(us: number): number {
  if (us < 16) return us;
  const e = 31 - Math.clz32(us); // ≥ 4
  return (e - 3) * 16 + ((us >>> (e - 4)) & 15);
}
function fineUpperUs(idx: number): number {
  if (idx < 16) return idx;
  const e = (idx >>> 4) + 3;
  const sub = idx & 15;
  return (16 + sub + 1) * 2 ** (e - 4) - 1;
}

export class RunStats {
  sent = 0;
  completed = 0;
  ok = 0;
  abandoned = 0;
  retried = 0;
  lateSends = 0;
  maxScheduleLagMs = 0;
  readonly byOutcome = new Float64Array(OUTCOME_COUNT);
  readonly byStatus = new Float64Array(MAX_STATUS);
  readonly bucketCounts = new Float64Array(OUTCOME_COUNT * NB);
  readonly bucketSumsUs = new Float64Array(OUTCOME_COUNT * NB);
  private readonly fine = new Uint32Array(FINE);
  private intervalCompleted = 0;
  private intervalStart: number;

  constructor(now: number) {
    this.intervalStart = now;
  }

  /** One row ended (after Ledger.complete accepted it). */
  record(outcome: number, status: number, latencyUs: number, attempts: number): void {
    this.byOutcome[outcome]!++;
    if (outcome === Outcome.Abandoned) this.abandoned++;
    else {
      this.completed++;
      if (outcome === Outcome.Ok) this.ok++;
      this.intervalCompleted++;
      const f = fineIndex(latencyUs);
      this.fine[f < FINE ? f : FINE - 1]!++;
    }
    if (status > 0 && status < MAX_STATUS) this.byStatus[status]!++;
    if (attempts > 1) this.retried++;
    const b = outcome * NB + latencyBucket(latencyUs);
    this.bucketCounts[b]!++;
    this.bucketSumsUs[b]! += latencyUs;
  }

  /** One row sent, with the send lag the ledger stored (µs), so that the counts match a ledger scan. */
  noteSend(lagUs: number, maxLateUs: number): void {
    this.sent++;
    if (lagUs / 1000 > this.maxScheduleLagMs) this.maxScheduleLagMs = lagUs / 1000;
    if (lagUs > maxLateUs) this.lateSends++;
  }

  /** A progress message; resets the per-interval figures. */
  progress(now: number, extra: { inFlight: number; openConnections: number; scheduleLagMs: number; targetRate: number; final: boolean }): DriverProgress {
    const dt = (now - this.intervalStart) / 1000;
    const rate = dt > 0 ? this.intervalCompleted / dt : 0;
    let p99 = 0;
    if (this.intervalCompleted > 0) {
      const rank = Math.ceil(this.intervalCompleted * 0.99);
      let acc = 0;
      for (let i = 0; i < FINE; i++) {
        acc += this.fine[i]!;
        if (acc >= rank) {
          p99 = fineUpperUs(i) / 1000;
          break;
        }
      }
    }
    this.fine.fill(0);
    this.intervalCompleted = 0;
    this.intervalStart = now;
    return {
      t: now,
      sent: this.sent,
      completed: this.completed,
      ok: this.ok,
      failed: this.completed - this.ok,
      inFlight: extra.inFlight,
      openConnections: extra.openConnections,
      rateLastInterval: rate,
      p99LastIntervalMs: p99,
      lateSends: this.lateSends,
      scheduleLagMs: extra.scheduleLagMs,
      abandoned: this.abandoned,
      retried: this.retried,
      byOutcome: Array.from(this.byOutcome),
      byStatus: statusRecord(this.byStatus),
      latency: snapshot(this.bucketCounts, this.bucketSumsUs),
      targetRate: extra.targetRate,
      maxScheduleLagMs: this.maxScheduleLagMs,
      final: extra.final,
    };
  }
}

function statusRecord(byStatus: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (let s = 0; s < byStatus.length; s++) if (byStatus[s]! > 0) out[String(s)] = byStatus[s]!;
  return out;
}

function snapshot(counts: Float64Array, sums: Float64Array): LatencyHistogramSnapshot {
  const c: number[][] = [];
  const s: number[][] = [];
  for (let o = 0; o < OUTCOME_COUNT; o++) {
    c.push(Array.from(counts.subarray(o * NB, (o + 1) * NB)));
    s.push(Array.from(sums.subarray(o * NB, (o + 1) * NB)));
  }
  return { bucketsSeconds: LATENCY_BUCKETS_SECONDS, counts: c, sumsUs: s };
}

/**
 * The cumulative counters of a finished ledger (what the final progress message carries).
 * `sent` is the number of rows; lateSends counts rows whose send lag exceeded maxLateMs.
 */
export function statsFromLedger(
  data: Pick<LedgerData, 'length' | 'outcome' | 'status' | 'latencyUs' | 'attempts' | 'sendLagUs'>,
  maxLateMs: number,
  now: number,
): RunStats {
  const st = new RunStats(now);
  const n = data.length;
  const lateUs = maxLateMs * 1000;
  let maxLagUs = 0;
  let late = 0;
  for (let i = 0; i < n; i++) {
    const o = data.outcome[i]!;
    if (o !== Outcome.Pending) st.record(o, data.status[i]!, data.latencyUs[i]!, data.attempts[i]!);
    const lag = data.sendLagUs[i]!;
    if (lag > maxLagUs) maxLagUs = lag;
    if (lag > lateUs) late++;
  }
  st.sent = n;
  st.lateSends = late;
  st.maxScheduleLagMs = maxLagUs / 1000;
  return st;
}
