import { describe, expect, it } from 'vitest';
import {
  achievedRate,
  bucketSeries,
  countByOutcome,
  failures,
  latencyPercentiles,
  type LedgerView,
  longestGap,
  scheduleLag,
  servedByReplica,
  windowStats,
} from '../../src/driver/analysis.js';
import { Ledger } from '../../src/driver/ledger.js';
import { Outcome } from '../../src/driver/types.js';

/** A deterministic pseudo-random ledger: rows every `stepMs`, some failures, some retries. */
function synthetic(n: number, stepMs = 0.05): LedgerView {
  const l = new Ledger('syn', n);
  let x = 12345;
  const rnd = (): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
  for (let i = 0; i < n; i++) {
    const t = 1000 + i * stepMs;
    const s = l.add(t);
    l.markSent(s, t + rnd() * 0.5);
    const r = rnd();
    const lat = r < 0.001 ? 200 + rnd() * 100 : 0.2 + rnd() * 5;
    const outcome = r < 0.0005 ? Outcome.Reset : r < 0.001 ? Outcome.HttpError : Outcome.Ok;
    l.complete(s, t + lat, outcome, outcome === Outcome.Reset ? 0 : outcome === Outcome.Ok ? 200 : 503, `r${i % 3}`, rnd() < 0.01 ? 2 : 1);
  }
  return l.detachData();
}

function naiveQuantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(q * s.length) - 1)]!;
}

describe('ledger analysis', () => {
  const l = synthetic(200_000);

  it('counts outcomes; sent = ok + failed + abandoned', () => {
    const c = countByOutcome(l);
    expect(c.sent).toBe(200_000);
    expect(c.ok + c.failed + c.abandoned + c.pending).toBe(c.sent);
    expect(c.byOutcome['reset']! + c.byOutcome['http_error']!).toBe(c.failed);
    expect(c.failed).toBeGreaterThan(50);
    expect(c.lost).toBe(0);
    expect(c.retried).toBeGreaterThan(1000);
    const w = countByOutcome(l, 2000, 3000); // 1000 ms at 0.05 ms a row
    expect(w.sent).toBe(20_000);
  });

  it('computes exact percentiles over a window of intended times', () => {
    const from = 2500;
    const to = 4200;
    const vals: number[] = [];
    for (let i = 0; i < l.length; i++) {
      const t = l.intended[i]!;
      const o = l.outcome[i]!;
      if (t >= from && t < to && o !== Outcome.Abandoned) vals.push(l.latencyUs[i]! / 1000);
    }
    const p = latencyPercentiles(l, from, to, [0.5, 0.99, 0.999, 1]);
    expect(p.count).toBe(vals.length);
    expect(p.values).toEqual([0.5, 0.99, 0.999, 1].map((q) => naiveQuantile(vals, q)));
    expect(p.maxMs).toBe(Math.max(...vals));
    const okOnly = latencyPercentiles(l, from, to, [1], { okOnly: true });
    expect(okOnly.values[0]!).toBeLessThan(6);
    expect(latencyPercentiles(l, 0, 1).count).toBe(0);
    expect(windowStats(l, from, to).latency.p99Ms).toBe(naiveQuantile(vals, 0.99));
  });

  it('builds per-bucket series whose counts add up and whose quantiles are exact', () => {
    const s = bucketSeries(l, 1000, 11_000, 1000);
    expect(s.t).toHaveLength(10);
    expect(s.sent.reduce((a, b) => a + b, 0)).toBe(200_000);
    expect(s.ok.reduce((a, b) => a + b, 0) + s.failed.reduce((a, b) => a + b, 0)).toBe(200_000);
    const b3: number[] = [];
    for (let i = 0; i < l.length; i++) {
      const t = l.intended[i]!;
      if (t >= 4000 && t < 5000) b3.push(l.latencyUs[i]! / 1000);
    }
    expect(s.p99Ms[3]).toBe(naiveQuantile(b3, 0.99));
    expect(s.maxMs[3]).toBe(Math.max(...b3));
    expect(s.p50Ms[3]).toBe(naiveQuantile(b3, 0.5));
  });

  it('finds the longest gap between successful responses, with an outage inserted', () => {
    const led = new Ledger('gap');
    for (let i = 0; i < 1000; i++) {
      const t = i; // one request a ms, 1 ms latency
      const s = led.add(t);
      const failed = t >= 400 && t < 650;
      led.complete(s, t + 1, failed ? Outcome.Refused : Outcome.Ok, failed ? 0 : 200, null);
    }
    const d = led.detachData();
    const g = longestGap(d, 0, 1000);
    expect(g.gapMs).toBeCloseTo(251, 6); // last ok done at 400 (399+1), next at 651
    expect(g.fromMs).toBeCloseTo(400, 6);
    expect(g.toMs).toBeCloseTo(651, 6);
    expect(longestGap(d, 700, 900).gapMs).toBeCloseTo(1, 6);
    expect(longestGap(d, 450, 600).gapMs).toBe(150); // no success at all in the window
    const f = failures(d, 5);
    expect(f.total).toBe(250);
    expect(f.byOutcome).toEqual({ refused: 250 });
    expect(f.sample.map((r) => r.id)).toEqual(['gap-400', 'gap-401', 'gap-402', 'gap-403', 'gap-404']);
    expect(f.sample[0]).toMatchObject({ seq: 400, intendedMs: 400, latencyMs: 1, outcome: 'refused', status: 0, replica: null });
  });

  it('measures the schedule lag of a window', () => {
    const led = new Ledger('lag');
    for (let i = 0; i < 100; i++) {
      const s = led.add(i);
      led.markSent(s, i + (i >= 50 && i < 60 ? 20 : 0.1)); // a 20 ms stall for rows 50..59
      led.complete(s, i + 25, Outcome.Ok, 200, null);
    }
    const d = led.detachData();
    expect(scheduleLag(d, 0, 50, 5)).toEqual({ count: 50, late: 0, p50Ms: 0.1, p99Ms: 0.1, maxMs: 0.1 });
    const all = scheduleLag(d, 0, 100, 5);
    expect(all.late).toBe(10);
    expect(all.maxMs).toBe(20);
    expect(all.p99Ms).toBe(20);
    expect(scheduleLag(d, 200, 300, 5).count).toBe(0);
  });

  it('measures the achieved rate by actual send time', () => {
    const r = achievedRate(l, 2000, 4000);
    expect(r.sentPerSecond).toBeGreaterThan(19_900);
    expect(r.sentPerSecond).toBeLessThan(20_100);
    expect(r.okPerSecond).toBeGreaterThan(19_800);
    const served = servedByReplica(l);
    expect(Object.keys(served).sort()).toEqual(['r0', 'r1', 'r2']);
  });

  it('stays fast on 1.2 M rows', () => {
    const big = synthetic(1_200_000);
    const t0 = performance.now();
    countByOutcome(big);
    latencyPercentiles(big, 0, Number.POSITIVE_INFINITY);
    bucketSeries(big, 1000, 61_000, 100);
    longestGap(big, 1000, 61_000);
    achievedRate(big, 1000, 61_000);
    failures(big, 100);
    const ms = performance.now() - t0;
    // typed arrays, no object per row: well under a second on this 2-core box
    expect(ms).toBeLessThan(3000);
  });
});
