import { describe, expect, it } from 'vitest';
import { idleLimitMs, KEEPALIVE_IDLE_MS } from '../../src/driver/open.js';
import {
  buildMix,
  digitCount,
  encodeTemplates,
  FAILED,
  ID_MATCH,
  ID_MISSING,
  ID_OTHER,
  NEED_MORE,
  parseTargetUrl,
  ReplicaInterner,
  ResponseParser,
  writeDigits,
} from '../../src/driver/http1.js';

function parser(): { p: ResponseParser; names: string[] } {
  const names: string[] = [''];
  const interner = new ReplicaInterner((n) => {
    const i = names.indexOf(n);
    if (i >= 0) return i;
    names.push(n);
    return names.length - 1;
  });
  return { p: new ResponseParser(Buffer.from('run1-'), interner), names };
}

/** Feeds `raw` in pieces cut at `cuts`; returns the offset execute() reported, relative to raw. */
function feed(p: ResponseParser, raw: Buffer, cuts: number[]): number {
  let start = 0;
  for (const end of [...cuts, raw.length]) {
    if (end <= start) continue;
    // copy into a bigger buffer with junk around it, like the shared read buffer
    const buf = Buffer.alloc(end - start + 20, 0x41);
    raw.copy(buf, 5, start, end);
    const r = p.execute(buf, 5, 5 + end - start);
    if (r === FAILED) return FAILED;
    if (r >= 0) return start + (r - 5);
    start = end;
  }
  return NEED_MORE;
}

const OK_RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\nX-Served-By: replica-a\r\nx-zerodrop-id: run1-42\r\nContent-Length: 5\r\nKeep-Alive: timeout=5\r\n\r\nhello',
);

