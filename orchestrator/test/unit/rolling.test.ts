/**
 * One pass of planRollout, table by table, after kubernetes/kubernetes
 * pkg/controller/deployment/rolling_test.go (TestDeploymentController_reconcileNewReplicaSet,
 * _reconcileOldReplicaSets, _scaleDownOldReplicaSetsForRollingUpdate): the same rows, asserted on
 * the actions returned instead of fake.Clientset's.
 */
import { describe, expect, it } from 'vitest';
import { planRollout } from '../../src/planner/rolling.js';
import type { ObservedReplica, PlannedAction } from '../../src/planner/types.js';
import type { IntOrPercent } from '../../src/spec.js';
import { desiredOf, observedOf, replica, rs } from './support/fixtures.js';

/** `available` Ready replicas of `revision`, and `unavailable` more that run but are not Ready. */
function pods(revision: number, available: number, unavailable = 0): ObservedReplica[] {
  return [...Array.from({ length: available }, () => replica(revision)), ...Array.from({ length: unavailable }, () => replica(revision, { ready: false }))];
}

function scalesOf(actions: PlannedAction[], revision: number): Array<{ from: number; to: number; reason: string }> {
  return actions.flatMap((a) => (a.type === 'scale-replicaset' && a.revision === revision ? [{ from: a.from, to: a.to, reason: a.reason }] : []));
}

describe('reconcileNewReplicaSet (rolling_test.go table, maxUnavailable 0)', () => {
  it.each<{ replicas: number; maxSurge: IntOrPercent; old: number; new: number; expectedNew: number | null }>([
    { replicas: 10, maxSurge: 0, old: 10, new: 0, expectedNew: null },
    { replicas: 10, maxSurge: 2, old: 10, new: 0, expectedNew: 2 },
    { replicas: 10, maxSurge: 2, old: 5, new: 0, expectedNew: 7 },
    { replicas: 10, maxSurge: 2, old: 10, new: 2, expectedNew: null },
    { replicas: 10, maxSurge: 2, old: 2, new: 11, expectedNew: 10 }, // scale down
  ])('$replicas desired, surge $maxSurge, old $old, new $new → new $expectedNew', (row) => {
    const desired = desiredOf(2, { replicas: row.replicas, maxSurge: row.maxSurge, maxUnavailable: 0 });
    const observed = observedOf({ replicaSets: [rs(1, row.old), rs(2, row.new)], replicas: [...pods(1, row.old), ...pods(2, row.new)] });
    const actions = planRollout(desired, observed);
    const scaled = scalesOf(actions, 2);
    if (row.expectedNew === null) expect(scaled).toEqual([]);
    else {
      expect(scaled).toHaveLength(1);
      expect(scaled[0]?.to).toBe(row.expectedNew);
      // A pass that scaled the new RS does nothing else ("Scale up, if we can", then return).
      expect(actions).toHaveLength(1);
    }
  });
});

