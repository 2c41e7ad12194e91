/**
 * Retries judged by cause, end to end on both data planes: a scale-down 6 → 2 of replicas that
 * exit at once on SIGTERM (abrupt-exit), with no /metrics (metricsPath: null, so no final-count
 * check can catch it). The proxy saves (nearly) every request by retrying; the failed tries happen on retired replicas, many after they exited while routing still lagged,
 * and must FAIL thresholds.rollout-retries (and orchestrator.graceful-exits).
 */
import { describe, expect, it } from 'vitest';
import { haproxyAvailability } from '../../orchestrator/index.js';
import { checkOf, explain, runYaml } from '../helpers/scenario-run.js';

const SCALE_DOWN = (engine: 'node' | 'haproxy'): string => `
name: it-retry-cause-${engine}
target: { metricsPath: null }
deployment: { replicas: 6, zones: [a, b, c] }
proxy: { engine: ${engine} }
load: { rate: 200, duration: 7s, warmup: 1500ms }
timeline:
  - { at: 2500ms, action: scale, replicas: 2 }
`;

const haproxy = haproxyAvailability();

describe('negative control: scale-down 6 → 2 with abrupt-exit, metricsPath: null', () => {
  it.each([
    ['node', true],
    ['haproxy', haproxy.ok],
  ] as const)('%s data plane: FAIL on thresholds.rollout-retries, the failed tries put down to retired replicas', async (engine, available) => {
    if (!available) return; // test/requirements.ts fails a CI run without haproxy, and prints the skip elsewhere
    const { result } = await runYaml(SCALE_DOWN(engine), { appFaults: ['abrupt-exit'] });
    expect(result.verdict, explain(result)).toBe('FAIL');
    expect(result.exitCode).toBe(1);
    const retries = checkOf(result, 'thresholds.rollout-retries');
    expect(retries.status, explain(result)).toBe('fail');
    expect(retries.numbers?.['retired'] ?? 0).toBeGreaterThan(0);
    expect(retries.actual).toMatch(/web-v1-/);
    expect(checkOf(result, 'thresholds.steady-retries').status).toBe('pass');
    expect(checkOf(result, 'orchestrator.graceful-exits').status).toBe('fail');
  });
});
