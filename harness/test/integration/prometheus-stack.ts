/**
 * Test helper: the live parts of a run without the driver — replicas (process runtime,
 * sample-app), the proxy worker, the controller, the orchestrator metrics and the harness metrics
 * server — composed by the runner's own startStack, so the Prometheus session can be tested
 * in isolation from the runner and the driver.
 */
import type { DeploymentController, OrchestratorMetrics, ProxyControl, Runtime } from '../../../orchestrator/index.js';
import { parseScenarioText } from '../../src/scenario/load.js';
import { resolvePlan, type RunPlan } from '../../src/scenario/resolve.js';
import { startMetricsServer, type MetricsServer } from '../../src/run/metrics-server.js';
import { closeStack, startStack as composeStack, type StackParts } from '../../src/run/stack.js';

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
