/**
 * The raw upstream client (raw-upstream.ts) as the proxy uses it: the attempt the pool carries,
 * the pool per replica, and the request head serialized once per downstream request.
 */
import { DEFAULT_BODY_TIMEOUT_MS } from './config.js';
import type { Endpoint } from './endpoints.js';
import { Attempt } from './exchange.js';
import type { Exchange } from './exchange.js';
import { RawPool } from './raw-upstream.js';
import type { RawConn, RawRequest, RawSink } from './raw-upstream.js';
import type { ProxyConfig } from './types.js';

/** Largest upstream response head the raw client accepts (Node's and undici's default). */
const MAX_RESPONSE_HEAD_BYTES = 16 * 1024;
/** The raw client's read buffer, shared by all its connections. */
export const READ_BUFFER_BYTES = 64 * 1024;

/** An attempt through the raw client (raw-upstream.ts); the proxy is its RawSink. */
export class RawAttempt extends Attempt implements RawRequest<RawAttempt> {
  pool: RawPool<RawAttempt> | null = null;
  rawConn: RawConn<RawAttempt> | null = null;
  rawQueued = false;
  rawPrev: RawAttempt | null = null;
  rawNext: RawAttempt | null = null;

  abort(err: Error): void {
    if (this.pool !== null) this.pool.abort(this, err);
  }
}

export function createRawPool(ep: Endpoint, u: ProxyConfig['upstream'], readBuffer: Buffer, sink: RawSink<RawAttempt>): RawPool<RawAttempt> {
  ep.idleClosedByReplica ??= 0; // known from now on (undici cannot tell: it stays null)
  return new RawPool<RawAttempt>(
    {
      host: ep.host,
      port: ep.port,
      connections: u.connectionsPerReplica,
      connectTimeoutMs: u.connectTimeoutMs,
      keepAliveTimeoutMs: u.keepAliveTimeoutMs,
      bodyTimeoutMs: u.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
      maxHeadBytes: MAX_RESPONSE_HEAD_BYTES,
      readBuffer,
      onPeerClosedIdle: () => {
        // Only a replica in rotation can race a request onto the connection it closes: once
        // it is draining nothing new is sent to it (nginx closes idle connections on SIGQUIT).
        if (ep.admin === 'serving') ep.idleClosedByReplica = (ep.idleClosedByReplica ?? 0) + 1;
      },
    },
    sink,
  );
}

/**
 * The request head, once for every attempt (the pool puts each replica's Host after the request
 * line): x.rest holds the forwarded header lines already. Framing as undici does it: the buffered
 * body's length; Content-Length: 0 for an empty POST / PUT / PATCH (RFC 9110 §8.6: a user agent
 * SHOULD send it).
 */
export function prepareRawRequest(x: Exchange): void {
  x.line = `${x.method} ${x.path} HTTP/1.1\r\n`;
  const body = x.body;
  const m = x.method;
  if (body !== null && body.length > 0) x.rest += `content-length: ${body.length}\r\n\r\n`;
  else if (m === 'POST' || m === 'PUT' || m === 'PATCH') x.rest += 'content-length: 0\r\n\r\n';
  else x.rest += '\r\n';
}
