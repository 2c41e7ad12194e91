/**
 * Pure functions over a finished ledger, for the verifier and the report. Columnar and
 * allocation-light: a 1.2 M-row ledger is scanned in milliseconds, with no object per row.
 *
 * Conventions
 * - Times are monotonic ms (the run's one clock). Windows are half-open [fromMs, toMs) and select
 *   rows by their INTENDED time (the open model's schedule), unless a function says otherwise.
 * - Latencies are µs in the ledger, ms in the results; for the open model they run from the
 *   intended time (coordinated-omission correct).
 * - ok = Outcome.Ok. failed = ended without success: http_error, id_mismatch, reset, refused,
 *   timeout, other_error. abandoned = still in flight when the driver stopped waiting.
 *   lost = sent − ok − failed = abandoned + pending (pending only in an unfinished ledger).
 * - Percentiles are exact, nearest-rank (the smallest value with at least q·n values ≤ it), over
 *   the rows that ended with a response or a failure (not abandoned, not pending) unless
 *   `okOnly` is set.
 */
import type { LatencySummary, WindowStats } from '../result/types.js';
import type { LedgerData } from './ledger.js';
import { OUTCOME_NAMES, Outcome } from './types.js';

/** What the analysis reads: a LedgerData (from the worker or disk) or Ledger.detachData(). */
export type LedgerView = Pick<
  LedgerData,
  'runId' | 'length' | 'replicas' | 'intended' | 'sendLagUs' | 'latencyUs' | 'status' | 'replica' | 'outcome' | 'attempts'
>;

const sortedCache = new WeakMap<Float64Array, boolean>();

/** true if intended times never decrease with seq (both engines write them that way). */
export function isIntendedSorted(l: LedgerView): boolean {
  const cached = sortedCache.get(l.intended);
  if (cached !== undefined) return cached;
  const t = l.intended;
  let sorted = true;
  for (let i = 1; i < l.length; i++) {
    if (t[i]! < t[i - 1]!) {
      sorted = false;
      break;
    }
  }
  sortedCache.set(l.intended, sorted);
  return sorted;
}

/** First index with intended ≥ ms (sorted ledgers). */
function lowerBound(t: Float64Array, n: number, ms: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]! < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Visits the indexes of rows whose intended time is in [fromMs, toMs): a binary-searched range
 * on a sorted ledger, a filtered scan otherwise.
 */
function forWindow(l: LedgerView, fromMs: number, toMs: number, fn: (i: number) => void): void {
  const t = l.intended;
  const n = l.length;
  if (isIntendedSorted(l)) {
    const hi = lowerBound(t, n, toMs);
    for (let i = lowerBound(t, n, fromMs); i < hi; i++) fn(i);
  } else {
    for (let i = 0; i < n; i++) {
      const x = t[i]!;
      if (x >= fromMs && x < toMs) fn(i);
    }
  }
}

/** [lo, hi) row range of a window on a sorted ledger, or null if the ledger is not sorted. */
export function windowRange(l: LedgerView, fromMs: number, toMs: number): { lo: number; hi: number } | null {
  if (!isIntendedSorted(l)) return null;
  return { lo: lowerBound(l.intended, l.length, fromMs), hi: lowerBound(l.intended, l.length, toMs) };
}

/** An outcome that counts as failed (ended without success; not abandoned, not pending). */
export function isFailed(o: number): boolean {
  return o !== Outcome.Ok && o !== Outcome.Abandoned && o !== Outcome.Pending;
}

// ---- counts ----------------------------------------------------------------------------------

export interface OutcomeCounts {
  sent: number;
  ok: number;
  failed: number;
  abandoned: number;
  pending: number;
  /** sent − ok − failed. */
  lost: number;
  /** Rows whose response said the proxy retried (attempts > 1). */
  retried: number;
  /** By outcome name (every name present, 0 included). */
  byOutcome: Record<string, number>;
}

