/**
 * A run interrupted before its load started still gets a report: the verifier over an empty
 * ledger, marked incomplete, INVALID (exit 3), and every report file renders with 0 requests.
 * (The CLI end of it, SIGINT while replicas start, is in test/integration/cli.test.ts.)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeploymentController } from '../../../orchestrator/src/controller.js';
import { emptyProxyStats, type ProxyControl, type ProxyStats } from '../../../orchestrator/src/proxy/types.js';
import { FakeRuntime } from '../../../orchestrator/test/unit/support/fake-runtime.js';
import { writeReports } from '../../src/report/index.js';
import { interruptedBeforeLoad } from '../../src/run/runner.js';
import { parseScenarioText } from '../../src/scenario/load.js';
import { resolvePlan } from '../../src/scenario/resolve.js';

const NO_TRAFFIC: ProxyStats = emptyProxyStats();

/** The controller is only read (timeline, replicas, view): a never-started one with fakes will do. */
function idleController(plan: ReturnType<typeof resolvePlan>): DeploymentController {
  const proxy = { url: 'http://127.0.0.1:1', metricsUrl: null } as unknown as ProxyControl;
  return new DeploymentController({ runId: 'r', spec: plan.deployment, runtime: new FakeRuntime(), proxy, zoneFailureDetectionMs: 2000 });
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zd-interrupted-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('interrupted before the load', () => {
  it('is INVALID (exit 3), incomplete, 0 sent, says where it stopped, and every report renders', async () => {
    const plan = resolvePlan(
      parseScenarioText('name: sigint\nload: { rate: 500, duration: 10s, warmup: 1s }\ntimeline:\n  - { at: 3s, action: rollout, version: v2 }'),
      { outDir: dir },
    );
    const { result } = interruptedBeforeLoad({
      plan,
      runId: 'sigint-1',
      command: 'vitest',
      startedAt: new Date(),
      controller: idleController(plan),
      proxyStats: NO_TRAFFIC,
      stage: 'starting the replicas',
    });
    expect(result.verdict).toBe('INVALID');
    expect(result.exitCode).toBe(3);
    expect(result.run.complete).toBe(false);
    expect(result.run.incompleteReason).toContain('while starting the replicas, before the load started');
    expect(result.headline).toMatch(/^INVALID: interrupted/);
    expect(result.load.sent).toBe(0);
    expect(result.failures.total).toBe(0);
    expect(result.checks.find((c) => c.id === 'load.complete')?.status).toBe('invalid');
    // No check may FAIL just because nothing ran.
    expect(result.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual([]);

    const written = await writeReports(join(dir, 'sigint-1'), result, { failedRequests: [], env: {} });
    expect(written.result.verdict).toBe('INVALID');
    expect(await readFile(join(dir, 'sigint-1', 'report.md'), 'utf8')).toMatch(/incomplete/i);
    const json = JSON.parse(await readFile(join(dir, 'sigint-1', 'result.json'), 'utf8')) as { run: { complete: boolean } };
    expect(json.run.complete).toBe(false);
  });
});
