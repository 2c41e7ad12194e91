/**
 * The controller's timers under fake time (every timer runs on the injected SchedulingClock):
 * the termination sequence (unroute after routingLag, final counters, preStop, SIGTERM with what
 * is left of the grace period), zone-failure detection after exactly zoneFailureDetectionMs, the
 * progress deadline, and the planner's notes in the log. Each stamp is asserted to the millisecond.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { delay } from '../../../common/src/clock.js';
import { DeploymentController, type ProberFactory } from '../../src/controller.js';
import type { DrainResult, FailedTryLog, ProxyControl, ProxyEndpoint, ProxyStats } from '../../src/proxy/types.js';
import { FakeRuntime } from './support/fake-runtime.js';
import type { ReplicaExit, StopOptions } from '../../src/runtime/types.js';
import type { DeploymentSpec, TerminationSpec } from '../../src/spec.js';
import type { TimelineEvent } from '../../src/timeline.js';
import { FakeClock } from './support/fake-clock.js';
import { makeSpec } from './support/fixtures.js';

interface Stamped {
  t: number;
  what: 'drain' | 'remove' | 'SIGTERM' | 'kill';
  replica: string;
  graceMs?: number;
}

class TimedRuntime extends FakeRuntime {
  constructor(
    private readonly fakeClock: FakeClock,
    private readonly stamps: Stamped[],
  ) {
    super({ clock: fakeClock });
  }
  override stop(replicaId: string, options: StopOptions): Promise<ReplicaExit> {
    this.stamps.push({ t: this.fakeClock.now(), what: 'SIGTERM', replica: replicaId, graceMs: options.graceMs });
    return super.stop(replicaId, options);
  }
  override kill(replicaId: string): Promise<ReplicaExit> {
    this.stamps.push({ t: this.fakeClock.now(), what: 'kill', replica: replicaId });
    return super.kill(replicaId);
  }
}

/** A proxy whose drain waits `drainMs` of fake time for in-flight requests. */
class TimedProxy implements ProxyControl {
  readonly url = 'http://127.0.0.1:1';
  readonly metricsUrl = null;
  drainMs = 0;
  constructor(
    private readonly clock: FakeClock,
    private readonly calls: Stamped[],
  ) {}
  async addEndpoint(_ep: ProxyEndpoint): Promise<void> {}
  async drainEndpoint(id: string): Promise<DrainResult> {
    this.calls.push({ t: this.clock.now(), what: 'drain', replica: id });
    await delay(this.drainMs, this.clock);
    return { inFlightAtRemoval: 0, drainedInMs: this.drainMs, complete: true };
  }
  async removeEndpoint(id: string): Promise<void> {
    this.calls.push({ t: this.clock.now(), what: 'remove', replica: id });
  }
  async stats(): Promise<ProxyStats> {
    throw new Error('not used by the controller');
  }
  async failedTries(): Promise<FailedTryLog> {
    return { tries: [], dropped: 0, resolutionMs: 0 };
  }
  async metrics(): Promise<string> {
    return '';
  }
  async close(): Promise<void> {}
  async destroy(): Promise<void> {}
}

interface TimedCluster {
  clock: FakeClock;
  controller: DeploymentController;
  runtime: TimedRuntime;
  proxy: TimedProxy;
  calls: Stamped[];
  logLines: string[];
  events<T extends TimelineEvent['type']>(type: T): Extract<TimelineEvent, { type: T }>[];
}

const controllers: DeploymentController[] = [];
afterEach(async () => {
  for (const c of controllers.splice(0)) await c.destroy();
});

function spec(replicas: number, termination: Partial<TerminationSpec> = {}, progressDeadlineSeconds = 60): DeploymentSpec {
  const base = makeSpec({ replicas });
  return {
    ...base,
    strategy: { ...base.strategy, progressDeadlineSeconds, autoRollback: false },
    termination: { preStopMs: 0, gracePeriodMs: 3000, routingLagMs: 0, ...termination },
  };
}

