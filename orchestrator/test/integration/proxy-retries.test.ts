/**
 * Retries, for real: upstreams are child processes that get SIGKILLed under load, reset
 * connections, or are removed with requests in flight. Each test pairs with a control that shows
 * the failure it hides (retries disabled, POST after a reset, an exhausted budget).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { proxyConfig, type ProxyConfigOverrides } from '../../src/proxy/config.js';
import { type ServiceProxy, startServiceProxy } from '../../src/proxy/proxy.js';
import type { ProxyStats } from '../../src/proxy/types.js';
import { type LoadRun, startLoad, waitForCounts } from '../../../test/helpers/http-load.js';
import { startUpstream, startUpstreams, stopUpstreams, type Upstream } from '../../../test/helpers/proxy-upstreams.js';
import { untilInFlight } from '../../../test/helpers/proxy-wait.js';
import { UPSTREAM_CLIENTS, withClient } from '../../../test/helpers/proxy-clients.js';

let ups: Upstream[] = [];
let proxy: ServiceProxy | null = null;
const agent = new Agent({ connections: 64 });

afterEach(async () => {
  await proxy?.destroy();
  proxy = null;
  await stopUpstreams(ups);
  ups = [];
});

describe.each(UPSTREAM_CLIENTS)('upstream client: %s', (client) => {
  async function setup(specs: Parameters<typeof startUpstreams>[0], overrides: ProxyConfigOverrides = {}): Promise<ServiceProxy> {
    ups = await startUpstreams(specs);
    proxy = await startServiceProxy(proxyConfig('retry-test', withClient(client, overrides)));
    for (const u of ups) await proxy.addEndpoint(u.endpoint());
    return proxy;
  }

  const portOf = (p: ServiceProxy): number => Number(new URL(p.url).port);
  const ep = (s: ProxyStats, id: string) => s.endpoints.find((e) => e.id === id);
  const totalRetries = (s: ProxyStats): number => s.retries.connect_error + s.retries.reset + s.retries.timeout;

  /** Lets `n` more requests complete, then stops the load (bounded by answers, not by a clock: the box may be busy). */
  async function afterMore(run: LoadRun, n: number): Promise<void> {
    const mark = run.counts().answered;
    await waitForCounts(run, (c) => c.answered >= mark + n, 20_000);
    run.stop();
  }

  async function get(
    url: string,
    init: { method?: string; body?: string } = {},
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
    const res = await request(url, { method: (init.method ?? 'GET') as 'GET', body: init.body, dispatcher: agent });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  }

  describe('a replica SIGKILLed under load', () => {
    it('costs no client a single failure: in-flight resets and refused connects are retried on another replica', async () => {
      const p = await setup([['r1'], ['r2'], ['r3']]);
      const run = startLoad({ port: portOf(p), connections: 16, durationMs: 30_000, request: () => ({ method: 'GET', path: '/slow?ms=5' }) });
      await waitForCounts(run, (c) => c.answered >= 500, 20_000);
      ups[1]?.signal('SIGKILL');
      await afterMore(run, 1000);
      const r = await run.done;
      const s = await p.stats();
      expect(r.failed).toBe(0);
      expect(r.idMismatches).toBe(0);
      expect(r.byStatus).toEqual({ '200': r.answered });
      expect(totalRetries(s)).toBeGreaterThan(0);
      expect(s.savedByRetry).toBe(totalRetries(s));
      expect(ep(s, 'r2')?.state).toBe('ejected');
      expect((ep(s, 'r2')?.attempts.connect_error ?? 0) + (ep(s, 'r2')?.attempts.reset ?? 0)).toBeGreaterThan(0);
      // every retry went to a replica that answered
      expect(s.received).toBe(r.written);
      expect(s.responded).toEqual({ '200': r.answered });
    });

    it('with retries disabled the same kill surfaces as 502s (the control)', async () => {
      const p = await setup([['r1'], ['r2'], ['r3']], { retries: { enabled: false } });
      const run = startLoad({ port: portOf(p), connections: 16, durationMs: 30_000, request: () => ({ method: 'GET', path: '/slow?ms=5' }) });
      await waitForCounts(run, (c) => c.answered >= 500, 20_000);
      ups[1]?.signal('SIGKILL');
      await afterMore(run, 1000);
      const r = await run.done;
      const s = await p.stats();
      expect(r.byStatus['502'] ?? 0).toBeGreaterThan(0);
      expect(totalRetries(s)).toBe(0);
      expect(s.savedByRetry).toBe(0);
      expect(s.responded['502']).toBe(r.byStatus['502']);
    });
  });

  describe('which methods are retried (RFC 9110 §9.2.2)', () => {
    const noEjection: ProxyConfigOverrides = {
      ejection: { consecutiveFailures: 1000, zoneEjectionThreshold: 0 },
      healthCheck: { intervalMs: 60_000 },
    };

    it('with retries.idempotentWrites a PUT is replayed like a GET (the writes are declared idempotent)', async () => {
      ups = [await startUpstream('r1', { flaky: true }), await startUpstream('r2')];
      proxy = await startServiceProxy(proxyConfig('retry-test', withClient(client, { ...noEjection, retries: { idempotentWrites: true } })));
      for (const u of ups) await proxy.addEndpoint(u.endpoint());
      const puts = [];
      for (let i = 0; i < 10; i++) puts.push(await get(`${proxy.url}/flaky`, { method: 'PUT', body: 'x' }));
      expect(puts.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(puts.filter((r) => r.headers['x-zerodrop-attempts'] === '2')).toHaveLength(5);
      expect((await proxy.stats()).retries.reset).toBe(5);
    });

    // PUT is idempotent by the RFC, but a write is never replayed after its first byte (it may have landed).
    it.each(['POST', 'PUT'])('after a reset with no response byte: GET is retried on the other replica, %s is not (502)', async (method) => {
      ups = [await startUpstream('r1', { flaky: true }), await startUpstream('r2')];
      proxy = await startServiceProxy(proxyConfig('retry-test', withClient(client, noEjection)));
      for (const u of ups) await proxy.addEndpoint(u.endpoint());
      const p = proxy;

      const posts = [];
      for (let i = 0; i < 10; i++) posts.push(await get(`${p.url}/flaky`, { method, body: 'x' }));
      const failed = posts.filter((r) => r.status !== 200);
      expect(failed).toHaveLength(5); // round-robin: every other write hits r1, which resets it
      for (const f of failed) {
        expect(f.status).toBe(502);
        expect(f.headers['x-zerodrop-error']).toBe('reset');
        expect(f.headers['x-zerodrop-upstream']).toBe('r1');
        expect(f.headers['x-zerodrop-attempts']).toBeUndefined();
      }
      expect(totalRetries(await p.stats())).toBe(0);

      const gets = [];
      for (let i = 0; i < 10; i++) gets.push(await get(`${p.url}/flaky`));
      expect(gets.map((g) => g.status)).toEqual(Array(10).fill(200));
      expect(gets.every((g) => g.headers['x-served-by'] === 'r2')).toBe(true);
      expect(gets.filter((g) => g.headers['x-zerodrop-attempts'] === '2')).toHaveLength(5);
      const s = await p.stats();
      expect(s.retries.reset).toBe(5);
      expect(s.savedByRetry).toBe(5);
      expect(ep(s, 'r1')?.attempts.reset).toBe(10);
    });

    it('after a connect failure (request never sent), POST is retried too', async () => {
      // r2 listens first: started after the kill, it could be given the dead one's freed port (seen once in CI-like runs).
      ups = [await startUpstream('r2')];
      const dead = await startUpstream('dead');
      const deadEndpoint = dead.endpoint();
      await dead.kill(); // its port now refuses connections
      proxy = await startServiceProxy(proxyConfig('retry-test', withClient(client, noEjection)));
      await proxy.addEndpoint(deadEndpoint);
      await proxy.addEndpoint(ups[0]!.endpoint());
      const p = proxy;
      const posts = [];
      for (let i = 0; i < 10; i++) posts.push(await get(`${p.url}/post`, { method: 'POST', body: 'hello' }));
      expect(posts.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(posts.every((r) => r.headers['x-body-bytes'] === '5')).toBe(true);
      const s = await p.stats();
      expect(s.retries.connect_error).toBe(5);
      expect(ep(s, 'dead')?.attempts.connect_error).toBe(5);
    });

    it('a POST whose replica is removed before it was written is retried; the one already written is not', async () => {
      // One connection per replica: of the 4 POSTs that go to r1, one is written and 3 wait in its pool.
      // (per-try timeout raised: r2's single connection then serves its 4 and r1's 3, 500 ms each)
      await setup([['r1'], ['r2']], { ...noEjection, upstream: { connectionsPerReplica: 1 }, retries: { perTryTimeoutMs: 10_000 } });
      const p = proxy as ServiceProxy;
      const inflight = Array.from({ length: 8 }, () => get(`${p.url}/slow?ms=500`, { method: 'POST', body: 'b' }));
      await untilInFlight(p, 8);
      await new Promise((r) => setTimeout(r, 50)); // r1's one connection has its POST written
      await p.removeEndpoint('r1');
      const res = await Promise.all(inflight);
      const s = await p.stats();
      const failed = res.filter((r) => r.status !== 200);
      expect(failed).toHaveLength(1);
      expect(failed[0]?.status).toBe(502);
      expect(failed[0]?.headers['x-zerodrop-error']).toBe('reset');
      expect(s.retries).toEqual({ connect_error: 3, reset: 0, timeout: 0 });
      expect(ep(s, 'r1')?.attempts).toMatchObject({ reset: 1, connect_error: 3 });
      expect(ep(s, 'r1')?.state).toBe('removed');
    });
  });

  describe('removeEndpoint and the retry budget', () => {
    it('in-flight GETs of a removed replica are retried elsewhere', async () => {
      const p = await setup([['r1'], ['r2']], { ejection: { zoneEjectionThreshold: 0 } });
      const inflight = Array.from({ length: 20 }, () => get(`${p.url}/slow?ms=600`));
      await untilInFlight(p, 20);
      await new Promise((r) => setTimeout(r, 50)); // and written upstream
      await p.removeEndpoint('r1');
      const res = await Promise.all(inflight);
      expect(res.map((r) => r.status)).toEqual(Array(20).fill(200));
      const s = await p.stats();
      // written ones fail as resets; on a slow box one may still be waiting for its connection
      expect(s.retries.reset + s.retries.connect_error).toBe(10);
      expect(s.retries.reset).toBeGreaterThan(0);
      expect((ep(s, 'r1')?.attempts.reset ?? 0) + (ep(s, 'r1')?.attempts.connect_error ?? 0)).toBe(10);
      expect(ep(s, 'r1')?.state).toBe('removed');
      expect(s.endpoints.map((e) => e.id)).toEqual(['r1', 'r2']); // removed endpoints stay in stats
    });

    it('retries beyond the budget are refused and counted; those requests fail', async () => {
      // budget = max(1, 0 × in flight) = one retry in flight at a time
      const p = await setup([['r1'], ['r2']], { retries: { budgetMinConcurrency: 1, budgetRatio: 0 }, ejection: { zoneEjectionThreshold: 0 } });
      const inflight = Array.from({ length: 20 }, () => get(`${p.url}/slow?ms=600`));
      await untilInFlight(p, 20);
      await new Promise((r) => setTimeout(r, 50)); // and written upstream
      await p.removeEndpoint('r1');
      const res = await Promise.all(inflight);
      const s = await p.stats();
      expect(s.retries.reset + s.retries.connect_error).toBe(1);
      expect(s.retryBudgetExhausted).toBe(9);
      expect(res.filter((r) => r.status === 502)).toHaveLength(9);
      expect(res.filter((r) => r.status === 200)).toHaveLength(11);
    });
  });
});
