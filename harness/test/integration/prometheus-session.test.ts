/**
 * The Prometheus session over a real run, wired as the runner wires it but without the runner:
 * 3 sample-app replicas over 3 zones, the proxy worker, the real driver (open model, 300 req/s),
 * a rolling update v1→v2, then zone c crashes. `--prometheus auto` starts the installed
 * Prometheus; afterwards the PromQL re-check must agree with the in-process numbers, and every
 * query of the Grafana dashboard must run against that Prometheus and return data.
 * A second run uses "your own server" (`--prometheus <url>`) configured with the scrape config
 * `zerodrop prometheus-config` prints.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDriver } from '../../src/driver/host.js';
import type { LedgerData } from '../../src/driver/ledger.js';
import { createDriverMetrics } from '../../src/driver/metrics.js';
import { PrometheusApiError, resultSize, type PrometheusApi } from '../../src/prometheus/api.js';
import { userScrapeConfigYaml } from '../../src/prometheus/config.js';
import {
  dashboardQueries,
  loadDashboard,
  parseLabelValues,
  parseQueryResult,
  STATE_ROW_PREFIX,
  substitute,
  type DashboardQuery,
} from '../../src/prometheus/dashboard.js';
import { PrometheusServer, findPrometheusBinary } from '../../src/prometheus/server.js';
import type { PrometheusResult } from '../../src/result/types.js';
import { PrometheusSession } from '../../src/run/prometheus.js';
import { startStack, type Stack } from './prometheus-stack.js';

const binary = findPrometheusBinary();
const driverBuilt = existsSync(fileURLToPath(new URL('../../../dist/harness/src/driver/worker-entry.js', import.meta.url)));
const sampleAppBuilt = existsSync(fileURLToPath(new URL('../../../dist/sample-app/src/main.js', import.meta.url)));
const dashboard = loadDashboard(fileURLToPath(new URL('../../../grafana/dashboards/zerodrop.json', import.meta.url)));

interface RunOutput {
  result: PrometheusResult;
  ledger: LedgerData;
  loadStartMs: number;
  loadEndMs: number;
  rolloutDone: boolean;
  crashed: boolean;
}

/** Load through the proxy with the real driver, the driver's metrics served to Prometheus, and optional events. */
async function runLoad(
  stack: Stack,
  session: PrometheusSession,
  events: { rolloutAtMs?: number; crashZone?: string; crashNotBeforeMs?: number },
): Promise<RunOutput> {
  const metrics = createDriverMetrics({ runId: stack.runId });
  const driver = startDriver({ ...stack.plan.driver, url: stack.proxy.url, runId: stack.runId });
  driver.on('progress', (p) => metrics.update(p));
  stack.metricsServer.add('driver', () => metrics.registry.metrics());
  const loadStartMs = Date.now();
  let rolloutDone = false;
  let crashed = false;
  const timers: NodeJS.Timeout[] = [];
  const rollout = new Promise<void>((resolve) => {
    if (events.rolloutAtMs === undefined) return resolve();
    timers.push(
      setTimeout(() => {
        void stack.controller.rolloutTo({ version: 'v2' }).done.then((d) => {
          rolloutDone = d.outcome === 'complete';
          resolve();
        });
      }, events.rolloutAtMs),
    );
  });
  if (events.crashZone) {
    const zone = events.crashZone;
    void rollout.then(() => {
      const wait = Math.max(0, (events.crashNotBeforeMs ?? 0) - (Date.now() - loadStartMs));
      timers.push(setTimeout(() => void stack.controller.failZone(zone, 'crash').then(() => (crashed = true)), wait));
    });
  }
  const { ledger } = await driver.done;
  for (const t of timers) clearTimeout(t);
  const loadEndMs = Date.now();
  const proxyStats = await stack.proxy.stats();
  await stack.controller.refreshCounts();
  const result = await session.verify({ ledger, proxyStats, controller: stack.controller, origin: 0 });
  return { result, ledger, loadStartMs, loadEndMs, rolloutDone, crashed };
}

