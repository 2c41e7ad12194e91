/**
 * A real third-party service: nginx from Debian's packages (/usr/sbin/nginx), run by the process
 * runtime through examples/nginx/nginx-replica.sh. nginx never echoes x-zerodrop-id; a steady run
 * must still PASS, with the ids attested by the data plane (detected from the first 2xx, nothing
 * declared), on both data planes.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkOf, explain, runYaml } from '../helpers/scenario-run.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const STEADY = `
name: nginx-steady
target:
  command: ["sh", "examples/nginx/nginx-replica.sh"]
  port: { env: PORT }
  readinessPath: /ready
  livenessPath: /live
  metricsPath: null
deployment: { replicas: 2, zones: [a, b] }
load: { rate: 300, duration: 4s, warmup: 1s, timeout: 4s }
`;

describe('bring your own nginx (does not echo x-zerodrop-id)', () => {
  it.each([['node'], ['haproxy']] as const)('a steady run through the %s data plane PASSes, ids attested by the data plane', async (engine) => {
    const { result } = await runYaml(STEADY, { proxyEngine: engine });
    expect(result.verdict, explain(result)).toBe('PASS');
    expect(result.exitCode).toBe(0);
    const ids = checkOf(result, 'ledger.ids-attested');
    expect(ids.status).toBe('pass');
    expect(ids.title).toContain('ids attested by the data plane');
    expect(ids.actual).toContain('detected from its first 2xx');
    // Every 2xx the driver got carried an id the data plane attested (a health check is not a 2xx of the load).
    expect(ids.numbers?.attested).toBe(result.load.ok);
  });
});

/*
 * Pod lifecycle with a real subject: scenarios/byo-nginx.yaml rolls nginx out with retries OFF,
 * a preStop exec hook and stopSignal SIGQUIT (nginx's graceful shutdown): every /slow request in
 * flight when the signal lands is finished, PASS. The same scenario with SIGTERM (nginx's fast
 * shutdown) cuts them mid-response: FAIL, exit 1, ledger.no-failed-requests.
 */
const NGINX_SCENARIO = readFileSync(join(repoRoot, 'scenarios/byo-nginx.yaml'), 'utf8');

describe('nginx lifecycle: stopSignal decides whether a rollout drops requests (retries off)', () => {
  it('SIGQUIT: nginx finishes what is in flight, PASS; the preStop exec hook ran before it', async () => {
    const { result } = await runYaml(NGINX_SCENARIO);
    expect(result.verdict, explain(result)).toBe('PASS');
    expect(result.exitCode).toBe(0);
    expect(checkOf(result, 'ledger.ids-attested').actual).toContain('declared with target.echoesId: false');
    const hooks = result.events.filter((e) => e.type === 'replica.pre-stop');
    expect(hooks.map((e) => (e.type === 'replica.pre-stop' ? e.ok : null))).toEqual([true, true]);
    const exits = result.events.filter((e) => e.type === 'replica.terminated');
    expect(exits.map((e) => (e.type === 'replica.terminated' ? e.exit : null))).toEqual(['graceful', 'graceful']);
  });

  it('SIGTERM: the same nginx cuts its in-flight responses, FAIL (exit 1, ledger.no-failed-requests)', async () => {
    const yaml = NGINX_SCENARIO.replace('stopSignal: SIGQUIT', 'stopSignal: SIGTERM');
    expect(yaml).not.toBe(NGINX_SCENARIO);
    const { result } = await runYaml(yaml);
    expect(result.verdict, explain(result)).toBe('FAIL');
    expect(result.exitCode).toBe(1);
    expect(checkOf(result, 'ledger.no-failed-requests').status).toBe('fail');
    expect(result.failures.total).toBeGreaterThan(0);
    // Failures are filed under the phase a request was SENT in: a slow request sent just before the
    // rollout began is cut by it too. What holds every time: each failed request was still in
    // flight when the rollout started (none failed in steady state).
    const rollout = result.bands.find((b) => b.kind === 'rollout');
    expect(rollout, explain(result)).toBeDefined();
    expect(
      result.failures.sample.every((f) => f.tMs + f.latencyMs >= rollout!.startMs),
      explain(result),
    ).toBe(true);
  });
});
