import { describe, expect, it } from 'vitest';
import {
  checkInvariants,
  deploymentStatus,
  hasProgressed,
  isAvailable,
  isRolloutComplete,
  progressDeadlineExceeded,
  wouldBreach,
} from '../../src/planner/status.js';
import type { DeploymentStatus, PlannedAction } from '../../src/planner/types.js';
import { desiredOf, observedOf, replica, rs, spread } from './support/fixtures.js';

const NOW = 100_000;

describe('isAvailable (IsPodAvailable)', () => {
  it.each([
    { name: 'Ready, minReadySeconds 0', r: replica(1, { readySinceMs: NOW }), min: 0, expected: true },
    { name: 'Ready for exactly minReadySeconds', r: replica(1, { readySinceMs: NOW - 5_000 }), min: 5, expected: true },
    { name: 'Ready for less than minReadySeconds', r: replica(1, { readySinceMs: NOW - 4_999 }), min: 5, expected: false },
    { name: 'Ready with no timestamp and minReadySeconds > 0', r: replica(1, { readySinceMs: null, ready: true }), min: 5, expected: false },
    { name: 'not Ready', r: replica(1, { ready: false }), min: 0, expected: false },
    { name: 'starting', r: replica(1, { phase: 'starting' }), min: 0, expected: false },
    { name: 'terminating, even if still flagged Ready', r: replica(1, { phase: 'terminating', ready: true }), min: 0, expected: false },
    { name: 'failed', r: replica(1, { phase: 'failed', ready: true }), min: 0, expected: false },
  ])('$name → $expected', ({ r, min, expected }) => {
    expect(isAvailable(r, min, NOW)).toBe(expected);
  });
});

describe('deploymentStatus (calculateStatus)', () => {
  it('counts terminating and failed replicas nowhere but terminatingReplicas', () => {
    const desired = desiredOf(2, { replicas: 4, minReadySeconds: 10 });
    const observed = observedOf({
      nowMs: NOW,
      replicaSets: [rs(1, 2), rs(2, 3)],
      replicas: [
        replica(1),
        replica(1, { phase: 'terminating', ready: false }),
        replica(1, { phase: 'failed', ready: false }),
        replica(2),
        replica(2, { readySinceMs: NOW - 1_000 }), // Ready, not yet available
        replica(2, { phase: 'starting' }),
      ],
    });
    expect(deploymentStatus(desired, observed)).toEqual<DeploymentStatus>({
      replicas: 4,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 2,
      unavailableReplicas: 3, // Σ spec 5 − available 2
      terminatingReplicas: 1,
      complete: false,
    });
  });
});

describe('isRolloutComplete (DeploymentComplete)', () => {
  const desired = desiredOf(2, { replicas: 3 });
  it.each([
    { name: 'all new, all available, old RS at 0', sets: [rs(1, 0), rs(2, 3)], replicas: spread(2, 3), expected: true },
    { name: 'an old replica still active', sets: [rs(1, 1), rs(2, 3)], replicas: [...spread(2, 3), replica(1)], expected: false },
    {
      name: 'old RS still wants 1 though its replica crashed',
      sets: [rs(1, 1), rs(2, 3)],
      replicas: [...spread(2, 3), replica(1, { phase: 'failed' })],
      expected: false,
    },
    { name: 'a new replica not available', sets: [rs(1, 0), rs(2, 3)], replicas: [...spread(2, 2), replica(2, { phase: 'starting' })], expected: false },
    { name: 'one too many new (scale-down pending)', sets: [rs(2, 3)], replicas: spread(2, 4), expected: false },
    {
      name: 'terminating old replicas do not block completion',
      sets: [rs(1, 0), rs(2, 3)],
      replicas: [...spread(2, 3), replica(1, { phase: 'terminating' })],
      expected: true,
    },
    { name: 'new RS missing', sets: [rs(1, 3)], replicas: spread(1, 3), expected: false },
  ])('$name → $expected', ({ sets, replicas, expected }) => {
    expect(isRolloutComplete(desired, observedOf({ replicaSets: sets, replicas }))).toBe(expected);
  });
});