/** Runs one dashboard query the way Grafana would (range over the run, step 1 s); returns the number of points. */
async function runDashboardQuery(api: PrometheusApi, q: DashboardQuery, vars: Record<string, string>, startMs: number, endMs: number): Promise<number> {
  const picker = q.kind === 'variable' ? parseQueryResult(q.expr) : null;
  if (picker !== null) {
    // The run picker (query_result, instant at the end of the range), as Grafana evaluates it.
    const r = await api.query(substitute(picker, vars), endMs);
    const runs = r.resultType === 'vector' ? r.vector.map((s) => s.metric['run_id']) : [];
    return runs.includes(vars['run_id']) ? runs.length : 0;
  }
  if (q.kind === 'variable') {
    const lv = parseLabelValues(q.expr);
    if (!lv) throw new Error(`${q.where}: not label_values(): ${q.expr}`);
    const values = await api.labelValues(lv.label, lv.metric ? [lv.metric] : []);
    return values.includes(vars['run_id'] ?? '') ? values.length : 0;
  }
  const expr = substitute(q.expr, vars);
  if (/\$/.test(expr.replace(/"[^"]*"/g, ''))) throw new Error(`${q.where}: a variable was left: ${expr}`);
  const res = q.instant ? await api.query(expr, endMs) : await api.queryRange(expr, startMs, endMs, 1);
  return resultSize(res);
}

describe.skipIf(!binary || !driverBuilt || !sampleAppBuilt)('Prometheus in the loop over a real run (--prometheus auto)', () => {
  const reports = mkdtempSync(join(tmpdir(), 'zd-prom-session-'));
  const runId = 'promtest-auto-1';
  let stack: Stack;
  let session: PrometheusSession;
  let out: RunOutput;
  let serverPid: number | null = null;

  beforeAll(async () => {
    stack = await startStack(
      [
        'name: promtest',
        'deployment: { replicas: 3, zones: [a, b, c], zoneFailureDetection: 1s }',
        'load: { engine: open, rate: 300, connections: 32, duration: 14s, warmup: 1s }',
      ].join('\n'),
      runId,
    );
    session = await PrometheusSession.start('auto', {
      runId,
      dir: join(reports, runId),
      controller: stack.controller,
      proxy: stack.proxy,
      metricsServer: stack.metricsServer,
      log: (l) => stack.logs.push(l),
      stateDir: join(reports, 'state'),
    });
    serverPid = (session as unknown as { server: PrometheusServer | null }).server?.pid ?? null;
    out = await runLoad(stack, session, { rolloutAtMs: 1500, crashZone: 'c', crashNotBeforeMs: 9000 });
  }, 110_000);

  afterAll(async () => {
    await session?.stop();
    await stack?.close();
    rmSync(reports, { recursive: true, force: true });
  });

  it('the run did what the dashboard and the checks must show: a rollout and a zone crash under load', () => {
    expect(out.ledger.length).toBeGreaterThan(3000);
    expect(out.rolloutDone).toBe(true);
    expect(out.crashed).toBe(true);
  });

  it('every PromQL equality agrees with its in-process number', () => {
    const { result } = out;
    expect(result.mode).toBe('auto');
    expect(result.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // Fidelity rows: PromQL = the in-process count it was exported from. Cross rows: the
    // equality between components evaluated in PromQL alone, a mismatch that must be 0.
    const rows = result.queries.map((q) => [
      q.name,
      q.kind === 'cross' ? q.value === 0 : q.value === q.inProcess || (q as { relation?: string }).relation === '≤',
      q.agree,
    ]);
    expect(rows, result.note ?? '').toEqual([
      ['driver-sent', true, true],
      ['proxy-received', true, true],
      ['proxy-2xx', true, true],
      ['driver-2xx', true, true],
      ['proxy-upstream-responses', true, true],
      ['replica-responses', true, true],
      ['replica-responses-killed', true, true],
      ['sent-equals-received', true, true],
      ['2xx-agree', true, true],
      ['replicas-cover-proxy', true, true],
    ]);
    for (const q of result.queries) expect(q.value, q.name).not.toBeNull();
    const byName = new Map(result.queries.map((q) => [q.name, q]));
    expect(byName.get('driver-sent')?.value).toBe(out.ledger.length);
    // The replica row counts the retired v1 replicas by their final read.
    expect(result.note).toMatch(/3 retired ones counted by the orchestrator's final read/);
    expect(result.note).toMatch(/killed or frozen before a final read/);
    expect(result.note).not.toMatch(/Problems:/);
  });

  it('keeps its TSDB under the run folder and takes a snapshot', () => {
    const { result } = out;
    expect(result.dataDir).toMatch(new RegExp(`${runId}/prometheus/data/snapshots/`));
    expect(existsSync(result.dataDir!)).toBe(true);
    expect(readFileSync(join(reports, runId, 'prometheus', 'prometheus.yml'), 'utf8')).toMatch(/scrape_interval: 1s/);
    expect(existsSync(join(reports, runId, 'prometheus', 'sd', `${runId}.replicas.json`))).toBe(true);
  });

  it('every panel, annotation and variable query of the dashboard runs without error and returns data', async () => {
    const vars = { run_id: runId, __rate_interval: '4s', __interval: '1s', __range: `${Math.ceil((Date.now() - out.loadStartMs) / 1000)}s` };
    // The State row (writes, the volume) has data only when the load writes; this stack's does not.
    const queries = dashboardQueries(dashboard).filter((q) => !(q.row ?? '').startsWith(STATE_ROW_PREFIX));
    expect(queries.length).toBeGreaterThan(20);
    const empty: string[] = [];
    for (const q of queries) {
      const points = await runDashboardQuery(session.api, q, vars, out.loadStartMs - 5000, Date.now());
      if (points === 0) empty.push(`${q.where}: ${q.expr}`);
    }
    expect(empty).toEqual([]);
    // The annotations cover the events: the rollout region and the zone-down region.
    const anno = queries.filter((q) => q.kind === 'annotation');
    for (const q of anno) {
      const res = await session.api.queryRange(substitute(q.expr, vars), out.loadStartMs, Date.now(), 1);
      const values = res.resultType === 'matrix' ? res.matrix.flatMap((s) => s.values.filter((v) => v.value !== 0)) : [];
      expect(values.length, q.where).toBeGreaterThan(0);
    }
  });

  it('the dashboard query check fails for a broken query and for one with no data (it can fail)', async () => {
    const vars = { run_id: runId, __rate_interval: '4s', __interval: '1s' };
    const start = out.loadStartMs;
    const broken: DashboardQuery = {
      kind: 'panel',
      where: 'broken',
      expr: 'sum(rate(zerodrop_driver_requests_sent_total{run_id="$run_id"}[$__rate_interval])',
      instant: false,
    };
    await expect(runDashboardQuery(session.api, broken, vars, start, Date.now())).rejects.toBeInstanceOf(PrometheusApiError);
    const renamed: DashboardQuery = {
      kind: 'panel',
      where: 'renamed',
      expr: 'sum(rate(zerodrop_driver_requests_sent{run_id="$run_id"}[$__rate_interval]))',
      instant: false,
    };
    expect(await runDashboardQuery(session.api, renamed, vars, start, Date.now())).toBe(0);
    const otherRun = dashboardQueries(dashboard).find((q) => q.kind === 'panel')!;
    expect(await runDashboardQuery(session.api, otherRun, { ...vars, run_id: 'no-such-run' }, start, Date.now())).toBe(0);
    const leftover: DashboardQuery = { kind: 'panel', where: 'leftover', expr: 'rate(x[$__unknown])', instant: false };
    await expect(runDashboardQuery(session.api, leftover, vars, start, Date.now())).rejects.toThrow(/variable was left/);
  });

  it('stop() ends the server: nothing is left running', async () => {
    expect(serverPid).not.toBeNull();
    await session.stop();
    const stat = existsSync(`/proc/${serverPid}/stat`) ? readFileSync(`/proc/${serverPid}/stat`, 'utf8') : '';
    expect(stat === '' || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')).toBe(true);
    expect(await session.api.ready()).toBe(false);
  });
});

describe.skipIf(!binary || !driverBuilt || !sampleAppBuilt)('your own Prometheus (--prometheus <url>)', () => {
  const reports = mkdtempSync(join(tmpdir(), 'zd-prom-url-'));
  const runId = 'promtest-url-1';
  let userServer: PrometheusServer;
  let stack: Stack;
  let session: PrometheusSession;

  beforeAll(async () => {
    // The user's server, configured with what `zerodrop prometheus-config --out <reports>` prints.
    const configFile = join(reports, 'user-prometheus.yml');
    writeFileSync(configFile, `global:\n  scrape_interval: 15s\nscrape_configs:\n${userScrapeConfigYaml(reports)}`);
    userServer = await PrometheusServer.start({
      binary: binary!,
      configFile,
      dataDir: join(reports, 'user-data'),
      logFile: join(reports, 'user.log'),
      runId: 'user-server',
      stateDir: join(reports, 'state'),
    });
    stack = await startStack(
      ['name: promurl', 'deployment: { replicas: 2, zones: [a, b] }', 'load: { engine: open, rate: 200, connections: 16, duration: 4s, warmup: 1s }'].join(
        '\n',
      ),
      runId,
    );
  }, 60_000);

  afterAll(async () => {
    await session?.stop();
    await stack?.close();
    await userServer?.stop();
    rmSync(reports, { recursive: true, force: true });
  });

  it('finds its targets through <reports>/prometheus-sd, agrees, and removes its files at the end', async () => {
    session = await PrometheusSession.start(
      { url: userServer.url },
      {
        runId,
        dir: join(reports, runId),
        controller: stack.controller,
        proxy: stack.proxy,
        metricsServer: stack.metricsServer,
        log: () => undefined,
      },
    );
    const sdFiles = ['driver', 'proxy', 'orchestrator', 'replicas'].map((c) => join(reports, 'prometheus-sd', `${runId}.${c}.json`));
    for (const f of sdFiles) expect(existsSync(f), f).toBe(true);
    const out = await runLoad(stack, session, {});
    expect(out.result.mode).toBe('url');
    expect(out.result.dataDir).toBeNull();
    expect(
      out.result.queries.map((q) => [q.name, q.agree]),
      out.result.note ?? '',
    ).toEqual([
      ['driver-sent', true],
      ['proxy-received', true],
      ['proxy-2xx', true],
      ['driver-2xx', true],
      ['proxy-upstream-responses', true],
      ['replica-responses', true],
      ['sent-equals-received', true],
      ['2xx-agree', true],
      ['replicas-cover-proxy', true],
    ]);
    await session.stop();
    for (const f of sdFiles) expect(existsSync(f), f).toBe(false);
  }, 60_000);

  it('a server that does not scrape zerodrop is ZD_PROMETHEUS_UNAVAILABLE with the fix', async () => {
    const bare = join(reports, 'bare.yml');
    writeFileSync(bare, 'global:\n  scrape_interval: 15s\n');
    const other = await PrometheusServer.start({
      binary: binary!,
      configFile: bare,
      dataDir: join(reports, 'bare-data'),
      logFile: join(reports, 'bare.log'),
      runId: 'bare-server',
      stateDir: join(reports, 'state'),
    });
    try {
      await expect(
        PrometheusSession.start(
          { url: other.url },
          {
            runId: 'promtest-url-2',
            dir: join(reports, 'promtest-url-2'),
            controller: stack.controller,
            proxy: stack.proxy,
            metricsServer: stack.metricsServer,
            log: () => undefined,
            targetsTimeoutMs: 3000,
          },
        ),
      ).rejects.toMatchObject({ code: 'ZD_PROMETHEUS_UNAVAILABLE', fix: expect.stringMatching(/zerodrop prometheus-config/) });
      expect(existsSync(join(reports, 'prometheus-sd', 'promtest-url-2.replicas.json'))).toBe(false);
    } finally {
      await other.stop();
    }
  }, 60_000);

  it('an unreachable URL is ZD_PROMETHEUS_UNAVAILABLE', async () => {
    await expect(
      PrometheusSession.start(
        { url: 'http://127.0.0.1:1' },
        {
          runId: 'promtest-url-3',
          dir: join(reports, 'promtest-url-3'),
          controller: stack.controller,
          proxy: stack.proxy,
          metricsServer: stack.metricsServer,
          log: () => undefined,
        },
      ),
    ).rejects.toMatchObject({ code: 'ZD_PROMETHEUS_UNAVAILABLE' });
  });
});
