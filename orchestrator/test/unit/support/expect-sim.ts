import { expect } from 'vitest';
import type { SimCluster } from './sim-cluster.js';

/**
 * The planner never caused a breach, and never needed its safety net: the rolling arithmetic
 * alone kept both bounds (a "held back" note would mean the guard had to step in).
 */
export function expectPlannerClean(sim: SimCluster): void {
  for (const pass of sim.passes) {
    expect(pass.causedByPlanner, `pass ${pass.pass}`).toEqual([]);
    expect(
      pass.notes.filter((n) => n.includes('held back')),
      `pass ${pass.pass}`,
    ).toEqual([]);
  }
}

/** Both invariants held before and after every pass. */
export function expectInvariantsAlways(sim: SimCluster): void {
  expectPlannerClean(sim);
  for (const pass of sim.passes) {
    expect(pass.before, `pass ${pass.pass} before`).toEqual([]);
    expect(pass.after, `pass ${pass.pass} after`).toEqual([]);
  }
}
