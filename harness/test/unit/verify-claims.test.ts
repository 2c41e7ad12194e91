/**
 * Issue 11, items 5, 6, 9 and 11 on edited copies of the passing fixture run: nothing exercised,
 * nothing claimed (a load-only scenario says so; a skipped check is listed with its reason and
 * rendered as skipped); windows and charts by actual time; bookkeeping that can fail; headlines
 * that state the broken condition.
 */
import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../src/report/markdown.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderTerminalSummary } from '../../src/report/terminal.js';
import type { RunResult } from '../../src/result/types.js';
import { verifyRun } from '../../src/verify/verify.js';
import { ORIGIN, ROLLOUT_AT, ROLLOUT_DONE, passingInput } from '../fixtures/verify-input.js';

function checkOf(r: RunResult, id: string): RunResult['checks'][number] {
  const c = r.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id} in ${r.checks.map((x) => x.id).join(', ')}`);
  return c;
}

describe('headlines state the broken condition (item 11)', () => {
  it('a rate that fell short: INVALID, "target rate not reached: achieved of target"', () => {
    const f = passingInput();
    f.input.plan.driver.rate = 1020;
    const r = verifyRun(f.input);
    expect(r.verdict).toBe('INVALID');
    expect(r.exitCode).toBe(3);
    expect(checkOf(r, 'load.rate-reached').status).toBe('invalid');
    expect(r.headline).toMatch(/^INVALID: target rate not reached: 1,000 of 1,020 req\/s — 10,000 requests at 1,000 req\/s, 0 lost, 0 failed/);
    expect(r.headline).not.toContain('The target rate was reached');
    // …and the terminal lists the check by its broken condition, not by a title that reads as if it held.
    expect(renderTerminalSummary(r, { reportPath: '/tmp/zd-report', color: false })).toContain(
      'load.rate-reached  target rate not reached: 1,000 of 1,020 req/s',
    );
  });

  it('a FAIL names the broken rule first, and how many more broke', () => {
    const f = passingInput();
    f.input.proxyStats.received--;
    f.input.summary.anomalies = 1;
    const r = verifyRun(f.input);
    expect(r.verdict).toBe('FAIL');
    expect(r.headline).toMatch(/^FAIL: driver sent 10,000 requests but the proxy received 9,999 — 10,000 requests/);
  });

  it('every check that did not pass carries its broken condition', () => {
    const f = passingInput();
    f.input.plan.driver.rate = 1020;
    f.input.summary.unsent = 3;
    f.input.proxyStats.received--;
    const r = verifyRun(f.input);
    for (const c of r.checks.filter((x) => x.status === 'fail' || x.status === 'invalid')) expect(c.broken, c.id).toMatch(/\w/);
    for (const c of r.checks.filter((x) => x.status === 'pass' || x.status === 'skip')) expect(c.broken, c.id).toBeUndefined();
    expect(r.headline).toMatch(/^FAIL: driver sent 10,000 requests but the proxy received 9,999 — /);
  });
});

describe('nothing exercised, nothing claimed (item 5)', () => {
  it('a scenario with no disruption PASSes as "load only: no disruption exercised"', () => {
    const f = passingInput();
    f.input.plan.steps = [];
    f.input.steps = [];
    const r = verifyRun(f.input);
    expect(r.verdict).toBe('PASS');
    expect(r.headline).toMatch(/^PASS: 10,000 requests at 1,000 req\/s, 0 lost, 0 failed \(\d+ saved by a retry\) — load only: no disruption exercised$/);
    expect(r.checks.filter((c) => c.group === 'events')).toEqual([]);
  });

  it('the same scenario with a disruption says what it went through instead', () => {
    expect(verifyRun(passingInput().input).headline).not.toContain('load only');
  });

  it('a check the data plane cannot observe, or whose input is missing, is listed as skipped with the reason, and rendered so', () => {
    const f = passingInput();
    for (const e of f.input.proxyStats.endpoints) delete e.idleClosedByReplica;
    f.input.driverMetricsText = null;
    f.input.plan.deployment.template.metricsPath = null;
    const r = verifyRun(f.input);
    expect(r.verdict).toBe('PASS');
    const skipped = Object.fromEntries(r.checks.filter((c) => c.status === 'skip').map((c) => [c.id, c.actual]));
    expect(skipped).toEqual({
      'counters.replicas-cover-proxy': 'skipped: the service exposes no metrics (metricsPath: null)',
      'counters.driver-metrics-equal-ledger': "skipped: the driver's metrics were not read (no exposition for this run)",
      'orchestrator.idle-keepalive-kept':
        "skipped: this data plane (zerodrop's proxy with the undici upstream client) cannot observe who closed an idle connection",
      'orchestrator.final-counts': 'skipped: the service exposes no metrics (metricsPath: null)',
    });
    const md = renderMarkdown(r);
    expect(md).toContain('orchestrator.idle-keepalive-kept');
    expect(md).toContain('cannot observe who closed an idle connection');
    expect(md).toMatch(/4 skipped/);
    expect(renderJunit(r)).toContain('<skipped message="skipped: this data plane');
  });

  it('on HAProxy the idle keep-alive check is skipped naming HAProxy', () => {
    const f = passingInput();
    for (const e of f.input.proxyStats.endpoints) delete e.idleClosedByReplica;
    f.input.plan.scenario.proxy.engine = 'haproxy';
    expect(checkOf(verifyRun(f.input), 'orchestrator.idle-keepalive-kept').actual).toBe(
      'skipped: this data plane (HAProxy) cannot observe who closed an idle connection',
    );
  });
});

describe('windows by actual time (item 6)', () => {
  /**
   * The driver stalls for the whole rollout: every request intended in it goes out only after
   * it (1.2 s late, answered 1 ms later). By intended time the rollout "had" 1,000 req/s; by
   * actual time nothing was sent during it.
   */
  function stalledRollout(): RunResult {
    const f = passingInput();
    const lag = ROLLOUT_DONE - ROLLOUT_AT;
    for (let i = ROLLOUT_AT; i < ROLLOUT_DONE; i++) {
      f.ledger.sendLagUs[i] = lag * 1000;
      f.ledger.latencyUs[i] = (lag + 1) * 1000;
    }
    return verifyRun(f.input);
  }

  it('the rollout window counts what was actually sent and answered in it', () => {
    const during = stalledRollout().disruption.events.find((e) => e.kind === 'rollout')!.during;
    expect(during.sent).toBe(0);
    expect(during.achievedRate).toBe(0);
    // the requests answered in it were sent before it started (in flight across its start)
    expect(during.ok).toBeLessThan(5);
    // latency from the intended send time: the stall shows in full
    expect(during.latency.maxMs).toBeGreaterThan(1200);
  });

  it('the report says which clock each column of the per-event tables uses', () => {
    expect(renderMarkdown(stalledRollout())).toContain('Windows by actual time: Rate and Sent count requests actually sent in the window');
  });

  it('the window after it holds the catch-up: twice the rate for 1.2 s', () => {
    const after = stalledRollout().disruption.events.find((e) => e.kind === 'rollout')!.after;
    expect(after.sent).toBe(5000 + 1200);
  });

  it('the throughput chart plots answers when they arrived: no successes during the stall', () => {
    const r = stalledRollout();
    const tl = r.timeline;
    const inStall = tl.t.map((t, k) => [t, tl.ok[k]!] as const).filter(([t]) => t >= ROLLOUT_AT + tl.bucketMs && t + tl.bucketMs <= ROLLOUT_DONE);
    expect(inStall.length).toBeGreaterThan(0);
    for (const [, ok] of inStall) expect(ok).toBe(0);
    expect(tl.ok.reduce((a, b) => a + b, 0)).toBe(10_000);
  });

  it('a request in flight across a window edge belongs to both windows (sent ≤ t ≤ answered)', () => {
    const f = passingInput();
    // request 2999: sent at +2999 ms, answered 500 ms later: in flight when the rollout started
    f.ledger.latencyUs[2999] = 500_000;
    const e = verifyRun(f.input).disruption.events.find((x) => x.kind === 'rollout')!;
    expect(e.during.latency.maxMs).toBe(500);
    expect(e.before.latency.maxMs).toBe(500);
    expect(ORIGIN).toBeGreaterThan(0);
  });
});

describe('bookkeeping that can fail (item 9)', () => {
  it('a reconciliation row that does not hold under a PASS says why no check judged it', () => {
    const f = passingInput();
    f.input.proxyStats.savedByRetry += 3;
    const r = verifyRun(f.input);
    expect(r.verdict).toBe('PASS');
    const row = r.reconciliation.find((x) => x.id === 'retries')!;
    expect(row.holds).toBe(false);
    expect(row.note).toMatch(/^reported, not judged \(no check compares them\)/);
    for (const x of r.reconciliation) if (!x.holds) expect(x.note, x.id).toBeTruthy();
    expect(renderMarkdown(r)).toContain('reported, not judged (no check compares them)');
  });

  it("the engine's running count of writes disagreeing with the ledger makes the run INVALID (ledger.bookkeeping)", () => {
    const f = passingInput();
    f.input.summary.sent -= 2;
    const r = verifyRun(f.input);
    expect(r.verdict).toBe('INVALID');
    expect(r.exitCode).toBe(3);
    expect(checkOf(r, 'ledger.bookkeeping').status).toBe('invalid');
    expect(r.headline).toMatch(/^INVALID: the driver's bookkeeping cannot be trusted: /);
  });
});
