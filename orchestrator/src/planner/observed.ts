/**
 * Small readers over an ObservedState, and the virtual application of planned actions (how the
 * planner looks one step ahead without touching anything).
 */
import type { PodTemplate } from '../spec.js';
import type { ObservedReplica, ObservedState, PlannedAction, ReplicaSetState, ZoneState } from './types.js';

/**
 * Counted by its ReplicaSet: starting or running. Terminating replicas and failed ones are in no
 * count, as controller.FilterActivePods drops pods with a deletion timestamp or phase Failed.
 */
export function isActive(replica: ObservedReplica): boolean {
  return replica.phase === 'starting' || replica.phase === 'running';
}

/**
 * A zone is down only when it is listed with up=false: a replica whose zone is not listed is left
 * alone (never treated as lost), but it receives no new replicas either (placement uses the list).
 */
export function isZoneDown(zones: readonly ZoneState[], zone: string): boolean {
  return zones.some((z) => z.name === zone && !z.up);
}

/** Σ spec.replicas (GetReplicaCountForReplicaSets): what the surge cap counts, not running pods. */
export function specTotal(replicaSets: readonly ReplicaSetState[]): number {
  return replicaSets.reduce((sum, rs) => sum + rs.replicas, 0);
}

/** Oldest first (controller.ReplicaSetsByCreationTimestamp; the revision breaks ties as the name does). */
export function byCreation(a: ReplicaSetState, b: ReplicaSetState): number {
  return a.createdAtMs - b.createdAtMs || a.revision - b.revision;
}

/**
 * The state the planned actions would lead to, before anything real happens: a deleted replica is
 * terminating at once (it leaves every count, and the controller unroutes it first), a created one
 * is starting. `template` is the template of a ReplicaSet the actions create (the desired one).
 * Pure: the input is not modified.
 */
export function applyPlannedActions(observed: ObservedState, actions: readonly PlannedAction[], template: PodTemplate): ObservedState {
  const replicaSets = observed.replicaSets.map((rs) => ({ ...rs }));
  const replicas = observed.replicas.map((r) => ({ ...r }));
  let seq = replicas.reduce((max, r) => Math.max(max, r.seq), 0);
  let planned = 0;
  for (const action of actions) {
    switch (action.type) {
      case 'create-replicaset':
        if (!replicaSets.some((rs) => rs.revision === action.revision)) {
          replicaSets.push({ revision: action.revision, template, replicas: action.replicas, createdAtMs: observed.nowMs });
        }
        break;
      case 'scale-replicaset': {
        const rs = replicaSets.find((s) => s.revision === action.revision);
        if (rs) rs.replicas = action.to;
        break;
      }
      case 'create-replica':
        seq += 1;
        planned += 1;
        replicas.push({
          id: `planned-${action.revision}-${action.zone}-${planned}`,
          revision: action.revision,
          zone: action.zone,
          phase: 'starting',
          ready: false,
          readySinceMs: null,
          createdAtMs: observed.nowMs,
          seq,
        });
        break;
      case 'delete-replica': {
        const replica = replicas.find((r) => r.id === action.replicaId);
        if (replica) {
          replica.phase = 'terminating';
          replica.ready = false;
          replica.readySinceMs = null;
        }
        break;
      }
    }
  }
  return { nowMs: observed.nowMs, replicaSets, replicas, zones: observed.zones.map((z) => ({ ...z })) };
}
