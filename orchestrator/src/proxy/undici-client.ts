/**
 * The undici upstream client (`upstream.client: 'undici'`): an undici Pool per replica, the
 * attempt as its dispatch handler (legacy API by default: raw header buffers, no wrapper objects;
 * or the v7 controller API, for comparison), and the response head filtered for forwarding.
 */
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { DEFAULT_BODY_TIMEOUT_MS } from './config.js';
import type { Endpoint, UpstreamPool } from './endpoints.js';
import { Attempt, SETTLED } from './exchange.js';
import type { Exchange } from './exchange.js';
import {
  HDR_CONNECTION,
  HDR_CONTENT_LENGTH,
  HDR_EXPECT,
  HDR_FORWARD,
  HDR_HOST,
  HDR_TRANSFER_ENCODING,
  connectionTokens,
  dropNamed,
  headerKind,
} from './http-semantics.js';
import type { ProxyConfig } from './types.js';

/** An attempt through undici; it is the dispatch handler (legacy API: raw header buffers, no wrapper objects). */
export class UndiciAttempt extends Attempt {
  abortFn: ((err?: Error) => void) | null = null;

  abort(err: Error): void {
    // Still queued in the pool: onConnect aborts it as soon as it gets a socket.
    if (this.abortFn !== null) this.abortFn(err);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.phase === SETTLED) {
      abort();
      return;
    }
    this.abortFn = abort;
    this.sent = true;
  }
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    this.resume = resume;
    return this.p.onAttemptHeaders(this, statusCode, rawHeaders);
  }
  onData(chunk: Buffer): boolean {
    return this.p.onAttemptData(this, chunk);
  }
  onComplete(): void {
    this.p.onAttemptComplete(this, null, 0, 0);
  }
  onError(err: Error): void {
    this.p.onAttemptError(this, err);
  }
}

/** The same attempt through undici's v7 controller API (for comparison; see ServiceProxyOptions). */
export class ControllerAttempt extends UndiciAttempt {
  private controller: Dispatcher.DispatchController | null = null;
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    this.onConnect((err) => controller.abort(err ?? new Error('aborted')));
    this.resume = () => controller.resume();
  }
  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number): void {
    const raw = controller.rawHeaders as Buffer[];
    if (!this.p.onAttemptHeaders(this, statusCode, raw)) controller.pause();
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.p.onAttemptData(this, chunk)) controller.pause();
  }
  onResponseEnd(): void {
    this.p.onAttemptComplete(this, null, 0, 0);
  }
  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.p.onAttemptError(this, err);
  }
}
// (undici wraps any handler that has onRequestStart in its UnwrapHandler and only talks to the
// wrapper, so the inherited legacy methods of ControllerAttempt are never called by undici.)

/** The request as undici takes it, once per downstream request (shared by its retries). */
export function undiciRequest(x: Exchange, pipelining: number): Dispatcher.DispatchOptions {
  return {
    path: x.path,
    method: x.method,
    headers: x.headers,
    body: x.body,
    // undici's idempotent flag only orders pipelined requests; ours decides retries.
    idempotent: x.idempotent,
    blocking: pipelining <= 1,
  };
}

/**
 * The response head undici hands over as raw buffers, filtered for forwarding: end-to-end fields
 * kept, hop-by-hop ones and those Connection names dropped. Sets a.hasLength, and a.closeDelimited
 * for a body the upstream ends by closing (no length, no transfer coding).
 */
export function undiciForwardedHeaders(a: Attempt, status: number, raw: Buffer[]): string[] {
  const out: string[] = [];
  let connDrop: string[] | null = null;
  let coded = false;
  a.hasLength = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1');
    const kind = headerKind(name);
    if (kind === HDR_TRANSFER_ENCODING) coded = true; // chunked or another coding: undici frames it
    if (kind === HDR_FORWARD || kind === HDR_HOST || kind === HDR_EXPECT) {
      out.push(name, (raw[i + 1] as Buffer).toString('latin1'));
    } else if (kind === HDR_CONTENT_LENGTH) {
      a.hasLength = true;
      out.push(name, (raw[i + 1] as Buffer).toString('latin1'));
    } else if (kind === HDR_CONNECTION) {
      const t = connectionTokens((raw[i + 1] as Buffer).toString('latin1'));
      if (t !== null) connDrop = connDrop === null ? t : connDrop.concat(t);
    }
  }
  a.closeDelimited = !a.hasLength && !coded && status !== 204 && status !== 304 && !a.x.isHead;
  return connDrop === null ? out : dropNamed(out, connDrop);
}

export function createUndiciPool(ep: Endpoint, u: ProxyConfig['upstream'], perTryMs: number): UpstreamPool {
  return new Pool(ep.origin, {
    connections: u.connectionsPerReplica,
    pipelining: u.pipelining,
    keepAliveTimeout: u.keepAliveTimeoutMs,
    keepAliveMaxTimeout: u.keepAliveTimeoutMs,
    keepAliveTimeoutThreshold: 1000,
    connect: { timeout: u.connectTimeoutMs },
    // Backstop only: the per-try timeout (sweep) fires first and counts from dispatch.
    headersTimeout: perTryMs * 2 + 1000,
    bodyTimeout: u.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS,
  });
}
