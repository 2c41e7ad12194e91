/**
 * The verifier: invariants → checks → verdict. Every rule of DESIGN.md's proof is one or more
 * checks with its numbers, so a FAIL says exactly what broke, where and when:
 *   1. ledger      every request answered once, 2xx, with its own id; nothing lost, nothing failed
 *   2. counters    driver = proxy = replicas (and, in the loop, Prometheus agrees)
 *   3. load        the target rate was really reached and the schedule kept (else INVALID)
 *   4. events      the rollout completed and the zone failure was injected and recovered from
 *   5. disruption  gaps, failures, latency before/during/after each event (and optional gates)
 */
import { cpus, release, totalmem } from 'node:os';
import type { ClockAnchor } from '../../../orchestrator/src/common/clock.js';
import type { DeploymentController, ReplicaRecord } from '../../../orchestrator/src/controller.js';
import type { ProxyStats } from '../../../orchestrator/src/proxy/types.js';
import type { TimelineEvent } from '../../../orchestrator/src/timeline.js';
import { parseExposition, sampleValue } from '../../../sample-app/src/exposition.js';
import type { LedgerData } from '../driver/ledger.js';
import { OUTCOME_NAMES, Outcome, type DriverSummary } from '../driver/types.js';
import { toolVersion } from '../paths.js';
import {
  RESULT_SCHEMA_VERSION,
  type Check,
  type DisruptionEvent,
  type FailedRequestSample,
  type PrometheusResult,
  type ReconciliationRow,
  type ReplicaRow,
  type RunResult,
  type TimelineSeries,
  type Verdict,
  type WindowStats,
} from '../result/types.js';
import type { PlannedStep, RunPlan } from '../scenario/resolve.js';
import { achievedRate as achievedRateOf, bucketSeries, isFailed, latencySummary, longestGap, scheduleLag, windowStats as ledgerWindow, type LedgerView } from '../driver/analysis.js';
import { bookkeepingCounts, nonZeroBookkeeping } from './bookkeeping.js';
import { idsCheck } from './checks/ids.js';
import { judgeForTargetMode } from './checks/target-mode.js';
import { actionOf } from '../timeline/registry.js';
import type { StepRecord as TimelineStepRecord } from '../timeline/types.js';
import { bandsOf, buildPhases, phaseAt, spansMinus, zoneDisruptionSpans, type Phase, type Span } from './phases.js';
import { withPrometheus } from './reconcile.js';

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
}

const FAILED_SAMPLE = 50;
const WINDOW_MS = 5000;

