/**
 * The controller's public surface; the parts live in controller/ (deployment, kubelet, zones,
 * counters, the shared context and types).
 */
export { DeploymentController } from './controller/deployment.js';
export type { ControllerOptions, ControllerView, ProberFactory, ReplicaRecord, RolloutHandle, RolloutOutcome } from './controller/types.js';
export { monotonicMs } from '../../common/src/clock.js';
