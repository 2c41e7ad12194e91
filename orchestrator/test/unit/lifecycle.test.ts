/**
 * The Pod lifecycle in the real reconcile loop (fake runtime and proxy): the preStop hook runs
 * before the stop signal, the signal is the template's, and a failing hook is recorded on the
 * timeline while the termination goes on (the kubelet's rule).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecResult, PodLifecycle } from '../../src/lifecycle/types.js';
import type { StopOptions } from '../../src/runtime/types.js';
import type { DeploymentSpec } from '../../src/spec.js';
import { fakeCluster, type FakeCluster } from './support/fake-cluster.js';
import { makeSpec } from './support/fixtures.js';

const clusters: FakeCluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.controller.destroy();
});

function specWith(lifecycle: PodLifecycle): DeploymentSpec {
  const base = makeSpec({ replicas: 2, zones: ['a', 'b'] });
  return { ...base, template: { ...base.template, lifecycle }, termination: { preStopMs: 0, gracePeriodMs: 3000, routingLagMs: 0 } };
}

async function scaledDownOnce(lifecycle: PodLifecycle, hookExit: number): Promise<{ c: FakeCluster; order: string[]; signals: (string | undefined)[] }> {
  const c = fakeCluster(specWith(lifecycle));
  clusters.push(c);
  const order: string[] = [];
  const signals: (string | undefined)[] = [];
  const runtime = c.runtime as typeof c.runtime & { exec?: (id: string, cmd: string[], ms: number) => Promise<ExecResult> };
  runtime.exec = async (id, cmd) => {
    order.push(`exec ${id} ${cmd.join(' ')}`);
    return { exitCode: hookExit, timedOut: false, stderrTail: hookExit ? ['drain refused'] : [], error: null, durationMs: 1 };
  };
  const stop = runtime.stop.bind(runtime);
  runtime.stop = (id: string, o: StopOptions) => {
    order.push(`stop ${id}`);
    signals.push(o.signal);
    return stop(id, o);
  };
  await c.controller.start();
  c.controller.scale(1);
  await c.waitForEvent('replica.terminated');
  return { c, order, signals };
}

describe('Pod lifecycle in the controller', () => {
  it("preStop exec runs before the stop signal, and the signal is the template's", async () => {
    const { c, order, signals } = await scaledDownOnce(
      { stopSignal: 'SIGQUIT', preStop: { kind: 'exec', command: ['nginx', '-s', 'quit'] }, startupProbe: null },
      0,
    );
    expect(order).toHaveLength(2);
    expect(order[0]).toMatch(/^exec \S+ nginx -s quit$/);
    expect(order[1]).toMatch(/^stop /);
    expect(signals).toEqual(['SIGQUIT']);
    const hook = c.events('replica.pre-stop')[0];
    expect(hook).toMatchObject({ type: 'replica.pre-stop', ok: true });
  });

  it('a failing hook is on the timeline with its stderr, and the replica is stopped anyway', async () => {
    const { c, order, signals } = await scaledDownOnce({ stopSignal: 'SIGTERM', preStop: { kind: 'exec', command: ['drain'] }, startupProbe: null }, 2);
    expect(order.map((o) => o.split(' ')[0])).toEqual(['exec', 'stop']);
    expect(signals).toEqual(['SIGTERM']);
    const hook = c.events('replica.pre-stop')[0];
    expect(hook).toMatchObject({ ok: false });
    expect(hook?.type === 'replica.pre-stop' ? hook.detail : '').toMatch(/exec drain: exit 2 .*stderr: drain refused/);
  });
});

describe('startup probe', () => {
  const probe = { path: '/started', periodMs: 20, timeoutMs: 200, successThreshold: 1, failureThreshold: 4, initialDelayMs: 0 };

  async function serving(okAfter: number): Promise<{ port: number; close: () => Promise<void> }> {
    const { createServer } = await import('node:http');
    let n = 0;
    const server = createServer((_q, r) => {
      r.statusCode = ++n > okAfter ? 200 : 503;
      r.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  it('holds readiness probing until it succeeds, then hands over', async () => {
    const { StartupGate } = await import('../../src/lifecycle/startup-probe.js');
    const s = await serving(2);
    let started = false;
    const failed: string[] = [];
    const gate = new StartupGate(
      { host: '127.0.0.1', port: s.port },
      probe,
      () => ({ start: () => void (started = true), stop: () => undefined, lastFailure: null }),
      (r) => failed.push(r),
    );
    gate.start();
    await new Promise((r) => setTimeout(r, 400));
    gate.stop();
    await s.close();
    expect(started).toBe(true);
    expect(failed).toEqual([]);
  });

  it('fails the start after failureThreshold failures in a row; readiness is never probed', async () => {
    const { StartupGate } = await import('../../src/lifecycle/startup-probe.js');
    const s = await serving(1_000);
    let started = false;
    const failed: string[] = [];
    const gate = new StartupGate(
      { host: '127.0.0.1', port: s.port },
      probe,
      () => ({ start: () => void (started = true), stop: () => undefined, lastFailure: null }),
      (r) => failed.push(r),
    );
    gate.start();
    await new Promise((r) => setTimeout(r, 400));
    gate.stop();
    await s.close();
    expect(started).toBe(false);
    expect(failed).toEqual(['startup probe /started failed 4× (HTTP 503)']);
  });
});