export function countByOutcome(l: LedgerView, fromMs = Number.NEGATIVE_INFINITY, toMs = Number.POSITIVE_INFINITY): OutcomeCounts {
  const per = new Float64Array(9);
  let sent = 0;
  let retried = 0;
  const o = l.outcome;
  const a = l.attempts;
  const count = (i: number): void => {
    per[o[i]!]!++;
    if (a[i]! > 1) retried++;
    sent++;
  };
  if (fromMs === Number.NEGATIVE_INFINITY && toMs === Number.POSITIVE_INFINITY) for (let i = 0; i < l.length; i++) count(i);
  else forWindow(l, fromMs, toMs, count);
  const byOutcome: Record<string, number> = {};
  for (let k = 0; k < 9; k++) byOutcome[OUTCOME_NAMES[k as Outcome]] = per[k]!;
  const ok = per[Outcome.Ok]!;
  const abandoned = per[Outcome.Abandoned]!;
  const pending = per[Outcome.Pending]!;
  const failed = sent - ok - abandoned - pending;
  return { sent, ok, failed, abandoned, pending, lost: sent - ok - failed, retried, byOutcome };
}

// ---- latency ---------------------------------------------------------------------------------

export interface LatencyOptions {
  /** Only Ok rows (default: every row that ended with a response or a failure). */
  okOnly?: boolean;
}

export interface Percentiles {
  count: number;
  /** Same order as the quantiles asked for; ms; null when count = 0. */
  values: (number | null)[];
  minMs: number | null;
  maxMs: number | null;
  meanMs: number | null;
}

/** Nearest-rank quantile of a sorted array. */
function rank(sorted: Uint32Array, n: number, q: number): number {
  const k = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sorted[k]!;
}

function collectLatencies(l: LedgerView, fromMs: number, toMs: number, opts: LatencyOptions): Uint32Array {
  const range = windowRange(l, fromMs, toMs);
  const cap = range === null ? l.length : Math.max(0, range.hi - range.lo);
  const buf = new Uint32Array(cap);
  let n = 0;
  const o = l.outcome;
  const lat = l.latencyUs;
  const okOnly = opts.okOnly === true;
  forWindow(l, fromMs, toMs, (i) => {
    const x = o[i]!;
    if (okOnly ? x === Outcome.Ok : x !== Outcome.Abandoned && x !== Outcome.Pending) buf[n++] = lat[i]!;
  });
  return buf.subarray(0, n).sort();
}

/** Exact latency quantiles (ms) of the rows whose intended time is in [fromMs, toMs). */
export function latencyPercentiles(
  l: LedgerView,
  fromMs: number,
  toMs: number,
  quantiles: readonly number[] = [0.5, 0.99, 0.999],
  opts: LatencyOptions = {},
): Percentiles {
  const s = collectLatencies(l, fromMs, toMs, opts);
  const n = s.length;
  if (n === 0) return { count: 0, values: quantiles.map(() => null), minMs: null, maxMs: null, meanMs: null };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i]!;
  return {
    count: n,
    values: quantiles.map((q) => rank(s, n, q) / 1000),
    minMs: s[0]! / 1000,
    maxMs: s[n - 1]! / 1000,
    meanMs: sum / n / 1000,
  };
}

/** p50 / p99 / p99.9 / max of a window, in the result.json shape. */
export function latencySummary(l: LedgerView, fromMs: number, toMs: number, opts: LatencyOptions = {}): LatencySummary {
  const p = latencyPercentiles(l, fromMs, toMs, [0.5, 0.99, 0.999], opts);
  return { count: p.count, p50Ms: p.values[0] ?? null, p99Ms: p.values[1] ?? null, p999Ms: p.values[2] ?? null, maxMs: p.maxMs };
}

// ---- rate ------------------------------------------------------------------------------------

export interface AchievedRate {
  /** Requests actually written in [fromMs, toMs) (intended + send lag). */
  sent: number;
  sentPerSecond: number;
  /** Successful responses completed in [fromMs, toMs) (intended + latency). */
  ok: number;
  okPerSecond: number;
}