describe('ResponseParser', () => {
  it('parses a Content-Length response and the proof headers', () => {
    const { p, names } = parser();
    p.begin(42, false);
    expect(feed(p, OK_RESPONSE, [])).toBe(OK_RESPONSE.length);
    expect(p.status).toBe(200);
    expect(p.idState).toBe(ID_MATCH);
    expect(names[p.replicaIdx]).toBe('replica-a');
    expect(p.keepAlive).toBe(true);
    expect(p.keepAliveTimeoutS).toBe(5);
    expect(p.attempts).toBe(1);
  });

  it('gives the same result whatever the TCP segmentation (every 1- and 2-cut split)', () => {
    for (let a = 1; a < OK_RESPONSE.length; a++) {
      for (const b of [a, Math.min(OK_RESPONSE.length - 1, a + 3), OK_RESPONSE.length - 1]) {
        const { p, names } = parser();
        p.begin(42, false);
        expect(feed(p, OK_RESPONSE, [a, b])).toBe(OK_RESPONSE.length);
        expect(p.status).toBe(200);
        expect(p.idState).toBe(ID_MATCH);
        expect(names[p.replicaIdx]).toBe('replica-a');
      }
    }
  });

  it('parses chunked bodies with extensions and trailers, byte by byte too', () => {
    const raw = Buffer.from(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nx-zerodrop-id: run1-7\r\n\r\n1\r\na\r\n2;ext=1\r\nbb\r\nA\r\n0123456789\r\n0\r\nx-checksum: 3\r\n\r\n',
    );
    const { p } = parser();
    p.begin(7, false);
    expect(feed(p, raw, [])).toBe(raw.length);
    const cuts = Array.from({ length: raw.length - 1 }, (_, i) => i + 1);
    const q = parser().p;
    q.begin(7, false);
    expect(feed(q, raw, cuts)).toBe(raw.length);
    expect(q.idState).toBe(ID_MATCH);
  });

  it('does not finish a chunked body before its last chunk', () => {
    const raw = Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n');
    const { p } = parser();
    p.begin(1, false);
    expect(feed(p, raw, [])).toBe(NEED_MORE);
  });

  it("tells the own id from another request's id and from none", () => {
    const mk = (id: string | null): Buffer => Buffer.from(`HTTP/1.1 200 OK\r\n${id === null ? '' : `x-zerodrop-id: ${id}\r\n`}content-length: 0\r\n\r\n`);
    const cases: [string | null, number][] = [
      ['run1-5', ID_MATCH],
      ['run1-6', ID_OTHER],
      ['run1-05', ID_OTHER],
      ['run2-5', ID_OTHER],
      ['run1-5x', ID_OTHER],
      ['run1-', ID_OTHER],
      [null, ID_MISSING],
    ];
    for (const [id, want] of cases) {
      const { p } = parser();
      p.begin(5, false);
      feed(p, mk(id), []);
      expect(p.idState, String(id)).toBe(want);
    }
  });

  it('skips interim 1xx responses and handles bodiless statuses and HEAD', () => {
    const { p } = parser();
    p.begin(1, false);
    const raw = Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nx-zerodrop-id: run1-1\r\n\r\n');
    expect(feed(p, raw, [10])).toBe(raw.length);
    expect(p.status).toBe(204);
    expect(p.idState).toBe(ID_MATCH);

    const h = parser().p;
    h.begin(2, true);
    const head = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 999\r\n\r\n');
    expect(feed(h, head, [])).toBe(head.length);
  });

  it('reads a body without length until the connection closes', () => {
    const { p } = parser();
    p.begin(1, false);
    expect(feed(p, Buffer.from('HTTP/1.1 200 OK\r\n\r\nsome body'), [])).toBe(NEED_MORE);
    expect(p.completesAtEof()).toBe(true);
    expect(p.keepAlive).toBe(false);
  });

  it('honours Connection: close, and HTTP/1.0 persistence rules', () => {
    const cases: [string, boolean][] = [
      ['HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 0\r\n\r\n', false],
      ['HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\ncontent-length: 0\r\n\r\n', false],
      ['HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n', false],
      ['HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n', true],
    ];
    for (const [raw, ka] of cases) {
      const { p } = parser();
      p.begin(1, false);
      expect(feed(p, Buffer.from(raw), [])).toBe(raw.length);
      expect(p.keepAlive, raw).toBe(ka);
    }
  });

  it('reads proxy headers: attempts and the upstream of a proxy error', () => {
    const { p, names } = parser();
    p.begin(3, false);
    const raw = Buffer.from('HTTP/1.1 503 Service Unavailable\r\nx-zerodrop-upstream: r9\r\nx-zerodrop-attempts: 3\r\ncontent-length: 2\r\n\r\nno');
    expect(feed(p, raw, [])).toBe(raw.length);
    expect(p.status).toBe(503);
    expect(p.replicaIdx).toBe(0);
    expect(names[p.upstreamIdx]).toBe('r9');
    expect(p.attempts).toBe(3);
  });

  it('reports where a response ends when more bytes follow', () => {
    const { p } = parser();
    p.begin(42, false);
    const two = Buffer.concat([OK_RESPONSE, Buffer.from('HTTP/1.1 200 OK\r\n')]);
    expect(feed(p, two, [])).toBe(OK_RESPONSE.length);
  });

  it('rejects bytes that are not HTTP', () => {
    const { p } = parser();
    p.begin(1, false);
    expect(feed(p, Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'), [])).toBe(FAILED);
    const q = parser().p;
    q.begin(1, false);
    expect(feed(q, Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n'), [])).toBe(FAILED);
  });

  it('interns replica names from bytes without confusing them', () => {
    const names: string[] = [''];
    const interner = new ReplicaInterner((n) => names.push(n) - 1);
    const b = Buffer.from('r1 r2 r1 r10');
    const a1 = interner.lookup(b, 0, 2);
    const a2 = interner.lookup(b, 3, 5);
    const a3 = interner.lookup(b, 6, 8);
    const a4 = interner.lookup(b, 9, 12);
    expect(a1).toBe(a3);
    expect(new Set([a1, a2, a4]).size).toBe(3);
    expect([names[a1], names[a2], names[a4]]).toEqual(['r1', 'r2', 'r10']);
  });
});

describe('request encoding', () => {
  it('splits a template around the id digits', () => {
    const target = parseTargetUrl('http://localhost:8080/base/');
    expect(target).toMatchObject({ host: '127.0.0.1', port: 8080, basePath: '/base' });
    const [t] = encodeTemplates([{ method: 'post', path: '/x?y=1', headers: { 'x-a': 'b' }, body: 'héllo', weight: 1 }], target, 'run1');
    const digits = digitCount(1234);
    const buf = Buffer.alloc(t!.prefix.length + digits + t!.suffix.length);
    t!.prefix.copy(buf, 0);
    writeDigits(buf, t!.prefix.length + digits, 1234, digits);
    t!.suffix.copy(buf, t!.prefix.length + digits);
    expect(buf.toString('utf8')).toBe(
      'POST /base/x?y=1 HTTP/1.1\r\nhost: localhost:8080\r\nx-a: b\r\nx-zerodrop-id: run1-1234\r\ncontent-length: 6\r\n\r\nhéllo',
    );
  });

  it('refuses what would break the wire format or the proof', () => {
    const target = parseTargetUrl('http://127.0.0.1:1');
    const bad =
      (over: Partial<{ method: string; path: string; headers: Record<string, string> }>, runId = 'r'): (() => unknown) =>
      () =>
        encodeTemplates([{ method: 'GET', path: '/', headers: {}, body: null, weight: 1, ...over }], target, runId);
    expect(bad({ path: 'no-slash' })).toThrow(/path/);
    expect(bad({ path: '/a b' })).toThrow(/path/);
    expect(bad({ headers: { 'x-zerodrop-id': '1' } })).toThrow(/set by the driver/);
    expect(bad({ headers: { 'content-length': '1' } })).toThrow(/set by the driver/);
    expect(bad({ headers: { 'x-a': 'b\r\nx: y' } })).toThrow(/control/);
    expect(bad({}, 'run id')).toThrow(/run id/);
    expect(() => parseTargetUrl('http://93.184.216.34/')).toThrow(/loopback/);
    expect(() => parseTargetUrl('https://127.0.0.1/')).toThrow(/http:/);
  });

  it('writes every digit count', () => {
    for (const n of [0, 7, 10, 99, 100, 12345, 1_199_999, 4_294_967_295]) {
      const d = digitCount(n);
      const b = Buffer.alloc(d);
      writeDigits(b, d, n, d);
      expect(b.toString()).toBe(String(n));
    }
  });

  it('mixes templates by weight, evenly interleaved', () => {
    const mix = buildMix([3, 1]);
    expect(Array.from(mix)).toHaveLength(4);
    expect(Array.from(mix).filter((x) => x === 1)).toHaveLength(1);
    const big = buildMix([0.7, 0.2, 0.1]);
    const counts = [0, 0, 0];
    for (const x of big) counts[x]!++;
    expect(counts.map((c) => c / big.length)).toEqual([0.7, 0.2, 0.1]);
    // smooth: no template runs more than 3 times in a row for 70 %
    let run = 0;
    let maxRun = 0;
    for (let i = 0; i < big.length; i++) {
      run = i > 0 && big[i] === big[i - 1] ? run + 1 : 1;
      maxRun = Math.max(maxRun, run);
    }
    expect(maxRun).toBeLessThanOrEqual(3);
    expect(Array.from(buildMix([1, 0, 1]))).not.toContain(1);
    expect(() => buildMix([0, 0])).toThrow(/sum to 0/);
  });
});

describe('keep-alive reuse', () => {
  it('gives up an idle connection before the server does', () => {
    expect(KEEPALIVE_IDLE_MS).toBe(2000);
    expect(idleLimitMs(5)).toBe(2000); // node:http's default hint
    expect(idleLimitMs(2)).toBe(1000);
    expect(idleLimitMs(1)).toBe(500);
    expect(idleLimitMs(0)).toBe(0);
    for (const s of [1, 2, 3, 5, 60]) expect(idleLimitMs(s)).toBeLessThan(s * 1000);
  });
});
