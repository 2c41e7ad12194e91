/**
 * Losing a zone under the simulated cluster: lost replicas are replaced on the surviving zones,
 * a down zone takes nothing, and a recovered zone is not rebalanced (topology spread is evaluated
 * at scheduling time only).
 */
import { describe, expect, it } from 'vitest';
import type { ZoneFailureMode } from '../../src/timeline.js';
import { expectPlannerClean } from './support/expect-sim.js';
import { SimCluster } from './support/sim-cluster.js';

async function steady(): Promise<SimCluster> {
  return SimCluster.start({ replicas: 6, maxSurge: '25%', maxUnavailable: '25%' });
}

describe.each<{ mode: ZoneFailureMode }>([{ mode: 'crash' }, { mode: 'hang' }])('zone b fails ($mode)', ({ mode }) => {
  it('its replicas are declared lost and replaced in a and c only', async () => {
    const sim = await steady();
    const lost = await sim.zoneDown('b', mode);
    expect(lost).toHaveLength(2);
    const first = await sim.pass();
    expect(first.before.map((b) => b.invariant)).toEqual(['min-available']); // 4 of 6: the outage's doing
    const deleted = first.actions.flatMap((a) => (a.type === 'delete-replica' ? [[a.replicaId, a.reason]] : []));
    expect(deleted).toEqual(lost.map((id) => [id, 'lost']));
    expect(first.actions.flatMap((a) => (a.type === 'create-replica' ? [a.zone] : []))).toEqual(['a', 'c']);
    await sim.runUntilComplete();
    expect(sim.spreadOf(1)).toEqual({ a: 3, b: 0, c: 3 });
    expect(sim.runtime.actionsOf('start').every((c) => c.zone !== 'b')).toBe(true);
    expect(sim.passes.at(-1)?.after).toEqual([]);
    expectPlannerClean(sim);
  });

  it('crashed replicas are already gone; hung ones only end by SIGKILL once the grace period runs out', async () => {
    const sim = await steady();
    const lost = await sim.zoneDown('b', mode);
    const exitedByTheFault = lost.map((id) => sim.runtime.replica(id)?.exit?.kind ?? 'still running');
    expect(exitedByTheFault).toEqual(mode === 'crash' ? ['killed', 'killed'] : ['still running', 'still running']);
    if (mode === 'hang') expect(sim.runtime.actionsOf('pause').map((c) => c.replicaId)).toEqual(lost);
    await sim.pass();
    expect(sim.runtime.actionsOf('stop').map((c) => c.replicaId)).toEqual(lost);
    for (const id of lost) expect(sim.runtime.replica(id)?.exit?.kind).toBe('killed');
  });

  it('recovering the zone moves nothing back', async () => {
    const sim = await steady();
    await sim.zoneDown('b', mode);
    await sim.runUntilComplete();
    await sim.zoneUp('b');
    sim.resetRecords();
    await sim.runUntilQuiet(3);
    expect(sim.passes.flatMap((p) => p.actions)).toEqual([]);
    expect(sim.runtime.actions()).toEqual([]);
    expect(sim.spreadOf(1)).toEqual({ a: 3, b: 0, c: 3 });
  });
});

describe('zones and rollouts', () => {
  it('a rollout while zone b is down places every new replica in a and c', async () => {
    const sim = await steady();
    await sim.zoneDown('b', 'crash');
    await sim.runUntilComplete();
    sim.resetRecords();
    sim.rollout('v2');
    await sim.runUntilComplete();
    expect(sim.spreadOf(2)).toEqual({ a: 3, b: 0, c: 3 });
    expect(
      sim.runtime
        .actionsOf('start')
        .map((c) => c.zone)
        .sort(),
    ).toEqual(['a', 'a', 'a', 'c', 'c', 'c']);
    for (const pass of sim.passes) expect(pass.after, `pass ${pass.pass}`).toEqual([]);
    expectPlannerClean(sim);
  });

  it('a zone lost mid-rollout: the planner never makes it worse, and the rollout completes on a and c', async () => {
    const sim = await steady();
    sim.rollout('v2');
    await sim.pass();
    await sim.pass();
    const base = sim.runtime.actionsOf('start').length;
    await sim.zoneDown('b', 'crash');
    await sim.runUntilComplete();
    expectPlannerClean(sim);
    expect(sim.spreadOf(2)).toEqual({ a: 3, b: 0, c: 3 });
    expect(
      sim.runtime
        .actionsOf('start')
        .slice(base)
        .every((c) => c.zone !== 'b'),
    ).toBe(true);
    expect(sim.replicaSet(1)?.replicas).toBe(0);
  });

  it('a zone that recovers before a rollout gets new replicas again (spread is evaluated when placing)', async () => {
    const sim = await steady();
    await sim.zoneDown('b', 'crash');
    await sim.runUntilComplete();
    await sim.zoneUp('b');
    sim.rollout('v2');
    await sim.runUntilComplete();
    expect(sim.spreadOf(2)).toEqual({ a: 2, b: 2, c: 2 });
    expectPlannerClean(sim);
  });

  it('every zone down: nothing can be placed, and the planner says so', async () => {
    const sim = await steady();
    for (const zone of ['a', 'b', 'c']) await sim.zoneDown(zone, 'crash');
    sim.resetRecords();
    const pass = await sim.pass();
    expect(pass.actions.every((a) => a.type === 'delete-replica' && a.reason === 'lost')).toBe(true);
    expect(pass.notes).toEqual(['no zone is up: 6 replica(s) of revision 1 cannot be placed']);
    expect(sim.runtime.actionsOf('start')).toEqual([]);
    await sim.zoneUp('a');
    await sim.runUntilComplete();
    expect(sim.spreadOf(1)).toEqual({ a: 6, b: 0, c: 0 });
  });
});
