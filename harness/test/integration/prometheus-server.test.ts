/**
 * A real Prometheus (the installed binary) scraping static loopback targets this test serves:
 * process management, file_sd, the HTTP API client, and the PromQL evaluator, in isolation from
 * the rest of a run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTargetGroups } from '../../../orchestrator/src/file-sd.js';
import { PrometheusApiError, resultSize } from '../../src/prometheus/api.js';
import { buildQueries, evaluateWhenScraped, type InProcessNumbers } from '../../src/prometheus/checks.js';
import { prometheusConfigYaml, sdFile } from '../../src/prometheus/config.js';
import { PrometheusServer, findPrometheusBinary } from '../../src/prometheus/server.js';

const binary = findPrometheusBinary();

/** Alive and not a zombie (a killed orphan may wait for a reaper that never comes in a container). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}
const RUN = 'itest-run';

/** A loopback /metrics endpoint whose text the test sets. */
class Target {
  text = '';
  server: Server;
  constructor() {
    this.server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(this.text);
    });
  }
  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

function proxyText(received: number, ok: number): string {
  return [
    '# TYPE zerodrop_proxy_requests_received_total counter',
    `zerodrop_proxy_requests_received_total{run_id="${RUN}"} ${received}`,
    '# TYPE zerodrop_proxy_responses_total counter',
    `zerodrop_proxy_responses_total{run_id="${RUN}",code="200"} ${ok}`,
    `zerodrop_proxy_responses_total{run_id="${RUN}",code="503"} 2`,
    '',
  ].join('\n');
}
function replicaText(served: number): string {
  return [
    '# TYPE http_requests_total counter',
    `http_requests_total{code="200",route="/",method="GET"} ${served}`,
    `http_requests_total{code="200",route="/readyz",method="GET"} 999`,
    '',
  ].join('\n');
}

