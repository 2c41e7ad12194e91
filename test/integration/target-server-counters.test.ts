/**
 * Target mode's server-side counters: a real Prometheus (the installed binary) scrapes a real
 * server started here as a plain process (the sample-app, its http_requests_total exposition),
 * and the run reads two PromQL queries from it. One run, both sides of the rule: the query that
 * counts the route the load hits reconciles with the ledger (server.requests passes), the one
 * that counts another route does not (server.wrong-route FAILs, exit 1), and it is the only
 * check that fails. Bad queries and a missing Prometheus stop the run before any load.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZerodropError } from '../../common/src/errors.js';
import { PrometheusServer, findPrometheusBinary } from '../../harness/src/prometheus/server.js';
import { parseScenarioText } from '../../harness/src/scenario/load.js';
import { killAllSampleApps, startSampleApp, type SampleAppProcess } from '../helpers/sample-app-process.js';
import { checkOf, explain, runYaml } from '../helpers/scenario-run.js';

const binary = findPrometheusBinary();

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const scenario = (appPort: number, prometheusUrl: string, queries: string, settle = '3s'): string => `
name: target-server-counters
target:
  url: "http://127.0.0.1:${appPort}/"
  serverCounters:
    settle: ${settle}
    queries:
${queries}
prometheus: ${prometheusUrl}
load: { rate: 200, duration: 4s, warmup: 1s, timeout: 4s }
`;

describe.skipIf(!binary)('target mode: server-side counters read from a real Prometheus', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zd-server-counters-'));
  let app: SampleAppProcess;
  let prometheus: PrometheusServer;
  let appPort = 0;

  beforeAll(async () => {
    app = await startSampleApp(['--port', '0']);
    appPort = app.listening!.port;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, scrape_timeout: 1s }\nscrape_configs:\n  - job_name: app\n    static_configs: [{ targets: ["127.0.0.1:${appPort}"] }]\n`,
    );
    prometheus = await PrometheusServer.start({
      binary: binary!,
      configFile: join(dir, 'prometheus.yml'),
      dataDir: join(dir, 'data'),
      logFile: join(dir, 'prometheus.log'),
      runId: 'zd-server-counters',
      stateDir: join(dir, 'state'),
    });
    // The server's counters exist in Prometheus before the run reads their start values.
    for (let i = 0; i < 100; i++) {
      const r = await prometheus.api.query('up{job="app"}');
      if (r.resultType === 'vector' && r.vector[0]?.value === 1) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('Prometheus never scraped the sample-app');
  });

  afterAll(async () => {
    await prometheus?.stop();
    await killAllSampleApps();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the counter of the route under load reconciles (pass); a counter of another route does not: FAIL, exit 1, server.wrong-route', async () => {
    const { result } = await runYaml(
      scenario(
        appPort,
        prometheus.url,
        `      - { name: requests, promql: 'sum(http_requests_total{job="app",route="/"})', counts: answered }
      - { name: ok, promql: 'sum(http_requests_total{job="app",route="/",code=~"2.."})', counts: 2xx }
      - { name: wrong-route, promql: 'sum(http_requests_total{job="app",route="/readyz"})', counts: answered }`,
      ),
    );
    expect(result.verdict, explain(result)).toBe('FAIL');
    expect(result.exitCode).toBe(1);
    expect(result.checks.filter((c) => c.status === 'fail').map((c) => c.id)).toEqual(['server.wrong-route']);
    const requests = checkOf(result, 'server.requests');
    expect(requests.status, requests.actual).toBe('pass');
    // The reachability probe is counted with the load: the server saw every request the client did, plus one.
    expect(requests.numbers).toMatchObject({ expected: result.load.completed + 1, increase: result.load.completed + 1 });
    expect(checkOf(result, 'server.ok').status).toBe('pass');
    const wrong = checkOf(result, 'server.wrong-route');
    expect(wrong.numbers?.['increase']).toBe(0);
    expect(wrong.broken).toContain(`the server counted 0, the client saw ${result.load.completed + 1}`);
    expect(result.prometheus).toMatchObject({ mode: 'url', url: prometheus.url });
  });

  it('PromQL that is not one number is a usage error at its field (exit 2), and an unreachable Prometheus is exit 3, both before any load', async () => {
    const many = await runYaml(scenario(appPort, prometheus.url, `      - { name: all, promql: 'http_requests_total{job="app"}' }`)).catch((e: unknown) => e);
    expect(many).toBeInstanceOf(ZerodropError);
    expect((many as ZerodropError).code).toBe('ZD_BAD_SCENARIO');
    expect((many as ZerodropError).exitCode).toBe(2);
    expect((many as ZerodropError).message).toMatch(/target\.serverCounters\.queries\[0\]\.promql: .*series, not one number/);
    expect((many as ZerodropError).fix).toContain('sum(');
    const gone = await runYaml(
      scenario(appPort, `http://127.0.0.1:${await freePort()}`, `      - { name: requests, promql: 'sum(http_requests_total)' }`),
    ).catch((e: unknown) => e);
    expect((gone as ZerodropError).code).toBe('ZD_PROMETHEUS_UNAVAILABLE');
    expect((gone as ZerodropError).exitCode).toBe(3);
  });

  it('serverCounters without a Prometheus URL, outside target mode, with a name twice or an unknown count are refused at the field (exit 2)', () => {
    const refused = (yaml: string): string => {
      try {
        parseScenarioText(yaml, 'c.yaml');
      } catch (e) {
        expect((e as ZerodropError).exitCode).toBe(2);
        return (e as ZerodropError).details.join('\n');
      }
      return 'accepted';
    };
    const counters = 'serverCounters: { queries: [{ name: r, promql: "sum(x)" }] }';
    expect(refused(`target: { url: "http://127.0.0.1:1/", ${counters} }\n`)).toMatch(
      /target\.serverCounters: serverCounters are read from your Prometheus, and prometheus is off[\s\S]*fix: .*prometheus: http/,
    );
    expect(refused(`target: { ${counters} }\nprometheus: http://127.0.0.1:9090\n`)).toMatch(/target\.serverCounters: serverCounters are for target mode/);
    const twice = 'serverCounters: { queries: [{ name: r, promql: "sum(x)" }, { name: r, promql: "sum(y)", counts: 2xx }] }';
    expect(refused(`target: { url: "http://127.0.0.1:1/", ${twice} }\nprometheus: http://127.0.0.1:9090\n`)).toMatch(
      /target\.serverCounters\.queries\[1\]\.name: r is used twice[\s\S]*fix: give each query its own name/,
    );
    expect(
      refused(
        `target: { url: "http://127.0.0.1:1/", serverCounters: { queries: [{ name: r, promql: "sum(x)", counts: 5xx }] } }\nprometheus: http://127.0.0.1:9090\n`,
      ),
    ).toMatch(/counts[\s\S]*fix: what the counter counts: sent/);
  });
});
