/**
 * Issue 3's behaviour, end to end with real processes and real traffic: the orchestrator, the
 * proxy and the sample-app under the open-model driver.
 */
import { describe, expect, it } from 'vitest';
import { checkOf, explain, processesOfRun, runYaml } from '../helpers/scenario-run.js';
import { expectPassOrStarved } from '../helpers/verdict.js';

const SIX_OVER_THREE = `
deployment: { replicas: 6, zones: [a, b, c], strategy: { maxSurge: 25%, maxUnavailable: 25% } }
`;

describe('rolling update, zone crash, zone hang (real processes, real traffic)', () => {
  it('rolls 6 replicas over 3 zones from v1 to v2 under steady load: 0 failed requests and 0 proxy retries', async () => {
    const { result } = await runYaml(`
name: it-rollout
${SIX_OVER_THREE}
load: { rate: 800, duration: 10s, warmup: 2s }
timeline:
  - { at: 3s, action: rollout, version: v2 }
`);
    // PASS, or INVALID only when the machine starved the instrument (test/helpers/verdict.ts).
    const verdict = expectPassOrStarved(result, explain(result));
    expect(result.load.failed).toBe(0);
    expect(result.load.lost).toBe(0);
    const retries = Object.values(result.proxy.retries).reduce((a, b) => a + b, 0);
    if (verdict === 'PASS') expect(retries, 'a rolling update done right needs no retries').toBe(0);
    expect(checkOf(result, 'events.1-rollout').status).toBe('pass');
    expect(checkOf(result, 'events.final-version').status).toBe('pass');
    expect(checkOf(result, 'orchestrator.invariants').status).toBe('pass');
    // Every v1 replica was retired gracefully and its final counters read.
    const retired = result.replicas.filter((r) => r.version === 'v1');
    expect(retired.length).toBeGreaterThanOrEqual(6);
    for (const r of retired) {
      expect(r.exit).toBe('graceful');
      expect(r.replicaCountSource).toBe('final');
    }
    expect(checkOf(result, 'counters.replicas-cover-proxy').status).toBe('pass');
    expect(processesOfRun(result.run.id)).toEqual([]);
  });

  it('survives a zone crash: 0 client-visible failures, retries counted, lost replicas rescheduled on the surviving zones', async () => {
    const { result } = await runYaml(`
name: it-crash
deployment: { replicas: 6, zones: [a, b, c], zoneFailureDetection: 2s }
load: { rate: 800, duration: 10s, warmup: 2s }
timeline:
  - { at: 3s, action: crash-zone, zone: b }
  - { at: 7s, action: recover-zone, zone: b }
`);
    expectPassOrStarved(result, explain(result));
    expect(result.load.failed).toBe(0);
    const retries = Object.values(result.proxy.retries).reduce((a, b) => a + b, 0);
    expect(retries, 'the crash must have been absorbed by retries, and counted').toBeGreaterThan(0);
    // Replacements went to a and c only while b was down.
    const down = result.events.find((e) => e.type === 'zone.down');
    const up = result.events.find((e) => e.type === 'zone.up');
    expect(down && up).toBeTruthy();
    const replacements = result.replicas.filter((r) => r.startedMs !== null && r.startedMs > (down?.t ?? 0) && r.startedMs < (up?.t ?? 0));
    expect(replacements.length).toBeGreaterThanOrEqual(2);
    for (const r of replacements) expect(r.zone).not.toBe('b');
    expect(checkOf(result, 'events.1-crash-zone-recovered').status).toBe('pass');
  });

  it('survives a zone hang (TCP accepts, nothing answers): detected by the per-try timeout, 0 client-visible failures', async () => {
    const { result } = await runYaml(`
name: it-hang
deployment: { replicas: 6, zones: [a, b, c] }
proxy: { perTryTimeout: 400ms }
load: { rate: 600, duration: 10s, warmup: 2s, timeout: 10s }
timeline:
  - { at: 3s, action: hang-zone, zone: c }
  - { at: 7s, action: recover-zone, zone: c }
`);
    const verdict = expectPassOrStarved(result, explain(result));
    expect(result.load.failed).toBe(0);
    expect(result.proxy.retries['timeout'] ?? 0, 'hung requests were retried after the per-try timeout').toBeGreaterThan(0);
    // Nothing waited much longer than one per-try timeout plus a healthy answer (timing: judged
    // when the machine kept the instrument fed).
    const during = result.disruption.events.find((e) => e.kind === 'zone-hang');
    if (verdict === 'PASS') expect(during?.during.latency.maxMs ?? 0).toBeLessThan(2500);
  });
});
