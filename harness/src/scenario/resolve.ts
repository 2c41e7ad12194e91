/**
 * config → plan (the k6 habit): a validated scenario plus CLI overrides becomes a RunPlan of
 * fully-resolved parts (deployment spec, proxy config, driver config, timed actions, thresholds).
 * Nothing here touches a process or a socket; `describePlan` prints it before anything starts.
 */
import { ZerodropError } from '../../../common/src/errors.js';
import { type DataPlaneEngine, type DataPlaneOptions, type RuntimeName, DEFAULT_PROXY_CONFIG, type DeploymentSpec, HAPROXY_HEALTH_CHECK_DEFAULTS, HAPROXY_MAX_ATTEMPTS_DEFAULT, type IntOrPercent, type PodTemplate, type ProxyConfig, SAMPLE_APP_ADMIN_CONTAINER_PORT, SAMPLE_APP_CONTAINER_PORT, SAMPLE_APP_IMAGE } from '../../../orchestrator/index.js';
import { idModeFor } from '../../../orchestrator/index.js';
import type { DriverConfig } from '../driver/types.js';
import { actionOf, type PlannedStep } from '../timeline/registry.js';
import { applyLifecycleFields, podLifecycleOf } from './lifecycle.js';
import { sampleAppEntry } from '../paths.js';
import { formatDuration } from './duration.js';
import { crossFieldProblems, formatPath, type LoadedScenario } from './load.js';
import type { Scenario, TimelineAction } from './schema.js';

export interface CliOverrides {
  rate?: number;
  durationMs?: number;
  connections?: number;
  engine?: 'open' | 'autocannon';
  runtime?: RuntimeName;
  /** sample-app negative-control switches for every version (--app-fault). */
  appFaults?: string[];
  /** --no-retries: the proxy never retries (negative controls). */
  noRetries?: boolean;
  /** --proxy: the data plane (node | haproxy). */
  proxyEngine?: DataPlaneEngine;
  prometheus?: string;
  outDir?: string;
}

/** A timeline step, planned by its action (harness/src/timeline/registry.ts). */
export type { PlannedStep };

export interface RunPlan {
  scenario: Scenario;
  file: string | null;
  sha256: string | null;
  runtime: RuntimeName;
  deployment: DeploymentSpec;
  zoneFailureDetectionMs: number;
  proxy: Omit<ProxyConfig, 'runId'>;
  /** Which data plane carries proxy (orchestrator/src/proxy/select.ts). */
  dataPlane: DataPlaneOptions;
  driver: Omit<DriverConfig, 'url' | 'runId'>;
  steps: PlannedStep[];
  thresholds: Scenario['thresholds'];
  prometheus: 'auto' | 'off' | { url: string };
  outDir: string;
  /** sample-app faults applied to every version. */
  appFaults: string[];
  /** Target mode: the URL of a deployment zerodrop does not start (null: zerodrop runs it). */
  targetUrl: string | null;
}


export function applyOverrides(loaded: LoadedScenario, o: CliOverrides): Scenario {
  const s: Scenario = structuredClone(loaded.scenario);
  applyLifecycleFields(s);
  if (o.rate !== undefined) s.load.rate = o.rate;
  if (o.durationMs !== undefined) {
    // Keep the scenario's shape: timeline steps scale with the duration.
    const factor = o.durationMs / s.load.duration;
    s.timeline = s.timeline.map((step) => ({ ...step, at: Math.round(step.at * factor) }));
    s.load.warmup = Math.min(Math.round(s.load.warmup * factor), Math.round(o.durationMs / 4));
    if (s.load.rampUp !== undefined) s.load.rampUp = Math.min(Math.round(s.load.rampUp * factor), s.load.warmup);
    s.load.duration = o.durationMs;
  }
  if (o.connections !== undefined) s.load.connections = o.connections;
  if (o.engine !== undefined) s.load.engine = o.engine;
  if (o.runtime !== undefined) s.runtime = o.runtime;
  if (o.appFaults && o.appFaults.length > 0) s.target.appFaults = [...s.target.appFaults, ...o.appFaults];
  if (o.noRetries) s.proxy.retries = false;
  if (o.proxyEngine !== undefined) s.proxy.engine = o.proxyEngine;
  if (o.prometheus !== undefined) s.prometheus = o.prometheus;
  if (o.outDir !== undefined) s.outputs.dir = o.outDir;
  const problems = crossFieldProblems(s);
  if (problems.length > 0) {
    throw new ZerodropError('ZD_BAD_USAGE', `the command-line options conflict with ${loaded.file ?? 'the scenario'}`, {
      details: problems.map((p) => `${formatPath(p.path)}: ${p.message}${p.fix ? `\n      fix: ${p.fix}` : ''}`),
      fix: 'adjust the options (e.g. a --duration longer than every timeline step)',
    });
  }
  return s;
}

