/**
 * The autocannon engine: the design package, driven programmatically, with our own per-request
 * accounting bolted on. autocannon's own numbers are kept only as `autocannonReported`.
 *
 * What autocannon 8.0.0 gets wrong, and what we do about it (lib/httpClient.js, lib/run.js;
 * and what we measured of it):
 * - Closed loop per connection. `overallRate` is not an open model: each connection gets
 *   rate/connections requests per 1-second window (`reqsMadeThisSecond`, reset by a 1000 ms
 *   setInterval), sends them back to back as soon as the window opens, then idles. 20k req/s
 *   arrives as a burst in the first ~300 ms of every second. We record what really happened
 *   (intended = actual send time, send lag 0), so the ledger shows the bursts; only the open
 *   engine can prove a constant arrival rate.
 * - CO "correction" bug: latencies are recorded with recordValueWithExpectedInterval(ms,
 *   ceil(1/ratePerConnection)) = an expected interval of 1 ms instead of 1000/rate ms. Our
 *   latencies are measured per request, from its send to the end of its response, by us.
 * - A request whose connection got a FIN is silently forgotten (conn 'end' → reconnect: neither
 *   error nor timeout), and its queue entry is never cleared, so every later latency is measured
 *   from a stale timestamp. `errors` counts connection errors (one per failed reconnect), not
 *   failed requests. `requests.sent` counts requests written onto dead or connecting sockets and
 *   adds phantom sends under a rate limit. We hook every write and every socket ourselves:
 *   a row per write, ended by its own response (matched by the echoed id), by its socket's close
 *   (Reset, or Refused if it never connected), or by autocannon's timeout (Timeout).
 * - The shared http-parser-js parser is not reset on reconnect; a response cut in half by a FIN
 *   can corrupt the parse of the next one. Its failures show up as id mismatches in our ledger.
 * - Per-request hooks do not work in `workers` mode; we never use it (the whole engine already
 *   runs in the driver's worker thread).
 * - `timeout` is in seconds and validation rejects < 1: timeoutMs below 1000 is rounded up to
 *   1 s for this engine. The timer is per client, re-armed on every write; in rate mode it can
 *   also fire on a client that idles longer than `timeout` between windows, which autocannon
 *   then counts as an error and a timeout although no request was in flight (ours: nothing).
 *
 * Request ids. setupRequest(req) is called exactly once per request written (for the first
 * request of a connection it runs inside the Client constructor, just before setupClient; for
 * every later one inside _doRequest, just before the write), so it is where a row is added and
 * its id `<runId>-<seq>` set as a header: distinct on the wire, and the seq is the ledger row.
 * (`idReplacement` gives distinct hyperids — `<instance>-<counter>` — which cannot be matched back
 * to a row without parsing every request buffer; not used.) The write itself is observed by
 * wrapping the client's getRequestBuffer(), called only by _doRequest right before conn.write.
 *
 * End of run. autocannon's own stop destroys every connection without waiting for responses.
 * We end the sending phase ourselves (every client parked: see park()),
 * wait up to timeoutMs for in-flight requests, then stop autocannon; whatever is still in flight
 * is Abandoned.
 */
import { ZerodropError } from '../../../common/src/errors.js';
import type { EventEmitter } from 'node:events';
import type net from 'node:net';
import autocannon from 'autocannon';
import { nowMs } from './clock.js';
import { emptySummary, type EngineOptions, type EngineResult, type EngineRun, validateConfig } from './engine.js';
import { assertRunId, buildMix, ID_HEADER, parseTargetUrl, SERVED_BY_HEADER } from './http1.js';
import { Ledger } from './ledger.js';
import { RunStats, statsFromLedger } from './stats.js';
import { type DriverConfig, type DriverSummary, Outcome } from './types.js';
import { PROXY_HEADERS } from '../../../contract/index.js';

/** The parts of autocannon's Client (lib/httpClient.js) we rely on. */
interface AcClient extends EventEmitter {
  conn: net.Socket;
  rate: number | undefined;
  reqsMadeThisSecond: number;
  rateInterval?: NodeJS.Timeout;
  getRequestBuffer(): Buffer;
  _destroyConnection(): void;
}

