/**
 * The open engine's HTTP/1.1 wire code: pre-encoded request templates, and a minimal response
 * parser that works on raw socket bytes without allocating per response.
 *
 * Scope (RFC 9112), one request in flight per connection, no pipelining:
 * - status line `HTTP/1.x NNN ...`; header fields; obsolete line folding is not supported;
 * - message body length (§6.3): HEAD, 1xx, 204 and 304 have none; Transfer-Encoding: chunked
 *   (chunk extensions and trailers skipped); Content-Length; otherwise the body runs to the
 *   connection's close (the response then completes at FIN, and the connection is not reused);
 * - interim 1xx responses (100, 103) are skipped; 101 ends the exchange (we never upgrade);
 * - persistence: HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0 closes it
 *   unless `Connection: keep-alive`; `Keep-Alive: timeout=N` is read so the driver can retire an
 *   idle connection before the server does (client idle timeout < server idle timeout);
 * - the headers the proof needs: x-zerodrop-id (compared with the request's own id, byte by
 *   byte), x-served-by / x-zerodrop-upstream (interned to a ledger replica index through a
 *   byte-keyed cache: no string per response), x-zerodrop-attempts.
 */
import { ZerodropError } from '../../../orchestrator/src/common/errors.js';
import { PROXY_HEADERS } from '../../../orchestrator/src/proxy/types.js';
import type { RequestTemplate } from './types.js';

export const ID_HEADER = 'x-zerodrop-id';
export const SERVED_BY_HEADER = 'x-served-by';

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/** A request template split around the id digits: prefix + `<seq digits>` + suffix. */
export interface EncodedTemplate {
  /** Request line, host, the template's headers, then `x-zerodrop-id: <runId>-`. */
  prefix: Buffer;
  /** `\r\n`, content-length if there is a body, the blank line, the body. */
  suffix: Buffer;
  /** HEAD: the response has no body whatever its headers say. */
  isHead: boolean;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const RESERVED_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', ID_HEADER, 'upgrade', 'expect']);

/** The base URL as the engines use it: loopback / private host, port, path prefix. */
export interface TargetUrl {
  host: string;
  port: number;
  /** Host header value. */
  authority: string;
  /** Base path without a trailing slash ('' for '/'). */
  basePath: string;
}

export function parseTargetUrl(url: string): TargetUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch (err) {
    throw new ZerodropError('ZD_BAD_USAGE', `driver url "${url}" is not a URL`, { cause: err, fix: 'use e.g. http://127.0.0.1:8080' });
  }
  if (u.protocol !== 'http:') {
    throw new ZerodropError('ZD_BAD_USAGE', `driver url "${url}": only http: is supported`, {
      fix: 'point the driver at the service proxy over plain HTTP on loopback',
    });
  }
  let host = u.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === 'localhost') host = '127.0.0.1'; // resolve once, not per connect
  if (!isAllowedTarget(host)) {
    throw new ZerodropError('ZD_BAD_USAGE', `driver url "${url}": load may only target loopback or a private address the run created`, {
      fix: 'use 127.0.0.1 / ::1 (DESIGN.md: load and faults only against loopback or the run\'s own containers)',
    });
  }
  const port = u.port === '' ? 80 : Number(u.port);
  const basePath = u.pathname === '/' ? '' : u.pathname.replace(/\/+$/, '');
  return { host, port, authority: u.host, basePath };
}