export function resolvePlan(loaded: LoadedScenario, overrides: CliOverrides = {}): RunPlan {
  const s = applyOverrides(loaded, overrides);
  const d = s.deployment;
  const template = baseTemplate(s);
  const deployment: DeploymentSpec = {
    name: d.name,
    replicas: d.replicas,
    zones: d.zones,
    template,
    strategy: {
      maxSurge: d.strategy.maxSurge as IntOrPercent,
      maxUnavailable: d.strategy.maxUnavailable as IntOrPercent,
      minReadySeconds: d.strategy.minReadySeconds,
      progressDeadlineSeconds: d.strategy.progressDeadlineSeconds,
      autoRollback: d.strategy.autoRollback,
    },
    termination: {
      preStopMs: d.termination.preStop,
      gracePeriodMs: d.termination.gracePeriod,
      routingLagMs: d.termination.routingLag,
    },
    resources: { memoryMiB: d.resources.memoryMiB, cpus: d.resources.cpus },
    revisionHistoryLimit: d.revisionHistoryLimit,
  };
  const p = s.proxy;
  const hcDefaults = p.engine === 'haproxy' ? HAPROXY_HEALTH_CHECK_DEFAULTS : DEFAULT_PROXY_CONFIG.healthCheck;
  const proxy: Omit<ProxyConfig, 'runId'> = {
    host: '127.0.0.1',
    port: p.port,
    retries: {
      enabled: p.retries,
      maxAttempts: p.maxAttempts ?? (p.engine === 'haproxy' ? HAPROXY_MAX_ATTEMPTS_DEFAULT : DEFAULT_PROXY_CONFIG.retries.maxAttempts),
      perTryTimeoutMs: p.perTryTimeout,
      budgetRatio: p.retryBudget.ratio,
      budgetMinConcurrency: p.retryBudget.minConcurrency,
    },
    healthCheck: {
      path: s.target.livenessPath,
      intervalMs: p.healthCheck.interval,
      timeoutMs: p.healthCheck.timeout ?? hcDefaults.timeoutMs,
      unhealthyThreshold: p.healthCheck.unhealthyThreshold ?? hcDefaults.unhealthyThreshold,
      healthyThreshold: p.healthCheck.healthyThreshold,
    },
    ejection: {
      consecutiveFailures: p.ejection.consecutiveFailures,
      minEjectionMs: p.ejection.minEjection,
      zoneEjectionThreshold: p.ejection.zoneThreshold,
      zoneWindowMs: p.ejection.zoneWindow,
    },
    upstream: {
      client: p.upstream.client,
      connectionsPerReplica: p.upstream.connectionsPerReplica,
      pipelining: p.upstream.pipelining,
      keepAliveTimeoutMs: p.upstream.keepAliveTimeout,
      connectTimeoutMs: p.upstream.connectTimeout,
    },
    maxBodyBytes: 1024 * 1024,
    metricsPort: 0,
    ...(p.slowStart > 0 ? { slowStartMs: p.slowStart } : {}),
    ids: idModeFor(s.target.echoesId),
  };
  const l = s.load;
  const driver: Omit<DriverConfig, 'url' | 'runId'> = {
    engine: l.engine,
    rate: l.rate,
    connections: l.connections,
    durationMs: l.duration,
    warmupMs: l.warmup,
    rampUpMs: l.rampUp ?? (l.engine === 'open' && l.rate > 0 ? l.warmup : 0),
    timeoutMs: l.timeout,
    requests: l.requests.map((r) => ({ method: r.method, path: r.path, headers: r.headers, body: r.body, weight: r.weight })),
    maxLateMs: l.maxLate,
    ...(s.target.url !== undefined ? { idsOptional: true } : {}),
  };
  return {
    scenario: s,
    file: loaded.file,
    sha256: loaded.sha256,
    runtime: s.runtime,
    deployment,
    zoneFailureDetectionMs: d.zoneFailureDetection,
    proxy,
    dataPlane: p.engine === 'haproxy' ? { engine: 'haproxy', threads: p.haproxy.threads } : { engine: p.engine },
    driver,
    steps: s.timeline.map((step) => planStep(step, s)),
    thresholds: s.thresholds,
    prometheus: s.prometheus === 'auto' || s.prometheus === 'off' ? s.prometheus : { url: s.prometheus },
    outDir: s.outputs.dir,
    appFaults: s.target.appFaults,
    targetUrl: s.target.url ?? null,
  };
}

