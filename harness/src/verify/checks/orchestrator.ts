/** The orchestrator's and the contract's rules: rollout invariants, graceful exits, idle keep-alives, final counts. */
import type { Check } from '../../result/types.js';
import { check, fmt, skipped, type CheckModule } from '../check.js';
import type { ReplicaSnapshot, RunSnapshot } from '../snapshot.js';
import { CONTROL_PLANE_CHECK_ID, controlPlaneOnTime } from './control-plane.js';
import { gracefulExitsCheck, retiredExitsOf } from './graceful-exits.js';

export const orchestratorChecks: CheckModule = {
  name: 'orchestrator',
  ids: ['orchestrator.invariants', 'orchestrator.graceful-exits', 'orchestrator.idle-keepalive-kept', CONTROL_PLANE_CHECK_ID, 'orchestrator.final-counts'],
  needsOwnDeployment: [
    'orchestrator.invariants',
    'orchestrator.graceful-exits',
    'orchestrator.idle-keepalive-kept',
    CONTROL_PLANE_CHECK_ID,
    'orchestrator.final-counts',
  ],
  checks(run: RunSnapshot): Check[] {
    return [invariants(run), gracefulExits(run), idleKeepAliveKept(run), controlPlaneOnTime(run), finalCounts(run)];
  },
};

/**
 * Replicas a rollout or a scale-down retired, except those a zone failure had already taken down
 * (killed or frozen: listed by its zone.down). The control plane learns of a zone failure only
 * after the node-monitor grace period, so a rollout may pick such a replica to retire, as
 * Kubernetes terminates a pod on an unreachable node; it cannot drain or exit, and what the crash
 * cost the traffic is judged on the ledger, not here.
 */
function retired(run: RunSnapshot): readonly ReplicaSnapshot[] {
  const zoneVictims = new Set(run.events.flatMap((e) => (e.type === 'zone.down' ? e.replicas : [])));
  return run.replicas.filter((r) => (r.deleteReason === 'rollout' || r.deleteReason === 'scale-down') && !zoneVictims.has(r.id));
}

function invariants(run: RunSnapshot): Check {
  const breaches = run.events.filter((e) => e.type === 'invariant.breach');
  return check({
    id: 'orchestrator.invariants',
    group: 'orchestrator',
    title: 'available ≥ replicas − maxUnavailable and total ≤ replicas + maxSurge at every step',
    status: breaches.length === 0 ? 'pass' : 'fail',
    expected: '0 breaches',
    actual: `${breaches.length} breaches`,
    broken: `${breaches.length} rollout invariant breaches (${breaches.map((b) => (b.type === 'invariant.breach' ? b.invariant : '')).join(', ')})`,
    explanation: breaches.length
      ? breaches.map((b) => (b.type === 'invariant.breach' ? `${b.invariant} at ${b.t.toFixed(0)} ms: ${b.detail}` : '')).join('; ')
      : undefined,
  });
}

function gracefulExits(run: RunSnapshot): Check {
  return gracefulExitsCheck(retiredExitsOf(retired(run)), run.plan.deployment.termination.gracePeriodMs);
}

/**
 * Contract rule 2: never close an idle keep-alive connection a client may be writing on. Only
 * zerodrop's own raw upstream client sees it; other data planes get a skip with the reason.
 * Replicas killed or crashed close everything by dying (their zone's checks cover that).
 */
function idleKeepAliveKept(run: RunSnapshot): Check {
  const id = 'orchestrator.idle-keepalive-kept';
  const title = 'No replica closed an idle keep-alive connection the proxy could have been writing on';
  const expected = '0 idle connections closed by a replica before its keep-alive limit';
  const known = run.proxyStats.endpoints.filter((e) => e.idleClosedByReplica !== undefined);
  if (known.length === 0) {
    const engine = run.plan.scenario.proxy.engine;
    return skipped(
      id,
      'orchestrator',
      title,
      expected,
      `this data plane (${engine === 'haproxy' ? 'HAProxy' : "zerodrop's proxy with the undici upstream client"}) cannot observe who closed an idle connection`,
    );
  }
  const died = new Set(run.replicas.filter((r) => r.exit !== null && r.exit.kind !== 'graceful').map((r) => r.id));
  const closers = known
    .filter((e) => !died.has(e.id) && (e.idleClosedByReplica ?? 0) > 0)
    .map((e) => ({ id: e.id, count: e.idleClosedByReplica ?? 0 }))
    .sort((a, b) => b.count - a.count);
  const total = closers.reduce((n, r) => n + r.count, 0);
  return check({
    id,
    group: 'orchestrator',
    title,
    status: total === 0 ? 'pass' : 'fail',
    expected,
    actual:
      total === 0
        ? '0'
        : `${fmt(total)}: ${closers
            .slice(0, 5)
            .map((r) => `${r.id} ${fmt(r.count)}`)
            .join(', ')}`,
    broken: `replicas closed ${fmt(total)} idle keep-alive connections early`,
    explanation:
      total === 0
        ? undefined
        : "contract rule 2: closing idle keep-alive connections (Node ≥ 19's server.close() does it) races a request being written on them; close the listener with net.Server.prototype.close and let each connection end after a response with Connection: close (or announce Keep-Alive: timeout=N and keep to it)",
  });
}

function finalCounts(run: RunSnapshot): Check {
  const id = 'orchestrator.final-counts';
  const title = 'Final counters read from every retired replica after it drained';
  const voluntary = retired(run);
  const metricsPath = run.plan.deployment.template.metricsPath;
  if (metricsPath === null)
    return skipped(id, 'orchestrator', title, `${voluntary.length} of ${voluntary.length}`, 'the service exposes no metrics (metricsPath: null)');
  const missing = voluntary.filter((r) => r.final === null && r.started !== null);
  // A replica that drained and exited by itself kept the contract; that its counters could not
  // be read afterwards (its /metrics went with the listener) leaves the replica side of the
  // proof unproven, not broken: INVALID, with the two ways to make it provable.
  const allGraceful = missing.every((r) => r.exit?.kind === 'graceful');
  const { routingLagMs } = run.plan.deployment.termination;
  return check({
    id,
    group: 'orchestrator',
    title,
    status: missing.length === 0 ? 'pass' : allGraceful ? 'invalid' : 'fail',
    expected: `${voluntary.length} of ${voluntary.length}`,
    actual: `${voluntary.length - missing.length} of ${voluntary.length}`,
    broken: `final counters of ${missing.length} retired replicas never read (${missing.map((r) => r.id).join(', ')})`,
    explanation: missing.length
      ? `no final snapshot from ${missing.map((r) => r.id).join(', ')}: its metrics endpoint was gone before the proxy had drained it` +
        (allGraceful
          ? `; fix: serve ${metricsPath} on a side port that outlives the listener, or set deployment.termination.preStop ≥ routingLag (${routingLagMs} ms) so the counters are read before SIGTERM`
          : '')
      : undefined,
  });
}
