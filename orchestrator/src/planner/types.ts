/**
 * Inputs and outputs of the pure planner. The reconcile loop builds an ObservedState from the
 * runtime and probes, asks the planner for the next safe step, and executes its actions.
 * Nothing in planner/ performs I/O or reads a clock: `nowMs` is part of the observation.
 */
import type { DeploymentSpec, PodTemplate } from '../spec.js';
import type { DeleteReason, InvariantName } from '../timeline.js';

export type ReplicaPhase =
  /** Started; its port may or may not be bound; not Ready yet. */
  | 'starting'
  /** Running; Ready or not according to `ready`. */
  | 'running'
  /** Being stopped (draining, preStop, SIGTERM, grace). Not counted anywhere, as in Kubernetes. */
  | 'terminating'
  /** Exited without being asked, or failed to start. Waits for cleanup; not counted. */
  | 'failed';

export interface ObservedReplica {
  id: string;
  revision: number;
  zone: string;
  phase: ReplicaPhase;
  ready: boolean;
  /** Monotonic ms it last became Ready, null if not Ready. */
  readySinceMs: number | null;
  createdAtMs: number;
  /** Creation order (tie-breaker for "oldest first"). */
  seq: number;
}

/** A revision of the pod template and how many replicas of it are wanted (a ReplicaSet). */
export interface ReplicaSetState {
  revision: number;
  template: PodTemplate;
  /** spec.replicas of this ReplicaSet. */
  replicas: number;
  createdAtMs: number;
}

export interface ZoneState {
  name: string;
  /** false while a zone failure is injected: it accepts no new replicas. */
  up: boolean;
}

export interface ObservedState {
  nowMs: number;
  replicaSets: ReplicaSetState[];
  replicas: ObservedReplica[];
  zones: ZoneState[];
}

export interface DesiredState {
  spec: DeploymentSpec;
  /** Revision whose template equals spec.template (the "new ReplicaSet"). */
  revision: number;
}

export type ScaleReason =
  /** New ReplicaSet scaled up within maxSurge (rolling.go reconcileNewReplicaSet). */
  | 'rollout-scale-up'
  /** Old ReplicaSets scaled down within maxUnavailable (reconcileOldReplicaSets). */
  | 'rollout-scale-down'
  /** Not-available old replicas removed first (cleanupUnhealthyReplicas, kubernetes#16737). */
  | 'cleanup-unhealthy'
  /**
   * The deployment itself was resized: the new ReplicaSet is above spec.replicas, or it is the only
   * active ReplicaSet and simply follows spec.replicas (sync.go scale, FindActiveOrLatest).
   */
  | 'deployment-scaled';

export type PlannedAction =
  /**
   * The ReplicaSet of `revision` does not exist yet: create it with the desired template
   * (DesiredState.spec.template) and `replicas` as its spec count (getNewReplicaSet in sync.go
   * creates it already sized by NewRSNewReplicas). replicas > 0 is the rollout's first scale-up.
   */
  | { type: 'create-replicaset'; revision: number; replicas: number }
  | { type: 'scale-replicaset'; revision: number; from: number; to: number; reason: ScaleReason }
  | { type: 'create-replica'; revision: number; zone: string }
  | { type: 'delete-replica'; replicaId: string; revision: number; reason: DeleteReason };

export interface Fenceposts {
  maxSurge: number;
  maxUnavailable: number;
}

export interface DeploymentStatus {
  /** Non-terminating replicas of every revision (status.replicas). */
  replicas: number;
  /** Non-terminating replicas of the new revision. */
  updatedReplicas: number;
  readyReplicas: number;
  /** Ready for ≥ minReadySeconds and not terminating. */
  availableReplicas: number;
  unavailableReplicas: number;
  /** Replicas being stopped (not in any count above). */
  terminatingReplicas: number;
  complete: boolean;
}

export interface InvariantBreach {
  invariant: InvariantName;
  detail: string;
  available: number;
  total: number;
}
