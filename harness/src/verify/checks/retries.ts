/**
 * The registry's face of two evidence checks that judge together: retries by cause
 * (retry-causes.ts: thresholds.rollout-retries, thresholds.steady-retries) and the machine
 * (machine.ts: load.machine-not-starved), which may excuse a retry threshold failed only by
 * per-try timeouts of a starved instrument. Both modules read one judgement, made once per run.
 */
import type { Check } from '../../result/types.js';
import type { CheckModule } from '../check.js';
import type { Span } from '../phases.js';
import type { RunSnapshot } from '../snapshot.js';
import { excuseStarvedRetries, machineCheck } from './machine.js';
import { causeOf, retryCauseChecks } from './retry-causes.js';

interface Judgement {
  machine: Check;
  retries: Check[];
}

const judged = new WeakMap<RunSnapshot, Judgement>();

function judge(run: RunSnapshot): Judgement {
  const cached = judged.get(run);
  if (cached) return cached;
  const { origin, plan } = run;
  const t = plan.thresholds;
  const sendEnd = run.measured.to;
  const changeSpans = [
    ...run.phases.filter((p) => p.kind === 'rollout' && !p.label.startsWith('initial')).map((p): Span => [p.startMs, p.endMs ?? sendEnd]),
    ...run.steps.filter((s) => s.step.kind === 'scale').map((s): Span => [s.startedMs, s.endedMs ?? sendEnd]),
  ];
  const rel = (ms: number | null): number | null => (ms === null ? null : ms - origin);
  const tries = run.failedTries.tries.map((f) => ({ t: f.t - origin, replica: f.replica, reason: f.reason, count: f.count }));
  const tryReplicas = run.replicas.map((r) => ({ id: r.id, firstReadyMs: rel(r.firstReadyMs), drainingMs: rel(r.drainingMs), deleteReason: r.deleteReason }));
  const zoneFailures = run.events.flatMap((e) => (e.type === 'zone.down' ? [{ atMs: e.t, replicas: e.replicas }] : []));
  let retriedRequests = 0;
  for (let i = 0; i < run.ledger.length; i++) if (run.ledger.retried(i)) retriedRequests++;
  const retry = retryCauseChecks(
    { tries, dropped: run.failedTries.dropped, resolutionMs: run.failedTries.resolutionMs, replicas: tryReplicas, zoneFailures, changeSpans, retriedRequests },
    { rollout: t.maxRolloutRetries, steady: t.maxSteadyRetries },
  );
  // A starved machine is not blamed on the service (machine.ts).
  const byId = new Map(tryReplicas.map((r) => [r.id, r]));
  const perTryTimeoutMs = plan.proxy.retries.perTryTimeoutMs;
  const machine = machineCheck({
    sampleMs: run.machine.sampleMs,
    cpus: run.machine.cpus,
    samples: run.machine.samples.map((s) => ({ ...s, t: s.t - origin })),
    tryTimeouts: tries.filter((f) => f.reason === 'timeout' && causeOf(f.t, byId.get(f.replica), zoneFailures) !== 'zone-failure').map((f) => f.t),
    lateSends: lateSends(run),
    perTryTimeoutMs,
  });
  if (machine.check.status === 'invalid') {
    excuseStarvedRetries(retry.checks[0]!, retry.tally.rolloutTries, machine.spans, perTryTimeoutMs);
    excuseStarvedRetries(retry.checks[1]!, retry.tally.steadyTries, machine.spans, perTryTimeoutMs);
  }
  const out = { machine: machine.check, retries: retry.checks };
  judged.set(run, out);
  return out;
}

/** Sends later than maxLateMs: [intended, actually sent], ms from origin. */
function lateSends(run: RunSnapshot): Array<[number, number]> {
  const data = run.ledger.data;
  const out: Array<[number, number]> = [];
  const limitUs = run.plan.driver.maxLateMs * 1000;
  for (let i = 0; i < data.length; i++) {
    const lag = data.sendLagUs[i] ?? 0;
    if (lag > limitUs) {
      const at = (data.intended[i] ?? 0) - run.origin;
      out.push([at, at + lag / 1000]);
    }
  }
  return out;
}

export const machineChecks: CheckModule = {
  name: 'load',
  ids: ['load.machine-not-starved'],
  checks: (run) => [judge(run).machine],
};

export const retryChecks: CheckModule = {
  name: 'thresholds',
  ids: ['thresholds.rollout-retries', 'thresholds.steady-retries'],
  needsOwnDeployment: ['thresholds.rollout-retries', 'thresholds.steady-retries'],
  checks: (run) => judge(run).retries,
};