/** http-parser-js kOnHeadersComplete info, as autocannon emits it in 'headers'. */
interface AcHead {
  statusCode: number;
  headers: string[];
}

interface InFlight {
  seq: number;
  conn: net.Socket;
}

interface ClientState {
  client: AcClient;
  inflight: InFlight[];
  head: AcHead | null;
  /** The connection _destroyConnection() last took down (for 'timeout'). */
  destroyed: net.Socket | null;
}

/**
 * Makes _doRequest park instead of writing: `if (!rate || reqsMadeThisSecond++ < rate) write
 * else paused = true`. The 1 s window reset is cleared so nothing unparks it. (rate must stay
 * positive: onResponse records with recordValueWithExpectedInterval(ms, ceil(1 / rate)), and a
 * negative rate crashes hdr-histogram's wasm.)
 */
function park(client: AcClient): void {
  if (client.rateInterval !== undefined) clearInterval(client.rateInterval);
  if (!client.rate) client.rate = 1;
  client.reqsMadeThisSecond = Number.POSITIVE_INFINITY;
}

/**
 * autocannon's own counts. Outside the main thread run.js skips aggregateResult() (it assumes
 * it is one of its own `workers`) and hands back the raw result: totalRequests /
 * totalCompletedRequests instead of requests.sent / requests.total.
 */
function reported(result: autocannon.Result): NonNullable<DriverSummary['autocannonReported']> {
  const raw = result as unknown as { totalRequests?: number; totalCompletedRequests?: number; requests?: { sent?: number; total?: number } };
  return {
    sent: raw.requests?.sent ?? raw.totalRequests ?? 0,
    completed: raw.requests?.total ?? raw.totalCompletedRequests ?? 0,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  };
}