describe('checkInvariants', () => {
  // 6 replicas, 25%/25% → maxSurge 2, maxUnavailable 1: available ≥ 5, total ≤ 8.
  const desired = desiredOf(2, { replicas: 6 });
  it.each([
    { name: 'steady state', replicas: spread(1, 6), breaches: [] },
    { name: 'at both bounds: 5 available, 8 total', replicas: [...spread(1, 5), ...spread(2, 3, ['a'], { phase: 'starting' })], breaches: [] },
    { name: 'one unavailable too many', replicas: [...spread(1, 4), replica(1, { ready: false })], breaches: ['min-available'] },
    { name: 'one replica too many', replicas: [...spread(1, 6), ...spread(2, 3, ['a'], { phase: 'starting' })], breaches: ['max-total'] },
    { name: 'terminating replicas count in neither', replicas: [...spread(1, 6), ...spread(1, 4, ['a'], { phase: 'terminating' })], breaches: [] },
    { name: 'both at once', replicas: [...spread(1, 4), ...spread(2, 5, ['a'], { phase: 'starting' })], breaches: ['min-available', 'max-total'] },
  ])('$name → $breaches', ({ replicas, breaches }) => {
    const found = checkInvariants(desired, observedOf({ replicaSets: [rs(1, 6), rs(2, 0)], replicas }));
    expect(found.map((b) => b.invariant)).toEqual(breaches);
  });

  it('says what broke, with the numbers', () => {
    const [breach] = checkInvariants(desired, observedOf({ replicaSets: [rs(1, 6)], replicas: spread(1, 4) }));
    expect(breach).toEqual({
      invariant: 'min-available',
      detail: 'available 4 < 5 (replicas 6 − maxUnavailable 1)',
      available: 4,
      total: 4,
    });
  });
});

