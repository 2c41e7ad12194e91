/**
 * Response framing and connection handling against a scripted upstream (test/helpers/proxy-scripted.ts):
 * the shapes a real replica rarely sends on demand, for both upstream clients, then what only the
 * raw client does itself (connection reuse, keep-alive limits, stray bytes, request serialization).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { proxyConfig, type ProxyConfigOverrides } from '../../src/proxy/config.js';
import { type ServiceProxy, startServiceProxy } from '../../src/proxy/proxy.js';
import type { UpstreamClient } from '../../src/proxy/types.js';
import { UPSTREAM_CLIENTS, withClient } from '../../../test/helpers/proxy-clients.js';
import { rawRequest } from '../../../test/helpers/proxy-raw.js';
import { bytewise, type Script, type ScriptedUpstream, startScriptedUpstream } from '../../../test/helpers/proxy-scripted.js';

const HEALTH: Script = () => ({ pieces: ['HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n'] });
/** One replica, checked once, never ejected: what the test scripts is all that happens. */
const QUIET: ProxyConfigOverrides = {
  healthCheck: { intervalMs: 60_000 },
  ejection: { consecutiveFailures: 1000, zoneEjectionThreshold: 0 },
};

let up: ScriptedUpstream | null = null;
let proxy: ServiceProxy | null = null;

afterEach(async () => {
  await proxy?.destroy();
  proxy = null;
  await up?.close();
  up = null;
});

async function setup(
  client: UpstreamClient,
  routes: Record<string, Script>,
  overrides: ProxyConfigOverrides = {},
): Promise<{ p: ServiceProxy; port: number; u: ScriptedUpstream }> {
  up = await startScriptedUpstream({ '/healthz': HEALTH, ...routes });
  const merged: ProxyConfigOverrides = { ...QUIET, ...overrides, upstream: { ...overrides.upstream } };
  proxy = await startServiceProxy(proxyConfig('framing-test', withClient(client, merged)));
  await proxy.addEndpoint({ id: 's1', host: '127.0.0.1', port: up.port, zone: 'a', version: 'v1' });
  return { p: proxy, port: Number(new URL(proxy.url).port), u: up };
}

/** Connections that carried anything but health checks, in accept order. */
const dataConns = (u: ScriptedUpstream): number[] => [...new Set(u.requests.filter((r) => r.path !== '/healthz').map((r) => r.conn))];