/** Starts revision 1 under fake time: every replica of a version not in `neverReady` is Ready once it runs. */
async function timedCluster(s: DeploymentSpec, neverReady: ReadonlySet<string> = new Set()): Promise<TimedCluster> {
  const clock = new FakeClock();
  const calls: Stamped[] = [];
  const logLines: string[] = [];
  const runtime = new TimedRuntime(clock, calls);
  const proxy = new TimedProxy(clock, calls);
  const prober: ProberFactory = (replica, _spec, onChange) => ({
    lastFailure: null,
    start() {
      const version = runtime.replica(replica.replicaId)?.launch.template.version ?? '';
      if (!neverReady.has(version)) queueMicrotask(() => onChange(true, 'fake probe ok'));
    },
    stop() {},
  });
  const controller = new DeploymentController({
    runId: 'fake-time',
    spec: s,
    runtime,
    proxy,
    clock,
    prober,
    zoneFailureDetectionMs: 2000,
    resyncIntervalMs: 200,
    readCounts: async () => 7,
    log: (line) => logLines.push(line),
  });
  controllers.push(controller);
  const starting = controller.start();
  await clock.advance(0);
  await starting;
  const events = <T extends TimelineEvent['type']>(type: T) => controller.timeline.filter((e): e is Extract<TimelineEvent, { type: T }> => e.type === type);
  return { clock, controller, runtime, proxy, calls, logLines, events };
}

function callsOf(c: TimedCluster, replica: string): Omit<Stamped, 'replica'>[] {
  return c.calls.filter((x) => x.replica === replica).map(({ replica: _, ...rest }) => rest);
}

describe('termination on the clock', () => {
  it('routingLag > preStop: SIGTERM at once with the whole grace period, unrouted at routingLag, final counters read then', async () => {
    const c = await timedCluster(spec(2, { routingLagMs: 500, preStopMs: 0, gracePeriodMs: 3000 }));
    const t0 = c.clock.now();
    c.controller.scale(1);
    await c.clock.advance(0);
    const [draining] = c.events('replica.draining');
    expect(draining?.t).toBe(t0);
    const id = draining?.replica ?? '';
    expect(callsOf(c, id)).toEqual([{ t: t0, what: 'SIGTERM', graceMs: 3000 }]);
    await c.clock.advance(499);
    expect(callsOf(c, id)).toHaveLength(1);
    await c.clock.advance(1);
    expect(callsOf(c, id)).toEqual([
      { t: t0, what: 'SIGTERM', graceMs: 3000 },
      { t: t0 + 500, what: 'drain' },
    ]);
    expect(c.events('replica.final-counts').map((e) => [e.replica, e.t, e.responses])).toEqual([[id, t0 + 500, 7]]);
  });

  it('routingLag ≤ preStop: drained and counted at routingLag, SIGTERM at preStop with the grace period left', async () => {
    const c = await timedCluster(spec(2, { routingLagMs: 200, preStopMs: 1000, gracePeriodMs: 3000 }));
    const t0 = c.clock.now();
    c.controller.scale(1);
    await c.clock.advance(999);
    const id = c.events('replica.draining')[0]?.replica ?? '';
    expect(callsOf(c, id)).toEqual([{ t: t0 + 200, what: 'drain' }]);
    expect(c.events('replica.final-counts').map((e) => e.t)).toEqual([t0 + 200]);
    await c.clock.advance(1);
    expect(callsOf(c, id)).toEqual([
      { t: t0 + 200, what: 'drain' },
      { t: t0 + 1000, what: 'SIGTERM', graceMs: 2000 },
    ]);
    expect(c.events('replica.terminated').map((e) => [e.replica, e.t, e.exit])).toEqual([[id, t0 + 1000, 'graceful']]);
  });

  it('a drain that outlasts the grace period holds SIGTERM back only until grace − 2 s, leaving 2 s (the preStop overrun rule)', async () => {
    const c = await timedCluster(spec(2, { routingLagMs: 0, preStopMs: 0, gracePeriodMs: 5000 }));
    c.proxy.drainMs = 60_000;
    const t0 = c.clock.now();
    c.controller.scale(1);
    await c.clock.advance(2999);
    const id = c.events('replica.draining')[0]?.replica ?? '';
    expect(callsOf(c, id)).toEqual([{ t: t0, what: 'drain' }]);
    await c.clock.advance(1);
    expect(callsOf(c, id)).toEqual([
      { t: t0, what: 'drain' },
      { t: t0 + 3000, what: 'SIGTERM', graceMs: 2000 },
    ]);
  });
});

