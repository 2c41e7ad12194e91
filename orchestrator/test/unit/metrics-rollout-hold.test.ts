/**
 * zerodrop_orchestrator_rollout_in_progress is a sampled gauge. A rollout shorter than the scrape
 * interval must still be seen by a scrape (a CI run had a 1.2 s rollout, 1 s scrapes and no
 * Grafana annotation), so the gauge holds 1 for rolloutHoldMs after the rollout ends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OrchestratorMetrics } from '../../src/metrics.js';
import { fakeCluster, type FakeCluster } from './support/fake-cluster.js';
import { makeSpec } from './support/fixtures.js';

const clusters: FakeCluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.controller.destroy();
});

async function gauge(m: OrchestratorMetrics): Promise<number> {
  const line = (await m.metrics()).split('\n').find((l) => l.startsWith('zerodrop_orchestrator_rollout_in_progress{'));
  return Number(line?.split(' ').at(-1));
}

describe('rollout_in_progress', () => {
  it('is 1 for the hold after a rollout that ended between two scrapes, then 0', async () => {
    const c = fakeCluster(makeSpec({ replicas: 2 }));
    clusters.push(c);
    let clock = 1_000_000;
    const m = new OrchestratorMetrics(c.controller, 'r1', 'test', { rolloutHoldMs: 2000, clock: { now: () => clock } });
    await c.controller.start(); // the first rollout (v1), live: it is held too
    expect(c.controller.rolloutInProgress).toBe(false);
    expect(await gauge(m)).toBe(1);
    clock += 2000;
    expect(await gauge(m)).toBe(0);

    expect((await c.controller.rolloutTo({ version: 'v2' }).done).outcome).toBe('complete');
    expect(c.controller.rolloutInProgress).toBe(false); // over before any scrape
    clock += 1999;
    expect(await gauge(m)).toBe(1);
    clock += 1;
    expect(await gauge(m)).toBe(0);
  });

  it('a rollout that completed before the metrics existed is history: 0 at once', async () => {
    const c = fakeCluster(makeSpec({ replicas: 2 }));
    clusters.push(c);
    await c.controller.start();
    const m = new OrchestratorMetrics(c.controller, 'r2', 'test', { rolloutHoldMs: 60_000 });
    expect(await gauge(m)).toBe(0);
  });
});
