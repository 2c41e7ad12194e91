/**
 * Issue 11, item 2, end to end: each timeline step is judged by itself. A rollout to a v2 that
 * is never Ready hits its progress deadline and is rolled back automatically; a later rollout
 * to a good v3 completes. The run must FAIL (exit 1) on events.1-rollout, whatever v3 did
 * (before, any later rollout.completed made the v2 step pass). Small: 2 replicas, 200 req/s.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkOf, explain, runYaml } from '../helpers/scenario-run.js';

const NEVER_READY = fileURLToPath(new URL('../helpers/never-ready-server.mjs', import.meta.url));

const SCENARIO = `
name: step-by-step
deployment: { replicas: 2, zones: [a, b], strategy: { maxSurge: 1, maxUnavailable: 0, progressDeadlineSeconds: 2, autoRollback: true } }
load: { rate: 200, duration: 10s, warmup: 1s, timeout: 4s }
timeline:
  - { at: 1s, action: rollout, version: v2, command: ["node", ${JSON.stringify(NEVER_READY)}] }
  - { at: 4s, action: rollout, version: v3 }
`;

describe('each timeline step is judged by itself (end to end)', () => {
  it('v2 never Ready (deadline hit, auto-rolled back), then a good v3: FAIL on events.1-rollout', async () => {
    const { result } = await runYaml(SCENARIO);
    expect(result.verdict, explain(result)).toBe('FAIL');
    expect(result.exitCode).toBe(1);
    const v2 = checkOf(result, 'events.1-rollout');
    expect(v2.status).toBe('fail');
    expect(v2.actual).toMatch(/^revision 2 \(v2\) failed: ProgressDeadlineExceeded/);
    // The later good rollout is judged on its own, and passes: it does not rescue v2.
    expect(checkOf(result, 'events.2-rollout').status, explain(result)).toBe('pass');
    expect(checkOf(result, 'events.final-version').status).toBe('pass');
    // Nothing else broke: the proof of zero drops held, only the failed deploy fails the run.
    expect(result.load.lost + result.load.failed).toBe(0);
    expect(result.headline).toMatch(/^FAIL: rollout v2 at 1s did not complete: revision 2 \(v2\) failed: ProgressDeadlineExceeded/);
    // …and the failed step has its own disruption window, closed when its runner gave up.
    const e = result.disruption.events.find((x) => x.id === '1-rollout')!;
    expect(e.endMs).not.toBeNull();
  });
});