/** What the driver really did over a window, by actual send and completion times. */
export function achievedRate(l: LedgerView, fromMs: number, toMs: number): AchievedRate {
  const secs = (toMs - fromMs) / 1000;
  let sent = 0;
  let ok = 0;
  const t = l.intended;
  const lag = l.sendLagUs;
  const lat = l.latencyUs;
  const o = l.outcome;
  for (let i = 0; i < l.length; i++) {
    const it = t[i]!;
    const s = it + lag[i]! / 1000;
    if (s >= fromMs && s < toMs) sent++;
    if (o[i] === Outcome.Ok) {
      const c = it + lat[i]! / 1000;
      if (c >= fromMs && c < toMs) ok++;
    }
  }
  return { sent, sentPerSecond: secs > 0 ? sent / secs : 0, ok, okPerSecond: secs > 0 ? ok / secs : 0 };
}

// ---- schedule ------------------------------------------------------------------------------

export interface ScheduleLag {
  /** Rows intended in the window. */
  count: number;
  /** Sent later than maxLateMs after their intended time. */
  late: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

/**
 * How far behind its schedule the driver fell for the rows intended in [fromMs, toMs): the
 * measured-window version of DriverSummary.lateSends / maxScheduleLagMs (which cover the
 * warm-up too).
 */
export function scheduleLag(l: LedgerView, fromMs: number, toMs: number, maxLateMs: number): ScheduleLag {
  const range = windowRange(l, fromMs, toMs);
  const buf = new Uint32Array(range === null ? l.length : Math.max(0, range.hi - range.lo));
  let n = 0;
  let late = 0;
  const lateUs = maxLateMs * 1000;
  const lag = l.sendLagUs;
  forWindow(l, fromMs, toMs, (i) => {
    const x = lag[i]!;
    buf[n++] = x;
    if (x > lateUs) late++;
  });
  if (n === 0) return { count: 0, late: 0, p50Ms: null, p99Ms: null, maxMs: null };
  const s = buf.subarray(0, n).sort();
  return { count: n, late, p50Ms: rank(s, n, 0.5) / 1000, p99Ms: rank(s, n, 0.99) / 1000, maxMs: s[n - 1]! / 1000 };
}

// ---- gaps ------------------------------------------------------------------------------------

export interface Gap {
  gapMs: number;
  /** The gap runs from this instant (a success, or the window start) … */
  fromMs: number;
  /** … to this one (the next success, or the window end). */
  toMs: number;
  /** Successful responses completed in the window. */
  successes: number;
}

/**
 * Longest time without a successful response: over the completion times (intended + latency)
 * of Ok rows that fall in [fromMs, toMs), including the stretches from fromMs to the first one
 * and from the last one to toMs (pass a window that the run really covered).
 *
 * Linear time, no sort (the "maximum gap" pigeonhole argument): n points over [lo, hi] go to
 * n − 1 buckets of width w = (hi − lo)/(n − 1); the largest gap is ≥ w while a gap inside a
 * bucket is < w, so the largest gap is between the max of one non-empty bucket and the min of
 * the next.
 */
export function longestGap(l: LedgerView, fromMs: number, toMs: number): Gap {
  const t = l.intended;
  const lat = l.latencyUs;
  const o = l.outcome;
  const len = l.length;
  let n = 0;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < len; i++) {
    if (o[i] !== Outcome.Ok) continue;
    const c = t[i]! + lat[i]! / 1000;
    if (c < fromMs || c >= toMs) continue;
    n++;
    if (c < lo) lo = c;
    if (c > hi) hi = c;
  }
  if (n === 0) return { gapMs: toMs - fromMs, fromMs, toMs, successes: 0 };
  let best: Gap = { gapMs: lo - fromMs, fromMs, toMs: lo, successes: n };
  if (toMs - hi > best.gapMs) best = { gapMs: toMs - hi, fromMs: hi, toMs, successes: n };
  if (n < 2 || hi === lo) return best;
  const nb = n - 1;
  const w = (hi - lo) / nb;
  const bmin = new Float64Array(nb).fill(Number.POSITIVE_INFINITY);
  const bmax = new Float64Array(nb).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < len; i++) {
    if (o[i] !== Outcome.Ok) continue;
    const c = t[i]! + lat[i]! / 1000;
    if (c < fromMs || c >= toMs) continue;
    let b = Math.floor((c - lo) / w);
    if (b >= nb) b = nb - 1;
    if (c < bmin[b]!) bmin[b] = c;
    if (c > bmax[b]!) bmax[b] = c;
  }
  let prevMax = bmax[0]!;
  for (let b = 1; b < nb; b++) {
    const mn = bmin[b]!;
    if (mn === Number.POSITIVE_INFINITY) continue;
    if (mn - prevMax > best.gapMs) best = { gapMs: mn - prevMax, fromMs: prevMax, toMs: mn, successes: n };
    prevMax = bmax[b]!;
  }
  return best;
}

