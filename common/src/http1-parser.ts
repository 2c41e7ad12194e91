/**
 * A minimal, allocation-free HTTP/1.1 response parser on raw socket bytes, shared by the load
 * driver (harness/src/driver/http1.ts: it reads the proof headers) and the service proxy's raw
 * upstream client (orchestrator/src/proxy/raw-upstream.ts: it forwards headers and body).
 *
 * Scope (RFC 9112), one request in flight per connection, no pipelining:
 * - status line `HTTP/1.x NNN ...`; header fields; obsolete line folding is not supported;
 * - message body length (§6.3): HEAD, 1xx, 204 and 304 have none; Transfer-Encoding: chunked
 *   (chunk extensions and trailers skipped); Content-Length; otherwise the body runs to the
 *   connection's close (the response then completes at FIN, and the connection is not reused);
 * - interim 1xx responses (100, 103) are skipped; 101 ends the exchange (neither user upgrades);
 * - persistence: HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0 closes it
 *   unless `Connection: keep-alive`; `Keep-Alive: timeout=N` is read so a client can retire an
 *   idle connection before the server does (client idle timeout < server idle timeout).
 *
 * Subclasses see every header field (onField), the end of the final head (onHeadEnd) and the
 * de-chunked body bytes (onBody), all as offsets into the buffer being parsed: valid only during
 * the call (the buffer is usually a socket's shared read buffer).
 */

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;

/** execute(): the response is not complete yet, every byte was consumed. */
export const NEED_MORE = -1;
/** execute(): the bytes are not a valid HTTP/1.x response (see `error`). */
export const FAILED = -2;

const S_HEAD = 0;
const S_LEN = 1;
const S_CHUNK_SIZE = 2;
const S_CHUNK_EXT = 3;
const S_CHUNK_DATA = 4;
const S_CHUNK_DATA_CR = 5;
const S_CHUNK_DATA_LF = 6;
const S_TRAILER_START = 7;
const S_TRAILER_LINE = 8;
const S_TRAILER_END_LF = 9;
const S_EOF_BODY = 10;
const S_DONE = 11;
const S_CHUNK_SIZE_LF = 12;

const HEAD_INCOMPLETE = -1;
const HEAD_BAD = -2;

const N_CONTENT_LENGTH = lowerBytes('content-length');
const N_TRANSFER_ENCODING = lowerBytes('transfer-encoding');
const N_CONNECTION = lowerBytes('connection');
const N_KEEP_ALIVE = lowerBytes('keep-alive');
const V_CLOSE = lowerBytes('close');
const V_KEEP_ALIVE = lowerBytes('keep-alive');
const V_CHUNKED = lowerBytes('chunked');
const V_TIMEOUT = lowerBytes('timeout=');

interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}
const HAS_LATIN1_SLICE = typeof (Buffer.prototype as unknown as Partial<Latin1Slicer>).latin1Slice === 'function';

/**
 * b[s..e) as a latin1 string (byte for byte). Buffer#latin1Slice (what toString('latin1') ends
 * in; undocumented, in every Node release) skips toString's argument checks and encoding
 * dispatch: measured 76 ns against 163 ns per call for a short header value.
 */
export function latin1(b: Buffer, s: number, e: number): string {
  return HAS_LATIN1_SLICE ? (b as unknown as Latin1Slicer).latin1Slice(s, e) : b.toString('latin1', s, e);
}

/** true when the string `str` has exactly the bytes b[s..s+len) (latin1). */
export function sameLatin1(str: string, b: Uint8Array, s: number, len: number): boolean {
  if (str.length !== len) return false;
  for (let i = 0; i < len; i++) if (str.charCodeAt(i) !== b[s + i]) return false;
  return true;
}

/** The lower-case bytes of an ASCII string. */
export function lowerBytes(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.toLowerCase(), 'latin1'));
}

/** ASCII case-insensitive: b[s..s+name.length) equals the lowercase `name`. */
export function eqLower(b: Uint8Array, s: number, name: Uint8Array): boolean {
  for (let i = 0; i < name.length; i++) {
    let c = b[s + i]!;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== name[i]) return false;
  }
  return true;
}

/** ASCII case-insensitive search of `needle` (lowercase) in b[s..e). */
export function containsLower(b: Uint8Array, s: number, e: number, needle: Uint8Array): number {
  const last = e - needle.length;
  for (let i = s; i <= last; i++) if (eqLower(b, i, needle)) return i;
  return -1;
}

