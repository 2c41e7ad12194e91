/**
 * The replicas table (one row per replica the run started) and the per-replica reconciliation:
 * proxy responses ≤ the replica's own count ≤ proxy responses + failed attempts.
 */
import type { ProxyStats } from '../../../orchestrator/index.js';
import type { ReplicaBoot, ReplicaRow } from '../result/types.js';
import { sumWhere } from './check.js';
import type { ReplicaSnapshot } from './snapshot.js';

export function replicaRows(
  records: readonly ReplicaSnapshot[],
  proxy: ProxyStats,
  servedBy: ReadonlyMap<string, number>,
  origin: number,
  hasMetrics: boolean,
  loadEndedAt: number,
): ReplicaRow[] {
  const endpoints = new Map(proxy.endpoints.map((e) => [e.id, e]));
  const rel = (t: number | null): number | null => (t === null ? null : t - origin);
  return records.map((r) => {
    const ep = endpoints.get(r.id);
    const proxy2xx = ep ? sumWhere(ep.responses, (c) => c.startsWith('2')) : 0;
    const failedAttempts = ep ? ep.attempts.connect_error + ep.attempts.reset + ep.attempts.timeout + ep.attempts.other_error : 0;
    // Exact: read after it drained, or read after the load ended while it was alive and answering
    // (a frozen replica's last successful scrape is older than that, so it stays a lower bound).
    const exact = r.final ?? (r.exit === null && r.lastScrape !== null && r.lastScrape.atMs >= loadEndedAt ? r.lastScrape : null);
    const count = exact ?? r.lastScrape;
    const exit: ReplicaRow['exit'] = r.startError !== null ? 'start-failed' : r.exit ? r.exit.kind : 'running';
    return {
      id: r.id,
      zone: r.zone,
      version: r.version,
      revision: r.revision,
      startedMs: rel(r.started?.startedAtMs ?? r.createdAtMs),
      readyMs: rel(r.firstReadyMs),
      drainingMs: rel(r.drainingMs),
      exitedMs: rel(r.exitedMs),
      exit,
      proxy2xx,
      replicaResponses: hasMetrics ? (count?.responses ?? null) : null,
      replicaCountSource: !hasMetrics || count === null ? 'none' : exact ? 'final' : 'last-scrape',
      driverServed: servedBy.get(r.id) ?? 0,
      retriesFrom: failedAttempts,
      restarts: r.restarts,
      boot: bootOf(r),
    };
  });
}

function bootOf(r: ReplicaSnapshot): ReplicaBoot | null {
  const marks = r.started?.boot;
  if (!marks) return null;
  const since = (t: number | null): number | null => (t === null ? null : Math.round((t - marks.calledAtMs) * 10) / 10);
  const cost = r.readyCost ?? null;
  return {
    createMs: since(marks.createdAtMs),
    runningMs: since(marks.runningAtMs) ?? 0,
    listeningMs: since(marks.listeningAtMs) ?? 0,
    readyMs: since(r.firstReadyMs),
    cpuMs: cost?.cpuMs ?? null,
    helperCpuMs: cost?.helperCpuMs ?? null,
    priority: cost?.priority ?? null,
  };
}

export interface ReplicaReconciliation {
  applicable: boolean;
  holds: boolean;
  proxyResponses: number;
  replicaResponses: number;
  note: string;
  bad: string[];
}

export function replicaReconciliation(rows: readonly ReplicaRow[], proxy: ProxyStats): ReplicaReconciliation {
  const endpoints = new Map(proxy.endpoints.map((e) => [e.id, e]));
  let proxyResponses = 0;
  let replicaResponses = 0;
  let lowerBounds = 0;
  const bad: string[] = [];
  let applicable = false;
  for (const row of rows) {
    const ep = endpoints.get(row.id);
    const answered = ep ? Object.values(ep.responses).reduce((a, b) => a + b, 0) : 0;
    const failedAttempts = row.retriesFrom;
    proxyResponses += answered;
    if (row.replicaResponses === null) continue;
    applicable = true;
    replicaResponses += row.replicaResponses;
    if (row.replicaCountSource === 'final') {
      if (row.replicaResponses < answered || row.replicaResponses > answered + failedAttempts) {
        bad.push(`${row.id} (replica ${row.replicaResponses}, proxy ${answered}, failed attempts ${failedAttempts})`);
      }
    } else {
      lowerBounds++;
      // Killed before a final read: its last scrape can only be behind the proxy's count.
      if (row.replicaResponses > answered + failedAttempts) bad.push(`${row.id} (last scrape ${row.replicaResponses} > proxy ${answered} + ${failedAttempts})`);
    }
  }
  const note =
    lowerBounds > 0
      ? `${lowerBounds} replica(s) were killed before a final read: their counts are lower bounds (last scrape)`
      : 'every replica read after it drained';
  return { applicable, holds: bad.length === 0, proxyResponses, replicaResponses, note, bad };
}
