/**
 * What a timeline step did, read from its run record and the orchestrator's timeline (ms from
 * origin): whether IT took effect (a rollout: its own revision completed, before anything
 * superseded it), whether it exercised anything at all, and when its effect ended (the end of
 * its disruption window). Each action module names its reader (`outcome` in types.ts);
 * verify/steps.ts runs them (docs/architecture.md, "Add a timeline action"). Pure.
 */
import type { TimelineEvent } from '../../../orchestrator/index.js';
import type { StepBase, StepRecord } from './types.js';

type Ev<T extends TimelineEvent['type']> = Extract<TimelineEvent, { type: T }>;
type ZoneStep = StepBase & { zone: string };

export interface StepOutcome<S extends StepBase = StepBase> {
  /** 1-based position in the timeline (check ids: events.N-kind). */
  n: number;
  step: S;
  /** What the runner recorded, or null if the step never ran (the load ended first). */
  ran: StepRecord<S> | null;
  /**
   * took-effect: it did what it was asked (rollout complete, zone down, scale reached…);
   * no-effect: it ran but exercised nothing (zone with no replicas, scale to the current count,
   * a rollout of the revision already running, a zone that was not down);
   * failed: it did not take effect (deadline, superseded, never recovered…); not-run.
   */
  status: 'took-effect' | 'no-effect' | 'failed' | 'not-run';
  /** When its effect ended (rollout complete, workload recovered, scale reached), or null. */
  endMs: number | null;
  /** When its own first event happened (rollout.started, deployment.scaled, zone.down, zone.up). */
  eventMs?: number;
  /** Words for the check: what happened. */
  detail: string;
  /** rollout / rollback: the revision this step rolled out. */
  revision?: number;
  version?: string;
  /** crash-zone / hang-zone: replicas the failure hit. */
  hit?: number;
}

function firstAfter<T extends TimelineEvent['type']>(
  events: readonly TimelineEvent[],
  type: T,
  fromMs: number,
  pred: (e: Ev<T>) => boolean = () => true,
): Ev<T> | undefined {
  return events.find((e): e is Ev<T> => e.type === type && e.t >= fromMs && pred(e as Ev<T>));
}

/** A step's own events start when it ran (1 ms of slack: the runner and the controller read the clock apart). */
const SLACK_MS = 1;

export function rolloutOutcome<S extends StepBase>(n: number, step: S, ran: StepRecord<S>, events: readonly TimelineEvent[]): StepOutcome<S> {
  const started = firstAfter(events, 'rollout.started', ran.startedMs - SLACK_MS);
  if (!started) return { n, step, ran, status: 'failed', endMs: null, detail: `never started (${ran.detail ?? ran.outcome})` };
  const base = { n, step, ran, eventMs: started.t, revision: started.revision, version: started.version };
  // Its effects are judged up to the next rollout (a rollover, an automatic rollback, the next step).
  const next = events.find((e): e is Ev<'rollout.started'> => e.type === 'rollout.started' && e.t > started.t);
  const until = next?.t ?? Number.POSITIVE_INFINITY;
  const mine = (e: { revision: number; t: number }): boolean => e.revision === started.revision && e.t < until;
  const completed = firstAfter(events, 'rollout.completed', started.t, mine);
  // An automatic rollback starts in the same instant its rollout failed.
  const failed = firstAfter(events, 'rollout.failed', started.t, (e) => e.revision === started.revision && e.t <= until);
  const previous = [...events].reverse().find((e): e is Ev<'rollout.started'> => e.type === 'rollout.started' && e.t < started.t);
  const previousDone = previous && firstAfter(events, 'rollout.completed', previous.t, (e) => e.revision === previous.revision && e.t <= started.t);
  if (previous && previousDone && previous.revision === started.revision) {
    return {
      ...base,
      status: 'no-effect',
      endMs: completed?.t ?? null,
      detail: `revision ${started.revision} (${started.version}) was already running: nothing was rolled out`,
    };
  }
  if (failed && (!completed || failed.t < completed.t)) {
    return { ...base, status: 'failed', endMs: null, detail: `revision ${started.revision} (${started.version}) failed: ${failed.reason}` };
  }
  if (!completed) {
    const why = next
      ? `superseded ${((next.t - started.t) / 1000).toFixed(1)} s later by revision ${next.revision} (${next.version})`
      : `not completed (${ran.detail ?? ran.outcome})`;
    return { ...base, status: 'failed', endMs: null, detail: `revision ${started.revision} (${started.version}) ${why}` };
  }
  return {
    ...base,
    status: 'took-effect',
    endMs: completed.t,
    detail: `revision ${started.revision} (${started.version}) completed in ${((completed.t - ran.startedMs) / 1000).toFixed(1)} s`,
  };
}

