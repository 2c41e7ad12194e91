/**
 * Each timeline step, judged by itself (steps.ts says what each one did): a rollout passes only
 * when ITS revision completed under load; a rollback and a scale likewise; a zone failure was
 * injected and the workload recovered; a step that exercised nothing is INVALID, not PASS.
 * An interrupted run cannot show its events happened: inconclusive, not a failure.
 */
import type { Check } from '../../result/types.js';
import { check, skipped, type CheckModule } from '../check.js';
import type { RunSnapshot } from '../snapshot.js';
import type { StepOutcome } from '../steps.js';
import { actionOf } from '../../timeline/registry.js';

export const eventChecks: CheckModule = {
  name: 'events',
  ids: [
    'events.N-rollout',
    'events.N-rollback',
    'events.N-scale',
    'events.N-crash-zone-injected',
    'events.N-crash-zone-recovered',
    'events.N-hang-zone-injected',
    'events.N-hang-zone-recovered',
    'events.N-recover-zone',
    'events.N-exec',
    'events.N-http',
    'events.final-version',
  ],
  checks(run: RunSnapshot): Check[] {
    const sendEnd = run.measured.to;
    const out = run.stepOutcomes.flatMap((o) => stepChecks(o, sendEnd, run));
    const last = finalVersion(run);
    if (last) out.push(last);
    return run.interrupted ? out.map((c) => (c.status === 'fail' ? { ...c, status: 'invalid' as const, broken: `${c.broken} (the run was interrupted)` } : c)) : out;
  },
};

const NOTHING_EXERCISED = 'a step that changes nothing proves nothing: fix the scenario (a zone with replicas, a scale to another count, a new version, a zone that is down)';