function isSampleApp(s: Scenario): boolean {
  return s.target.command === undefined && s.target.image === undefined;
}

/** The pod template of the first version. */
function baseTemplate(s: Scenario): PodTemplate {
  const t = s.target;
  const common = {
    version: s.deployment.version,
    env: { ...t.env },
    readiness: {
      path: t.readinessPath,
      periodMs: s.deployment.readiness.period,
      timeoutMs: s.deployment.readiness.timeout,
      successThreshold: s.deployment.readiness.successThreshold,
      failureThreshold: s.deployment.readiness.failureThreshold,
      initialDelayMs: s.deployment.readiness.initialDelay,
    },
    livenessPath: t.livenessPath,
    metricsPath: t.metricsPath,
    startTimeoutMs: t.startTimeout,
    lifecycle: podLifecycleOf(s),
  };
  if (isSampleApp(s)) {
    const args = sampleAppArgs(s, t.appFaults);
    if (s.runtime === 'docker') {
      return {
        ...common,
        command: args.container,
        image: SAMPLE_APP_IMAGE,
        containerPort: SAMPLE_APP_CONTAINER_PORT,
        port: { mode: 'announce' },
      };
    }
    return { ...common, command: args.process, image: null, containerPort: 0, port: { mode: 'announce' } };
  }
  if (t.image !== undefined) {
    return { ...common, command: t.command ?? null, image: t.image, containerPort: t.containerPort, port: { mode: 'env', envVar: 'PORT' } };
  }
  const port = t.port === undefined ? { mode: 'env' as const, envVar: 'PORT' } : t.port === 'announce' ? { mode: 'announce' as const } : { mode: 'env' as const, envVar: t.port.env };
  return { ...common, command: t.command ?? null, image: null, containerPort: 0, port };
}

/** sample-app argv for the process runtime and for a container. */
export function sampleAppArgs(s: Scenario, faults: string[]): { process: string[]; container: string[] } {
  const { gracePeriod, preStop } = s.deployment.termination;
  // The replica must exit inside its grace period (contract rule 2): leave it a second of margin.
  const drainTimeout = Math.max(1000, gracePeriod - preStop - 1000);
  const flags = [
    '--drain-delay-ms',
    String(s.target.drainDelay),
    '--drain-timeout-ms',
    String(drainTimeout),
    '--warmup-ms',
    String(s.target.warmup),
    // Keep the admin port up after draining until the orchestrator has read the final counters.
    '--exit-linger-ms',
    String(Math.max(0, drainTimeout - s.target.drainDelay)),
    ...faults.flatMap((f) => ['--fault', f]),
  ];
  return {
    process: [process.execPath, sampleAppEntry(), '--port', '0', '--admin-port', '0', ...flags],
    container: [
      '--host',
      '0.0.0.0',
      '--port',
      String(SAMPLE_APP_CONTAINER_PORT),
      '--admin-port',
      String(SAMPLE_APP_ADMIN_CONTAINER_PORT),
      ...flags,
    ],
  };
}

