/**
 * Whole rollouts through the simulated cluster: planStep pass after pass, actions applied through
 * the recording FakeRuntime, replicas Ready one pass after they start.
 */
import { describe, expect, it } from 'vitest';
import type { IntOrPercent } from '../../src/spec.js';
import { expectInvariantsAlways, expectPlannerClean } from './support/expect-sim.js';
import { SimCluster } from './support/sim-cluster.js';

describe('ResolveFenceposts worked examples, as whole rollouts', () => {
  // The six cases of the ResolveFenceposts doc comment (deployment_util.go).
  it.each<{ replicas: number; maxUnavailable: IntOrPercent; maxSurge: IntOrPercent; sequence: string[] }>([
    { replicas: 2, maxUnavailable: '1%', maxSurge: '0%', sequence: ['old(-1)', 'new(+1)', 'old(-1)', 'new(+1)'] },
    { replicas: 1, maxUnavailable: '1%', maxSurge: '0%', sequence: ['old(-1)', 'new(+1)'] },
    { replicas: 2, maxUnavailable: '25%', maxSurge: '1%', sequence: ['new(+1)', 'old(-1)', 'new(+1)', 'old(-1)'] },
    { replicas: 1, maxUnavailable: '25%', maxSurge: '1%', sequence: ['new(+1)', 'old(-1)'] },
    { replicas: 2, maxUnavailable: '0%', maxSurge: '1%', sequence: ['new(+1)', 'old(-1)', 'new(+1)', 'old(-1)'] },
    { replicas: 1, maxUnavailable: '0%', maxSurge: '1%', sequence: ['new(+1)', 'old(-1)'] },
  ])('$replicas desired, maxUnavailable $maxUnavailable, maxSurge $maxSurge → $sequence', async ({ replicas, maxUnavailable, maxSurge, sequence }) => {
    const sim = await SimCluster.start({ replicas, maxUnavailable, maxSurge });
    sim.rollout('v2');
    await sim.runUntilComplete();
    expect(sim.sequence()).toEqual(sequence);
    expectInvariantsAlways(sim);
  });
});

describe('6 replicas over 3 zones, 25%/25% (surge 2, unavailable 1)', () => {
  it.each([
    { readyAfterPasses: 1, terminatingPasses: 1, minReadySeconds: 0 },
    { readyAfterPasses: 3, terminatingPasses: 1, minReadySeconds: 0 },
    { readyAfterPasses: 1, terminatingPasses: 4, minReadySeconds: 0 },
    { readyAfterPasses: 2, terminatingPasses: 2, minReadySeconds: 3 },
  ])('ready after $readyAfterPasses, terminating for $terminatingPasses, minReadySeconds $minReadySeconds: bounds hold at every step', async (timing) => {
    const sim = await SimCluster.start({ replicas: 6, maxSurge: '25%', maxUnavailable: '25%', ...timing });
    sim.rollout('v2');
    await sim.runUntilComplete();
    expectInvariantsAlways(sim);
    expect(sim.sequence()[0]).toBe('new(+2)'); // scale up first
    expect(sim.spreadOf(2)).toEqual({ a: 2, b: 2, c: 2 });
    expect(sim.spreadOf(1)).toEqual({ a: 0, b: 0, c: 0 });
    expect(sim.replicaSet(1)?.replicas).toBe(0);
    expect(sim.replicaSet(2)?.replicas).toBe(6);
    // Through the runtime: 6 new replicas started, each old one stopped exactly once.
    expect(sim.runtime.actionsOf('start').map((c) => c.version)).toEqual(Array(6).fill('v2'));
    const stopped = sim.runtime.actionsOf('stop').map((c) => c.replicaId);
    expect(stopped).toHaveLength(6);
    expect(new Set(stopped).size).toBe(6);
  });

  it('takes the documented steps: +2, −3, +3, −3, +1', async () => {
    const sim = await SimCluster.start({ replicas: 6, maxSurge: '25%', maxUnavailable: '25%' });
    sim.rollout('v2');
    await sim.runUntilComplete();
    expect(sim.sequence()).toEqual(['new(+2)', 'old(-3)', 'new(+3)', 'old(-3)', 'new(+1)']);
  });

  it('3 replicas at 25%/25%: "at least 3 available and at most 4 total" (deployment.md)', async () => {
    const sim = await SimCluster.start({ replicas: 3, maxSurge: '25%', maxUnavailable: '25%' });
    sim.rollout('v2');
    await sim.runUntilComplete();
    expect(sim.sequence()).toEqual(['new(+1)', 'old(-1)', 'new(+1)', 'old(-1)', 'new(+1)', 'old(-1)']);
    expectInvariantsAlways(sim);
    for (const pass of sim.passes) {
      expect(pass.status.availableReplicas).toBeGreaterThanOrEqual(3);
      expect(pass.status.replicas).toBeLessThanOrEqual(4);
    }
  });
});

