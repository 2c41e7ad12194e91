/**
 * The verifier must be shown to catch drops: every rule of the zero-downtime contract has a
 * sample-app switch that breaks it, and each one must turn a passing scenario into FAIL (exit 1)
 * with the failed requests listed and attributed. The same scenario without a switch passes
 * (see rollout-and-zones.test.ts), so these tests can fail.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../harness/src/result/types.js';
import { checkOf, explain, runYaml } from '../helpers/scenario-run.js';

/** FAIL is exit 1, and every failed request is listed by id in the report folder. */
function expectFailedRequestsListed(result: RunResult, dir: string): void {
  expect(result.exitCode).toBe(1);
  expect(result.failures.total).toBeGreaterThan(0);
  const csv = readFileSync(join(dir, 'failed-requests.csv'), 'utf8').trim().split('\n');
  expect(csv.length - 1).toBe(result.failures.total);
  expect(csv[1]).toContain(result.run.id);
}

// A rollout under steady load; /work?ms=20 keeps requests in flight on every replica, so a
// replica that mishandles SIGTERM always has something to drop.
const ROLLOUT = `
name: neg
deployment: { replicas: 4, zones: [a, b] }
load: { rate: 600, duration: 6s, warmup: 1500ms, timeout: 4s, requests: [{ path: "/", weight: 3 }, { path: "/work?ms=20", weight: 1 }] }
timeline:
  - { at: 2s, action: rollout, version: v2 }
`;

