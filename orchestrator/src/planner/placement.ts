/**
 * Where a new replica goes, and which replicas go first when a ReplicaSet shrinks.
 *
 * Placement emulates a topology spread constraint on the zone key with matchLabelKeys
 * [pod-template-hash] (each revision spreads on its own), over the zones that are up only: a down
 * zone is treated like a zone whose nodes are tainted and excluded (nodeTaintsPolicy: Honor), so
 * it neither takes replicas nor holds the skew back (the trap mechanics.md A4 warns about).
 * As in Kubernetes, the spread is evaluated at scheduling time only: nothing moves replicas
 * afterwards, so a zone that comes back stays empty until replicas are created again.
 */
import { isActive, isZoneDown } from './observed.js';
import { isAvailable } from './status.js';
import type { ObservedReplica, ZoneState } from './types.js';

/** A replica as placement sees it (real, or planned in the same pass). */
export interface PlacedReplica {
  revision: number;
  zone: string;
}

/**
 * The up zone with the fewest active replicas of `revision`; ties → fewest active replicas of any
 * revision (spreads the whole workload while old and new coexist); ties → zone order.
 * Returns null when no zone is up: the replica cannot be placed (Kubernetes leaves it Pending).
 */
export function pickZone(zones: readonly ZoneState[], active: readonly PlacedReplica[], revision: number): string | null {
  let best: { zone: string; same: number; all: number } | null = null;
  for (const zone of zones) {
    if (!zone.up) continue;
    let same = 0;
    let all = 0;
    for (const r of active) {
      if (r.zone !== zone.name) continue;
      all += 1;
      if (r.revision === revision) same += 1;
    }
    if (best === null || same < best.same || (same === best.same && all < best.all)) {
      best = { zone: zone.name, same, all };
    }
  }
  return best?.zone ?? null;
}

export interface DeletionContext {
  zones: readonly ZoneState[];
  minReadySeconds: number;
  nowMs: number;
}

/**
 * Picks `count` replicas of one ReplicaSet to delete, one at a time (the zone counts change with
 * each pick). Order, after controller.ActivePods (the ReplicaSet controller's ranking):
 *   1. not Ready, starting before running (they serve nothing: deleting them costs no
 *      availability, which cleanupUnhealthyReplicas relies on, kubernetes#16737);
 *   2. Ready but not yet available (Ready for less than minReadySeconds), for the same reason;
 *   3. in a down zone (Ready only until its probes notice);
 *   4. in the zone holding the most active replicas of this ReplicaSet, to keep the spread;
 *   5. oldest first (lowest creation seq). A deliberate difference: Kubernetes deletes the newest
 *      first (an old pod has proven itself); zerodrop retires the longest-running processes, and
 *      the tests pin it so a change is a decision, not an accident.
 */
export function pickReplicasToDelete(candidates: readonly ObservedReplica[], count: number, context: DeletionContext): ObservedReplica[] {
  const remaining = candidates.filter(isActive);
  const picked: ObservedReplica[] = [];
  while (picked.length < count && remaining.length > 0) {
    const perZone = new Map<string, number>();
    for (const r of remaining) perZone.set(r.zone, (perZone.get(r.zone) ?? 0) + 1);
    let bestIndex = 0;
    for (let i = 1; i < remaining.length; i += 1) {
      if (compareForDeletion(remaining[i]!, remaining[bestIndex]!, perZone, context) < 0) bestIndex = i;
    }
    picked.push(...remaining.splice(bestIndex, 1));
  }
  return picked;
}

function deletionTier(r: ObservedReplica, context: DeletionContext): number {
  if (!r.ready) return r.phase === 'starting' ? 0 : 1;
  if (!isAvailable(r, context.minReadySeconds, context.nowMs)) return 2;
  if (isZoneDown(context.zones, r.zone)) return 3;
  return 4;
}

/** Negative when `a` should be deleted before `b`. */
function compareForDeletion(a: ObservedReplica, b: ObservedReplica, perZone: ReadonlyMap<string, number>, context: DeletionContext): number {
  return deletionTier(a, context) - deletionTier(b, context) || (perZone.get(b.zone) ?? 0) - (perZone.get(a.zone) ?? 0) || a.seq - b.seq;
}