describe('wouldBreach: a bad action list IS flagged', () => {
  // 6 replicas, 25%/25% → available ≥ 5, total ≤ 8. Old RS 1 at 6 (all available), new RS 2 at 2.
  const desired = desiredOf(2, { replicas: 6 });
  const old = spread(1, 6);
  const starting = spread(2, 2, ['a', 'b'], { phase: 'starting' });
  const observed = observedOf({ replicaSets: [rs(1, 6), rs(2, 2)], replicas: [...old, ...starting] });
  const del = (i: number): PlannedAction => ({ type: 'delete-replica', replicaId: old[i]!.id, revision: 1, reason: 'rollout' });
  const delStarting = (i: number): PlannedAction => ({ type: 'delete-replica', replicaId: starting[i]!.id, revision: 2, reason: 'scale-down' });
  const create: PlannedAction = { type: 'create-replica', revision: 2, zone: 'c' };

  it.each<{ name: string; actions: PlannedAction[]; flagged: string[] }>([
    { name: 'nothing', actions: [], flagged: [] },
    { name: 'delete 1 available (6 → 5)', actions: [del(0)], flagged: [] },
    { name: 'delete 2 available (6 → 4)', actions: [del(0), del(1)], flagged: ['min-available'] },
    { name: 'delete every old replica at once', actions: [0, 1, 2, 3, 4, 5].map(del), flagged: ['min-available'] },
    { name: 'delete not-available replicas only', actions: [delStarting(0), delStarting(1)], flagged: [] },
    { name: 'create 1 more (8 → 9)', actions: [create], flagged: ['max-total'] },
    { name: 'delete 1 then create 1 (stays at 8)', actions: [del(0), create], flagged: [] },
    {
      name: 'scale the new RS past the surge (Σ spec 8 → 9)',
      actions: [{ type: 'scale-replicaset', revision: 2, from: 2, to: 3, reason: 'rollout-scale-up' }],
      flagged: ['max-total'],
    },
    {
      name: 'create a ReplicaSet past the surge',
      actions: [{ type: 'create-replicaset', revision: 3, replicas: 1 }],
      flagged: ['max-total'],
    },
    {
      name: 'scale old down and new up within bounds',
      actions: [
        { type: 'scale-replicaset', revision: 1, from: 6, to: 5, reason: 'rollout-scale-down' },
        { type: 'scale-replicaset', revision: 2, from: 2, to: 3, reason: 'rollout-scale-up' },
      ],
      flagged: [],
    },
  ])('$name → $flagged', ({ actions, flagged }) => {
    expect(wouldBreach(desired, observed, actions).map((b) => b.invariant)).toEqual(flagged);
  });

  it('after an outage broke the floor: replacing is allowed, deleting one more available is not', () => {
    // Zone b crashed: 4 of 6 available (< 5), its 2 replicas failed.
    const alive = spread(1, 4, ['a', 'c']);
    const lost = spread(1, 2, ['b'], { phase: 'failed', ready: false });
    const broken = observedOf({ replicaSets: [rs(1, 6), rs(2, 0)], replicas: [...alive, ...lost] });
    expect(checkInvariants(desired, broken).map((b) => b.invariant)).toEqual(['min-available']);
    const replace: PlannedAction[] = [
      ...lost.map((r): PlannedAction => ({ type: 'delete-replica', replicaId: r.id, revision: 1, reason: 'lost' })),
      { type: 'create-replica', revision: 1, zone: 'a' },
      { type: 'create-replica', revision: 1, zone: 'c' },
    ];
    expect(wouldBreach(desired, broken, replace)).toEqual([]);
    const worse: PlannedAction = { type: 'delete-replica', replicaId: alive[0]!.id, revision: 1, reason: 'rollout' };
    expect(wouldBreach(desired, broken, [worse]).map((b) => b.invariant)).toEqual(['min-available']);
  });
});

describe('progress (DeploymentProgressing, DeploymentTimedOut)', () => {
  const base: DeploymentStatus = {
    replicas: 6,
    updatedReplicas: 2,
    readyReplicas: 6,
    availableReplicas: 6,
    unavailableReplicas: 0,
    terminatingReplicas: 0,
    complete: false,
  };
  it.each([
    { name: 'nothing changed', next: {}, expected: false },
    { name: 'more updated', next: { replicas: 7, updatedReplicas: 3 }, expected: true },
    { name: 'fewer old', next: { replicas: 5 }, expected: true },
    { name: 'more ready', next: { readyReplicas: 7 }, expected: true },
    { name: 'more available', next: { availableReplicas: 7 }, expected: true },
    { name: 'fewer available only', next: { availableReplicas: 5, readyReplicas: 5 }, expected: false },
  ])('$name → $expected', ({ next, expected }) => {
    expect(hasProgressed(base, { ...base, ...next })).toBe(expected);
  });

  it('a replaced crash-looping replica (updated back to a count seen before) is no progress against the most seen', () => {
    const dipped = { ...base, replicas: 5, updatedReplicas: 1 };
    const back = { ...base, replicas: 6, updatedReplicas: 2 };
    expect(hasProgressed(dipped, back)).toBe(true); // Kubernetes' rule alone
    expect(hasProgressed(dipped, back, 2)).toBe(false);
    expect(hasProgressed(dipped, { ...back, replicas: 7, updatedReplicas: 3 }, 2)).toBe(true);
  });

  it.each([
    { last: 0, now: 60_000, deadline: 60, expected: false },
    { last: 0, now: 60_001, deadline: 60, expected: true },
  ])('last progress $last, now $now, deadline $deadline s → $expected', ({ last, now, deadline, expected }) => {
    expect(progressDeadlineExceeded(last, now, deadline)).toBe(expected);
  });
});
