import { describe, expect, it } from 'vitest';
import { pickReplicasToDelete, pickZone } from '../../src/planner/placement.js';
import { planReplicaSets } from '../../src/planner/replicaset.js';
import type { ObservedReplica, PlannedAction } from '../../src/planner/types.js';
import { observedOf, replica, rs, spread, zonesOf } from './support/fixtures.js';

const NOW = 100_000;
const placed = (spec: string): Array<{ revision: number; zone: string }> =>
  // "1a 1a 2b": revision then zone, one replica each
  spec
    .split(' ')
    .filter(Boolean)
    .map((token) => ({ revision: Number(token.slice(0, -1)), zone: token.slice(-1) }));

describe('pickZone (topology spread over the zones that are up)', () => {
  it.each([
    { name: 'empty cluster → first zone', active: '', revision: 2, down: [], expected: 'a' },
    { name: 'fewest of the revision wins', active: '2a 2b', revision: 2, down: [], expected: 'c' },
    { name: 'tie on the revision → fewest overall', active: '1a 1a 1b 1c 1c', revision: 2, down: [], expected: 'b' },
    { name: 'the revision count beats the overall count', active: '1b 1b 1b 2a 2c', revision: 2, down: [], expected: 'b' },
    { name: 'full tie → zone order', active: '1a 1b 1c', revision: 2, down: [], expected: 'a' },
    { name: 'a down zone takes nothing, even empty', active: '1a 1c', revision: 1, down: ['b'], expected: 'a' },
    { name: 'only one zone up', active: '1a 1a 1a', revision: 1, down: ['b', 'c'], expected: 'a' },
    { name: 'no zone up → null', active: '1a', revision: 1, down: ['a', 'b', 'c'], expected: null },
  ])('$name', ({ active, revision, down, expected }) => {
    expect(pickZone(zonesOf(['a', 'b', 'c'], down), placed(active), revision)).toBe(expected);
  });
});

describe('pickReplicasToDelete', () => {
  const context = { zones: zonesOf(['a', 'b', 'c'], ['c']), minReadySeconds: 10, nowMs: NOW };
  const ids = (rs: ObservedReplica[]): string[] => rs.map((r) => r.id);

  it('ranks: starting, not Ready, Ready-not-available, down zone, crowded zone, oldest', () => {
    const replicas = [
      replica(1, { id: 'old-a', zone: 'a', seq: 1 }),
      replica(1, { id: 'crowded-b1', zone: 'b', seq: 5 }),
      replica(1, { id: 'crowded-b2', zone: 'b', seq: 6 }),
      replica(1, { id: 'down-c', zone: 'c', seq: 7 }),
      replica(1, { id: 'fresh', zone: 'a', seq: 8, readySinceMs: NOW - 1_000 }),
      replica(1, { id: 'not-ready', zone: 'a', seq: 9, ready: false }),
      replica(1, { id: 'starting', zone: 'a', seq: 10, phase: 'starting' }),
      replica(1, { id: 'terminating', zone: 'a', seq: 0, phase: 'terminating' }),
    ];
    expect(ids(pickReplicasToDelete(replicas, 8, context))).toEqual([
      'starting',
      'not-ready',
      'fresh',
      'down-c',
      'crowded-b1', // b holds 2 of the 3 left: keep the spread
      'old-a', // a and b now hold 1 each: oldest first
      'crowded-b2',
    ]); // the terminating one is never picked: it is already going
  });

  it.each([
    { name: 'crowded zone first', zones: 'a a a b c', expected: ['a', 'a'] },
    { name: 'evens out two zones', zones: 'a a b b b c', expected: ['b', 'a'] },
  ])('$name', ({ zones, expected }) => {
    const replicas = zones.split(' ').map((zone, i) => replica(1, { zone, seq: i + 1 }));
    const everyUp = { ...context, zones: zonesOf(['a', 'b', 'c']) };
    expect(pickReplicasToDelete(replicas, 2, everyUp).map((r) => r.zone)).toEqual(expected);
  });
});

