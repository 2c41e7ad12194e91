/**
 * Issue 16 end to end (real replicas, real proxy, real disk): writes in the load through a rollout
 * and a zone crash, read back through the data plane afterwards. The control PASSes with every
 * acknowledged write intact; each storage fault of the sample-app FAILs on the data check it
 * breaks (exit 1); the run's volume is gone afterwards.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultVolumeRoot } from '../../orchestrator/src/runtime/volumes.js';
import { expectPassOrStarved } from '../helpers/verdict.js';
import { checkOf, explain, processesOfRun, runYaml } from '../helpers/scenario-run.js';

// Writes are keyed (PUT /kv/<id>), so the proxy may replay those the zone crash cuts off.
const STATEFUL = `
name: it-stateful
deployment: { replicas: 4, zones: [a, b], zoneFailureDetection: 1s, volume: { mountPath: /data } }
proxy: { idempotentWrites: true }
load: { rate: 400, duration: 10s, warmup: 1500ms, timeout: 4s, writes: 0.2 }
timeline:
  - { at: 2s, action: rollout, version: v2 }
  - { at: 6s, action: crash-zone, zone: b }
  - { at: 8s, action: recover-zone, zone: b }
`;

describe('writes through a rollout and a zone crash, read back byte for byte', () => {
  it('control: every acknowledged write is read back intact, nothing phantom, and the volume is removed with the run: PASS', async () => {
    const { result, logs } = await runYaml(STATEFUL);
    // PASS, or INVALID only when the machine starved the instrument (test/helpers/verdict.ts).
    expectPassOrStarved(result, explain(result));
    const data = result.data!;
    expect(data.acknowledged).toBeGreaterThan(500); // ≈ 20 % of 4,000 requests
    expect(data.durable).toBe(data.acknowledged);
    expect(data.writes).toBe(data.acknowledged + data.unacknowledged);
    expect(checkOf(result, 'data.acknowledged-writes-durable').status).toBe('pass');
    expect(checkOf(result, 'data.no-phantom-writes')).toMatchObject({ status: 'pass' });
    expect(data.listed).toBe(data.durable + data.landedUnacknowledged);
    expect(data.readBack.startedMs).toBeGreaterThan(10_000);
    expect(logs.some((l) => l.startsWith('✔ read-back'))).toBe(true);
    expect(existsSync(join(defaultVolumeRoot(), result.run.id))).toBe(false);
    expect(processesOfRun(result.run.id)).toEqual([]);
  });

  it('ack-before-fsync + zone crash: writes acknowledged from memory die with zone b: FAIL on data.acknowledged-writes-durable, exit 1', async () => {
    const { result } = await runYaml(STATEFUL, { appFaults: ['ack-before-fsync'] });
    expect(result.verdict, explain(result)).toBe('FAIL');
    expect(result.exitCode).toBe(1);
    const c = checkOf(result, 'data.acknowledged-writes-durable');
    expect(c.status).toBe('fail');
    expect(result.data!.missing).toBeGreaterThan(0);
    expect(existsSync(join(defaultVolumeRoot(), result.run.id))).toBe(false);
  });

  it('volume-per-replica: what v1 wrote is not there for v2 after the rollout: FAIL on data.acknowledged-writes-durable, exit 1', async () => {
    const { result } = await runYaml(
      `
name: it-per-replica
deployment: { replicas: 4, zones: [a, b], volume: {} }
load: { rate: 400, duration: 6s, warmup: 1500ms, timeout: 4s, writes: 0.2 }
timeline:
  - { at: 2s, action: rollout, version: v2 }
`,
      { appFaults: ['volume-per-replica'] },
    );
    expect(result.verdict, explain(result)).toBe('FAIL');
    expect(result.exitCode).toBe(1);
    expect(checkOf(result, 'data.acknowledged-writes-durable').status).toBe('fail');
    // Acknowledged, and then gone: with 4 replicas' own directories most reads miss.
    expect(result.data!.missing).toBeGreaterThan(result.data!.acknowledged / 2);
  });
});
