/**
 * The composition root (docs/architecture.md, "The data path"): a plan becomes a runtime, a data plane
 * and a Deployment controller wired to both, with the orchestrator's metrics. `zerodrop run`,
 * `zerodrop up` and the tests build their stack here and nowhere else.
 *
 * The parts are assigned to `into` as each one starts, so a caller that is interrupted half-way (or
 * whose start fails) can tear down exactly what exists. The replicas are not started here:
 * `stack.controller.start()` is the caller's, because the runner makes it abortable.
 */
import { createRuntime, DeploymentController, OrchestratorMetrics, readTrafficResponses, startDataPlane, type ProxyControl, type Runtime } from '../../../orchestrator/index.js';
import { toolVersion } from '../paths.js';
import { imagesOf, type RunPlan } from '../scenario/resolve.js';

export interface Stack {
  runtime: Runtime;
  proxy: ProxyControl;
  controller: DeploymentController;
  orchestratorMetrics: OrchestratorMetrics;
}

/** What has started so far; every field is set the moment its part exists. */
export interface StackParts {
  runtime: Runtime | null;
  proxy: ProxyControl | null;
  controller: DeploymentController | null;
}

export interface StackOptions {
  runId: string;
  log: (line: string) => void;
  /** Where the parts are recorded as they start (default: a fresh holder). */
  into?: StackParts;
}

export async function startStack(plan: RunPlan, options: StackOptions): Promise<Stack> {
  const { runId, log } = options;
  const parts: StackParts = options.into ?? { runtime: null, proxy: null, controller: null };
  const runtime = createRuntime(plan.runtime, { runId, log, images: imagesOf(plan) });
  parts.runtime = runtime;
  // Not abortable: a data plane abandoned half-started could not be closed. It takes milliseconds.
  const proxy = await startDataPlane(plan.dataPlane, { ...plan.proxy, runId });
  parts.proxy = proxy;
  const controller = new DeploymentController({
    runId,
    spec: plan.deployment,
    runtime,
    proxy,
    zoneFailureDetectionMs: plan.zoneFailureDetectionMs,
    readCounts: readTrafficResponses,
    log,
  });
  parts.controller = controller;
  return { runtime, proxy, controller, orchestratorMetrics: new OrchestratorMetrics(controller, runId, toolVersion()) };
}

/** Drains the replicas, then closes the data plane; for a stack whose parts may be half-started. */
export async function closeStack(parts: StackParts): Promise<void> {
  try {
    if (parts.controller) await parts.controller.close();
    else if (parts.runtime) await parts.runtime.destroy();
  } finally {
    if (parts.proxy) await parts.proxy.close();
  }
}

/** Kills everything now. */
export async function destroyStack(parts: StackParts): Promise<void> {
  await Promise.allSettled([parts.controller ? parts.controller.destroy() : parts.runtime?.destroy(), parts.proxy?.destroy()]);
}