function stepChecks(o: StepOutcome, sendEnd: number, run: RunSnapshot): Check[] {
  const replicas = run.plan.deployment.replicas;
  const { step, n } = o;
  const id = `events.${n}-${step.kind}`;
  const label = step.label;
  if (o.status === 'not-run') {
    const c = { status: 'fail' as const, expected: 'executed', actual: o.detail, broken: `${label} never ran (the load ended first)`, explanation: 'the step was scheduled after the run ended' };
    return step.kind === 'crash-zone' || step.kind === 'hang-zone'
      ? [check({ id: `${id}-injected`, group: 'events', title: `${label}: injected`, ...c }), check({ id: `${id}-recovered`, group: 'events', title: `${label}: workload back to full strength`, ...c })]
      : [check({ id, group: 'events', title: label, ...c })];
  }
  const inLoad = o.endMs !== null && o.endMs <= sendEnd;
  const late = o.endMs !== null && !inLoad ? ' — after the load had ended' : '';
  switch (step.kind) {
    case 'rollout':
    case 'rollback':
    case 'rotate-secret': {
      const what = step.kind === 'rollback' ? 'rollback' : 'rollout';
      const title = `${label}: its own revision completed under load`;
      const expected = `the ${what}'s revision complete (all replicas updated and available) before the load ended, not failed or superseded first`;
      if (o.status === 'no-effect') return [check({ id, group: 'events', title, status: 'invalid', expected, actual: o.detail, broken: `${label} exercised nothing: ${o.detail}`, explanation: NOTHING_EXERCISED })];
      const ok = o.status === 'took-effect' && inLoad;
      return [
        check({
          id,
          group: 'events',
          title,
          status: ok ? 'pass' : 'fail',
          expected,
          actual: `${o.detail}${late}`,
          broken: `${label} did not complete: ${o.detail}${late}`,
          explanation: ok ? undefined : `a ${what} that never finishes (readiness never true, progress deadline, superseded) is a failed deploy, whatever a later step does; if it was just slow, start it earlier or lengthen the load`,
        }),
      ];
    }
    case 'scale': {
      const title = `${label}: the workload reached ${step.replicas} replicas under load`;
      const expected = `${step.replicas} replicas Ready and every retired one gone before the load ended`;
      if (o.status === 'no-effect') return [check({ id, group: 'events', title, status: 'invalid', expected, actual: o.detail, broken: `${label} exercised nothing: ${o.detail}`, explanation: NOTHING_EXERCISED })];
      const ok = o.status === 'took-effect' && inLoad;
      return [check({ id, group: 'events', title, status: ok ? 'pass' : 'fail', expected, actual: `${o.detail}${late}`, broken: `${label} did not take effect: ${o.detail}${late}` })];
    }
    case 'crash-zone':
    case 'hang-zone': {
      const injectedTitle = `${label}: injected`;
      const recoveredTitle = `${label}: workload back to full strength`;
      const expectedRecovered = `${replicas} replicas available again (on the surviving zones) before the load ended`;
      if (o.eventMs === undefined) {
        return [
          check({ id: `${id}-injected`, group: 'events', title: injectedTitle, status: 'fail', expected: `zone ${step.zone} failed (${step.kind})`, actual: o.detail, broken: `${label} was not injected` }),
          check({ id: `${id}-recovered`, group: 'events', title: recoveredTitle, status: 'fail', expected: expectedRecovered, actual: 'never recovered', broken: `${label}: never recovered` }),
        ];
      }
      if (o.status === 'no-effect') {
        return [
          check({ id: `${id}-injected`, group: 'events', title: injectedTitle, status: 'invalid', expected: `zone ${step.zone} failed (${step.kind}) with replicas in it`, actual: o.detail, broken: `${label} exercised nothing: ${o.detail}`, explanation: NOTHING_EXERCISED }),
          skipped(`${id}-recovered`, 'events', recoveredTitle, expectedRecovered, 'nothing failed, so nothing had to recover'),
        ];
      }
      const ok = o.status === 'took-effect' && inLoad;
      return [
        check({ id: `${id}-injected`, group: 'events', title: injectedTitle, status: 'pass', expected: `zone ${step.zone} failed (${step.kind})`, actual: `${o.hit} replicas ${step.kind === 'crash-zone' ? 'killed' : 'frozen'}` }),
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
    case 'recover-zone': {
      if (o.status === 'no-effect') return [check({ id, group: 'events', title: label, status: 'invalid', expected: `zone ${step.zone} brought back up`, actual: o.detail, broken: `${label} exercised nothing: ${o.detail}`, explanation: NOTHING_EXERCISED })];
      const ok = o.status === 'took-effect';
      return [check({ id, group: 'events', title: label, status: ok ? 'pass' : 'fail', expected: `zone ${step.zone} brought back up`, actual: o.detail, broken: `${label} failed: ${o.detail}` })];
    }
    default:
      // exec and http steps: judged by their action module (harness/src/timeline/actions/).
      return (actionOf(step).checks?.(step, id, o.ran!, { events: run.events, sendEnd, replicas }) ?? []).map((c: Check) => check(c));
  }
}

/**
 * Every replica runs the version the deployment ended on: the version of the last rollout the
 * timeline started (a later rollback step, or an automatic rollback, included).
 */
function finalVersion(run: RunSnapshot): Check | null {
  const versionSteps = run.stepOutcomes.filter((o) => o.step.kind === 'rollout' || o.step.kind === 'rollback');
  if (versionSteps.length === 0) return null;
  const lastStep = versionSteps[versionSteps.length - 1]!;
  const started = [...run.events].reverse().find((e) => e.type === 'rollout.started');
  const id = 'events.final-version';
  if (!started || started.type !== 'rollout.started') {
    return check({ id, group: 'events', title: 'All replicas run the last rolled-out version at the end', status: 'fail', expected: 'a rollout started', actual: 'no rollout ever started', broken: 'no rollout ever started' });
  }
  const expectedVersion = started.version;
  const source = lastStep.revision === started.revision ? lastStep.step.label : `revision ${started.revision}, started after ${lastStep.step.label}`;
  const wrong = run.finalView.replicas.filter((r) => r.phase !== 'terminating' && r.version !== expectedVersion);
  const all = run.finalView.replicas.length;
  return check({
    id,
    group: 'events',
    title: `All replicas run ${expectedVersion} at the end`,
    status: wrong.length === 0 ? 'pass' : 'fail',
    expected: `every replica on ${expectedVersion} (the last rollout started: ${source})`,
    actual: wrong.length ? `${wrong.length} on other versions: ${wrong.map((r) => `${r.id} (${r.version})`).join(', ')}` : `${all} of ${all}`,
    broken: `${wrong.length} replicas not on ${expectedVersion} at the end`,
  });
}
