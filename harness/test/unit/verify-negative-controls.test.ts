/**
 * verifyRun as a proof: a realistic passing run PASSes with every check held, and each rule of
 * the proof's "proof that nothing was dropped" has a negative control — one mutation of that run
 * that breaks exactly that rule — showing that exactly its check catches it, with the verdict and
 * exit code the README promises (1 FAIL, 3 INVALID).
 */
import { describe, expect, it } from 'vitest';
import { Outcome } from '../../src/driver/types.js';
import { renderHtml } from '../../src/report/html.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import type { CheckStatus, RunResult, Verdict } from '../../src/result/types.js';
import { verifyRun } from '../../src/verify/verify.js';
import { CRASH_AT, ORIGIN, RATE, DURATION_MS, agreeingPrometheus, driverMetricsText, passingInput, type Fixture } from '../fixtures/verify-input.js';

const TOTAL = (RATE * DURATION_MS) / 1000;

/** Checks that did not pass, as id → status (skips included: a skip is never silent). */
function notPassing(r: RunResult): Record<string, CheckStatus> {
  return Object.fromEntries(r.checks.filter((c) => c.status !== 'pass').map((c) => [c.id, c.status]));
}

function checkOf(r: RunResult, id: string): RunResult['checks'][number] {
  const c = r.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id} in ${r.checks.map((x) => x.id).join(', ')}`);
  return c;
}

/**
 * Request `seq` was not answered by the replica that served it in the passing run: that
 * replica's proxy-side and own counts lose it (so only the rule under test is broken).
 */
function unserve(f: Fixture, seq: number): string {
  const id = f.servedBy(seq);
  const ep = f.endpoint(id);
  ep.responses['200'] = (ep.responses['200'] ?? 0) - 1;
  ep.attempts.response--;
  const rec = f.record(id);
  if (rec.final) rec.final.responses--;
  // The killed replica's last scrape (+5.5 s) only covers what came before it.
  if (rec.lastScrape && (rec.exit?.kind !== 'killed' || seq < 5500)) rec.lastScrape.responses--;
  return id;
}

/** The driver saw request `seq` end with `outcome` (and no answer from the proxy unless status > 0). */
function failRow(f: Fixture, seq: number, outcome: Outcome, status: number): void {
  f.ledger.outcome[seq] = outcome;
  f.ledger.status[seq] = status;
  const p = f.input.proxyStats;
  p.responded['200'] = (p.responded['200'] ?? 0) - 1;
  if (status > 0) {
    // The replica answered with this status, and the proxy passed it on.
    p.responded[String(status)] = (p.responded[String(status)] ?? 0) + 1;
    const ep = f.endpoint(f.servedBy(seq));
    ep.responses['200'] = (ep.responses['200'] ?? 0) - 1;
    ep.responses[String(status)] = (ep.responses[String(status)] ?? 0) + 1;
  } else {
    unserve(f, seq);
  }
}

describe('verifyRun: the passing run', () => {
  const f = passingInput();
  const r = verifyRun(f.input);

  it('PASSes with every check held, exit 0', () => {
    expect(notPassing(r)).toEqual({});
    expect(r.verdict).toBe('PASS');
    expect(r.exitCode).toBe(0);
    expect(r.headline).toMatch(
      /^PASS: 10,000 requests at 1,000 req\/s, 0 lost, 0 failed \(\d+ saved by a retry\) through rollout v2, zone c crash, zone c recovers$/,
    );
  });

  it('has one check per rule of the proof, ids stable', () => {
    expect(r.checks.map((c) => c.id)).toEqual([
      'ledger.every-request-answered',
      'ledger.no-failed-requests',
      'ledger.ids-echoed',
      'ledger.bookkeeping',
      'counters.sent-equals-received',
      'counters.2xx-agree',
      'counters.replicas-cover-proxy',
      'counters.driver-metrics-equal-ledger',
      'load.rate-reached',
      'load.all-sent',
      'load.schedule-kept',
      'load.complete',
      'events.1-rollout',
      'events.2-crash-zone-injected',
      'events.2-crash-zone-recovered',
      'events.3-recover-zone',
      'events.final-version',
      'orchestrator.invariants',
      'orchestrator.graceful-exits',
      'orchestrator.idle-keepalive-kept',
      'orchestrator.control-plane-on-time',
      'orchestrator.final-counts',
      'load.machine-not-starved',
      'thresholds.rollout-retries',
      'thresholds.steady-retries',
    ]);
  });

  it('is the run it says: retries only at the crash, the killed replica counted as a lower bound', () => {
    expect(r.load).toMatchObject({ sent: TOTAL, completed: TOTAL, lost: 0, failed: 0, achievedRate: RATE, unsent: 0 });
    expect(r.load.bookkeeping).toEqual({ engineAnomalies: 0, pendingRows: 0, unknownOutcomes: 0, summaryLedgerMismatch: 0 });
    expect(r.disruption.savedByRetry).toBeGreaterThan(0);
    expect(r.replicas.find((x) => x.id === 'web-v2-c')).toMatchObject({ exit: 'killed', replicaCountSource: 'last-scrape' });
    expect(r.replicas.filter((x) => x.replicaCountSource === 'final').map((x) => x.id)).toEqual([
      'web-v1-a',
      'web-v1-b',
      'web-v1-c',
      'web-v2-a',
      'web-v2-b',
      'web-v2-a2',
    ]);
    expect(r.reconciliation.map((x) => [x.id, x.holds, x.prometheus])).toEqual([
      ['sent-received', true, null],
      ['2xx', true, null],
      ['upstream', true, null],
      ['retries', true, null],
    ]);
  });
});

/** Row i needed a retry (connect error on another replica), saved: every counter says so. */
function retriedAt(f: Fixture, i: number): void {
  f.ledger.attempts[i] = 2;
  const p = f.input.proxyStats;
  p.savedByRetry++;
  p.retries.connect_error++;
  const other = f.servedBy(i + 1) === f.servedBy(i) ? f.servedBy(i + 2) : f.servedBy(i + 1);
  f.endpoint(other).attempts.connect_error++;
  f.input.failedTries.tries.push({ t: ORIGIN + i + 0.5, replica: other, reason: 'connect_error', count: 1 });
}

type Mutation = [rule: string, mutate: (f: Fixture) => void, caught: Record<string, CheckStatus>, verdict: Verdict];

const MUTATIONS: Mutation[] = [
  [
    'a lost request (sent > completed)',
    (f) => {
      f.ledger.outcome[2000] = Outcome.Abandoned;
      f.ledger.status[2000] = 0;
      f.ledger.latencyUs[2000] = 8_000_000;
      f.input.proxyStats.responded['200']!--;
      unserve(f, 2000);
    },
    { 'ledger.every-request-answered': 'fail' },
    'FAIL',
  ],
  ['a failed request: reset', (f) => failRow(f, 2001, Outcome.Reset, 0), { 'ledger.no-failed-requests': 'fail' }, 'FAIL'],
  ['a failed request: 5xx', (f) => failRow(f, 2002, Outcome.HttpError, 503), { 'ledger.no-failed-requests': 'fail' }, 'FAIL'],
  [
    'a failed request: timeout',
    (f) => {
      failRow(f, 2003, Outcome.Timeout, 0);
      f.ledger.latencyUs[2003] = 2_000_000;
      f.input.proxyStats.clientAborts++;
    },
    { 'ledger.no-failed-requests': 'fail' },
    'FAIL',
  ],
  [
    'a failed request: refused (it never reached the proxy, so the counters still agree)',
    (f) => {
      failRow(f, 2004, Outcome.Refused, 0);
      f.input.proxyStats.received--;
    },
    { 'ledger.no-failed-requests': 'fail' },
    'FAIL',
  ],
  [
    'a wrong echoed id',
    (f) => void (f.ledger.outcome[2005] = Outcome.IdMismatch),
    { 'ledger.ids-echoed': 'fail', 'ledger.no-failed-requests': 'fail' },
    'FAIL',
  ],
  ['driver sent ≠ proxy received', (f) => void f.input.proxyStats.received--, { 'counters.sent-equals-received': 'fail' }, 'FAIL'],
  ['proxy 2xx ≠ driver 2xx', (f) => void f.input.proxyStats.responded['200']!++, { 'counters.2xx-agree': 'fail' }, 'FAIL'],
  [
    'a retired replica counted fewer than the proxy got from it',
    (f) => void f.record('web-v1-b').final!.responses--,
    { 'counters.replicas-cover-proxy': 'fail' },
    'FAIL',
  ],
  [
    'a live replica counted more than the proxy sent it',
    (f) => void f.record('web-v2-a').lastScrape!.responses++,
    { 'counters.replicas-cover-proxy': 'fail' },
    'FAIL',
  ],
  [
    'driver metrics ≠ ledger',
    (f) => void (f.input.driverMetricsText = driverMetricsText(TOTAL - 1)),
    { 'counters.driver-metrics-equal-ledger': 'fail' },
    'FAIL',
  ],
  [
    'achieved rate below 99% of the target',
    (f) => {
      f.input.plan.driver.rate = 1020;
      f.input.summary.unsent = 180;
    },
    { 'load.rate-reached': 'invalid', 'load.all-sent': 'invalid' },
    'INVALID',
  ],
  // Issue 11, item 5: what was due and never sent was never exercised, even with the rate reached.
  ['requests due never sent (unsent > 0), the rate still within 99%', (f) => void (f.input.summary.unsent = 5), { 'load.all-sent': 'invalid' }, 'INVALID'],
  // Issue 11, item 5: a closed loop slows down with the service, so it proves no load.
  ['a closed loop (rate 0)', (f) => void (f.input.plan.driver.rate = 0), { 'load.rate-reached': 'invalid', 'load.schedule-kept': 'skip' }, 'INVALID'],
  [
    'the driver fell behind its schedule by more than the bound',
    (f) => {
      f.ledger.sendLagUs[5000] = 1_200_000;
      f.ledger.latencyUs[5000] = 1_201_000;
    },
    { 'load.schedule-kept': 'invalid' },
    'INVALID',
  ],
  [
    // Issue 11, item 4: a retry rule is never downgraded to INVALID, whatever the load.
    'the load fell short AND a rollout needed retries: a retry rule stays FAIL',
    (f) => {
      f.input.plan.driver.rate = 1020;
      f.input.summary.unsent = 180;
      retriedAt(f, 3500);
    },
    { 'load.rate-reached': 'invalid', 'load.all-sent': 'invalid', 'thresholds.rollout-retries': 'fail' },
    'FAIL',
  ],
  [
    'the load fell short AND the p99 gate was crossed: only latency and gap gates are not judged on an overloaded harness (INVALID)',
    (f) => {
      f.input.plan.driver.rate = 1020;
      f.input.summary.unsent = 180;
      f.input.plan.thresholds.p99 = 0.5;
      f.input.plan.thresholds.maxGap = 0.01;
    },
    { 'load.rate-reached': 'invalid', 'load.all-sent': 'invalid', 'thresholds.p99': 'invalid', 'thresholds.max-gap': 'invalid' },
    'INVALID',
  ],
  ['the p99 gate crossed at full load', (f) => void (f.input.plan.thresholds.p99 = 0.5), { 'thresholds.p99': 'fail' }, 'FAIL'],
  [
    'the driver fell behind AND a rollout needed retries: lag alone may be the service stalling, so the threshold stays FAIL',
    (f) => {
      f.ledger.sendLagUs[5000] = 1_200_000;
      f.ledger.latencyUs[5000] = 1_201_000;
      retriedAt(f, 3500);
    },
    { 'load.schedule-kept': 'invalid', 'thresholds.rollout-retries': 'fail' },
    'FAIL',
  ],
  [
    'the load fell short AND a request failed: a dropped request is FAIL whatever the load',
    (f) => {
      f.input.plan.driver.rate = 1020;
      f.input.summary.unsent = 180;
      failRow(f, 2001, Outcome.Reset, 0);
    },
    { 'load.rate-reached': 'invalid', 'load.all-sent': 'invalid', 'ledger.no-failed-requests': 'fail' },
    'FAIL',
  ],
  ['the run was interrupted', (f) => void (f.input.interrupted = true), { 'load.complete': 'invalid' }, 'INVALID'],
  [
    'a rollout that did not complete',
    (f) => {
      const i = f.timeline.findIndex((e) => e.type === 'rollout.completed');
      f.timeline[i] = { t: f.timeline[i]!.t, type: 'rollout.failed', revision: 2, version: 'v2', reason: 'progress deadline exceeded' };
      Object.assign(f.input.steps[0]!, { outcome: 'failed', detail: 'progress deadline exceeded' });
    },
    { 'events.1-rollout': 'fail' },
    'FAIL',
  ],
  [
    'a zone failure that was not injected',
    (f) =>
      f.timeline.splice(
        f.timeline.findIndex((e) => e.type === 'zone.down'),
        1,
      ),
    // With no zone failure to put them down to, web-v2-c's failed tries are a Ready replica's.
    { 'events.2-crash-zone-injected': 'fail', 'events.2-crash-zone-recovered': 'fail', 'thresholds.steady-retries': 'fail' },
    'FAIL',
  ],
  [
    'a zone failure the workload never recovered from',
    (f) =>
      f.timeline.splice(
        f.timeline.findIndex((e) => e.type === 'workload.recovered'),
        1,
      ),
    { 'events.2-crash-zone-recovered': 'fail' },
    'FAIL',
  ],
  [
    'a recovery only after the load had ended',
    (f) => {
      const e = f.timeline.find((x) => x.type === 'workload.recovered')!;
      e.t = ORIGIN + DURATION_MS + 500;
    },
    { 'events.2-crash-zone-recovered': 'fail' },
    'FAIL',
  ],
  [
    'a replica left on the old version',
    (f) => {
      const v = f.input.controller.view();
      f.input.controller = { ...f.input.controller, view: () => ({ ...v, replicas: v.replicas.map((x, i) => (i === 0 ? { ...x, version: 'v1' } : x)) }) };
    },
    { 'events.final-version': 'fail' },
    'FAIL',
  ],
  [
    'an invariant breach',
    (f) =>
      void f.timeline.push({ t: ORIGIN + 3400, type: 'invariant.breach', invariant: 'min-available', detail: 'available 2 < 3 − 0', available: 2, total: 3 }),
    { 'orchestrator.invariants': 'fail' },
    'FAIL',
  ],
  ['a retired replica that needed SIGKILL', (f) => void (f.record('web-v1-b').exit!.kind = 'killed'), { 'orchestrator.graceful-exits': 'fail' }, 'FAIL'],
  [
    "the data plane took a replica out of rotation later than the scenario's routing lag (zerodrop's own fault)",
    (f) => {
      const e = f.timeline.find((x) => x.type === 'replica.unrouted')!;
      if (e.type === 'replica.unrouted') e.applyLagMs = f.input.plan.deployment.termination.routingLagMs + 250;
    },
    { 'orchestrator.control-plane-on-time': 'invalid' },
    'INVALID',
  ],
  // It drained and exited by itself: the contract held, the replica side is unproven.
  [
    'a retired replica whose final counts were never read (it exited gracefully)',
    (f) => void (f.record('web-v1-c').final = null),
    { 'orchestrator.final-counts': 'invalid' },
    'INVALID',
  ],
  [
    'a retired replica whose final counts were never read (it needed SIGKILL)',
    (f) => {
      const r = f.record('web-v1-c');
      r.final = null;
      r.exit!.kind = 'killed';
    },
    { 'orchestrator.final-counts': 'fail', 'orchestrator.graceful-exits': 'fail' },
    'FAIL',
  ],
  [
    'a request that needed a retry during the rollout',
    (f) => {
      retriedAt(f, 3500);
    },
    { 'thresholds.rollout-retries': 'fail' },
    'FAIL',
  ],
  ['driver bookkeeping: engine anomalies', (f) => void (f.input.summary.anomalies = 2), { 'ledger.bookkeeping': 'invalid' }, 'INVALID'],
  [
    'driver bookkeeping: the engine counted more writes than the ledger has rows',
    (f) => void (f.input.summary.sent = TOTAL + 1),
    { 'ledger.bookkeeping': 'invalid' },
    'INVALID',
  ],
  [
    'driver bookkeeping: a row left pending (also unanswered, so FAIL wins)',
    (f) => {
      f.ledger.outcome[7000] = Outcome.Pending;
      f.ledger.status[7000] = 0;
      f.input.proxyStats.responded['200']!--;
      unserve(f, 7000);
    },
    { 'ledger.bookkeeping': 'invalid', 'ledger.every-request-answered': 'fail' },
    'FAIL',
  ],
  [
    'driver bookkeeping: an outcome byte that is no outcome',
    (f) => void (f.ledger.outcome[7001] = 42),
    { 'ledger.bookkeeping': 'invalid', 'ledger.no-failed-requests': 'fail' },
    'FAIL',
  ],
];

describe('verifyRun: one negative control per rule', () => {
  it.each(MUTATIONS)('%s', (_, mutate, caught, verdict) => {
    const f = passingInput();
    mutate(f);
    const r = verifyRun(f.input);
    expect(notPassing(r)).toEqual(caught);
    expect(r.verdict).toBe(verdict);
    expect(r.exitCode).toBe(verdict === 'FAIL' ? 1 : 3);
    expect(r.headline).toMatch(new RegExp(`^${verdict}: `));
    // Whatever broke is said in the check's own words (what the report shows next to the id).
    for (const id of Object.keys(caught)) expect(checkOf(r, id).actual, id).not.toBe('');
  });

  it('control: an add applied after the routing lag costs capacity, not correctness: reported, not judged (PASS)', () => {
    const f = passingInput();
    const e = f.timeline.find((x) => x.type === 'replica.ready')!;
    f.timeline.push({ ...e, t: e.t + 900, type: 'replica.routed', applyLagMs: f.input.plan.deployment.termination.routingLagMs + 400 } as never);
    const r = verifyRun(f.input);
    expect(r.verdict).toBe('PASS');
    expect(checkOf(r, 'orchestrator.control-plane-on-time').actual).toMatch(/1 adds \(max 9\d\d\.0 ms\)/);
  });

  it('the bookkeeping check names each counter that is not 0, and exposes them all as numbers', () => {
    const f = passingInput();
    f.input.summary.anomalies = 2;
    f.input.summary.sent = TOTAL + 3;
    f.input.summary.unsent = 7;
    f.ledger.outcome[7001] = 42;
    const r = verifyRun(f.input);
    const c = checkOf(r, 'ledger.bookkeeping');
    expect(c.actual).toBe('engine anomalies 2, rows with an unknown outcome 1, writes counted ≠ ledger rows 3');
    expect(c.explanation).toContain('fix:');
    expect(c.numbers).toEqual({ engineAnomalies: 2, pendingRows: 0, unknownOutcomes: 1, summaryLedgerMismatch: 3, unsent: 7 });
    expect(r.load.bookkeeping).toEqual({ engineAnomalies: 2, pendingRows: 0, unknownOutcomes: 1, summaryLedgerMismatch: 3 });
    expect(r.load.unsent).toBe(7);
  });

  it('the lost request is named by its id, replica-less, and counted once', () => {
    const f = passingInput();
    MUTATIONS[0]![1](f);
    const r = verifyRun(f.input);
    expect(checkOf(r, 'ledger.every-request-answered').numbers).toEqual({ sent: TOTAL, completed: TOTAL - 1, lost: 1 });
    expect(r.failures.sample.map((s) => [s.id, s.outcome])).toEqual([[`${f.input.runId}-2000`, 'abandoned']]);
  });
});

describe('verifyRun with a real Prometheus in the loop', () => {
  it('PASSes when PromQL agrees, with the cross-component checks and the Prometheus column filled', () => {
    const f = passingInput();
    f.input.prometheus = agreeingPrometheus(f.input);
    const r = verifyRun(f.input);
    expect(notPassing(r)).toEqual({});
    const prom = r.checks.filter((c) => c.group === 'prometheus').map((c) => c.id);
    expect(prom).toEqual([
      'prometheus.driver-sent',
      'prometheus.proxy-received',
      'prometheus.proxy-2xx',
      'prometheus.driver-2xx',
      'prometheus.proxy-upstream-responses',
      'prometheus.replica-responses',
      'prometheus.replica-responses-killed',
      'prometheus.sent-equals-received',
      'prometheus.2xx-agree',
      'prometheus.replicas-cover-proxy',
    ]);
    expect(checkOf(r, 'prometheus.sent-equals-received')).toMatchObject({
      title: 'PromQL across components: sent-equals-received',
      expected: 'driver sent − refused connects − proxy received = 0 in PromQL (latest raw samples)',
      actual: 'PromQL 0',
    });
    const rows = new Map(r.reconciliation.map((x) => [x.id, x]));
    expect(rows.get('sent-received')).toMatchObject({ driver: TOTAL, proxy: TOTAL, prometheus: TOTAL, holds: true });
    expect(rows.get('2xx')).toMatchObject({ driver: TOTAL, proxy: TOTAL, prometheus: TOTAL, holds: true });
    // Σ replicas in PromQL = exact counts + the killed replica's last scrape, like the Replicas column.
    expect(rows.get('upstream')!.prometheus).toBe(rows.get('upstream')!.replicas);
    expect(rows.get('upstream')!.note).toMatch(/Prometheus: [\d,]+ exact \+ [\d,]+ from the last scrape of replicas killed/);
    expect(rows.get('retries')!.prometheus).toBeNull();
    // …and the reports show both side by side.
    const md = renderMarkdown(r);
    expect(md).toMatch(/\| requests sent \/ received \| 10,000 \| 10,000 \| — \| 10,000 \| driver = proxy \| ✓ \|/);
    expect(renderHtml(r)).toContain('prometheus.2xx-agree');
  });

  it.each<[string, string, number | null, CheckStatus, Verdict]>([
    ['Prometheus sees the driver send more than the proxy received', 'sent-equals-received', 2, 'fail', 'FAIL'],
    ['Prometheus sees the proxy answer 2xx the driver never got', '2xx-agree', 1, 'fail', 'FAIL'],
    ['Prometheus sees a replica out of its bounds', 'replicas-cover-proxy', 1, 'fail', 'FAIL'],
    ['Prometheus has no data for one side', 'sent-equals-received', null, 'invalid', 'INVALID'],
  ])('%s → prometheus.%s %s', (_, name, value, status, verdict) => {
    const f = passingInput();
    const p = agreeingPrometheus(f.input);
    const q = p.queries.find((x) => x.name === name)!;
    q.value = value;
    q.agree = value === null ? null : false;
    f.input.prometheus = p;
    const r = verifyRun(f.input);
    expect(notPassing(r)).toEqual({ [`prometheus.${name}`]: status });
    expect(r.verdict).toBe(verdict);
    expect(r.exitCode).toBe(verdict === 'FAIL' ? 1 : 3);
    if (status === 'fail') {
      const row = r.reconciliation.find((x) => x.id === (name === 'sent-equals-received' ? 'sent-received' : name === '2xx-agree' ? '2xx' : 'upstream'))!;
      expect(row.holds).toBe(false);
      expect(row.note).toContain(`PromQL disagrees: ${name} ${value}`);
    }
  });

  it('a scrape that lost increments fails its fidelity check and marks its row', () => {
    const f = passingInput();
    const p = agreeingPrometheus(f.input);
    const q = p.queries.find((x) => x.name === 'proxy-received')!;
    q.value = TOTAL - 5;
    q.agree = false;
    f.input.prometheus = p;
    const r = verifyRun(f.input);
    expect(notPassing(r)).toEqual({ 'prometheus.proxy-received': 'fail' });
    expect(r.reconciliation.find((x) => x.id === 'sent-received')).toMatchObject({ prometheus: TOTAL - 5, holds: false });
  });
});

describe('report: the load figures carry unsent and the bookkeeping counters', () => {
  it('all zero in a passing run; loud when not', () => {
    const ok = renderMarkdown(verifyRun(passingInput().input));
    expect(ok).toContain('· unsent 0');
    expect(ok).toMatch(/Driver bookkeeping.*engine anomalies 0 · pending rows 0 · unknown outcomes 0 · writes ≠ ledger 0/);
    const f = passingInput();
    f.input.summary.anomalies = 3;
    f.input.summary.unsent = 12;
    const r = verifyRun(f.input);
    const md = renderMarkdown(r);
    expect(md).toContain('· unsent **12**');
    expect(md).toContain('engine anomalies **3**');
    expect(md).toContain('the ledger cannot be trusted');
    expect(md).toContain('`ledger.bookkeeping`');
    const html = renderHtml(r);
    expect(html).toContain('Driver bookkeeping');
    expect(html).toContain('unsent <span class="warn"><strong>12</strong></span>');
  });

  it('the crash time is inside the run (sanity of the fixture clock)', () => {
    const r = verifyRun(passingInput().input);
    expect(r.disruption.events.find((e) => e.kind === 'zone-crash')?.startMs).toBe(CRASH_AT);
  });
});
