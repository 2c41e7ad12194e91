/**
 * The driver's own bookkeeping, checked before anything it recorded is believed.
 *
 * "Exactly one completion per request id" (docs/architecture.md, "The proof", point 1) is only as good as the
 * ledger: a row ended twice, a response matched to nothing in flight, a write that got no id
 * mean the counts that look like a PASS (or a FAIL) may be an artefact of the driver. Such a run
 * is INVALID: inconclusive, exit 3, whatever else it shows.
 */
import type { LedgerData } from '../driver/ledger.js';
import { OUTCOME_NAMES, Outcome, type DriverSummary } from '../driver/types.js';
import type { BookkeepingCounts } from '../result/types.js';

/** How each counter is named in the check's text (and in the report). */
export const BOOKKEEPING_LABELS: Record<keyof BookkeepingCounts, string> = {
  engineAnomalies: 'engine anomalies',
  pendingRows: 'rows still pending',
  unknownOutcomes: 'rows with an unknown outcome',
  summaryLedgerMismatch: 'writes counted ≠ ledger rows',
};

export function bookkeepingCounts(ledger: Pick<LedgerData, 'length' | 'outcome'>, summary: Pick<DriverSummary, 'anomalies' | 'sent'>): BookkeepingCounts {
  let pendingRows = 0;
  let unknownOutcomes = 0;
  const o = ledger.outcome;
  for (let i = 0; i < ledger.length; i++) {
    const x = o[i] ?? Outcome.Pending;
    if (x === Outcome.Pending) pendingRows++;
    else if (!(x in OUTCOME_NAMES)) unknownOutcomes++;
  }
  return {
    // A NaN or negative count from a broken summary is an anomaly too, not a silent 0.
    engineAnomalies: Number.isFinite(summary.anomalies) && summary.anomalies >= 0 ? summary.anomalies : 1,
    pendingRows,
    unknownOutcomes,
    summaryLedgerMismatch: Number.isFinite(summary.sent) ? Math.abs(summary.sent - ledger.length) : Math.max(1, ledger.length),
  };
}

/** The counters that are not 0, in a fixed order, as "engine anomalies 2". */
export function nonZeroBookkeeping(c: BookkeepingCounts): string[] {
  return (Object.keys(BOOKKEEPING_LABELS) as (keyof BookkeepingCounts)[])
    .filter((k) => c[k] !== 0)
    .map((k) => `${BOOKKEEPING_LABELS[k]} ${c[k].toLocaleString('en-US')}`);
}