describe('negative controls: each broken contract rule is caught (FAIL, exit 1, failures listed)', () => {
  it.each([
    // [switch, retries on?, the check that must fail, what the failures look like]
    ['abrupt-exit', false, 'ledger.no-failed-requests'],
    ['no-drain', false, 'ledger.no-failed-requests'],
  ])('%s (proxy retries off): requests fail during the rollout', async (fault, retries, checkId) => {
    const { result, dir } = await runYaml(ROLLOUT, { appFaults: [fault], noRetries: !retries });
    expect(result.verdict, explain(result)).toBe('FAIL');
    expect(checkOf(result, checkId).status).toBe('fail');
    expect(Object.keys(result.failures.byStep).some((s) => s.includes('rollout'))).toBe(true);
    expectFailedRequestsListed(result, dir);
  });

  it('abrupt-exit with retries ON: nothing reaches the client, but the retries during the rollout and the exits before the unroute fail the run', async () => {
    const { result } = await runYaml(ROLLOUT, { appFaults: ['abrupt-exit'] });
    expect(result.verdict, explain(result)).toBe('FAIL');
    expect(result.exitCode).toBe(1);
    expect(checkOf(result, 'thresholds.rollout-retries').status).toBe('fail');
    // Exit code 0 on SIGTERM is not graceful when the replica was still in rotation.
    const graceful = checkOf(result, 'orchestrator.graceful-exits');
    expect(graceful.status).toBe('fail');
    expect(graceful.actual).toMatch(/before the proxy took it out of rotation/);
  });

  /*
   * close-idle (contract rule 2: never reset an idle keep-alive connection a client may be writing
   * to; http server.close() on Node >= 19 does exactly that). The fault only matters while routing
   * lags the listener close (kubernetes/kubernetes#43576): with the default routingLag (500 ms) <
   * drainDelay (1.5 s) the proxy has drained the replica and closed its own idle connections before
   * the listener closes, so there is nothing left to reset. Hence routingLag 3s > drainDelay 300ms.
   * In that window a contract-keeping replica refuses new connections: safe to retry for any
   * method (nothing was sent), so retries are ON and maxRolloutRetries is lifted for both runs.
   * A reset that catches a request mid-write is a race, but the proxy sees every idle connection
   * the replica closes early, with no luck needed: 0 for the control, one per pooled connection
   * for close-idle (check orchestrator.idle-keepalive-kept).
   */
  const CLOSE_IDLE = `
name: neg-close-idle
target: { drainDelay: 300ms }
deployment: { replicas: 4, zones: [a, b], termination: { routingLag: 3s } }
load: { rate: 600, duration: 9s, warmup: 1500ms, timeout: 4s }
thresholds: { maxRolloutRetries: 1000000 }
timeline:
  - { at: 2s, action: rollout, version: v2 }
`;
  it('control for close-idle: routing lags the listener close, a contract-keeping replica closes no idle connection: PASS', async () => {
    const { result } = await runYaml(CLOSE_IDLE);
    expect(result.verdict, explain(result)).toBe('PASS');
    expect(checkOf(result, 'orchestrator.idle-keepalive-kept')).toMatchObject({ status: 'pass', actual: '0' });
  });

  it('close-idle: the retiring replicas close idle keep-alive connections the proxy could be writing on: FAIL', async () => {
    const { result } = await runYaml(CLOSE_IDLE, { appFaults: ['close-idle'] });
    expect(result.verdict, explain(result)).toBe('FAIL');
    expect(result.exitCode).toBe(1);
    const c = checkOf(result, 'orchestrator.idle-keepalive-kept');
    expect(c.status).toBe('fail');
    expect(c.actual).toMatch(/web-v1-/);
  });

  it('ignore-sigterm: the retired replicas need SIGKILL after the grace period', async () => {
    const { result } = await runYaml(
      `
name: neg-sigterm
target: { drainDelay: 500ms }
deployment: { replicas: 2, zones: [a, b], termination: { gracePeriod: 2s } }
load: { rate: 300, duration: 6s, warmup: 1s }
timeline:
  - { at: 2s, action: rollout, version: v2 }
`,
      { appFaults: ['ignore-sigterm'] },
    );
    expect(result.verdict, explain(result)).toBe('FAIL');
    expect(result.exitCode).toBe(1);
    expect(checkOf(result, 'orchestrator.graceful-exits').status).toBe('fail');
    expect(result.replicas.filter((r) => r.version === 'v1').every((r) => r.exit === 'killed')).toBe(true);
  });

  it('ready-early: readiness says yes during warm-up while requests get 503', async () => {
    const { result, dir } = await runYaml(
      `
name: neg-ready-early
target: { warmup: 1500ms }
deployment: { replicas: 4, zones: [a, b] }
load: { rate: 600, duration: 6s, warmup: 1s }
timeline:
  - { at: 2s, action: rollout, version: v2 }
`,
      { appFaults: ['ready-early'] },
    );
    expect(result.verdict, explain(result)).toBe('FAIL');
    expect(result.failures.byStatus['503'] ?? 0).toBeGreaterThan(0);
    expectFailedRequestsListed(result, dir);
  });

  it('error-rate=0.01: 1% of requests get 500', async () => {
    const { result, dir } = await runYaml(
      `
name: neg-errors
deployment: { replicas: 2, zones: [a, b] }
load: { rate: 500, duration: 6s, warmup: 1s }
`,
      { appFaults: ['error-rate=0.01'] },
    );
    expect(result.verdict, explain(result)).toBe('FAIL');
    const n500 = result.failures.byStatus['500'] ?? 0;
    expect(n500).toBeGreaterThan(result.load.sent * 0.005);
    expect(n500).toBeLessThan(result.load.sent * 0.02);
    expectFailedRequestsListed(result, dir);
  });

  it('slow-start=3000 with retries off: requests to fresh replicas time out at the proxy (504)', async () => {
    const { result, dir } = await runYaml(
      `
name: neg-slow
deployment: { replicas: 4, zones: [a, b] }
proxy: { perTryTimeout: 500ms }
load: { rate: 400, duration: 8s, warmup: 1s }
timeline:
  - { at: 2s, action: rollout, version: v2 }
`,
      { appFaults: ['slow-start=3000'], noRetries: true },
    );
    expect(result.verdict, explain(result)).toBe('FAIL');
    expect(result.failures.byStatus['504'] ?? 0).toBeGreaterThan(0);
    expectFailedRequestsListed(result, dir);
  });
});
