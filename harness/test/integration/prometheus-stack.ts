/**
 * Test helper: the live parts of a run without the driver — replicas (process runtime,
 * sample-app), the proxy worker, the controller, the orchestrator metrics and the harness metrics
 * server — wired as runner.ts wires them (steps 1 and 2), so the Prometheus session can be tested
 * in isolation from the runner and the driver.
 */
import { Counter, Registry } from 'prom-client';
import { DeploymentController } from '../../../orchestrator/src/controller.js';
import { OrchestratorMetrics } from '../../../orchestrator/src/metrics.js';
import { startProxyWorker } from '../../../orchestrator/src/proxy/index.js';
import type { ProxyControl } from '../../../orchestrator/src/proxy/types.js';
import { readTrafficResponses } from '../../../orchestrator/src/replica-counters.js';
import { createRuntime } from '../../../orchestrator/src/runtime/select.js';
import type { Runtime } from '../../../orchestrator/src/runtime/types.js';
import { parseScenarioText } from '../../src/scenario/load.js';
import { resolvePlan, type RunPlan } from '../../src/scenario/resolve.js';
import { startMetricsServer, type MetricsServer } from '../../src/run/metrics-server.js';
import type { LoadResult } from '../../../test/helpers/http-load.js';

export interface Stack {
  runId: string;
  plan: RunPlan;
  runtime: Runtime;
  proxy: ProxyControl;
  controller: DeploymentController;
  orchestratorMetrics: OrchestratorMetrics;
  metricsServer: MetricsServer;
  logs: string[];
  close(): Promise<void>;
}

export async function startStack(scenarioYaml: string, runId: string): Promise<Stack> {
  const plan = resolvePlan(parseScenarioText(scenarioYaml));
  const logs: string[] = [];
  const log = (l: string): void => void logs.push(l);
  const runtime = createRuntime(plan.runtime, { runId, log });
  let proxy: ProxyControl | null = null;
  let controller: DeploymentController | null = null;
  let metricsServer: MetricsServer | null = null;
  const close = async (): Promise<void> => {
    await controller?.close().catch(() => undefined);
    if (!controller) await runtime.destroy().catch(() => undefined);
    await proxy?.close().catch(() => undefined);
    await metricsServer?.close().catch(() => undefined);
  };
  try {
    proxy = await startProxyWorker({ ...plan.proxy, runId });
    controller = new DeploymentController({
      runId,
      spec: plan.deployment,
      runtime,
      proxy,
      zoneFailureDetectionMs: plan.zoneFailureDetectionMs,
      readCounts: readTrafficResponses,
      log,
    });
    const orchestratorMetrics = new OrchestratorMetrics(controller, runId, 'test');
    await controller.start();
    metricsServer = await startMetricsServer();
    metricsServer.add('orchestrator', () => orchestratorMetrics.metrics());
    return { runId, plan, runtime, proxy, controller, orchestratorMetrics, metricsServer, logs, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * A stand-in for the driver's registry, fed from a raw load client with exact counts (the real
 * driver is tested end to end elsewhere): sent and responses by code, labelled run_id.
 */
export function fakeDriverMetrics(runId: string): { registry: Registry; record(r: Pick<LoadResult, 'written' | 'byStatus'>): void } {
  const registry = new Registry();
  registry.setDefaultLabels({ run_id: runId });
  const sent = new Counter({ name: 'zerodrop_driver_requests_sent_total', help: 'Requests written.', registers: [registry] });
  const responses = new Counter({ name: 'zerodrop_driver_responses_total', help: 'Responses by code.', labelNames: ['code'], registers: [registry] });
  sent.inc(0);
  return {
    registry,
    record(r) {
      sent.inc(r.written);
      for (const [code, n] of Object.entries(r.byStatus)) responses.inc({ code }, n);
    },
  };
}