// ---- series ----------------------------------------------------------------------------------

export interface BucketSeries {
  bucketMs: number;
  /** Bucket start (monotonic ms). */
  t: Float64Array;
  /** Rows per bucket by intended time. */
  sent: Uint32Array;
  ok: Uint32Array;
  /** Not ok: failed + abandoned + pending. */
  failed: Uint32Array;
  /** attempts > 1. */
  retried: Uint32Array;
  /** ms; NaN for a bucket with no ended row. Over the rows that ended (not abandoned). */
  p50Ms: Float64Array;
  p99Ms: Float64Array;
  maxMs: Float64Array;
}

/** Per-bucket counts and exact latency quantiles over [fromMs, toMs), by intended time. */
export function bucketSeries(l: LedgerView, fromMs: number, toMs: number, bucketMs: number): BucketSeries {
  if (!(bucketMs > 0)) throw new RangeError('bucketMs must be > 0');
  const nb = Math.max(0, Math.ceil((toMs - fromMs) / bucketMs));
  const s: BucketSeries = {
    bucketMs,
    t: new Float64Array(nb),
    sent: new Uint32Array(nb),
    ok: new Uint32Array(nb),
    failed: new Uint32Array(nb),
    retried: new Uint32Array(nb),
    p50Ms: new Float64Array(nb).fill(Number.NaN),
    p99Ms: new Float64Array(nb).fill(Number.NaN),
    maxMs: new Float64Array(nb).fill(Number.NaN),
  };
  for (let b = 0; b < nb; b++) s.t[b] = fromMs + b * bucketMs;
  if (nb === 0) return s;
  const t = l.intended;
  const o = l.outcome;
  const a = l.attempts;
  const lat = l.latencyUs;
  // Pass 1: counts, and how many ended rows each bucket holds.
  const ended = new Uint32Array(nb + 1);
  const range = windowRange(l, fromMs, toMs);
  const first = range === null ? 0 : range.lo;
  const last = range === null ? l.length : range.hi;
  const { sent, ok, failed, retried } = s;
  for (let i = first; i < last; i++) {
    const ti = t[i]!;
    if (ti < fromMs || ti >= toMs) continue;
    const b = Math.floor((ti - fromMs) / bucketMs);
    sent[b]!++;
    const x = o[i]!;
    if (x === Outcome.Ok) ok[b]!++;
    else failed[b]!++;
    if (a[i]! > 1) retried[b]!++;
    if (x !== Outcome.Abandoned && x !== Outcome.Pending) ended[b + 1]!++;
  }
  // Pass 2: counting sort of latencies by bucket, then sort each bucket's slice.
  for (let b = 0; b < nb; b++) ended[b + 1]! += ended[b]!;
  const all = new Uint32Array(ended[nb]!);
  const fill = ended.slice(0, nb);
  for (let i = first; i < last; i++) {
    const ti = t[i]!;
    if (ti < fromMs || ti >= toMs) continue;
    const x = o[i]!;
    if (x === Outcome.Abandoned || x === Outcome.Pending) continue;
    const b = Math.floor((ti - fromMs) / bucketMs);
    all[fill[b]!++] = lat[i]!;
  }
  for (let b = 0; b < nb; b++) {
    const lo = ended[b]!;
    const hi = ended[b + 1]!;
    const n = hi - lo;
    if (n === 0) continue;
    const slice = all.subarray(lo, hi).sort();
    s.p50Ms[b] = rank(slice, n, 0.5) / 1000;
    s.p99Ms[b] = rank(slice, n, 0.99) / 1000;
    s.maxMs[b] = slice[n - 1]! / 1000;
  }
  return s;
}

