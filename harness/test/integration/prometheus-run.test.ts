/**
 * End to end through the runner (runScenario) with `prometheus: auto`: a short run with a rolling
 * update and a zone crash; the verifier's Prometheus checks must all pass, the result must carry
 * the numbers side by side, and the run's TSDB snapshot must replay in a fresh Prometheus where
 * every query of the Grafana dashboard returns data (what a user does to look at a CI run in
 * Grafana).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/result/types.js';
import { resultSize } from '../../src/prometheus/api.js';
import { dashboardQueries, loadDashboard, parseLabelValues, parseQueryResult, STATE_ROW_PREFIX, substitute } from '../../src/prometheus/dashboard.js';
import { PrometheusServer, findPrometheusBinary } from '../../src/prometheus/server.js';
import { runScenario } from '../../src/run/runner.js';
import { parseScenarioText } from '../../src/scenario/load.js';
import { resolvePlan } from '../../src/scenario/resolve.js';

const binary = findPrometheusBinary();
const built = ['../../../dist/harness/src/driver/worker-entry.js', '../../../dist/sample-app/src/main.js'].every((p) =>
  existsSync(fileURLToPath(new URL(p, import.meta.url))),
);
const dashboard = loadDashboard(fileURLToPath(new URL('../../../grafana/dashboards/zerodrop.json', import.meta.url)));

describe.skipIf(!binary || !built)('runScenario with prometheus: auto', () => {
  const out = mkdtempSync(join(tmpdir(), 'zd-prom-run-'));
  let result: RunResult;
  let dir: string;
  const logs: string[] = [];

  beforeAll(async () => {
    const scenario = [
      'name: promrun',
      'deployment: { replicas: 3, zones: [a, b, c], zoneFailureDetection: 1s }',
      'load: { engine: open, rate: 300, connections: 32, duration: 14s, warmup: 1s }',
      'timeline:',
      '  - { at: 1500ms, action: rollout, version: v2 }',
      '  - { at: 9s, action: crash-zone, zone: c }',
      'prometheus: auto',
      `outputs: { dir: ${JSON.stringify(out)} }`,
    ].join('\n');
    const plan = resolvePlan(parseScenarioText(scenario));
    const outcome = await runScenario({
      plan,
      command: 'test',
      io: { log: (l) => void logs.push(l), progress: () => undefined },
      signal: new AbortController().signal,
    });
    result = outcome.result;
    dir = outcome.dir;
  }, 120_000);

  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('the Prometheus checks pass, with both numbers side by side', () => {
    const p = result.prometheus;
    expect(p.mode).toBe('auto');
    expect(p.queries.map((q) => q.name)).toEqual([
      'driver-sent',
      'proxy-received',
      'proxy-2xx',
      'driver-2xx',
      'proxy-upstream-responses',
      'replica-responses',
      'replica-responses-killed',
      'sent-equals-received',
      '2xx-agree',
      'replicas-cover-proxy',
    ]);
    for (const q of p.queries) {
      expect(q.value, `${q.name}: ${p.note}`).not.toBeNull();
      expect(q.agree, `${q.name}: ${p.note}`).toBe(true);
    }
    expect(p.queries.find((q) => q.name === 'driver-sent')?.value).toBe(result.load.sent);
    const checks = result.checks.filter((c) => c.group === 'prometheus');
    expect(checks.map((c) => [c.id, c.status])).toEqual(p.queries.map((q) => [`prometheus.${q.name}`, 'pass']));
  });

  it("agrees with the verifier's own reconciliation", () => {
    const rec = new Map(result.reconciliation.map((r) => [r.quantity, r]));
    const q = new Map(result.prometheus.queries.map((x) => [x.name, x.value]));
    expect(q.get('driver-sent')).toBe(rec.get('requests sent / received')?.driver);
    expect(q.get('proxy-received')).toBe(rec.get('requests sent / received')?.proxy);
    expect(q.get('proxy-2xx')).toBe(rec.get('2xx responses')?.proxy);
    expect(q.get('driver-2xx')).toBe(rec.get('2xx responses')?.driver);
    expect(q.get('proxy-upstream-responses')).toBe(rec.get('upstream responses (all codes)')?.proxy);
  });

  it('no Prometheus is left running, and the snapshot replays: every dashboard query returns data', async () => {
    const url = /prometheus \S+: (http:\/\/127\.0\.0\.1:\d+)/.exec(logs.join('\n'))?.[1];
    expect(url, logs.join('\n')).toBeDefined();
    expect(url).toBe(result.prometheus.url);
    await expect(fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow(); // stopped at teardown
    const snapshot = result.prometheus.dataDir!;
    expect(snapshot.startsWith(join(dir, 'prometheus', 'data', 'snapshots'))).toBe(true);
    const replay = await PrometheusServer.start({
      binary: binary!,
      configFile: join(dir, 'prometheus', 'replay.yml'),
      dataDir: snapshot,
      logFile: join(out, 'replay.log'),
      runId: 'replay',
      stateDir: join(out, 'state'),
    });
    try {
      const start = result.run.originEpochMs - 2000;
      const end = Date.parse(result.run.endedAt);
      const vars = { run_id: result.run.id, __rate_interval: '4s', __interval: '1s', __range: `${Math.ceil((end - start) / 1000)}s` };
      const empty: string[] = [];
      // The State row (writes, the volume) has data only when the load writes; the demo's does not.
      for (const q of dashboardQueries(dashboard).filter((x) => !(x.row ?? '').startsWith(STATE_ROW_PREFIX))) {
        let n: number;
        const picker = q.kind === 'variable' ? parseQueryResult(q.expr) : null;
        if (picker !== null) {
          // The run picker (query_result, instant at the end of the range): this run, as Grafana's regex reads it.
          const r = await replay.api.query(substitute(picker, vars), end);
          const runs = r.resultType === 'vector' ? r.vector.map((s) => s.metric['run_id']) : [];
          n = runs[0] === result.run.id ? 1 : 0;
        } else if (q.kind === 'variable') {
          const lv = parseLabelValues(q.expr)!;
          n = (await replay.api.labelValues(lv.label, lv.metric ? [lv.metric] : [])).includes(result.run.id) ? 1 : 0;
        } else {
          n = resultSize(await replay.api.queryRange(substitute(q.expr, vars), start, end, 1));
        }
        if (n === 0) empty.push(q.where);
      }
      expect(empty).toEqual([]);
    } finally {
      await replay.stop();
    }
  }, 60_000);
});