function planStep(step: TimelineAction, s: Scenario): PlannedStep {
  const sampleAppCommand = (faults: string[]): string[] | null => {
    if (!isSampleApp(s)) return null;
    const args = sampleAppArgs(s, faults);
    return s.runtime === 'docker' ? args.container : args.process;
  };
  return actionOf({ kind: step.action, atMs: step.at, label: '' }).plan(step, { scenario: s, sampleAppCommand }) as PlannedStep;
}

/** Every image a docker run will use (first version and rollout targets), checked before any replica starts. */
export function imagesOf(plan: RunPlan): string[] {
  const images = new Set<string>();
  if (plan.deployment.template.image) images.add(plan.deployment.template.image);
  for (const step of plan.steps) if (step.kind === 'rollout' && step.patch.image) images.add(step.patch.image);
  return [...images];
}

/** The plan in a few lines, printed before anything starts. */
export function describePlan(plan: RunPlan): string[] {
  const d = plan.deployment;
  const l = plan.driver;
  const target = plan.scenario.target.image ?? plan.scenario.target.command?.join(' ') ?? 'sample-app';
  if (plan.targetUrl !== null) {
    // Target mode: nothing of zerodrop's runs; the deployment and proxy lines would describe nothing.
    return [
      `scenario  ${plan.scenario.name}${plan.file ? ` (${plan.file})` : ''}`,
      `target    ${plan.targetUrl} (target mode: a deployment zerodrop does not start)`,
      `load      ${l.engine} · ${l.rate > 0 ? `${l.rate.toLocaleString('en-US')} req/s` : 'closed loop'} · ${l.connections} connections · ${formatDuration(l.durationMs)} (warm-up ${formatDuration(l.warmupMs)})`,
      ...plan.steps.map((step) => `timeline  ${step.label}`),
    ];
  }
  const lines = [
    `scenario  ${plan.scenario.name}${plan.file ? ` (${plan.file})` : ''}`,
    `target    ${target} · ${d.replicas} replicas over zones ${d.zones.join(', ')} · runtime ${plan.runtime}`,
    `strategy  maxSurge ${d.strategy.maxSurge} · maxUnavailable ${d.strategy.maxUnavailable} · routing lag ${formatDuration(d.termination.routingLagMs)} · grace ${formatDuration(d.termination.gracePeriodMs)}`,
    `load      ${l.engine} · ${l.rate > 0 ? `${l.rate.toLocaleString('en-US')} req/s` : 'closed loop'} · ${l.connections} connections · ${formatDuration(l.durationMs)} (warm-up ${formatDuration(l.warmupMs)}${l.rampUpMs ? `, ramping up over ${formatDuration(l.rampUpMs)}` : ''})`,
    `proxy     ${plan.dataPlane.engine === 'haproxy' ? `HAProxy (${plan.dataPlane.threads ?? 1} thread${(plan.dataPlane.threads ?? 1) > 1 ? 's' : ''}) · ` : ''}retries ${plan.proxy.retries.enabled ? `on (${plan.proxy.retries.maxAttempts} tries, per-try ${formatDuration(plan.proxy.retries.perTryTimeoutMs)})` : 'OFF'}${plan.proxy.slowStartMs ? ` · slow start ${formatDuration(plan.proxy.slowStartMs)}` : ''}`,
  ];
  if (plan.appFaults.length > 0) lines.push(`faults    sample-app ${plan.appFaults.join(', ')} (negative control)`);
  for (const step of plan.steps) lines.push(`timeline  ${step.label}`);
  return lines;
}
