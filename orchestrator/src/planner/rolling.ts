/**
 * One pass of the rolling update: which ReplicaSet spec counts change now. Copied from
 * kubernetes/kubernetes pkg/controller/deployment/rolling.go (rolloutRolling,
 * reconcileNewReplicaSet, reconcileOldReplicaSets, cleanupUnhealthyReplicas,
 * scaleDownOldReplicaSetsForRollingUpdate) and util/deployment_util.go (NewRSNewReplicas).
 *
 * "Scale up, if we can. Scale down, if we can." One direction per pass; the next observation
 * drives the next step. Only spec counts are decided here: which replicas start or stop is the
 * ReplicaSet controller's job (replicaset.ts).
 */
import { byCreation, specTotal } from './observed.js';
import { fencepostsOf, replicaSetCounts } from './status.js';
import type { DesiredState, Fenceposts, ObservedState, PlannedAction, ReplicaSetState } from './types.js';

export function planRollout(desired: DesiredState, observed: ObservedState): PlannedAction[] {
  const fence = fencepostsOf(desired);
  const existing = observed.replicaSets.find((rs) => rs.revision === desired.revision);
  const oldRSs = observed.replicaSets.filter((rs) => rs.revision !== desired.revision);
  const actions: PlannedAction[] = [];

  // getAllReplicaSetsAndSyncRevision(createIfNotExisted=true): the new ReplicaSet is created
  // already sized by NewRSNewReplicas. Created with 0 (no surge room, e.g. surge 0%), the pass
  // goes on to scale the old ones down, as Kubernetes does.
  let newRS: ReplicaSetState;
  if (existing) {
    newRS = existing;
  } else {
    const replicas = newRSNewReplicas(desired.spec.replicas, fence.maxSurge, specTotal(oldRSs), 0);
    actions.push({ type: 'create-replicaset', revision: desired.revision, replicas });
    if (replicas > 0) return actions;
    newRS = { revision: desired.revision, template: desired.spec.template, replicas: 0, createdAtMs: observed.nowMs };
  }

  const scaleUp = reconcileNewReplicaSet(desired, fence, newRS, oldRSs);
  if (scaleUp) return [...actions, scaleUp];
  return [...actions, ...reconcileOldReplicaSets(desired, observed, fence, newRS, oldRSs)];
}

/**
 * NewRSNewReplicas: grow the new ReplicaSet into the room maxSurge leaves, counting the spec
 * replicas of ALL ReplicaSets (what they will run, not what runs now), never past `replicas`.
 */
export function newRSNewReplicas(replicas: number, maxSurge: number, allSpecReplicas: number, newSpecReplicas: number): number {
  const maxTotal = replicas + maxSurge;
  if (allSpecReplicas >= maxTotal) return newSpecReplicas;
  const scaleUp = Math.min(maxTotal - allSpecReplicas, replicas - newSpecReplicas);
  return newSpecReplicas + scaleUp;
}

/**
 * reconcileNewReplicaSet. With no active old ReplicaSet this is a plain resize of the deployment
 * (sync.go scale: the only active ReplicaSet follows spec.replicas), which NewRSNewReplicas gives
 * in one step since the surge room is then at least replicas − newRS.
 */
function reconcileNewReplicaSet(desired: DesiredState, fence: Fenceposts, newRS: ReplicaSetState, oldRSs: readonly ReplicaSetState[]): PlannedAction | null {
  const replicas = desired.spec.replicas;
  if (newRS.replicas === replicas) return null;
  const scale = (to: number, reason: 'rollout-scale-up' | 'deployment-scaled'): PlannedAction => ({
    type: 'scale-replicaset',
    revision: newRS.revision,
    from: newRS.replicas,
    to,
    reason,
  });
  if (newRS.replicas > replicas) return scale(replicas, 'deployment-scaled');
  const target = newRSNewReplicas(replicas, fence.maxSurge, specTotal([...oldRSs, newRS]), newRS.replicas);
  if (target === newRS.replicas) return null;
  const rollingOut = oldRSs.some((rs) => rs.replicas > 0);
  return scale(target, rollingOut ? 'rollout-scale-up' : 'deployment-scaled');
}

