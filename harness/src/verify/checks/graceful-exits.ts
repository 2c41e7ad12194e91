/**
 * Contract rule 2, judged on each replica a rollout or a scale-down retired: it exited by itself
 * (no SIGKILL), with code 0 and no signal, inside the grace period, and not before the proxy had
 * taken it out of rotation (an exit while still routed is an abrupt exit, whatever its code).
 * A pure function of plain data (docs/architecture.md: checks read one snapshot of the run).
 */
import type { Check } from '../../result/types.js';

export interface RetiredReplicaExit {
  id: string;
  /** Monotonic ms: the termination began (unroute decision). */
  drainingMs: number;
  /** Monotonic ms: the proxy was told to take it out of rotation; null if it was not routed then. */
  unroutedMs: number | null;
  /** Monotonic ms: SIGTERM sent; null if it never was (it died before). */
  sigtermMs: number | null;
  /** null: still running after the wait (grace period + margin) at the end of the run. */
  exit: { kind: 'graceful' | 'killed' | 'crashed'; code: number | null; signal: string | null; atMs: number } | null;
}

/** Why this exit was not graceful, or null when it was. */
export function ungracefulReason(r: RetiredReplicaExit, gracePeriodMs: number): string | null {
  const e = r.exit;
  if (e === null) return `still running ${gracePeriodMs} ms after its draining began (the grace period ran out)`;
  if (e.kind === 'killed') return `needed SIGKILL${e.atMs - r.drainingMs > gracePeriodMs ? ' (the grace period ran out)' : ''}`;
  if (r.sigtermMs === null || e.kind === 'crashed') return `crashed (code ${String(e.code)}, signal ${String(e.signal)}) before SIGTERM`;
  if (e.signal !== null) return `ended by signal ${e.signal}`;
  if (e.code !== 0) return `exit code ${String(e.code)}`;
  if (e.atMs - r.drainingMs > gracePeriodMs) return `exited ${Math.round(e.atMs - r.drainingMs)} ms after its draining began, beyond the grace period`;
  if (r.unroutedMs !== null && e.atMs < r.unroutedMs)
    return `exited ${Math.round(r.unroutedMs - e.atMs)} ms before the proxy took it out of rotation (an abrupt exit on SIGTERM)`;
  return null;
}

export function gracefulExitsCheck(retired: readonly RetiredReplicaExit[], gracePeriodMs: number): Check {
  const bad = retired.map((r) => ({ id: r.id, why: ungracefulReason(r, gracePeriodMs) })).filter((b): b is { id: string; why: string } => b.why !== null);
  const c: Check = {
    id: 'orchestrator.graceful-exits',
    group: 'orchestrator',
    title: 'Replicas retired by a rollout or a scale-down exited by themselves, code 0, inside the grace period, after their unroute',
    status: bad.length === 0 ? 'pass' : 'fail',
    expected: `0 of ${retired.length} killed, crashed, non-zero, signalled, late or gone before their unroute`,
    actual: `${bad.length} of ${retired.length}${
      bad.length
        ? `: ${bad
            .slice(0, 5)
            .map((b) => `${b.id} ${b.why}`)
            .join('; ')}${bad.length > 5 ? `; … ${bad.length - 5} more` : ''}`
        : ''
    }`,
    numbers: { retired: retired.length, ungraceful: bad.length },
  };
  if (bad.length) {
    c.broken = `${bad.length} of ${retired.length} retired replicas did not exit gracefully (${bad[0]?.id} ${bad[0]?.why ?? ''})`;
    c.explanation = `contract rule 2: on SIGTERM keep serving while routing converges, drain, then exit 0 by yourself within the grace period (${gracePeriodMs} ms)`;
  }
  return c;
}

/** The retired replicas of the orchestrator's records that started (a failed start never ran). */
export function retiredExitsOf(
  records: ReadonlyArray<{
    id: string;
    started: unknown;
    drainingMs: number | null;
    unroutedMs: number | null;
    sigtermMs: number | null;
    exit: RetiredReplicaExit['exit'];
  }>,
): RetiredReplicaExit[] {
  return records
    .filter((r) => r.started !== null && r.drainingMs !== null)
    .map((r) => ({
      id: r.id,
      drainingMs: r.drainingMs ?? 0,
      unroutedMs: r.unroutedMs,
      sigtermMs: r.sigtermMs,
      exit: r.exit === null ? null : { kind: r.exit.kind, code: r.exit.code, signal: r.exit.signal, atMs: r.exit.atMs },
    }));
}