export function verifyRun(input: VerifyInput): RunResult {
  const { plan, ledger, summary, proxyStats, anchor } = input;
  const origin = anchor.monotonicMs;
  const view = new RelativeLedger(ledger, origin);
  const events = input.controller.timeline.map((e) => ({ ...e, t: e.t - origin })) as TimelineEvent[];
  const phases = buildPhases(events);
  const records = input.controller.allReplicas;
  const zoneOf = new Map(records.map((r) => [r.id, r.zone]));

  const warmupEnd = plan.driver.warmupMs;
  // The measured window is the planned load after warm-up, on the wall clock: a driver that fell
  // behind does not get to stretch it (what it never sent is `unsent`, and lowers the rate).
  const sendEnd = Math.max(warmupEnd + 1, plan.driver.durationMs);
  const measured = { from: warmupEnd, to: sendEnd };

  // ---- one pass over the ledger
  const tally = tallyLedger(view, zoneOf, phases, input.runId, measured);

  // ---- load
  // Load delivered: requests actually written per second in the window (by send time, not by schedule).
  const achievedRate = achievedRateOf(ledger, origin + measured.from, origin + measured.to).sentPerSecond;
  const latency = view.latency(measured.from, measured.to);

  const checks: Check[] = [];
  const t = plan.thresholds;

  // ---- 1. ledger
  const lost = tally.sent - tally.completed;
  checks.push(
    check('ledger.every-request-answered', 'ledger', 'Every request sent got exactly one answer', lost === 0 ? 'pass' : 'fail',
      'lost = sent − completed = 0',
      `lost = ${fmt(lost)} (sent ${fmt(tally.sent)}, completed ${fmt(tally.completed)}, still in flight at the end ${fmt(tally.abandoned)})`,
      lost === 0 ? undefined : 'requests were written and never answered (abandoned after the final wait): see failed-requests and the replica/zone they went to',
      { sent: tally.sent, completed: tally.completed, lost }),
  );
  const failed = tally.failed;
  checks.push(
    check('ledger.no-failed-requests', 'ledger', 'No request failed (reset, refused, timeout, non-2xx)', failed <= t.maxFailed ? 'pass' : 'fail',
      `failed ≤ ${t.maxFailed}`,
      `failed = ${fmt(failed)}${failed > 0 ? ` (${breakdown(tally.byOutcome)})` : ''}`,
      failed > 0 ? `first failure at ${tally.firstFailureMs?.toFixed(0)} ms during "${tally.samples[0]?.step ?? 'steady state'}"; by step: ${breakdown(tally.byStep)}` : undefined,
      { failed }),
  );
  checks.push(idsCheck(tally.byOutcome['id_mismatch'] ?? 0, proxyStats.ids));
  // Without sound bookkeeping, "one completion per id" cannot be claimed either way: INVALID.
  const bookkeeping = bookkeepingCounts(ledger, summary);
  const anomalies = nonZeroBookkeeping(bookkeeping);
  checks.push(
    check('ledger.bookkeeping', 'ledger', "The driver's bookkeeping can be trusted (one completion per request id)", anomalies.length === 0 ? 'pass' : 'invalid',
      'engine anomalies = 0, rows still pending = 0, unknown outcomes = 0, summary sent = ledger rows',
      anomalies.length === 0 ? `0 anomalies over ${fmt(ledger.length)} rows` : anomalies.join(', '),
      anomalies.length === 0
        ? undefined
        : 'the driver lost track of its own requests (a row ended twice, a response with nothing in flight, a write with no id…), so the ledger cannot prove exactly one completion per id; fix: rerun, and if it repeats, report it with result.json (a driver bug in harness/src/driver/)',
      { ...bookkeeping, unsent: summary.unsent }),
  );

  // ---- 2. counters
  const proxy2xx = sumWhere(proxyStats.responded, (code) => code.startsWith('2'));
  const reconciliation: ReconciliationRow[] = [];
  // A request whose connection was refused never reached the proxy: it is a failure in the ledger.
  const refused = tally.byOutcome['refused'] ?? 0;
  const reached = tally.sent - refused;
  const sentHolds = reached === proxyStats.received;
  reconciliation.push({
    id: 'sent-received',
    quantity: 'requests sent / received',
    driver: reached,
    proxy: proxyStats.received,
    replicas: null,
    prometheus: null,
    relation: 'driver = proxy',
    holds: sentHolds,
    ...(refused > 0 ? { note: `${fmt(refused)} refused connects excluded (they never reached the proxy)` } : {}),
  });
  checks.push(
    check('counters.sent-equals-received', 'counters', 'Driver sent = proxy received', sentHolds ? 'pass' : 'fail',
      'driver sent (connections refused excluded) = proxy received', `driver ${fmt(reached)} · proxy ${fmt(proxyStats.received)} (Δ ${fmt(reached - proxyStats.received)})`,
      sentHolds ? undefined : 'requests were lost between the driver and the proxy (or the proxy counted requests nobody sent)'),
  );
  const ok2xxHolds = tally.driver2xx === proxy2xx;
  reconciliation.push({ id: '2xx', quantity: '2xx responses', driver: tally.driver2xx, proxy: proxy2xx, replicas: null, prometheus: null, relation: 'driver = proxy', holds: ok2xxHolds });
  checks.push(
    check('counters.2xx-agree', 'counters', 'Proxy 2xx = driver 2xx', ok2xxHolds ? 'pass' : 'fail',
      'proxy 2xx responses = driver 2xx responses', `proxy ${fmt(proxy2xx)} · driver ${fmt(tally.driver2xx)}`,
      ok2xxHolds ? undefined : 'the proxy sent 2xx responses the driver never received (or the reverse)'),
  );
  const replicas = replicaRows(records, proxyStats, tally.servedBy, origin, plan.deployment.template.metricsPath !== null, summary.endedAt);
  const rec = replicaReconciliation(replicas, proxyStats);
  reconciliation.push({
    id: 'upstream',
    quantity: 'upstream responses (all codes)',
    driver: null,
    proxy: rec.proxyResponses,
    replicas: rec.replicaResponses,
    prometheus: null,
    relation: 'replicas ≥ proxy, excess ≤ failed attempts',
    holds: rec.holds,
    note: rec.note,
  });
  checks.push(
    check('counters.replicas-cover-proxy', 'counters', 'Replica counters account for every proxied response',
      rec.applicable ? (rec.holds ? 'pass' : 'fail') : 'skip',
      'for each replica: proxy responses ≤ replica responses ≤ proxy responses + failed attempts',
      rec.applicable ? `Σ replicas ${fmt(rec.replicaResponses)} · Σ proxy ${fmt(rec.proxyResponses)}; ${rec.note}` : 'the service exposes no metrics (metricsPath: null)',
      rec.holds ? undefined : `mismatch on ${rec.bad.join(', ')}`),
  );
  reconciliation.push({
    id: 'retries',
    quantity: 'retries (requests saved by one)',
    driver: tally.retriedOk,
    proxy: proxyStats.savedByRetry,
    replicas: null,
    prometheus: null,
    relation: 'reported: a rollout done right needs none',
    holds: tally.retriedOk === proxyStats.savedByRetry,
  });
  const dm = driverMetricsCheck(input.driverMetricsText, tally);
  if (dm) checks.push(dm);

  // ---- 3. load
  const ratio = plan.driver.rate > 0 ? achievedRate / plan.driver.rate : 1;
  if (plan.driver.rate > 0) {
    checks.push(
      check('load.rate-reached', 'load', 'The target rate was reached', ratio >= t.minAchievedRatio ? 'pass' : 'invalid',
        `achieved ≥ ${(t.minAchievedRatio * 100).toFixed(0)}% of ${fmt(plan.driver.rate)} req/s over the measured window`,
        `achieved ${fmt(Math.round(achievedRate))} req/s (${(ratio * 100).toFixed(1)}%)${summary.unsent > 0 ? `; ${fmt(summary.unsent)} requests due were never sent` : ''}`,
        ratio >= t.minAchievedRatio ? undefined : `this machine did not sustain ${fmt(plan.driver.rate)} req/s through the proxy; rerun with --rate ${fmt(Math.max(100, Math.floor((achievedRate * 0.6) / 100) * 100))} (what it sustained here, less the headroom a rollout's process starts need) or fewer replicas per core`),
    );
  }
  const lag = scheduleLag(ledger, origin + measured.from, origin + measured.to, plan.driver.maxLateMs);
  if (plan.driver.engine === 'open' && plan.driver.rate > 0) {
    const maxLag = lag.maxMs ?? 0;
    const lagOk = maxLag <= t.maxScheduleLag;
    checks.push(
      check('load.schedule-kept', 'load', 'The driver kept its schedule (open model)', lagOk ? 'pass' : 'invalid',
        `max schedule lag ≤ ${t.maxScheduleLag} ms over the measured window`,
        `max lag ${maxLag.toFixed(1)} ms, p99 ${(lag.p99Ms ?? 0).toFixed(1)} ms, ${fmt(lag.late)} late sends (> ${plan.driver.maxLateMs} ms)`,
        lagOk ? undefined : 'the driver fell behind (all connections busy or CPU starved): latency is still measured from the intended send time, but the load was not what was asked'),
    );
  }
  checks.push(
    check('load.complete', 'load', 'The run completed', input.interrupted ? 'invalid' : 'pass', 'not interrupted',
      input.interrupted ? 'interrupted (SIGINT): the run ended early' : 'ran to the end', input.interrupted ? 'the report covers the part that ran; rerun to get a verdict' : undefined),
  );

  // ---- 4. events
  // An interrupted run cannot show that its events happened: that is inconclusive, not a failure.
  const eventResults = eventChecks(input.steps, events, input.controller.view(), sendEnd, plan);
  checks.push(...(input.interrupted ? eventResults.map((c) => (c.status === 'fail' ? { ...c, status: 'invalid' as const } : c)) : eventResults));

  // ---- orchestrator rules
  const breaches = events.filter((e) => e.type === 'invariant.breach');
  checks.push(
    check('orchestrator.invariants', 'orchestrator', 'available ≥ replicas − maxUnavailable and total ≤ replicas + maxSurge at every step',
      breaches.length === 0 ? 'pass' : 'fail', '0 breaches', `${breaches.length} breaches`,
      breaches.length ? breaches.map((b) => (b.type === 'invariant.breach' ? `${b.invariant} at ${b.t.toFixed(0)} ms: ${b.detail}` : '')).join('; ') : undefined),
  );
  const voluntary = records.filter((r) => r.deleteReason === 'rollout' || r.deleteReason === 'scale-down');
  const notGraceful = voluntary.filter((r) => r.exit && r.exit.kind !== 'graceful');
  checks.push(
    check('orchestrator.graceful-exits', 'orchestrator', 'Replicas retired by the rollout exited by themselves inside the grace period',
      notGraceful.length === 0 ? 'pass' : 'fail', `0 of ${voluntary.length} needed SIGKILL or crashed`,
      `${notGraceful.length} of ${voluntary.length}${notGraceful.length ? `: ${notGraceful.slice(0, 5).map((r) => `${r.id} (${r.exit?.kind})`).join(', ')}` : ''}`,
      notGraceful.length ? `contract rule 2: on SIGTERM the service must drain and exit within the grace period (${plan.deployment.termination.gracePeriodMs} ms)` : undefined),
  );
  // Contract rule 2: never close an idle keep-alive connection a client may be writing on.
  // Replicas killed or crashed close everything by dying (their zone's checks cover that).
  const idleClosers = idleClosedByReplicas(records, proxyStats);
  if (idleClosers !== null) {
    const total = idleClosers.reduce((n, r) => n + r.count, 0);
    checks.push(
      check('orchestrator.idle-keepalive-kept', 'orchestrator', 'No replica closed an idle keep-alive connection the proxy could have been writing on',
        total === 0 ? 'pass' : 'fail', '0 idle connections closed by a replica before its keep-alive limit',
        total === 0 ? '0' : `${fmt(total)}: ${idleClosers.slice(0, 5).map((r) => `${r.id} ${fmt(r.count)}`).join(', ')}`,
        total === 0
          ? undefined
          : "contract rule 2: closing idle keep-alive connections (Node ≥ 19's server.close() does it) races a request being written on them; close the listener with net.Server.prototype.close and let each connection end after a response with Connection: close (or announce Keep-Alive: timeout=N and keep to it)"),
    );
  }
  if (plan.deployment.template.metricsPath !== null) {
    const missing = voluntary.filter((r) => r.final === null && r.started !== null);
    // A replica that drained and exited by itself kept the contract; that its counters could not
    // be read afterwards (its /metrics went with the listener) leaves the replica side of the
    // proof unproven, not broken: INVALID, with the two ways to make it provable.
    const allGraceful = missing.every((r) => r.exit?.kind === 'graceful');
    const { routingLagMs } = plan.deployment.termination;
    checks.push(
      check('orchestrator.final-counts', 'orchestrator', 'Final counters read from every retired replica after it drained',
        missing.length === 0 ? 'pass' : allGraceful ? 'invalid' : 'fail', `${voluntary.length} of ${voluntary.length}`, `${voluntary.length - missing.length} of ${voluntary.length}`,
        missing.length
          ? `no final snapshot from ${missing.map((r) => r.id).join(', ')}: its metrics endpoint was gone before the proxy had drained it` +
              (allGraceful
                ? `; fix: serve ${plan.deployment.template.metricsPath} on a side port that outlives the listener, or set deployment.termination.preStop ≥ routingLag (${routingLagMs} ms) so the counters are read before SIGTERM`
                : '')
          : undefined),
    );
  }

  // ---- 5. disruption + thresholds
  const disruptionEvents = input.steps.map((s, i) => disruptionEvent(view, s, i, events, measured));
  // A zone failure that overlaps a rollout brings retries of its own (that is what they are
  // for): those are the zone's, counted and shown there, not held against the rollout.
  const rolloutSpans = phases.filter((p) => p.kind === 'rollout' && !p.label.startsWith('initial')).map((p): Span => [p.startMs, p.endMs ?? sendEnd]);
  const zoneSpans = zoneDisruptionSpans(phases, sendEnd);
  const rolloutRetried = countRetriedIn(view, spansMinus(rolloutSpans, zoneSpans));
  const overlapRetried = countRetriedIn(view, rolloutSpans) - rolloutRetried;
  checks.push(
    check('thresholds.rollout-retries', 'thresholds', 'No request needed a retry during a rollout', rolloutRetried <= t.maxRolloutRetries ? 'pass' : 'fail',
      `requests retried during rollouts ≤ ${t.maxRolloutRetries}`, `${fmt(rolloutRetried)} retried${overlapRetried > 0 ? ` (and ${fmt(overlapRetried)} while a zone failure overlapped the rollout, not counted here)` : ''}`,
      rolloutRetried > t.maxRolloutRetries ? 'the proxy hid failures of the rollout by retrying them: a rolling update done right needs no retries (check SIGTERM handling and readiness)' : undefined),
  );
  const gap = view.longestGap(measured.from, measured.to);
  if (t.p99 !== null) checks.push(latencyGate('thresholds.p99', 'p99', latency.p99Ms, t.p99));
  if (t.p999 !== null) checks.push(latencyGate('thresholds.p999', 'p99.9', latency.p999Ms, t.p999));
  if (t.maxGap !== null) {
    checks.push(check('thresholds.max-gap', 'thresholds', 'Longest gap between successful responses', gap.gapMs <= t.maxGap ? 'pass' : 'fail',
      `≤ ${t.maxGap} ms`, `${gap.gapMs} ms${gap.atMs !== null ? ` at ${gap.atMs.toFixed(0)} ms` : ''}`));
  }

  // ---- Prometheus
  for (const q of input.prometheus.queries) checks.push(prometheusCheck(q));

  if (plan.targetUrl !== null) judgeForTargetMode(checks);
  unjudgedUnderShortLoad(checks);
  const verdict = decide(checks);
  const exitCode = verdict === 'PASS' ? 0 : verdict === 'FAIL' ? 1 : 3;
  const disruption = {
    longestGapMs: gap.gapMs,
    longestGapAtMs: gap.atMs,
    failed,
    savedByRetry: tally.retriedOk,
    timeToRecoverMs: tally.lastFailureEndMs !== null && tally.firstFailureMs !== null ? tally.lastFailureEndMs - tally.firstFailureMs : null,
    events: disruptionEvents,
  };
  const cpu = cpus();
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    tool: { name: 'zerodrop', version: toolVersion(), node: process.version },
    run: {
      id: input.runId,
      scenario: { name: plan.scenario.name, file: plan.file, sha256: plan.sha256 },
      runtime: plan.runtime,
      originEpochMs: anchor.epochMs,
      startedAt: input.startedAt.toISOString(),
      endedAt: input.endedAt.toISOString(),
      durationMs: input.endedAt.getTime() - input.startedAt.getTime(),
      complete: !input.interrupted,
      incompleteReason: input.interrupted ? 'interrupted (SIGINT) before the load finished' : null,
      machine: { cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', memGiB: Math.round(totalmem() / 2 ** 30), platform: process.platform, release: release() },
      command: input.command,
    },
    verdict,
    exitCode,
    headline: headline(verdict, tally, achievedRate, input.steps, checks, events),
    checks,
    load: {
      engine: plan.driver.engine,
      targetRate: plan.driver.rate,
      achievedRate,
      connections: plan.driver.connections,
      windowStartMs: measured.from,
      windowEndMs: measured.to,
      sent: tally.sent,
      completed: tally.completed,
      ok: tally.ok,
      failed,
      lost,
      abandoned: tally.abandoned,
      lateSends: lag.late,
      maxScheduleLagMs: lag.maxMs ?? 0,
      maxLateMsAllowed: plan.driver.maxLateMs,
      latency,
      autocannonReported: summary.autocannonReported,
      unsent: summary.unsent,
      bookkeeping,
    },
    reconciliation: withPrometheus(reconciliation, input.prometheus),
    disruption,
    failures: {
      total: failed + tally.abandoned,
      byOutcome: tally.byOutcome,
      byStatus: tally.byStatus,
      byReplica: tally.byReplica,
      byZone: tally.byZone,
      byStep: tally.byStep,
      sample: tally.samples,
      listFile: null,
    },
    replicas,
    timeline: series(view, events, measured.to, plan),
    bands: bandsOf(phases, plan.driver.warmupMs),
    events,
    proxy: {
      received: proxyStats.received,
      responded: proxyStats.responded,
      retries: proxyStats.retries,
      retryBudgetExhausted: proxyStats.retryBudgetExhausted,
      savedByRetry: proxyStats.savedByRetry,
      zoneEjections: proxyStats.zoneEjections,
      retriesEnabled: plan.proxy.retries.enabled,
    },
    prometheus: input.prometheus,
    scenario: plan.scenario,
    artifacts: {},
  };
}

