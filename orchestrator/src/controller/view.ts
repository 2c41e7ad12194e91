/**
 * The controller's view for the admin API and the reports: the deployment's status and
 * conditions, its ReplicaSets, zones and live replicas, counted from the records.
 */
import type { DeploymentStatus } from '../planner/types.js';
import type { ControllerContext } from './context.js';
import type { ControllerView } from './types.js';

/** What only the reconcile loop knows; the rest is read from the shared context. */
export interface DeploymentFacts {
  status: DeploymentStatus;
  revision: number;
  conditions: ControllerView['conditions'];
  rolloutInProgress: boolean;
}

export function controllerView(ctx: ControllerContext, facts: DeploymentFacts): ControllerView {
  const { status } = facts;
  const active = [...ctx.records.values()].filter((r) => r.phase === 'starting' || r.phase === 'running');
  return {
    name: ctx.spec.name,
    desiredReplicas: ctx.spec.replicas,
    revision: facts.revision,
    version: ctx.spec.template.version,
    status,
    conditions: facts.conditions,
    replicaSets: ctx.replicaSets.map((rs) => ({
      revision: rs.revision,
      version: rs.template.version,
      replicas: rs.replicas,
      active: active.filter((r) => r.revision === rs.revision).length,
      ready: active.filter((r) => r.revision === rs.revision && r.ready).length,
    })),
    zones: ctx.zones.map((z) => ({
      name: z.name,
      up: z.up,
      replicas: active.filter((r) => r.zone === z.name).length,
      ready: active.filter((r) => r.zone === z.name && r.ready).length,
    })),
    replicas: [...ctx.records.values()]
      .filter((r) => r.exitedMs === null)
      .map((r) => ({
        id: r.id,
        zone: r.zone,
        version: r.version,
        revision: r.revision,
        phase: r.phase,
        ready: r.ready,
        endpoint: r.started ? `${r.started.endpoint.host}:${r.started.endpoint.port}` : null,
      })),
    rolloutInProgress: facts.rolloutInProgress,
  };
}
