/**
 * Retries judged by cause: each failed try is put down to its replica's state at that instant,
 * whatever the time window. Negative controls over the passing fixture, plus the pure tally.
 */
import { describe, expect, it } from 'vitest';
import type { CheckStatus, RunResult } from '../../src/result/types.js';
import { verifyRun } from '../../src/verify/verify.js';
import { causeOf, retryCauseChecks, tallyRetryCauses, type RetryCauseInput } from '../../src/verify/checks/retry-causes.js';
import { ORIGIN, passingInput, type Fixture } from '../fixtures/verify-input.js';

function notPassing(r: RunResult): Record<string, CheckStatus> {
  return Object.fromEntries(r.checks.filter((c) => c.status !== 'pass').map((c) => [c.id, c.status]));
}

/** Request `seq` needed a retry because its first try failed on `replica` at +`at` ms. */
function retried(f: Fixture, seq: number, replica: string, at: number): void {
  f.ledger.attempts[seq] = 2;
  f.input.proxyStats.savedByRetry++;
  f.input.proxyStats.retries.connect_error++;
  f.endpoint(replica).attempts.connect_error++;
  f.input.failedTries.tries.push({ t: ORIGIN + at, replica, reason: 'connect_error', count: 1 });
}

describe('retries by cause, end to end through verifyRun', () => {
  it('the passing run: every failed try was on the crashed zone: exempt, shown apart', () => {
    const r = verifyRun(passingInput().input);
    const c = r.checks.find((x) => x.id === 'thresholds.rollout-retries')!;
    expect(c.status).toBe('pass');
    expect(c.numbers?.['zone-failure']).toBeGreaterThan(0);
    expect(c.actual).toMatch(/zone failure \d+ \(exempt\)/);
  });

  it('a try failed on a retired replica AFTER the rollout window closed (it exited, routing lagged) → FAIL thresholds.rollout-retries', () => {
    const f = passingInput();
    // web-v1-c was retired at +3.9 s; the rollout completed at +4.2 s. A try at +5 s is still its fault.
    retried(f, 5000, 'web-v1-c', 5000);
    const r = verifyRun(f.input);
    expect(notPassing(r)).toEqual({ 'thresholds.rollout-retries': 'fail' });
    expect(r.exitCode).toBe(1);
    expect(r.checks.find((x) => x.id === 'thresholds.rollout-retries')!.actual).toMatch(/^1 charged \(web-v1-c 1\)/);
  });

  it('a Ready replica failed a try in steady state → FAIL thresholds.steady-retries (default 0)', () => {
    const f = passingInput();
    retried(f, 1500, 'web-v1-a', 1500);
    const r = verifyRun(f.input);
    expect(notPassing(r)).toEqual({ 'thresholds.steady-retries': 'fail' });
    expect(r.exitCode).toBe(1);
  });

  it('thresholds.maxSteadyRetries lifts it', () => {
    const f = passingInput();
    retried(f, 1500, 'web-v1-a', 1500);
    f.input.plan.thresholds.maxSteadyRetries = 1;
    expect(notPassing(verifyRun(f.input))).toEqual({});
  });

  it('a retried request with no failed try logged: the log cannot be trusted → INVALID on both', () => {
    const f = passingInput();
    f.ledger.attempts[1500] = 2;
    const r = verifyRun(f.input);
    expect(notPassing(r)).toMatchObject({ 'thresholds.rollout-retries': 'invalid', 'thresholds.steady-retries': 'invalid' });
  });

  it('an overflowed log → INVALID', () => {
    const f = passingInput();
    f.input.failedTries.dropped = 3;
    expect(notPassing(verifyRun(f.input))).toMatchObject({ 'thresholds.rollout-retries': 'invalid', 'thresholds.steady-retries': 'invalid' });
  });
});

describe('causeOf / tallyRetryCauses', () => {
  const replicas = [
    { id: 'old', firstReadyMs: 0, drainingMs: 100, deleteReason: 'rollout' },
    { id: 'down', firstReadyMs: 0, drainingMs: null, deleteReason: 'lost' },
    { id: 'fresh', firstReadyMs: 300, drainingMs: null, deleteReason: null },
    { id: 'sick', firstReadyMs: 0, drainingMs: 50, deleteReason: 'unhealthy' },
  ];
  const zones = [{ atMs: 200, replicas: ['down'] }];

  it('puts each try down to its replica at that instant', () => {
    const byId = new Map(replicas.map((r) => [r.id, r]));
    expect(causeOf(99, byId.get('old'), zones)).toBe('serving');
    expect(causeOf(100, byId.get('old'), zones)).toBe('retired');
    expect(causeOf(10_000, byId.get('old'), zones)).toBe('retired');
    expect(causeOf(199, byId.get('down'), zones)).toBe('serving');
    expect(causeOf(200, byId.get('down'), zones)).toBe('zone-failure');
    expect(causeOf(299, byId.get('fresh'), zones)).toBe('not-ready');
    expect(causeOf(60, byId.get('sick'), zones)).toBe('serving');
    expect(causeOf(60, undefined, zones)).toBe('not-ready');
  });

  it('charges retired tries to the rollout whatever the window, others by the change spans', () => {
    const input: RetryCauseInput = {
      tries: [
        { t: 150, replica: 'old', reason: 'reset', count: 2 },
        { t: 250, replica: 'down', reason: 'timeout', count: 5 },
        { t: 120, replica: 'sick', reason: 'reset', count: 1 },
        { t: 900, replica: 'fresh', reason: 'connect_error', count: 1 },
      ],
      dropped: 0,
      resolutionMs: 0,
      replicas,
      zoneFailures: zones,
      changeSpans: [[100, 130]],
      retriedRequests: 9,
    };
    const t = tallyRetryCauses(input);
    expect(t.byCause).toEqual({ retired: 2, 'zone-failure': 5, 'not-ready': 0, serving: 2 });
    expect([t.rollout, t.steady]).toEqual([3, 1]);
    const { checks } = retryCauseChecks(input, { rollout: 3, steady: 0 });
    expect(checks.map((c) => [c.id, c.status])).toEqual([
      ['thresholds.rollout-retries', 'pass'],
      ['thresholds.steady-retries', 'fail'],
    ]);
  });
});
