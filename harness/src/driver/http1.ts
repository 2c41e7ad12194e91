/**
 * The open engine's HTTP/1.1 wire code: pre-encoded request templates, and a minimal response
 * parser that works on raw socket bytes without allocating per response.
 *
 * The response framing (status line, Content-Length, chunked, 1xx, HEAD/204/304, persistence,
 * Keep-Alive: timeout=N) is the parser shared with the proxy's raw upstream client
 * (common/src/http1-parser.ts); this module adds the headers the proof needs: x-zerodrop-id (compared with the request's own id, byte by
 *   byte), x-served-by / x-zerodrop-upstream (interned to a ledger replica index through a
 *   byte-keyed cache: no string per response), x-zerodrop-attempts.
 */
import { ZerodropError } from '../../../common/src/errors.js';
import { Http1ResponseParser, eqLower, lowerBytes, parseUint } from '../../../common/src/http1-parser.js';
import { ID_HEADER, PROXY_HEADERS } from '../../../contract/index.js';
import type { RequestTemplate } from './types.js';
import { writeValue } from './writes.js';

export { ID_HEADER };
export const SERVED_BY_HEADER = 'x-served-by';

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
  /** A keyed write (RequestTemplate.keyedWrite): the whole request of `seq`, built per request. */
  render: ((seq: number) => Buffer) | null;
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
      fix: "use 127.0.0.1 / ::1 (load and faults go only to loopback or the run's own containers)",
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
    throw new ZerodropError('ZD_BAD_USAGE', 'the driver needs at least one request template', { fix: "add a request to the scenario's load.requests" });
  }
  return templates.map((t, i) => {
    const where = `load.requests[${i}]`;
    const method = t.method.toUpperCase();
    if (!TOKEN.test(method)) throw new ZerodropError('ZD_BAD_USAGE', `${where}: bad method "${t.method}"`);
    const path = target.basePath + t.path;
    // eslint-disable-next-line no-control-regex -- control characters are what this refuses
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
      // eslint-disable-next-line no-control-regex -- control characters are what this refuses
      if (/[\r\n\x00]/.test(value)) throw new ZerodropError('ZD_BAD_USAGE', `${where}: header "${name}" has a control character`);
      head += `${name}: ${value}\r\n`;
    }
    const render = t.keyedWrite === true ? keyedWriteRenderer(head, `${runId}-`) : null;
    head += `${ID_HEADER}: ${runId}-`;
    const body = t.body === null ? null : Buffer.from(t.body, 'utf8');
    const tail = body === null ? '\r\n\r\n' : `\r\ncontent-length: ${body.length}\r\n\r\n`;
    const suffix = body === null ? Buffer.from(tail, 'latin1') : Buffer.concat([Buffer.from(tail, 'latin1'), body]);
    return { prefix: Buffer.from(head, 'latin1'), suffix, isHead: method === 'HEAD', render };
  });
}

/**
 * A keyed write: `<request line with the id after the path>`, the template's headers, the id
 * header, and the body writeValue(id). Built per request (a write is a fraction of the load);
 * the id has no character that needs encoding in a path (assertRunId).
 */
function keyedWriteRenderer(head: string, idPrefix: string): (seq: number) => Buffer {
  const lineEnd = head.indexOf(' HTTP/1.1\r\n');
  const requestLine = head.slice(0, lineEnd);
  const headers = head.slice(lineEnd + ' HTTP/1.1\r\n'.length);
  return (seq) => {
    const id = `${idPrefix}${seq}`;
    const body = Buffer.from(writeValue(id), 'latin1');
    const text = `${requestLine}${id} HTTP/1.1\r\n${headers}${ID_HEADER}: ${id}\r\ncontent-length: ${body.length}\r\n\r\n`;
    return Buffer.concat([Buffer.from(text, 'latin1'), body]);
  };
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

// The framing (status line, Content-Length, chunked, persistence) is the shared parser's
// (common/src/http1-parser.ts); the driver adds the proof headers.
export { NEED_MORE, FAILED } from '../../../common/src/http1-parser.js';

/** The echoed x-zerodrop-id: absent, exactly this request's, or anything else. */
export const ID_MISSING = 0;
export const ID_MATCH = 1;
export const ID_OTHER = 2;

const N_ID = lowerBytes(ID_HEADER);
const N_SERVED_BY = lowerBytes(SERVED_BY_HEADER);
const N_UPSTREAM = lowerBytes(PROXY_HEADERS.upstream);
const N_ATTEMPTS = lowerBytes(PROXY_HEADERS.attempts);

/**
 * One connection's response parser. begin() before each request; feed bytes with execute().
 * The fields below describe the response once execute() returned an offset.
 */
export class ResponseParser extends Http1ResponseParser {
  /** ID_MISSING | ID_MATCH | ID_OTHER */
  idState = ID_MISSING;
  /** Ledger replica index from x-served-by (0 = none). */
  replicaIdx = 0;
  /** Ledger replica index from x-zerodrop-upstream (0 = none). */
  upstreamIdx = 0;
  attempts = 1;

  private expectSeq = -1;

  constructor(
    /** `<runId>-` as bytes. */
    private readonly idPrefix: Uint8Array,
    private readonly replicas: ReplicaInterner,
    maxHeadBytes = 64 * 1024,
  ) {
    super(maxHeadBytes);
  }

  /** Prepares for the response to request `seq`. */
  begin(seq: number, isHead: boolean): void {
    this.expectSeq = seq;
    this.reset(isHead);
  }

  protected override resetHead(): void {
    super.resetHead();
    this.idState = ID_MISSING;
    this.replicaIdx = 0;
    this.upstreamIdx = 0;
    this.attempts = 1;
  }

  protected override onField(b: Buffer, ns: number, nl: number, vs: number, ve: number): void {
    switch (nl) {
      case 11:
        if (eqLower(b, ns, N_SERVED_BY)) this.replicaIdx = this.replicas.lookup(b, vs, ve);
        return;
      case 13:
        if (eqLower(b, ns, N_ID)) this.idState = this.idState === ID_MISSING && this.idIsOurs(b, vs, ve) ? ID_MATCH : ID_OTHER;
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
