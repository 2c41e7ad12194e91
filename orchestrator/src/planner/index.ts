/** The pure planner: desired + observed → the next safe step. No I/O, no clock. */
export { parseIntOrPercent, resolveFenceposts, scaledValue, validateRollingUpdate } from './fenceposts.js';
export type { IntOrPercentParse } from './fenceposts.js';
export { applyPlannedActions, isActive } from './observed.js';
export { pickReplicasToDelete, pickZone } from './placement.js';
export { describeAction, planStep } from './plan.js';
export type { PlanStep } from './plan.js';
export { planReplicaSets } from './replicaset.js';
export type { ReplicaSetOptions, ReplicaSetPlan } from './replicaset.js';
export { newRSNewReplicas, planRollout } from './rolling.js';
export {
  checkInvariants,
  deploymentStatus,
  fencepostsOf,
  hasProgressed,
  isAvailable,
  isRolloutComplete,
  progressDeadlineExceeded,
  replicaSetCounts,
  wouldBreach,
} from './status.js';
export type * from './types.js';
