/**
 * The proxy as an HTTP intermediary, over real sockets to real child-process upstreams:
 * round-robin, hop-by-hop headers both ways, malformed input, never an open proxy, body limits,
 * no endpoints, metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { ZerodropError } from '../../../common/src/errors.js';
import { proxyConfig } from '../../src/proxy/config.js';
import { type ServiceProxy, startServiceProxy } from '../../src/proxy/proxy.js';
import { startLoad } from '../../../test/helpers/http-load.js';
import { rawRequest } from '../../../test/helpers/proxy-raw.js';
import { startUpstreams, stopUpstreams, type Upstream } from '../../../test/helpers/proxy-upstreams.js';
import { UPSTREAM_CLIENTS, withClient } from '../../../test/helpers/proxy-clients.js';

// The replicas are shared; each upstream client gets its own proxy.
let ups: Upstream[] = [];

beforeAll(async () => {
  ups = await startUpstreams([['r1'], ['r2'], ['r3']]);
});

afterAll(async () => {
  await stopUpstreams(ups);
});

describe.each(UPSTREAM_CLIENTS)('upstream client: %s', (client) => {
  let proxy: ServiceProxy;
  let port: number;

  beforeAll(async () => {
    proxy = await startServiceProxy(proxyConfig('http-test', withClient(client, { metricsPort: 0, maxBodyBytes: 64 * 1024 })));
    for (const u of ups) await proxy.addEndpoint(u.endpoint());
    port = Number(new URL(proxy.url).port);
  });

  afterAll(async () => {
    await proxy?.close();
  });

  describe('routing', () => {
    it('spreads requests round-robin: exactly equal shares, every id echoed', async () => {
      const before = await proxy.stats();
      const run = startLoad({ port, connections: 6, durationMs: 1000, idPrefix: 'rr' });
      const r = await run.done;
      expect(r.failed).toBe(0);
      expect(r.idMismatches).toBe(0);
      expect(r.byStatus).toEqual({ '200': r.answered });
      const after = await proxy.stats();
      const share = (id: string): number =>
        (after.endpoints.find((e) => e.id === id)?.attempts.response ?? 0) - (before.endpoints.find((e) => e.id === id)?.attempts.response ?? 0);
      const shares = ups.map((u) => share(u.id));
      expect(shares.reduce((a, b) => a + b, 0)).toBe(r.answered);
      // round-robin is exact per dispatch: shares differ by at most one
      expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
      expect(r.servedBy).toEqual({ r1: shares[0], r2: shares[1], r3: shares[2] });
      expect(after.received - before.received).toBe(r.written);
    });

    it('routes by its endpoint table only: the Host header is ignored and replaced', async () => {
      const res = await rawRequest(port, 'GET /echo-headers HTTP/1.1\r\nHost: evil.example.com\r\nConnection: close\r\n\r\n');
      expect(res.status).toBe(200);
      const seen = JSON.parse(res.body) as string[];
      const host = seen[seen.findIndex((h) => h.toLowerCase() === 'host') + 1];
      expect(host).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(ups.map((u) => `127.0.0.1:${u.port}`)).toContain(host);
    });
  });

  describe('hop-by-hop headers (RFC 9110 §7.6.1) are stripped both ways', () => {
    it('request: Connection, Keep-Alive, Proxy-*, TE, Trailer, and any header named in Connection', async () => {
      const res = await rawRequest(
        port,
        'GET /echo-headers HTTP/1.1\r\nHost: x\r\n' +
          'Connection: close, X-Listed-Hop\r\nX-Listed-Hop: secret\r\nKeep-Alive: timeout=99\r\n' +
          'Proxy-Authorization: Basic Zm9vOmJhcg==\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nTrailer: x-t\r\n' +
          'X-End-To-End: kept\r\nx-zerodrop-id: hop-1\r\n\r\n',
      );
      expect(res.status).toBe(200);
      const names = (JSON.parse(res.body) as string[]).filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
      for (const h of ['x-listed-hop', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te', 'trailer']) expect(names).not.toContain(h);
      expect(names).toContain('x-end-to-end');
      expect(names).toContain('x-zerodrop-id');
      expect(res.headers.get('x-zerodrop-id')).toBe('hop-1');
    });

    it('response: Connection-listed, Keep-Alive (from upstream), Proxy-Authenticate, Trailer, Upgrade', async () => {
      const res = await rawRequest(port, 'GET /hop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(res.status).toBe(200);
      expect(res.body).toBe('ok r1\n'.replace('r1', res.headers.get('x-served-by') ?? '?'));
      expect(res.headers.get('content-length')).toBe(String(res.body.length)); // de-chunked, buffered
      expect(res.headers.has('transfer-encoding')).toBe(false);
      expect(res.headers.get('x-end-to-end')).toBe('passes');
      for (const h of ['x-hop-listed', 'proxy-authenticate', 'trailer', 'upgrade']) expect(res.headers.has(h)).toBe(false);
      expect(res.headers.get('keep-alive')).toBeUndefined(); // Connection: close downstream, no keep-alive hint
      expect(res.headers.get('connection')).toBe('close'); // the proxy's own hop, not the upstream's "keep-alive, x-hop-listed"
    });

    it('a chunked request body is de-chunked, buffered and sent with a Content-Length', async () => {
      const res = await rawRequest(
        port,
        'POST /echo-headers HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
      );
      expect(res.status).toBe(200);
      const seen = JSON.parse(res.body) as string[];
      const lower = seen.map((s, i) => (i % 2 === 0 ? s.toLowerCase() : s));
      expect(lower).not.toContain('transfer-encoding');
      expect(lower[lower.indexOf('content-length') + 1]).toBe('11');
    });
  });

  describe('never an open proxy, never crashed by input', () => {
    it('absolute-form targets are refused with 400 (no request leaves for the named host)', async () => {
      const res = await rawRequest(port, 'GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n');
      expect(res.status).toBe(400);
      expect(res.headers.get('x-zerodrop-error')).toBe('bad_request_target');
      expect(res.headers.has('x-served-by')).toBe(false);
    });

    it('CONNECT is refused with 400', async () => {
      const res = await rawRequest(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
      expect(res.status).toBe(400);
      expect(res.headers.get('x-zerodrop-error')).toBe('connect_not_supported');
    });

    it('Upgrade requests get 501', async () => {
      const res = await rawRequest(port, 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
      expect(res.status).toBe(501);
      expect(res.headers.get('x-zerodrop-error')).toBe('upgrade_not_supported');
    });

    it.each([
      { name: 'garbage', payload: 'HELLO THERE\r\n\r\n', status: 400 },
      { name: 'binary junk', payload: '\u0000\u0001\u0002\u00ff\r\n\r\n', status: 400 },
      { name: 'a header line without a colon', payload: 'GET / HTTP/1.1\r\nHost: x\r\nBadHeaderLine\r\n\r\n', status: 400 },
      { name: 'a space in the header name', payload: 'GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n', status: 400 },
      { name: 'a control character in a value', payload: 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\u0001b\r\n\r\n', status: 400 },
      {
        name: 'both Content-Length and chunked',
        payload: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        status: 400,
      },
      { name: 'a bad chunk size', payload: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n', status: 400 },
      { name: 'a bad HTTP version', payload: 'GET / HTTP/9.9\r\nHost: x\r\n\r\n', status: 400 },
      {
        name: 'headers over 16 KiB (431 Request Header Fields Too Large)',
        payload: `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        status: 431,
      },
    ])('$name → $status, and the proxy keeps serving', async ({ payload, status }) => {
      const before = (await proxy.stats()).malformedRequests ?? 0;
      const res = await rawRequest(port, Buffer.from(payload, 'latin1'));
      expect(res.status).toBe(status);
      expect((await proxy.stats()).malformedRequests).toBe(before + 1);
      const ok = await request(`${proxy.url}/after-garbage`);
      expect(ok.statusCode).toBe(200);
      await ok.body.dump();
    });

    it('a client that vanishes mid-request is counted as a client abort and disturbs nothing', async () => {
      const before = await proxy.stats();
      await rawRequest(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly-part', 200);
      for (let i = 0; i < 100 && (await proxy.stats()).clientAborts === before.clientAborts; i++) await new Promise((r) => setTimeout(r, 20));
      const after = await proxy.stats();
      expect(after.clientAborts).toBe(before.clientAborts + 1);
      expect(after.malformedRequests).toBe(before.malformedRequests); // went away: not garbage
      const ok = await request(`${proxy.url}/`);
      expect(ok.statusCode).toBe(200);
      await ok.body.dump();
    });
  });

  describe('bodies', () => {
    it('POST bodies reach the replica intact', async () => {
      const body = Buffer.alloc(10_000, 7);
      const res = await request(`${proxy.url}/post`, { method: 'POST', body });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-body-bytes']).toBe('10000');
      await res.body.dump();
    });

    it('a body over maxBodyBytes gets 413, declared or streamed', async () => {
      const declared = await rawRequest(port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${70 * 1024}\r\n\r\n`);
      expect(declared.status).toBe(413);
      expect(declared.headers.get('connection')).toBe('close');
      const chunk = 'a'.repeat(40 * 1024);
      const streamed = await rawRequest(
        port,
        `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
      );
      expect(streamed.status).toBe(413);
      expect(streamed.headers.get('x-zerodrop-error')).toBe('body_too_large');
    });

    it('large responses stream past responseBufferBytes, byte-exact', async () => {
      const res = await request(`${proxy.url}/big?bytes=1000000`);
      expect(res.statusCode).toBe(200);
      const buf = Buffer.from(await res.body.arrayBuffer());
      expect(buf.length).toBe(1_000_000);
      expect(buf.every((b) => b === 0x61)).toBe(true);
    });

    it('HEAD answers without a body', async () => {
      const res = await rawRequest(port, 'HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(res.status).toBe(200);
      expect(res.body).toBe('');
    });
  });

  describe('errors and metrics', () => {
    it('no endpoints → 503 no_endpoints, with the request id echoed', async () => {
      const empty = await startServiceProxy(proxyConfig('empty', withClient(client)));
      try {
        const res = await request(`${empty.url}/`, { headers: { 'x-zerodrop-id': 'none-1' } });
        expect(res.statusCode).toBe(503);
        expect(res.headers['x-zerodrop-error']).toBe('no_endpoints');
        expect(res.headers['x-zerodrop-id']).toBe('none-1');
        await res.body.dump();
        expect((await empty.stats()).responded).toEqual({ '503': 1 });
      } finally {
        await empty.close();
      }
    });

    it('refuses to listen on anything but loopback', async () => {
      const attempt = startServiceProxy(proxyConfig('bad', withClient(client, { host: '0.0.0.0' })));
      await expect(attempt).rejects.toBeInstanceOf(ZerodropError);
      await expect(attempt).rejects.toMatchObject({ code: 'ZD_BAD_SPEC' });
    });

    it('serves /metrics on its own loopback port, with run_id', async () => {
      expect(proxy.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const res = await request(proxy.metricsUrl as string);
      expect(res.statusCode).toBe(200);
      const text = await res.body.text();
      const received = /zerodrop_proxy_requests_received_total\{run_id="http-test"\} (\d+)/.exec(text);
      expect(Number(received?.[1])).toBe((await proxy.stats()).received);
      expect(text).toContain('zerodrop_proxy_upstream_attempts_total{replica="r1",zone="a",version="v1",outcome="response",run_id="http-test"}');
      expect(text).toContain('zerodrop_proxy_request_duration_seconds_bucket{le="0.00025",run_id="http-test"}');
      expect(text).toContain('zerodrop_proxy_endpoint_state{replica="r2",zone="a",version="v1",state="active",run_id="http-test"} 1');
    });

    it('accounting: received = Σ responded + client aborts, nothing left in flight', async () => {
      await new Promise((r) => setTimeout(r, 50));
      const s = await proxy.stats();
      const responded = Object.values(s.responded).reduce((a, b) => a + b, 0);
      expect(s.inFlight).toBe(0);
      expect(s.received).toBe(responded + s.clientAborts);
      for (const e of s.endpoints) expect(e.inFlight).toBe(0);
    });
  });
});

describe("undici's controller handler API (handlerApi: 'controller')", () => {
  it('behaves like the default legacy handler: bodies, streaming, retries', async () => {
    const other = await startServiceProxy(proxyConfig('controller-test', withClient('undici', { ejection: { consecutiveFailures: 1000 } })), {
      handlerApi: 'controller',
    });
    try {
      for (const u of ups) await other.addEndpoint(u.endpoint());
      const post = await request(`${other.url}/post`, { method: 'POST', body: 'hello' });
      expect(post.statusCode).toBe(200);
      expect(post.headers['x-body-bytes']).toBe('5');
      await post.body.dump();
      const big = await request(`${other.url}/big?bytes=300000`);
      expect(Buffer.from(await big.body.arrayBuffer()).length).toBe(300_000);
      const hop = await rawRequest(Number(new URL(other.url).port), 'GET /hop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(hop.status).toBe(200);
      expect(hop.headers.has('x-hop-listed')).toBe(false);
      // every GET to /reset is reset by every replica: tried on 3 different replicas, then 502
      const reset = await request(`${other.url}/reset`);
      expect(reset.statusCode).toBe(502);
      expect(reset.headers['x-zerodrop-attempts']).toBe('3');
      await reset.body.dump();
      expect((await other.stats()).retries.reset).toBe(2);
    } finally {
      await other.close();
    }
  });
});

describe('slow start, wired through the proxy (proxy.slowStart)', () => {
  it('a replica that joins warm peers gets a small share first, its full share after the window', async () => {
    const proxy = await startServiceProxy(proxyConfig('slow-start-test', { slowStartMs: 800 }));
    try {
      const [r1, r2, r3] = ups as [Upstream, Upstream, Upstream];
      await proxy.addEndpoint(r1.endpoint());
      await proxy.addEndpoint(r2.endpoint());
      await new Promise((r) => setTimeout(r, 900)); // r1, r2 past their own window
      const port = Number(new URL(proxy.url).port);
      const shareOfR3 = async (ms: number): Promise<number> => {
        const before = (await proxy.stats()).endpoints.find((e) => e.id === 'r3')?.attempts.response ?? 0;
        const r = await startLoad({ port, connections: 6, durationMs: ms, idPrefix: 'ss' }).done;
        expect(r.failed).toBe(0);
        const after = (await proxy.stats()).endpoints.find((e) => e.id === 'r3')?.attempts.response ?? 0;
        return (after - before) / r.answered;
      };
      await proxy.addEndpoint(r3.endpoint());
      expect(await shareOfR3(300), 'ramping from 10 % of its turns').toBeLessThan(0.22);
      await new Promise((r) => setTimeout(r, 600));
      expect(await shareOfR3(300), 'past the window: round-robin again').toBeCloseTo(1 / 3, 1);
    } finally {
      await proxy.close();
    }
  });
});
