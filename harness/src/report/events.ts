/**
 * Words for orchestrator events (the event log table and the chart markers).
 */
import type { TimelineEvent } from '../../../orchestrator/index.js';
import { fmtDuration, fmtInt } from './format.js';

export interface EventWords {
  /** Short name: "rollout started", "zone down". */
  what: string;
  /** The replica or zone concerned, if any. */
  subject: string | null;
  /** The rest: "v1 → v2", "exit killed (SIGKILL)". */
  detail: string;
}

export function describeEvent(e: TimelineEvent): EventWords {
  switch (e.type) {
    case 'replica.started':
      return { what: 'replica started', subject: e.replica, detail: `${e.version} in zone ${e.zone} at ${e.endpoint}` };
    case 'replica.ready':
      return { what: 'replica ready', subject: e.replica, detail: `${e.version}, zone ${e.zone}` };
    case 'replica.unready':
      return { what: 'replica not ready', subject: e.replica, detail: e.reason };
    case 'replica.draining':
      return { what: 'replica draining', subject: e.replica, detail: `reason: ${e.reason}` };
    case 'replica.routed':
      return { what: 'replica added to proxy', subject: e.replica, detail: `${fmtDuration(e.applyLagMs)} after Ready` };
    case 'replica.unrouted':
      return {
        what: 'replica removed from proxy',
        subject: e.replica,
        detail: `${fmtInt(e.inFlightAtRemoval)} in flight at removal${e.applyLagMs === null ? '' : `, applied ${fmtDuration(e.applyLagMs)} after the unroute`}`,
      };
    case 'replica.pre-stop':
      return { what: e.ok ? 'preStop hook ran' : 'preStop hook failed', subject: e.replica, detail: e.detail };
    case 'replica.final-counts':
      return {
        what: 'final counts read',
        subject: e.replica,
        detail: e.ok ? `${fmtInt(e.responses)} responses` : 'could not be read',
      };
    case 'replica.terminated':
      return {
        what: 'replica exited',
        subject: e.replica,
        detail: `${e.exit}${e.signal ? ` (${e.signal})` : e.code !== null ? ` (code ${e.code})` : ''}`,
      };
    case 'replica.start-failed':
      return { what: 'replica failed to start', subject: e.replica, detail: e.error };
    case 'replicaset.scaled':
      return { what: 'replica set scaled', subject: `${e.version} (rev ${e.revision})`, detail: `${e.from} → ${e.to}, step ${e.step}` };
    case 'rollout.started':
      return { what: 'rollout started', subject: null, detail: `${e.fromVersion ?? '∅'} → ${e.version} (rev ${e.revision})` };
    case 'rollout.completed':
      return { what: 'rollout completed', subject: null, detail: `${e.version} in ${fmtDuration(e.durationMs)}` };
    case 'rollout.failed':
      return { what: 'rollout failed', subject: null, detail: `${e.version}: ${e.reason}` };
    case 'rollback.started':
      return { what: 'rollback started', subject: null, detail: `to ${e.version} (rev ${e.toRevision})${e.automatic ? ', automatic' : ''}` };
    case 'deployment.scaled':
      return { what: 'deployment scaled', subject: null, detail: `${e.from} → ${e.to}` };
    case 'zone.down':
      return { what: 'zone down', subject: `zone ${e.zone}`, detail: `${e.mode}, ${e.replicas.length} replicas: ${e.replicas.join(', ')}` };
    case 'zone.up':
      return { what: 'zone up', subject: `zone ${e.zone}`, detail: '' };
    case 'workload.recovered':
      return { what: 'workload recovered', subject: null, detail: `${e.ready}/${e.desired} ready after ${fmtDuration(e.afterMs)}` };
    case 'invariant.breach':
      return { what: 'invariant breached', subject: e.invariant, detail: `${e.detail} (available ${e.available}, total ${e.total})` };
  }
}

/** Events worth a vertical marker on the charts (the rest would be noise at 20+ replicas). */
const MAJOR: ReadonlySet<TimelineEvent['type']> = new Set([
  'rollout.started',
  'rollout.completed',
  'rollout.failed',
  'rollback.started',
  'deployment.scaled',
  'zone.down',
  'zone.up',
  'workload.recovered',
  'invariant.breach',
]);

export function isMajorEvent(e: TimelineEvent): boolean {
  return MAJOR.has(e.type) || (e.type === 'replica.terminated' && e.exit !== 'graceful') || e.type === 'replica.start-failed';
}

/** One line for a marker tooltip or legend: "rollout started v1 → v2". */
export function eventLine(e: TimelineEvent): string {
  const w = describeEvent(e);
  return [w.what, w.subject, w.detail].filter((x): x is string => !!x).join(' · ');
}
