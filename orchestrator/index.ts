/**
 * The orchestrator's public surface: the harness (and the bench) come in through here, never through
 * orchestrator/src/* (docs/architecture.md, "Floors"). What is exported is what a composition root
 * needs: the spec and its defaults, the controller and its events, runtimes, data planes, metrics and
 * service discovery for Prometheus.
 */
export * from './src/spec.js';
export type * from './src/timeline.js';
export { DeploymentController, monotonicMs } from './src/controller.js';
export type { ControllerOptions, ControllerView, ReplicaRecord, RolloutHandle, RolloutOutcome } from './src/controller.js';
export { resolveFenceposts } from './src/planner/fenceposts.js';
export { readTrafficResponses } from './src/replica-counters.js';
export { OrchestratorMetrics, ROLLOUT_HOLD_MS_DEFAULT } from './src/metrics.js';
export { ReplicaFileSd, writeTargetGroups, isLoopbackHost, targetAddress, type TargetGroup } from './src/file-sd.js';
export { startAdminApi } from './src/admin-api.js';

// Runtimes.
export type { Runtime } from './src/runtime/types.js';
export { createRuntime } from './src/runtime/select.js';
export { applyHarnessPriority, restoreHarnessPriority, parseCpuPriorities } from './src/runtime/priorities.js';
export { DEFAULT_RUNTIME, RUNTIME_NAMES, isRuntimeName, type RuntimeName } from './src/runtime/names.js';
export { SupervisedChild, freeLoopbackPort, parseAnnouncement, signalGroup, type ChildExit } from './src/runtime/supervised-child.js';
export { ProcessGroupRegistry, reapOrphanedGroups } from './src/runtime/process-registry.js';
export { SAMPLE_APP_ADMIN_CONTAINER_PORT, SAMPLE_APP_CONTAINER_PORT, SAMPLE_APP_IMAGE, UNPRIVILEGED_USER } from './src/runtime/docker-image.js';
export { hostNetworkRefusal } from './src/runtime/docker-endpoint.js';
export { DATA_DIR_ENV, HostVolumes, defaultVolumeRoot, numericUser, reapOrphanedVolumes, type RunVolume, type VolumeSpec } from './src/runtime/volumes.js';

// Data planes.
export * from './src/proxy/index.js';
export {
  DATA_PLANE_CHOICES,
  DATA_PLANE_ENGINES,
  DEFAULT_DATA_PLANE_CHOICE,
  chooseDataPlane,
  isDataPlaneChoice,
  isDataPlaneEngine,
  type DataPlaneChoice,
  type DataPlaneEngine,
} from './src/proxy/engines.js';
export { preflightDataPlane, startDataPlane, type DataPlaneOptions } from './src/proxy/select.js';
export { HAPROXY_BIN, haproxyAvailability } from './src/proxy/haproxy/binary.js';
export { defaultsSection, globalSection } from './src/proxy/haproxy/config.js';

// Pod lifecycle (stop signal, preStop, startup probe) and ids attested by the data plane.
export { STOP_SIGNALS, DEFAULT_STOP_SIGNAL, type StopSignal, type PreStopHook, type PodLifecycle, type ExecResult } from './src/lifecycle/types.js';
export { execWithDeadline } from './src/lifecycle/exec.js';
export { idModeFor, type IdAttestationStats, type IdMode } from './src/proxy/id-attestation.js';
