/**
 * The Prometheus exposition of a real replica: names, types, label sets, zero-initialised
 * series, the readiness/draining gauges through a shutdown, and `promtool check metrics`.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { parseExpositionFull, sampleValue, type Sample } from '../../../contract/index.js';
import { DURATION_BUCKETS } from '../../src/metrics.js';
import { killAllSampleApps, request, startSampleApp, type SampleAppProcess } from '../../../test/helpers/sample-app-process.js';

afterEach(async () => {
  await killAllSampleApps();
});

const PROMTOOL = (() => {
  const r = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  return r.error === undefined && r.status === 0;
})();

async function scrape(app: SampleAppProcess): Promise<{ text: string; samples: Sample[]; types: Map<string, string> }> {
  const res = await request(app.adminUrl('/metrics'));
  expect(res.status).toBe(200);
  const parsed = parseExpositionFull(res.body);
  return { text: res.body, samples: parsed.samples, types: parsed.types };
}

function labelSets(samples: Sample[], name: string): Set<string> {
  return new Set(samples.filter((s) => s.name === name).map((s) => Object.keys(s.labels).sort().join(',')));
}

describe('exposition', () => {
  it('loads its registry (prom-client) before it listens: no scrape ever stalls a serving replica on it', async () => {
    const app = await startSampleApp(['--replica', 'm-prime']);
    // No scrape is made: only the start-up path can have loaded it (stderr may trail stdout's announcement).
    const deadline = Date.now() + 2000;
    while (!app.stderr.includes('metrics registry loaded') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(app.stderr).toMatch(/metrics registry loaded before Ready \(prom-client, \d+ ms\)/);
    expect((await request(app.url('/readyz'))).status).toBe(200);
  });

  it('has the documented names, types and bounded label sets, with known series at zero before any traffic', async () => {
    const app = await startSampleApp(['--admin-port', '0', '--replica', 'm-1', '--zone', 'z1', '--version', 'v3']);
    const { samples, types } = await scrape(app);

    expect(types.get('http_requests_received_total')).toBe('counter');
    expect(types.get('http_requests_total')).toBe('counter');
    expect(types.get('http_requests_aborted_total')).toBe('counter');
    expect(types.get('http_request_duration_seconds')).toBe('histogram');
    expect(types.get('http_requests_in_flight')).toBe('gauge');
    expect(types.get('sampleapp_ready')).toBe('gauge');
    expect(types.get('sampleapp_draining')).toBe('gauge');
    expect(types.get('sampleapp_build_info')).toBe('gauge');
    // Default process metrics are on the same registry.
    for (const name of ['process_cpu_user_seconds_total', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(
        samples.some((s) => s.name === name),
        name,
      ).toBe(true);
    }

    // Zero-initialised before traffic.
    expect(sampleValue(samples, 'http_requests_total', { code: '200', route: '/', method: 'GET' })).toBe(0);
    expect(sampleValue(samples, 'http_requests_total', { code: '201', route: '/echo', method: 'POST' })).toBe(0);
    expect(sampleValue(samples, 'http_requests_received_total', { route: '/work', method: 'GET' })).toBe(0);
    expect(sampleValue(samples, 'http_request_duration_seconds_count', { route: '/', method: 'GET' })).toBe(0);

    expect(sampleValue(samples, 'sampleapp_ready')).toBe(1);
    expect(sampleValue(samples, 'sampleapp_draining')).toBe(0);
    expect(sampleValue(samples, 'http_requests_in_flight')).toBe(0);
    expect(samples.filter((s) => s.name === 'sampleapp_build_info')).toEqual([
      { name: 'sampleapp_build_info', labels: { version: 'v3', replica: 'm-1', zone: 'z1' }, value: 1 },
    ]);

    // Traffic metrics carry only bounded labels: no replica/zone/run_id (service discovery adds those).
    await request(app.url('/'));
    await request(app.url('/no/such/path/123'));
    await request(app.url('/work?ms=1'));
    const after = (await scrape(app)).samples;
    expect(labelSets(after, 'http_requests_total')).toEqual(new Set(['code,method,route']));
    expect(labelSets(after, 'http_requests_received_total')).toEqual(new Set(['method,route']));
    expect(labelSets(after, 'http_request_duration_seconds_bucket')).toEqual(new Set(['le,method,route']));
    expect(labelSets(after, 'http_request_duration_seconds_count')).toEqual(new Set(['method,route']));
    const routes = new Set(after.filter((s) => s.name.startsWith('http_')).map((s) => s.labels.route));
    for (const r of routes) expect(['/', '/work', '/echo', '/kv', '/healthz', '/readyz', '/metrics', 'unmatched', undefined]).toContain(r);

    const les = after.filter((s) => s.name === 'http_request_duration_seconds_bucket' && s.labels.route === '/').map((s) => s.labels.le);
    expect(les).toEqual([...DURATION_BUCKETS.map(String), '+Inf']);
  });

  it('readiness and draining gauges follow the shutdown; the admin port keeps answering after the listener closed', async () => {
    const app = await startSampleApp(['--admin-port', '0', '--drain-delay-ms', '1500', '--drain-timeout-ms', '6000', '--exit-linger-ms', '1500']);
    app.signal('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    const draining = (await scrape(app)).samples;
    expect(sampleValue(draining, 'sampleapp_draining')).toBe(1);
    expect(sampleValue(draining, 'sampleapp_ready')).toBe(0);
    const readyz = await request(app.url('/readyz'));
    expect(readyz.status).toBe(503);
    expect(readyz.headers.connection).toBe('close');
    expect(JSON.parse(readyz.body)).toMatchObject({ ready: false, reason: 'draining' });
    expect((await request(app.adminUrl('/readyz'))).status).toBe(503);
    expect((await request(app.url('/healthz'))).status).toBe(200); // alive until exit
    // After the listener closed: main port refused, admin port still there.
    for (let i = 0; i < 600 && !app.stderr.includes('listener closed'); i++) await new Promise((r) => setTimeout(r, 10));
    await expect(request(app.url('/healthz'))).rejects.toThrow(/ECONNREFUSED/);
    expect((await request(app.adminUrl('/healthz'))).status).toBe(200);
    const final = (await scrape(app)).samples;
    expect(sampleValue(final, 'http_requests_total', { code: '503', route: '/readyz', method: 'GET' })).toBe(1);
    expect((await app.waitExit(6000))?.code).toBe(0);
  });

  it.skipIf(!PROMTOOL)('passes `promtool check metrics` (skipped when promtool is not installed)', async () => {
    const app = await startSampleApp(['--admin-port', '0']);
    await request(app.url('/'));
    await request(app.url('/work?ms=1'));
    await request(app.url('/echo'), { method: 'POST', body: 'x' });
    const { text } = await scrape(app);
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    const findings = `${r.stdout}\n${r.stderr}`
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    // prom-client's *_total gauges are removed in metrics.ts: nothing at all may be flagged.
    expect(findings).toEqual([]);
    expect(r.status).toBe(0);
  });
});
