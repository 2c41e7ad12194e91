/**
 * The real reconcile loop (controller.ts) against fakes: the termination order, the progress
 * deadline, the Available condition and the invariants as observed. The planner's arithmetic
 * has its own tables (rolling.test.ts, fenceposts.test.ts); these are about what the loop does
 * with it over time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeploymentSpec, TerminationSpec } from '../../src/spec.js';
import type { TimelineEvent } from '../../src/timeline.js';
import { fakeCluster, type FakeCluster } from './support/fake-cluster.js';
import { makeSpec, type SpecOptions } from './support/fixtures.js';

const clusters: FakeCluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.controller.destroy();
});

function spec(o: SpecOptions & { termination?: Partial<TerminationSpec>; progressDeadlineSeconds?: number; autoRollback?: boolean } = {}): DeploymentSpec {
  const base = makeSpec({ replicas: 6, ...o });
  return {
    ...base,
    strategy: { ...base.strategy, progressDeadlineSeconds: o.progressDeadlineSeconds ?? 60, autoRollback: o.autoRollback ?? false },
    termination: { preStopMs: 0, gracePeriodMs: 1000, routingLagMs: 0, ...o.termination },
  };
}

async function started(s: DeploymentSpec, options: Parameters<typeof fakeCluster>[1] = {}): Promise<FakeCluster> {
  const c = fakeCluster(s, options);
  clusters.push(c);
  await c.controller.start();
  return c;
}

function retired(c: FakeCluster, version: string): string[] {
  return c.events('replica.draining').flatMap((e) => (e.type === 'replica.draining' && e.version === version ? [e.replica] : []));
}

describe('termination order', () => {
  it('routingLag ≤ preStop: each retired replica leaves the proxy (drained) before it gets SIGTERM', async () => {
    const c = await started(spec({ termination: { routingLagMs: 0, preStopMs: 0 } }));
    const done = await c.controller.rolloutTo({ version: 'v2' }).done;
    expect(done.outcome).toBe('complete');
    await c.controller.settle();
    const old = retired(c, 'v1');
    expect(old).toHaveLength(6);
    for (const id of old) {
      const drain = c.calls.findIndex((x) => x.on === 'proxy' && x.verb === 'drain' && x.replica === id);
      const stop = c.calls.findIndex((x) => x.on === 'runtime' && x.verb === 'stop' && x.replica === id);
      expect(drain, `${id} drained`).toBeGreaterThanOrEqual(0);
      expect(stop, `${id} stopped`).toBeGreaterThan(drain);
    }
  });

  it('a drain that outlasts the grace period does not hold SIGTERM back: it goes at grace − 2 s, with 2 s left (Kubernetes preStop overrun)', async () => {
    const c = await started(spec({ replicas: 2, termination: { routingLagMs: 0, preStopMs: 0, gracePeriodMs: 3000 } }));
    c.proxy.drainMs = 10_000;
    const t0 = performance.now();
    c.controller.scale(1);
    await c.waitForEvent('replica.draining', 2000);
    const stoppedAtDrain = c.runtime.actionsOf('stop');
    for (let i = 0; i < 100 && c.runtime.actionsOf('stop').length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    const stop = c.runtime.actionsOf('stop')[0];
    expect(stoppedAtDrain, 'SIGTERM waits for the unroute first').toEqual([]);
    expect(stop?.graceMs).toBeGreaterThanOrEqual(1900);
    expect(stop?.graceMs).toBeLessThanOrEqual(2100);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(950);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('routingLag > preStop (the default: Kubernetes without a preStop hook): SIGTERM lands while the replica is still routed', async () => {
    const c = await started(spec({ termination: { routingLagMs: 60, preStopMs: 0 } }));
    await c.controller.rolloutTo({ version: 'v2' }).done;
    await c.controller.settle();
    const id = retired(c, 'v1')[0]!;
    const drain = c.calls.findIndex((x) => x.on === 'proxy' && x.verb === 'drain' && x.replica === id);
    const stop = c.calls.findIndex((x) => x.on === 'runtime' && x.verb === 'stop' && x.replica === id);
    expect(stop).toBeGreaterThanOrEqual(0);
    expect(drain).toBeGreaterThan(stop);
  });
});

describe('progress deadline (DeploymentProgressing / ProgressDeadlineExceeded)', () => {
  it('a version whose replicas never become Ready fails its rollout on the deadline, naming a stuck replica', async () => {
    const c = await started(spec({ progressDeadlineSeconds: 0.4 }));
    c.neverReady.add('v2');
    const done = await c.controller.rolloutTo({ version: 'v2' }).done;
    expect(done.outcome).toBe('failed');
    expect(done.reason).toMatch(/ProgressDeadlineExceeded: no progress for 0.4s \(web-v2-/);
    expect(c.controller.view().conditions.find((x) => x.type === 'Progressing')).toMatchObject({ status: false, reason: 'ProgressDeadlineExceeded' });
  });

  it('a version that crash-loops (each start fails, the replica is replaced) still hits the deadline; autoRollback brings v1 back', async () => {
    // Backoffs far shorter than the deadline: the updated count goes up and down all along,
    // which is not progress (Kubernetes would restart the pod in place and see no change at all).
    const c = await started(spec({ progressDeadlineSeconds: 0.5, autoRollback: true }), {
      failStart: (launch) => (launch.template.version === 'v2' ? 'exit code 1: cannot bind' : null),
      crashLoopBackoffMs: [20, 40],
    });
    const rollout = c.controller.rolloutTo({ version: 'v2' });
    const done = await rollout.done;
    expect(done.outcome).toBe('failed');
    expect(c.events('replica.start-failed').length, 'replaced many times: the count went up and down').toBeGreaterThanOrEqual(5);
    const rollback = await c.waitForEvent('rollback.started', 2000);
    expect(rollback).toMatchObject({ automatic: true, version: 'v1' });
    // (the first v1 rollout completed long before: only a completion after the rollback counts)
    await c.waitForEvent('rollout.completed', 5000, (e) => e.type === 'rollout.completed' && e.version === 'v1' && e.t >= rollback.t);
    await c.controller.settle(); // the last failed v2 replica may still be being forgotten
    expect(c.controller.view().replicas.map((r) => r.version)).toEqual(Array(6).fill('v1'));
  });
});

describe('the Available condition and the invariants, as observed', () => {
  it('3 replicas, maxSurge 0, maxUnavailable 25% (rounds to 0, so 1): Available stays true through the rollout', async () => {
    const c = await started(spec({ replicas: 3, maxSurge: 0, maxUnavailable: '25%' }));
    const flips: boolean[] = [];
    const watch = setInterval(() => flips.push(c.controller.view().conditions.find((x) => x.type === 'Available')!.status), 2);
    await c.controller.rolloutTo({ version: 'v2' }).done;
    clearInterval(watch);
    expect(flips.length).toBeGreaterThan(3);
    expect(flips.every(Boolean)).toBe(true);
    expect(c.events('invariant.breach')).toEqual([]);
  });

  it('a clean rollout records no breach; a replica falling over mid-rollout takes available below the floor and is recorded once', async () => {
    const clean = await started(spec());
    await clean.controller.rolloutTo({ version: 'v2' }).done;
    expect(clean.events('invariant.breach')).toEqual([]);

    const c = await started(spec());
    const rollout = c.controller.rolloutTo({ version: 'v2' });
    // As soon as the first old replica is retired (available = floor = 5), a v2 replica falls over.
    await c.waitForEvent('replica.draining', 3000, (e) => e.type === 'replica.draining' && e.version === 'v1');
    const victim = c.controller.view().replicas.find((r) => r.version === 'v1' && r.phase === 'running' && r.ready)!;
    c.notReady.add(victim.id);
    const breach = (await c.waitForEvent('invariant.breach', 3000)) as Extract<TimelineEvent, { type: 'invariant.breach' }>;
    expect(breach.invariant).toBe('min-available');
    expect(breach.detail).toMatch(/available \d < 5 \(replicas 6 − maxUnavailable 1\)/);
    expect(breach.detail).toContain(victim.id);
    c.notReady.delete(victim.id);
    expect((await rollout.done).outcome).toBe('complete');
    expect(c.events('invariant.breach'), 'one event per episode, not one per pass').toHaveLength(1);
  });

  it('outside a rollout the bounds are not judged: a readiness blip with maxUnavailable 0 is no breach', async () => {
    const c = await started(spec({ maxSurge: 1, maxUnavailable: 0 }));
    const victim = c.controller.view().replicas[0]!.id;
    c.notReady.add(victim);
    const unready = await c.waitForEvent('replica.unready', 2000);
    c.notReady.delete(victim);
    await c.waitForEvent('replica.ready', 2000, (e) => e.type === 'replica.ready' && e.replica === victim && e.t > unready.t);
    expect(c.events('invariant.breach')).toEqual([]);
  });

  it('a scale-down in the middle of a rollout moves the ceiling: the pass before the excess is retired is no breach', async () => {
    const c = await started(spec());
    const rollout = c.controller.rolloutTo({ version: 'v2' });
    await c.waitForEvent('replica.draining', 3000, (e) => e.type === 'replica.draining' && e.version === 'v1');
    c.controller.scale(2);
    await rollout.done;
    await c.controller.settle();
    expect(c.events('invariant.breach')).toEqual([]);
    expect(c.controller.view().replicas.filter((r) => r.phase === 'running').length).toBe(2);
  });

  it('a zone crash is not counted against the controller (the outage broke the bound, not a step)', async () => {
    const c = await started(spec(), { zoneFailureDetectionMs: 50 });
    await c.controller.failZone('b', 'crash');
    await c.waitForEvent('workload.recovered', 5000);
    expect(c.events('invariant.breach')).toEqual([]);
    const zones = c.controller.view().zones;
    expect(zones.find((z) => z.name === 'b')).toMatchObject({ up: false, ready: 0 });
    expect(zones.reduce((n, z) => n + z.ready, 0)).toBe(6);
  });
});