async function get(url: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const res = await request(url, { method: method as 'GET' });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

describe.each(UPSTREAM_CLIENTS)('upstream client: %s', (client) => {
  it('a chunked response arriving one byte at a time (extension, trailer) is de-chunked and framed with a Content-Length', async () => {
    const { port } = await setup(client, {
      '/chunked': () => ({
        pieces: bytewise('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n'),
      }),
    });
    const res = await rawRequest(port, 'GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(res.status).toBe(200);
    expect(res.body).toBe('hello world');
    expect(res.headers.get('content-length')).toBe('11');
    expect(res.headers.has('transfer-encoding')).toBe(false);
    expect(res.headers.get('x-a')).toBe('1');
    expect(res.headers.has('x-trailer')).toBe(false);
  });

  it('an interim 103 response is not forwarded, nor its headers; the final one is', async () => {
    const { p } = await setup(client, {
      '/interim': () => ({
        pieces: ['HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-final: yes\r\n\r\nok'],
      }),
    });
    const res = await get(`${p.url}/interim`);
    expect(res).toMatchObject({ status: 200, body: 'ok' });
    expect(res.headers['x-final']).toBe('yes');
    expect(res.headers.link).toBeUndefined();
  });

  it('HEAD, 204 and 304 have no body whatever the headers say, and the connection serves the next request', async () => {
    const { p, port, u } = await setup(client, {
      '/head': () => ({ pieces: ['HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-kind: head\r\n\r\n'] }),
      '/nocontent': () => ({ pieces: ['HTTP/1.1 204 No Content\r\nx-kind: 204\r\n\r\n'] }),
      '/notmodified': () => ({ pieces: ['HTTP/1.1 304 Not Modified\r\netag: "x"\r\n\r\n'] }),
      '/after': () => ({ pieces: ['HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nafter'] }),
    });
    const head = await rawRequest(port, 'HEAD /head HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('5');
    expect(head.body).toBe('');
    expect((await get(`${p.url}/nocontent`)).status).toBe(204);
    const nm = await get(`${p.url}/notmodified`);
    expect(nm.status).toBe(304);
    expect(nm.headers.etag).toBe('"x"');
    expect(await get(`${p.url}/after`)).toMatchObject({ status: 200, body: 'after' });
    if (client === 'raw') {
      // nothing waited for body bytes that never come: one upstream connection did it all
      // (undici closes the connection after a HEAD response that announces a length)
      expect(dataConns(u)).toHaveLength(1);
    }
  });

  // Item 8 of issue 11: re-framing with a Content-Length computed from what arrived before the
  // FIN would pass a body cut short by a dying replica off as a whole one.
  it("a body delimited by the connection's close is forwarded close-delimited: no Content-Length, no chunking, Connection: close", async () => {
    const { port } = await setup(client, {
      '/eof': () => ({ pieces: ['HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n', 'until ', 'close'], then: 'end' }),
    });
    // A keep-alive request: only the proxy's own framing can end this exchange.
    const res = await rawRequest(port, 'GET /eof HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(res.status).toBe(200);
    expect(res.body).toBe('until close');
    expect(res.headers.has('content-length'), res.raw).toBe(false);
    expect(res.headers.has('transfer-encoding'), res.raw).toBe(false);
    expect(res.headers.get('connection')).toBe('close');
    expect(res.end).toBe('closed');
  });

  it('a large close-delimited body (streamed, past the buffer limit) is forwarded close-delimited too, byte for byte', async () => {
    const piece = 'z'.repeat(64 * 1024);
    const { port } = await setup(client, {
      '/big-eof': () => ({ pieces: ['HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n', piece, piece, piece, piece], then: 'end' }),
    });
    const res = await rawRequest(port, 'GET /big-eof HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(res.status).toBe(200);
    expect(res.headers.has('content-length')).toBe(false);
    expect(res.headers.has('transfer-encoding')).toBe(false);
    expect(res.body.length).toBe(4 * piece.length);
    expect(res.end).toBe('closed');
  });

  it.each([
    { name: 'not HTTP at all', reply: 'garbage garbage\r\n\r\n' },
    { name: 'a bad status line', reply: 'HTTP/1.1 2x0 OK\r\ncontent-length: 0\r\n\r\n' },
    { name: 'Content-Length together with chunked', reply: 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' },
    { name: 'two different Content-Lengths', reply: 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 4\r\n\r\nabcd' },
  ])('$name → 502, not retried (the replica answered, badly)', async ({ reply }) => {
    const { p } = await setup(client, { '/bad': () => ({ pieces: [reply] }) });
    const res = await get(`${p.url}/bad`);
    expect(res.status).toBe(502);
    expect(res.headers['x-zerodrop-upstream']).toBe('s1');
    expect(res.headers['x-zerodrop-attempts']).toBeUndefined();
    const s = await p.stats();
    expect(s.retries).toEqual({ connect_error: 0, reset: 0, timeout: 0 });
    expect(s.responded['502']).toBe(1);
  });

  it.each([
    { name: 'after the head, inside the body', cut: 'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc', clients: ['raw', 'undici'] },
    { name: 'inside the head', cut: 'HTTP/1.1 200 OK\r\ncontent-len', clients: ['raw'] },
  ])('a GET whose response is cut $name is not replayed on another replica: 502, one request upstream', async ({ cut, clients }) => {
    // (undici does not tell a reset inside the head from one before it: only the raw client can.)
    if (!clients.includes(client)) return;
    const { p, u } = await setup(client, { '/cut': () => ({ pieces: [cut], then: 'destroy' }) });
    await p.addEndpoint({ id: 's2', host: '127.0.0.1', port: u.port, zone: 'b', version: 'v1' });
    const res = await get(`${p.url}/cut`);
    expect(res.status).toBe(502);
    expect(res.headers['x-zerodrop-error']).toBe('reset');
    expect(u.requests.filter((r) => r.path === '/cut')).toHaveLength(1);
    expect((await p.stats()).retries).toEqual({ connect_error: 0, reset: 0, timeout: 0 });
  });

  it('a body that stalls longer than bodyTimeoutMs ends in 504 timeout', async () => {
    const { p } = await setup(
      client,
      { '/stall': () => ({ pieces: ['HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'] }) },
      { upstream: { bodyTimeoutMs: 300 } },
    );
    const t0 = performance.now();
    const res = await get(`${p.url}/stall`);
    expect(res.status).toBe(504);
    expect(res.headers['x-zerodrop-error']).toBe('timeout');
    expect(performance.now() - t0).toBeLessThan(5000);
    expect((await p.stats()).endpoints[0]?.attempts.timeout).toBe(1);
  });

  it('a large response to a slow reader streams byte-exact (upstream paused, then resumed)', async () => {
    const size = 4 * 1024 * 1024;
    const block = Buffer.alloc(64 * 1024, 0x61);
    const { port } = await setup(client, {
      '/big': () => ({ pieces: [`HTTP/1.1 200 OK\r\ncontent-length: ${size}\r\n\r\n`, ...Array.from({ length: size / block.length }, () => block)] }),
    });
    const got = await new Promise<{ bytes: number; allA: boolean }>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port });
      let head = '';
      let bytes = 0;
      let allA = true;
      let paused = false;
      s.on('connect', () => s.write('GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      s.on('data', (d: Buffer) => {
        let body = d;
        if (!head.includes('\r\n\r\n')) {
          const all = head + d.toString('latin1');
          const he = all.indexOf('\r\n\r\n');
          if (he < 0) {
            head = all;
            return;
          }
          head = all.slice(0, he + 4);
          body = d.subarray(d.length - (all.length - he - 4));
        }
        bytes += body.length;
        if (allA && body.some((b) => b !== 0x61)) allA = false;
        if (!paused && bytes > 256 * 1024) {
          paused = true;
          s.pause();
          setTimeout(() => s.resume(), 300);
        }
      });
      s.on('error', reject);
      s.on('close', () => resolve({ bytes, allA }));
      setTimeout(() => reject(new Error('timed out')), 20_000).unref();
    });
    expect(got).toEqual({ bytes: size, allA: true });
  });
});

describe('raw client: its own connections', () => {
  it('skips interim responses it did not ask for (100 Continue without Expect, RFC 9110 §15.2; undici fails those as "bad response")', async () => {
    const { p } = await setup('raw', {
      '/interim': () => ({
        pieces: [
          'HTTP/1.1 100 Continue\r\n\r\n',
          'HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-final: yes\r\n\r\nok',
        ],
      }),
    });
    const res = await get(`${p.url}/interim`);
    expect(res).toMatchObject({ status: 200, body: 'ok' });
    expect(res.headers.link).toBeUndefined();
  });

  it('Connection: close from the replica: forwarded, and that connection is not reused', async () => {
    const { p, u } = await setup('raw', {
      '/close': () => ({ pieces: ['HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\na'], then: 'end' }),
      '/': () => ({ pieces: ['HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nb'] }),
    });
    expect(await get(`${p.url}/close`)).toMatchObject({ status: 200, body: 'a' });
    expect(await get(`${p.url}/next`)).toMatchObject({ status: 200, body: 'b' });
    expect(await get(`${p.url}/next`)).toMatchObject({ status: 200, body: 'b' });
    expect(dataConns(u)).toHaveLength(2);
    expect((await p.stats()).retries).toEqual({ connect_error: 0, reset: 0, timeout: 0 });
  });

  it('counts idle connections the replica closes early (contract rule 2), not those it closes after Connection: close, nor its own', async () => {
    const { p, u } = await setup(
      'raw',
      {
        '/fin': () => ({ pieces: ['HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nf'], then: 'end' }), // keep-alive answer, then FIN: a closed idle connection
        '/close': () => ({ pieces: ['HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\nc'], then: 'end' }),
        '/': () => ({ pieces: ['HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nk'] }),
      },
      { upstream: { keepAliveTimeoutMs: 150 } },
    );
    const idleClosed = async (): Promise<number | undefined> => (await p.stats()).endpoints[0]?.idleClosedByReplica;
    expect((await get(`${p.url}/close`)).status).toBe(200);
    expect((await get(`${p.url}/keep`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 400)); // this side closes that idle one after 150 ms
    expect(await idleClosed()).toBe(0);
    expect((await get(`${p.url}/fin`)).status).toBe(200);
    for (let i = 0; i < 50 && (await idleClosed()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await idleClosed()).toBe(1);
    expect(u.connections.filter((c) => c.endedBy === 'server').length).toBeGreaterThanOrEqual(1);
    expect(await p.metrics()).toMatch(/zerodrop_proxy_upstream_idle_closed_total\{[^}]*replica="s1"[^}]*\} 1/);
  });

  it('an idle connection is closed from this side after keepAliveTimeoutMs, before the replica would', async () => {
    const { p, u } = await setup(
      'raw',
      { '/': () => ({ pieces: ['HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx'] }) },
      { upstream: { keepAliveTimeoutMs: 150 } },
    );
    expect((await get(`${p.url}/one`)).status).toBe(200);
    const first = dataConns(u)[0] as number;
    for (let i = 0; i < 100 && u.connections[first]?.endedBy === null; i++) await new Promise((r) => setTimeout(r, 20));
    expect(u.connections[first]?.endedBy).toBe('client');
    expect((await get(`${p.url}/two`)).status).toBe(200);
    expect(dataConns(u)).toHaveLength(2);
  });

  it('honours Keep-Alive: timeout=N from the replica (idle limit N − 1 s)', async () => {
    const { p, u } = await setup(
      'raw',
      { '/': () => ({ pieces: ['HTTP/1.1 200 OK\r\nkeep-alive: timeout=2\r\ncontent-length: 1\r\n\r\nx'] }) },
      { upstream: { keepAliveTimeoutMs: 60_000 } },
    );
    expect((await get(`${p.url}/one`)).status).toBe(200);
    expect((await get(`${p.url}/two`)).status).toBe(200);
    expect(dataConns(u)).toHaveLength(1); // reused while fresh
    const first = dataConns(u)[0] as number;
    for (let i = 0; i < 150 && (u.connections[first]?.endedBy ?? null) === null; i++) await new Promise((r) => setTimeout(r, 20));
    expect(u.connections[first]?.endedBy).toBe('client'); // retired at ~1 s, before the replica's own 2 s (it would be 'server' then)
    expect((await get(`${p.url}/three`)).status).toBe(200);
    expect(dataConns(u)).toHaveLength(2);
  });

  it('bytes from the replica with no request in flight: that connection is dropped, the next request is not confused', async () => {
    const { p, u } = await setup('raw', { '/': (r) => ({ pieces: [`HTTP/1.1 200 OK\r\ncontent-length: ${r.path.length}\r\n\r\n${r.path}`] }) });
    expect((await get(`${p.url}/one`)).body).toBe('/one');
    const first = dataConns(u)[0] as number;
    u.writeRaw(first, 'HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\n/stray');
    for (let i = 0; i < 100 && u.connections[first]?.endedBy === null; i++) await new Promise((r) => setTimeout(r, 20));
    expect(u.connections[first]?.endedBy).toBe('client');
    expect((await get(`${p.url}/two`)).body).toBe('/two');
  });

  it("writes the request head by hand: request line as received, the replica's Host first, end-to-end headers in order, framing for the buffered body", async () => {
    const { p, port, u } = await setup('raw', { '/': () => ({ pieces: ['HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'] }) });
    await rawRequest(
      port,
      'GET /ser?q=a%20b HTTP/1.1\r\nHost: client.example\r\nX-Case-Kept: v1\r\nConnection: close, x-hop\r\nx-hop: no\r\nAccept: */*\r\nTE: trailers\r\n\r\n',
    );
    await rawRequest(port, 'POST /empty HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    await rawRequest(port, 'POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n');
    const seen = u.requests.filter((r) => r.path !== '/healthz');
    expect(seen.map((r) => r.head)).toEqual([
      `GET /ser?q=a%20b HTTP/1.1\r\nhost: 127.0.0.1:${u.port}\r\nX-Case-Kept: v1\r\nAccept: */*\r\n\r\n`,
      `POST /empty HTTP/1.1\r\nhost: 127.0.0.1:${u.port}\r\ncontent-length: 0\r\n\r\n`,
      `POST /chunked HTTP/1.1\r\nhost: 127.0.0.1:${u.port}\r\ncontent-length: 5\r\n\r\n`,
    ]);
    expect(seen[2]?.body.toString()).toBe('abcde');
    expect((await p.stats()).responded).toEqual({ '200': 3 });
  });
});