/**
 * reconcileOldReplicaSets. The bound that matters:
 *
 *   maxScaledDown = allPods − minAvailable − newRSUnavailable
 *
 * It counts maxUnavailable and the surge replicas already created, and also the new replicas that
 * are not available yet, so a crash-looping new version cannot drain the old one. The worked
 * example of rolling.go: 10 replicas, maxUnavailable 2, maxSurge 3. The new RS crash-loops at 5:
 * allPods 13, minAvailable 8, newRSUnavailable 5 → 13 − 8 − 5 = 0, so the old RS is not scaled
 * down even when a node kills one of its replicas. After a rollback to the old template the old RS
 * is the new one (8, of which 7 available): 13 − 8 − 1 = 4 crash-looping replicas are cleaned up.
 */
function reconcileOldReplicaSets(
  desired: DesiredState,
  observed: ObservedState,
  fence: Fenceposts,
  newRS: ReplicaSetState,
  oldRSs: readonly ReplicaSetState[],
): PlannedAction[] {
  const active = oldRSs.filter((rs) => rs.replicas > 0).sort(byCreation); // FilterActiveReplicaSets
  if (active.length === 0) return [];
  const minReadySeconds = desired.spec.strategy.minReadySeconds;
  const availableOf = (rs: ReplicaSetState): number => replicaSetCounts(observed, rs.revision, minReadySeconds).available;

  const allPods = specTotal([...oldRSs, newRS]);
  const minAvailable = desired.spec.replicas - fence.maxUnavailable;
  const newRSUnavailable = newRS.replicas - availableOf(newRS);
  const maxScaledDown = allPods - minAvailable - newRSUnavailable;
  if (maxScaledDown <= 0) return [];

  // Working copy of the spec counts: the cleanup's scale-downs are seen by the second step.
  const specs = new Map(active.map((rs) => [rs.revision, rs.replicas]));
  const actions: PlannedAction[] = [];
  const scaleTo = (rs: ReplicaSetState, to: number, reason: 'cleanup-unhealthy' | 'rollout-scale-down'): void => {
    const from = specs.get(rs.revision) ?? rs.replicas;
    specs.set(rs.revision, to);
    actions.push({ type: 'scale-replicaset', revision: rs.revision, from, to, reason });
  };

  // cleanupUnhealthyReplicas: remove old replicas that are not available first, oldest RS first.
  // They cost no availability, and left alone they would block the rollout until it times out
  // (kubernetes#16737). The ReplicaSet controller deletes not-available replicas first, so the
  // replicas removed here are exactly those.
  let cleaned = 0;
  for (const rs of active) {
    if (cleaned >= maxScaledDown) break;
    const unhealthy = rs.replicas - availableOf(rs);
    if (unhealthy <= 0) continue;
    const count = Math.min(maxScaledDown - cleaned, unhealthy);
    scaleTo(rs, rs.replicas - count, 'cleanup-unhealthy');
    cleaned += count;
  }

  // scaleDownOldReplicaSetsForRollingUpdate: then as many as availability allows, oldest RS first.
  const available = [...oldRSs, newRS].reduce((sum, rs) => sum + availableOf(rs), 0);
  if (available <= minAvailable) return actions;
  const totalScaleDown = available - minAvailable;
  let scaledDown = 0;
  for (const rs of active) {
    if (scaledDown >= totalScaleDown) break;
    const spec = specs.get(rs.revision) ?? rs.replicas;
    if (spec === 0) continue;
    const count = Math.min(spec, totalScaleDown - scaledDown);
    scaleTo(rs, spec - count, 'rollout-scale-down');
    scaledDown += count;
  }
  return actions;
}
