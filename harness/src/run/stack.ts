/**
 * The composition root (docs/architecture.md, "The data path"): a plan becomes a runtime, a data plane
 * and a Deployment controller wired to both, with the orchestrator's metrics. `zerodrop run`,
 * `zerodrop up` and the tests build their stack here and nowhere else.
 *
 * The parts are assigned to `into` as each one starts, so a caller that is interrupted half-way (or
 * whose start fails) can tear down exactly what exists. The replicas are not started here:
 * `stack.controller.start()` is the caller's, because the runner makes it abortable.
 */
import {
  applyHarnessPriority,
  restoreHarnessPriority,
  createRuntime,
  DeploymentController,
  parseCpuPriorities,
  OrchestratorMetrics,
  readTrafficResponses,
  startDataPlane,
  type ProxyControl,
  type Runtime,
} from '../../../orchestrator/index.js';
import type { RunVolume } from '../../../orchestrator/index.js';
import { CPU_PRIORITIES_ENV } from '../../../common/src/session.js';
import { toolVersion } from '../paths.js';
import type { SecretsSession } from './secrets.js';
import { imagesOf, type RunPlan } from '../scenario/resolve.js';

/** The CPU priorities a run used (result.json run.cpuPriorities; orchestrator/src/runtime/priorities.ts). */
export interface RunCpuPriorities {
  /** Nice value of the harness process (driver, Node proxy) and of the data plane it spawns; null: unchanged. */
  harness: number | null;
  /** Nice values of a booting replica (spawn → first Ready) and of a serving one; null: unchanged. */
  booting: number | null;
  serving: number | null;
  /** Why some were not applied, or null. */
  note: string | null;
  /**
   * Whose autogroup the harness ranked in: 'own' (it led its session, the CLI's way, and set the
   * autogroup to `harness`) or 'shared' (the caller's session, left alone: replicas and containers
   * were ranked below it instead). Absent without autogroups or priorities.
   */
  session?: 'own' | 'shared';
}

export interface Stack {
  runtime: Runtime;
  cpuPriorities: RunCpuPriorities;
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
  /** deployment.volume and deployment.secrets (issue 16): the runtime mounts them, the template gets the secret's env. */
  state?: { volume?: RunVolume; secrets?: SecretsSession };
}

export async function startStack(plan: RunPlan, options: StackOptions): Promise<Stack> {
  const { runId, log } = options;
  const parts: StackParts = options.into ?? { runtime: null, proxy: null, controller: null };
  const mount = options.state?.secrets?.mount();
  // Before the data plane starts, so HAProxy inherits the harness's nice value. On unless opted out (priorities.ts).
  const prio = applyHarnessPriority(parseCpuPriorities(process.env[CPU_PRIORITIES_ENV]));
  const replicaPrio = plan.runtime === 'process' ? prio.applied : null;
  const cpuPriorities: RunCpuPriorities = {
    harness: prio.applied?.harness ?? null,
    booting: replicaPrio?.booting ?? null,
    serving: replicaPrio?.serving ?? null,
    note: prio.notApplied ?? (replicaPrio === null ? `${plan.runtime} runtime: containers rank by cpu.shares, below the harness (runtime choices)` : null),
    ...(prio.session ? { session: prio.session } : {}),
  };
  // Not permitted (no CAP_SYS_NICE) is recorded in result.json and the report, not logged: nothing else changes.
  const runtime = createRuntime(plan.runtime, {
    runId,
    log,
    images: imagesOf(plan),
    ...(options.state?.volume ? { volume: options.state.volume } : {}),
    ...(mount ? { secrets: mount } : {}),
    ...(prio.applied ? { priorities: prio.applied } : {}),
  });
  parts.runtime = runtime;
  // Not abortable: a data plane abandoned half-started could not be closed. It takes milliseconds.
  const proxy = await startDataPlane(plan.dataPlane, { ...plan.proxy, runId });
  parts.proxy = proxy;
  const controller = new DeploymentController({
    runId,
    spec: options.state?.secrets
      ? { ...plan.deployment, template: { ...plan.deployment.template, env: options.state.secrets.templateEnv() } }
      : plan.deployment,
    runtime,
    proxy,
    zoneFailureDetectionMs: plan.zoneFailureDetectionMs,
    readCounts: readTrafficResponses,
    log,
  });
  parts.controller = controller;
  return { runtime, cpuPriorities, proxy, controller, orchestratorMetrics: new OrchestratorMetrics(controller, runId, toolVersion()) };
}

/** Drains the replicas, then closes the data plane; for a stack whose parts may be half-started. */
export async function closeStack(parts: StackParts): Promise<void> {
  try {
    if (parts.controller) await parts.controller.close();
    else if (parts.runtime) await parts.runtime.destroy();
  } finally {
    if (parts.proxy) await parts.proxy.close();
    restoreHarnessPriority();
  }
}

/** Kills everything now. */
export async function destroyStack(parts: StackParts): Promise<void> {
  await Promise.allSettled([parts.controller ? parts.controller.destroy() : parts.runtime?.destroy(), parts.proxy?.destroy()]);
}
