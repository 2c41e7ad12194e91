/**
 * The HAProxy data plane's process and configuration: the config HAProxy accepts, start and stop
 * with nothing left behind (even when the harness is SIGKILLed), a missing binary refused with
 * its fix, malformed requests refused by HAProxy and never counted as received.
 * Skipped (with the reason in the suite name) when haproxy is not installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { ZerodropError } from '../../../common/src/errors.js';
import { proxyConfig, type ProxyConfigOverrides } from '../../src/proxy/config.js';
import { HAPROXY_HEALTH_CHECK_DEFAULTS } from '../../src/proxy/types.js';
import { haproxyAvailability } from '../../src/proxy/haproxy/binary.js';
import { ERRORS_MAP, addServerCommand, renderDataPlaneConfig } from '../../src/proxy/haproxy/config.js';
import { LOG_FORMAT } from '../../src/proxy/haproxy/request-log.js';
import { type HaproxyDataPlane, startHaproxyDataPlane } from '../../src/proxy/haproxy/data-plane.js';
import { RuntimeApiError } from '../../src/proxy/haproxy/runtime-api.js';
import { preflightDataPlane, startDataPlane } from '../../src/proxy/select.js';
import { reapOrphanedGroups } from '../../src/runtime/process-registry.js';
import { startUpstreams, stopUpstreams, type Upstream } from '../../../test/helpers/proxy-upstreams.js';
import { untilInFlight } from '../../../test/helpers/proxy-wait.js';

const avail = haproxyAvailability();
const suite = `HAProxy data plane: lifecycle${avail.ok ? ` (haproxy ${avail.version})` : ` — SKIPPED: ${avail.reason}; apt-get install -y haproxy to run it`}`;

let plane: HaproxyDataPlane | null = null;
let ups: Upstream[] = [];
const stateDir = mkdtempSync(join(tmpdir(), 'zd-haproxy-test-state-'));

afterEach(async () => {
  await plane?.destroy();
  plane = null;
  await stopUpstreams(ups);
  ups = [];
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return !alive(pid);
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let out = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (out += d));
    s.once('connect', () => s.write(bytes));
    s.once('close', () => resolve(out));
    s.once('error', () => resolve(out));
    setTimeout(() => s.destroy(), 2000).unref();
  });
}

const start = async (overrides: ProxyConfigOverrides = {}, runId = 'hap-life'): Promise<HaproxyDataPlane> => {
  plane = await startHaproxyDataPlane(proxyConfig(runId, overrides), { stateDir });
  return plane;
};

describe.skipIf(!avail.ok)(suite, () => {
  describe('configuration', () => {
    const check = (text: string): { status: number | null; out: string } => {
      const dir = mkdtempSync(join(tmpdir(), 'zd-haproxy-cfg-'));
      try {
        const file = join(dir, 'haproxy.cfg');
        writeFileSync(file, text);
        const r = spawnSync(avail.ok ? avail.binary : 'haproxy', ['-c', '-f', file], { encoding: 'utf8' });
        return { status: r.status, out: `${r.stdout}${r.stderr}` };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };

    it.each<[string, ProxyConfigOverrides, number]>([
      ['the defaults', {}, 1],
      ['retries off', { retries: { enabled: false } }, 1],
      [
        '2 threads, no metrics, odd timeouts',
        { retries: { perTryTimeoutMs: 1500, maxAttempts: 2 }, healthCheck: { path: '/ready', intervalMs: 100, timeoutMs: 80 } },
        2,
      ],
    ])('HAProxy accepts the rendered config (%s) without a warning', (_name, overrides, threads) => {
      const dir = mkdtempSync(join(tmpdir(), 'zd-haproxy-map-'));
      const errorsMapPath = join(dir, 'errors.map');
      writeFileSync(errorsMapPath, ERRORS_MAP);
      const text = renderDataPlaneConfig({
        config: proxyConfig('cfg', overrides),
        port: 18999,
        socketPath: '/tmp/zd-never.sock',
        threads,
        maxconn: 4096,
        nativeMetricsPort: 18998,
        hardStopAfterMs: 10_000,
        errorsMapPath,
        requestLog: true,
      });
      const r = check(text);
      rmSync(dir, { recursive: true, force: true });
      expect(r.out).not.toMatch(/WARNING|ALERT/);
      expect(r.status).toBe(0);
    });

    it('maps the zerodrop semantics (retries, redispatch, what may be retried, timeouts, checks)', () => {
      const c = proxyConfig('cfg', {
        retries: { maxAttempts: 3, perTryTimeoutMs: 1000 },
        healthCheck: HAPROXY_HEALTH_CHECK_DEFAULTS,
        upstream: { connectTimeoutMs: 500, connectionsPerReplica: 32, keepAliveTimeoutMs: 2000 },
      });
      // A config rendered outside a running data plane (no socket, map or metrics port needed).
      const render = (config: typeof c, maxconn = 4096, hardStopAfterMs = 10_000): string =>
        renderDataPlaneConfig({
          config,
          port: 1,
          socketPath: '/s',
          threads: 1,
          maxconn,
          nativeMetricsPort: null,
          hardStopAfterMs,
          errorsMapPath: '/m',
          requestLog: true,
        });
      const text = render(c);
      // Only abnormal requests are logged, tagged, with the request id captured (request-log.ts).
      expect(text).toContain('  option dontlog-normal\n');
      expect(text).toContain(`  log-format "${LOG_FORMAT}"\n`);
      expect(text).toContain('  http-request capture req.hdr(x-zerodrop-id) len 128\n');
      expect(text).toContain('  retries 2\n');
      expect(text).toContain('  option redispatch 1\n');
      expect(text).toContain('  retry-on conn-failure empty-response response-timeout\n');
      expect(text).toContain('  http-request disable-l7-retry unless METH_GET or METH_OPTIONS or METH_TRACE\n');
      // Writes are replayed only when the scenario declares them idempotent (proxy.idempotentWrites).
      const writes = render({ ...c, retries: { ...c.retries, idempotentWrites: true } });
      expect(writes).toContain('  http-request disable-l7-retry unless METH_GET or METH_OPTIONS or METH_TRACE or METH_PUT or METH_DELETE\n');
      expect(text).toContain('  timeout server 1s\n');
      expect(text).toContain('  timeout connect 500ms\n');
      expect(text).toContain('  option httpchk GET /healthz\n');
      expect(text).toContain('  timeout check 250ms\n');
      expect(text).toContain('  bind 127.0.0.1:1\n');
      expect(text).not.toContain('prometheus-exporter');
      expect(addServerCommand('r1', { host: '127.0.0.1', port: 8080 }, c)).toBe(
        'add server replicas/r1 127.0.0.1:8080 check inter 250 fastinter 250 downinter 250 fall 2 rise 2 observe layer4 error-limit 1 on-error mark-down maxconn 32 pool-max-conn 32 pool-purge-delay 500',
      );
      const off = render(proxyConfig('cfg', { retries: { enabled: false } }), 1, 1);
      expect(off).toContain('  retries 0\n');
      expect(off).toContain('  retry-on none\n');
      expect(off).not.toContain('redispatch');
      expect(off).not.toContain('disable-l7-retry');
    });
  });

  describe('start and stop', () => {
    it('serves on 127.0.0.1, answers 503 with no replica (saying why), and close() leaves nothing behind', async () => {
      const p = await start({ metricsPort: 0 });
      expect(p.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(p.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(p.nativeMetricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const pid = p.pid as number;
      expect(alive(pid)).toBe(true);
      const port = Number(new URL(p.url).port);
      // the process listens on loopback only
      const listening = readFileSync('/proc/net/tcp', 'utf8')
        .split('\n')
        .filter((l) => l.includes(`:${port.toString(16).toUpperCase().padStart(4, '0')} `) && / 0A /.test(l));
      expect(listening.length).toBeGreaterThan(0);
      for (const l of listening) expect(l.trim().split(/\s+/)[1]?.startsWith('0100007F')).toBe(true);

      const res = await request(`${p.url}/`);
      expect(res.statusCode).toBe(503);
      expect(res.headers['x-zerodrop-error']).toBe('unavailable');
      await res.body.dump();

      const ours = await (await request(p.metricsUrl as string)).body.text();
      expect(ours).toContain('zerodrop_proxy_requests_received_total{run_id="hap-life"} 1');
      expect(ours).toContain('zerodrop_proxy_responses_total{code="5xx",run_id="hap-life"} 1');
      expect(ours).toContain('zerodrop_proxy_info{engine="haproxy"');
      const native = await (await request(p.nativeMetricsUrl as string)).body.text();
      expect(native).toContain('haproxy_frontend_http_requests_total{proxy="zerodrop"} 1');

      await p.close();
      plane = null;
      expect(await waitGone(pid, 5000)).toBe(true);
      expect(await connects(port)).toBe(false);
      expect(existsSync(join(stateDir, 'hap-life.haproxy.json'))).toBe(false);
    });

    it('close() lets in-flight requests finish', async () => {
      ups = await startUpstreams([['r1']]);
      const p = await start();
      await p.addEndpoint(ups[0]!.endpoint());
      const slow = request(`${p.url}/slow?ms=400`).then(async (r) => ({ status: r.statusCode, body: await r.body.text() }));
      await untilInFlight(p, 1);
      await p.close();
      plane = null;
      expect(await slow).toEqual({ status: 200, body: 'ok r1\n' });
    });

    it('a SIGKILLed harness leaves no haproxy behind (pdeathsig), and its state file lets the next run reap it', async () => {
      const entry = fileURLToPath(new URL('../../../dist/orchestrator/src/proxy/haproxy/data-plane.js', import.meta.url));
      if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first`);
      const script = `
        import { startHaproxyDataPlane } from ${JSON.stringify(entry)};
        const p = await startHaproxyDataPlane({ runId: 'hap-orphan', host: '127.0.0.1', port: 0,
          retries: { enabled: true, maxAttempts: 3, perTryTimeoutMs: 1000, budgetRatio: 0.5, budgetMinConcurrency: 10 },
          healthCheck: { path: '/healthz', intervalMs: 250, timeoutMs: 250, unhealthyThreshold: 2, healthyThreshold: 2 },
          ejection: { consecutiveFailures: 3, minEjectionMs: 1000, zoneEjectionThreshold: 0, zoneWindowMs: 0 },
          upstream: { connectionsPerReplica: 8, pipelining: 1, keepAliveTimeoutMs: 2000, connectTimeoutMs: 500 },
          maxBodyBytes: 1024, metricsPort: null }, { stateDir: ${JSON.stringify(stateDir)} });
        process.stdout.write(JSON.stringify({ pid: p.pid, url: p.url }) + '\\n');
        setInterval(() => {}, 1000);
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      const line = await new Promise<string>((resolve, reject) => {
        let buf = '';
        const t = setTimeout(() => reject(new Error('child did not start haproxy within 15 s')), 15_000);
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('\n')) {
            clearTimeout(t);
            resolve(buf.split('\n')[0] as string);
          }
        });
        child.once('exit', (code) => reject(new Error(`child exited (${String(code)})`)));
      });
      const { pid, url } = JSON.parse(line) as { pid: number; url: string };
      expect(alive(pid)).toBe(true);
      expect(existsSync(join(stateDir, 'hap-orphan.haproxy.json'))).toBe(true);
      child.kill('SIGKILL');
      expect(await waitGone(pid, 5000)).toBe(true);
      expect(await connects(Number(new URL(url).port))).toBe(false);
      // the run's state file outlived it; the next run's reaper finds its owner dead and clears it
      expect(existsSync(join(stateDir, 'hap-orphan.haproxy.json'))).toBe(true);
      reapOrphanedGroups(stateDir);
      expect(existsSync(join(stateDir, 'hap-orphan.haproxy.json'))).toBe(false);
    });
  });

  describe('refusals', () => {
    it('a missing binary is refused before anything starts, with the fix', async () => {
      const err = await startHaproxyDataPlane(proxyConfig('hap-missing'), { binary: '/nonexistent/haproxy', stateDir }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ZerodropError);
      expect((err as ZerodropError).code).toBe('ZD_PROXY_FAILED');
      expect((err as ZerodropError).fix).toMatch(/apt-get install -y haproxy/);
      expect((err as ZerodropError).fix).toMatch(/--proxy node/);
      const saved = process.env['ZERODROP_HAPROXY_BIN'];
      process.env['ZERODROP_HAPROXY_BIN'] = '/nonexistent/haproxy2';
      try {
        expect(() => preflightDataPlane('haproxy')).toThrow(/not installed/);
        await expect(startDataPlane({ engine: 'haproxy' }, proxyConfig('hap-missing'))).rejects.toThrow(/not installed/);
        expect(() => preflightDataPlane('node')).not.toThrow();
      } finally {
        if (saved === undefined) delete process.env['ZERODROP_HAPROXY_BIN'];
        else process.env['ZERODROP_HAPROXY_BIN'] = saved;
      }
    });

    it('a replica is added in one runtime-API connection; a script answered otherwise than expected is a RuntimeApiError with the answer', async () => {
      ups = await startUpstreams([['r1']]);
      const p = await start();
      const api = p.api;
      const sent: string[] = [];
      const send = (api as unknown as { send: (cmd: string, t: number) => Promise<string> }).send.bind(api);
      (api as unknown as { send: (cmd: string, t: number) => Promise<string> }).send = (cmd, t) => (sent.push(cmd), send(cmd, t));
      await p.addEndpoint(ups[0]!.endpoint());
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatch(/^add server replicas\/\S+ 127\.0\.0\.1:\d+ .*;enable health replicas\/\S+;set server replicas\/\S+ state ready$/);
      const res = await request(`${p.url}/`);
      expect(res.statusCode).toBe(200);
      await res.body.dump();
      const err = await api
        .script(['add server replicas/r9 127.0.0.1:1', 'set server replicas/nosuch state ready'], ['New server registered.'])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RuntimeApiError);
      expect((err as RuntimeApiError).answer).toBe('New server registered. | No such server.');
    });

    it('a non-loopback listen address and a health path HAProxy cannot send are refused', async () => {
      await expect(startHaproxyDataPlane(proxyConfig('x', { host: '0.0.0.0' }), { stateDir })).rejects.toThrow(/loopback/);
      await expect(startHaproxyDataPlane(proxyConfig('x', { healthCheck: { path: '/a b' } }), { stateDir })).rejects.toThrow(/whitespace/);
    });

    it('malformed requests are answered 400 by HAProxy, never forwarded, never counted as received; too big a body is 413', async () => {
      ups = await startUpstreams([['r1']]);
      const p = await start({ maxBodyBytes: 1024 });
      await p.addEndpoint(ups[0]!.endpoint());
      const port = Number(new URL(p.url).port);
      expect(await rawExchange(port, 'GARBAGE\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
      expect(await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
      // a bare connect is a probe, not a request
      expect(await connects(port)).toBe(true);
      const ok = await request(`${p.url}/`);
      expect(ok.statusCode).toBe(200);
      await ok.body.dump();
      const big = await request(`${p.url}/`, { method: 'POST', body: 'x'.repeat(2048) });
      expect(big.statusCode).toBe(413);
      await big.body.dump();
      await new Promise((r) => setTimeout(r, 100));
      const s = await p.stats();
      expect(s.malformedRequests).toBe(2);
      expect(s.received).toBe(2);
      expect(s.responded).toEqual({ '2xx': 1, '4xx': 1 });
      expect(s.endpoints[0]?.responses).toEqual({ '2xx': 1 });
      expect(s.endpoints[0]?.attempts).toEqual({ response: 1, connect_error: 0, reset: 0, timeout: 0, other_error: 0 });
    });
  });
});
