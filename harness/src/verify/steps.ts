/**
 * Each timeline step judged by itself: the step's action module reads what it did from its run
 * record and the orchestrator's timeline (timeline/outcome.ts; an action with no reader of its
 * own, exec or http, is judged by whether it ran). Pure: planned steps + step records +
 * timeline (ms from origin) in, plain data out (docs/architecture.md, "Add a timeline action").
 */
import type { TimelineEvent } from '../../../orchestrator/index.js';
import type { PlannedStep } from '../scenario/resolve.js';
import { ranOutcome, type StepOutcome as OutcomeOf } from '../timeline/outcome.js';
import { actionOf } from '../timeline/registry.js';
import type { StepRecord } from './verify.js';

export type StepOutcome = OutcomeOf<PlannedStep>;

export function resolveSteps(planned: readonly PlannedStep[], records: readonly StepRecord[], events: readonly TimelineEvent[]): StepOutcome[] {
  return planned.map((step, i): StepOutcome => {
    const n = i + 1;
    const ran = records.find((s) => s.step === step) ?? null;
    if (!ran) return { n, step, ran, status: 'not-run', endMs: null, detail: 'never executed (the load ended first)' };
    const def = actionOf(step);
    return (def.outcome ? def.outcome(n, step, ran, events) : ranOutcome(n, step, ran)) as StepOutcome;
  });
}