describe('rolling.go worked example: 10 replicas, maxUnavailable 2, maxSurge 3, new version crash-loops', () => {
  async function stuckAtFive(): Promise<SimCluster> {
    // Replicas take 2 passes to become Ready, so the replacement of a lost one is still
    // unavailable on the pass after it was created, as in the example.
    const sim = await SimCluster.start({ replicas: 10, maxUnavailable: 2, maxSurge: 3, readyAfterPasses: 2 });
    sim.broken.add(2);
    sim.rollout('v2-broken');
    await sim.runUntilQuiet();
    return sim;
  }

  it('stops with old at 8 and new at 5: 13 − 8 − 5 = 0, the old one is not scaled down', async () => {
    const sim = await stuckAtFive();
    expect(sim.replicaSet(1)?.replicas).toBe(8);
    expect(sim.replicaSet(2)?.replicas).toBe(5);
    expect(sim.sequence()).toEqual(['new(+3)', 'old(-2)', 'new(+2)']);
    expectInvariantsAlways(sim);
  });

  it('a node killing an old replica does not make the old ReplicaSet shrink; it is replaced', async () => {
    const sim = await stuckAtFive();
    sim.resetRecords();
    const victim = sim.observed.replicas.find((r) => r.revision === 1 && r.phase === 'running');
    sim.crash(victim!.id);
    await sim.runUntilQuiet();
    expect(sim.scales).toEqual([]);
    expect(sim.replicaSet(1)?.replicas).toBe(8);
    expect(sim.runtime.actionsOf('start').map((c) => c.version)).toEqual(['v1']);
    expectPlannerClean(sim);
  });

  it.each([
    { name: 'one old replica unavailable (the example): 13 − 8 − 1 = 4 removed', nodeFailure: true, to: 1 },
    { name: 'all old replicas available: 13 − 8 − 0 = 5 removed', nodeFailure: false, to: 0 },
  ])('after rollback, $name', async ({ nodeFailure, to }) => {
    const sim = await stuckAtFive();
    if (nodeFailure) {
      const victim = sim.observed.replicas.find((r) => r.revision === 1 && r.phase === 'running');
      sim.crash(victim!.id);
      await sim.pass(); // the ReplicaSet replaces it; the replacement is starting
    }
    sim.resetRecords();
    sim.rollback(1);
    const first = await sim.pass();
    expect(first.actions.filter((a) => a.type === 'scale-replicaset')).toEqual([
      { type: 'scale-replicaset', revision: 2, from: 5, to, reason: 'cleanup-unhealthy' },
    ]);
    expect(first.actions.filter((a) => a.type === 'delete-replica' && a.revision === 2)).toHaveLength(5 - to);
    // "The total number of pods will then be 9 and the newRS can be scaled up to 10."
    await sim.runUntilComplete();
    expect(sim.replicaSet(1)?.replicas).toBe(10);
    expect(sim.replicaSet(2)?.replicas).toBe(0);
    expect(sim.observed.replicas.filter((r) => r.phase !== 'terminating').every((r) => r.revision === 1)).toBe(true);
    expectPlannerClean(sim);
  });

  it('rollover instead (case 2): the new RS starts at 0 and the broken one is scaled down by 5', async () => {
    const sim = await stuckAtFive();
    sim.resetRecords();
    const fixed = sim.rollout('v3');
    const first = await sim.pass();
    expect(first.actions.filter((a) => a.type !== 'delete-replica')).toEqual([
      { type: 'create-replicaset', revision: fixed, replicas: 0 },
      { type: 'scale-replicaset', revision: 2, from: 5, to: 0, reason: 'cleanup-unhealthy' },
    ]);
    await sim.runUntilComplete();
    expect(sim.replicaSet(fixed)?.replicas).toBe(10);
    expect([sim.replicaSet(1)?.replicas, sim.replicaSet(2)?.replicas]).toEqual([0, 0]);
    expectPlannerClean(sim);
  });
});

