/**
 * One downstream request (Exchange) and one try of it on one replica (Attempt), the objects of
 * the proxy's request state machine (proxy.ts), and the downstream connection's list of them.
 * Plain classes with every field declared up front: one hidden class each on the hot path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Endpoint } from './endpoints.js';
import { isIdempotent } from './http-semantics.js';
import type { RawMessage } from './raw-upstream.js';
import type { ProxyConfig } from './types.js';

/** What exchanges and attempts call back on the proxy (ServiceProxy implements it). */
export interface ExchangeHost {
  readonly config: ProxyConfig;
  begin(x: Exchange): void;
  respondLocal(x: Exchange, status: number, reason: string, ep: Endpoint | null, close: boolean, detail?: string): void;
  onClientGone(x: Exchange): void;
  onAttemptHeaders(a: Attempt, status: number, raw: Buffer[]): boolean;
  onAttemptData(a: Attempt, chunk: Buffer): boolean;
  onAttemptComplete(a: Attempt, b: Buffer | null, s: number, e: number): void;
  onAttemptError(a: Attempt, err: Error): void;
}

/**
 * Client aborts are seen on the downstream socket (one 'close' listener per connection), not on
 * each response: a property and a listener added to every ServerResponse cost a hidden-class
 * transition per request and make node:http's own property loads on it megamorphic.
 */
export const kClient = Symbol('zerodrop.client');
export type XSocket = Duplex & { [kClient]?: ClientConn };

/** One downstream connection: its exchanges not finished yet (several when the client pipelines). */
export class ClientConn {
  head: Exchange | null = null;
  constructor(readonly p: ExchangeHost) {}
}

export function onClientSocketClose(this: XSocket): void {
  const c = this[kClient];
  if (c === undefined) return;
  let x = c.head;
  while (x !== null) {
    const next = x.cnext;
    c.p.onClientGone(x); // unlinks it
    x = next;
  }
}

export const EMPTY: string[] = [];

/** Attempt phases. */
export const WAITING = 0; // dispatched, no response headers yet (on the per-try timeout list)
export const RECEIVING = 1; // headers received, body arriving
export const SETTLED = 2; // outcome decided; later undici callbacks only release resources

/** One downstream request. */
export class Exchange implements RawMessage {
  readonly t0 = performance.now();
  method: string;
  path: string;
  idempotent: boolean;
  isHead: boolean;
  /** undici: the forwarded headers, flat. */
  headers: string[] = EMPTY;
  /** raw: the request line, and the forwarded header lines + framing + blank line (see begin()). */
  line = '';
  rest = '';
  body: Buffer | null = null;
  bodyChunks: Buffer[] | null = null;
  bodyLen = 0;
  tries = 0;
  /** The replica of the first attempt; `tried` lists all of them once there was a retry. */
  first: Endpoint | null = null;
  tried: Endpoint[] | null = null;
  /** The downstream response was ended, or the client went away: nothing more to write. */
  finished = false;
  current: Attempt | null = null;
  opts: Dispatcher.DispatchOptions | null = null;
  /** Its downstream connection's list of unfinished exchanges. */
  client: ClientConn | null = null;
  cprev: Exchange | null = null;
  cnext: Exchange | null = null;

  constructor(
    readonly p: ExchangeHost,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {
    const method = req.method ?? 'GET';
    this.method = method;
    this.path = req.url ?? '/';
    this.idempotent = isIdempotent(method);
    this.isHead = method === 'HEAD';
  }
}

/** One try of an Exchange on one replica. */
export abstract class Attempt {
  phase = WAITING;
  sent = false;
  /** The client is done with the attempt (its in-flight slot on the endpoint is released). */
  released = false;
  /** Response bytes arrived before the head was complete (raw client only: undici does not say). */
  rawAnswered = false;
  // per-try timeout list (intrusive, FIFO == deadline order)
  deadline = 0;
  prev: Attempt | null = null;
  next: Attempt | null = null;
  listed = false;
  // response
  status = 0;
  resHeaders: string[] | null = null;
  hasLength = false;
  /** The body ends at the upstream's close: forwarded the same way (never given a Content-Length). */
  closeDelimited = false;
  chunks: Buffer[] | null = null;
  len = 0;
  streaming = false;
  discard = false;
  resume: (() => void) | null = null;

  constructor(
    readonly p: ExchangeHost,
    readonly x: Exchange,
    readonly ep: Endpoint,
    readonly retry: boolean,
  ) {}

  /** Stops the attempt now (per-try timeout, client gone): the client reports an error for it. */
  abstract abort(err: Error): void;
}

export type AttemptClass = new (p: ExchangeHost, x: Exchange, ep: Endpoint, retry: boolean) => Attempt;

export function onReqData(x: Exchange, chunk: Buffer): void {
  if (x.finished || x.bodyChunks === null) return;
  x.bodyLen += chunk.length;
  const p = x.p;
  if (x.bodyLen > p.config.maxBodyBytes) {
    x.bodyChunks = null;
    p.respondLocal(x, 413, 'body_too_large', null, true);
    return;
  }
  x.bodyChunks.push(chunk);
}

export function onReqEnd(x: Exchange): void {
  if (x.finished || x.bodyChunks === null) return;
  const chunks = x.bodyChunks;
  x.bodyChunks = null;
  x.body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, x.bodyLen);
  x.p.begin(x);
}

/** Takes a finished exchange off its connection's list. */
export function unlinkClient(x: Exchange): void {
  const c = x.client;
  if (c === null) return;
  x.client = null;
  const { cprev, cnext } = x;
  if (cprev === null) c.head = cnext;
  else cprev.cnext = cnext;
  if (cnext !== null) cnext.cprev = cprev;
  x.cprev = null;
  x.cnext = null;
}
