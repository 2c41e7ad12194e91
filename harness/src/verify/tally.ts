/**
 * One pass over the ledger: the counts every check and table reads (sent, completed, failed by
 * outcome, replica, zone and step, the first failures as samples).
 */
import { OUTCOME_NAMES, Outcome } from '../driver/types.js';
import type { FailedRequestSample } from '../result/types.js';
import type { RelativeLedger } from './ledger-view.js';
import { phaseAt, type Phase } from './phases.js';

const FAILED_SAMPLE = 50;

export interface Tally {
  sent: number;
  completed: number;
  ok: number;
  failed: number;
  abandoned: number;
  driver2xx: number;
  retriedOk: number;
  byOutcome: Record<string, number>;
  byStatus: Record<string, number>;
  byReplica: Record<string, number>;
  byZone: Record<string, number>;
  byStep: Record<string, number>;
  servedBy: Map<string, number>;
  samples: FailedRequestSample[];
  firstFailureMs: number | null;
  lastFailureEndMs: number | null;
}

export function tallyLedger(view: RelativeLedger, zoneOf: ReadonlyMap<string, string>, phases: readonly Phase[], runId: string): Tally {
  const d = view.data;
  const tally: Tally = {
    sent: d.length,
    completed: 0,
    ok: 0,
    failed: 0,
    abandoned: 0,
    driver2xx: 0,
    retriedOk: 0,
    byOutcome: {},
    byStatus: {},
    byReplica: {},
    byZone: {},
    byStep: {},
    servedBy: new Map(),
    samples: [],
    firstFailureMs: null,
    lastFailureEndMs: null,
  };
  const servedCounts = new Float64Array(d.replicas.length);
  for (let i = 0; i < d.length; i++) {
    const outcome = d.outcome[i] as Outcome;
    const status = d.status[i] ?? 0;
    if (status >= 200 && status < 300) tally.driver2xx++;
    if (outcome === Outcome.Ok) {
      tally.ok++;
      tally.completed++;
      servedCounts[d.replica[i] ?? 0]!++;
      if ((d.attempts[i] ?? 1) > 1) tally.retriedOk++;
      continue;
    }
    const name = OUTCOME_NAMES[outcome] ?? 'unknown';
    if (outcome === Outcome.Abandoned || outcome === Outcome.Pending) tally.abandoned++;
    else {
      tally.completed++;
      tally.failed++;
    }
    tally.byOutcome[name] = (tally.byOutcome[name] ?? 0) + 1;
    if (status) tally.byStatus[String(status)] = (tally.byStatus[String(status)] ?? 0) + 1;
    const replica = d.replicas[d.replica[i] ?? 0] || null;
    const zone = replica ? (zoneOf.get(replica) ?? null) : null;
    const tMs = view.at(i);
    const step = phaseAt(phases, tMs);
    if (replica) tally.byReplica[replica] = (tally.byReplica[replica] ?? 0) + 1;
    if (zone) tally.byZone[zone] = (tally.byZone[zone] ?? 0) + 1;
    tally.byStep[step ?? 'steady state'] = (tally.byStep[step ?? 'steady state'] ?? 0) + 1;
    tally.firstFailureMs ??= tMs;
    tally.lastFailureEndMs = Math.max(tally.lastFailureEndMs ?? 0, view.endAt(i));
    if (tally.samples.length < FAILED_SAMPLE) {
      tally.samples.push({ id: `${runId}-${i}`, tMs, outcome: name, status, replica, zone, step, latencyMs: (d.latencyUs[i] ?? 0) / 1000 });
    }
  }
  d.replicas.forEach((name, idx) => {
    if (idx > 0 && name) tally.servedBy.set(name, servedCounts[idx] ?? 0);
  });
  return tally;
}