describe('planReplicaSets (manageReplicas, pod GC, zone eviction)', () => {
  const kinds = (actions: PlannedAction[]): string[] =>
    actions.map((a) => {
      switch (a.type) {
        case 'create-replica':
          return `+${a.revision}${a.zone}`;
        case 'delete-replica':
          return `-${a.replicaId}:${a.reason}`;
        default:
          return a.type;
      }
    });

  it('creates the missing replicas spread over the zones', () => {
    const plan = planReplicaSets(observedOf({ replicaSets: [rs(1, 5)], replicas: [] }));
    expect(kinds(plan.actions)).toEqual(['+1a', '+1b', '+1c', '+1a', '+1b']);
    expect(plan.notes).toEqual([]);
  });

  it('spreads each revision on its own (a rollout in progress)', () => {
    const observed = observedOf({ replicaSets: [rs(1, 3), rs(2, 2)], replicas: [...spread(1, 3), replica(2, { zone: 'a' })] });
    expect(kinds(planReplicaSets(observed).actions)).toEqual(['+2b']);
  });

  it('deletes the surplus, not-Ready first', () => {
    const observed = observedOf({
      replicaSets: [rs(1, 2)],
      replicas: [replica(1, { id: 'x', zone: 'a' }), replica(1, { id: 'y', zone: 'b', ready: false }), replica(1, { id: 'z', zone: 'c' })],
    });
    expect(kinds(planReplicaSets(observed, observed.zones, { newRevision: 1 }).actions)).toEqual(['-y:scale-down']);
  });

  it('reports old replicas removed by a rollout as rollout, or unhealthy when they were not available', () => {
    const observed = observedOf({
      replicaSets: [rs(1, 1), rs(2, 3)],
      replicas: [
        replica(1, { id: 'ok', zone: 'a' }),
        replica(1, { id: 'bad', zone: 'b', ready: false }),
        replica(1, { id: 'ok2', zone: 'c' }),
        ...spread(2, 3),
      ],
    });
    expect(kinds(planReplicaSets(observed, observed.zones, { newRevision: 2 }).actions)).toEqual(['-bad:unhealthy', '-ok:rollout']);
  });

  it('clears failed replicas as lost and replaces them', () => {
    const observed = observedOf({
      replicaSets: [rs(1, 3)],
      replicas: [replica(1, { id: 'a1', zone: 'a' }), replica(1, { id: 'b1', zone: 'b', phase: 'failed' }), replica(1, { id: 'c1', zone: 'c' })],
    });
    expect(kinds(planReplicaSets(observed).actions)).toEqual(['-b1:lost', '+1b']);
  });

  it('evicts not-Ready replicas of a down zone and places their replacements elsewhere', () => {
    const observed = observedOf({
      zones: zonesOf(['a', 'b', 'c'], ['b']),
      replicaSets: [rs(1, 6)],
      replicas: [
        ...spread(1, 2, ['a']),
        replica(1, { id: 'b1', zone: 'b', ready: false }),
        replica(1, { id: 'b2', zone: 'b', ready: true }), // its probes have not failed yet: left alone
        ...spread(1, 2, ['c']),
      ],
    });
    expect(kinds(planReplicaSets(observed).actions)).toEqual(['-b1:lost', '+1a']);
  });

  it('with no zone up: deletes what is lost, creates nothing, says so', () => {
    const observed = observedOf({
      zones: zonesOf(['a', 'b'], ['a', 'b']),
      replicaSets: [rs(1, 2)],
      replicas: [replica(1, { id: 'a1', zone: 'a', phase: 'failed' }), replica(1, { id: 'b1', zone: 'b', ready: false })],
    });
    const plan = planReplicaSets(observed);
    expect(kinds(plan.actions)).toEqual(['-a1:lost', '-b1:lost']);
    expect(plan.notes).toEqual(['no zone is up: 2 replica(s) of revision 1 cannot be placed']);
  });

  it('deletes a replica whose ReplicaSet is gone', () => {
    const observed = observedOf({ replicaSets: [rs(2, 1)], replicas: [replica(1, { id: 'orphan' }), replica(2)] });
    expect(kinds(planReplicaSets(observed, observed.zones, { newRevision: 2 }).actions)).toEqual(['-orphan:rollout']);
  });

  it('lists deletions before creations, so a replacement never waits on the surge cap', () => {
    const observed = observedOf({
      replicaSets: [rs(1, 1), rs(2, 2)],
      replicas: [...spread(1, 2), replica(2, { zone: 'a' })],
    });
    const plan = planReplicaSets(observed, observed.zones, { newRevision: 2 });
    expect(plan.actions.map((a) => a.type)).toEqual(['delete-replica', 'create-replica']);
  });

  it('leaves terminating replicas out of every count', () => {
    const observed = observedOf({ replicaSets: [rs(1, 2)], replicas: [...spread(1, 2), replica(1, { phase: 'terminating' })] });
    expect(planReplicaSets(observed).actions).toEqual([]);
  });
});