export function startAutocannonEngine(config: DriverConfig, options: EngineOptions = {}): EngineRun {
  validateConfig(config);
  const target = parseTargetUrl(config.url);
  assertRunId(config.runId);
  if (config.requests.some((r) => r.keyedWrite === true)) {
    throw new ZerodropError('ZD_BAD_USAGE', 'load.writes needs the open engine (a write is keyed from its request id)', {
      fix: 'use load.engine: open, or load.writes: 0',
    });
  }
  const mix = buildMix(config.requests.map((r) => r.weight));
  const templates = config.requests.map((t) => ({
    method: t.method.toUpperCase(),
    path: target.basePath + t.path,
    headers: t.headers,
    hasHeaders: Object.keys(t.headers).length > 0,
    body: t.body,
  }));
  const idPrefix = `${config.runId}-`;
  const rowsGuess = config.rate > 0 ? Math.ceil((config.rate * config.durationMs) / 1000) + config.connections * 4 : 65_536;
  const ledger = new Ledger(config.runId, rowsGuess);
  const maxLateUs = config.maxLateMs * 1000;

  const clients: ClientState[] = [];
  const connected = new WeakMap<net.Socket, boolean>();
  let pendingSeq = -1;
  let anomalies = 0;
  let sending = true;
  let finished = false;
  let interrupted = false;
  let inFlight = 0;
  let sendingEndedAt = 0;
  let stopRequested = false;
  let connectionsSeen = 0;
  const start = nowMs();
  const stats = new RunStats(start);

  let resolveDone!: (r: EngineResult) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<EngineResult>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });

  const finishRow = (seq: number, now: number, outcome: Outcome, status: number, replica: string | null, attempts: number): void => {
    if (!ledger.complete(seq, now, outcome, status, replica, attempts)) {
      anomalies++;
      return;
    }
    inFlight--;
    stats.record(outcome, status, ledger.latencyUsOf(seq), attempts);
  };

  const failEntries = (st: ClientState, conn: net.Socket, outcome: Outcome | null): void => {
    if (finished) return;
    const now = nowMs();
    const keep: InFlight[] = [];
    for (const e of st.inflight) {
      if (e.conn !== conn) keep.push(e);
      else finishRow(e.seq, now, outcome ?? (connected.get(conn) === true ? Outcome.Reset : Outcome.Refused), 0, null, 1);
    }
    st.inflight = keep;
  };

  const hookConn = (st: ClientState, conn: net.Socket): void => {
    if (connected.has(conn)) return;
    connectionsSeen++;
    connected.set(conn, conn.readyState === 'open');
    conn.once('connect', () => connected.set(conn, true));
    // 'close' is never removed by autocannon (_destroyConnection removes only error/end listeners).
    conn.once('close', () => failEntries(st, conn, null));
  };

  const onWrite = (st: ClientState): void => {
    const seq = pendingSeq;
    pendingSeq = -1;
    if (seq < 0 || finished) {
      anomalies++; // a buffer written without a setupRequest: a request we could not number
      return;
    }
    const now = nowMs();
    // Closed model: the intended time is the write itself (send lag 0). The row was added a few
    // µs earlier in setupRequest, where its seq was needed for the id header.
    ledger.columns.intended[seq] = now;
    stats.noteSend(ledger.markSent(seq, now), maxLateUs);
    inFlight++;
    const conn = st.client.conn;
    hookConn(st, conn);
    st.inflight.push({ seq, conn });
  };

  const onResponse = (st: ClientState, statusCode: number): void => {
    if (finished) return;
    const now = nowMs();
    const head = st.head;
    st.head = null;
    const status = head?.statusCode ?? statusCode;
    let echoed: string | null = null;
    let servedBy: string | null = null;
    let upstream: string | null = null;
    let attempts = 1;
    const raw = head?.headers ?? [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const n = raw[i]!;
      // only names of the lengths we look for are lowercased (13, 11, 19)
      if (n.length !== 13 && n.length !== 11 && n.length !== 19) continue;
      const name = n.toLowerCase();
      const value = raw[i + 1]!;
      if (name === ID_HEADER) echoed = echoed === null ? value : '';
      else if (name === SERVED_BY_HEADER) servedBy = value;
      else if (name === PROXY_HEADERS.upstream) upstream = value;
      else if (name === PROXY_HEADERS.attempts) attempts = Number.parseInt(value, 10) || 1;
    }
    let idx = -1;
    if (echoed !== null && echoed.startsWith(idPrefix)) {
      const seq = Number(echoed.slice(idPrefix.length));
      idx = st.inflight.findIndex((e) => e.seq === seq);
    }
    const ok2xx = status >= 200 && status < 300;
    let outcome: Outcome = ok2xx ? Outcome.Ok : Outcome.HttpError;
    if (idx < 0) {
      // Not our id (or none): the response belongs to the oldest request on the live connection.
      idx = st.inflight.findIndex((e) => e.conn === st.client.conn);
      if (ok2xx) outcome = Outcome.IdMismatch;
    }
    if (idx < 0) {
      anomalies++; // a response with no request in flight (autocannon's stale queue)
      return;
    }
    const entry = st.inflight[idx]!;
    st.inflight.splice(idx, 1);
    finishRow(entry.seq, now, outcome, status, servedBy ?? upstream, attempts);
  };

  const setupClient = (c: unknown): void => {
    const client = c as AcClient;
    const st: ClientState = { client, inflight: [], head: null, destroyed: null };
    clients.push(st);
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with .call(this)
    const getRequestBuffer = client.getRequestBuffer;
    client.getRequestBuffer = function wrapped(this: AcClient): Buffer {
      const buf = getRequestBuffer.call(this);
      onWrite(st);
      return buf;
    };
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with .call(this)
    const destroyConnection = client._destroyConnection;
    client._destroyConnection = function wrapped(this: AcClient): void {
      st.destroyed = this.conn;
      destroyConnection.call(this);
    };
    client.on('headers', (h: AcHead) => {
      st.head = h;
    });
    client.on('response', (statusCode: number) => onResponse(st, statusCode));
    // handleTimeout: _destroyConnection(), _connect(), then 'timeout' (pipelining times).
    client.on('timeout', () => {
      if (st.destroyed !== null) failEntries(st, st.destroyed, Outcome.Timeout);
    });
    if (!sending) park(client);
  };

  const setupRequest = (req: autocannon.Request): autocannon.Request => {
    if (pendingSeq >= 0) anomalies++; // built twice without a write in between
    const seq = ledger.add(nowMs());
    pendingSeq = seq;
    const t = templates[mix[seq % mix.length]!]!;
    // requestBuilder hands us a fresh object with fresh headers: mutate in place.
    req.method = t.method as autocannon.Request['method'];
    req.path = t.path;
    const headers = (req.headers ??= {});
    if (t.hasHeaders) Object.assign(headers, t.headers);
    headers[ID_HEADER] = `${idPrefix}${seq}`;
    if (t.body !== null) req.body = t.body;
    else delete req.body;
    return req;
  };

  const timeoutS = Math.max(1, config.timeoutMs / 1000);
  const opts: autocannon.Options = {
    url: `http://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`,
    connections: config.connections,
    pipelining: 1,
    // autocannon's own end would cut in-flight requests; we end the run (see endSending).
    duration: (config.durationMs + config.timeoutMs) / 1000 + 30,
    timeout: timeoutS,
    sampleInt: 250,
    requests: [{ setupRequest }],
    setupClient: setupClient,
  };
  if (config.rate > 0) opts.overallRate = config.rate;

  let instance: autocannon.Instance | null = null;
  let progressTimer: NodeJS.Timeout | null = null;
  let endTimer: NodeJS.Timeout | null = null;
  let drainTimer: NodeJS.Timeout | null = null;

  const onDone = (err: unknown, result: autocannon.Result | undefined): void => {
    if (finished) return;
    const now = nowMs();
    finished = true;
    for (const t of [progressTimer, endTimer, drainTimer]) if (t !== null) clearTimeout(t);
    if (err) {
      rejectDone(err);
      return;
    }
    // In flight when autocannon destroyed its connections: abandoned, and the close events
    // that follow find nothing (finished).
    for (const st of clients) st.inflight = [];
    ledger.abandonPending(now);
    const final = statsFromLedger({ ...ledger.columns, length: ledger.length }, config.maxLateMs, now);
    const summary: DriverSummary = {
      ...emptySummary(config, start),
      sendingEndedAt: sendingEndedAt || now,
      endedAt: now,
      // The running count of writes, not the ledger scan: ledger.bookkeeping compares the two.
      sent: stats.sent,
      lateSends: final.lateSends,
      maxScheduleLagMs: final.maxScheduleLagMs,
      interrupted,
      abandoned: final.abandoned,
      connectionsOpened: connectionsSeen,
      maxOpenConnections: clients.length,
      anomalies: anomalies + (pendingSeq >= 0 ? 1 : 0),
      autocannonReported: result ? reported(result) : null,
    };
    if (options.onProgress) {
      options.onProgress(final.progress(now, { inFlight: 0, openConnections: 0, scheduleLagMs: 0, targetRate: config.rate, final: true }));
    }
    resolveDone({ ledger, summary });
  };

  const endSending = (): void => {
    if (!sending || finished) return;
    sending = false;
    sendingEndedAt = nowMs();
    for (const st of clients) park(st.client);
    const deadline = sendingEndedAt + config.timeoutMs;
    const poll = (): void => {
      if (finished) return;
      if (inFlight <= 0 || nowMs() >= deadline) {
        if (!stopRequested) {
          stopRequested = true;
          instance?.stop(); // autocannon ends at its next sample tick (≤ sampleInt)
        }
        return;
      }
      drainTimer = setTimeout(poll, 5);
    };
    poll();
  };

  try {
    instance = autocannon(opts, (err: unknown, result: autocannon.Result) => onDone(err, result));
  } catch (err) {
    return { done: Promise.reject(err), stop: () => undefined };
  }
  instance.on('error', (err: unknown) => onDone(err, undefined));
  endTimer = setTimeout(endSending, config.durationMs);
  if (options.onProgress) {
    const cb = options.onProgress;
    progressTimer = setInterval(() => {
      if (finished) return;
      cb(stats.progress(nowMs(), { inFlight, openConnections: clients.length, scheduleLagMs: 0, targetRate: config.rate, final: false }));
    }, options.progressIntervalMs ?? 250);
  }
  return {
    done,
    stop: () => {
      if (finished) return;
      interrupted = true;
      endSending();
    },
  };
}
