/**
 * The liveness probe, the kubelet's rule (process runtime, a real service, real probes): a
 * replica whose /livez fails failureThreshold times in a row is terminated with its grace
 * period and started again; the restart count is in the replica table. The fault: an exec step
 * touches a file that makes /livez answer 500 in the zone-a replica started before it; the one
 * started again after it is healthy, and zone b is never touched.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOf, explain, runYaml } from '../helpers/scenario-run.js';

// Serves everything 200 (echoing the id); /livez is 500 once $SICK_FILE-$ZONE is newer than the process.
const SERVER = [
  "const fs = require('fs'); const t0 = Date.now(); const marker = process.env.SICK_FILE + '-' + process.env.ZONE;",
  'const sick = () => { try { return fs.statSync(marker).mtimeMs >= t0; } catch { return false; } };',
  "const s = require('http').createServer((q, r) => { if (q.url === '/livez') { r.statusCode = sick() ? 500 : 200; return r.end(); }",
  "  r.setHeader('x-zerodrop-id', q.headers['x-zerodrop-id'] || ''); r.end('ok'); }).listen(Number(process.env.PORT), '127.0.0.1');",
  "process.on('SIGTERM', () => { s.close(() => process.exit(0)); setTimeout(() => process.exit(0), 300).unref(); });",
].join(' ');

describe('livenessProbe: the kubelet restarts a replica whose liveness fails', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zd-liveness-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("zone a's replica fails /livez 3× → terminated with its grace period, started again with restarts 1; zone b untouched", async () => {
    const sick = join(dir, 'sick');
    const { result } = await runYaml(`
name: liveness-restart
target:
  command: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(SERVER)}]
  port: { env: PORT }
  metricsPath: null
  env: { SICK_FILE: ${JSON.stringify(sick)} }
  livenessProbe: { httpGet: { path: /livez }, periodSeconds: 0.4, timeoutSeconds: 0.4, failureThreshold: 3 }
  terminationGracePeriodSeconds: 3
deployment: { replicas: 2, zones: [a, b] }
load: { rate: 50, duration: 4s, warmup: 500ms, timeout: 4s }
timeline:
  - { at: 1s, action: exec, command: ["touch", ${JSON.stringify(`${sick}-a`)}] }
`);
    expect(checkOf(result, 'events.1-exec').status, explain(result)).toBe('pass');
    const rows = result.replicas.map((r) => ({ zone: r.zone, restarts: r.restarts, exit: r.exit, draining: r.drainingMs !== null }));
    // The first zone-a replica was restarted once (a graceful exit on its stop signal), the next one is the restart.
    expect(
      rows.filter((r) => r.zone === 'a'),
      JSON.stringify(result.replicas),
    ).toEqual([
      { zone: 'a', restarts: 0, exit: 'graceful', draining: true },
      { zone: 'a', restarts: 1, exit: 'running', draining: false },
    ]);
    expect(rows.filter((r) => r.zone === 'b')).toEqual([{ zone: 'b', restarts: 0, exit: 'running', draining: false }]);
    const why = result.events.flatMap((e) => (e.type === 'replica.unready' && e.reason.startsWith('liveness') ? [e.reason] : []));
    expect(why).toEqual(['liveness probe /livez failed 3× (HTTP 500): restarting it']);
    expect(result.events.find((e) => e.type === 'replica.draining')).toMatchObject({ reason: 'unhealthy' });
  });
});
