import { describe, expect, it } from 'vitest';
import { countByOutcome } from '../../src/driver/analysis.js';
import { Ledger, type LedgerData } from '../../src/driver/ledger.js';
import { createDriverMetrics } from '../../src/driver/metrics.js';
import { statsFromLedger } from '../../src/driver/stats.js';
import { LATENCY_BUCKETS_SECONDS, Outcome } from '../../src/driver/types.js';

function ledger(n: number): LedgerData {
  const l = new Ledger('m', n);
  const outcomes = [Outcome.Ok, Outcome.Ok, Outcome.Ok, Outcome.HttpError, Outcome.Ok, Outcome.Reset, Outcome.Ok, Outcome.Timeout, Outcome.Abandoned];
  for (let i = 0; i < n; i++) {
    const s = l.add(i);
    l.markSent(s, i + (i % 11) * 0.7); // some sends later than 5 ms
    const o = outcomes[i % outcomes.length]!;
    // latencies spread over every bucket, boundaries included (250 µs, 1 ms, 10 s, > 10 s)
    const latMs = [0.25, 0.1, 1, 3, 0.7, 12, 250, 10_000, 12_000, 2.5][i % 10]!;
    l.complete(s, i + latMs, o, o === Outcome.Ok ? 200 : o === Outcome.HttpError ? 503 : 0, 'r1', i % 13 === 0 ? 2 : 1);
  }
  return l.detachData();
}

type Json = Awaited<ReturnType<ReturnType<typeof createDriverMetrics>['registry']['getMetricsAsJSON']>>;
function value(json: Json, name: string, labels: Record<string, string> = {}): number {
  const m = json.find((x) => x.name === name);
  if (!m) throw new Error(`no metric ${name}`);
  const v = (m.values as { value: number; labels: Record<string, string | number>; metricName?: string }[]).find(
    (x) =>
      Object.entries(labels).every(([k, want]) => k === '__name' || String(x.labels[k]) === want) &&
      (labels['__name'] === undefined || x.metricName === labels['__name']),
  );
  return v?.value ?? 0;
}

describe('driver metrics', () => {
  it('end equal to the ledger after incremental progress messages', async () => {
    const data = ledger(10_000);
    const m = createDriverMetrics({ runId: 'm' });
    const extra = { inFlight: 3, openConnections: 7, scheduleLagMs: 2, targetRate: 20_000, final: false };
    // three cumulative snapshots: 30 %, 70 %, then the final one built from the whole ledger
    for (const frac of [0.3, 0.7]) {
      const n = Math.floor(data.length * frac);
      const part = { ...data, length: n };
      m.update(statsFromLedger(part, 5, 0).progress(1, extra));
    }
    m.update(statsFromLedger(data, 5, 0).progress(2, { ...extra, inFlight: 0, final: true }));
    expect(m.regressions).toBe(0);

    const json = await m.registry.getMetricsAsJSON();
    const c = countByOutcome(data);
    expect(value(json, 'zerodrop_driver_requests_sent_total')).toBe(c.sent);
    for (const [name, n] of Object.entries(c.byOutcome)) {
      if (name === 'pending') continue;
      expect(value(json, 'zerodrop_driver_requests_completed_total', { outcome: name }), name).toBe(n);
    }
    expect(value(json, 'zerodrop_driver_responses_total', { code: '200' })).toBe(c.byOutcome['ok']);
    expect(value(json, 'zerodrop_driver_responses_total', { code: '503' })).toBe(c.byOutcome['http_error']);
    expect(value(json, 'zerodrop_driver_requests_retried_total')).toBe(c.retried);
    let late = 0;
    for (let i = 0; i < data.length; i++) if (data.sendLagUs[i]! > 5000) late++;
    expect(late).toBeGreaterThan(0);
    expect(value(json, 'zerodrop_driver_late_sends_total')).toBe(late);
    expect(value(json, 'zerodrop_driver_target_rate')).toBe(20_000);
    expect(value(json, 'zerodrop_driver_requests_in_flight')).toBe(0);

    // the duration histogram: cumulative bucket counts and the sum, per outcome, from the ledger
    for (const [outcome, name] of [
      [Outcome.Ok, 'ok'],
      [Outcome.Timeout, 'timeout'],
      [Outcome.Abandoned, 'abandoned'],
    ] as const) {
      const lats: number[] = [];
      for (let i = 0; i < data.length; i++) if (data.outcome[i] === outcome) lats.push(data.latencyUs[i]!);
      for (const le of [...LATENCY_BUCKETS_SECONDS, Number.POSITIVE_INFINITY]) {
        const want = lats.filter((us) => us <= le * 1e6).length;
        const got = value(json, 'zerodrop_driver_request_duration_seconds', {
          outcome: name,
          le: le === Number.POSITIVE_INFINITY ? '+Inf' : String(le),
          __name: 'zerodrop_driver_request_duration_seconds_bucket',
        });
        expect(got, `${name} le=${le}`).toBe(want);
      }
      const sum = value(json, 'zerodrop_driver_request_duration_seconds', { outcome: name, __name: 'zerodrop_driver_request_duration_seconds_sum' });
      expect(sum).toBeCloseTo(lats.reduce((a, b) => a + b, 0) / 1e6, 6);
    }
    const text = await m.registry.metrics();
    expect(text).toContain('run_id="m"');
  });

  it('never lets a counter go backwards, and says so', () => {
    const data = ledger(100);
    const m = createDriverMetrics({ runId: 'x' });
    const extra = { inFlight: 0, openConnections: 0, scheduleLagMs: 0, targetRate: 1, final: false };
    m.update(statsFromLedger(data, 5, 0).progress(1, extra));
    m.update(statsFromLedger({ ...data, length: 50 }, 5, 0).progress(2, extra));
    expect(m.regressions).toBeGreaterThan(0);
  });
});
