/**
 * Availability, deployment status, completion, progress and the two rollout invariants.
 * Copied from kubernetes/kubernetes: pkg/api/v1/pod/util.go (IsPodAvailable),
 * pkg/controller/deployment/sync.go (calculateStatus),
 * pkg/controller/deployment/util/deployment_util.go (DeploymentComplete, DeploymentProgressing,
 * DeploymentTimedOut, MaxUnavailable).
 */
import { resolveFenceposts } from './fenceposts.js';
import { applyPlannedActions, isActive, specTotal } from './observed.js';
import type { DeploymentStatus, DesiredState, Fenceposts, InvariantBreach, ObservedReplica, ObservedState, PlannedAction } from './types.js';

/**
 * IsPodAvailable: Ready for at least minReadySeconds (with 0, Ready is enough), and neither
 * terminating nor failed. A replica that just became Ready can still fall over: minReadySeconds
 * is how long the rollout waits before it counts on it.
 */
export function isAvailable(replica: ObservedReplica, minReadySeconds: number, nowMs: number): boolean {
  if (!isActive(replica) || !replica.ready) return false;
  if (minReadySeconds <= 0) return true;
  return replica.readySinceMs !== null && nowMs - replica.readySinceMs >= minReadySeconds * 1000;
}

/** The fenceposts of the desired spec (MaxSurge / MaxUnavailable of the deployment). */
export function fencepostsOf(desired: DesiredState): Fenceposts {
  const { maxSurge, maxUnavailable } = desired.spec.strategy;
  return resolveFenceposts(maxSurge, maxUnavailable, desired.spec.replicas);
}

/** What a ReplicaSet's status would say: its active, Ready and available replicas. */
export interface ReplicaSetCounts {
  active: number;
  ready: number;
  available: number;
}

export function replicaSetCounts(observed: ObservedState, revision: number, minReadySeconds: number): ReplicaSetCounts {
  const counts: ReplicaSetCounts = { active: 0, ready: 0, available: 0 };
  for (const r of observed.replicas) {
    if (r.revision !== revision || !isActive(r)) continue;
    counts.active += 1;
    if (r.ready) counts.ready += 1;
    if (isAvailable(r, minReadySeconds, observed.nowMs)) counts.available += 1;
  }
  return counts;
}

/**
 * calculateStatus (sync.go): terminating and failed replicas are in no count but their own;
 * unavailableReplicas = Σ spec.replicas − available, never negative (it is negative while a
 * scale-down is under way).
 */
export function deploymentStatus(desired: DesiredState, observed: ObservedState): DeploymentStatus {
  const minReadySeconds = desired.spec.strategy.minReadySeconds;
  let replicas = 0;
  let updatedReplicas = 0;
  let readyReplicas = 0;
  let availableReplicas = 0;
  let terminatingReplicas = 0;
  for (const r of observed.replicas) {
    if (r.phase === 'terminating') terminatingReplicas += 1;
    if (!isActive(r)) continue;
    replicas += 1;
    if (r.revision === desired.revision) updatedReplicas += 1;
    if (r.ready) readyReplicas += 1;
    if (isAvailable(r, minReadySeconds, observed.nowMs)) availableReplicas += 1;
  }
  const status: DeploymentStatus = {
    replicas,
    updatedReplicas,
    readyReplicas,
    availableReplicas,
    unavailableReplicas: Math.max(0, specTotal(observed.replicaSets) - availableReplicas),
    terminatingReplicas,
    complete: false,
  };
  status.complete = statusComplete(desired, observed, status);
  return status;
}

/**
 * DeploymentComplete: updated == replicas == total == available. We also require that no old
 * ReplicaSet still wants a replica: with Kubernetes' lagging status that follows from the counts,
 * but here an old replica that just crashed leaves the counts before its ReplicaSet is scaled to 0,
 * and calling that "complete" would let the old ReplicaSet bring it back afterwards.
 */
export function isRolloutComplete(desired: DesiredState, observed: ObservedState): boolean {
  return deploymentStatus(desired, observed).complete;
}

function statusComplete(desired: DesiredState, observed: ObservedState, status: DeploymentStatus): boolean {
  const want = desired.spec.replicas;
  const newRS = observed.replicaSets.find((rs) => rs.revision === desired.revision);
  const oldWanted = observed.replicaSets.some((rs) => rs.revision !== desired.revision && rs.replicas > 0);
  return status.updatedReplicas === want && status.replicas === want && status.availableReplicas === want && (newRS?.replicas ?? 0) === want && !oldWanted;
}

/**
 * DeploymentProgressing: more updated replicas, fewer old ones, more Ready or more available.
 * The controller keeps the time of the last progress for the deadline below.
 *
 * `mostUpdated` (default: the previous count) is what "more updated" must beat. Kubernetes
 * restarts a crashing pod in place, so its updated count stays flat; here a replica that dies
 * before Ready is replaced by a new one, and the controller passes the most it has seen in the
 * rollout, or a crash-looping version would look like progress forever.
 */
