/**
 * The load was what was asked: the target rate reached, every request due sent, the open
 * model's schedule kept, the run not cut short. Else INVALID: the harness, not the service,
 * fell short, and nothing may be claimed from the load that did not happen.
 */
import type { Check } from '../../result/types.js';
import { check, fmt, skipped, type CheckModule } from '../check.js';
import type { RunSnapshot } from '../snapshot.js';

export const loadChecks: CheckModule = {
  name: 'load',
  ids: ['load.rate-reached', 'load.all-sent', 'load.schedule-kept', 'load.complete'],
  loadShortfall: ['load.rate-reached', 'load.all-sent', 'load.complete'],
  checks(run: RunSnapshot): Check[] {
    return [rateReached(run), allSent(run), scheduleKept(run), complete(run)];
  },
};

function rateReached(run: RunSnapshot): Check {
  const { rate } = run.plan.driver;
  const min = run.plan.thresholds.minAchievedRatio;
  const achieved = run.achievedRate;
  const title = 'The target rate was reached';
  if (!(rate > 0)) {
    // A closed loop sends as fast as answers come back: a service that stalls is simply sent
    // less, so no rate proves the disruption met real load. Nothing exercised, nothing claimed.
    return check({
      id: 'load.rate-reached',
      group: 'load',
      title,
      status: 'invalid',
      expected: 'a target rate (load.rate > 0) the run held',
      actual: `closed loop (rate 0): achieved ${fmt(Math.round(achieved))} req/s, with no target to hold`,
      broken: `no target rate: a closed loop (rate 0) slows down with the service, so it proves no load`,
      explanation: 'fix: set load.rate (and engine: open) to the rate the service must hold through the disruption',
    });
  }
  const ratio = achieved / rate;
  const ok = ratio >= min;
  return check({
    id: 'load.rate-reached',
    group: 'load',
    title,
    status: ok ? 'pass' : 'invalid',
    expected: `achieved ≥ ${(min * 100).toFixed(0)}% of ${fmt(rate)} req/s over the measured window`,
    actual: `achieved ${fmt(Math.round(achieved))} req/s (${(ratio * 100).toFixed(1)}%)`,
    broken: `target rate not reached: ${fmt(Math.round(achieved))} of ${fmt(rate)} req/s`,
    explanation: ok
      ? undefined
      : `this machine did not sustain ${fmt(rate)} req/s through the proxy; rerun with --rate ${fmt(Math.max(100, Math.floor((achieved * 0.6) / 100) * 100))} (what it sustained here, less the headroom a rollout's process starts need) or fewer replicas per core`,
  });
}

function allSent(run: RunSnapshot): Check {
  const unsent = run.summary.unsent;
  const ok = unsent === 0;
  return check({
    id: 'load.all-sent',
    group: 'load',
    title: 'Every request due was sent',
    status: ok ? 'pass' : 'invalid',
    expected: 'unsent = 0 (requests due before the sending phase ended but never written)',
    actual: `unsent = ${fmt(unsent)} of ${fmt(run.tally.sent + unsent)} due`,
    broken: `${fmt(unsent)} requests due were never sent`,
    explanation: ok
      ? undefined
      : 'the driver could not write what its schedule asked (every connection busy, or the CPU starved): those requests were never exercised; fix: more load.connections, a lower --rate, or a quieter machine',
    numbers: { unsent },
  });
}

function scheduleKept(run: RunSnapshot): Check {
  const id = 'load.schedule-kept';
  const title = 'The driver kept its schedule (open model)';
  const bound = run.plan.thresholds.maxScheduleLag;
  if (run.plan.driver.engine !== 'open' || !(run.plan.driver.rate > 0)) {
    return skipped(
      id,
      'load',
      title,
      `max schedule lag ≤ ${bound} ms`,
      `the ${run.plan.driver.engine} engine${run.plan.driver.rate > 0 ? '' : ' in a closed loop'} has no schedule to keep`,
    );
  }
  const maxLag = run.lag.maxMs ?? 0;
  const ok = maxLag <= bound;
  return check({
    id,
    group: 'load',
    title,
    status: ok ? 'pass' : 'invalid',
    expected: `max schedule lag ≤ ${bound} ms over the measured window`,
    actual: `max lag ${maxLag.toFixed(1)} ms, p99 ${(run.lag.p99Ms ?? 0).toFixed(1)} ms, ${fmt(run.lag.late)} late sends (> ${run.plan.driver.maxLateMs} ms)`,
    broken: `the driver fell ${maxLag.toFixed(0)} ms behind its schedule (at most ${bound} ms allowed)`,
    explanation: ok
      ? undefined
      : 'the driver fell behind (all connections busy or CPU starved): latency is still measured from the intended send time, but the load was not what was asked',
  });
}

function complete(run: RunSnapshot): Check {
  return check({
    id: 'load.complete',
    group: 'load',
    title: 'The run completed',
    status: run.interrupted ? 'invalid' : 'pass',
    expected: 'not interrupted',
    actual: run.interrupted ? 'interrupted (SIGINT): the run ended early' : 'ran to the end',
    broken: 'the run was interrupted before its end',
    explanation: run.interrupted ? 'the report covers the part that ran; rerun to get a verdict' : undefined,
  });
}
