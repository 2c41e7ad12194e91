/**
 * The Deployment spec: what the user wants running. Fully resolved (no optional knobs left);
 * the harness scenario schema fills it from a YAML file using the defaults below, so these
 * constants are the single source of every default.
 */

import type { PodLifecycle } from './lifecycle/types.js';

/** An absolute count, or a percentage of `replicas` like "25%" (Kubernetes IntOrString). */
export type IntOrPercent = number | `${number}%`;

export interface ProbeSpec {
  /** HTTP path probed on the replica's main port, e.g. "/readyz". */
  path: string;
  periodMs: number;
  timeoutMs: number;
  /** Consecutive successes to become Ready (Kubernetes successThreshold). */
  successThreshold: number;
  /** Consecutive failures to become not Ready (Kubernetes failureThreshold). */
  failureThreshold: number;
  initialDelayMs: number;
}

export interface StrategySpec {
  maxSurge: IntOrPercent;
  maxUnavailable: IntOrPercent;
  /** A replica is available once Ready for this long (Kubernetes minReadySeconds). */
  minReadySeconds: number;
  /** No progress for this long marks the rollout failed (Kubernetes progressDeadlineSeconds). */
  progressDeadlineSeconds: number;
  /** Roll back to the previous revision when the progress deadline passes. Off in Kubernetes. */
  autoRollback: boolean;
}

export interface TerminationSpec {
  /** preStop sleep before SIGTERM. The grace countdown includes it, as in Kubernetes. */
  preStopMs: number;
  /** terminationGracePeriodSeconds, in ms: SIGKILL when the replica has not exited by then. */
  gracePeriodMs: number;
  /**
   * How long the data plane takes to stop routing to a terminating replica, measured from the
   * moment it is marked terminating. 0 = synchronous (we own both sides). A positive value
   * emulates endpoint propagation (kube-proxy, ingress), the race of kubernetes/kubernetes#43576:
   * SIGTERM and endpoint removal are concurrent, so a replica must keep serving after SIGTERM.
   */
  routingLagMs: number;
}

/** How the orchestrator learns a process replica's port. */
export type PortDiscovery =
  /** The replica prints one JSON line {"event":"listening","port":N,...} on stdout. */
  | { mode: 'announce' }
  /** The orchestrator picks a free loopback port and passes it in env[envVar] (and "{port}" in args). */
  | { mode: 'env'; envVar: string };

export interface PodTemplate {
  /** The user-visible version label ("v1", "v2"). A template change is a new revision. */
  version: string;
  /** Process runtime: argv (argv[0] is the executable). "{port}" in args is replaced by the port. */
  command: string[] | null;
  /** Docker runtime: image reference, e.g. "zerodrop/sample-app:local" or "myapp:v2". */
  image: string | null;
  /** Port the container listens on (docker runtime only). */
  containerPort: number;
  env: Record<string, string>;
  port: PortDiscovery;
  readiness: ProbeSpec;
  /** Liveness path used by the proxy's active health checks. */
  livenessPath: string;
  /** Path of the Prometheus metrics endpoint of a replica, or null if it has none. */
  metricsPath: string | null;
  /** Seconds the replica may take to bind its port before the start counts as failed. */
  startTimeoutMs: number;
  /** stopSignal, preStop exec/httpGet, startupProbe (lifecycle/types.ts). Unset: SIGTERM, none, none. */
  lifecycle?: PodLifecycle;
}

export interface ResourceLimits {
  /** Docker only: memory limit in MiB (0 = none). */
  memoryMiB: number;
  /** Docker only: CPU limit in cores (0 = none). */
  cpus: number;
}

export interface DeploymentSpec {
  name: string;
  replicas: number;
  /** Zone names; replicas are spread evenly over the zones that are up (topology spread). */
  zones: string[];
  template: PodTemplate;
  strategy: StrategySpec;
  termination: TerminationSpec;
  resources: ResourceLimits;
  /** Replica sets kept for rollback (Kubernetes revisionHistoryLimit). */
  revisionHistoryLimit: number;
}

// Kubernetes defaults are period 10 s, timeout 1 s, failureThreshold 3; a demo needs a faster
// period, but the timeout and threshold stay Kubernetes': a replica briefly starved of CPU on a
// saturated 2-core box must not be taken out of rotation (a hung zone is the proxy's to detect).
export const DEFAULT_READINESS: ProbeSpec = {
  path: '/readyz',
  periodMs: 500,
  timeoutMs: 1000,
  successThreshold: 1,
  failureThreshold: 3,
  initialDelayMs: 0,
};

// Kubernetes defaults are 25%/25%, minReadySeconds 0, progressDeadlineSeconds 600; a demo
// cannot wait 10 minutes for a stuck rollout, so the deadline defaults to 60 s here.
export const DEFAULT_STRATEGY: StrategySpec = {
  maxSurge: '25%',
  maxUnavailable: '25%',
  minReadySeconds: 0,
  progressDeadlineSeconds: 60,
  autoRollback: false,
};

export const DEFAULT_TERMINATION: TerminationSpec = {
  preStopMs: 0,
  gracePeriodMs: 10_000,
  routingLagMs: 500,
};

// Docker: every container gets a memory and a CPU ceiling (a runaway replica cannot starve the
// proxy and the driver on the same machine); 1 core each is no constraint for the sample-app.
export const DEFAULT_RESOURCES: ResourceLimits = { memoryMiB: 256, cpus: 1 };

export const DEFAULT_ZONES = ['a', 'b', 'c'];
