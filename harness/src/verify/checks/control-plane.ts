/**
 * The control plane on time (issue 12 item 6): the lag from the controller's decision to the data
 * plane applying it, for every replica put into rotation (from Ready) and taken out of it (from the
 * unroute, after the scenario's routing lag). The scenario promises that a terminating replica leaves
 * the rotation `routingLag` after it was marked; a data plane that applies a removal later than that
 * again (a saturated event loop, a slow runtime API) broke zerodrop's own promise, not the service's:
 * INVALID, with the figures, never FAIL and never PASS. A late add costs capacity, not correctness
 * (the replica serves later, nothing meets it in a state it did not promise): its lag is reported, not judged.
 */
import type { Check } from '../../result/types.js';
import { check, fmt, skipped } from '../check.js';
import type { RunSnapshot } from '../snapshot.js';

const ID = 'orchestrator.control-plane-on-time';
/** A routing lag of 0 does not promise an instant data plane: this much is allowed then. */
export const MIN_APPLY_BOUND_MS = 100;

export const CONTROL_PLANE_CHECK_ID = ID;

/** Registered by the orchestrator module (checks/orchestrator.ts): its group. */
export function controlPlaneOnTime(run: RunSnapshot): Check {
  const boundMs = Math.max(MIN_APPLY_BOUND_MS, run.plan.deployment.termination.routingLagMs);
  const title = "The data plane took every terminating replica out of rotation within the scenario's routing lag";
  const expected = `each removal applied within ${fmt(boundMs)} ms of the unroute (adds are reported, not judged)`;
  const routed: Array<{ replica: string; ms: number }> = [];
  const unrouted: Array<{ replica: string; ms: number }> = [];
  for (const e of run.events) {
    if (e.type === 'replica.routed') routed.push({ replica: e.replica, ms: e.applyLagMs });
    else if (e.type === 'replica.unrouted' && e.applyLagMs !== null) unrouted.push({ replica: e.replica, ms: e.applyLagMs });
  }
  if (routed.length + unrouted.length === 0)
    return skipped(ID, 'orchestrator', title, expected, 'no replica was put into or taken out of rotation with a measured lag');
  const max = (list: typeof routed): number => list.reduce((m, x) => Math.max(m, x.ms), 0);
  // Removals only: a late add costs capacity, not correctness (see the header).
  const late = unrouted
    .filter((x) => x.ms > boundMs)
    .map((x) => ({ ...x, what: 'removal' }))
    .sort((a, b) => b.ms - a.ms);
  const actual = `${routed.length} adds (max ${max(routed).toFixed(1)} ms), ${unrouted.length} removals (max ${max(unrouted).toFixed(1)} ms)`;
  return check({
    id: ID,
    group: 'orchestrator',
    title,
    status: late.length === 0 ? 'pass' : 'invalid',
    expected,
    actual,
    numbers: { adds: routed.length, removals: unrouted.length, maxAddMs: max(routed), maxRemovalMs: max(unrouted), boundMs, late: late.length },
    broken: `the data plane applied ${late.length} removals late (worst: ${late[0]?.what ?? ''} of ${late[0]?.replica ?? ''} after ${(late[0]?.ms ?? 0).toFixed(0)} ms, allowed ${fmt(boundMs)} ms)`,
    explanation:
      late.length === 0
        ? undefined
        : "zerodrop's own data plane was late, so requests met replicas in a state the scenario's routing lag did not promise: the run proves nothing about the service; rerun at a lower --rate or on a quieter machine (load.machine-not-starved shows whether the machine was the cause)",
  });
}