describe('minReadySeconds', () => {
  it.each([
    { minReadySeconds: 0, firstScaleDownPass: 2 },
    { minReadySeconds: 5, firstScaleDownPass: 7 },
  ])('minReadySeconds $minReadySeconds: the old replica goes at pass $firstScaleDownPass', async ({ minReadySeconds, firstScaleDownPass }) => {
    // 1 s per pass; the first new replica starts at pass 1 and is Ready at pass 2.
    const sim = await SimCluster.start({ replicas: 3, maxSurge: '25%', maxUnavailable: '25%', minReadySeconds, passMs: 1000 });
    sim.rollout('v2');
    const base = sim.passCount;
    await sim.runUntilComplete();
    const firstDown = sim.scales.find((s) => s.revision === 1);
    expect((firstDown?.pass ?? 0) - base).toBe(firstScaleDownPass);
    expectInvariantsAlways(sim);
    // Meanwhile the new replica is Ready but not counted as available.
    const waiting = sim.passes.filter((p) => p.pass - base >= 2 && p.pass - base < firstScaleDownPass);
    expect(waiting).toHaveLength(firstScaleDownPass - 2);
    for (const p of waiting) expect(p.status.readyReplicas - p.status.availableReplicas).toBe(1);
  });
});

describe('rollback and scale', () => {
  it('rollback reuses the older ReplicaSet: scaled up again, no new ReplicaSet', async () => {
    const sim = await SimCluster.start({ replicas: 6, maxSurge: '25%', maxUnavailable: '25%' });
    sim.rollout('v2');
    await sim.runUntilComplete();
    sim.resetRecords();
    sim.rollback(1);
    await sim.runUntilComplete();
    expect(sim.passes.flatMap((p) => p.actions).some((a) => a.type === 'create-replicaset')).toBe(false);
    expect(sim.sequence()).toEqual(['new(+2)', 'old(-3)', 'new(+3)', 'old(-3)', 'new(+1)']);
    expect(sim.replicaSet(1)?.replicas).toBe(6);
    expect(sim.replicaSet(2)?.replicas).toBe(0);
    expect(sim.spreadOf(1)).toEqual({ a: 2, b: 2, c: 2 });
    expectInvariantsAlways(sim);
  });

  it.each([
    { to: 9, spread: { a: 3, b: 3, c: 3 }, deleted: 0 },
    { to: 3, spread: { a: 1, b: 1, c: 1 }, deleted: 3 },
    { to: 6, spread: { a: 2, b: 2, c: 2 }, deleted: 0 },
  ])('a plain scale to $to (no rollout) is one ReplicaSet step', async ({ to, spread, deleted }) => {
    const sim = await SimCluster.start({ replicas: 6, maxSurge: '25%', maxUnavailable: '25%' });
    sim.scale(to);
    await sim.runUntilComplete();
    expect(sim.scales.map(({ from, to: t, reason }) => ({ from, to: t, reason }))).toEqual(to === 6 ? [] : [{ from: 6, to, reason: 'deployment-scaled' }]);
    expect(sim.spreadOf(1)).toEqual(spread);
    expect(sim.runtime.actionsOf('stop')).toHaveLength(deleted);
    expectPlannerClean(sim);
    for (const pass of sim.passes) expect(pass.after.filter((b) => b.invariant === 'max-total')).toEqual([]);
  });

  it('scaling down mid-rollout: both bounds hold at every step after the scale', async () => {
    const sim = await SimCluster.start({ replicas: 6, maxSurge: '25%', maxUnavailable: '25%' });
    sim.rollout('v2');
    await sim.pass();
    await sim.pass();
    sim.scale(3);
    sim.resetRecords();
    await sim.runUntilComplete();
    expectPlannerClean(sim);
    for (const pass of sim.passes) expect(pass.after, `pass ${pass.pass}`).toEqual([]);
    expect(sim.replicaSet(2)?.replicas).toBe(3);
    expect(sim.spreadOf(2)).toEqual({ a: 1, b: 1, c: 1 });
  });

  it('scaling up mid-rollout: never above the ceiling; only the new floor waits for the new replicas', async () => {
    const sim = await SimCluster.start({ replicas: 6, maxSurge: '25%', maxUnavailable: '25%' });
    sim.rollout('v2');
    await sim.pass();
    await sim.pass();
    sim.scale(9); // floor 9 − 2 = 7 while 5 are available: the spec change breaks it, not the planner
    sim.resetRecords();
    await sim.runUntilComplete();
    expectPlannerClean(sim);
    const [first, ...rest] = sim.passes;
    expect(first?.before.map((b) => b.invariant)).toEqual(['min-available']);
    for (const pass of sim.passes) expect(pass.after.filter((b) => b.invariant === 'max-total')).toEqual([]);
    for (const pass of rest) expect(pass.before, `pass ${pass.pass}`).toEqual([]);
    expect(sim.spreadOf(2)).toEqual({ a: 3, b: 3, c: 3 });
  });
});