/**
 * A scale step took effect when the workload reached the new count: that many replicas Ready,
 * and every replica it retired gone (replayed from the timeline).
 */
export function scaleOutcome<S extends StepBase>(n: number, step: S, ran: StepRecord<S>, events: readonly TimelineEvent[]): StepOutcome<S> {
  const scaled = firstAfter(events, 'deployment.scaled', ran.startedMs - SLACK_MS);
  if (!scaled) return { n, step, ran, status: 'failed', endMs: null, detail: `never applied (${ran.detail ?? ran.outcome})` };
  if (scaled.from === scaled.to)
    return { n, step, ran, eventMs: scaled.t, status: 'no-effect', endMs: scaled.t, detail: `already at ${scaled.to} replicas: nothing was scaled` };
  const ready = new Set<string>();
  const retiring = new Set<string>();
  for (const e of events) {
    if (e.type === 'replica.ready') ready.add(e.replica);
    else if (e.type === 'replica.unready' || e.type === 'replica.terminated') ready.delete(e.replica);
    if (e.type === 'replica.draining') {
      ready.delete(e.replica);
      if (e.t >= scaled.t && e.reason === 'scale-down') retiring.add(e.replica);
    }
    if (e.type === 'replica.terminated') retiring.delete(e.replica);
    if (e.t >= scaled.t && ready.size === scaled.to && retiring.size === 0) {
      return {
        n,
        step,
        ran,
        eventMs: scaled.t,
        status: 'took-effect',
        endMs: e.t,
        detail: `${scaled.from} → ${scaled.to} replicas in ${((e.t - ran.startedMs) / 1000).toFixed(1)} s`,
      };
    }
  }
  return {
    n,
    step,
    ran,
    eventMs: scaled.t,
    status: 'failed',
    endMs: null,
    detail: `${scaled.from} → ${scaled.to} asked, ${ready.size} Ready and ${retiring.size} still retiring at the end`,
  };
}

export function zoneDownOutcome<S extends ZoneStep>(n: number, step: S, ran: StepRecord<S>, events: readonly TimelineEvent[]): StepOutcome<S> {
  const down = firstAfter(events, 'zone.down', ran.startedMs - SLACK_MS, (e) => e.zone === step.zone);
  if (!down) return { n, step, ran, status: 'failed', endMs: null, detail: `not injected${ran.detail ? ` (${ran.detail})` : ''}`, hit: 0 };
  const hit = down.replicas.length;
  if (hit === 0) return { n, step, ran, eventMs: down.t, status: 'no-effect', endMs: down.t, detail: `zone ${step.zone} had no replicas: nothing failed`, hit };
  const recovered = firstAfter(events, 'workload.recovered', down.t);
  return {
    n,
    step,
    ran,
    eventMs: down.t,
    status: recovered ? 'took-effect' : 'failed',
    endMs: recovered?.t ?? null,
    detail: `${hit} replicas ${step.kind === 'crash-zone' ? 'killed' : 'frozen'}${recovered && recovered.type === 'workload.recovered' ? `; recovered ${(recovered.afterMs / 1000).toFixed(1)} s after the failure` : '; never recovered'}`,
    hit,
  };
}

/** Steps judged by whether they ran (exec, http: their checks are the action's own, timeline/actions/). */
export function ranOutcome<S extends StepBase>(n: number, step: S, ran: StepRecord<S>): StepOutcome<S> {
  const done = ran.outcome === 'done';
  return { n, step, ran, status: done ? 'took-effect' : 'failed', endMs: ran.endedMs, detail: ran.detail ?? ran.outcome };
}

export function zoneUpOutcome<S extends ZoneStep>(n: number, step: S, ran: StepRecord<S>, events: readonly TimelineEvent[]): StepOutcome<S> {
  if (ran.outcome === 'failed') return { n, step, ran, status: 'failed', endMs: null, detail: `failed: ${ran.detail}` };
  const up = firstAfter(events, 'zone.up', ran.startedMs - SLACK_MS, (e) => e.zone === step.zone);
  if (!up) return { n, step, ran, status: 'no-effect', endMs: null, detail: `zone ${step.zone} was not down: nothing recovered` };
  return { n, step, ran, eventMs: up.t, status: 'took-effect', endMs: up.t, detail: 'done' };
}
