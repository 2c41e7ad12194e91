/**
 * A starved machine is not blamed on the service: negative controls over the passing fixture.
 * A per-try timeout (or a late send) while the machine was starved → INVALID on
 * load.machine-not-starved, and a retry threshold that failed only on such timeouts is not judged.
 * The same timeout on a quiet machine stays the service's: FAIL.
 */
import { describe, expect, it } from 'vitest';
import type { CheckStatus, RunResult } from '../../src/result/types.js';
import { verifyRun } from '../../src/verify/verify.js';
import { isStarved, machineCheck } from '../../src/verify/checks/machine.js';
import { ORIGIN, passingInput, type Fixture } from '../fixtures/verify-input.js';

function notPassing(r: RunResult): Record<string, CheckStatus> {
  return Object.fromEntries(r.checks.filter((c) => c.status !== 'pass').map((c) => [c.id, c.status]));
}

/** Request 1500 timed out on its first try (a Ready replica, steady state) and was retried. */
function timedOutTry(f: Fixture): void {
  f.ledger.attempts[1500] = 2;
  f.input.proxyStats.savedByRetry++;
  f.input.proxyStats.retries.timeout++;
  f.endpoint('web-v1-a').attempts.timeout++;
  f.input.failedTries.tries.push({ t: ORIGIN + 2500, replica: 'web-v1-a', reason: 'timeout', count: 1 });
}

/** The samples covering (from, to] ms: `what` happened to the machine. */
function starve(f: Fixture, from: number, to: number, what: { steal?: number; driverLoopDelayMs?: number; proxyLoopDelayMs?: number }): void {
  for (const s of f.input.machine.samples) if (s.t - ORIGIN > from && s.t - ORIGIN <= to) Object.assign(s, what);
}

describe('load.machine-not-starved', () => {
  it('a quiet machine: pass, with the figures', () => {
    const r = verifyRun(passingInput().input);
    const c = r.checks.find((x) => x.id === 'load.machine-not-starved')!;
    expect(c.status).toBe('pass');
    expect(c.actual).toMatch(/^0 of 50 samples starved \(every 200 ms, 2 CPUs\): steal max 0%/);
  });

  it("control: a per-try timeout on a quiet machine is the service's → FAIL thresholds.steady-retries", () => {
    const f = passingInput();
    timedOutTry(f);
    const r = verifyRun(f.input);
    expect(notPassing(r)).toEqual({ 'thresholds.steady-retries': 'fail' });
    expect(r.exitCode).toBe(1);
  });

  it.each([
    ['30% CPU steal', { steal: 0.3 }],
    ["the driver's event loop 400 ms late", { driverLoopDelayMs: 400 }],
    ["the proxy's event loop 250 ms late", { proxyLoopDelayMs: 250 }],
  ])('the same timeout while the machine was starved (%s) → INVALID: the machine, not the service', (_, what) => {
    const f = passingInput();
    timedOutTry(f);
    starve(f, 1800, 2200, what); // inside the per-try timeout (1 s) before the timeout fired
    const r = verifyRun(f.input);
    expect(notPassing(r)).toEqual({ 'load.machine-not-starved': 'invalid', 'thresholds.steady-retries': 'invalid' });
    expect(r.verdict).toBe('INVALID');
    expect(r.exitCode).toBe(3);
    const c = r.checks.find((x) => x.id === 'load.machine-not-starved')!;
    expect(c.explanation).toMatch(/^the machine, not the service/);
    expect(c.numbers?.['starvedTimeouts']).toBe(1);
  });

  it('starved long before the timeout was armed: no excuse → FAIL', () => {
    const f = passingInput();
    timedOutTry(f);
    starve(f, 200, 800, { steal: 0.5 });
    const r = verifyRun(f.input);
    expect(notPassing(r)).toEqual({ 'thresholds.steady-retries': 'fail' });
  });

  it('a late send while the driver was starved → INVALID', () => {
    const f = passingInput();
    f.ledger.sendLagUs[4000] = 400_000;
    f.ledger.latencyUs[4000] = (f.ledger.latencyUs[4000] ?? 0) + 400_000;
    starve(f, 4000, 4400, { driverLoopDelayMs: 380 });
    const r = verifyRun(f.input);
    expect(notPassing(r)).toMatchObject({ 'load.machine-not-starved': 'invalid' });
    expect(r.verdict).toBe('INVALID');
  });

  it('a reset charged to the rollout stays FAIL however starved the machine was', () => {
    const f = passingInput();
    timedOutTry(f);
    starve(f, 0, 10_000, { steal: 0.6 });
    f.input.failedTries.tries.push({ t: ORIGIN + 3500, replica: 'web-v2-a', reason: 'reset', count: 1 });
    f.ledger.attempts[3400] = 2;
    const r = verifyRun(f.input);
    expect(r.verdict).toBe('FAIL'); // the reset during the rollout is not a timeout: not excused
    expect(notPassing(r)['thresholds.rollout-retries']).toBe('fail');
  });

  it('isStarved / no samples → skip', () => {
    const base = {
      t: 0,
      busy: 1,
      steal: 0,
      harnessCores: 1,
      driverCores: null,
      proxyCores: null,
      dataPlaneCores: null,
      replicaCores: null,
      bootingCores: null,
      driverLoopDelayMs: 99,
      proxyLoopDelayMs: null,
    };
    expect(isStarved(base)).toBe(false);
    expect(isStarved({ ...base, steal: 0.1 })).toBe(true);
    expect(machineCheck({ sampleMs: 200, cpus: 2, samples: [], tryTimeouts: [1], lateSends: [], perTryTimeoutMs: 1000 }).check.status).toBe('skip');
  });
});