describe('zone failure detection on the clock', () => {
  it('a crashed zone is invisible to the control plane for zoneFailureDetectionMs, then noticed and replaced at once', async () => {
    const c = await timedCluster(spec(6));
    const t1 = c.clock.now();
    await c.controller.failZone('b', 'crash');
    const lost = c.events('zone.down')[0]?.replicas ?? [];
    expect(lost).toHaveLength(2);
    const startsBefore = c.runtime.actionsOf('start').length;
    await c.clock.advance(1999);
    // Still "running and Ready" to the control plane: nothing reported, nothing replaced.
    expect(c.events('replica.unready')).toEqual([]);
    expect(c.events('replica.terminated')).toEqual([]);
    expect(c.runtime.actionsOf('start')).toHaveLength(startsBefore);
    await c.clock.advance(1);
    expect(c.events('replica.unready').map((e) => [e.replica, e.t])).toEqual(lost.map((id) => [id, t1 + 2000]));
    expect(c.events('replica.terminated').map((e) => e.replica)).toEqual(lost);
    const replacements = c.runtime.actionsOf('start').slice(startsBefore);
    expect(replacements.map((s) => s.zone).sort()).toEqual(['a', 'c']);
    expect(c.events('workload.recovered').map((e) => e.afterMs)).toEqual([2000]);
  });

  it('a hung zone recovered before detection resumes its replicas: nothing is replaced, nothing killed', async () => {
    const c = await timedCluster(spec(6));
    await c.controller.failZone('b', 'hang');
    await c.clock.advance(1500);
    await c.controller.recoverZone('b');
    await c.clock.advance(5000);
    expect(c.runtime.actionsOf('resume')).toHaveLength(2);
    expect(c.runtime.actionsOf('start')).toHaveLength(6);
    expect(c.calls.filter((x) => x.what === 'kill')).toEqual([]);
    expect(c.events('replica.unready')).toEqual([]);
  });
});

describe('the planner, used as it is', () => {
  it('the progress deadline is the planner’s: a never-Ready version fails on the first pass past it, not before', async () => {
    const c = await timedCluster(spec(3, {}, 2), new Set(['v2']));
    const handle = c.controller.rolloutTo({ version: 'v2' });
    const t0 = c.clock.now();
    await c.clock.advance(2000);
    expect(c.events('rollout.failed')).toEqual([]);
    await c.clock.advance(200); // the next resync pass
    const [failed] = c.events('rollout.failed');
    expect(failed?.t).toBe(t0 + 2200);
    expect(failed?.reason).toMatch(/^ProgressDeadlineExceeded: no progress for 2s/);
    expect((await handle.done).outcome).toBe('failed');
  });

  it('the planner’s notes reach the log once per change, not once per pass', async () => {
    const c = await timedCluster(spec(3));
    for (const zone of ['a', 'b', 'c']) await c.controller.failZone(zone, 'crash');
    await c.clock.advance(5000); // 25 resync passes; the zones are noticed one after the other at 2 s
    const notes = c.logLines.filter((l) => l.startsWith('planner: '));
    expect(notes).toEqual([1, 2, 3].map((n) => `planner: no zone is up: ${n} replica(s) of revision 1 cannot be placed`));
  });
});
