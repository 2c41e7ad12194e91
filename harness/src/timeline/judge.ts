/**
 * The checks of the steps that change zerodrop's own deployment, from what each did
 * (outcome.ts): a rollout passes only when ITS revision completed under load; a rollback, a
 * secret rotation and a scale likewise; a zone failure was injected and the workload recovered;
 * a step that exercised nothing is INVALID, not PASS. Each action module names its judge
 * (`judge` in types.ts); verify/checks/events.ts runs them.
 */
import type { Check } from '../result/types.js';
import { check, skipped } from '../verify/check.js';
import type { StepOutcome } from './outcome.js';
import type { CheckContext, StepBase } from './types.js';

const NOTHING_EXERCISED =
  'a step that changes nothing proves nothing: fix the scenario (a zone with replicas, a scale to another count, a new version, a zone that is down)';

/** Whether its effect ended while the load was still being sent, and words for when it did not. */
function timing(o: StepOutcome, ctx: CheckContext): { inLoad: boolean; late: string } {
  const inLoad = o.endMs !== null && o.endMs <= ctx.sendEnd;
  return { inLoad, late: o.endMs !== null && !inLoad ? ' — after the load had ended' : '' };
}

/** The INVALID row of a step that changed nothing (a zone with no replicas, a scale to the same count…). */
function nothingExercised(o: StepOutcome, id: string, title: string, expected: string): Check {
  return check({
    id,
    group: 'events',
    title,
    status: 'invalid',
    expected,
    actual: o.detail,
    broken: `${o.step.label} exercised nothing: ${o.detail}`,
    explanation: NOTHING_EXERCISED,
  });
}

/** A step judged by whether its effect was complete while the load was still being sent. */
function completedUnderLoad(
  o: StepOutcome,
  id: string,
  ctx: CheckContext,
  words: { title: string; expected: string; notDone: string; explanation?: string },
): Check[] {
  if (o.status === 'no-effect') return [nothingExercised(o, id, words.title, words.expected)];
  const { inLoad, late } = timing(o, ctx);
  const ok = o.status === 'took-effect' && inLoad;
  return [
    check({
      id,
      group: 'events',
      title: words.title,
      status: ok ? 'pass' : 'fail',
      expected: words.expected,
      actual: `${o.detail}${late}`,
      broken: `${o.step.label} ${words.notDone}: ${o.detail}${late}`,
      explanation: ok ? undefined : words.explanation,
    }),
  ];
}

/** rollout, rollback, rotate-secret (a rollout of the secret's new value). */
export function rolloutJudge(o: StepOutcome, id: string, ctx: CheckContext): Check[] {
  const what = o.step.kind === 'rollback' ? 'rollback' : 'rollout';
  return completedUnderLoad(o, id, ctx, {
    title: `${o.step.label}: its own revision completed under load`,
    expected: `the ${what}'s revision complete (all replicas updated and available) before the load ended, not failed or superseded first`,
    notDone: 'did not complete',
    explanation: `a ${what} that never finishes (readiness never true, progress deadline, superseded) is a failed deploy, whatever a later step does; if it was just slow, start it earlier or lengthen the load`,
  });
}

export function scaleJudge(o: StepOutcome<StepBase & { replicas: number }>, id: string, ctx: CheckContext): Check[] {
  return completedUnderLoad(o, id, ctx, {
    title: `${o.step.label}: the workload reached ${o.step.replicas} replicas under load`,
    expected: `${o.step.replicas} replicas Ready and every retired one gone before the load ended`,
    notDone: 'did not take effect',
  });
}

/** crash-zone, hang-zone: two checks, <id>-injected and <id>-recovered. */
export function zoneFailureJudge(o: StepOutcome<StepBase & { zone: string }>, id: string, ctx: CheckContext): Check[] {
  const { step } = o;
  const label = step.label;
  const { inLoad, late } = timing(o, ctx);
  const replicas = ctx.replicas;
  const injectedTitle = `${label}: injected`;
  const recoveredTitle = `${label}: workload back to full strength`;
  const expectedRecovered = `${replicas} replicas available again (on the surviving zones) before the load ended`;
  if (o.eventMs === undefined) {
    return [
      check({
        id: `${id}-injected`,
        group: 'events',
        title: injectedTitle,
        status: 'fail',
        expected: `zone ${step.zone} failed (${step.kind})`,
        actual: o.detail,
        broken: `${label} was not injected`,
      }),
      check({
        id: `${id}-recovered`,
        group: 'events',
        title: recoveredTitle,
        status: 'fail',
        expected: expectedRecovered,
        actual: 'never recovered',
        broken: `${label}: never recovered`,
      }),
    ];
  }
  if (o.status === 'no-effect') {
    return [
      nothingExercised(o, `${id}-injected`, injectedTitle, `zone ${step.zone} failed (${step.kind}) with replicas in it`),
      skipped(`${id}-recovered`, 'events', recoveredTitle, expectedRecovered, 'nothing failed, so nothing had to recover'),
    ];
  }
  const ok = o.status === 'took-effect' && inLoad;
  return [
    check({
      id: `${id}-injected`,
      group: 'events',
      title: injectedTitle,
      status: 'pass',
      expected: `zone ${step.zone} failed (${step.kind})`,
      actual: `${o.hit} replicas ${step.kind === 'crash-zone' ? 'killed' : 'frozen'}`,
    }),
    check({
      id: `${id}-recovered`,
      group: 'events',
      title: recoveredTitle,
      status: ok ? 'pass' : 'fail',
      expected: expectedRecovered,
      actual: o.status === 'took-effect' ? `${o.detail.replace(/^.*; /, '')}${late}` : 'never recovered',
      broken: `${label}: the workload was not back to full strength before the load ended`,
      explanation: ok ? undefined : 'replacements did not become ready on the surviving zones in time',
    }),
  ];
}

export function recoverZoneJudge(o: StepOutcome<StepBase & { zone: string }>, id: string, _ctx: CheckContext): Check[] {
  const { step } = o;
  const label = step.label;
  if (o.status === 'no-effect') return [nothingExercised(o, id, label, `zone ${step.zone} brought back up`)];
  const ok = o.status === 'took-effect';
  return [
    check({
      id,
      group: 'events',
      title: label,
      status: ok ? 'pass' : 'fail',
      expected: `zone ${step.zone} brought back up`,
      actual: o.detail,
      broken: `${label} failed: ${o.detail}`,
    }),
  ];
}
