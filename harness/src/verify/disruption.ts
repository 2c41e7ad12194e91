/**
 * The disruption figures of each step that ran (result assembly, not a check): traffic before,
 * during and after it by actual time (ledger-view.ts), its longest gap, what failed and what a
 * retry saved while it lasted. Each step has its own window: a rollout or rollback until its
 * revision completed (or its runner gave up), a scale until the workload reached the new count,
 * a zone failure until the workload was back to full strength.
 */
import type { Disruption, DisruptionEvent } from '../result/types.js';
import type { RunSnapshot } from './snapshot.js';
import type { StepOutcome } from './steps.js';
import { actionOf } from '../timeline/registry.js';

const WINDOW_MS = 5000;

export function disruption(run: RunSnapshot): Disruption {
  const { tally } = run;
  const gap = run.ledger.longestGap(run.measured.from, run.measured.to);
  return {
    longestGapMs: gap.gapMs,
    longestGapAtMs: gap.atMs,
    failed: tally.failed,
    savedByRetry: tally.retriedOk,
    timeToRecoverMs: tally.lastFailureEndMs !== null && tally.firstFailureMs !== null ? tally.lastFailureEndMs - tally.firstFailureMs : null,
    events: run.stepOutcomes.filter((o) => o.ran !== null).map((o) => disruptionEvent(run, o)),
  };
}

/** The step's disruption window ends where its action says (timeline/actions/), by default when its effect ended. */
function windowEnd(o: StepOutcome): number | null {
  const def = actionOf(o.step);
  return def.windowEnd ? def.windowEnd(o) : o.endMs;
}

function disruptionEvent(run: RunSnapshot, o: StepOutcome): DisruptionEvent {
  const view = run.ledger;
  const { measured } = run;
  const start = o.ran!.startedMs;
  const end = windowEnd(o);
  const duringEnd = Math.max(start + 1, Math.min(end ?? measured.to, measured.to));
  const before = view.window(Math.max(measured.from, start - WINDOW_MS), start);
  const during = view.window(start, duringEnd);
  const after = view.window(duringEnd, Math.min(measured.to, duringEnd + WINDOW_MS));
  let lastFailureEnd: number | null = null;
  view.forEachInFlight(start, duringEnd, (i) => {
    if (view.isFailed(i)) lastFailureEnd = Math.max(lastFailureEnd ?? 0, view.endAt(i));
  });
  const kind: DisruptionEvent['kind'] = actionOf(o.step).disruptionKind;
  return {
    id: `${o.n}-${o.step.kind}`,
    kind,
    label: o.step.label,
    startMs: start,
    endMs: end,
    before,
    during,
    after,
    failed: during.failed,
    savedByRetry: during.retried,
    longestGapMs: view.longestGap(start, duringEnd).gapMs,
    timeToRecoverMs: lastFailureEnd === null ? null : (lastFailureEnd as number) - start,
  };
}
