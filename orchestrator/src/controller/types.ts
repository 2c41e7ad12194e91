/**
 * The controller's shapes: its options, the record it keeps of every replica, rollout handles
 * and the view the admin API and the reports read. Shared by every part of the controller.
 */
import type { SchedulingClock, Timer } from '../../../common/src/clock.js';
import type { DeploymentStatus, ReplicaPhase } from '../planner/types.js';
import type { ReadinessListener } from '../probe.js';
import type { ProxyControl } from '../proxy/types.js';
import type { HostPort, ReadyCost, ReplicaExit, Runtime, StartedReplica } from '../runtime/types.js';
import type { DeploymentSpec, ProbeSpec } from '../spec.js';
import type { DeleteReason, ZoneFailureMode } from '../timeline.js';

/** Reads a replica's served-traffic counter (sum of its responses to traffic routes), or null. */
export type CounterReader = (target: HostPort, path: string, final?: boolean) => Promise<number | null>;

export interface ControllerOptions {
  runId: string;
  spec: DeploymentSpec;
  runtime: Runtime;
  proxy: ProxyControl;
  /** Time and every timer of the controller (resync, zone detection, termination). Tests pass a fake. */
  clock?: SchedulingClock;
  /**
   * Emulated node-monitor grace period: how long the control plane takes to notice that the
   * replicas of a failed zone are gone (Kubernetes: --node-monitor-grace-period, 40 s + eviction).
   * Until then the data plane is on its own: retries, ejection, health checks.
   */
  zoneFailureDetectionMs: number;
  /** Periodic reconcile, on top of the event-driven passes. */
  resyncIntervalMs?: number;
  /** Live scrape of every replica's counters (for replicas that die without a final snapshot). */
  scrapeIntervalMs?: number;
  readCounts?: CounterReader;
  log?: (line: string) => void;
  /** CrashLoopBackOff between failed starts of one revision (default 0.5, 1, 2, 4, 8 s). */
  crashLoopBackoffMs?: readonly number[];
  /** How readiness is probed (default: HTTP GET, as the kubelet). Unit tests pass a fake. */
  prober?: ProberFactory;
}

/** A readiness prober of one replica: calls back on every Ready/not-Ready flip until stopped. */
export interface ReplicaProber {
  start(): void;
  stop(): void;
  readonly lastFailure: string | null;
}

export type ProberFactory = (replica: StartedReplica, spec: ProbeSpec, onChange: ReadinessListener) => ReplicaProber;

export interface ReplicaRecord {
  id: string;
  seq: number;
  revision: number;
  version: string;
  zone: string;
  phase: ReplicaPhase;
  ready: boolean;
  readySinceMs: number | null;
  createdAtMs: number;
  started: StartedReplica | null;
  /** Settles when runtime.start has finished (either way). */
  startTask: Promise<void>;
  routed: boolean;
  deleteReason: DeleteReason | null;
  firstReadyMs: number | null;
  drainingMs: number | null;
  /** When the proxy was told to take it out of rotation (its unroute), if it was routed then. */
  unroutedMs: number | null;
  /** When SIGTERM was sent (the runtime's stop), if it was. */
  sigtermMs: number | null;
  exitedMs: number | null;
  exit: ReplicaExit | null;
  startError: string | null;
  /** What its boot cost, as the runtime read it at its first Ready (null: not told, or not yet). */
  readyCost?: ReadyCost | null;
  lastScrape: { responses: number; atMs: number } | null;
  final: { responses: number; atMs: number } | null;
  /** Replica is in a failed zone whose failure the control plane has not noticed yet. */
  zoneFailedUnnoticed: boolean;
  /**
   * Liveness restarts before this one in its slot (Kubernetes' restartCount): a replica the
   * liveness probe failed is terminated and started again as the next replica of its revision
   * and zone, which carries the count + 1.
   */
  restarts: number;
}

export type RolloutOutcome = 'complete' | 'failed' | 'superseded';

export interface RolloutResult {
  outcome: RolloutOutcome;
  durationMs: number;
  reason: string | null;
}

export interface RolloutHandle {
  revision: number;
  version: string;
  done: Promise<RolloutResult>;
}

export interface ActiveRollout {
  revision: number;
  version: string;
  startedMs: number;
  lastProgressMs: number;
  /** The status at the previous pass, and the most updated replicas seen (DeploymentProgressing). */
  previous: DeploymentStatus | null;
  maxUpdated: number;
  step: number;
  resolve: (r: RolloutResult) => void;
}

export interface ZoneFailure {
  zone: string;
  mode: ZoneFailureMode;
  atMs: number;
  replicas: string[];
  detectionTimer: Timer | null;
  noticed: boolean;
  zoneBackUp: boolean;
  recoveredReported: boolean;
}

export interface ControllerView {
  name: string;
  desiredReplicas: number;
  revision: number;
  version: string;
  status: DeploymentStatus;
  conditions: { type: string; status: boolean; reason: string; message: string; lastUpdateMs: number }[];
  replicaSets: { revision: number; version: string; replicas: number; active: number; ready: number }[];
  zones: { name: string; up: boolean; replicas: number; ready: number }[];
  replicas: {
    id: string;
    zone: string;
    version: string;
    revision: number;
    phase: ReplicaPhase;
    ready: boolean;
    endpoint: string | null;
  }[];
  rolloutInProgress: boolean;
}
