/**
 * Target mode's server-side counters (scenario `target.serverCounters`): what the server says it
 * counted, read with PromQL from the scenario's Prometheus, against what the client saw. The
 * tolerance rule: the counter's increase over the run (its value after the load minus its value
 * before the reachability probe, never `increase()`'s extrapolation) must equal the ledger's
 * figure plus the reachability probe, within `tolerance` requests either way (0 unless the
 * scenario allows for other traffic on the same counter). In target mode without serverCounters
 * the check is listed as skipped with the reason, never passed; a run of zerodrop's own replicas
 * has counters.* instead.
 */
import type { LedgerData } from '../../driver/ledger.js';
import type { Check } from '../../result/types.js';
import type { SERVER_COUNTS } from '../../scenario/schema.js';
import { check, fmt, fmtN, skipped, type CheckModule } from '../check.js';
import type { RunSnapshot } from '../snapshot.js';

export type ServerCount = (typeof SERVER_COUNTS)[number];

export interface ServerCounterReading {
  name: string;
  promql: string;
  counts: ServerCount;
  tolerance: number;
  /** Before the load (before the reachability probe). */
  start: number;
  /** After the load, the last value read; null when it could not be read (`problem`). */
  end: number | null;
  problem: string | null;
}

export interface ServerCounterEvidence {
  prometheusUrl: string;
  /** The reachability probe's HTTP status: one GET to target.url before the load, counted with it. */
  probeStatus: number;
  settleMs: number;
  /** How long after the load the last reading was taken. */
  waitedMs: number;
  readings: ServerCounterReading[];
}

const WORDS: Record<ServerCount, string> = { sent: 'requests sent', answered: 'requests answered (any status)', '2xx': '2xx answers' };

/** The client's figure a counter of this kind must equal: the ledger's, plus the reachability probe. */
export function clientCount(counts: ServerCount, ledger: LedgerData, probeStatus: number): number {
  const probe = counts !== '2xx' || (probeStatus >= 200 && probeStatus < 300) ? 1 : 0;
  if (counts === 'sent') return ledger.length + probe;
  let n = 0;
  for (let i = 0; i < ledger.length; i++) {
    const status = ledger.status[i] ?? 0;
    if (counts === 'answered' ? status > 0 : status >= 200 && status < 300) n++;
  }
  return n + probe;
}

export function agrees(r: ServerCounterReading, expected: number): boolean {
  return r.end !== null && Math.abs(r.end - r.start - expected) <= r.tolerance;
}

export const serverCounterChecks: CheckModule = {
  name: 'server',
  ids: ['server.<name>'],
  checks(run: RunSnapshot): Check[] {
    const evidence = run.serverCounters ?? null;
    // A run of zerodrop's own replicas reconciles their counters in counters.* (and prometheus.*).
    if (run.plan.targetUrl === null) return [];
    if (evidence === null) {
      return [
        skipped(
          'server.counters',
          'server',
          'Server-side counters (PromQL) reconcile with the ledger',
          'server counter increase = client figure',
          "no target.serverCounters given (PromQL for the server's own request counter)",
        ),
      ];
    }
    return evidence.readings.map((r) => readingCheck(r, clientCount(r.counts, run.ledger.data, evidence.probeStatus), evidence));
  },
};

function readingCheck(r: ServerCounterReading, expected: number, e: ServerCounterEvidence): Check {
  const id = `server.${r.name}`;
  const title = `Server-side counter ${r.name} (PromQL) reconciles with the ledger`;
  const rule = `increase of ${r.promql} = ${fmt(expected)} (${WORDS[r.counts]} by the client, the reachability probe included)${r.tolerance > 0 ? ` ± ${fmt(r.tolerance)}` : ''}`;
  if (r.end === null) {
    return check({
      id,
      group: 'server',
      title,
      status: 'invalid',
      expected: rule,
      actual: `not read: ${r.problem ?? 'no value'}`,
      broken: `${id}: Prometheus at ${e.prometheusUrl} could not be read after the load (${r.problem ?? 'no value'})`,
    });
  }
  const increase = r.end - r.start;
  const ok = agrees(r, expected);
  const actual = `server counted ${fmt(increase)} (${fmt(r.start)} → ${fmt(r.end)}, read ${(e.waitedMs / 1000).toFixed(1)} s after the load)`;
  return check({
    id,
    group: 'server',
    title,
    status: ok ? 'pass' : 'fail',
    expected: rule,
    actual,
    broken: `${id}: the server counted ${fmt(increase)}, the client saw ${fmt(expected)} ${WORDS[r.counts]}`,
    explanation: ok
      ? undefined
      : `${r.promql} rose by ${fmtN(increase)} over the run; the client saw ${fmt(expected)} ${WORDS[r.counts]}${r.end - r.start < expected ? `: requests the client counted never reached the server's counter, or Prometheus had not scraped them within settle (${(e.settleMs / 1000).toFixed(1)} s)` : ': the server counted requests the client never saw answered (other traffic on the same counter? allow it with tolerance)'}`,
    numbers: { increase, expected, start: r.start, end: r.end, tolerance: r.tolerance },
  });
}
