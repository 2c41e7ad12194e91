/**
 * The controller's single entry point per reconcile pass: the Deployment controller's step
 * (rolling.ts) applied virtually, then the ReplicaSet controller's step (replicaset.ts) on the
 * resulting spec counts, so one pass yields every action from "scale" down to "start this
 * replica in zone c". One bounded, safe step per pass; the next observation drives the next one.
 */
import { applyPlannedActions } from './observed.js';
import { planReplicaSets } from './replicaset.js';
import { planRollout } from './rolling.js';
import { deploymentStatus, wouldBreach } from './status.js';
import type { DeploymentStatus, DesiredState, ObservedState, PlannedAction } from './types.js';

export interface PlanStep {
  /** In order: ReplicaSet creation/scales, then replica deletions, then replica creations. */
  actions: PlannedAction[];
  /** Status of the observed state (before the actions), as syncRolloutStatus reports it. */
  status: DeploymentStatus;
  /** Anything held back or impossible this pass, in words, for the controller's log. */
  notes: string[];
}

export function planStep(desired: DesiredState, observed: ObservedState): PlanStep {
  const status = deploymentStatus(desired, observed);
  const options = { minReadySeconds: desired.spec.strategy.minReadySeconds, newRevision: desired.revision };
  const rollout = planRollout(desired, observed);
  const scaled = applyPlannedActions(observed, rollout, desired.spec.template);
  const replicaSets = planReplicaSets(scaled, scaled.zones, options);
  const proposed = [...rollout, ...replicaSets.actions];
  const breaches = wouldBreach(desired, observed, proposed);
  if (breaches.length === 0) return { actions: proposed, status, notes: replicaSets.notes };

  // Safety net: the arithmetic above keeps both bounds by construction, so landing here means the
  // observation is odd (e.g. a ReplicaSet running more replicas than its spec while the controller
  // catches up). The rollout step is held back whole (half a scale would desynchronise the spec
  // counts from the replicas), and the ReplicaSet step on the unchanged specs keeps only the
  // actions that break nothing, deletions first.
  const notes = rollout.length > 0 ? [`rollout step held back: it ${breaches[0]?.detail ?? 'would breach an invariant'}`] : [];
  const fallback = planReplicaSets(observed, observed.zones, options);
  notes.push(...fallback.notes);
  const accepted: PlannedAction[] = [];
  for (const action of fallback.actions) {
    const [breach] = wouldBreach(desired, observed, [...accepted, action]);
    if (breach === undefined) accepted.push(action);
    else notes.push(`held back ${describeAction(action)}: it ${breach.detail}`);
  }
  return { actions: accepted, status, notes };
}

/** One line for logs and notes. */
export function describeAction(action: PlannedAction): string {
  switch (action.type) {
    case 'create-replicaset':
      return `create ReplicaSet ${action.revision} with ${action.replicas}`;
    case 'scale-replicaset':
      return `scale ReplicaSet ${action.revision} ${action.from}→${action.to} (${action.reason})`;
    case 'create-replica':
      return `create a replica of revision ${action.revision} in zone ${action.zone}`;
    case 'delete-replica':
      return `delete replica ${action.replicaId} (${action.reason})`;
  }
}
