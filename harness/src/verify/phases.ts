/**
 * What was going on at time t: the rollout step or the fault in progress. Built from the
 * orchestrator timeline (ms from origin), so every failed request can be attributed to
 * "rollout v2 · step 3 (v1 6→5)" or "zone b crash (undetected)".
 */
import type { TimelineEvent } from '../../../orchestrator/index.js';
import type { Band } from '../result/types.js';

export interface Phase {
  /** step: a timeline step with no orchestrator events of its own (exec, http), while it ran. */
  kind: 'rollout' | 'zone' | 'step';
  label: string;
  startMs: number;
  /** When its effects ended (old replicas gone, zone back), or null if it lasted to the end. */
  endMs: number | null;
  /** Sub-steps inside the phase (rollout scale steps, zone detection), in time order. */
  marks: { atMs: number; label: string }[];
}

export function buildPhases(events: readonly TimelineEvent[]): Phase[] {
  const phases: Phase[] = [];
  let rollout: Phase | null = null;
  let rolloutRevision = -1;
  const retiring = new Set<string>();
  const zones = new Map<string, Phase>();
  for (const e of events) {
    switch (e.type) {
      case 'rollout.started':
      case 'rollback.started': {
        if (e.type === 'rollback.started') break; // the rollout.started that follows carries the details
        if (rollout && rollout.endMs === null) rollout.endMs = e.t;
        rollout = {
          kind: 'rollout',
          label: e.fromVersion ? `rollout ${e.fromVersion}→${e.version}` : `initial rollout ${e.version}`,
          startMs: e.t,
          endMs: null,
          marks: [],
        };
        rolloutRevision = e.revision;
        retiring.clear();
        phases.push(rollout);
        break;
      }
      case 'replicaset.scaled':
        if (rollout && rollout.endMs === null) {
          rollout.marks.push({ atMs: e.t, label: `step ${e.step} (${e.version} ${e.from}→${e.to})` });
        }
        break;
      case 'replica.draining':
        if (rollout && (e.reason === 'rollout' || e.reason === 'scale-down')) retiring.add(e.replica);
        break;
      case 'replica.terminated':
        if (rollout && retiring.delete(e.replica) && rollout.endMs !== null && retiring.size === 0) {
          // The rollout's effects last until its last old replica has exited.
          rollout.endMs = Math.max(rollout.endMs, e.t);
        }
        break;
      case 'rollout.completed':
      case 'rollout.failed':
        if (rollout && e.revision === rolloutRevision) {
          rollout.endMs = e.t;
          rollout.marks.push({ atMs: e.t, label: e.type === 'rollout.completed' ? 'old replicas terminating' : 'failed' });
        }
        break;
      case 'zone.down': {
        const phase: Phase = { kind: 'zone', label: `zone ${e.zone} ${e.mode}`, startMs: e.t, endMs: null, marks: [{ atMs: e.t, label: 'undetected' }] };
        zones.set(e.zone, phase);
        phases.push(phase);
        break;
      }
      case 'replica.unready': {
        const phase = zones.get(e.zone);
        if (phase && phase.endMs === null && e.reason.includes('zone') && !phase.marks.some((m) => m.label === 'detected')) {
          phase.marks.push({ atMs: e.t, label: 'detected' });
        }
        break;
      }
      case 'workload.recovered':
        for (const phase of zones.values()) {
          if (phase.endMs === null && !phase.marks.some((m) => m.label === 'recovered')) phase.marks.push({ atMs: e.t, label: 'recovered' });
        }
        break;
      case 'zone.up': {
        const phase = zones.get(e.zone);
        if (phase && phase.endMs === null) phase.endMs = e.t;
        zones.delete(e.zone);
        break;
      }
      default:
        break;
    }
  }
  return phases;
}

/** A step judged by whether it ran (exec, http), as it ran: ms from origin, end null if still running. */
export interface RanStep {
  label: string;
  startMs: number;
  endMs: number | null;
}

const STEP_LABEL_MAX = 80;

/**
 * The orchestrator's phases plus one per command or call step, in start order: in target mode
 * there are no orchestrator events, and a request failed while `kubectl rollout restart` ran is
 * that step's, not steady state's.
 */
export function withStepPhases(phases: readonly Phase[], steps: readonly RanStep[]): Phase[] {
  const own = steps.map((s): Phase => ({
    kind: 'step',
    label: s.label.length > STEP_LABEL_MAX ? `${s.label.slice(0, STEP_LABEL_MAX - 1)}…` : s.label,
    startMs: s.startMs,
    endMs: s.endMs,
    marks: [],
  }));
  // Stable: phases that start together keep the orchestrator's order.
  return [...phases, ...own].sort((a, b) => a.startMs - b.startMs);
}

/** The label of the phase (and its current sub-step) covering t, innermost (latest-started) first. */
export function phaseAt(phases: readonly Phase[], t: number): string | null {
  for (let i = phases.length - 1; i >= 0; i--) {
    const p = phases[i];
    if (!p || t < p.startMs || (p.endMs !== null && t > p.endMs)) continue;
    let mark: string | null = null;
    for (const m of p.marks) if (m.atMs <= t) mark = m.label;
    return mark ? `${p.label} · ${mark}` : p.label;
  }
  return null;
}

export function bandsOf(phases: readonly Phase[], warmupMs: number): Band[] {
  const bands: Band[] = [];
  if (warmupMs > 0) bands.push({ kind: 'warmup', label: 'warm-up', startMs: 0, endMs: warmupMs });
  for (const p of phases) {
    // A command step's own band is its disruption window (disruption.ts), not a rollout or zone band.
    if (p.kind === 'step' || (p.kind === 'rollout' && p.label.startsWith('initial'))) continue;
    bands.push({ kind: p.kind === 'rollout' ? 'rollout' : 'zone-down', label: p.label, startMs: p.startMs, endMs: p.endMs });
  }
  return bands;
}

/** [start, end) spans, as plain pairs. */
export type Span = readonly [number, number];

/**
 * `spans` with every part covered by `minus` cut out (both lists in any order; the result is
 * sorted and never holds an empty span).
 */
export function spansMinus(spans: readonly Span[], minus: readonly Span[]): Span[] {
  const cuts = [...minus].filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: Span[] = [];
  for (const [start, end] of [...spans].sort((x, y) => x[0] - y[0])) {
    let from = start;
    for (const [a, b] of cuts) {
      if (b <= from || a >= end) continue;
      if (a > from) out.push([from, a]);
      from = Math.max(from, b);
      if (from >= end) break;
    }
    if (from < end) out.push([from, end]);
  }
  return out;
}

/**
 * When a zone failure's retries are the zone's, not a rollout's: from the zone going down until
 * the workload was back to full strength (or the zone came back, or the end).
 */
export function zoneDisruptionSpans(phases: readonly Phase[], endMs: number): Span[] {
  return phases.filter((p) => p.kind === 'zone').map((p): Span => [p.startMs, p.marks.find((m) => m.label === 'recovered')?.atMs ?? p.endMs ?? endMs]);
}
