/**
 * The scenario's thresholds: retries during a rollout (a retry rule: never downgraded), and the
 * optional latency and gap gates (the only checks that become INVALID, not FAIL, when the load
 * fell short: they measured an overloaded harness as much as the service).
 */
import type { Check } from '../../result/types.js';
import { check, fmt, type CheckModule } from '../check.js';
import { spansMinus, zoneDisruptionSpans, type Span } from '../phases.js';
import type { RunSnapshot } from '../snapshot.js';

export const thresholdChecks: CheckModule = {
  name: 'thresholds',
  ids: ['thresholds.rollout-retries', 'thresholds.p99', 'thresholds.p999', 'thresholds.max-gap'],
  loadSensitive: ['thresholds.p99', 'thresholds.p999', 'thresholds.max-gap'],
  checks(run: RunSnapshot): Check[] {
    const t = run.plan.thresholds;
    const out = [rolloutRetries(run)];
    if (t.p99 !== null) out.push(latencyGate('thresholds.p99', 'p99', run.latency.p99Ms, t.p99));
    if (t.p999 !== null) out.push(latencyGate('thresholds.p999', 'p99.9', run.latency.p999Ms, t.p999));
    if (t.maxGap !== null) {
      const gap = run.ledger.longestGap(run.measured.from, run.measured.to);
      out.push(
        check({
          id: 'thresholds.max-gap',
          group: 'thresholds',
          title: 'Longest gap between successful responses',
          status: gap.gapMs <= t.maxGap ? 'pass' : 'fail',
          expected: `≤ ${t.maxGap} ms`,
          actual: `${gap.gapMs} ms${gap.atMs !== null ? ` at ${gap.atMs.toFixed(0)} ms` : ''}`,
          broken: `no successful response for ${gap.gapMs.toFixed(0)} ms (at most ${t.maxGap} ms allowed)`,
        }),
      );
    }
    return out;
  },
};

function rolloutRetries(run: RunSnapshot): Check {
  const limit = run.plan.thresholds.maxRolloutRetries;
  const sendEnd = run.measured.to;
  // A zone failure that overlaps a rollout brings retries of its own (that is what they are
  // for): those are the zone's, counted and shown there, not held against the rollout.
  const rolloutSpans = run.phases.filter((p) => p.kind === 'rollout' && !p.label.startsWith('initial')).map((p): Span => [p.startMs, p.endMs ?? sendEnd]);
  const zoneSpans = zoneDisruptionSpans(run.phases, sendEnd);
  const retriedIn = (spans: readonly Span[]): number => {
    let n = 0;
    for (const [start, end] of spans) run.ledger.forEach(start, end, (i) => void (run.ledger.retried(i) && n++));
    return n;
  };
  const rolloutRetried = retriedIn(spansMinus(rolloutSpans, zoneSpans));
  const overlapRetried = retriedIn(rolloutSpans) - rolloutRetried;
  const ok = rolloutRetried <= limit;
  return check({
    id: 'thresholds.rollout-retries',
    group: 'thresholds',
    title: 'No request needed a retry during a rollout',
    status: ok ? 'pass' : 'fail',
    expected: `requests retried during rollouts ≤ ${limit}`,
    actual: `${fmt(rolloutRetried)} retried${overlapRetried > 0 ? ` (and ${fmt(overlapRetried)} while a zone failure overlapped the rollout, not counted here)` : ''}`,
    broken: `${fmt(rolloutRetried)} requests needed a proxy retry during a rollout (at most ${fmt(limit)} allowed)`,
    explanation: ok ? undefined : 'the proxy hid failures of the rollout by retrying them: a rolling update done right needs no retries (check SIGTERM handling and readiness)',
  });
}

function latencyGate(id: string, name: string, value: number | null, limit: number): Check {
  const holds = value !== null && value <= limit;
  return check({
    id,
    group: 'thresholds',
    title: `${name} latency over the measured window`,
    status: holds ? 'pass' : 'fail',
    expected: `${name} ≤ ${limit} ms`,
    actual: value === null ? 'no successful request' : `${name} = ${value.toFixed(2)} ms`,
    broken: value === null ? `no successful request to measure ${name} on` : `${name} latency ${value.toFixed(1)} ms, above the ${limit} ms allowed`,
  });
}
