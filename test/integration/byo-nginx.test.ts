/**
 * A real third-party service: nginx from Debian's packages (/usr/sbin/nginx), run by the process
 * runtime through examples/nginx/nginx-replica.sh. nginx never echoes x-zerodrop-id; a steady run
 * must still PASS, with the ids attested by the data plane (detected from the first 2xx, nothing
 * declared), on both data planes.
 */
import { describe, expect, it } from 'vitest';
import { checkOf, explain, runYaml } from '../helpers/scenario-run.js';

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
