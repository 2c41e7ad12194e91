/**
 * Retries judged by cause, not by a time window. Each failed upstream try (the data plane's log:
 * replica and time) is put down to the state of its replica at that instant:
 *   retired      a rollout, rollback or scale-down was taking it away (from its unroute decision
 *                until it is gone, also after it exited while routing still lagged)
 *   zone-failure killed or frozen by an injected zone failure (exempt, shown apart)
 *   not-ready    it had never been Ready
 *   serving      anything else (a Ready replica failed a try)
 * Retired tries, and serving/not-ready ones while a rollout or scale step was under way, count
 * against thresholds.rollout-retries; the other serving/not-ready ones against
 * thresholds.steady-retries. Pure functions of plain data (docs/architecture.md).
 */
import type { Check } from '../../result/types.js';

export type RetryCause = 'retired' | 'zone-failure' | 'not-ready' | 'serving';

export interface TryReplica {
  id: string;
  /** ms on the run's clock (the same as the tries'); null when it never was. */
  firstReadyMs: number | null;
  drainingMs: number | null;
  deleteReason: string | null;
}

export interface ZoneFailureSpan {
  /** When the zone failed (ms), and the replicas it killed or froze. */
  atMs: number;
  replicas: readonly string[];
}

export interface TriedFailure {
  t: number;
  replica: string;
  /** How the try failed: 'timeout' is the per-try timeout (the one a starved machine causes). */
  reason: string;
  count: number;
}

export interface RetryCauseInput {
  tries: readonly TriedFailure[];
  dropped: number;
  /** How precisely a try's time is known (HAProxy reads counters every N ms). */
  resolutionMs: number;
  replicas: readonly TryReplica[];
  zoneFailures: readonly ZoneFailureSpan[];
  /** Rollout, rollback and scale spans [from, to) on the same clock. */
  changeSpans: ReadonlyArray<readonly [number, number]>;
  /** Requests the ledger shows needed more than one try (each has at least one failed try). */
  retriedRequests: number;
}

export interface RetryCauseTally {
  byCause: Record<RetryCause, number>;
  /** Charged to thresholds.rollout-retries / thresholds.steady-retries. */
  rollout: number;
  steady: number;
  /** Top replicas per charged bucket, for the explanation. */
  rolloutReplicas: Record<string, number>;
  steadyReplicas: Record<string, number>;
  /** The tries charged to each threshold (a starved machine may explain them: checks/machine.ts). */
  rolloutTries: TriedFailure[];
  steadyTries: TriedFailure[];
  total: number;
}

const RETIRING_REASONS = new Set(['rollout', 'scale-down']);

export function causeOf(t: number, replica: TryReplica | undefined, zoneFailures: readonly ZoneFailureSpan[]): RetryCause {
  if (zoneFailures.some((z) => z.atMs <= t && z.replicas.includes(replica?.id ?? ''))) return 'zone-failure';
  if (replica && replica.drainingMs !== null && replica.drainingMs <= t && RETIRING_REASONS.has(replica.deleteReason ?? '')) return 'retired';
  if (!replica || replica.firstReadyMs === null || t < replica.firstReadyMs) return 'not-ready';
  return 'serving';
}

export function tallyRetryCauses(input: RetryCauseInput): RetryCauseTally {
  const replicas = new Map(input.replicas.map((r) => [r.id, r]));
  const out: RetryCauseTally = {
    byCause: { retired: 0, 'zone-failure': 0, 'not-ready': 0, serving: 0 },
    rollout: 0,
    steady: 0,
    rolloutReplicas: {},
    steadyReplicas: {},
    rolloutTries: [],
    steadyTries: [],
    total: 0,
  };
  const inChange = (t: number): boolean => input.changeSpans.some(([from, to]) => t >= from && t < to);
  for (const f of input.tries) {
    // HAProxy's tries are stamped at the counter read that showed them (≤ resolutionMs late): a
    // try read after the zone failed is put down to it (a Ready replica failing in the interval
    // just before its zone died is not told apart).
    const effective = causeOf(f.t, replicas.get(f.replica), input.zoneFailures);
    out.byCause[effective] += f.count;
    out.total += f.count;
    if (effective === 'zone-failure') continue;
    if (effective === 'retired' || inChange(f.t)) {
      out.rollout += f.count;
      out.rolloutTries.push(f);
      out.rolloutReplicas[f.replica] = (out.rolloutReplicas[f.replica] ?? 0) + f.count;
    } else {
      out.steady += f.count;
      out.steadyTries.push(f);
      out.steadyReplicas[f.replica] = (out.steadyReplicas[f.replica] ?? 0) + f.count;
    }
  }
  return out;
}

function top(rec: Record<string, number>): string {
  return Object.entries(rec)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

function causesText(t: RetryCauseTally): string {
  const b = t.byCause;
  return `retired ${b.retired}, serving ${b.serving}, not ready ${b['not-ready']}, zone failure ${b['zone-failure']} (exempt)`;
}

/**
 * The two retry thresholds. When the data plane's log is incomplete (it overflowed, or the ledger
 * shows more retried requests than failed tries were logged) neither can be proven: INVALID.
 */
export function retryCauseChecks(input: RetryCauseInput, limits: { rollout: number; steady: number }): { checks: Check[]; tally: RetryCauseTally } {
  const tally = tallyRetryCauses(input);
  const incomplete =
    input.dropped > 0
      ? `the data plane's failed-try log overflowed (${input.dropped} not kept)`
      : input.retriedRequests > tally.total
        ? `the ledger has ${input.retriedRequests} retried requests but the data plane logged only ${tally.total} failed tries`
        : null;
  const numbers = { ...tally.byCause, rollout: tally.rollout, steady: tally.steady, retriedRequests: input.retriedRequests };
  const make = (id: string, title: string, charged: number, limit: number, where: Record<string, number>, fix: string): Check => {
    const status = incomplete !== null ? 'invalid' : charged <= limit ? 'pass' : 'fail';
    const c: Check = {
      id,
      group: 'thresholds',
      title,
      status,
      expected: `failed tries charged here ≤ ${limit}`,
      actual: `${charged} charged${charged > 0 ? ` (${top(where)})` : ''}; all failed tries by cause of their replica: ${causesText(tally)}`,
      numbers,
    };
    if (status === 'invalid') c.explanation = `not provable: ${incomplete ?? ''}`;
    else if (status === 'fail') c.explanation = fix;
    return c;
  };
  return {
    tally,
    checks: [
      make(
        'thresholds.rollout-retries',
        'No request needed a retry because of a rollout, rollback or scale step',
        tally.rollout,
        limits.rollout,
        tally.rolloutReplicas,
        'the proxy hid failures of retiring replicas (or of replicas during the change) by retrying them: a rolling update done right needs none; check SIGTERM handling (keep serving until routing converges, exit 0 after the drain) and readiness',
      ),
      make(
        'thresholds.steady-retries',
        'No request needed a retry in steady state',
        tally.steady,
        limits.steady,
        tally.steadyReplicas,
        'Ready replicas failed tries with no rollout or zone failure to explain it (crashes, resets, per-try timeouts): the retries hid them; raise thresholds.maxSteadyRetries only if that is accepted',
      ),
    ],
  };
}
