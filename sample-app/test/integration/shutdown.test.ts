/**
 * Contract rule 2 under load: SIGTERM while 40 keep-alive connections hammer one replica.
 * The same verdict (zeroLossProblems) must pass for the real shutdown and fail for the
 * switches that break it, so the good-path test is shown able to fail.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { killAllSampleApps } from '../../../test/helpers/sample-app-process.js';
import { runDrainScenario, zeroLossProblems } from './drain-scenario.js';

afterEach(async () => {
  await killAllSampleApps();
});

describe('SIGTERM under steady keep-alive load (one replica, 40 connections)', () => {
  it('loses no request: every written request gets a 2xx, and client and replica counts agree', async () => {
    const run = await runDrainScenario();
    const { load } = run;
    expect(zeroLossProblems(run)).toEqual([]);
    // The scenario really went through the shutdown: responses said Connection: close, the
    // client reconnected during the drain delay, then every connect was refused.
    expect(load.written).toBeGreaterThan(1500);
    expect(load.closeResponses).toBeGreaterThan(0);
    expect(load.connects).toBeGreaterThan(40);
    expect(load.refused).toBe(40);
    expect(load.byStatus['201']).toBeGreaterThan(0); // POST /echo went through the drain too
    expect(run.exitAfterSignalMs).not.toBeNull();
    expect(run.exitAfterSignalMs ?? Infinity).toBeLessThan(8000 + 500);
    const log = run.app.stderr;
    expect(log).toMatch(/SIGTERM: draining/);
    expect(log).toMatch(/listener closed \(new connections refused\)/);
    expect(log).toMatch(/drained: no connection left/);
    expect(log).not.toMatch(/drain timeout .* reached/);
  });

  it.each(['no-drain', 'abrupt-exit'])('fault %s is caught by the same verdict (requests are lost)', async (fault) => {
    const run = await runDrainScenario({ args: ['--fault', fault] });
    const problems = zeroLossProblems(run);
    expect(problems.length).toBeGreaterThan(0);
    expect(run.load.failed).toBeGreaterThan(0);
    expect(run.final).toBeNull(); // gone before anyone could read its final counters
    expect(run.app.stderr).toContain(`fault ${fault}`);
  });
});
