/**
 * The narrow runtime port (testcontainers' ContainerClient, minus the dockerode types):
 * start, stop with grace, kill, pause/resume, inspect, logs. The process runtime (child
 * processes, the embedded default) and the docker runtime implement it; the planner's unit
 * tables use a fake that records calls. Every method speaks our own types only.
 */
import type { ExecResult, StopSignal } from '../lifecycle/types.js';
import type { PodTemplate, ResourceLimits } from '../spec.js';

export type { RuntimeName } from './names.js';
import type { RuntimeName } from './names.js';

export interface HostPort {
  host: string;
  port: number;
}

/** Everything needed to start one replica. */
export interface ReplicaLaunch {
  runId: string;
  /** Unique for the run, stable, short: "<deployment>-<revision>-<zone>-<n>" */
  replicaId: string;
  deployment: string;
  zone: string;
  revision: number;
  template: PodTemplate;
  resources: ResourceLimits;
}

export interface StartedReplica {
  replicaId: string;
  /** Where traffic (and probes) go. Always loopback or a container address the run created. */
  endpoint: HostPort;
  /** Side port that stays up until exit (metrics, final counters), if the replica has one. */
  adminEndpoint: HostPort | null;
  /** OS pid (process runtime) or container id (docker runtime). */
  pid: number | null;
  containerId: string | null;
  startedAtMs: number;
  /** Where the start's time went (monotonic ms), for runtimes that can tell (docker). */
  boot?: BootMarks;
}

/** Monotonic instants of one replica's start, as the runtime saw them. */
export interface BootMarks {
  /** The runtime's start() was called. */
  calledAtMs: number;
  /** The container exists (create returned); null for runtimes without a create step. */
  createdAtMs: number | null;
  /** The process runs (docker: the start call returned). */
  runningAtMs: number;
  /** The replica announced its port, or the port mapping became known. */
  listeningAtMs: number;
}

/** What a replica's boot cost in CPU, read when it became Ready (null where not readable). */
export interface ReadyCost {
  /** The replica's own CPU from start to Ready (docker: its cgroup, init and app together). */
  cpuMs: number | null;
  /** The runtime's per-replica helper (docker: its containerd-shim), or null. */
  helperCpuMs: number | null;
  /** How its CPU weight was raised to the serving one, and what that took (ms). */
  priority: { booting: number; serving: number; how: 'cgroup-file' | 'engine-update' | 'none'; ms: number } | null;
}

/** A choice the runtime made by itself (endpoint mode, CPU weights), for the report. */
export interface RuntimeChoice {
  what: string;
  value: string;
  why: string;
}

export type ExitKind =
  /** Exited by itself after SIGTERM, inside the grace period. */
  | 'graceful'
  /** Needed SIGKILL (grace period ran out, or a kill was asked for). */
  | 'killed'
  /** Exited without being asked to (crash, OOM, bug). */
  | 'crashed';

export interface ReplicaExit {
  replicaId: string;
  kind: ExitKind;
  code: number | null;
  signal: string | null;
  atMs: number;
}

export type ReplicaRunState = 'running' | 'paused' | 'exited';

export interface ReplicaInspect {
  replicaId: string;
  state: ReplicaRunState;
  pid: number | null;
  containerId: string | null;
  exit: ReplicaExit | null;
}

export interface StopOptions {
  /** Time between the stop signal and SIGKILL. */
  graceMs: number;
  /** The stop signal (Kubernetes lifecycle.stopSignal, Docker STOPSIGNAL). Default SIGTERM. */
  signal?: StopSignal;
}

export interface Runtime {
  readonly name: RuntimeName;
  /** Reap what dead runs left behind, build images... Idempotent. */
  prepare(runId: string): Promise<void>;
  /**
   * Starts a replica and resolves once its port is known (not once it is Ready: readiness is
   * the orchestrator's probe). Rejects with ZD_REPLICA_START_FAILED and the log tail.
   */
  start(launch: ReplicaLaunch): Promise<StartedReplica>;
  /**
   * The replica passed its readiness probe for the first time: a runtime that ranks booting
   * replicas below serving ones raises it now (process: nice value, priorities.ts; docker:
   * cpu.shares), and reports the boot's CPU when it can. Optional; idempotent.
   */
  becameReady?(replicaId: string): Promise<ReadyCost | null>;
  /**
   * Readies now, before the load, what `replicaStarts` replica starts during it will need (docker:
   * pod sandboxes, docker-sandbox.ts). Optional; a speed-up only: a start finds the pool empty
   * and does without. Resolves to how many are waiting (0: none made, choices() says why).
   */
  prewarm?(replicaStarts: number): Promise<number>;
  /** The choices this runtime made by itself, for the report. Optional. */
  choices?(): RuntimeChoice[];
  /** SIGTERM, wait up to graceMs, then SIGKILL. Resolves with how it exited. Idempotent. */
  stop(replicaId: string, options: StopOptions): Promise<ReplicaExit>;
  /** Runs argv in the replica's environment (a preStop exec hook), bounded by timeoutMs. Optional. */
  exec?(replicaId: string, command: string[], timeoutMs: number): Promise<ExecResult>;
  /** SIGKILL at once. Idempotent: an exited replica resolves with its recorded exit. */
  kill(replicaId: string): Promise<ReplicaExit>;
  /** Freeze (SIGSTOP / docker pause): TCP still accepts into the backlog, nothing answers. */
  pause(replicaId: string): Promise<void>;
  resume(replicaId: string): Promise<void>;
  inspect(replicaId: string): ReplicaInspect;
  /** The last `tail` lines of stdout+stderr. */
  logs(replicaId: string, tail: number): Promise<string[]>;
  /** Exits nobody asked for (crash) and asked-for exits alike; returns an unsubscribe. */
  onExit(listener: (exit: ReplicaExit) => void): () => void;
  /** Stop every replica with its grace period, then release resources. */
  close(graceMs: number): Promise<void>;
  /** SIGKILL every replica at once. */
  destroy(): Promise<void>;
}