describe.skipIf(!binary)('a real Prometheus over static loopback targets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zd-prom-it-'));
  const stateDir = join(dir, 'state');
  const sdDir = join(dir, 'sd');
  const proxy = new Target();
  const replica = new Target();
  let server: PrometheusServer;
  let replicaAddr = '';

  beforeAll(async () => {
    proxy.text = proxyText(10, 8);
    replica.text = replicaText(5);
    const proxyAddr = await proxy.listen();
    replicaAddr = await replica.listen();
    writeTargetGroups(sdFile(sdDir, RUN, 'proxy'), [{ targets: [proxyAddr], labels: {} }]);
    writeTargetGroups(sdFile(sdDir, RUN, 'replicas'), [{ targets: [replicaAddr], labels: { replica: 'r1', zone: 'a', version: 'v1', run_id: RUN } }]);
    const configFile = join(dir, 'prometheus.yml');
    writeFileSync(configFile, prometheusConfigYaml({ sdDir, runId: RUN }));
    server = await PrometheusServer.start({
      binary: binary!,
      configFile,
      dataDir: join(dir, 'data'),
      logFile: join(dir, 'prometheus.log'),
      runId: RUN,
      stateDir,
    });
    // file_sd → discovery → first scrape: discovery batches updates every 5 s.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const ts = await server.api.activeTargets();
      if (ts.length === 2 && ts.every((t) => t.health === 'up')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 40_000);

  afterAll(async () => {
    await server?.stop();
    await proxy.close();
    await replica.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 only, is ready, and scrapes both file_sd targets with their labels', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await server.api.ready()).toBe(true);
    const ts = await server.api.activeTargets();
    expect(ts.map((t) => [t.job, t.health]).sort()).toEqual([
      ['zerodrop-proxy', 'up'],
      ['zerodrop-replicas', 'up'],
    ]);
    const rep = ts.find((t) => t.job === 'zerodrop-replicas')!;
    expect(rep.labels).toMatchObject({ replica: 'r1', zone: 'a', version: 'v1', run_id: RUN });
    expect(rep.discoveredLabels['__meta_filepath']).toBe(sdFile(sdDir, RUN, 'replicas'));
    expect(rep.lastScrapeMs).toBeGreaterThan(Date.now() - 5000);
    // scraped run_id is kept as-is on the harness targets (no target label conflict → no exported_run_id)
    const v = await server.api.query(`zerodrop_proxy_requests_received_total`);
    expect(v.resultType === 'vector' && v.vector[0]?.metric).toMatchObject({ run_id: RUN, job: 'zerodrop-proxy' });
    expect(v.resultType === 'vector' && 'exported_run_id' in (v.vector[0]?.metric ?? {})).toBe(false);
  });

  it('reports PromQL errors as errors (a broken query fails)', async () => {
    await expect(server.api.query('sum(')).rejects.toBeInstanceOf(PrometheusApiError);
    await expect(server.api.query('sum(')).rejects.toThrow(/bad_data/);
    expect(resultSize(await server.api.query('no_such_metric_anywhere'))).toBe(0);
  });

  it('re-checks final counters: waits for the scrape after the load ended, then agrees (or not)', async () => {
    const n: InProcessNumbers = {
      driverSent: 0,
      driver2xx: 0,
      proxyReceived: 1234,
      proxy2xx: 1200,
      proxyUpstreamResponses: 0,
      replicas: { exact: new Map([['r1', { count: 77, source: 'live' }]]), lowerBound: new Map(), lowerBoundProxyCeiling: 0, unread: [] },
    };
    // "The load ends": the final values appear now; Prometheus still holds the old ones.
    const loadEnded = Date.now();
    proxy.text = proxyText(1234, 1200);
    replica.text = replicaText(77);
    const specs = buildQueries(RUN, 120, n).filter((q) => ['proxy-received', 'proxy-2xx', 'replica-responses'].includes(q.name));
    const res = await evaluateWhenScraped(server.api, specs, { loadEndedMs: loadEnded, scrapeIntervalMs: 1000, deadlineMs: 15_000 });
    expect(res.rows.map((r) => [r.spec.name, r.value, r.agree])).toEqual([
      ['proxy-received', 1234, true],
      ['proxy-2xx', 1200, true],
      ['replica-responses', 77, true],
    ]);
    expect(res.converged).toBe(true);
    expect(res.readAfterMs).toBeGreaterThanOrEqual(2000);

    // A disagreeing in-process number stays a disagreement until the deadline.
    const wrong = buildQueries(RUN, 120, { ...n, proxyReceived: 1235 }).filter((q) => q.name === 'proxy-received');
    const bad = await evaluateWhenScraped(server.api, wrong, { loadEndedMs: Date.now(), scrapeIntervalMs: 1000, deadlineMs: 3000 });
    expect(bad).toMatchObject({ converged: false });
    expect(bad.rows[0]).toMatchObject({ value: 1234, agree: false });
  }, 40_000);

  it("last_over_time keeps a vanished target's last value; a plain instant query loses it (why the checks use raw last samples)", async () => {
    replica.text = replicaText(88);
    await new Promise((r) => setTimeout(r, 2500));
    writeTargetGroups(sdFile(sdDir, RUN, 'replicas'), []); // the replica is gone from file_sd
    // Discovery (≤ 5 s) + stale markers (~2 intervals).
    const deadline = Date.now() + 20_000;
    let plain = 1;
    while (Date.now() < deadline) {
      plain = resultSize(await server.api.query(`http_requests_total{run_id="${RUN}",route="/"}`));
      if (plain === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(plain).toBe(0);
    const last = await server.api.query(`sum(last_over_time(http_requests_total{run_id="${RUN}",route="/"}[5m]))`);
    expect(last.resultType === 'vector' && last.vector[0]?.value).toBe(88);
  }, 40_000);

  it('takes a TSDB snapshot through the admin API', async () => {
    const name = await server.api.snapshot();
    expect(existsSync(join(dir, 'data', 'snapshots', name))).toBe(true);
  });
});

describe.skipIf(!binary)('no orphan Prometheus', () => {
  const dist = fileURLToPath(new URL('../../../dist/harness/src/prometheus/server.js', import.meta.url));

  it('stop() ends the server and forgets its process group', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zd-prom-stop-'));
    try {
      const configFile = join(dir, 'p.yml');
      writeFileSync(configFile, 'global:\n  scrape_interval: 1m\n');
      const s = await PrometheusServer.start({
        binary: binary!,
        configFile,
        dataDir: join(dir, 'data'),
        logFile: join(dir, 'log'),
        runId: 'stop-test',
        stateDir: join(dir, 'state'),
      });
      const pid = s.pid!;
      expect(alive(pid)).toBe(true);
      await s.stop();
      expect(s.running).toBe(false);
      expect(alive(pid)).toBe(false);
      expect(spawnSync('ls', [join(dir, 'state')], { encoding: 'utf8' }).stdout.trim()).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);

  it.skipIf(!existsSync(dist))(
    'dies with a harness that is SIGKILLed (pdeathsig)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'zd-prom-orphan-'));
      try {
        const configFile = join(dir, 'p.yml');
        writeFileSync(configFile, 'global:\n  scrape_interval: 1m\n');
        const script = `
        const { PrometheusServer } = await import(${JSON.stringify(dist)});
        const s = await PrometheusServer.start({ binary: ${JSON.stringify(binary)}, configFile: ${JSON.stringify(configFile)}, dataDir: ${JSON.stringify(join(dir, 'data'))}, logFile: ${JSON.stringify(join(dir, 'log'))}, runId: 'orphan-test', stateDir: ${JSON.stringify(join(dir, 'state'))} });
        process.stdout.write(JSON.stringify({ pid: s.pid }) + '\\n');
        setInterval(() => {}, 1000);
      `;
        const harness = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        const pid = await new Promise<number>((resolve, reject) => {
          let buf = '';
          harness.stdout.on('data', (c: Buffer) => {
            buf += c.toString();
            const line = buf.split('\n')[0];
            if (buf.includes('\n') && line) resolve((JSON.parse(line) as { pid: number }).pid);
          });
          harness.once('exit', (code) => reject(new Error(`harness exited early (${code})`)));
          setTimeout(() => reject(new Error('harness did not start prometheus in 30 s')), 30_000).unref();
        });
        expect(alive(pid)).toBe(true);
        harness.kill('SIGKILL');
        const deadline = Date.now() + 5000;
        while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        const survived = alive(pid);
        if (survived) process.kill(-pid, 'SIGKILL'); // never leave it behind, even when the assertion fails
        expect(survived).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    40_000,
  );
});
