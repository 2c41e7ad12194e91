/**
 * The reconciliation table (result assembly, not a check): each quantity as the driver, the
 * proxy and the replicas counted it. The counters checks judge the same quantities
 * (counterQuantities), so a row and its check cannot disagree; a row no check judges says so
 * in its note, so the table never shows ✗ under a PASS without saying why.
 */
import type { ReconciliationRow } from '../result/types.js';
import { fmt, sumWhere } from './check.js';
import type { RunSnapshot } from './snapshot.js';

export interface CounterQuantities {
  /** Requests that reached the proxy by the driver's count: sent − refused connects. */
  reached: number;
  refused: number;
  proxy2xx: number;
}

export function counterQuantities(run: RunSnapshot): CounterQuantities {
  // A request whose connection was refused never reached the proxy: it is a failure in the ledger.
  const refused = run.tally.byOutcome['refused'] ?? 0;
  return { reached: run.tally.sent - refused, refused, proxy2xx: sumWhere(run.proxyStats.responded, (code) => code.startsWith('2')) };
}

export function reconciliationRows(run: RunSnapshot): ReconciliationRow[] {
  const q = counterQuantities(run);
  const { tally, proxyStats } = run;
  const rec = run.replicaCounts;
  const retriesAgree = tally.retriedOk === proxyStats.savedByRetry;
  return [
    {
      id: 'sent-received',
      quantity: 'requests sent / received',
      driver: q.reached,
      proxy: proxyStats.received,
      replicas: null,
      prometheus: null,
      relation: 'driver = proxy',
      holds: q.reached === proxyStats.received,
      ...(q.refused > 0 ? { note: `${fmt(q.refused)} refused connects excluded (they never reached the proxy)` } : {}),
    },
    {
      id: '2xx',
      quantity: '2xx responses',
      driver: tally.driver2xx,
      proxy: q.proxy2xx,
      replicas: null,
      prometheus: null,
      relation: 'driver = proxy',
      holds: tally.driver2xx === q.proxy2xx,
    },
    {
      id: 'upstream',
      quantity: 'upstream responses (all codes)',
      driver: null,
      proxy: rec.proxyResponses,
      replicas: rec.replicaResponses,
      prometheus: null,
      relation: 'replicas ≥ proxy, excess ≤ failed attempts',
      holds: rec.holds,
      note: rec.applicable ? rec.note : 'not judged: the service exposes no metrics (metricsPath: null)',
    },
    {
      id: 'retries',
      quantity: 'retries (requests saved by one)',
      driver: tally.retriedOk,
      proxy: proxyStats.savedByRetry,
      replicas: null,
      prometheus: null,
      relation: 'reported: a rollout done right needs none',
      holds: retriesAgree,
      ...(retriesAgree
        ? {}
        : {
            note: `reported, not judged (no check compares them): the driver counts its 2xx answers that took more than one attempt (${fmt(tally.retriedOk)}), the proxy every answer < 500 it got after a retry (${fmt(proxyStats.savedByRetry)}), 4xx and answers the driver had given up on included`,
          }),
    },
  ];
}

/** Rows that do not hold under a PASS must say why (a ✗ with no word next to a PASS reads as a contradiction). */
export function explainUnjudged(rows: ReconciliationRow[], passed: boolean): ReconciliationRow[] {
  if (!passed) return rows;
  return rows.map((r) => (r.holds || r.note ? r : { ...r, note: 'not judged by any check of this run' }));
}