/** Decimal digits in b[s..e); -1 if none or not all digits (unless `prefixOnly`). */
export function parseUint(b: Uint8Array, s: number, e: number, prefixOnly: boolean): number {
  let n = 0;
  let any = false;
  for (let i = s; i < e; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) {
      if (prefixOnly) break;
      return -1;
    }
    n = n * 10 + d;
    any = true;
    if (n > Number.MAX_SAFE_INTEGER / 10) return -1;
  }
  return any ? n : -1;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * One connection's response framing. reset() before each request; feed bytes with execute().
 * The fields below describe the response once its head was parsed.
 */
export class Http1ResponseParser {
  status = 0;
  /** The connection may carry another request after this response. */
  keepAlive = true;
  /** Keep-Alive: timeout=N seconds, or -1. */
  keepAliveTimeoutS = -1;
  /** Content-Length was not a number, or several disagreed (the body then runs to close). */
  badLength = false;
  /** Bytes of this exchange received so far (0 = nothing at all: a clean reset). */
  bytes = 0;
  error = '';

  private state = S_HEAD;
  private remaining = 0;
  private chunkDigits = 0;
  /** The Content-Length value, or -1. */
  protected contentLength = -1;
  /** The body is chunked (the final transfer coding). */
  protected chunked = false;
  private teOther = false;
  private connClose = false;
  private connKeepAlive = false;
  private minor = 1;
  private isHead = false;
  private partial: Buffer | null = null;
  private partialLen = 0;

  constructor(private readonly maxHeadBytes = 64 * 1024) {}

  /** Prepares for the response to the next request (`isHead`: a HEAD request, no body whatever the headers say). */
  reset(isHead: boolean): void {
    this.isHead = isHead;
    this.bytes = 0;
    this.error = '';
    this.state = S_HEAD;
    this.partialLen = 0;
    this.resetHead();
  }

  /**
   * Forgets what a head said. Called before each head is parsed, again when a head cut by a
   * segment boundary is parsed anew from its start, and after an interim 1xx head: subclasses
   * that collect fields reset them here (and call super).
   */
  protected resetHead(): void {
    this.status = 0;
    this.keepAlive = true;
    this.keepAliveTimeoutS = -1;
    this.badLength = false;
    this.contentLength = -1;
    this.chunked = false;
    this.teOther = false;
    this.connClose = false;
    this.connKeepAlive = false;
    this.minor = 1;
  }

  /** Every header field of the head being parsed: name b[ns..ns+nl), value b[vs..ve) (trimmed). */
  protected onField(_b: Buffer, _ns: number, _nl: number, _vs: number, _ve: number): void {}

  /** The final (non-1xx) head is complete; `status`, `keepAlive` and the framing are known. */
  protected onHeadEnd(): void {}

  /** De-chunked body bytes b[s..e), s < e. */
  protected onBody(_b: Buffer, _s: number, _e: number): void {}

  /** The final head was parsed (the body may still be arriving). */
  headDone(): boolean {
    return this.state !== S_HEAD;
  }

  /** true when the body is delimited by the connection's close: FIN completes the response. */
  completesAtEof(): boolean {
    return this.state === S_EOF_BODY;
  }

