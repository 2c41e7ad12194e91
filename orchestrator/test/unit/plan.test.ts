import { describe, expect, it } from 'vitest';
import { planStep } from '../../src/planner/plan.js';
import { wouldBreach } from '../../src/planner/status.js';
import type { ObservedReplica } from '../../src/planner/types.js';
import type { IntOrPercent } from '../../src/spec.js';
import { desiredOf, observedOf, replica, rs, spread } from './support/fixtures.js';

describe('planStep', () => {
  it('one pass: the rollout step, then the replicas that realise it', () => {
    const desired = desiredOf(2, { replicas: 6 });
    const step = planStep(desired, observedOf({ replicaSets: [rs(1, 6)], replicas: spread(1, 6) }));
    expect(step.actions).toEqual([
      { type: 'create-replicaset', revision: 2, replicas: 2 },
      { type: 'create-replica', revision: 2, zone: 'a' },
      { type: 'create-replica', revision: 2, zone: 'b' },
    ]);
    expect(step.status).toMatchObject({ replicas: 6, updatedReplicas: 0, availableReplicas: 6, complete: false });
    expect(step.notes).toEqual([]);
  });

  it('a scale-down of the old ReplicaSet comes with the deletions, as rollout', () => {
    const desired = desiredOf(2, { replicas: 6 });
    const observed = observedOf({ replicaSets: [rs(1, 6), rs(2, 2)], replicas: [...spread(1, 6), ...spread(2, 2)] });
    const step = planStep(desired, observed);
    expect(step.actions[0]).toEqual({ type: 'scale-replicaset', revision: 1, from: 6, to: 3, reason: 'rollout-scale-down' });
    expect(step.actions.slice(1).map((a) => (a.type === 'delete-replica' ? a.reason : a.type))).toEqual(['rollout', 'rollout', 'rollout']);
  });

  it('a complete deployment plans nothing and reports complete', () => {
    const step = planStep(desiredOf(2, { replicas: 3 }), observedOf({ replicaSets: [rs(1, 0), rs(2, 3)], replicas: spread(2, 3) }));
    expect(step).toMatchObject({ actions: [], notes: [], status: { complete: true } });
  });

  it('holds back what would breach, even when the observation is odd', () => {
    // ReplicaSet 1 says 3 but 6 still run (the controller has not caught up): the rollout step
    // would create 5 and delete 3 available at once, taking available from 6 to 3 (< 5).
    const desired = desiredOf(2, { replicas: 6 });
    const observed = observedOf({ replicaSets: [rs(1, 3)], replicas: spread(1, 6) });
    const step = planStep(desired, observed);
    expect(wouldBreach(desired, observed, step.actions)).toEqual([]);
    expect(step.actions.map((a) => a.type)).toEqual(['delete-replica']); // 6 → 5 available is the limit
    expect(step.notes[0]).toMatch(/^rollout step held back: it would take available from 6 to 3, below 5/);
    expect(step.notes.filter((n) => n.startsWith('held back delete replica'))).toHaveLength(2);
  });

  describe('never returns an action list that breaches by itself, over a grid of states', () => {
    const rows: Array<{ replicas: number; surge: IntOrPercent; unavail: IntOrPercent; old: number; fresh: number; oldReady: number; newReady: number }> = [];
    for (const replicas of [1, 2, 3, 5])
      for (const [surge, unavail] of [
        ['25%', '25%'],
        ['0%', '1%'],
        [1, 0],
        [0, 2],
      ] as Array<[IntOrPercent, IntOrPercent]>)
        for (const old of [0, 1, replicas])
          for (const fresh of [0, 1, replicas + 1])
            for (const oldReady of [0, old]) for (const newReady of [0, fresh]) rows.push({ replicas, surge, unavail, old, fresh, oldReady, newReady });

    it.each(rows)('$replicas replicas, $surge/$unavail, old $oldReady/$old ready, new $newReady/$fresh ready', (row) => {
      const desired = desiredOf(2, { replicas: row.replicas, maxSurge: row.surge, maxUnavailable: row.unavail });
      const pods = (revision: number, count: number, ready: number): ObservedReplica[] =>
        Array.from({ length: count }, (_, i) => replica(revision, { zone: 'abc'[i % 3], ready: i < ready }));
      const observed = observedOf({
        replicaSets: [rs(1, row.old), rs(2, row.fresh)],
        replicas: [...pods(1, row.old, row.oldReady), ...pods(2, row.fresh, row.newReady)],
      });
      expect(wouldBreach(desired, observed, planStep(desired, observed).actions)).toEqual([]);
    });
  });
});