function isAllowedTarget(host: string): boolean {
  if (host === '::1') return true;
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  if (!m) return false;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/** Checks a run id is safe inside a header value and a CSV cell. */
export function assertRunId(runId: string): void {
  if (!/^[A-Za-z0-9._~-]{1,100}$/.test(runId)) {
    throw new ZerodropError('ZD_BAD_USAGE', `run id "${runId}" cannot be used in ${ID_HEADER}`, {
      fix: 'use letters, digits and . _ ~ - only (at most 100)',
    });
  }
}

export function encodeTemplates(templates: readonly RequestTemplate[], target: TargetUrl, runId: string): EncodedTemplate[] {
  assertRunId(runId);
  if (templates.length === 0) {
    throw new ZerodropError('ZD_BAD_USAGE', 'the driver needs at least one request template', { fix: 'add a request to the scenario\'s load.requests' });
  }
  return templates.map((t, i) => {
    const where = `load.requests[${i}]`;
    const method = t.method.toUpperCase();
    if (!TOKEN.test(method)) throw new ZerodropError('ZD_BAD_USAGE', `${where}: bad method "${t.method}"`);
    const path = target.basePath + t.path;
    if (!t.path.startsWith('/') || /[\s\x00-\x1f\x7f]/.test(path)) {
      throw new ZerodropError('ZD_BAD_USAGE', `${where}: path "${t.path}" must start with / and contain no spaces or control characters`, {
        fix: 'percent-encode the path and query',
      });
    }
    let head = `${method} ${path} HTTP/1.1\r\n`;
    const names = Object.keys(t.headers).map((n) => n.toLowerCase());
    if (!names.includes('host')) head += `host: ${target.authority}\r\n`;
    for (const [name, value] of Object.entries(t.headers)) {
      const lower = name.toLowerCase();
      if (!TOKEN.test(name)) throw new ZerodropError('ZD_BAD_USAGE', `${where}: bad header name "${name}"`);
      if (RESERVED_HEADERS.has(lower)) {
        throw new ZerodropError('ZD_BAD_USAGE', `${where}: header "${name}" is set by the driver`, { fix: `remove "${name}" from the template` });
      }
      if (/[\r\n\x00]/.test(value)) throw new ZerodropError('ZD_BAD_USAGE', `${where}: header "${name}" has a control character`);
      head += `${name}: ${value}\r\n`;
    }
    head += `${ID_HEADER}: ${runId}-`;
    const body = t.body === null ? null : Buffer.from(t.body, 'utf8');
    const tail = body === null ? '\r\n\r\n' : `\r\ncontent-length: ${body.length}\r\n\r\n`;
    const suffix = body === null ? Buffer.from(tail, 'latin1') : Buffer.concat([Buffer.from(tail, 'latin1'), body]);
    return { prefix: Buffer.from(head, 'latin1'), suffix, isHead: method === 'HEAD' };
  });
}

/** Decimal digits of a non-negative integer < 2^53. */
export function digitCount(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/** Writes n's `digits` decimal digits ending just before `end`. */
export function writeDigits(buf: Buffer, end: number, n: number, digits: number): void {
  let p = end;
  for (let i = 0; i < digits; i++) {
    const q = Math.floor(n / 10);
    buf[--p] = 48 + (n - q * 10);
    n = q;
  }
}

/**
 * A deterministic, evenly interleaved weighted mix (nginx's smooth weighted round-robin over
 * one cycle): template of request seq = cycle[seq % cycle.length]. Weights are quantised to
 * 1/1000 of the total; any positive weight gets at least one slot.
 */
export function buildMix(weights: readonly number[]): Uint16Array {
  if (weights.length === 0) throw new ZerodropError('ZD_BAD_USAGE', 'no request templates');
  if (weights.length > 0xffff) throw new ZerodropError('ZD_BAD_USAGE', 'too many request templates');
  for (const w of weights) {
    if (!(Number.isFinite(w) && w >= 0)) throw new ZerodropError('ZD_BAD_USAGE', `request weight ${w} must be a finite number ≥ 0`);
  }
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new ZerodropError('ZD_BAD_USAGE', 'request weights sum to 0', { fix: 'give at least one request a positive weight' });
  const ints = weights.map((w) => (w > 0 ? Math.max(1, Math.round((w / total) * 1000)) : 0));
  const g = ints.reduce((a, b) => gcd(a, b), 0);
  const slots = ints.map((n) => n / g);
  const len = slots.reduce((a, b) => a + b, 0);
  const cycle = new Uint16Array(len);
  const current = slots.map(() => 0);
  for (let k = 0; k < len; k++) {
    let best = -1;
    for (let i = 0; i < slots.length; i++) {
      current[i]! += slots[i]!;
      if (slots[i]! > 0 && (best < 0 || current[i]! > current[best]!)) best = i;
    }
    current[best]! -= len;
    cycle[k] = best;
  }
  return cycle;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

// ---------------------------------------------------------------------------------------------
// Replica names
// ---------------------------------------------------------------------------------------------

/** Header value bytes → ledger replica index, through a byte-keyed cache (no string on a hit). */
export class ReplicaInterner {
  private readonly cache = new Map<number, { bytes: Buffer; idx: number }>();

  constructor(private readonly internName: (name: string) => number) {}

  lookup(b: Buffer, s: number, e: number): number {
    const len = e - s;
    if (len <= 0) return 0;
    let h = 0x811c9dc5 ^ len;
    for (let i = s; i < e; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    const hit = this.cache.get(h);
    if (hit !== undefined && hit.bytes.length === len) {
      const hb = hit.bytes;
      let same = true;
      for (let i = 0; i < len; i++) {
        if (hb[i] !== b[s + i]) {
          same = false;
          break;
        }
      }
      if (same) return hit.idx;
    }
    const idx = this.internName(b.toString('latin1', s, e));
    if (hit === undefined && this.cache.size < 4096) this.cache.set(h, { bytes: Buffer.from(b.subarray(s, e)), idx });
    return idx;
  }
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/** execute(): the response is not complete yet, every byte was consumed. */
export const NEED_MORE = -1;
/** execute(): the bytes are not a valid HTTP/1.x response (see `error`). */
export const FAILED = -2;

/** The echoed x-zerodrop-id: absent, exactly this request's, or anything else. */
export const ID_MISSING = 0;
export const ID_MATCH = 1;
export const ID_OTHER = 2;

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
const N_ID = lowerBytes(ID_HEADER);
const N_SERVED_BY = lowerBytes(SERVED_BY_HEADER);
const N_UPSTREAM = lowerBytes(PROXY_HEADERS.upstream);
const N_ATTEMPTS = lowerBytes(PROXY_HEADERS.attempts);
const V_CLOSE = lowerBytes('close');
const V_KEEP_ALIVE = lowerBytes('keep-alive');
const V_CHUNKED = lowerBytes('chunked');
const V_TIMEOUT = lowerBytes('timeout=');

function lowerBytes(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.toLowerCase(), 'latin1'));
}

/** ASCII case-insensitive: b[s..s+name.length) equals the lowercase `name`. */
function eqLower(b: Uint8Array, s: number, name: Uint8Array): boolean {
  for (let i = 0; i < name.length; i++) {
    let c = b[s + i]!;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== name[i]) return false;
  }
  return true;
}

/** ASCII case-insensitive search of `needle` (lowercase) in b[s..e). */
function containsLower(b: Uint8Array, s: number, e: number, needle: Uint8Array): number {
  const last = e - needle.length;
  for (let i = s; i <= last; i++) if (eqLower(b, i, needle)) return i;
  return -1;
}

/**
 * One connection's response parser. begin() before each request; feed bytes with execute().
 * The fields below describe the response once execute() returned an offset.
 */
export class ResponseParser {
  status = 0;
  /** The connection may carry another request after this response. */
  keepAlive = true;
  /** ID_MISSING | ID_MATCH | ID_OTHER */
  idState = ID_MISSING;
  /** Ledger replica index from x-served-by (0 = none). */
  replicaIdx = 0;
  /** Ledger replica index from x-zerodrop-upstream (0 = none). */
  upstreamIdx = 0;
  attempts = 1;
  /** Keep-Alive: timeout=N seconds, or -1. */
  keepAliveTimeoutS = -1;
  /** Bytes of this exchange received so far (0 = nothing at all: a clean reset). */
  bytes = 0;
  error = '';

  private state = S_HEAD;
  private remaining = 0;
  private chunkDigits = 0;
  private contentLength = -1;
  private chunked = false;
  private teOther = false;
  private connClose = false;
  private connKeepAlive = false;
  private minor = 1;
  private expectSeq = -1;
  private isHead = false;
  private partial: Buffer | null = null;
  private partialLen = 0;

  constructor(
    /** `<runId>-` as bytes. */
    private readonly idPrefix: Uint8Array,
    private readonly replicas: ReplicaInterner,
    private readonly maxHeadBytes = 64 * 1024,
  ) {}

  /** Prepares for the response to request `seq`. */
  begin(seq: number, isHead: boolean): void {
    this.expectSeq = seq;
    this.isHead = isHead;
    this.bytes = 0;
    this.error = '';
    this.state = S_HEAD;
    this.partialLen = 0;
    this.resetHead();
  }

  private resetHead(): void {
    this.status = 0;
    this.keepAlive = true;
    this.idState = ID_MISSING;
    this.replicaIdx = 0;
    this.upstreamIdx = 0;
    this.attempts = 1;
    this.keepAliveTimeoutS = -1;
    this.contentLength = -1;
    this.chunked = false;
    this.teOther = false;
    this.connClose = false;
    this.connKeepAlive = false;
    this.minor = 1;
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
            return pos;
          }
          if (this.chunked) {
            this.state = S_CHUNK_SIZE;
            this.remaining = 0;
            this.chunkDigits = 0;
          } else if (!this.teOther && this.contentLength >= 0) {
            if (this.contentLength === 0) {
              this.state = S_DONE;
              return pos;
            }
            this.remaining = this.contentLength;
            this.state = S_LEN;
          } else {
            this.state = S_EOF_BODY;
            this.keepAlive = false;
          }
          break;
        }
        case S_LEN: {
          const n = Math.min(this.remaining, end - pos);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = S_DONE;
            return pos;
          }
          return NEED_MORE;
        }
        case S_EOF_BODY:
          return NEED_MORE;
        case S_CHUNK_DATA: {
          const n = Math.min(this.remaining, end - pos);
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
      b[hs] !== 72 || b[hs + 1] !== 84 || b[hs + 2] !== 84 || b[hs + 3] !== 80 ||
      b[hs + 4] !== 47 || b[hs + 5] !== 49 || b[hs + 6] !== 46 || b[hs + 8] !== SP
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
        this.headerField(b, pos, colon - pos, vs, ve);
      }
      pos = i + 1;
    }
  }

  private headerField(b: Buffer, ns: number, nl: number, vs: number, ve: number): void {
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
      case 11:
        if (eqLower(b, ns, N_SERVED_BY)) this.replicaIdx = this.replicas.lookup(b, vs, ve);
        return;
      case 13:
        if (eqLower(b, ns, N_ID)) this.idState = this.idState === ID_MISSING && this.idIsOurs(b, vs, ve) ? ID_MATCH : ID_OTHER;
        return;
      case 14:
        if (eqLower(b, ns, N_CONTENT_LENGTH)) {
          const n = parseUint(b, vs, ve, false);
          // Conflicting lengths are an error in RFC 9112; treat as unknown (read to close).
          if (n < 0 || (this.contentLength >= 0 && this.contentLength !== n)) this.teOther = true;
          else this.contentLength = n;
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
      case 19:
        if (eqLower(b, ns, N_ATTEMPTS)) {
          const n = parseUint(b, vs, ve, false);
          if (n >= 1) this.attempts = n > 255 ? 255 : n;
        } else if (eqLower(b, ns, N_UPSTREAM)) {
          this.upstreamIdx = this.replicas.lookup(b, vs, ve);
        }
        return;
      default:
        return;
    }
  }

  private idIsOurs(b: Buffer, vs: number, ve: number): boolean {
    const p = this.idPrefix;
    const digits = ve - vs - p.length;
    if (digits < 1 || digits > 15) return false;
    for (let i = 0; i < p.length; i++) if (b[vs + i] !== p[i]) return false;
    let n = 0;
    for (let i = vs + p.length; i < ve; i++) {
      const d = b[i]! - 48;
      if (d < 0 || d > 9) return false;
      n = n * 10 + d;
    }
    if (digits > 1 && b[vs + p.length] === 48) return false; // no leading zeros
    return n === this.expectSeq;
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Decimal digits in b[s..e); -1 if none or not all digits (unless `prefixOnly`). */
function parseUint(b: Uint8Array, s: number, e: number, prefixOnly: boolean): number {
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
