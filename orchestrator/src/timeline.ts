/**
 * The typed, timestamped event timeline of a run. Stamps are monotonic ms (common/clock.ts),
 * so every failed request can be lined up with the replica, zone and rollout step around it.
 */
import type { ExitKind } from './runtime/types.js';

interface Base {
  /** Monotonic ms (common/clock.ts). */
  t: number;
}

export interface ReplicaRef {
  replica: string;
  zone: string;
  version: string;
  revision: number;
}

export type TimelineEvent =
  | (Base & ReplicaRef & { type: 'replica.started'; endpoint: string })
  | (Base & ReplicaRef & { type: 'replica.ready' })
  | (Base & ReplicaRef & { type: 'replica.unready'; reason: string })
  | (Base & ReplicaRef & { type: 'replica.draining'; reason: DeleteReason })
  /** In rotation: applyLagMs from Ready (the controller's decision) to the data plane having added it. */
  | (Base & ReplicaRef & { type: 'replica.routed'; applyLagMs: number })
  /** Out of rotation: applyLagMs from the controller's unroute to the data plane applying it (null: not reported). */
  | (Base & ReplicaRef & { type: 'replica.unrouted'; inFlightAtRemoval: number; applyLagMs: number | null })
  | (Base & ReplicaRef & { type: 'replica.pre-stop'; ok: boolean; detail: string })
  | (Base & ReplicaRef & { type: 'replica.final-counts'; ok: boolean; responses: number | null })
  | (Base & ReplicaRef & { type: 'replica.terminated'; exit: ExitKind; code: number | null; signal: string | null })
  | (Base & ReplicaRef & { type: 'replica.start-failed'; error: string })
  | (Base & { type: 'replicaset.scaled'; revision: number; version: string; from: number; to: number; step: number })
  | (Base & { type: 'rollout.started'; revision: number; version: string; fromVersion: string | null })
  | (Base & { type: 'rollout.completed'; revision: number; version: string; durationMs: number })
  | (Base & { type: 'rollout.failed'; revision: number; version: string; reason: string })
  | (Base & { type: 'rollback.started'; toRevision: number; version: string; automatic: boolean })
  | (Base & { type: 'deployment.scaled'; from: number; to: number })
  | (Base & { type: 'zone.down'; zone: string; mode: ZoneFailureMode; replicas: string[] })
  | (Base & { type: 'zone.up'; zone: string })
  | (Base & { type: 'workload.recovered'; ready: number; desired: number; afterMs: number })
  | (Base & { type: 'invariant.breach'; invariant: InvariantName; detail: string; available: number; total: number });

export type TimelineEventType = TimelineEvent['type'];

export type ZoneFailureMode = 'crash' | 'hang';

export type DeleteReason = 'scale-down' | 'rollout' | 'lost' | 'unhealthy' | 'shutdown';

export type InvariantName = 'min-available' | 'max-total';
