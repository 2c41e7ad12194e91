/**
 * Taking replicas out gracefully, and stopping the proxy itself: drainEndpoint under load needs no
 * retry at all (a rolling update done right costs nothing), close() lets in-flight requests
 * finish, destroy() does not, and nothing is left running afterwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { proxyConfig } from '../../src/proxy/config.js';
import { type ServiceProxy, startServiceProxy } from '../../src/proxy/proxy.js';
import type { ProxyStats } from '../../src/proxy/types.js';
import { startLoad, waitForCounts } from '../../../test/helpers/http-load.js';
import { startUpstreams, stopUpstreams, type Upstream } from '../../../test/helpers/proxy-upstreams.js';
import { untilInFlight } from '../../../test/helpers/proxy-wait.js';
import { UPSTREAM_CLIENTS, withClient } from '../../../test/helpers/proxy-clients.js';

let ups: Upstream[] = [];
let proxy: ServiceProxy | null = null;

afterEach(async () => {
  await proxy?.destroy();
  proxy = null;
  await stopUpstreams(ups);
  ups = [];
});

const epOf = (s: ProxyStats, id: string) => s.endpoints.find((e) => e.id === id);

describe.each(UPSTREAM_CLIENTS)('upstream client: %s', (client) => {
  describe('drainEndpoint under load', () => {
    it('no failure and no retry: in-flight requests finish, then the pool closes from the client side', async () => {
      ups = await startUpstreams([['r1'], ['r2'], ['r3']]);
      proxy = await startServiceProxy(proxyConfig('drain-test', withClient(client)));
      for (const u of ups) await proxy.addEndpoint(u.endpoint());
      const p = proxy;
      const run = startLoad({
        port: Number(new URL(p.url).port),
        connections: 24,
        durationMs: 30_000,
        request: () => ({ method: 'GET', path: '/slow?ms=20' }),
      });
      await waitForCounts(run, (c) => c.answered >= 300, 20_000);
      const result = await p.drainEndpoint('r1', 5000);
      const atDrain = await p.stats();
      const r1Count = epOf(atDrain, 'r1')?.attempts.response ?? 0;
      // the replica can now be stopped: nothing is routed to it and its pool is closed
      ups[0]?.signal('SIGTERM');
      await waitForCounts(run, (c) => c.answered >= 900, 20_000);
      run.stop();
      const r = await run.done;
      const s = await p.stats();

      expect(result.complete).toBe(true);
      expect(result.inFlightAtRemoval).toBeGreaterThan(0);
      expect(result.drainedInMs).toBeLessThan(1000);
      expect(r.failed).toBe(0);
      expect(r.byStatus).toEqual({ '200': r.answered });
      expect(s.retries).toEqual({ connect_error: 0, reset: 0, timeout: 0 });
      expect(epOf(s, 'r1')?.state).toBe('removed');
      expect(epOf(s, 'r1')?.inFlight).toBe(0);
      expect(epOf(s, 'r1')?.attempts.response).toBe(r1Count); // nothing after the drain
      expect(Object.values(epOf(s, 'r1')?.attempts ?? {}).reduce((a, b) => a + b, 0)).toBe(r1Count); // and no failure
      expect((s.events ?? []).map((e) => `${e.type}:${e.replica ?? ''}`)).toEqual(
        expect.arrayContaining(['endpoint.draining:r1', 'endpoint.drained:r1', 'endpoint.removed:r1']),
      );
    });

    it('a drained replica added again (Ready again) goes back into rotation', async () => {
      ups = await startUpstreams([['r1'], ['r2']]);
      proxy = await startServiceProxy(proxyConfig('drain-test', withClient(client)));
      for (const u of ups) await proxy.addEndpoint(u.endpoint());
      await proxy.drainEndpoint('r1', 1000);
      await proxy.addEndpoint(ups[0]!.endpoint());
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const res = await request(`${proxy.url}/`);
        seen.add(String(res.headers['x-served-by']));
        await res.body.dump();
      }
      expect(seen).toEqual(new Set(['r1', 'r2']));
      expect(epOf(await proxy.stats(), 'r1')?.state).toBe('active');
    });

    it('when every endpoint is draining, draining ones still serve (ProxyTerminatingEndpoints) and the drain waits for them', async () => {
      ups = await startUpstreams([['r1']]);
      proxy = await startServiceProxy(proxyConfig('drain-test', withClient(client)));
      await proxy.addEndpoint(ups[0]!.endpoint());
      const slow = request(`${proxy.url}/slow?ms=300`);
      await untilInFlight(proxy, 1, 'r1');
      const drain = proxy.drainEndpoint('r1', 2000);
      const during = await request(`${proxy.url}/`);
      expect(during.statusCode).toBe(200);
      await during.body.dump();
      const result = await drain;
      expect(result.complete).toBe(true);
      expect((await slow).statusCode).toBe(200);
      const after = await request(`${proxy.url}/`);
      expect(after.statusCode).toBe(503);
      expect(after.headers['x-zerodrop-error']).toBe('no_endpoints');
      await after.body.dump();
    });

    it('a drain that hits its deadline reports complete: false', async () => {
      ups = await startUpstreams([['r1'], ['r2']]);
      proxy = await startServiceProxy(proxyConfig('drain-test', withClient(client, { retries: { perTryTimeoutMs: 5000 } })));
      for (const u of ups) await proxy.addEndpoint(u.endpoint());
      const slow = [request(`${proxy.url}/slow?ms=1500`), request(`${proxy.url}/slow?ms=1500`)];
      await untilInFlight(proxy, 2);
      const result = await proxy.drainEndpoint('r1', 200);
      expect(result).toMatchObject({ inFlightAtRemoval: 1, complete: false });
      expect(result.drainedInMs).toBeGreaterThanOrEqual(190);
      for (const res of await Promise.all(slow)) {
        expect(res.statusCode).toBe(200); // pool.close() is graceful: the late one still completes
        await res.body.dump();
      }
    });

    it('unknown replica ids are refused with ZD_REPLICA_NOT_FOUND', async () => {
      proxy = await startServiceProxy(proxyConfig('drain-test', withClient(client)));
      await expect(proxy.drainEndpoint('nope', 100)).rejects.toMatchObject({ code: 'ZD_REPLICA_NOT_FOUND' });
      await expect(proxy.removeEndpoint('nope')).rejects.toMatchObject({ code: 'ZD_REPLICA_NOT_FOUND' });
    });
  });

  describe('stopping the proxy', () => {
    it('close() stops accepting, lets in-flight requests finish, and leaves no timer, socket or server behind', async () => {
      const resources = (): Record<string, number> => {
        const counts: Record<string, number> = {};
        for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
        return counts;
      };
      ups = await startUpstreams([['r1'], ['r2']]);
      const agent = new Agent({ connections: 16 });
      await new Promise((r) => setTimeout(r, 50));
      const before = resources();
      // Unref'd timers are invisible to getActiveResourcesInfo: track every timer created meanwhile.
      const created: Array<{ t: NodeJS.Timeout; stack: string }> = [];
      const realTimeout = globalThis.setTimeout;
      const realInterval = globalThis.setInterval;
      const track = <F extends (...a: never[]) => NodeJS.Timeout>(fn: F): F =>
        ((...args: Parameters<F>) => {
          const t = fn(...args);
          created.push({ t, stack: new Error().stack ?? '' });
          return t;
        }) as unknown as F;
      globalThis.setTimeout = track(realTimeout as never);
      globalThis.setInterval = track(realInterval as never);
      proxy = await startServiceProxy(proxyConfig('close-test', withClient(client, { metricsPort: 0, healthCheck: { intervalMs: 50, timeoutMs: 50 } })));
      for (const u of ups) await proxy.addEndpoint(u.endpoint());
      const p = proxy;
      const slow = Array.from({ length: 6 }, () => request(`${p.url}/slow?ms=400`, { dispatcher: agent }));
      await untilInFlight(p, 6);
      const closing = p.close();
      await new Promise((r) => setTimeout(r, 50));
      await expect(request(`${p.url}/`, { dispatcher: new Agent() })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      const done = await Promise.all(slow);
      expect(done.map((d) => d.statusCode)).toEqual(Array(6).fill(200));
      for (const d of done) expect(d.headers.connection).toBe('close');
      await Promise.all(done.map((d) => d.body.dump()));
      await closing;
      globalThis.setTimeout = realTimeout;
      globalThis.setInterval = realInterval;
      await agent.close();
      proxy = null;
      await new Promise((r) => setTimeout(r, 100));
      const alive = created.filter((c) => !(c.t as unknown as { _destroyed: boolean })._destroyed).map((c) => c.stack);
      expect(alive).toEqual([]);
      const after = resources();
      for (const kind of ['Timeout', 'TCPServerWrap', 'TCPSocketWrap']) expect(after[kind] ?? 0, kind).toBeLessThanOrEqual(before[kind] ?? 0);
    });

    it('destroy() aborts in-flight requests at once', async () => {
      ups = await startUpstreams([['r1']]);
      proxy = await startServiceProxy(proxyConfig('destroy-test', withClient(client)));
      await proxy.addEndpoint(ups[0]!.endpoint());
      const slow = request(`${proxy.url}/slow?ms=2000`).then(
        (r) => r.statusCode,
        (e: { code?: string }) => e.code ?? 'error',
      );
      await new Promise((r) => setTimeout(r, 100));
      const t0 = performance.now();
      await proxy.destroy();
      proxy = null;
      expect(await slow).not.toBe(200);
      expect(performance.now() - t0).toBeLessThan(1000);
    });
  });
});
