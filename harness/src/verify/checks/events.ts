/**
 * Each timeline step, judged by itself: its action module reads what it did (steps.ts) and
 * judges it (timeline/judge.ts; exec and http have their own checks): a rollout passes only
 * when ITS revision completed under load; a step that exercised nothing is INVALID, not PASS.
 * An interrupted run cannot show its events happened: inconclusive, not a failure.
 */
import type { Check } from '../../result/types.js';
import { check, type CheckModule } from '../check.js';
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
    return run.interrupted
      ? out.map((c) => (c.status === 'fail' ? { ...c, status: 'invalid' as const, broken: `${c.broken} (the run was interrupted)` } : c))
      : out;
  },
};

/** A step's checks: the judge its action module names (timeline/judge.ts), or its own checks (exec, http). */
function stepChecks(o: StepOutcome, sendEnd: number, run: RunSnapshot): Check[] {
  const { step, n } = o;
  const id = `events.${n}-${step.kind}`;
  const def = actionOf(step);
  const ctx = { events: run.events, sendEnd, replicas: run.plan.deployment.replicas };
  if (o.status === 'not-run') {
    const c = {
      status: 'fail' as const,
      expected: 'executed',
      actual: o.detail,
      broken: `${step.label} never ran (the load ended first)`,
      explanation: 'the step was scheduled after the run ended',
    };
    return (def.checkSuffixes ?? ['']).map((suffix) => check({ id: `${id}${suffix}`, group: 'events', title: step.label, ...c }));
  }
  if (def.judge) return def.judge(o, id, ctx);
  return (def.checks?.(step, id, o.ran!, ctx) ?? []).map((c: Check) => check(c));
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
    return check({
      id,
      group: 'events',
      title: 'All replicas run the last rolled-out version at the end',
      status: 'fail',
      expected: 'a rollout started',
      actual: 'no rollout ever started',
      broken: 'no rollout ever started',
    });
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
