/**
 * The three-way reconciliation as checks: driver = proxy = replicas, and the driver's own
 * Prometheus counters = its ledger. The quantities are reconciliation.ts's, shared with the table.
 */
import { parseExposition, sampleValue } from '../../../../contract/index.js';
import type { Check } from '../../result/types.js';
import { check, fmt, skipped, type CheckModule } from '../check.js';
import { counterQuantities } from '../reconciliation-rows.js';
import type { RunSnapshot } from '../snapshot.js';

export const counterChecks: CheckModule = {
  name: 'counters',
  ids: ['counters.sent-equals-received', 'counters.2xx-agree', 'counters.replicas-cover-proxy', 'counters.driver-metrics-equal-ledger'],
  needsOwnDeployment: ['counters.sent-equals-received', 'counters.2xx-agree', 'counters.replicas-cover-proxy'],
  checks(run: RunSnapshot): Check[] {
    const q = counterQuantities(run);
    const rec = run.replicaCounts;
    const sentHolds = q.reached === run.proxyStats.received;
    const ok2xxHolds = run.tally.driver2xx === q.proxy2xx;
    return [
      check({
        id: 'counters.sent-equals-received',
        group: 'counters',
        title: 'Driver sent = proxy received',
        status: sentHolds ? 'pass' : 'fail',
        expected: 'driver sent (connections refused excluded) = proxy received',
        actual: `driver ${fmt(q.reached)} · proxy ${fmt(run.proxyStats.received)} (Δ ${fmt(q.reached - run.proxyStats.received)})`,
        broken: `driver sent ${fmt(q.reached)} requests but the proxy received ${fmt(run.proxyStats.received)}`,
        explanation: sentHolds ? undefined : 'requests were lost between the driver and the proxy (or the proxy counted requests nobody sent)',
      }),
      check({
        id: 'counters.2xx-agree',
        group: 'counters',
        title: 'Proxy 2xx = driver 2xx',
        status: ok2xxHolds ? 'pass' : 'fail',
        expected: 'proxy 2xx responses = driver 2xx responses',
        actual: `proxy ${fmt(q.proxy2xx)} · driver ${fmt(run.tally.driver2xx)}`,
        broken: `the proxy sent ${fmt(q.proxy2xx)} 2xx responses but the driver got ${fmt(run.tally.driver2xx)}`,
        explanation: ok2xxHolds ? undefined : 'the proxy sent 2xx responses the driver never received (or the reverse)',
      }),
      rec.applicable
        ? check({
            id: 'counters.replicas-cover-proxy',
            group: 'counters',
            title: 'Replica counters account for every proxied response',
            status: rec.holds ? 'pass' : 'fail',
            expected: 'for each replica: proxy responses ≤ replica responses ≤ proxy responses + failed attempts',
            actual: `Σ replicas ${fmt(rec.replicaResponses)} · Σ proxy ${fmt(rec.proxyResponses)}; ${rec.note}`,
            broken: `replica counters do not account for the proxied responses: ${rec.bad.join(', ')}`,
            explanation: rec.holds ? undefined : `mismatch on ${rec.bad.join(', ')}`,
          })
        : skipped(
            'counters.replicas-cover-proxy',
            'counters',
            'Replica counters account for every proxied response',
            'for each replica: proxy responses ≤ replica responses ≤ proxy responses + failed attempts',
            'the service exposes no metrics (metricsPath: null)',
          ),
      driverMetricsCheck(run),
    ];
  },
};

function driverMetricsCheck(run: RunSnapshot): Check {
  const id = 'counters.driver-metrics-equal-ledger';
  const title = "The driver's Prometheus counters equal its ledger";
  const expected = 'zerodrop_driver_requests_sent_total = ledger rows';
  const text = run.driverMetricsText;
  if (!text) return skipped(id, 'counters', title, expected, "the driver's metrics were not read (no exposition for this run)");
  let sent: number | undefined;
  try {
    sent = sampleValue(parseExposition(text), 'zerodrop_driver_requests_sent_total');
  } catch {
    sent = undefined;
  }
  if (sent === undefined) return skipped(id, 'counters', title, expected, "the driver's exposition has no zerodrop_driver_requests_sent_total");
  const holds = sent === run.tally.sent;
  return check({
    id,
    group: 'counters',
    title,
    status: holds ? 'pass' : 'fail',
    expected,
    actual: `metrics ${fmt(sent)} · ledger ${fmt(run.tally.sent)}`,
    broken: `the driver's metrics say ${fmt(sent)} requests sent, its ledger ${fmt(run.tally.sent)}`,
  });
}
