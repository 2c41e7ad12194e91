/**
 * The HAProxy data plane under real load, against child-process upstreams the tests SIGKILL and
 * SIGSTOP: add/drain/remove cost no client a failure (and a drain needs no retry), a killed
 * replica's requests are retried elsewhere, a frozen one is found by timeouts and health checks,
 * a POST is not replayed after an empty response, and HAProxy's counters reconcile with the
 * client's own. Skipped (with the reason in the suite name) when haproxy is not installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { proxyConfig, type ProxyConfigOverrides } from '../../src/proxy/config.js';
import { haproxyAvailability } from '../../src/proxy/haproxy/binary.js';
import { type HaproxyDataPlane, startHaproxyDataPlane } from '../../src/proxy/haproxy/data-plane.js';
import { type EndpointStats, HAPROXY_MAX_ATTEMPTS_DEFAULT, type ProxyStats } from '../../src/proxy/types.js';
import { type LoadResult, type LoadRun, startLoad, waitForCounts } from '../../../test/helpers/http-load.js';
import { startUpstreams, stopUpstreams, type Upstream, type UpstreamOptions } from '../../../test/helpers/proxy-upstreams.js';
import { untilStats } from '../../../test/helpers/proxy-wait.js';

const avail = haproxyAvailability();
const suite = `HAProxy data plane: traffic${avail.ok ? ` (haproxy ${avail.version})` : ` — SKIPPED: ${avail.reason}; apt-get install -y haproxy to run it`}`;
const stateDir = mkdtempSync(join(tmpdir(), 'zd-haproxy-test-state-'));

let ups: Upstream[] = [];
let plane: HaproxyDataPlane | null = null;
// One client pool per test: a later data plane may get an earlier one's port.
let agent = new Agent({ connections: 8 });

afterEach(async () => {
  await agent.destroy();
  agent = new Agent({ connections: 8 });
  await plane?.destroy();
  plane = null;
  await stopUpstreams(ups); // SIGCONT + SIGKILL
  ups = [];
});

async function setup(specs: Array<[string, UpstreamOptions?]>, overrides: ProxyConfigOverrides = {}): Promise<HaproxyDataPlane> {
  ups = await startUpstreams(specs);
  plane = await startHaproxyDataPlane(proxyConfig('hap-traffic', overrides), { stateDir });
  for (const u of ups) await plane.addEndpoint(u.endpoint());
  return plane;
}

const portOf = (p: HaproxyDataPlane): number => Number(new URL(p.url).port);
const up = (id: string): Upstream => ups.find((u) => u.id === id) as Upstream;
const epOf = (s: ProxyStats, id: string): EndpointStats | undefined => s.endpoints.find((e) => e.id === id);
const sum = (r: Record<string, number>): number => Object.values(r).reduce((a, b) => a + b, 0);
const totalRetries = (s: ProxyStats): number => s.retries.connect_error + s.retries.reset + s.retries.timeout;

/** Lets `n` more requests complete, then stops the load (bounded by answers, not by a clock: the box may be busy). */
async function afterMore(run: LoadRun, n: number): Promise<LoadResult> {
  const mark = run.counts().answered;
  await waitForCounts(run, (c) => c.answered >= mark + n, 30_000);
  run.stop();
  return await run.done;
}

/** The client's and HAProxy's counts agree: every request written was received, every answer counted once. */
function expectReconciled(s: ProxyStats, r: LoadResult): void {
  expect(s.received).toBe(r.written);
  expect(s.responded).toEqual({ '2xx': r.answered });
  expect(s.inFlight).toBe(0);
  // every client answer is an upstream answer of exactly one replica
  expect(s.endpoints.reduce((a, e) => a + e.attempts.response, 0)).toBe(r.answered);
  for (const e of s.endpoints) {
    expect(sum(e.responses)).toBe(e.attempts.response);
    expect(e.responses['2xx'] ?? 0).toBe(r.servedBy[e.id] ?? 0);
  }
}