  /** Bytes b[start..end). Returns the offset just past the response's end, NEED_MORE or FAILED. */
  execute(b: Buffer, start: number, end: number): number {
    this.bytes += end - start;
    let pos = start;
    for (;;) {
      switch (this.state) {
        case S_HEAD: {
          // One pass: the head is parsed while its end is looked for. A head cut by a segment
          // boundary is kept and parsed again from its start when more bytes arrive (rare).
          if (this.partialLen === 0) {
            const he = this.parseHead(b, pos, end);
            if (he === HEAD_BAD) return FAILED;
            if (he === HEAD_INCOMPLETE) {
              this.keepPartial(b, pos, end);
              return this.partialLen > this.maxHeadBytes ? this.fail('response head too large') : NEED_MORE;
            }
            pos = he;
          } else {
            const old = this.partialLen;
            this.keepPartial(b, pos, end);
            this.resetHead();
            const he = this.parseHead(this.partial!, 0, this.partialLen);
            if (he === HEAD_BAD) return FAILED;
            if (he === HEAD_INCOMPLETE) return this.partialLen > this.maxHeadBytes ? this.fail('response head too large') : NEED_MORE;
            this.partialLen = 0;
            pos += he - old;
          }
          const st = this.status;
          if (st >= 100 && st < 200 && st !== 101) {
            this.resetHead(); // interim response: the final one follows
            break;
          }
          this.keepAlive = this.minor >= 1 ? !this.connClose : this.connKeepAlive && !this.connClose;
          if (this.isHead || st === 204 || st === 304 || st === 101) {
            if (st === 101) this.keepAlive = false;
            this.state = S_DONE;
            this.onHeadEnd();
            return pos;
          }
          if (this.chunked) {
            this.state = S_CHUNK_SIZE;
            this.remaining = 0;
            this.chunkDigits = 0;
          } else if (!this.teOther && this.contentLength >= 0) {
            if (this.contentLength === 0) {
              this.state = S_DONE;
              this.onHeadEnd();
              return pos;
            }
            this.remaining = this.contentLength;
            this.state = S_LEN;
          } else {
            this.state = S_EOF_BODY;
            this.keepAlive = false;
          }
          this.onHeadEnd();
          break;
        }
        case S_LEN: {
          const n = Math.min(this.remaining, end - pos);
          if (n > 0) this.onBody(b, pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = S_DONE;
            return pos;
          }
          return NEED_MORE;
        }
        case S_EOF_BODY:
          if (end > pos) this.onBody(b, pos, end);
          return NEED_MORE;
        case S_CHUNK_DATA: {
          const n = Math.min(this.remaining, end - pos);
          if (n > 0) this.onBody(b, pos, pos + n);
          pos += n;
          this.remaining -= n;
          if (this.remaining > 0) return NEED_MORE;
          this.state = S_CHUNK_DATA_CR;
          break;
        }
        case S_DONE:
          return pos;
        default: {
          // the byte-at-a-time states of chunked framing
          if (pos >= end) return NEED_MORE;
          const c = b[pos++]!;
          if (!this.chunkByte(c)) return FAILED;
          if (this.state === S_DONE) return pos;
        }
      }
      if (pos >= end) return NEED_MORE;
    }
  }

  private chunkByte(c: number): boolean {
    switch (this.state) {
      case S_CHUNK_SIZE: {
        const h = hexValue(c);
        if (h >= 0) {
          if (++this.chunkDigits > 12) return this.failB('chunk size too large');
          this.remaining = this.remaining * 16 + h;
          return true;
        }
        if (this.chunkDigits === 0) return this.failB('bad chunk size');
        if (c === CR) this.state = S_CHUNK_SIZE_LF;
        else if (c === LF) this.endChunkSize();
        else if (c === 59 /* ; */ || c === SP || c === HT) this.state = S_CHUNK_EXT;
        else return this.failB('bad chunk size');
        return true;
      }
      case S_CHUNK_EXT:
        if (c === LF) this.endChunkSize();
        return true;
      case S_CHUNK_SIZE_LF:
        if (c !== LF) return this.failB('bad chunk size line');
        this.endChunkSize();
        return true;
      case S_CHUNK_DATA_CR:
        if (c === CR) this.state = S_CHUNK_DATA_LF;
        else if (c === LF) this.nextChunk();
        else return this.failB('missing CRLF after chunk data');
        return true;
      case S_CHUNK_DATA_LF:
        if (c !== LF) return this.failB('missing LF after chunk data');
        this.nextChunk();
        return true;
      case S_TRAILER_START:
        if (c === CR) this.state = S_TRAILER_END_LF;
        else if (c === LF) this.state = S_DONE;
        else this.state = S_TRAILER_LINE;
        return true;
      case S_TRAILER_LINE:
        if (c === LF) this.state = S_TRAILER_START;
        return true;
      case S_TRAILER_END_LF:
        if (c !== LF) return this.failB('bad trailer section end');
        this.state = S_DONE;
        return true;
      default:
        return this.failB('parser state');
    }
  }

  private endChunkSize(): void {
    if (this.remaining === 0) this.state = S_TRAILER_START;
    else this.state = S_CHUNK_DATA;
  }

  private nextChunk(): void {
    this.state = S_CHUNK_SIZE;
    this.remaining = 0;
    this.chunkDigits = 0;
  }

  private keepPartial(b: Buffer, s: number, e: number): void {
    const n = e - s;
    if (n <= 0) return;
    let p = this.partial;
    if (p === null || p.length < this.partialLen + n) {
      const next = Buffer.allocUnsafe(Math.max(1024, (this.partialLen + n) * 2));
      if (p !== null && this.partialLen > 0) p.copy(next, 0, 0, this.partialLen);
      this.partial = p = next;
    }
    b.copy(p, this.partialLen, s, e);
    this.partialLen += n;
  }

  private fail(msg: string): number {
    this.error = msg;
    return FAILED;
  }

