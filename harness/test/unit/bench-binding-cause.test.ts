import { describe, expect, it } from 'vitest';
import { bindingCause, type CeilingResult, type Probe } from '../../../scripts/bench/ceiling.js';

const probe = (rate: number, verdict: Probe['verdict'], over: Partial<Probe> = {}): Probe => ({
  rate,
  verdict,
  detail: verdict === 'PASS' ? 'PASS: 0 dropped' : 'FAIL: 90 requests were retried during the rollout\nmore',
  failedChecks: verdict === 'PASS' ? [] : ['thresholds.rollout-retries (90 charged tries)'],
  runId: `r-${rate}`,
  dir: `/tmp/bench/r-${rate}`,
  wallSeconds: 20,
  achievedRate: rate,
  received: rate * 15,
  harnessCpuUsPerReq: null,
  replicaCpuUsPerReq: null,
  harnessCores: null,
  replicaCores: null,
  cpuBudget: null,
  retries: null,
  retryCauses: null,
  machine: null,
  ...over,
});

describe('the ceiling search says why the first failing rate failed (issue 12 item 9)', () => {
  it('names the verdict, the checks, the retries by kind and by cause, the CPU by part and the machine', () => {
    const failing = probe(5000, 'FAIL', {
      retries: { timeout: 83, connect_error: 16, reset: 17 },
      retryCauses: { retired: 60, serving: 30 },
      machine: 'cores max harness 1.2 · replicas 0.9',
      cpuBudget: {
        requests: 75_000,
        spanMs: 15_000,
        cpus: 2,
        driverUs: 20,
        dataPlaneUs: 40,
        replicasUs: 50,
        bootingUs: 10,
        harnessRestUs: 5,
        kernelAndRestUs: 30,
        totalUs: 155,
        goalUs: 60,
      },
    });
    const c: CeilingResult = {
      ceiling: 3500,
      bound: 'bracketed',
      firstFailing: 5000,
      probes: [probe(2000, 'PASS'), failing, probe(3500, 'PASS')],
      atCeiling: null,
    };
    const text = bindingCause(c).join('\n');
    expect(text).toContain('Why 5,000 req/s did not pass: FAIL · FAIL: 90 requests were retried during the rollout');
    expect(text).not.toContain('more');
    expect(text).toContain('checks not passed: thresholds.rollout-retries (90 charged tries)');
    expect(text).toContain('data plane retries by kind: timeout 83, connect_error 16, reset 17');
    expect(text).toContain('rollout retries check: retired 60, serving 30');
    expect(text).toContain(
      '155 µs of CPU per request all-in (goal ≤ 60): driver 20 · data plane 40 · replicas 50 · booting replicas 10 · harness rest 5 · kernel & rest 30',
    );
    expect(text).toContain('machine: cores max harness 1.2');
    expect(text).toContain('/tmp/bench/r-5000/report.html');
  });

  it('says nothing when no probe failed', () => {
    expect(bindingCause({ ceiling: 20_000, bound: 'at-least', firstFailing: null, probes: [probe(20_000, 'PASS')], atCeiling: null })).toEqual([]);
  });
});
