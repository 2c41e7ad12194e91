/**
 * Test helper: the live parts of a run without the driver — replicas (process runtime,
 * sample-app), the proxy worker, the controller, the orchestrator metrics and the harness metrics
 * server — composed by the runner's own startStack, so the Prometheus session can be tested
 * in isolation from the runner and the driver.
 */
import { Counter, Registry } from 'prom-client';
import type { DeploymentController, OrchestratorMetrics, ProxyControl, Runtime } from '../../../orchestrator/index.js';
import { parseScenarioText } from '../../src/scenario/load.js';
import { resolvePlan, type RunPlan } from '../../src/scenario/resolve.js';
import { startMetricsServer, type MetricsServer } from '../../src/run/metrics-server.js';
import { closeStack, startStack as composeStack, type StackParts } from '../../src/run/stack.js';
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
  const parts: StackParts = { runtime: null, proxy: null, controller: null };
  let metricsServer: MetricsServer | null = null;
  const close = async (): Promise<void> => {
    await closeStack(parts).catch(() => undefined);
    await metricsServer?.close().catch(() => undefined);
  };
  try {
    const { runtime, proxy, controller, orchestratorMetrics } = await composeStack(plan, { runId, log, into: parts });
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
