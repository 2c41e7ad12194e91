/**
 * The scenario's optional latency and gap gates (retries are judged by cause: retries.ts) (the only checks that become INVALID, not FAIL, when the load
 * fell short: they measured an overloaded harness as much as the service).
 */
import type { Check } from '../../result/types.js';
import { check, type CheckModule } from '../check.js';
import type { RunSnapshot } from '../snapshot.js';

export const thresholdChecks: CheckModule = {
  name: 'thresholds',
  ids: ['thresholds.p99', 'thresholds.p999', 'thresholds.max-gap'],
  loadSensitive: ['thresholds.p99', 'thresholds.p999', 'thresholds.max-gap'],
  checks(run: RunSnapshot): Check[] {
    const t = run.plan.thresholds;
    const out: Check[] = [];
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
