/**
 * The HTTP rules the proxy applies on every request, kept pure so they can be tested as tables:
 * hop-by-hop headers (RFC 9110 §7.6.1), idempotent methods (RFC 9110 §9.2.2), and what an
 * upstream failure means for a retry (docs/architecture.md, "Data planes").
 */
import { errorCode } from '../../../common/src/errors.js';
import type { UpstreamOutcome } from './types.js';

/** What the proxy does with one header name. */
export const HDR_FORWARD = 0;
/** Hop-by-hop: never forwarded (TE, Trailer, Keep-Alive, Proxy-*, ...). */
export const HDR_DROP = 1;
export const HDR_HOST = 2;
export const HDR_CONNECTION = 3;
export const HDR_CONTENT_LENGTH = 4;
export const HDR_TRANSFER_ENCODING = 5;
export const HDR_UPGRADE = 6;
export const HDR_EXPECT = 7;
export type HeaderKind = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

/**
 * Classifies a header name (any case). Hot path: a switch on the length first, then a
 * case-insensitive compare that stops at the first differing character, so the common end-to-end
 * headers (accept, user-agent, x-zerodrop-id...) cost a compare or two and never a lower-cased copy.
 */
export function headerKind(name: string): HeaderKind {
  switch (name.length) {
    case 2:
      return is(name, 'te') ? HDR_DROP : HDR_FORWARD;
    case 4:
      return name === 'Host' || name === 'host' || is(name, 'host') ? HDR_HOST : HDR_FORWARD;
    case 6:
      return is(name, 'expect') ? HDR_EXPECT : HDR_FORWARD;
    case 7:
      if (is(name, 'trailer')) return HDR_DROP;
      if (is(name, 'upgrade')) return HDR_UPGRADE;
      return isProxyHeader(name);
    case 10:
      if (is(name, 'connection')) return HDR_CONNECTION;
      if (is(name, 'keep-alive')) return HDR_DROP;
      return isProxyHeader(name);
    case 14:
      return is(name, 'content-length') ? HDR_CONTENT_LENGTH : isProxyHeader(name);
    case 17:
      return is(name, 'transfer-encoding') ? HDR_TRANSFER_ENCODING : isProxyHeader(name);
    default:
      return name.length > 6 ? isProxyHeader(name) : HDR_FORWARD;
  }
}

/** ASCII case-insensitive: name starts with the lowercase literal `lower` (equals it when the lengths match). */
function is(name: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function isProxyHeader(name: string): HeaderKind {
  const c = name.charCodeAt(0);
  if (c !== 0x70 && c !== 0x50) return HDR_FORWARD; // p / P
  return is(name, 'proxy-') ? HDR_DROP : HDR_FORWARD;
}

/**
 * Extra header names a Connection header marks as hop-by-hop (RFC 9110 §7.6.1), lower-cased;
 * null when it only says close / keep-alive / upgrade (the common case).
 */
export function connectionTokens(value: string): string[] | null {
  let out: string[] | null = null;
  for (const raw of value.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive' || t === 'upgrade') continue;
    (out ??= []).push(t);
  }
  return out;
}

/** Removes from a flat [name, value, ...] list every header whose name is in `names` (lower-case). */
export function dropNamed(flat: string[], names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i] as string;
    if (!names.includes(name.toLowerCase())) out.push(name, flat[i + 1] as string);
  }
  return out;
}

/** RFC 9110 §9.2.2: methods a proxy may replay after the request may have reached the server. */
export function isIdempotent(method: string): boolean {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'PUT':
    case 'DELETE':
    case 'TRACE':
      return true;
    default:
      return false;
  }
}

/** Errors that mean the TCP connection was never established: the request was not sent. */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ZD_CONNECT_TIMEOUT', // raw client (raw-upstream.ts RAW_ERR)
]);

/** The connection broke after the request (or part of it) may have been written. */
const RESET_CODES = new Set([
  'UND_ERR_SOCKET',
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ETIMEDOUT',
  'UND_ERR_DESTROYED',
  'UND_ERR_CLOSED',
  'ZD_UPSTREAM_CLOSED', // raw client: the replica closed the connection mid-exchange
  'ZD_UPSTREAM_DESTROYED', // raw client: removeEndpoint / destroy while the request was held
]);

/**
 * How an upstream attempt that failed with `err` ended. `sent` = undici started writing the
 * request on a connected socket (onRequestStart/onConnect ran): before that, any failure means
 * the replica never saw the request, so it is a connect failure whatever the code says.
 */
export function classifyUpstreamError(err: unknown, sent: boolean): UpstreamOutcome {
  const code = errorCode(err);
  if (code === 'UND_ERR_INVALID_ARG') return 'other_error';
  if (code !== undefined && CONNECT_CODES.has(code)) return 'connect_error';
  if (!sent) return 'connect_error';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ZD_BODY_TIMEOUT') return 'timeout';
  if (code !== undefined && RESET_CODES.has(code)) return 'reset';
  return 'other_error';
}

/**
 * May a failed attempt be tried again on another replica? RFC 9110 §9.2.2 and research C6:
 * a request that was never sent may always be retried; once it may have reached the replica,
 * only idempotent methods are replayed.
 */
export function mayRetry(outcome: UpstreamOutcome, sent: boolean, idempotent: boolean): boolean {
  switch (outcome) {
    case 'connect_error':
      return true;
    case 'reset':
    case 'timeout':
      return idempotent || !sent;
    default:
      return false;
  }
}

/** Outcomes in a fixed order, for counting in typed arrays. */
export const OUTCOMES: readonly UpstreamOutcome[] = ['response', 'connect_error', 'reset', 'timeout', 'other_error'];
export const OUT_RESPONSE = 0;
export const OUT_CONNECT_ERROR = 1;
export const OUT_RESET = 2;
export const OUT_TIMEOUT = 3;
export const OUT_OTHER = 4;

export function outcomeIndex(o: UpstreamOutcome): number {
  switch (o) {
    case 'response':
      return OUT_RESPONSE;
    case 'connect_error':
      return OUT_CONNECT_ERROR;
    case 'reset':
      return OUT_RESET;
    case 'timeout':
      return OUT_TIMEOUT;
    default:
      return OUT_OTHER;
  }
}
