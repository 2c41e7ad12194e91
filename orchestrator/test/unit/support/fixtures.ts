/**
 * Compact builders for planner inputs. Every field has a boring default, so a table row only
 * states what the row is about.
 */
import {
  DEFAULT_READINESS,
  DEFAULT_RESOURCES,
  DEFAULT_STRATEGY,
  DEFAULT_TERMINATION,
  type DeploymentSpec,
  type IntOrPercent,
  type PodTemplate,
} from '../../../src/spec.js';
import type { DesiredState, ObservedReplica, ObservedState, ReplicaPhase, ReplicaSetState, ZoneState } from '../../../src/planner/types.js';

export function template(version: string): PodTemplate {
  return {
    version,
    command: ['node', 'server.js'],
    image: null,
    containerPort: 8080,
    env: {},
    port: { mode: 'env', envVar: 'PORT' },
    readiness: DEFAULT_READINESS,
    livenessPath: '/livez',
    metricsPath: '/metrics',
    startTimeoutMs: 5_000,
  };
}

export interface SpecOptions {
  replicas?: number;
  maxSurge?: IntOrPercent;
  maxUnavailable?: IntOrPercent;
  minReadySeconds?: number;
  zones?: string[];
  version?: string;
}

export function makeSpec(options: SpecOptions = {}): DeploymentSpec {
  return {
    name: 'web',
    replicas: options.replicas ?? 3,
    zones: options.zones ?? ['a', 'b', 'c'],
    template: template(options.version ?? 'v1'),
    strategy: {
      ...DEFAULT_STRATEGY,
      maxSurge: options.maxSurge ?? DEFAULT_STRATEGY.maxSurge,
      maxUnavailable: options.maxUnavailable ?? DEFAULT_STRATEGY.maxUnavailable,
      minReadySeconds: options.minReadySeconds ?? 0,
    },
    termination: DEFAULT_TERMINATION,
    resources: DEFAULT_RESOURCES,
    revisionHistoryLimit: 10,
  };
}

export function desiredOf(revision: number, options: SpecOptions = {}): DesiredState {
  return { spec: makeSpec({ version: `v${revision}`, ...options }), revision };
}

export function zonesOf(names: string[], down: string[] = []): ZoneState[] {
  return names.map((name) => ({ name, up: !down.includes(name) }));
}

export function rs(revision: number, replicas: number, createdAtMs = revision): ReplicaSetState {
  return { revision, template: template(`v${revision}`), replicas, createdAtMs };
}

let seq = 0;

export interface ReplicaOptions {
  id?: string;
  zone?: string;
  phase?: ReplicaPhase;
  ready?: boolean;
  readySinceMs?: number | null;
  seq?: number;
}

/** A replica; by default running, Ready long ago (available), in zone a. */
export function replica(revision: number, options: ReplicaOptions = {}): ObservedReplica {
  seq += 1;
  const phase = options.phase ?? 'running';
  const ready = options.ready ?? phase === 'running';
  return {
    id: options.id ?? `r${revision}-${options.zone ?? 'a'}-${seq}`,
    revision,
    zone: options.zone ?? 'a',
    phase,
    ready,
    readySinceMs: options.readySinceMs !== undefined ? options.readySinceMs : ready ? 0 : null,
    createdAtMs: 0,
    seq: options.seq ?? seq,
  };
}

/** `count` available replicas of `revision`, spread a, b, c, a, ... */
export function spread(revision: number, count: number, zones = ['a', 'b', 'c'], options: ReplicaOptions = {}): ObservedReplica[] {
  return Array.from({ length: count }, (_, i) => replica(revision, { ...options, zone: zones[i % zones.length] ?? 'a' }));
}

export function observedOf(parts: { replicaSets: ReplicaSetState[]; replicas: ObservedReplica[]; zones?: ZoneState[]; nowMs?: number }): ObservedState {
  return {
    nowMs: parts.nowMs ?? 100_000,
    replicaSets: parts.replicaSets,
    replicas: parts.replicas,
    zones: parts.zones ?? zonesOf(['a', 'b', 'c']),
  };
}
