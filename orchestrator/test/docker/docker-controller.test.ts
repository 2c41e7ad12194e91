/**
 * The orchestrator end to end on docker: DeploymentController + DockerRuntime + the service proxy,
 * 3 replicas over 3 zones, under open-model load (a few hundred req/s): start, rollout v1→v2,
 * crash a zone, recover it, hang a zone (docker pause), recover it. Not one request may fail.
 * A smoke test of the real-container path; the harness's driver-based proof runs on top of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { startOpenEngine } from '../../../harness/src/driver/open.js';
import { countByOutcome, failures, servedByReplica } from '../../../harness/src/driver/analysis.js';
import type { DriverConfig } from '../../../harness/src/driver/types.js';
import { DeploymentController, type ControllerView } from '../../src/controller.js';
import { proxyConfig } from '../../src/proxy/config.js';
import { startServiceProxy, type ServiceProxy } from '../../src/proxy/proxy.js';
import { readTrafficResponses } from '../../src/replica-counters.js';
import { DockerRuntime } from '../../src/runtime/docker.js';
import { ensureSampleAppImage } from '../../src/runtime/docker-image.js';
import { DEFAULT_STRATEGY, type DeploymentSpec } from '../../src/spec.js';
import { containersOfRun, probeEngine, removeRuns, sampleAppTemplate, testRunId } from './support.js';

const engine = await probeEngine();
const docker = new Docker();
const runId = testRunId('e2e');
const RATE = 300;

describe.skipIf(!engine.ok)(`orchestrator on docker, end to end (${engine.reason})`, () => {
  let runtime: DockerRuntime;
  let proxy: ServiceProxy | null = null;
  let controller: DeploymentController | null = null;
  const log: string[] = [];

  beforeAll(async () => {
    await ensureSampleAppImage(docker);
  });

  afterAll(async () => {
    await controller?.destroy().catch(() => undefined);
    await runtime?.destroy().catch(() => undefined);
    await proxy?.destroy().catch(() => undefined);
    await removeRuns(docker, [runId]);
    if (log.length > 0) console.info(log.slice(-30).join('\n'));
  });

  it('start, rollout v2, crash zone b, recover, hang zone c, recover — 0 failed requests', async () => {
    // Probes sized for a shared 2-core machine (a probe timing out under a neighbour's load test
    // would flap readiness and empty the endpoint set, which is not what this test is about).
    const template = { ...sampleAppTemplate('v1'), readiness: { ...sampleAppTemplate('v1').readiness, periodMs: 500, timeoutMs: 2000, failureThreshold: 3 } };
    // The contract's timing (the scenario defaults): keep serving 1.5 s after SIGTERM, well past the routing lag.
    template.command = ['--host', '0.0.0.0', '--port', '8080', '--admin-port', '9091', '--drain-delay-ms', '1500', '--drain-timeout-ms', '4000'];
    const spec: DeploymentSpec = {
      name: 'web',
      replicas: 3,
      zones: ['a', 'b', 'c'],
      template,
      strategy: { ...DEFAULT_STRATEGY, maxSurge: 1, maxUnavailable: 0, progressDeadlineSeconds: 60 },
      termination: { preStopMs: 0, gracePeriodMs: 5000, routingLagMs: 500 },
      resources: { memoryMiB: 256, cpus: 0 },
      revisionHistoryLimit: 3,
    };
    runtime = new DockerRuntime({ log: (l) => log.push(l) });
    proxy = await startServiceProxy(proxyConfig(runId, { healthCheck: { path: '/healthz' } }));
    controller = new DeploymentController({
      runId,
      spec,
      runtime,
      proxy,
      zoneFailureDetectionMs: 2000,
      readCounts: readTrafficResponses,
      log: (l) => log.push(l),
    });
    const c = controller;
    const t0 = performance.now();
    await c.start();
    const startMs = performance.now() - t0;
    expect(c.view().status.availableReplicas).toBe(3);
    expect((await containersOfRun(docker, runId)).length).toBe(3);

    const config: DriverConfig = {
      engine: 'open',
      url: proxy.url,
      runId,
      rate: RATE,
      connections: 64,
      durationMs: 150_000,
      warmupMs: 0,
      timeoutMs: 10_000,
      requests: [{ method: 'GET', path: '/', headers: {}, body: null, weight: 1 }],
      maxLateMs: 2000,
    };
    const load = startOpenEngine(config);
    const marks: Record<string, number> = {};
    const mark = (what: string): void => void (marks[what] = Math.round(performance.now() - t0));
    // Full strength without `zone`: 3 ready replicas of `version` in the other zones, nothing rolling.
    const fullWithout = (v: ControllerView, zone: string | null, version: string): boolean =>
      !v.rolloutInProgress &&
      v.zones.filter((z) => z.name !== zone).reduce((n, z) => n + z.ready, 0) === 3 &&
      v.replicas.filter((r) => r.zone !== zone && r.ready).every((r) => r.version === version);
    try {
      await sleep(2000);
      mark('rollout');
      const rollout = c.rolloutTo({ version: 'v2' });
      const outcome = await rollout.done;
      expect(outcome.outcome).toBe('complete');
      mark('rollout done');
      await sleep(1500);

      mark('crash b');
      await c.failZone('b', 'crash');
      await c.waitFor((v) => fullWithout(v, 'b', 'v2'), 40_000, 'rescheduling off zone b');
      mark('rescheduled off b');
      await c.recoverZone('b');
      await c.waitFor((v) => fullWithout(v, null, 'v2'), 30_000, 'full strength after zone b recovered');
      mark('recovered b');
      await sleep(1000);

      mark('hang c');
      await c.failZone('c', 'hang');
      await c.waitFor((v) => fullWithout(v, 'c', 'v2'), 40_000, 'rescheduling off zone c');
      mark('rescheduled off c');
      await c.recoverZone('c');
      await c.waitFor((v) => fullWithout(v, null, 'v2'), 30_000, 'full strength after zone c recovered');
      mark('recovered c');
      await sleep(1000);
      mark('end');
    } finally {
      load.stop();
    }
    const { ledger: rows, summary } = await load.done;
    const ledger = rows.toData();
    const counts = countByOutcome(ledger);
    const stats = await proxy.stats();
    console.info(
      `[docker e2e] deployment ready in ${Math.round(startMs)} ms; marks ${JSON.stringify(marks)}; ` +
        `sent ${counts.sent}, ok ${counts.ok}, retried ${counts.retried}; by outcome ${JSON.stringify(counts.byOutcome)}; ` +
        `served by ${JSON.stringify(servedByReplica(ledger))}; proxy retries ${JSON.stringify(stats.retries)}, saved by retry ${stats.savedByRetry}`,
    );
    if (counts.failed > 0) {
      const f = failures(ledger, 5);
      const first = f.sample.map((r) => ({ ...r, atMs: Math.round(r.intendedMs - t0) }));
      console.info(`[docker e2e] failures by status ${JSON.stringify(f.byStatus)} by replica ${JSON.stringify(f.byReplica)}; first ${JSON.stringify(first)}`);
      console.info(c.timeline.map((e) => `${Math.round(e.t - t0)} ${JSON.stringify(e)}`).join('\n'));
    }
    expect(counts.sent).toBe(summary.sent);
    expect(counts.sent).toBeGreaterThan(RATE * 10);
    expect(counts.failed, `failed requests: ${JSON.stringify(counts.byOutcome)}`).toBe(0);
    expect(counts.abandoned).toBe(0);
    expect(counts.ok).toBe(counts.sent);

    const events = c.timeline.map((e) => e.type);
    expect(events).toContain('zone.down');
    expect(events).toContain('zone.up');

    await c.close();
    controller = null;
    await runtime.close(2000);
    await proxy.close();
    proxy = null;
    expect(await containersOfRun(docker, runId)).toEqual([]);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