async function get(
  url: string,
  init: { method?: string; body?: string; reset?: boolean } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  // reset: on a connection of its own (the first request of a client connection)
  const dispatcher = init.reset ? new Agent({ connections: 1 }) : agent;
  try {
    const res = await request(url, { method: (init.method ?? 'GET') as 'GET', body: init.body, dispatcher, reset: init.reset ?? false });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  } finally {
    if (dispatcher !== agent) await dispatcher.close();
  }
}

describe.skipIf(!avail.ok)(suite, () => {
  describe('add, drain, remove under load', () => {
    it('costs no client a failure and needs no retry; a drained replica gets nothing more; counters reconcile', async () => {
      const p = await setup([
        ['r1', { zone: 'a' }],
        ['r2', { zone: 'b' }],
        ['r3', { zone: 'c' }],
      ]);
      const [, , u3] = ups as [Upstream, Upstream, Upstream];
      const late = (await startUpstreams([['r4', { zone: 'a' }]]))[0] as Upstream;
      ups.push(late);
      const run = startLoad({ port: portOf(p), connections: 24, durationMs: 60_000, request: () => ({ method: 'GET', path: '/slow?ms=20' }) });
      await waitForCounts(run, (c) => c.answered >= 300, 20_000);

      // a new replica joins the rotation
      await p.addEndpoint(late.endpoint());
      await untilStats(p, 'r4 serving', (s) => (epOf(s, 'r4')?.attempts.response ?? 0) > 20, 10_000);

      // a rolling update's step: drain r1 under load, then stop it
      const drained = await p.drainEndpoint('r1', 5000);
      const atDrain = await p.stats();
      const r1Answered = epOf(atDrain, 'r1')?.attempts.response ?? 0;
      up('r1').signal('SIGTERM');
      let mark = run.counts().answered;
      await waitForCounts(run, (c) => c.answered >= mark + 300, 20_000);

      // the orchestrator forgets r3 (removeEndpoint) while it still answers: in-flight requests finish
      await p.removeEndpoint('r3');
      mark = run.counts().answered;
      await waitForCounts(run, (c) => c.answered >= mark + 300, 20_000);
      const r = await afterMore(run, 200);
      await untilStats(p, 'r3 deleted', (s) => (epOf(s, 'r3')?.inFlight ?? 1) === 0, 5000);
      const s = await p.stats();

      expect(drained.complete).toBe(true);
      expect(drained.inFlightAtRemoval).toBeGreaterThan(0);
      expect(drained.drainedInMs).toBeLessThan(2000);
      expect(r.failed).toBe(0);
      expect(r.idMismatches).toBe(0);
      expect(r.byStatus).toEqual({ '200': r.answered });
      expect(totalRetries(s)).toBe(0);
      expect(s.savedByRetry).toBe(0);
      expect(epOf(s, 'r1')?.state).toBe('removed');
      expect(epOf(s, 'r3')?.state).toBe('removed');
      expect(epOf(s, 'r4')?.state).toBe('active');
      expect(epOf(s, 'r1')?.attempts.response).toBe(r1Answered); // nothing after the drain
      expect(sum(epOf(s, 'r1')?.attempts ?? {})).toBe(r1Answered); // and no failed attempt
      expectReconciled(s, r);
      expect((s.events ?? []).map((e) => `${e.type}:${e.replica ?? ''}`)).toEqual(
        expect.arrayContaining(['endpoint.added:r4', 'endpoint.draining:r1', 'endpoint.drained:r1', 'endpoint.removed:r3']),
      );
      void u3;
      // the Prometheus view says the same
      const m = await p.metrics();
      expect(m).toContain(`zerodrop_proxy_requests_received_total{run_id="hap-traffic"} ${s.received}`);
      expect(m).toContain(`zerodrop_proxy_responses_total{code="2xx",run_id="hap-traffic"} ${r.answered}`);
      expect(m).toContain(`zerodrop_proxy_upstream_responses_total{replica="r1",zone="a",version="v1",code="2xx",run_id="hap-traffic"} ${r1Answered}`);
      // and it is a clean exposition (the same lint as every other component's)
      const lint = spawnSync('promtool', ['check', 'metrics'], { input: m, encoding: 'utf8', timeout: 10_000 });
      if (lint.error === undefined) expect(`${lint.stdout}${lint.stderr}`.trim(), 'promtool check metrics').toBe('');
    });

    it('a drained replica added again goes back into rotation, its history kept', async () => {
      const p = await setup([['r1'], ['r2']]);
      for (let i = 0; i < 4; i++) expect((await get(`${p.url}/`)).status).toBe(200);
      await p.drainEndpoint('r1', 1000);
      const before = epOf(await p.stats(), 'r1')?.attempts.response ?? 0;
      expect(before).toBe(2);
      await p.addEndpoint(up('r1').endpoint());
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add(String((await get(`${p.url}/`)).headers['x-served-by']));
      expect(seen).toEqual(new Set(['r1', 'r2']));
      const s = await p.stats();
      expect(epOf(s, 'r1')?.state).toBe('active');
      expect(epOf(s, 'r1')?.attempts.response).toBe(before + 3);
    });
  });

  describe('a replica SIGKILLed under load', () => {
    it('costs no client a failure: resets and refused connects are retried on another replica, and counted', async () => {
      const p = await setup([['r1'], ['r2'], ['r3']]);
      const run = startLoad({ port: portOf(p), connections: 16, durationMs: 60_000, request: () => ({ method: 'GET', path: '/slow?ms=5' }) });
      await waitForCounts(run, (c) => c.answered >= 500, 20_000);
      up('r2').signal('SIGKILL');
      await untilStats(p, 'r2 marked down', (s) => epOf(s, 'r2')?.state === 'ejected', 5000);
      const r = await afterMore(run, 1000);
      const s = await p.stats();

      expect(r.failed).toBe(0);
      expect(r.idMismatches).toBe(0);
      expect(r.byStatus).toEqual({ '200': r.answered });
      expect(totalRetries(s)).toBeGreaterThan(0);
      // every retried request got its answer from another replica (some needed two retries: an idle
      // connection to r2 that died under it, then a refused connect to r2 again)
      expect(s.savedByRetry).toBeGreaterThan(0);
      expect(s.savedByRetry).toBeLessThanOrEqual(totalRetries(s));
      const r2 = epOf(s, 'r2') as EndpointStats;
      // HAProxy also books some retried failures in eresp: its failed attempts cover the retries
      expect(r2.attempts.connect_error + r2.attempts.reset).toBeGreaterThanOrEqual(totalRetries(s));
      expect(r2.ejections).toBe(1);
      expectReconciled(s, r);
      expect((s.events ?? []).find((e) => e.type === 'endpoint.ejected')?.replica).toBe('r2');
    });

    it('a zone of three dead replicas: each is marked down by its first refused connect, before any health check, and no request fails', async () => {
      // Health checks every 60 s: only passive observation can mark a replica down in this test.
      // A retry avoids only the server tried last: needing 3 errors per replica (the old
      // `observe layer7 error-limit 3`) let all four tries land in zone b (503 SC-- +3). Marked
      // down at its first refused connect, each dead replica costs a request one try at most.
      const zones: Array<[string, UpstreamOptions]> = [
        ['a1', { zone: 'a' }],
        ['b1', { zone: 'b' }],
        ['b2', { zone: 'b' }],
        ['b3', { zone: 'b' }],
        ['c1', { zone: 'c' }],
      ];
      const p = await setup(zones, {
        retries: { maxAttempts: HAPROXY_MAX_ATTEMPTS_DEFAULT },
        healthCheck: { intervalMs: 60_000, timeoutMs: 250, unhealthyThreshold: 2, healthyThreshold: 2 },
      });
      for (let i = 0; i < 10; i++) expect((await get(`${p.url}/`)).status).toBe(200); // idle pooled connections to every replica
      for (const id of ['b1', 'b2', 'b3']) up(id).signal('SIGKILL');
      await untilStats(p, 'zone b processes gone', () => ['b1', 'b2', 'b3'].every((id) => up(id).exited()), 5000);
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await get(`${p.url}/`)).status);
      expect(statuses).toEqual(Array(30).fill(200));
      const s = await p.stats();
      for (const id of ['b1', 'b2', 'b3']) {
        const e = epOf(s, id) as EndpointStats;
        expect(e.state, id).toBe('ejected');
        expect(e.attempts.connect_error, `${id}: refused connects before it was marked down`).toBe(1);
      }
      for (const id of ['a1', 'c1']) expect(epOf(s, id)?.state, id).toBe('active');
    });

    it('with retries disabled the same kill reaches clients: 502/503s, or a keep-alive connection closed unanswered (the control)', async () => {
      const p = await setup([['r1'], ['r2'], ['r3']], { retries: { enabled: false } });
      const run = startLoad({ port: portOf(p), connections: 16, durationMs: 60_000, request: () => ({ method: 'GET', path: '/slow?ms=5' }) });
      await waitForCounts(run, (c) => c.answered >= 500, 20_000);
      up('r2').signal('SIGKILL');
      await untilStats(p, 'r2 marked down', (s) => epOf(s, 'r2')?.state === 'ejected', 5000);
      const r = await afterMore(run, 500);
      const s = await p.stats();
      const errors = (r.byStatus['502'] ?? 0) + (r.byStatus['503'] ?? 0);
      // A read error on a request that is not the first on its client connection is not answered
      // 502: HAProxy closes the client connection without a response, so that the client may retry
      // (http_wait_for_response, TX_NOT_FIRST → abort_keep_alive). When every request r2 had in
      // flight was such a one, and the passive check marked r2 down before a new connect was
      // refused, the kill shows only as closed connections (here: 2 runs in 8).
      const evidence = JSON.stringify({ byStatus: r.byStatus, failureReasons: r.failureReasons });
      expect(errors + r.failed, evidence).toBeGreaterThan(0);
      expect(
        Object.keys(r.failureReasons).every((why) => why === 'closed-before-response' || why === 'ECONNRESET'),
        evidence,
      ).toBe(true);
      expect(totalRetries(s)).toBe(0);
      expect(s.received).toBe(r.written);
      expect(s.responded['5xx'] ?? 0).toBe(errors);
    });
  });

  describe('a SIGSTOPped replica under load', () => {
    it('is found by per-try timeouts and health checks: no client failure, ejected, back after SIGCONT', async () => {
      const p = await setup(
        [
          ['r1', { zone: 'a' }],
          ['r2', { zone: 'b' }],
          ['r3', { zone: 'c' }],
        ],
        {
          retries: { perTryTimeoutMs: 300 },
          healthCheck: { intervalMs: 100, timeoutMs: 250, unhealthyThreshold: 2, healthyThreshold: 2 },
        },
      );
      const run = startLoad({ port: portOf(p), connections: 16, durationMs: 60_000, requestTimeoutMs: 5000 });
      await waitForCounts(run, (c) => c.answered >= 500, 20_000);
      const stoppedAt = performance.now();
      up('r2').signal('SIGSTOP');
      await untilStats(p, 'r2 ejected', (s) => epOf(s, 'r2')?.state === 'ejected', 5000);
      const detectedMs = performance.now() - stoppedAt;
      await new Promise((r) => setTimeout(r, 1000));
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
      // timeouts are counted with resets (HAProxy 2.6 has one counter for both: see stats.ts)
      expect(s.retries.reset).toBeGreaterThan(0);
      expect(s.savedByRetry).toBe(totalRetries(s));
      expect(detectedMs).toBeLessThan(2000);
      // nobody waited for the frozen replica beyond a per-try timeout (+ a retry)
      expect(r.maxLatencyMs).toBeLessThan(1500);
      const events = (s.events ?? []).filter((e) => e.replica === 'r2').map((e) => e.type);
      expect(events).toContain('endpoint.ejected');
      expect(events).toContain('endpoint.returned');
      expect(['health_check', 'consecutive_failures']).toContain((s.events ?? []).find((e) => e.type === 'endpoint.ejected')?.reason);
      expectReconciled(s, r);
    });
  });

  describe('what is retried', () => {
    it.each(['POST', 'PUT'])(
      'GET after an empty response: retried on another replica, x-zerodrop-attempts: 2, saved; %s: not replayed (502)',
      async (method) => {
        // passive ejection out of the way: r1 must keep getting its turn
        const p = await setup([['r1', { flaky: true }], ['r2']], { ejection: { consecutiveFailures: 100 } });
        const gets = [];
        for (let i = 0; i < 4; i++) gets.push(await get(`${p.url}/flaky`));
        for (const g of gets) {
          expect(g.status).toBe(200);
          expect(g.headers['x-served-by']).toBe('r2');
        }
        const retried = gets.filter((g) => g.headers['x-zerodrop-attempts'] === '2').length;
        expect(retried).toBeGreaterThan(0);
        expect(gets.filter((g) => g.headers['x-zerodrop-attempts'] !== undefined && g.headers['x-zerodrop-attempts'] !== '2')).toEqual([]);
        let s = await p.stats();
        expect(s.savedByRetry).toBe(retried);
        expect(s.retries).toEqual({ connect_error: 0, reset: retried, timeout: 0 });

        // POST, each the first request of its connection: not replayed, HAProxy answers 502
        const posts = [];
        for (let i = 0; i < 4; i++) posts.push(await get(`${p.url}/flaky`, { method, body: 'payload', reset: true }));
        const failed = posts.filter((x) => x.status === 502);
        expect(failed.length).toBeGreaterThan(0);
        for (const f of failed) {
          expect(f.headers['x-zerodrop-attempts']).toBeUndefined();
          expect(f.headers['x-zerodrop-error']).toBe('reset');
          expect(f.headers['x-zerodrop-upstream']).toBe('r1');
        }
        for (const x of posts.filter((y) => y.status !== 502)) expect(x.headers['x-served-by']).toBe('r2');
        s = await p.stats();
        expect(s.retries).toEqual({ connect_error: 0, reset: retried, timeout: 0 }); // no new retry
        expect(s.savedByRetry).toBe(retried);
        expect(s.responded).toEqual({ '2xx': 8 - failed.length, '5xx': failed.length });
        expect(epOf(s, 'r1')?.attempts).toEqual({ response: 0, connect_error: 0, reset: retried + failed.length, timeout: 0, other_error: 0 });

        // POST on a reused client connection: HAProxy 2.6 closes the connection without an answer
        // (http_ana.c abort_keep_alive: "the client is required to retry"), a reset for the client
        const port = portOf(p);
        const outcomes: string[] = [];
        const sock = net.connect({ host: '127.0.0.1', port });
        await new Promise((r) => sock.once('connect', r));
        let buf = '';
        let closed = false;
        sock.setEncoding('utf8').on('data', (d: string) => (buf += d));
        sock.once('close', () => (closed = true));
        for (let i = 0; i < 4 && !closed; i++) {
          buf = '';
          sock.write('POST /flaky HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\npayload');
          const end = performance.now() + 3000;
          while (!closed && !buf.includes('\r\n\r\n') && performance.now() < end) await new Promise((r) => setTimeout(r, 5));
          outcomes.push(closed && buf === '' ? 'closed' : (buf.split('\r\n')[0] ?? ''));
          await new Promise((r) => setTimeout(r, 20));
        }
        sock.destroy();
        expect(outcomes.at(-1)).toMatch(/^(closed|HTTP\/1\.1 502)/);
        expect(outcomes.filter((o) => o === 'closed').length + outcomes.filter((o) => o.includes('502')).length).toBeGreaterThan(0);
        const after = await p.stats();
        expect(after.retries).toEqual({ connect_error: 0, reset: retried, timeout: 0 });
        // a request closed without an answer is received but not responded
        expect(after.received - sum(after.responded)).toBe(outcomes.filter((o) => o === 'closed').length);
      },
    );

    it('POST whose connection is refused is retried (the request was never sent)', async () => {
      const p = await setup([['r1'], ['r2']], { healthCheck: { intervalMs: 60_000 } });
      await up('r1').kill();
      const posts = [];
      for (let i = 0; i < 4; i++) posts.push(await get(`${p.url}/`, { method: 'POST', body: 'x' }));
      for (const x of posts) expect(x.status).toBe(200);
      expect(posts.filter((x) => x.headers['x-zerodrop-attempts'] === '2').length).toBeGreaterThan(0);
      const s = await p.stats();
      expect(s.retries.connect_error).toBeGreaterThan(0);
      expect(s.retries.reset).toBe(0);
      expect(s.savedByRetry).toBe(s.retries.connect_error);
    });
  });
});
