/**
 * Every route over real HTTP, with and without the GET / fast path: same bytes, same headers,
 * same counters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, sampleValue } from '../../../contract/index.js';
import { RawConnection } from '../../../test/helpers/raw-http.js';
import { killAllSampleApps, request, startSampleApp, type SampleAppProcess } from '../../../test/helpers/sample-app-process.js';

const ARGS = ['--admin-port', '0', '--version', 'v7', '--zone', 'zone-b', '--replica', 'routes-1'];

describe.each([
  { mode: 'fast path', extra: [] as string[] },
  { mode: '--no-fast-path', extra: ['--no-fast-path'] },
])('routes ($mode)', ({ extra }) => {
  let app: SampleAppProcess;
  beforeAll(async () => {
    app = await startSampleApp([...ARGS, ...extra]);
  });
  afterAll(async () => {
    await killAllSampleApps();
  });

  const metrics = async (): Promise<ReturnType<typeof parseExposition>> => parseExposition((await request(app.adminUrl('/metrics'))).body);

  it('GET / answers {version, replica, zone} with the identity headers and echoes x-zerodrop-id', async () => {
    const res = await request(app.url('/'), { headers: { 'x-zerodrop-id': 'run1-42' } });
    expect(res.status).toBe(200);
    expect(res.body).toBe('{"version":"v7","replica":"routes-1","zone":"zone-b"}');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.body)));
    expect(res.headers['x-zerodrop-id']).toBe('run1-42');
    expect(res.headers['x-served-by']).toBe('routes-1');
    expect(res.headers['x-version']).toBe('v7');
    expect(res.headers['x-powered-by']).toBeUndefined();
    // No id, no echo.
    expect((await request(app.url('/'))).headers['x-zerodrop-id']).toBeUndefined();
  });

  it('GET / is counted like every route: received, responded by code, and timed', async () => {
    const before = await metrics();
    const get = (s: typeof before, name: string): number => sampleValue(s, name, { route: '/', method: 'GET' }) ?? 0;
    const conn = new RawConnection(app.port);
    try {
      for (let i = 0; i < 25; i++) expect((await conn.send('GET', '/', { 'x-zerodrop-id': `k-${i}` })).status).toBe(200);
    } finally {
      conn.destroy();
    }
    const after = await metrics();
    expect(get(after, 'http_requests_received_total') - get(before, 'http_requests_received_total')).toBe(25);
    expect(
      (sampleValue(after, 'http_requests_total', { code: '200', route: '/', method: 'GET' }) ?? 0) -
        (sampleValue(before, 'http_requests_total', { code: '200', route: '/', method: 'GET' }) ?? 0),
    ).toBe(25);
    expect(get(after, 'http_request_duration_seconds_count') - get(before, 'http_request_duration_seconds_count')).toBe(25);
    expect(get(after, 'http_request_duration_seconds_sum')).toBeGreaterThan(get(before, 'http_request_duration_seconds_sum'));
    expect(sampleValue(after, 'http_requests_in_flight')).toBe(0);
  });

  it('HEAD / and GET /?query are served by express with the same headers', async () => {
    const head = await request(app.url('/'), { method: 'HEAD', headers: { 'x-zerodrop-id': 'h1' } });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(head.headers['x-zerodrop-id']).toBe('h1');
    const q = await request(app.url('/?x=1'));
    expect(q.body).toBe('{"version":"v7","replica":"routes-1","zone":"zone-b"}');
    expect(q.headers['x-served-by']).toBe('routes-1');
  });

  it('GET /work?ms=N waits N ms; a bad N is a 400 that says what is allowed', async () => {
    const t0 = performance.now();
    const res = await request(app.url('/work?ms=120'), { headers: { 'x-zerodrop-id': 'w1' } });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ version: 'v7', replica: 'routes-1', zone: 'zone-b', workedMs: 120 });
    expect(res.headers['x-zerodrop-id']).toBe('w1');
    expect((await request(app.url('/work'))).status).toBe(200); // ms defaults to 0
    for (const bad of ['abc', '-1', '10001', '1.5', '']) {
      const r = await request(app.url(`/work?ms=${bad}`), { headers: { 'x-zerodrop-id': 'bad' } });
      expect(r.status, `ms=${bad}`).toBe(400);
      expect(JSON.parse(r.body).error).toMatch(/ms must be a whole number of milliseconds from 0 to 10000/);
      expect(r.headers['x-zerodrop-id']).toBe('bad');
    }
    expect((await request(app.url('/work?ms=1&ms=2'))).status).toBe(400);
  });

  it('POST /echo answers the body back with 201; over 64 KiB is a 413', async () => {
    const body = JSON.stringify({ hello: 'world', n: [1, 2, 3] });
    const res = await request(app.url('/echo'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-zerodrop-id': 'e1' },
      body,
    });
    expect(res.status).toBe(201);
    expect(res.body).toBe(body);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-zerodrop-id']).toBe('e1');
    const text = await request(app.url('/echo'), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    expect(text.status).toBe(201);
    expect(text.body).toBe('hi');
    const empty = await request(app.url('/echo'), { method: 'POST' });
    expect(empty.status).toBe(201);
    expect(empty.body).toBe('');
    const big = await request(app.url('/echo'), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(64 * 1024 + 1) });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body).error).toMatch(/larger than 65536 bytes/);
    expect((await request(app.url('/echo'))).status).toBe(404); // GET
  });

  it('probes and /metrics on the main port and on the admin port; unknown paths are 404 JSON', async () => {
    for (const base of [app.url(''), app.adminUrl('')]) {
      const h = await request(`${base}/healthz`, { headers: { 'x-zerodrop-id': 'p1' } });
      expect(h.status).toBe(200);
      expect(h.headers['x-zerodrop-id']).toBe('p1');
      expect(h.headers['x-served-by']).toBe('routes-1');
      const r = await request(`${base}/readyz`);
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toMatchObject({ ready: true });
      const m = await request(`${base}/metrics`);
      expect(m.status).toBe(200);
      expect(m.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(m.body).toMatch(/^# HELP /m);
      const nf = await request(`${base}/nope`, { headers: { 'x-zerodrop-id': 'nf' } });
      expect(nf.status).toBe(404);
      expect(nf.headers['x-zerodrop-id']).toBe('nf');
      expect(nf.headers['content-type']).toMatch(/^application\/json/);
    }
    // Unknown paths are counted under one bounded route label.
    const s = await metrics();
    expect(sampleValue(s, 'http_requests_total', { code: '404', route: 'unmatched', method: 'GET' })).toBeGreaterThanOrEqual(1);
    expect(s.some((x) => x.labels.route === '/nope')).toBe(false);
  });
});
