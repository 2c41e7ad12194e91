/**
 * The chart series (result assembly, not a check). Throughput by actual time: a success counts
 * in the bucket it was answered in, a failure in the bucket it ended in, so an overloaded run
 * plots what it really achieved, not its schedule. Latency per bucket by intended send time,
 * measured from it (coordinated-omission correct). Ready replicas per zone and version are
 * replayed from the timeline.
 */
import type { TimelineEvent } from '../../../orchestrator/index.js';
import { bucketSeries } from '../driver/analysis.js';
import { Outcome } from '../driver/types.js';
import type { TimelineSeries } from '../result/types.js';
import type { RunSnapshot } from './snapshot.js';

export function series(run: RunSnapshot): TimelineSeries {
  const view = run.ledger;
  const endMs = run.measured.to;
  const bucketMs = endMs > 30_000 ? 1000 : 250;
  const b = bucketSeries(view.data, view.origin, view.origin + Math.max(bucketMs, endMs), bucketMs);
  const n = b.t.length;
  const ok = new Array<number>(n).fill(0);
  const failed = new Array<number>(n).fill(0);
  const retried = new Array<number>(n).fill(0);
  for (let i = 0; i < view.length; i++) {
    const k = Math.floor(view.endAt(i) / bucketMs);
    // Answers after the last bucket (the final drain) are in the last one: never dropped from the chart.
    const at = Math.min(n - 1, Math.max(0, k));
    if (view.data.outcome[i] === Outcome.Ok) ok[at]!++;
    else failed[at]!++;
    if (view.retried(i)) retried[at]!++;
  }
  const nullable = (x: number): number | null => (Number.isNaN(x) ? null : x);
  const out: TimelineSeries = {
    bucketMs,
    t: Array.from(b.t, (x) => x - view.origin),
    ok,
    failed,
    retried,
    p50Ms: Array.from(b.p50Ms, nullable),
    p99Ms: Array.from(b.p99Ms, nullable),
    maxMs: Array.from(b.maxMs, nullable),
    readyByZone: {},
    readyByVersion: {},
  };
  replayReady(out, run.events, run.plan.deployment.zones);
  return out;
}

/** Ready replicas per zone and version at each bucket start, replayed from the timeline. */
function replayReady(out: TimelineSeries, events: readonly TimelineEvent[], zones: readonly string[]): void {
  const n = out.t.length;
  for (const z of zones) out.readyByZone[z] = new Array<number>(n).fill(0);
  const ready = new Map<string, { zone: string; version: string }>();
  let ev = 0;
  for (let k = 0; k < n; k++) {
    const from = out.t[k] ?? 0;
    while (ev < events.length && (events[ev]?.t ?? Infinity) <= from) {
      const e = events[ev++]!;
      if (e.type === 'replica.ready') ready.set(e.replica, { zone: e.zone, version: e.version });
      else if (e.type === 'replica.unready' || e.type === 'replica.draining' || e.type === 'replica.terminated') ready.delete(e.replica);
    }
    for (const r of ready.values()) {
      const zs = (out.readyByZone[r.zone] ??= new Array<number>(n).fill(0));
      zs[k] = (zs[k] ?? 0) + 1;
      const vs = (out.readyByVersion[r.version] ??= new Array<number>(n).fill(0));
      vs[k] = (vs[k] ?? 0) + 1;
    }
  }
}
