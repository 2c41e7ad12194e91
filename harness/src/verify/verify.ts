/**
 * The verifier: snapshot → checks → verdict. Every rule of the proof is one or more checks with
 * its numbers, so a FAIL says exactly what broke, where and when. The checks live in modules
 * under checks/ (one per group: ledger, counters, load, events, orchestrator, thresholds,
 * prometheus), listed in registry.ts; each is a pure function of one immutable snapshot of the
 * run (snapshot.ts). Tables and charts are assembled here and in disruption.ts / series.ts.
 */
import { cpus, hostname, release, totalmem } from 'node:os';
import type { ClockAnchor } from '../../../common/src/clock.js';
import type { DeploymentController, FailedTryLog, ProxyStats } from '../../../orchestrator/index.js';
import type { LedgerData } from '../driver/ledger.js';
import { OUTCOME_NAMES, Outcome, type DriverSummary } from '../driver/types.js';
import { toolVersion } from '../paths.js';
import { RESULT_SCHEMA_VERSION, type Check, type FailedRequestSample, type PrometheusResult, type RunResult, type Verdict } from '../result/types.js';
import type { PlannedStep, RunPlan } from '../scenario/resolve.js';
import { bookkeepingCounts } from './bookkeeping.js';
import { disruption } from './disruption.js';
import { headline } from './headline.js';
import { RelativeLedger } from './ledger-view.js';
import { buildPhases, bandsOf, phaseAt, withStepPhases } from './phases.js';
import { commandStepKinds } from '../timeline/registry.js';
import { explainUnjudged, reconciliationRows } from './reconciliation-rows.js';
import { withPrometheus } from './reconcile.js';
import { runChecks } from './registry.js';
import { series } from './series.js';
import { takeSnapshot } from './snapshot.js';
import type { DataResult } from './checks/data.js';
import type { SecretsEvidence } from './checks/secrets.js';
import type { ServerCounterEvidence } from './checks/server-counters.js';
import type { MachineSamples } from '../run/machine-sampler.js';
import type { RunCpuPriorities } from '../run/stack.js';
import { cpuBudget } from './cpu-budget.js';
import type { StepRecord as TimelineStepRecord } from '../timeline/types.js';

/** A planned step as it ran (harness/src/timeline/types.ts). */
export type StepRecord = TimelineStepRecord<PlannedStep>;

export interface VerifyInput {
  plan: RunPlan;
  runId: string;
  command: string;
  anchor: ClockAnchor;
  startedAt: Date;
  endedAt: Date;
  ledger: LedgerData;
  summary: DriverSummary;
  proxyStats: ProxyStats;
  controller: Pick<DeploymentController, 'timeline' | 'allReplicas' | 'view'>;
  steps: StepRecord[];
  prometheus: PrometheusResult;
  interrupted: boolean;
  /** The driver's final Prometheus exposition (its counters must equal the ledger). */
  driverMetricsText: string | null;
  /** load.writes: the read-back's figures (checks/data.ts). */
  data?: DataResult | null;
  /** deployment.secrets: 401/403 counts and the leak scan (checks/secrets.ts). */
  secrets?: SecretsEvidence | null;
  /** Target mode: the server's own counters read with PromQL (checks/server-counters.ts). */
  serverCounters?: ServerCounterEvidence | null;
  /** The data plane's log of failed upstream tries (replica, time): retries judged by cause. */
  failedTries: FailedTryLog;
  /** The data plane's account of failed requests by request id (ProxyControl.loggedRequests), if it keeps one. */
  loggedRequests?: ReadonlyMap<string, string>;
  /** What the machine was doing during the load (harness/src/run/machine-sampler.ts). */
  machine: MachineSamples;
  /** Choices the runtime made by itself (Runtime.choices). */
  runtimeChoices?: { what: string; value: string; why: string }[];
  /** The nice values the run used (harness/src/run/stack.ts). */
  cpuPriorities?: RunCpuPriorities;
}

/**
 * The verdict of a run: one immutable snapshot (snapshot.ts), every registered check module run
 * on it (registry.ts), then the result assembled around the checks (tables, charts, headline).
 */
/** The fields that say which run is verified, stamped with its end now: shared by every way a run ends. */
export function runIdentity(
  plan: VerifyInput['plan'],
  runId: string,
  command: string,
  anchor: VerifyInput['anchor'],
  startedAt: Date,
): Pick<VerifyInput, 'plan' | 'runId' | 'command' | 'anchor' | 'startedAt' | 'endedAt'> {
  return { plan, runId, command, anchor, startedAt, endedAt: new Date() };
}

