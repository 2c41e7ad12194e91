/**
 * ONE immutable snapshot of a finished run, taken once from VerifyInput: plain data (the
 * controller is read once: its timeline, its replica records, its final view), deep-copied and
 * frozen, plus what every check derives from it (the ledger tally, the measured window, each
 * step's outcome). Check modules are pure functions of it; none sees the live controller.
 *
 * Fields added to VerifyInput reach the snapshot as they are, copied (structuredClone: plain data,
 * arrays, Maps; a class instance would lose its methods) and frozen with the rest.
 */
import type { ControllerView, ReplicaRecord, TimelineEvent } from '../../../orchestrator/index.js';
import { achievedRate as achievedRateOf, scheduleLag, type ScheduleLag } from '../driver/analysis.js';
import type { LatencySummary, ReplicaRow } from '../result/types.js';
import { RelativeLedger } from './ledger-view.js';
import { buildPhases, withStepPhases, type Phase, type RanStep } from './phases.js';
import { actionOf } from '../timeline/registry.js';
import { replicaReconciliation, replicaRows, type ReplicaReconciliation } from './replicas.js';
import { resolveSteps, type StepOutcome } from './steps.js';
import { tallyLedger, type Tally } from './tally.js';
import type { VerifyInput } from './verify.js';

/** A replica record as plain data (no start promise). Times are monotonic ms, as recorded. */
export type ReplicaSnapshot = Omit<ReplicaRecord, 'startTask'>;

interface Derived {
  /** Monotonic ms of time 0; every time below is ms from it unless named otherwise. */
  origin: number;
  /** The ledger on the report's clock (columnar: read-only by convention, too big to copy). */
  ledger: RelativeLedger;
  /** The orchestrator timeline, t in ms from origin. */
  events: TimelineEvent[];
  replicas: ReplicaSnapshot[];
  /** The controller's view at the end of the run. */
  finalView: ControllerView;
  /** The measured window: the planned load after warm-up, on the wall clock. */
  measured: { from: number; to: number };
  phases: Phase[];
  steps: VerifyInput['steps'];
  stepOutcomes: StepOutcome[];
  tally: Tally;
  /** Requests actually written per second over the measured window. */
  achievedRate: number;
  latency: LatencySummary;
  lag: ScheduleLag;
  replicaRows: ReplicaRow[];
  replicaCounts: ReplicaReconciliation;
}

/**
 * Deep-frozen at run time (a check that writes to it throws); typed Readonly at the top level so
 * the pure helpers it is handed to keep their plain types.
 */
export type RunSnapshot = Readonly<Omit<VerifyInput, 'controller' | 'ledger' | 'steps'> & Derived>;

export function takeSnapshot(input: VerifyInput): RunSnapshot {
  const { controller, ledger, ...rest } = input;
  const origin = input.anchor.monotonicMs;
  // One structuredClone keeps shared references shared (a step record's step is a plan step).
  const copy = structuredClone({
    ...rest,
    timeline: controller.timeline,
    records: controller.allReplicas.map(({ startTask: _, ...r }): ReplicaSnapshot => r),
    finalView: controller.view(),
  });
  const { timeline, records, ...own } = copy;
  const plan = own.plan;
  const view = new RelativeLedger(ledger, origin);
  const events = timeline.map((e) => ({ ...e, t: e.t - origin })) as TimelineEvent[];
  const stepOutcomes = resolveSteps(plan.steps, own.steps, events);
  const phases = withStepPhases(buildPhases(events), ranCommandSteps(stepOutcomes));
  const zoneOf = new Map(records.map((r) => [r.id, r.zone]));
  const warmupEnd = plan.driver.warmupMs;
  // The measured window is the planned load after warm-up, on the wall clock: a driver that fell
  // behind does not get to stretch it (what it never sent is `unsent`, and lowers the rate).
  const measured = { from: warmupEnd, to: Math.max(warmupEnd + 1, plan.driver.durationMs) };
  const tally = tallyLedger(view, zoneOf, phases, own.runId);
  const rows = replicaRows(records, own.proxyStats, tally.servedBy, origin, plan.deployment.template.metricsPath !== null, own.summary.endedAt);
  const derived: Omit<Derived, 'ledger'> = {
    origin,
    events,
    replicas: records,
    finalView: own.finalView,
    measured,
    phases,
    steps: own.steps,
    stepOutcomes,
    tally,
    achievedRate: achievedRateOf(ledger, origin + measured.from, origin + measured.to).sentPerSecond,
    latency: view.latency(measured.from, measured.to),
    lag: scheduleLag(ledger, origin + measured.from, origin + measured.to, plan.driver.maxLateMs),
    replicaRows: rows,
    replicaCounts: replicaReconciliation(rows, own.proxyStats),
  };
  const frozen = deepFreeze({ ...own, ...derived });
  return Object.freeze({ ...frozen, ledger: view });
}

/** Steps judged by whether they ran (exec, http: the actions with checks of their own), as they ran. */
function ranCommandSteps(outcomes: readonly StepOutcome[]): RanStep[] {
  return outcomes.flatMap((o) => (o.ran && actionOf(o.step).checks ? [{ label: o.step.label, startMs: o.ran.startedMs, endMs: o.ran.endedMs }] : []));
}

function deepFreeze<T>(o: T): T {
  if (o === null || typeof o !== 'object' || ArrayBuffer.isView(o) || Object.isFrozen(o)) return o;
  if (o instanceof Map) for (const v of o.values()) deepFreeze(v);
  else for (const v of Object.values(o as object)) deepFreeze(v);
  return Object.freeze(o);
}
