/**
 * The downstream side of the proxy: the request head filtered for forwarding, requests that do
 * not parse, and CONNECT (refused). The request state machine is request-path.ts.
 */
import http from 'node:http';
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { EMPTY, kClient } from './exchange.js';
import type { Exchange, XSocket } from './exchange.js';
import {
  HDR_CONNECTION,
  HDR_CONTENT_LENGTH,
  HDR_FORWARD,
  HDR_TRANSFER_ENCODING,
  HDR_UPGRADE,
  connectionTokens,
  dropNamed,
  headerKind,
} from './http-semantics.js';
import { PROXY_HEADERS } from './types.js';

/** readRequestHead's answer for a request asking for a protocol upgrade. */
export const UPGRADE_REQUESTED = -2;

/** The request path's counters and bookkeeping these answers go through. */
export interface DownstreamCounters {
  received: number;
  malformed: number;
  readonly responded: Float64Array;
  count(x: Exchange, status: number): void;
  finish(x: Exchange): void;
  onClientGone(x: Exchange): void;
}

/**
 * Filters the request's headers into x, in one pass. Returns the declared Content-Length (-1:
 * none), or UPGRADE_REQUESTED (nothing filtered); a request with a body gets x.bodyChunks = [].
 */
export function readRequestHead(x: Exchange, asLines: boolean): number {
  // One pass over the headers: the end-to-end ones are kept (raw: as header lines, ready to
  // write; undici: as a flat list); Host (each replica gets its own), Expect (the body is
  // buffered here), framing and hop-by-hop ones are dropped.
  const raw = x.req.rawHeaders;
  let lines = '';
  let fwd: string[] = asLines ? EMPTY : [];
  let hasBody = false;
  let declared = -1;
  let upgrade = false;
  let connDrop: string[] | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const kind = headerKind(name);
    if (kind === HDR_FORWARD) {
      if (asLines) lines += `${name}: ${raw[i + 1] as string}\r\n`;
      else fwd.push(name, raw[i + 1] as string);
      continue;
    }
    switch (kind) {
      case HDR_CONTENT_LENGTH:
        declared = Number(raw[i + 1]);
        if (declared > 0) hasBody = true;
        break;
      case HDR_TRANSFER_ENCODING:
        hasBody = true;
        break;
      case HDR_UPGRADE:
        upgrade = true;
        break;
      case HDR_CONNECTION: {
        const t = connectionTokens(raw[i + 1] as string);
        if (t !== null) connDrop = connDrop === null ? t : connDrop.concat(t);
        break;
      }
      default:
        break;
    }
  }
  if (upgrade) return UPGRADE_REQUESTED;
  if (connDrop !== null) {
    // Rare: headers the client marked hop-by-hop in Connection are dropped too.
    const kept: string[] = [];
    for (let i = 0; i < raw.length; i += 2) if (headerKind(raw[i] as string) === HDR_FORWARD) kept.push(raw[i] as string, raw[i + 1] as string);
    fwd = dropNamed(kept, connDrop);
    if (asLines) {
      lines = '';
      for (let i = 0; i < fwd.length; i += 2) lines += `${fwd[i] as string}: ${fwd[i + 1] as string}\r\n`;
      fwd = EMPTY;
    }
  }
  if (asLines) x.rest = lines;
  else x.headers = fwd;
  if (hasBody) x.bodyChunks = [];
  return declared;
}

/** A request node:http could not parse (or a connection that broke): answered and counted here. */
export function onClientError(p: DownstreamCounters, err: Error & { code?: string }, socket: Duplex): void {
  const code = err.code ?? '';
  // A request whose head was fine but whose body is not (bad chunk...) has an exchange: the
  // newest unfinished one of this connection (the one being parsed).
  const msg = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  const x = (socket as XSocket)[kClient]?.head ?? null;
  if (code === 'HPE_INVALID_EOF_STATE') {
    // The client closed its side in the middle of a request (body cut short): it went away,
    // it did not send garbage.
    if (x !== null) p.onClientGone(x);
    socket.destroy();
    return;
  }
  if (code.startsWith('HPE_')) p.malformed++;
  if (code === 'ECONNRESET' || !socket.writable || (msg && msg.headersSent)) {
    socket.destroy();
    return;
  }
  const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  if (x !== null && !x.finished) {
    // It was counted as received: count its answer too (received = responded + client aborts).
    p.count(x, status);
    p.finish(x);
  }
  const text = http.STATUS_CODES[status] ?? 'Bad Request';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n${PROXY_HEADERS.error}: malformed_request\r\n\r\n`);
}

export function onConnectMethod(p: DownstreamCounters, socket: Duplex): void {
  // CONNECT would make this an open proxy: refused.
  p.received++;
  p.responded[400] = (p.responded[400] as number) + 1;
  socket.end(`HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n${PROXY_HEADERS.error}: connect_not_supported\r\n\r\n`);
}

export function findHeader(raw: string[], lower: string): string | null {
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as string;
    if (n.length === lower.length && n.toLowerCase() === lower) return raw[i + 1] as string;
  }
  return null;
}
