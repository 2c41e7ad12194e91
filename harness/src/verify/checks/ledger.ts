/** The ledger's own rules: every request answered once, 2xx, with its own id (echoed or attested: ids.ts); bookkeeping sound. */
import { bookkeepingCounts, nonZeroBookkeeping } from '../bookkeeping.js';
import { breakdown, check, fmt, type CheckModule } from '../check.js';
import type { RunSnapshot } from '../snapshot.js';
import { idsCheck } from './ids.js';
import type { Check } from '../../result/types.js';

export const ledgerChecks: CheckModule = {
  name: 'ledger',
  ids: ['ledger.every-request-answered', 'ledger.no-failed-requests', 'ledger.ids-echoed', 'ledger.ids-attested', 'ledger.bookkeeping'],
  checks(run: RunSnapshot): Check[] {
    const { tally } = run;
    const maxFailed = run.plan.thresholds.maxFailed;
    const lost = tally.sent - tally.completed;
    const failed = tally.failed;
    const mismatched = tally.byOutcome['id_mismatch'] ?? 0;
    // Without sound bookkeeping, "one completion per id" cannot be claimed either way: INVALID.
    const bookkeeping = bookkeepingCounts(run.ledger.data, run.summary);
    const anomalies = nonZeroBookkeeping(bookkeeping);
    return [
      check({
        id: 'ledger.every-request-answered',
        group: 'ledger',
        title: 'Every request sent got exactly one answer',
        status: lost === 0 ? 'pass' : 'fail',
        expected: 'lost = sent − completed = 0',
        actual: `lost = ${fmt(lost)} (sent ${fmt(tally.sent)}, completed ${fmt(tally.completed)}, still in flight at the end ${fmt(tally.abandoned)})`,
        broken: `${fmt(lost)} of ${fmt(tally.sent)} requests lost (sent, never answered)`,
        explanation:
          lost === 0
            ? undefined
            : 'requests were written and never answered (abandoned after the final wait): see failed-requests and the replica/zone they went to',
        numbers: { sent: tally.sent, completed: tally.completed, lost },
      }),
      check({
        id: 'ledger.no-failed-requests',
        group: 'ledger',
        title: 'No request failed (reset, refused, timeout, non-2xx)',
        status: failed <= maxFailed ? 'pass' : 'fail',
        expected: `failed ≤ ${maxFailed}`,
        actual: `failed = ${fmt(failed)}${failed > 0 ? ` (${breakdown(tally.byOutcome)})` : ''}`,
        broken: `${fmt(failed)} requests failed (${breakdown(tally.byOutcome)})${maxFailed > 0 ? `, more than the ${fmt(maxFailed)} allowed` : ''}`,
        explanation:
          failed > 0
            ? `first failure at ${tally.firstFailureMs?.toFixed(0)} ms during "${tally.samples[0]?.step ?? 'steady state'}"; by step: ${breakdown(tally.byStep)}`
            : undefined,
        numbers: { failed },
      }),
      idsCheck(mismatched, run.proxyStats.ids),
      check({
        id: 'ledger.bookkeeping',
        group: 'ledger',
        title: "The driver's bookkeeping can be trusted (one completion per request id)",
        status: anomalies.length === 0 ? 'pass' : 'invalid',
        expected:
          "engine anomalies = 0 (incl. unsolicited or extra response bytes), rows still pending = 0, unknown outcomes = 0, the engine's running count of writes = ledger rows",
        actual: anomalies.length === 0 ? `0 anomalies over ${fmt(run.ledger.length)} rows` : anomalies.join(', '),
        broken: `the driver's bookkeeping cannot be trusted: ${anomalies.join(', ')}`,
        explanation:
          anomalies.length === 0
            ? undefined
            : 'the driver lost track of its own requests (a row ended twice, a response with nothing in flight, bytes beyond a response, a write with no id…), so the ledger cannot prove exactly one completion per id; fix: rerun, and if it repeats, report it with result.json (a driver bug in harness/src/driver/, or a data plane that sends unsolicited bytes)',
        numbers: { ...bookkeeping, unsent: run.summary.unsent },
      }),
    ];
  },
};