// ---- windows and failures --------------------------------------------------------------------

/** Counts, rate and latency of a window, in the result.json shape. */
export function windowStats(l: LedgerView, fromMs: number, toMs: number): WindowStats {
  const c = countByOutcome(l, fromMs, toMs);
  const secs = (toMs - fromMs) / 1000;
  return {
    startMs: fromMs,
    endMs: toMs,
    sent: c.sent,
    ok: c.ok,
    failed: c.failed + c.abandoned + c.pending,
    retried: c.retried,
    achievedRate: secs > 0 ? c.sent / secs : 0,
    latency: latencySummary(l, fromMs, toMs),
  };
}

export interface FailedRow {
  seq: number;
  /** The id the driver sent: `<runId>-<seq>`. */
  id: string;
  intendedMs: number;
  latencyMs: number;
  outcome: string;
  status: number;
  replica: string | null;
  attempts: number;
}

export interface FailureList {
  /** Rows that are not Ok (failed + abandoned + pending). */
  total: number;
  byOutcome: Record<string, number>;
  byStatus: Record<string, number>;
  byReplica: Record<string, number>;
  /** The first `limit` of them, in seq order. */
  sample: FailedRow[];
}

/** Every request that did not succeed, counted, with the first `limit` listed. */
export function failures(l: LedgerView, limit = 100): FailureList {
  const out: FailureList = { total: 0, byOutcome: {}, byStatus: {}, byReplica: {}, sample: [] };
  const o = l.outcome;
  const perOutcome = new Float64Array(9);
  const perStatus = new Map<number, number>();
  const perReplica = new Map<number, number>();
  for (let i = 0; i < l.length; i++) {
    const x = o[i]!;
    if (x === Outcome.Ok) continue;
    out.total++;
    perOutcome[x]!++;
    const st = l.status[i]!;
    perStatus.set(st, (perStatus.get(st) ?? 0) + 1);
    const r = l.replica[i]!;
    perReplica.set(r, (perReplica.get(r) ?? 0) + 1);
    if (out.sample.length < limit) out.sample.push(failedRow(l, i));
  }
  for (let k = 0; k < 9; k++) if (perOutcome[k]! > 0) out.byOutcome[OUTCOME_NAMES[k as Outcome]] = perOutcome[k]!;
  for (const [st, n] of perStatus) out.byStatus[String(st)] = n;
  for (const [r, n] of perReplica) out.byReplica[r === 0 ? 'unknown' : (l.replicas[r] ?? `#${r}`)] = n;
  return out;
}

export function failedRow(l: LedgerView, i: number): FailedRow {
  const r = l.replica[i]!;
  return {
    seq: i,
    id: `${l.runId}-${i}`,
    intendedMs: l.intended[i]!,
    latencyMs: l.latencyUs[i]! / 1000,
    outcome: OUTCOME_NAMES[l.outcome[i]! as Outcome],
    status: l.status[i]!,
    replica: r === 0 ? null : (l.replicas[r] ?? null),
    attempts: l.attempts[i]!,
  };
}

/** Rows served by each replica (x-served-by), Ok only: the "driverServed" column. */
export function servedByReplica(l: LedgerView): Record<string, number> {
  const per = new Float64Array(l.replicas.length);
  for (let i = 0; i < l.length; i++) if (l.outcome[i] === Outcome.Ok) per[l.replica[i]!]!++;
  const out: Record<string, number> = {};
  for (let r = 1; r < per.length; r++) if (per[r]! > 0) out[l.replicas[r]!] = per[r]!;
  return out;
}
