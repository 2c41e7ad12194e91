/**
 * The shared HTTP/1.1 response parser (common/http1-parser.ts) as the proxy's raw client uses it:
 * the hooks (every field, the end of the final head, de-chunked body bytes) whatever the TCP
 * segmentation, and the framing flags the proxy refuses responses on. (The driver's proof
 * headers on top of it: harness/test/unit/driver-http1.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { FAILED, Http1ResponseParser, NEED_MORE, latin1, sameLatin1 } from '../../../common/src/http1-parser.js';

class Recorder extends Http1ResponseParser {
  fields: string[] = [];
  body = '';
  heads = 0;
  protected override resetHead(): void {
    super.resetHead();
    this.fields = [];
  }
  protected override onField(b: Buffer, ns: number, nl: number, vs: number, ve: number): void {
    this.fields.push(`${latin1(b, ns, ns + nl)}=${latin1(b, vs, ve)}`);
  }
  protected override onHeadEnd(): void {
    this.heads++;
  }
  protected override onBody(b: Buffer, s: number, e: number): void {
    this.body += latin1(b, s, e);
  }
}

/** Feeds raw in pieces cut at `cuts`, each copied into a reused buffer (like the shared read buffer). */
function feed(p: Http1ResponseParser, raw: string, cuts: number[]): number {
  const bytes = Buffer.from(raw, 'latin1');
  const shared = Buffer.alloc(bytes.length + 16);
  let start = 0;
  for (const end of [...cuts, bytes.length]) {
    if (end <= start) continue;
    shared.fill(0x41);
    bytes.copy(shared, 3, start, end);
    const r = p.execute(shared, 3, 3 + end - start);
    if (r === FAILED) return FAILED;
    if (r >= 0) return start + (r - 3);
    start = end;
  }
  return NEED_MORE;
}

const CHUNKED =
  'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n' +
  'HTTP/1.1 200 OK\r\nX-A:  spaced  \r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\nabcd\r\n3\r\nefg\r\n0\r\nTrailer-X: 1\r\n\r\n';

describe('Http1ResponseParser hooks', () => {
  it('every field of the final head (interim ones forgotten), one head end, the de-chunked body: for every 1- and 2-cut segmentation', () => {
    for (let a = 1; a < CHUNKED.length; a++) {
      for (const b of [a, Math.min(CHUNKED.length - 1, a + 5)]) {
        const p = new Recorder();
        p.reset(false);
        expect(feed(p, CHUNKED, [a, b]), `cuts ${a},${b}`).toBe(CHUNKED.length);
        expect(p.status).toBe(200);
        expect(p.fields).toEqual(['X-A=spaced', 'Transfer-Encoding=chunked']);
        expect(p.heads).toBe(1);
        expect(p.body).toBe('abcdefg');
        expect(p.keepAlive).toBe(true);
      }
    }
  });

  it('Content-Length bodies arrive as they come; the head is done before the body is', () => {
    const p = new Recorder();
    p.reset(false);
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n';
    expect(feed(p, `${head}abc`, [])).toBe(NEED_MORE);
    expect(p.headDone()).toBe(true);
    expect(p.heads).toBe(1);
    expect(p.body).toBe('abc');
    const buf = Buffer.from('defHTTP/1.1', 'latin1');
    expect(p.execute(buf, 0, buf.length)).toBe(3); // the rest is not this response's
    expect(p.body).toBe('abcdef');
  });

  it('a body delimited by close goes to onBody and completes at EOF only', () => {
    const p = new Recorder();
    p.reset(false);
    expect(feed(p, 'HTTP/1.1 200 OK\r\n\r\nuntil close', [20])).toBe(NEED_MORE);
    expect(p.completesAtEof()).toBe(true);
    expect(p.keepAlive).toBe(false);
    expect(p.body).toBe('until close');
  });

  it('flags lengths it cannot trust', () => {
    for (const [raw, bad] of [
      ['HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n', true],
      ['HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\n', true],
      ['HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc', false],
    ] as const) {
      const p = new Recorder();
      p.reset(false);
      feed(p, raw, []);
      expect(p.badLength, raw).toBe(bad);
    }
  });

  it('HEAD, 204 and 304 end at the head, no body hook', () => {
    for (const [raw, isHead] of [
      ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', true],
      ['HTTP/1.1 204 No Content\r\n\r\n', false],
      ['HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n', false],
    ] as const) {
      const p = new Recorder();
      p.reset(isHead);
      expect(feed(p, raw, []), raw).toBe(raw.length);
      expect(p.heads).toBe(1);
      expect(p.body).toBe('');
    }
  });
});

describe('latin1 helpers', () => {
  it('latin1 is byte for byte; sameLatin1 compares a string with bytes', () => {
    const b = Buffer.from([0x41, 0xe9, 0xff, 0x00, 0x7a]);
    expect(latin1(b, 0, 5)).toBe('A\u00e9\u00ff\u0000z');
    expect(latin1(b, 1, 3)).toBe('\u00e9\u00ff');
    expect(sameLatin1('\u00e9\u00ff', b, 1, 2)).toBe(true);
    expect(sameLatin1('\u00e9\u00fe', b, 1, 2)).toBe(false);
    expect(sameLatin1('\u00e9', b, 1, 2)).toBe(false);
  });
});