export function verifyRun(input: VerifyInput): RunResult {
  const run = takeSnapshot(input);
  const checks = runChecks(run);
  const verdict = decide(checks);
  const exitCode = verdict === 'PASS' ? 0 : verdict === 'FAIL' ? 1 : 3;
  const { plan, tally, summary, proxyStats } = run;
  const cpu = cpus();
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    tool: { name: 'zerodrop', version: toolVersion(), node: process.version },
    run: {
      id: run.runId,
      scenario: { name: plan.scenario.name, file: plan.file, sha256: plan.sha256 },
      runtime: plan.runtime,
      dataPlane: { engine: plan.dataPlane.engine, threads: plan.dataPlane.threads ?? null, why: plan.dataPlane.why ?? `engine: ${plan.dataPlane.engine}` },
      originEpochMs: run.anchor.epochMs,
      startedAt: run.startedAt.toISOString(),
      endedAt: run.endedAt.toISOString(),
      durationMs: run.endedAt.getTime() - run.startedAt.getTime(),
      complete: !run.interrupted,
      incompleteReason: run.interrupted ? 'interrupted (SIGINT) before the load finished' : null,
      machine: {
        cpus: cpu.length,
        cpuModel: cpu[0]?.model ?? 'unknown',
        memGiB: Math.round(totalmem() / 2 ** 30),
        platform: process.platform,
        release: release(),
        hostname: hostname(),
      },
      command: run.command,
      ...(input.runtimeChoices && input.runtimeChoices.length > 0 ? { runtimeChoices: input.runtimeChoices } : {}),
      ...(input.cpuPriorities ? { cpuPriorities: input.cpuPriorities } : {}),
    },
    verdict,
    exitCode,
    headline: headline(verdict, run, checks),
    checks,
    load: {
      engine: plan.driver.engine,
      targetRate: plan.driver.rate,
      achievedRate: run.achievedRate,
      connections: plan.driver.connections,
      windowStartMs: run.measured.from,
      windowEndMs: run.measured.to,
      sent: tally.sent,
      completed: tally.completed,
      ok: tally.ok,
      failed: tally.failed,
      lost: tally.sent - tally.completed,
      abandoned: tally.abandoned,
      lateSends: run.lag.late,
      maxScheduleLagMs: run.lag.maxMs ?? 0,
      maxLateMsAllowed: plan.driver.maxLateMs,
      latency: run.latency,
      autocannonReported: summary.autocannonReported,
      unsent: summary.unsent,
      bookkeeping: bookkeepingCounts(run.ledger.data, summary),
      // The samples are on the monotonic clock; the ledger view is on the report's (ms from origin).
      cpuBudget: cpuBudget(run.machine, (i) => run.ledger.sentAt(i) + run.origin, run.ledger.length),
    },
    reconciliation: explainUnjudged(withPrometheus(reconciliationRows(run), run.prometheus), verdict === 'PASS'),
    disruption: disruption(run),
    failures: {
      total: tally.failed + tally.abandoned,
      byOutcome: tally.byOutcome,
      byStatus: tally.byStatus,
      byReplica: tally.byReplica,
      byZone: tally.byZone,
      byStep: tally.byStep,
      sample: tally.samples.map((s) => withAccount(s, input.loggedRequests)),
      listFile: null,
    },
    replicas: run.replicaRows,
    timeline: series(run),
    bands: bandsOf(run.phases, plan.driver.warmupMs),
    events: run.events,
    proxy: {
      received: proxyStats.received,
      responded: proxyStats.responded,
      retries: proxyStats.retries,
      retryBudgetExhausted: proxyStats.retryBudgetExhausted,
      savedByRetry: proxyStats.savedByRetry,
      zoneEjections: proxyStats.zoneEjections,
      retriesEnabled: plan.proxy.retries.enabled,
    },
    prometheus: run.prometheus,
    ...(input.data ? { data: input.data } : {}),
    scenario: plan.scenario,
    artifacts: {},
  };
}

function decide(checks: readonly Check[]): Verdict {
  if (checks.some((c) => c.status === 'fail')) return 'FAIL';
  if (checks.some((c) => c.status === 'invalid')) return 'INVALID';
  return 'PASS';
}

/** The sample with the data plane's account of it, where it logged one. */
function withAccount(s: FailedRequestSample, accounts: ReadonlyMap<string, string> | undefined): FailedRequestSample {
  const dataPlane = accounts?.get(s.id);
  return dataPlane === undefined ? s : { ...s, dataPlane };
}

/**
 * Every failed or unanswered request, for failed-requests.csv (the result keeps only a sample).
 * A generator: a run with a million failures streams to disk without building a list.
 * `accounts`: the data plane's account of each, by request id, where it logged one.
 */
export function* failedRequestRows(
  ledger: LedgerData,
  origin: number,
  runId: string,
  result: RunResult,
  accounts?: ReadonlyMap<string, string>,
): Generator<FailedRequestSample> {
  const view = new RelativeLedger(ledger, origin);
  const phases = withStepPhases(
    buildPhases(result.events),
    result.disruption.events.filter((e) => commandStepKinds().has(e.kind)).map((e) => ({ label: e.label, startMs: e.startMs, endMs: e.endMs })),
  );
  const zoneOf = new Map(result.replicas.map((r) => [r.id, r.zone]));
  for (let i = 0; i < ledger.length; i++) {
    const outcome = ledger.outcome[i] as Outcome;
    if (outcome === Outcome.Ok) continue;
    const replica = ledger.replicas[ledger.replica[i] ?? 0] || null;
    const tMs = view.at(i);
    yield withAccount(
      {
        id: `${runId}-${i}`,
        tMs,
        outcome: OUTCOME_NAMES[outcome] ?? 'unknown',
        status: ledger.status[i] ?? 0,
        replica,
        zone: replica ? (zoneOf.get(replica) ?? null) : null,
        step: phaseAt(phases, tMs),
        latencyMs: (ledger.latencyUs[i] ?? 0) / 1000,
      },
      accounts,
    );
  }
}