describe('reconcileOldReplicaSets (rolling_test.go table, maxSurge 0)', () => {
  it.each<{ name: string; replicas: number; maxUnavailable: number; old: number; new: number; oldReady: number; newReady: number; expectedOld: number | null }>(
    [
      { name: 'maxUnavailable 0 ⇒ 1: one at a time', replicas: 10, maxUnavailable: 0, old: 10, new: 0, oldReady: 10, newReady: 0, expectedOld: 9 },
      { name: 'two at a time', replicas: 10, maxUnavailable: 2, old: 10, new: 0, oldReady: 10, newReady: 0, expectedOld: 8 },
      { name: 'unhealthy old replicas cleaned up first', replicas: 10, maxUnavailable: 2, old: 10, new: 0, oldReady: 8, newReady: 0, expectedOld: 8 },
      { name: '1 unhealthy cleaned, 1 ready scaled down', replicas: 10, maxUnavailable: 2, old: 10, new: 0, oldReady: 9, newReady: 0, expectedOld: 8 },
      { name: 'unavailable new replicas hold the old ones', replicas: 10, maxUnavailable: 2, old: 8, new: 2, oldReady: 8, newReady: 0, expectedOld: null },
      {
        name: 'only 1 available: 2 unhealthy cleaned up, no Ready one goes',
        replicas: 10,
        maxUnavailable: 2,
        old: 10,
        new: 0,
        oldReady: 1,
        newReady: 0,
        expectedOld: 8,
      },
    ],
  )('$name', (row) => {
    const desired = desiredOf(2, { replicas: row.replicas, maxSurge: 0, maxUnavailable: row.maxUnavailable });
    const observed = observedOf({
      replicaSets: [rs(1, row.old), rs(2, row.new)],
      replicas: [...pods(1, row.oldReady, row.old - row.oldReady), ...pods(2, row.newReady, row.new - row.newReady)],
    });
    const scaled = scalesOf(planRollout(desired, observed), 1);
    if (row.expectedOld === null) expect(scaled).toEqual([]);
    else expect(scaled.at(-1)?.to).toBe(row.expectedOld);
    // Each scale continues from where the previous one left the spec.
    scaled.slice(1).forEach((s, i) => expect(s.from).toBe(scaled[i]?.to));
  });

  it('cleans up the unhealthy ones with their own reason, then scales down by availability', () => {
    const desired = desiredOf(2, { replicas: 10, maxSurge: 0, maxUnavailable: 2 });
    const observed = observedOf({ replicaSets: [rs(1, 10), rs(2, 0)], replicas: pods(1, 9, 1) });
    expect(scalesOf(planRollout(desired, observed), 1)).toEqual([
      { from: 10, to: 9, reason: 'cleanup-unhealthy' },
      { from: 9, to: 8, reason: 'rollout-scale-down' },
    ]);
  });

  it('scales the oldest ReplicaSet down first (rollover: two old ones)', () => {
    const desired = desiredOf(3, { replicas: 4, maxSurge: 0, maxUnavailable: 2 });
    const observed = observedOf({
      replicaSets: [rs(2, 2, 20), rs(1, 2, 10), rs(3, 0, 30)],
      replicas: [...pods(1, 2), ...pods(2, 2)],
    });
    expect(planRollout(desired, observed)).toEqual([{ type: 'scale-replicaset', revision: 1, from: 2, to: 0, reason: 'rollout-scale-down' }]);
  });
});

describe('the new ReplicaSet', () => {
  it('is created already sized by NewRSNewReplicas, and that is the whole pass', () => {
    const desired = desiredOf(2, { replicas: 6 }); // 25%/25% of 6 → surge 2
    const observed = observedOf({ replicaSets: [rs(1, 6)], replicas: pods(1, 6) });
    expect(planRollout(desired, observed)).toEqual([{ type: 'create-replicaset', revision: 2, replicas: 2 }]);
  });

  it('created at 0 when there is no surge room, and the same pass scales the old one down', () => {
    const desired = desiredOf(2, { replicas: 2, maxSurge: '0%', maxUnavailable: '1%' });
    const observed = observedOf({ replicaSets: [rs(1, 2)], replicas: pods(1, 2) });
    expect(planRollout(desired, observed)).toEqual([
      { type: 'create-replicaset', revision: 2, replicas: 0 },
      { type: 'scale-replicaset', revision: 1, from: 2, to: 1, reason: 'rollout-scale-down' },
    ]);
  });

  it('when it is the only one, follows spec.replicas in one step either way', () => {
    const up = planRollout(desiredOf(1, { replicas: 9 }), observedOf({ replicaSets: [rs(1, 6)], replicas: pods(1, 6) }));
    expect(up).toEqual([{ type: 'scale-replicaset', revision: 1, from: 6, to: 9, reason: 'deployment-scaled' }]);
    const down = planRollout(desiredOf(1, { replicas: 2 }), observedOf({ replicaSets: [rs(1, 6)], replicas: pods(1, 6) }));
    expect(down).toEqual([{ type: 'scale-replicaset', revision: 1, from: 6, to: 2, reason: 'deployment-scaled' }]);
  });

  it('a settled deployment plans nothing', () => {
    expect(planRollout(desiredOf(2, { replicas: 3 }), observedOf({ replicaSets: [rs(1, 0), rs(2, 3)], replicas: pods(2, 3) }))).toEqual([]);
  });
});