  private failB(msg: string): boolean {
    this.error = msg;
    return false;
  }

  /**
   * Status line and header fields from b[hs..end): the index just past the blank line that ends
   * the head, HEAD_INCOMPLETE if it is not all there, HEAD_BAD (see `error`).
   */
  private parseHead(b: Buffer, hs: number, end: number): number {
    // the status line: HTTP/1.x NNN ...
    let pos = hs;
    while (pos < end && b[pos] !== LF) pos++;
    if (pos >= end) return HEAD_INCOMPLETE;
    if (
      pos - hs < 12 ||
      b[hs] !== 72 ||
      b[hs + 1] !== 84 ||
      b[hs + 2] !== 84 ||
      b[hs + 3] !== 80 ||
      b[hs + 4] !== 47 ||
      b[hs + 5] !== 49 ||
      b[hs + 6] !== 46 ||
      b[hs + 8] !== SP
    ) {
      this.error = 'not an HTTP/1.x status line';
      return HEAD_BAD;
    }
    this.minor = b[hs + 7]! - 48;
    const d0 = b[hs + 9]! - 48;
    const d1 = b[hs + 10]! - 48;
    const d2 = b[hs + 11]! - 48;
    if (d0 < 1 || d0 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) {
      this.error = 'bad status code';
      return HEAD_BAD;
    }
    this.status = d0 * 100 + d1 * 10 + d2;
    pos++;
    for (;;) {
      if (pos >= end) return HEAD_INCOMPLETE;
      const c0 = b[pos];
      if (c0 === LF) return pos + 1; // the blank line (bare LF)
      if (c0 === CR) {
        if (pos + 1 >= end) return HEAD_INCOMPLETE;
        if (b[pos + 1] === LF) return pos + 2; // the blank line
      }
      let colon = -1;
      let i = pos;
      while (i < end && b[i] !== LF) {
        if (colon < 0 && b[i] === COLON) colon = i;
        i++;
      }
      if (i >= end) return HEAD_INCOMPLETE;
      if (colon > pos) {
        let vs = colon + 1;
        let ve = i;
        if (ve > vs && b[ve - 1] === CR) ve--;
        while (vs < ve && (b[vs] === SP || b[vs] === HT)) vs++;
        while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HT)) ve--;
        this.framingField(b, pos, colon - pos, vs, ve);
        this.onField(b, pos, colon - pos, vs, ve);
      }
      pos = i + 1;
    }
  }

  /** The fields that decide framing and persistence. */
  private framingField(b: Buffer, ns: number, nl: number, vs: number, ve: number): void {
    switch (nl) {
      case 10:
        if (eqLower(b, ns, N_CONNECTION)) {
          // fast paths for the two usual values, a token search otherwise
          const vl = ve - vs;
          if (vl === 10 && eqLower(b, vs, V_KEEP_ALIVE)) this.connKeepAlive = true;
          else if (vl === 5 && eqLower(b, vs, V_CLOSE)) this.connClose = true;
          else {
            if (containsLower(b, vs, ve, V_CLOSE) >= 0) this.connClose = true;
            if (containsLower(b, vs, ve, V_KEEP_ALIVE) >= 0) this.connKeepAlive = true;
          }
        } else if (eqLower(b, ns, N_KEEP_ALIVE)) {
          const t = ve - vs > V_TIMEOUT.length && eqLower(b, vs, V_TIMEOUT) ? vs : containsLower(b, vs, ve, V_TIMEOUT);
          if (t >= 0) this.keepAliveTimeoutS = parseUint(b, t + V_TIMEOUT.length, ve, true);
        }
        return;
      case 14:
        if (eqLower(b, ns, N_CONTENT_LENGTH)) {
          const n = parseUint(b, vs, ve, false);
          // Conflicting lengths are an error in RFC 9112; treat as unknown (read to close).
          if (n < 0 || (this.contentLength >= 0 && this.contentLength !== n)) {
            this.teOther = true;
            this.badLength = true;
          } else this.contentLength = n;
        }
        return;
      case 17:
        if (eqLower(b, ns, N_TRANSFER_ENCODING)) {
          // chunked must be the final coding; anything else is delimited by close
          const last = ve - V_CHUNKED.length;
          if (last >= vs && eqLower(b, last, V_CHUNKED) && (last === vs || b[last - 1] === SP || b[last - 1] === 44 || b[last - 1] === HT)) {
            this.chunked = true;
            this.teOther = false;
          } else {
            this.chunked = false;
            this.teOther = true;
          }
        }
        return;
      default:
        return;
    }
  }
}