// ------------------------------------------------------------------ ledger, in ms from origin

/** The ledger seen on the report's clock (ms from origin); the math is driver/analysis.ts. */
class RelativeLedger {
  constructor(
    readonly data: LedgerView,
    readonly origin: number,
  ) {}

  get length(): number {
    return this.data.length;
  }

  at(i: number): number {
    return (this.data.intended[i] ?? 0) - this.origin;
  }

  endAt(i: number): number {
    return this.at(i) + (this.data.latencyUs[i] ?? 0) / 1000;
  }

  isOk(i: number): boolean {
    return this.data.outcome[i] === Outcome.Ok;
  }

  isFailed(i: number): boolean {
    return isFailed(this.data.outcome[i] ?? 0);
  }

  /** Rows with intended time in [fromMs, toMs), in order. */
  forEach(fromMs: number, toMs: number, fn: (i: number) => void): void {
    const t = this.data.intended;
    const lo = fromMs + this.origin;
    const hi = toMs + this.origin;
    for (let i = lowerBound(t, this.data.length, lo); i < this.data.length; i++) {
      const x = t[i] ?? 0;
      if (x >= hi) break;
      if (x >= lo) fn(i);
    }
  }

  latency(fromMs: number, toMs: number): ReturnType<typeof latencySummary> {
    return latencySummary(this.data, this.origin + fromMs, this.origin + toMs);
  }

