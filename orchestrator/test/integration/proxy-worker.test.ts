/**
 * The proxy in a worker thread (what the harness runs, so the data plane gets a core of its own):
 * the same ProxyControl and the same guarantees, across messages with ids and acks. Uses the
 * compiled worker entry in dist/ (npm test builds first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { proxyConfig } from '../../src/proxy/config.js';
import { type ProxyWorker, resolveWorkerEntry, startProxyWorker } from '../../src/proxy/worker.js';
import type { ProxyStats } from '../../src/proxy/types.js';
import { startLoad, waitForCounts } from '../../../test/helpers/http-load.js';
import { startUpstreams, stopUpstreams, type Upstream } from '../../../test/helpers/proxy-upstreams.js';
import { UPSTREAM_CLIENTS, withClient } from '../../../test/helpers/proxy-clients.js';

let ups: Upstream[] = [];
let proxy: ProxyWorker | null = null;

afterEach(async () => {
  await proxy?.destroy();
  proxy = null;
  await stopUpstreams(ups);
  ups = [];
});

const epOf = (s: ProxyStats, id: string) => s.endpoints.find((e) => e.id === id);

describe.each(UPSTREAM_CLIENTS)('upstream client: %s', (client) => {
  describe('startProxyWorker', () => {
    it('finds the compiled worker entry (run "npm run build" if this fails)', () => {
      expect(existsSync(fileURLToPath(resolveWorkerEntry()))).toBe(true);
    });

    it('serves from its own thread with the same guarantees: a SIGKILLed replica costs no failure, drain costs no retry', async () => {
      ups = await startUpstreams([['r1'], ['r2'], ['r3']]);
      proxy = await startProxyWorker(proxyConfig('worker-test', withClient(client, { metricsPort: 0 })));
      expect(proxy.threadId).toBeGreaterThan(0);
      expect(proxy.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      for (const u of ups) await proxy.addEndpoint(u.endpoint());
      const p = proxy;

      const run = startLoad({ port: Number(new URL(p.url).port), connections: 16, durationMs: 30_000, request: () => ({ method: 'GET', path: '/slow?ms=5' }) });
      await waitForCounts(run, (c) => c.answered >= 500, 20_000);
      ups[1]?.signal('SIGKILL');
      await waitForCounts(run, (c) => c.answered >= 1500, 20_000);
      const before = await p.stats();
      const drained = await p.drainEndpoint('r3', 5000);
      await waitForCounts(run, (c) => c.answered >= 2500, 20_000);
      run.stop();
      const r = await run.done;
      const s = await p.stats();

      expect(r.failed).toBe(0);
      expect(r.idMismatches).toBe(0);
      expect(r.byStatus).toEqual({ '200': r.answered });
      expect(s.received).toBe(r.written);
      const retries = s.retries.connect_error + s.retries.reset + s.retries.timeout;
      expect(retries).toBeGreaterThan(0);
      expect(s.savedByRetry).toBe(retries);
      expect(epOf(s, 'r2')?.state).toBe('ejected');
      // the drain added no retry
      expect(s.retries).toEqual(before.retries);
      expect(drained.complete).toBe(true);
      expect(epOf(s, 'r3')?.state).toBe('removed');

      const metrics = await p.metrics();
      expect(metrics).toContain(`zerodrop_proxy_requests_received_total{run_id="worker-test"} ${s.received}`);
      const scraped = await request(p.metricsUrl as string);
      expect(scraped.statusCode).toBe(200);
      expect(await scraped.body.text()).toContain('zerodrop_proxy_upstream_attempts_total');
    });

    it('errors cross the thread boundary with their code; a bad config never starts a thread', async () => {
      await expect(startProxyWorker(proxyConfig('worker-test', withClient(client, { host: '10.0.0.1' })))).rejects.toMatchObject({ code: 'ZD_BAD_SPEC' });
      proxy = await startProxyWorker(proxyConfig('worker-test', withClient(client)));
      await expect(proxy.drainEndpoint('nope', 10)).rejects.toMatchObject({ code: 'ZD_REPLICA_NOT_FOUND' });
      await expect(proxy.addEndpoint({ id: '', host: '127.0.0.1', port: 1, zone: 'a', version: 'v1' })).rejects.toMatchObject({ code: 'ZD_BAD_SPEC' });
    });

    it('close() ends the thread; later calls are refused', async () => {
      proxy = await startProxyWorker(proxyConfig('worker-test', withClient(client)));
      const p = proxy;
      await p.close();
      proxy = null;
      await expect(p.stats()).rejects.toMatchObject({ code: 'ZD_PROXY_FAILED' });
      await expect(request(`${p.url}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    });

    it('never keeps the process alive by itself: a parent that is done (and forgot close()) exits, after its last answer', () => {
      const workerModule = fileURLToPath(new URL('../../../dist/orchestrator/src/proxy/worker.js', import.meta.url));
      const script = `
        const { startProxyWorker } = await import(${JSON.stringify(workerModule)});
        const p = await startProxyWorker({ runId: 'orphan', host: '127.0.0.1', port: 0, metricsPort: null, maxBodyBytes: 1024,
          retries: { enabled: true, maxAttempts: 3, perTryTimeoutMs: 1000, budgetRatio: 0.5, budgetMinConcurrency: 10 },
          healthCheck: { path: '/healthz', intervalMs: 250, timeoutMs: 250, unhealthyThreshold: 2, healthyThreshold: 2 },
          ejection: { consecutiveFailures: 3, minEjectionMs: 1000, zoneEjectionThreshold: 2, zoneWindowMs: 2000 },
          upstream: { client: ${JSON.stringify(client)}, connectionsPerReplica: 4, pipelining: 1, keepAliveTimeoutMs: 2000, connectTimeoutMs: 500 } });
        const s = await p.stats(); // the last thing it waits for: must still be answered
        console.log('received=' + s.received);
      `;
      const t0 = performance.now();
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
      expect(r.error).toBeUndefined();
      expect(r.stdout + r.stderr).toContain('received=0');
      expect(r.status).toBe(0);
      expect(performance.now() - t0).toBeLessThan(15_000);
    });
  });
});
