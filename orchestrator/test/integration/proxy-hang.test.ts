/**
 * Black holes: a SIGSTOPped replica still completes TCP handshakes (the kernel's accept backlog)
 * but never answers. Only the per-try timeout and the active health checks can see it. Then a
 * zone that hangs replica by replica, and the zone ejection that takes the rest of it out.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { proxyConfig, type ProxyConfigOverrides } from '../../src/proxy/config.js';
import { type ProxyWorker, startProxyWorker } from '../../src/proxy/worker.js';
import type { ProxyStats } from '../../src/proxy/types.js';
import { startLoad, waitForCounts } from '../../../test/helpers/http-load.js';
import { startUpstreams, stopUpstreams, type Upstream, type UpstreamOptions } from '../../../test/helpers/proxy-upstreams.js';
import { untilStats } from '../../../test/helpers/proxy-wait.js';
import { UPSTREAM_CLIENTS, withClient } from '../../../test/helpers/proxy-clients.js';

const FAST: ProxyConfigOverrides = {
  retries: { perTryTimeoutMs: 300 },
  // (check timeout not below 250 ms: on a busy 2-core box a healthy replica can take 100 ms to answer)
  healthCheck: { intervalMs: 100, timeoutMs: 250, unhealthyThreshold: 2, healthyThreshold: 2 },
  ejection: { consecutiveFailures: 3, minEjectionMs: 500, zoneEjectionThreshold: 2, zoneWindowMs: 2000 },
};

let ups: Upstream[] = [];
let proxy: ProxyWorker | null = null;

afterEach(async () => {
  await proxy?.destroy();
  proxy = null;
  await stopUpstreams(ups); // SIGCONT + SIGKILL
  ups = [];
});

describe.each(UPSTREAM_CLIENTS)('upstream client: %s', (client) => {
  async function setup(specs: Array<[string, UpstreamOptions]>): Promise<ProxyWorker> {
    ups = await startUpstreams(specs);
    // In its own thread, as the harness runs it: the load below runs in this one, and a stall of it
    // must not fire the proxy's 300 ms per-try timers on answers that have already arrived.
    proxy = await startProxyWorker(proxyConfig('hang-test', withClient(client, FAST)));
    for (const u of ups) await proxy.addEndpoint(u.endpoint());
    return proxy;
  }

  const up = (id: string): Upstream => ups.find((u) => u.id === id) as Upstream;
  const epOf = (s: ProxyStats, id: string) => s.endpoints.find((e) => e.id === id);

  describe('a SIGSTOPped replica under load', () => {
    it('costs no client a failure: per-try timeouts retry elsewhere, it is ejected, and it returns after SIGCONT', async () => {
      const p = await setup([
        ['r1', { zone: 'a' }],
        ['r2', { zone: 'b' }],
        ['r3', { zone: 'c' }],
      ]);
      const run = startLoad({ port: Number(new URL(p.url).port), connections: 16, durationMs: 30_000, requestTimeoutMs: 5000 });
      await waitForCounts(run, (c) => c.answered >= 500, 20_000);
      const stoppedAt = performance.now();
      up('r2').signal('SIGSTOP');
      const ejected = await untilStats(p, 'r2 ejected', (s) => epOf(s, 'r2')?.state === 'ejected', 3000);
      const detectedMs = performance.now() - stoppedAt;
      // keep it frozen for a while under load: nothing may reach it any more
      await new Promise((r) => setTimeout(r, 1500));
      const whileFrozen = await p.stats();
      expect(epOf(whileFrozen, 'r2')?.state).toBe('ejected');
      up('r2').signal('SIGCONT');
      const back = await untilStats(p, 'r2 back in rotation', (s) => epOf(s, 'r2')?.state === 'active', 5000);
      const servedBefore = epOf(back, 'r2')?.attempts.response ?? 0;
      await untilStats(p, 'r2 serving again', (s) => (epOf(s, 'r2')?.attempts.response ?? 0) > servedBefore + 50, 5000);
      run.stop();
      const r = await run.done;
      const s = await p.stats();

      expect(r.failed).toBe(0);
      expect(r.idMismatches).toBe(0);
      expect(r.byStatus).toEqual({ '200': r.answered });
      expect(s.retries.timeout).toBeGreaterThan(0);
      expect(epOf(s, 'r2')?.attempts.timeout).toBeGreaterThan(0);
      expect(s.savedByRetry).toBe(s.retries.timeout + s.retries.reset + s.retries.connect_error);
      // detected within a couple of check intervals / per-try timeouts, not the driver's timeout
      expect(detectedMs).toBeLessThan(1500);
      // no request waited for the frozen replica beyond its per-try timeout (+ a retry)
      expect(r.maxLatencyMs).toBeLessThan(1500);
      const events = (s.events ?? []).filter((e) => e.replica === 'r2').map((e) => e.type);
      expect(events).toContain('endpoint.ejected');
      expect(events).toContain('endpoint.returned');
      expect(['health_check', 'consecutive_failures']).toContain((s.events ?? []).find((e) => e.type === 'endpoint.ejected')?.reason);
      expect(ejected.zoneEjections).toBe(0);
    });
  });

  describe('zone ejection', () => {
    it('two frozen replicas of zone b eject all of zone b (b3 included) with no client failure; b3 returns at once, b1/b2 after SIGCONT', async () => {
      const p = await setup([
        ['a1', { zone: 'a' }],
        ['a2', { zone: 'a' }],
        ['b1', { zone: 'b' }],
        ['b2', { zone: 'b' }],
        ['b3', { zone: 'b' }],
      ]);
      const run = startLoad({ port: Number(new URL(p.url).port), connections: 16, durationMs: 30_000, requestTimeoutMs: 5000 });
      await waitForCounts(run, (c) => c.answered >= 500, 20_000);
      up('b1').signal('SIGSTOP');
      up('b2').signal('SIGSTOP');
      const zoned = await untilStats(p, 'zone b ejected', (s) => s.zoneEjections === 1, 3000);
      expect(zoned.events?.find((e) => e.type === 'zone.ejected')?.zone).toBe('b');
      const b3Ejection = zoned.events?.find((e) => e.type === 'endpoint.ejected' && e.replica === 'b3');
      expect(b3Ejection?.reason).toBe('zone');
      // b3 is healthy: back after minEjectionMs + healthyThreshold checks, while b1/b2 stay out
      const b3back = await untilStats(p, 'b3 back', (s) => epOf(s, 'b3')?.state === 'active', 3000);
      expect(epOf(b3back, 'b1')?.state).toBe('ejected');
      expect(epOf(b3back, 'b2')?.state).toBe('ejected');
      await new Promise((r) => setTimeout(r, 500));
      up('b1').signal('SIGCONT');
      up('b2').signal('SIGCONT');
      await untilStats(p, 'b1 and b2 back', (s) => epOf(s, 'b1')?.state === 'active' && epOf(s, 'b2')?.state === 'active', 5000);
      run.stop();
      const r = await run.done;
      const s = await p.stats();
      expect(r.failed).toBe(0);
      expect(r.byStatus).toEqual({ '200': r.answered });
      expect(s.zoneEjections).toBe(1);
      expect(epOf(s, 'a1')?.ejections).toBe(0);
      expect(epOf(s, 'a2')?.ejections).toBe(0);
      expect(epOf(s, 'b3')?.ejections).toBe(1);
      expect(r.maxLatencyMs).toBeLessThan(1500);
      const metrics = await p.metrics();
      expect(metrics).toContain('zerodrop_proxy_zone_ejections_total{zone="b",run_id="hang-test"} 1');
    });
  });
});