  longestGap(fromMs: number, toMs: number): { gapMs: number; atMs: number | null } {
    const g = longestGap(this.data, this.origin + fromMs, this.origin + toMs);
    return { gapMs: g.gapMs, atMs: g.fromMs - this.origin };
  }
}

function lowerBound(t: Float64Array, n: number, ms: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((t[mid] ?? 0) < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ------------------------------------------------------------------ ledger tally

interface Tally {
  sent: number;
  completed: number;
  ok: number;
  failed: number;
  abandoned: number;
  driver2xx: number;
  retriedOk: number;
  byOutcome: Record<string, number>;
  byStatus: Record<string, number>;
  byReplica: Record<string, number>;
  byZone: Record<string, number>;
  byStep: Record<string, number>;
  servedBy: Map<string, number>;
  samples: FailedRequestSample[];
  firstFailureMs: number | null;
  lastFailureEndMs: number | null;
}

function tallyLedger(view: RelativeLedger, zoneOf: Map<string, string>, phases: Phase[], runId: string, measured: { from: number; to: number }): Tally {
  const d = view.data;
  const tally: Tally = {
    sent: d.length,
    completed: 0,
    ok: 0,
    failed: 0,
    abandoned: 0,
    driver2xx: 0,
    retriedOk: 0,
    byOutcome: {},
    byStatus: {},
    byReplica: {},
    byZone: {},
    byStep: {},
    servedBy: new Map(),
    samples: [],
    firstFailureMs: null,
    lastFailureEndMs: null,
  };
  void measured;
  const servedCounts = new Float64Array(d.replicas.length);
  for (let i = 0; i < d.length; i++) {
    const outcome = d.outcome[i] as Outcome;
    const status = d.status[i] ?? 0;
    if (status >= 200 && status < 300) tally.driver2xx++;
    if (outcome === Outcome.Ok) {
      tally.ok++;
      tally.completed++;
      servedCounts[d.replica[i] ?? 0]!++;
      if ((d.attempts[i] ?? 1) > 1) tally.retriedOk++;
      continue;
    }
    const name = OUTCOME_NAMES[outcome] ?? 'unknown';
    if (outcome === Outcome.Abandoned || outcome === Outcome.Pending) tally.abandoned++;
    else {
      tally.completed++;
      tally.failed++;
    }
    tally.byOutcome[name] = (tally.byOutcome[name] ?? 0) + 1;
    if (status) tally.byStatus[String(status)] = (tally.byStatus[String(status)] ?? 0) + 1;
    const replica = d.replicas[d.replica[i] ?? 0] || null;
    const zone = replica ? zoneOf.get(replica) ?? null : null;
    const tMs = view.at(i);
    const step = phaseAt(phases, tMs);
    if (replica) tally.byReplica[replica] = (tally.byReplica[replica] ?? 0) + 1;
    if (zone) tally.byZone[zone] = (tally.byZone[zone] ?? 0) + 1;
    tally.byStep[step ?? 'steady state'] = (tally.byStep[step ?? 'steady state'] ?? 0) + 1;
    tally.firstFailureMs ??= tMs;
    tally.lastFailureEndMs = Math.max(tally.lastFailureEndMs ?? 0, view.endAt(i));
    if (tally.samples.length < FAILED_SAMPLE) {
      tally.samples.push({ id: `${runId}-${i}`, tMs, outcome: name, status, replica, zone, step, latencyMs: (d.latencyUs[i] ?? 0) / 1000 });
    }
  }
  d.replicas.forEach((name, idx) => {
    if (idx > 0 && name) tally.servedBy.set(name, servedCounts[idx] ?? 0);
  });
  return tally;
}

// ------------------------------------------------------------------ replicas

function replicaRows(records: readonly ReplicaRecord[], proxy: ProxyStats, servedBy: Map<string, number>, origin: number, hasMetrics: boolean, loadEndedAt: number): ReplicaRow[] {
  const endpoints = new Map(proxy.endpoints.map((e) => [e.id, e]));
  const rel = (t: number | null): number | null => (t === null ? null : t - origin);
  return records.map((r) => {
    const ep = endpoints.get(r.id);
    const proxy2xx = ep ? sumWhere(ep.responses, (c) => c.startsWith('2')) : 0;
    const failedAttempts = ep ? ep.attempts.connect_error + ep.attempts.reset + ep.attempts.timeout + ep.attempts.other_error : 0;
    // Exact: read after it drained, or read after the load ended while it was alive and answering
    // (a frozen replica's last successful scrape is older than that, so it stays a lower bound).
    const exact = r.final ?? (r.exit === null && r.lastScrape !== null && r.lastScrape.atMs >= loadEndedAt ? r.lastScrape : null);
    const count = exact ?? r.lastScrape;
    const exit: ReplicaRow['exit'] = r.startError !== null ? 'start-failed' : r.exit ? r.exit.kind : 'running';
    return {
      id: r.id,
      zone: r.zone,
      version: r.version,
      revision: r.revision,
      startedMs: rel(r.started?.startedAtMs ?? r.createdAtMs),
      readyMs: rel(r.firstReadyMs),
      drainingMs: rel(r.drainingMs),
      exitedMs: rel(r.exitedMs),
      exit,
      proxy2xx,
      replicaResponses: hasMetrics ? count?.responses ?? null : null,
      replicaCountSource: !hasMetrics || count === null ? 'none' : exact ? 'final' : 'last-scrape',
      driverServed: servedBy.get(r.id) ?? 0,
      retriesFrom: failedAttempts,
    };
  });
}

function replicaReconciliation(rows: ReplicaRow[], proxy: ProxyStats): { applicable: boolean; holds: boolean; proxyResponses: number; replicaResponses: number; note: string; bad: string[] } {
  const endpoints = new Map(proxy.endpoints.map((e) => [e.id, e]));
  let proxyResponses = 0;
  let replicaResponses = 0;
  let lowerBounds = 0;
  const bad: string[] = [];
  let applicable = false;
  for (const row of rows) {
    const ep = endpoints.get(row.id);
    const answered = ep ? Object.values(ep.responses).reduce((a, b) => a + b, 0) : 0;
    const failedAttempts = row.retriesFrom;
    proxyResponses += answered;
    if (row.replicaResponses === null) continue;
    applicable = true;
    replicaResponses += row.replicaResponses;
    if (row.replicaCountSource === 'final') {
      if (row.replicaResponses < answered || row.replicaResponses > answered + failedAttempts) {
        bad.push(`${row.id} (replica ${row.replicaResponses}, proxy ${answered}, failed attempts ${failedAttempts})`);
      }
    } else {
      lowerBounds++;
      // Killed before a final read: its last scrape can only be behind the proxy's count.
      if (row.replicaResponses > answered + failedAttempts) bad.push(`${row.id} (last scrape ${row.replicaResponses} > proxy ${answered} + ${failedAttempts})`);
    }
  }
  const note = lowerBounds > 0 ? `${lowerBounds} replica(s) were killed before a final read: their counts are lower bounds (last scrape)` : 'every replica read after it drained';
  return { applicable, holds: bad.length === 0, proxyResponses, replicaResponses, note, bad };
}

// ------------------------------------------------------------------ events

function eventChecks(steps: StepRecord[], events: TimelineEvent[], view: ReturnType<DeploymentController['view']>, sendEnd: number, plan: RunPlan): Check[] {
  const out: Check[] = [];
  const planned = plan.steps;
  planned.forEach((p, i) => {
    const ran = steps.find((s) => s.step === p);
    const id = `events.${i + 1}-${p.kind}`;
    if (!ran) {
      out.push(check(id, 'events', p.label, 'fail', 'executed', 'never executed (the load ended first)', 'the step was scheduled after the run ended'));
      return;
    }
    out.push(...actionOf(p).checks(p, id, ran, { events, sendEnd, replicas: plan.deployment.replicas }));
  });
  const lastRollout = [...planned].reverse().find((p) => p.kind === 'rollout');
  if (lastRollout && lastRollout.kind === 'rollout' && lastRollout.patch.version) {
    const wrong = view.replicas.filter((r) => r.phase !== 'terminating' && r.version !== lastRollout.patch.version);
    out.push(check('events.final-version', 'events', `All replicas run ${lastRollout.patch.version} at the end`, wrong.length === 0 ? 'pass' : 'fail',
      `every replica on ${lastRollout.patch.version}`, wrong.length ? `${wrong.length} on other versions: ${wrong.map((r) => `${r.id}`).join(', ')}` : `${view.replicas.length} of ${view.replicas.length}`));
  }
  return out;
}

function disruptionEvent(view: RelativeLedger, s: StepRecord, i: number, events: TimelineEvent[], measured: { from: number; to: number }): DisruptionEvent {
  const start = s.startedMs;
  const action = actionOf(s.step);
  const end = action.windowEnd(s, events);
  const duringEnd = Math.min(end ?? measured.to, measured.to);
  const before = windowStats(view, Math.max(measured.from, start - WINDOW_MS), start);
  const during = windowStats(view, start, Math.max(start + 1, duringEnd));
  const after = windowStats(view, duringEnd, Math.min(measured.to, duringEnd + WINDOW_MS));
  let lastFailureEnd: number | null = null;
  view.forEach(start, duringEnd, (r) => {
    if (view.isFailed(r)) lastFailureEnd = Math.max(lastFailureEnd ?? 0, view.endAt(r));
  });
  const kind = action.disruptionKind;
  return {
    id: `${i + 1}-${s.step.kind}`,
    kind,
    label: s.step.label,
    startMs: start,
    endMs: end,
    before,
    during,
    after,
    failed: during.failed,
    savedByRetry: during.retried,
    longestGapMs: view.longestGap(start, Math.max(start + 1, duringEnd)).gapMs,
    timeToRecoverMs: lastFailureEnd === null ? null : (lastFailureEnd as number) - start,
  };
}

function windowStats(view: RelativeLedger, from: number, to: number): WindowStats {
  if (to < from) to = from; // an event before the measured window has an empty "before"
  const w = ledgerWindow(view.data, view.origin + from, view.origin + to);
  return { ...w, startMs: from, endMs: to };
}

/**
 * Idle keep-alive connections each replica closed early, as the data plane saw them; null when
 * it cannot tell (undici client, HAProxy). Replicas that were killed or crashed are left out.
 */
function idleClosedByReplicas(records: readonly ReplicaRecord[], stats: ProxyStats): { id: string; count: number }[] | null {
  const known = stats.endpoints.filter((e) => e.idleClosedByReplica !== undefined);
  if (known.length === 0) return null;
  const died = new Set(records.filter((r) => r.exit !== null && r.exit.kind !== 'graceful').map((r) => r.id));
  return known
    .filter((e) => !died.has(e.id) && (e.idleClosedByReplica ?? 0) > 0)
    .map((e) => ({ id: e.id, count: e.idleClosedByReplica ?? 0 }))
    .sort((a, b) => b.count - a.count);
}

function countRetriedIn(view: RelativeLedger, spans: readonly Span[]): number {
  let n = 0;
  for (const [start, end] of spans) {
    view.forEach(start, end, (i) => {
      if ((view.data.attempts[i] ?? 1) > 1) n++;
    });
  }
  return n;
}

// ------------------------------------------------------------------ series

function series(view: RelativeLedger, events: TimelineEvent[], endMs: number, plan: RunPlan): TimelineSeries {
  const bucketMs = endMs > 30_000 ? 1000 : 250;
  const b = bucketSeries(view.data, view.origin, view.origin + Math.max(bucketMs, endMs), bucketMs);
  const n = b.t.length;
  const nullable = (x: number): number | null => (Number.isNaN(x) ? null : x);
  const out: TimelineSeries = {
    bucketMs,
    t: Array.from(b.t, (x) => x - view.origin),
    ok: Array.from(b.ok),
    failed: Array.from(b.failed),
    retried: Array.from(b.retried),
    p50Ms: Array.from(b.p50Ms, nullable),
    p99Ms: Array.from(b.p99Ms, nullable),
    maxMs: Array.from(b.maxMs, nullable),
    readyByZone: {},
    readyByVersion: {},
  };
  // Ready replicas per zone and version at each bucket start, replayed from the timeline.
  for (const z of plan.deployment.zones) out.readyByZone[z] = new Array<number>(n).fill(0);
  const ready = new Map<string, { zone: string; version: string }>();
  let ev = 0;
  for (let k = 0; k < n; k++) {
    const from = out.t[k] ?? 0;
    while (ev < events.length && (events[ev]?.t ?? Infinity) <= from) {
      const e = events[ev++]!;
      if (e.type === 'replica.ready') ready.set(e.replica, { zone: e.zone, version: e.version });
      else if (e.type === 'replica.unready' || e.type === 'replica.draining' || e.type === 'replica.terminated') ready.delete(e.replica);
    }
    for (const r of ready.values()) {
      const zs = (out.readyByZone[r.zone] ??= new Array<number>(n).fill(0));
      zs[k] = (zs[k] ?? 0) + 1;
      const vs = (out.readyByVersion[r.version] ??= new Array<number>(n).fill(0));
      vs[k] = (vs[k] ?? 0) + 1;
    }
  }
  return out;
}

// ------------------------------------------------------------------ helpers

function driverMetricsCheck(text: string | null, tally: Tally): Check | null {
  if (!text) return null;
  let sent: number | undefined;
  try {
    sent = sampleValue(parseExposition(text), 'zerodrop_driver_requests_sent_total');
  } catch {
    sent = undefined;
  }
  if (sent === undefined) return null;
  const holds = sent === tally.sent;
  return check('counters.driver-metrics-equal-ledger', 'counters', "The driver's Prometheus counters equal its ledger", holds ? 'pass' : 'fail',
    'zerodrop_driver_requests_sent_total = ledger rows', `metrics ${fmt(sent)} · ledger ${fmt(tally.sent)}`);
}

function prometheusCheck(q: PrometheusResult['queries'][number]): Check {
  const status = q.value === null ? 'invalid' : q.agree === false ? 'fail' : 'pass';
  if (q.kind === 'cross') {
    const expected = q.expected ?? 0;
    return check(`prometheus.${q.name}`, 'prometheus', `PromQL across components: ${q.name}`, status,
      `${q.what ?? q.promql} = ${fmt(expected)} in PromQL (latest raw samples)`, `PromQL ${fmtN(q.value)}`,
      status === 'pass' ? undefined : status === 'invalid' ? 'Prometheus had no data for one of the components (a missed scrape)' : `Prometheus sees the components disagree: ${q.promql} = ${fmtN(q.value)}`);
  }
  const rel = q.relation ?? '=';
  return check(`prometheus.${q.name}`, 'prometheus', `PromQL agrees: ${q.name}`, status, `PromQL ${rel} in-process (${fmtN(q.inProcess)})`,
    `PromQL ${fmtN(q.value)}`, status === 'pass' ? undefined : status === 'invalid' ? 'Prometheus had no data for this (a missed scrape)' : `${q.promql} disagrees with the in-process count`);
}

function latencyGate(id: string, name: string, value: number | null, limit: number): Check {
  const holds = value !== null && value <= limit;
  return check(id, 'thresholds', `${name} latency over the measured window`, holds ? 'pass' : 'fail', `${name} ≤ ${limit} ms`, value === null ? 'no successful request' : `${name} = ${value.toFixed(2)} ms`);
}

/**
 * When the harness could not deliver the load asked (the rate was not reached), the thresholds
 * (latency, longest gap, retries during a rollout) measured an overloaded machine as much as the
 * service: they are INVALID then, not FAIL. A request that was lost or failed stays FAIL whatever
 * the load (README: a run that dropped a request is FAIL even if the load fell short).
 */
function unjudgedUnderShortLoad(checks: Check[]): void {
  // Only a rate the driver could not send (or a run cut short) says the harness was the limit.
  // Schedule lag alone does not: a service that stalls during a rollout fills every connection
  // and makes the driver late too, and its thresholds must stay FAIL then.
  const short = checks.filter((c) => (c.id === 'load.rate-reached' || c.id === 'load.complete') && c.status === 'invalid').map((c) => c.id);
  if (short.length === 0) return;
  for (const c of checks) {
    if (c.group !== 'thresholds' || c.status !== 'fail') continue;
    c.status = 'invalid';
    c.explanation = `not judged: the load was not what was asked (${short.join(', ')}), so this measured the overloaded harness as much as the service${c.explanation ? `; ${c.explanation}` : ''}`;
  }
}

function decide(checks: Check[]): Verdict {
  if (checks.some((c) => c.status === 'fail')) return 'FAIL';
  if (checks.some((c) => c.status === 'invalid')) return 'INVALID';
  return 'PASS';
}

function headline(verdict: Verdict, tally: Tally, achievedRate: number, steps: StepRecord[], checks: Check[], events: TimelineEvent[]): string {
  const what = steps.map((s) => s.step.label.replace(/ at .*$/, '')).join(', ');
  const base = `${fmt(tally.sent)} requests at ${fmt(Math.round(achievedRate))} req/s, ${fmt(tally.sent - tally.completed)} lost, ${fmt(tally.failed)} failed`;
  const saved = tally.retriedOk > 0 ? ` (${fmt(tally.retriedOk)} saved by a retry)` : '';
  void events;
  if (verdict === 'PASS') return `PASS: ${base}${saved}${what ? ` through ${what}` : ''}`;
  const firstBad = checks.find((c) => c.status === (verdict === 'FAIL' ? 'fail' : 'invalid'));
  return `${verdict}: ${base}${saved}${firstBad ? ` — ${firstBad.title}: ${firstBad.actual}` : ''}`;
}

function check(id: string, group: Check['group'], title: string, status: Check['status'], expected: string, actual: string, explanation?: string, numbers?: Record<string, number>): Check {
  const c: Check = { id, group, title, status, expected, actual };
  if (explanation) c.explanation = explanation;
  if (numbers) c.numbers = numbers;
  return c;
}

function sumWhere(rec: Record<string, number>, pred: (key: string) => boolean): number {
  let n = 0;
  for (const [k, v] of Object.entries(rec)) if (pred(k)) n += v;
  return n;
}

function breakdown(rec: Record<string, number>): string {
  return Object.entries(rec)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ');
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function fmtN(n: number | null): string {
  return n === null ? '—' : fmt(n);
}

/**
 * Every failed or unanswered request, for failed-requests.csv (the result keeps only a sample).
 * A generator: a run with a million failures streams to disk without building a list.
 */
export function* failedRequestRows(ledger: LedgerData, origin: number, runId: string, result: RunResult): Generator<FailedRequestSample> {
  const view = new RelativeLedger(ledger, origin);
  const phases = buildPhases(result.events);
  const zoneOf = new Map(result.replicas.map((r) => [r.id, r.zone]));
  for (let i = 0; i < ledger.length; i++) {
    const outcome = ledger.outcome[i] as Outcome;
    if (outcome === Outcome.Ok) continue;
    const replica = ledger.replicas[ledger.replica[i] ?? 0] || null;
    const tMs = view.at(i);
    yield {
      id: `${runId}-${i}`,
      tMs,
      outcome: OUTCOME_NAMES[outcome] ?? 'unknown',
      status: ledger.status[i] ?? 0,
      replica,
      zone: replica ? zoneOf.get(replica) ?? null : null,
      step: phaseAt(phases, tMs),
      latencyMs: (ledger.latencyUs[i] ?? 0) / 1000,
    };
  }
}