export function hasProgressed(previous: DeploymentStatus, current: DeploymentStatus, mostUpdated = previous.updatedReplicas): boolean {
  const oldBefore = previous.replicas - previous.updatedReplicas;
  const oldNow = current.replicas - current.updatedReplicas;
  return (
    current.updatedReplicas > mostUpdated ||
    oldNow < oldBefore ||
    current.readyReplicas > previous.readyReplicas ||
    current.availableReplicas > previous.availableReplicas
  );
}

/**
 * DeploymentTimedOut: no progress for progressDeadlineSeconds (strictly more, as `Before(now)`).
 * Kubernetes only reports it (ProgressDeadlineExceeded); rolling back is the caller's decision.
 */
export function progressDeadlineExceeded(lastProgressMs: number, nowMs: number, progressDeadlineSeconds: number): boolean {
  return lastProgressMs + progressDeadlineSeconds * 1000 < nowMs;
}

interface InvariantCounts {
  available: number;
  /** Active (non-terminating, non-failed) replicas of every revision. */
  total: number;
}

function invariantCounts(desired: DesiredState, observed: ObservedState): InvariantCounts {
  const minReadySeconds = desired.spec.strategy.minReadySeconds;
  let available = 0;
  let total = 0;
  for (const r of observed.replicas) {
    if (!isActive(r)) continue;
    total += 1;
    if (isAvailable(r, minReadySeconds, observed.nowMs)) available += 1;
  }
  return { available, total };
}

/**
 * The two rolling-update bounds, on the observed state: available ≥ replicas − maxUnavailable and
 * total ≤ replicas + maxSurge (terminating replicas excluded, as Kubernetes excludes them: the docs
 * warn the real process count can exceed the bound until their grace period ends).
 * Note that resizing the deployment moves the bounds at once: right after a scale-up, available is
 * below the new floor until the new replicas are up, through no fault of the planner.
 */
export function checkInvariants(desired: DesiredState, observed: ObservedState): InvariantBreach[] {
  const { maxSurge, maxUnavailable } = fencepostsOf(desired);
  const replicas = desired.spec.replicas;
  const { available, total } = invariantCounts(desired, observed);
  const breaches: InvariantBreach[] = [];
  if (available < replicas - maxUnavailable) {
    breaches.push({
      invariant: 'min-available',
      detail: `available ${available} < ${replicas - maxUnavailable} (replicas ${replicas} − maxUnavailable ${maxUnavailable})`,
      available,
      total,
    });
  }
  if (total > replicas + maxSurge) {
    breaches.push({
      invariant: 'max-total',
      detail: `total ${total} > ${replicas + maxSurge} (replicas ${replicas} + maxSurge ${maxSurge})`,
      available,
      total,
    });
  }
  return breaches;
}

/**
 * The breaches that `actions` would cause, judged before they are taken. An action list is at
 * fault when it leaves a bound broken AND worse than it found it: involuntary losses (a zone
 * outage) may already have broken a bound, and replacing lost replicas must stay possible then,
 * but the planner must never push further past it. Three checks:
 * - min-available: replicas it deletes must not take `available` below the floor;
 * - max-total (replicas): replicas it creates must not take the active total above the ceiling;
 * - max-total (ReplicaSets): scale actions must not make Σ spec.replicas exceed the ceiling,
 *   since the ReplicaSets would create those replicas on the next pass.
 * Pass the complete list of one pass (planStep's), whose replica actions realise its scale actions.
 */
export function wouldBreach(desired: DesiredState, observed: ObservedState, actions: readonly PlannedAction[]): InvariantBreach[] {
  const { maxSurge, maxUnavailable } = fencepostsOf(desired);
  const replicas = desired.spec.replicas;
  const minAvailable = replicas - maxUnavailable;
  const maxTotal = replicas + maxSurge;
  const after = applyPlannedActions(observed, actions, desired.spec.template);
  const was = invariantCounts(desired, observed);
  const will = invariantCounts(desired, after);
  const breaches: InvariantBreach[] = [];
  if (will.available < minAvailable && will.available < was.available) {
    breaches.push({
      invariant: 'min-available',
      detail: `would take available from ${was.available} to ${will.available}, below ${minAvailable} (replicas ${replicas} − maxUnavailable ${maxUnavailable})`,
      ...will,
    });
  }
  if (will.total > maxTotal && will.total > was.total) {
    breaches.push({
      invariant: 'max-total',
      detail: `would take the total from ${was.total} to ${will.total}, above ${maxTotal} (replicas ${replicas} + maxSurge ${maxSurge})`,
      ...will,
    });
  }
  const specBefore = specTotal(observed.replicaSets);
  const specAfter = specTotal(after.replicaSets);
  if (specAfter > maxTotal && specAfter > specBefore) {
    breaches.push({
      invariant: 'max-total',
      detail: `would make the ReplicaSets want ${specAfter} replicas (was ${specBefore}), above ${maxTotal} (replicas ${replicas} + maxSurge ${maxSurge})`,
      ...will,
    });
  }
  return breaches;
}
