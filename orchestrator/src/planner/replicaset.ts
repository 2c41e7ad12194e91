/**
 * The ReplicaSet controller: make each ReplicaSet's active replicas match its spec count.
 * Copied from kubernetes/kubernetes pkg/controller/replicaset/replica_set.go (manageReplicas:
 * diff = active − spec, create or delete the difference; getPodsToDelete ranks the victims) with
 * two neighbours folded in:
 * - pod garbage collection (pkg/controller/podgc): failed replicas are deleted (reason `lost`);
 *   they already exited, the delete only clears their record;
 * - the node lifecycle controller's eviction (pkg/controller/nodelifecycle,
 *   node_lifecycle_controller.go): an active replica in a down zone that is not Ready is deleted
 *   (reason `lost`) and thereby replaced in a zone that is up. Kubernetes waits for the node
 *   grace period and the 300 s toleration first; we act as soon as the replica is not Ready.
 */
import { byCreation, isActive, isZoneDown } from './observed.js';
import { pickReplicasToDelete, pickZone, type PlacedReplica } from './placement.js';
import { isAvailable } from './status.js';
import type { ObservedReplica, ObservedState, PlannedAction, ZoneState } from './types.js';
import type { DeleteReason } from '../timeline.js';

export interface ReplicaSetOptions {
  /** Decides which replicas are "available" when choosing what to delete first. Default 0. */
  minReadySeconds?: number;
  /** The deployment's current revision: deletions from other revisions are reported as `rollout`. */
  newRevision?: number;
}

export interface ReplicaSetPlan {
  /** Deletions first (they make room under maxSurge), then creations. */
  actions: PlannedAction[];
  /** What could not be done, for the controller to report (e.g. no zone is up). */
  notes: string[];
}

export function planReplicaSets(observed: ObservedState, zones: readonly ZoneState[] = observed.zones, options: ReplicaSetOptions = {}): ReplicaSetPlan {
  const minReadySeconds = options.minReadySeconds ?? 0;
  const deletes: PlannedAction[] = [];
  const deleted = new Set<string>();
  const remove = (r: ObservedReplica, reason: DeleteReason): void => {
    deletes.push({ type: 'delete-replica', replicaId: r.id, revision: r.revision, reason });
    deleted.add(r.id);
  };

  for (const r of observed.replicas) {
    if (r.phase === 'failed') remove(r, 'lost');
    else if (isActive(r) && !r.ready && isZoneDown(zones, r.zone)) remove(r, 'lost');
  }

  const survivors = (revision: number): ObservedReplica[] => observed.replicas.filter((r) => r.revision === revision && isActive(r) && !deleted.has(r.id));
  const context = { zones, minReadySeconds, nowMs: observed.nowMs };
  const reasonFor = (r: ObservedReplica): DeleteReason => {
    if (options.newRevision === undefined || r.revision === options.newRevision) return 'scale-down';
    return isAvailable(r, minReadySeconds, observed.nowMs) ? 'rollout' : 'unhealthy';
  };

  // A replica whose ReplicaSet is gone has no owner to keep it (the garbage collector deletes it).
  const known = new Set(observed.replicaSets.map((rs) => rs.revision));
  for (const r of observed.replicas) {
    if (isActive(r) && !deleted.has(r.id) && !known.has(r.revision)) remove(r, reasonFor(r));
  }

  const replicaSets = [...observed.replicaSets].sort(byCreation);
  const missing = new Map<number, number>();
  for (const rs of replicaSets) {
    const mine = survivors(rs.revision);
    const diff = rs.replicas - mine.length;
    if (diff > 0) missing.set(rs.revision, diff);
    if (diff < 0) for (const r of pickReplicasToDelete(mine, -diff, context)) remove(r, reasonFor(r));
  }

  // Creations see the picture after every deletion of this pass, so replacements spread well.
  const placed: PlacedReplica[] = observed.replicas.filter((r) => isActive(r) && !deleted.has(r.id)).map((r) => ({ revision: r.revision, zone: r.zone }));
  const creates: PlannedAction[] = [];
  const notes: string[] = [];
  for (const rs of replicaSets) {
    const count = missing.get(rs.revision) ?? 0;
    for (let i = 0; i < count; i += 1) {
      const zone = pickZone(zones, placed, rs.revision);
      if (zone === null) {
        notes.push(`no zone is up: ${count - i} replica(s) of revision ${rs.revision} cannot be placed`);
        break;
      }
      creates.push({ type: 'create-replica', revision: rs.revision, zone });
      placed.push({ revision: rs.revision, zone });
    }
  }
  return { actions: [...deletes, ...creates], notes };
}
