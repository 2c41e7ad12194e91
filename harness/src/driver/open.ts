/**
 * The open-model engine: a constant arrival rate over raw keep-alive TCP connections.
 *
 * Schedule. Request i is due at start + i/rate (after an optional linear ramp, schedule.ts). Its row (intended time) is written to the ledger
 * right before it is written to a socket, and its latency runs from that intended time, not from
 * the actual write (coordinated-omission correct, like wrk2): a driver or a service that falls
 * behind shows up as latency and as send lag, never as a quieter schedule. Due requests go out
 * from a timer (ms resolution) and, in between, when a response frees a connection while a batch
 * is due (SEND_BATCH, schedule.ts) or the driver is behind, so the send lag stays ≤ ~1 ms on
 * schedule and each wake-up downstream serves several requests (docs/architecture.md, "Pacing"). When every
 * connection is busy (or the driver got no CPU) a due request waits and goes out late, counted
 * (sendLagUs, lateSends, maxScheduleLagMs). The sending phase ends when all requests of
 * [start, start + durationMs) went out, or max(maxLateMs, timeoutMs) after that window if the
 * driver is still behind: what was due and never written is `unsent` (k6's dropped_iterations),
 * not a ledger row. Either way the run says how far behind it fell.
 *
 * Connections. One request in flight per connection (no pipelining). An idle connection is
 * reused LIFO (hot ones stay hot, the rest idle out), never after it sat idle longer than
 * KEEPALIVE_IDLE_MS or the server's `Keep-Alive: timeout` minus 1 s, so the client always gives
 * up an idle connection before the server does (the keep-alive race). New connections are opened
 * up to `connections` when none is idle; the request is written while the connection is still
 * connecting.
 *
 * Accounting: every row ends exactly once —
 *   complete response    → Ok (2xx + own id echoed) | IdMismatch (2xx otherwise) | HttpError;
 *   FIN / error / close  → Reset if the connection had connected (zero or partial response),
 *                          Refused if it never connected;
 *   no complete response timeoutMs after the actual write → Timeout (the socket is destroyed);
 *   unparseable response → OtherError;
 *   still in flight timeoutMs after the sending phase ended → Abandoned.
 *
 * rate = 0 is a closed loop (each connection sends its next request as soon as a response
 * arrives; intended = actual send): for throughput comparisons with wrk, never for a proof.
 */
import net from 'node:net';
import { errorCode } from '../../../common/src/errors.js';
import { nowMs } from './clock.js';
import { emptySummary, type EngineOptions, type EngineResult, type EngineRun, validateConfig } from './engine.js';
import {
  buildMix,
  digitCount,
  type EncodedTemplate,
  encodeTemplates,
  FAILED,
  ID_MATCH,
  ID_MISSING,
  NEED_MORE,
  parseTargetUrl,
  ReplicaInterner,
  ResponseParser,
  type TargetUrl,
  writeDigits,
} from './http1.js';
import { Ledger } from './ledger.js';
import { arrivalSchedule, sendsOnResponse, type ArrivalSchedule } from './schedule.js';
import { RunStats, statsFromLedger } from './stats.js';
import { type DriverConfig, type DriverSummary, Outcome } from './types.js';

/** Client-side idle limit for a keep-alive connection (Node's server default is 5 s). */
export const KEEPALIVE_IDLE_MS = 2000;
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * How long an idle connection may be reused, given the server's `Keep-Alive: timeout=N` hint:
 * KEEPALIVE_IDLE_MS at most, and well inside the server's own idle timeout (its hint minus 1 s,
 * like Node's http.Agent, or half of it for hints of 2 s and less).
 */
export function idleLimitMs(hintSeconds: number): number {
  const hint = hintSeconds * 1000;
  return Math.min(KEEPALIVE_IDLE_MS, Math.max(hint - 1000, hint / 2));
}

const C_BUSY = 1;
const C_IDLE = 2;
const C_CLOSED = 3;

class Conn {
  state = C_BUSY;
  connected = false;
  /** Row in flight, or -1. */
  seq = -1;
  sentAt = 0;
  idleSince = 0;
  idleLimitMs = KEEPALIVE_IDLE_MS;
  /** Position in the engine's `conns` array. */
  slot = -1;
  scratch: Buffer | null = null;
  scratchTpl = -1;
  scratchDigits = -1;
  view: Buffer | null = null;
  socket!: net.Socket;

  constructor(readonly parser: ResponseParser) {}
}

export function startOpenEngine(config: DriverConfig, options: EngineOptions = {}): EngineRun {
  validateConfig(config);
  const engine = new OpenEngine(config, options);
  engine.begin();
  return { done: engine.done, stop: () => engine.stop(), setHeaders: (h) => engine.setHeaders(h) };
}

class OpenEngine {
  readonly done: Promise<EngineResult>;
  private resolveDone!: (r: EngineResult) => void;
  private rejectDone!: (e: unknown) => void;

  private readonly target: TargetUrl;
  private templates: EncodedTemplate[];
  private readonly mix: Uint16Array;
  private maxRequestBytes: number;
  private readonly ledger: Ledger;
  private readonly interner: ReplicaInterner;
  private readonly idPrefix: Uint8Array;
  private readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  private readonly closedLoop: boolean;
  private readonly schedule: ArrivalSchedule;
  /** Requests in [start, start + durationMs) (open model). */
  private readonly total: number;
  private readonly maxLateUs: number;
  /** Open model: how long after the window a driver that is behind may still send. */
  private readonly sendGraceMs: number;
  private sendDeadline = 0;
  private stats!: RunStats;

  private start = 0;
  private nextSeq = 0;
  private sending = false;
  private draining = false;
  private finished = false;
  private interrupted = false;
  private sendingEndedAt = 0;
  private drainDeadline = 0;
  private unsent = 0;
  /** load.writes: cumulative write counts (progress.writes). */
  private readonly writes = { sent: 0, acknowledged: 0, failed: 0 };
  private anomalies = 0;
  /** First socket error code seen (diagnostics). */
  lastSocketError = '';

  private readonly conns: Conn[] = [];
  private readonly idle: Conn[] = [];
  private openCount = 0;
  private busyCount = 0;
  private connectionsOpened = 0;
  private maxOpen = 0;

  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private sweepTimer: NodeJS.Timeout | null = null;
  private progressTimer: NodeJS.Timeout | null = null;
  private readonly onTimer = (): void => {
    this.timer = null;
    this.timerAt = Infinity;
    this.pump(nowMs());
  };

  constructor(
    private readonly cfg: DriverConfig,
    private readonly options: EngineOptions,
  ) {
    this.done = new Promise<EngineResult>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.target = parseTargetUrl(cfg.url);
    this.templates = encodeTemplates(cfg.requests, this.target, cfg.runId);
    this.mix = buildMix(cfg.requests.map((r) => r.weight));
    this.maxRequestBytes = Math.max(...this.templates.map((t) => t.prefix.length + t.suffix.length)) + 16;
    this.closedLoop = cfg.rate === 0;
    this.schedule = arrivalSchedule(cfg.rate, cfg.durationMs, cfg.rampUpMs ?? 0);
    this.total = this.closedLoop ? Number.MAX_SAFE_INTEGER : this.schedule.total;
    this.maxLateUs = cfg.maxLateMs * 1000;
    this.sendGraceMs = this.closedLoop ? 0 : Math.max(cfg.maxLateMs, cfg.timeoutMs);
    this.ledger = new Ledger(cfg.runId, this.closedLoop ? 65_536 : this.total + 16);
    this.interner = new ReplicaInterner((name) => this.ledger.internReplica(name));
    this.idPrefix = Uint8Array.from(Buffer.from(`${cfg.runId}-`, 'latin1'));
  }

  begin(): void {
    this.start = nowMs();
    this.sendDeadline = this.start + this.cfg.durationMs + this.sendGraceMs;
    this.stats = new RunStats(this.start);
    this.sending = true;
    const sweepMs = Math.max(2, Math.min(50, Math.floor(this.cfg.timeoutMs / 20)));
    this.sweepTimer = setInterval(() => this.guard(() => this.sweep()), sweepMs);
    const every = this.options.progressIntervalMs ?? 250;
    if (this.options.onProgress) this.progressTimer = setInterval(() => this.guard(() => this.emitProgress(false)), every);
    this.guard(() => this.pump(this.start));
  }

  /** Re-encodes the templates with these headers; every connection re-copies its scratch on its next send. */
  setHeaders(headers: Record<string, string>): void {
    this.guard(() => {
      const requests = this.cfg.requests.map((r) => ({ ...r, headers: { ...r.headers, ...headers } }));
      const templates = encodeTemplates(requests, this.target, this.cfg.runId);
      const longest = Math.max(...templates.map((t) => t.prefix.length + t.suffix.length)) + 16;
      if (longest > this.maxRequestBytes) this.maxRequestBytes = longest;
      for (const c of this.conns) {
        c.scratchTpl = -1;
        if (c.scratch !== null && c.scratch.length < this.maxRequestBytes) c.scratch = null;
      }
      this.templates = templates;
    });
  }

  stop(): void {
    if (this.finished) return;
    this.interrupted = true;
    this.guard(() => {
      if (this.sending) this.endSending(nowMs());
    });
  }

  /** Any exception in the engine's own code fails the run loudly instead of hanging it. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.abort(err);
    }
  }

  private abort(err: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimers();
    for (const c of this.conns) c.socket.destroy();
    this.rejectDone(err);
  }

  // ---- sending -----------------------------------------------------------------------------

  /** Sends what is due; a pump for a freed connection leaves a small batch to the timer (sendsOnResponse). */
  private pump(now: number, onResponse = false): void {
    if (!this.sending) return;
    const closed = this.closedLoop;
    if (now >= this.sendDeadline) {
      this.endSending(now);
      return;
    }
    const due = closed ? Number.MAX_SAFE_INTEGER : this.schedule.dueBy(now - this.start);
    if (onResponse && !closed && !sendsOnResponse(this.timer !== null, due - this.nextSeq)) return;
    while (this.nextSeq < due) {
      let c = this.takeIdle(now);
      if (c === null) {
        if (this.openCount >= this.cfg.connections) break;
        c = this.openConn();
      }
      this.send(c, now);
    }
    if (!closed && this.nextSeq >= this.total) {
      this.endSending(now);
      return;
    }
    if (closed) this.armTimer(this.start + this.cfg.durationMs, now);
    else if (this.nextSeq >= due) this.armTimer(this.start + this.schedule.at(this.nextSeq), now);
    // else: behind schedule with every connection busy; a response, a close or the sweep pumps again
  }

  private armTimer(at: number, now: number): void {
    if (this.timer !== null && this.timerAt <= at) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    // Node timers have 1 ms resolution and never fire early in loop time: floor keeps the lag small.
    this.timer = setTimeout(this.onTimer, Math.max(0, Math.floor(at - now)));
  }

  private send(c: Conn, now: number): void {
    const ledger = this.ledger;
    const seq = ledger.add(this.closedLoop ? now : this.start + this.schedule.at(this.nextSeq));
    if (seq !== this.nextSeq) this.anomalies++;
    this.nextSeq = seq + 1;
    const tplIdx = this.mix[seq % this.mix.length]!;
    const tpl = this.templates[tplIdx]!;
    // Encode into the connection's scratch buffer: only the id digits change from one request to
    // the next; prefix and suffix are copied when the template or the digit count changes.
    if (tpl.render !== null) {
      this.writes.sent++;
      // A keyed write: its own bytes (the id is in the path and in the body); the scratch stays as it was.
      c.view = tpl.render(seq);
      c.scratchTpl = -1;
    } else {
      let buf = c.scratch;
      if (buf === null) {
        buf = c.scratch = Buffer.allocUnsafe(this.maxRequestBytes);
        c.scratchTpl = -1;
      }
      if (c.scratchTpl !== tplIdx) {
        tpl.prefix.copy(buf, 0);
        c.scratchTpl = tplIdx;
        c.scratchDigits = -1;
      }
      const digits = digitCount(seq);
      const idEnd = tpl.prefix.length + digits;
      writeDigits(buf, idEnd, seq, digits);
      if (c.scratchDigits !== digits) {
        tpl.suffix.copy(buf, idEnd);
        c.scratchDigits = digits;
        c.view = buf.subarray(0, idEnd + tpl.suffix.length);
      }
    }
    c.seq = seq;
    c.sentAt = now;
    if (c.state !== C_BUSY) {
      c.state = C_BUSY;
    }
    this.busyCount++;
    c.parser.begin(seq, tpl.isHead);
    this.stats.noteSend(ledger.markSent(seq, now), this.maxLateUs);
    const sock = c.socket;
    sock.write(c.view!);
    // A write the kernel did not take at once keeps a reference to our buffer: use a new one next time.
    if (sock.writableLength !== 0) c.scratch = null;
  }

  private takeIdle(now: number): Conn | null {
    const idle = this.idle;
    while (idle.length > 0) {
      const c = idle.pop()!;
      if (c.state !== C_IDLE) continue;
      if (now - c.idleSince > c.idleLimitMs) {
        this.closeConn(c);
        continue;
      }
      return c;
    }
    return null;
  }

  private openConn(): Conn {
    const c = new Conn(new ResponseParser(this.idPrefix, this.interner));
    const sock = net.connect({
      host: this.target.host,
      port: this.target.port,
      noDelay: true,
      onread: { buffer: this.readBuffer, callback: (n: number, b: Uint8Array) => this.onRead(c, n, b as Buffer) },
    });
    c.socket = sock;
    c.slot = this.conns.length;
    this.conns.push(c);
    this.openCount++;
    this.connectionsOpened++;
    if (this.openCount > this.maxOpen) this.maxOpen = this.openCount;
    sock.on('connect', () => {
      c.connected = true;
    });
    sock.on('end', () => this.guard(() => this.onEnd(c)));
    sock.on('error', (err: Error) => this.guard(() => this.onError(c, err)));
    sock.on('close', () => this.guard(() => this.onClose(c)));
    return c;
  }

  // ---- receiving ---------------------------------------------------------------------------

  private onRead(c: Conn, n: number, b: Buffer): boolean {
    try {
      if (c.seq < 0) {
        // Bytes with no request in flight (no pipelining): the server is out of step. Counted (a
        // response nothing asked for means the exchange cannot be trusted), and the connection dropped.
        this.anomalies++;
        if (c.state !== C_CLOSED) this.closeConn(c);
        return false;
      }
      const p = c.parser;
      const r = p.execute(b, 0, n);
      if (r === NEED_MORE) return true;
      const now = nowMs();
      if (r === FAILED) {
        this.finishConnRow(c, now, Outcome.OtherError, p.status, p.replicaIdx || p.upstreamIdx, p.attempts);
        this.closeConn(c);
        this.pump(now);
        return false;
      }
      this.completeResponse(c, now);
      if (r < n) {
        // More bytes than one response: an extra or unsolicited response. Counted, and the
        // connection dropped (the next exchange cannot be trusted).
        this.anomalies++;
        this.closeConn(c);
      } else if (!p.keepAlive || !this.sending) {
        this.closeConn(c);
      } else {
        c.state = C_IDLE;
        c.idleSince = now;
        const ka = p.keepAliveTimeoutS;
        if (ka >= 0) c.idleLimitMs = idleLimitMs(ka);
        this.idle.push(c);
      }
      this.pump(now, true);
      return true;
    } catch (err) {
      this.abort(err);
      return false;
    }
  }

  private completeResponse(c: Conn, now: number): void {
    const p = c.parser;
    const st = p.status;
    const idOk = p.idState === ID_MATCH || (p.idState === ID_MISSING && this.cfg.idsOptional === true);
    const outcome = st >= 200 && st < 300 ? (idOk ? Outcome.Ok : Outcome.IdMismatch) : Outcome.HttpError;
    this.finishConnRow(c, now, outcome, st, p.replicaIdx || p.upstreamIdx, p.attempts);
  }

  private onEnd(c: Conn): void {
    if (c.seq >= 0) {
      const now = nowMs();
      if (c.parser.completesAtEof()) this.completeResponse(c, now);
      else this.failInFlight(c, now);
    }
    this.closeConn(c);
    this.pump(nowMs());
  }

  private onError(c: Conn, err: Error): void {
    // ECONNREFUSED and any other connect error before 'connect' → Refused; after it → Reset.
    if (this.lastSocketError === '') this.lastSocketError = errorCode(err) ?? err.message;
    if (c.seq >= 0) this.failInFlight(c, nowMs());
    this.closeConn(c);
  }

  private onClose(c: Conn): void {
    if (c.seq >= 0) this.failInFlight(c, nowMs());
    this.closeConn(c);
    this.pump(nowMs());
  }

  private failInFlight(c: Conn, now: number): void {
    const p = c.parser;
    this.finishConnRow(c, now, c.connected ? Outcome.Reset : Outcome.Refused, p.status, p.replicaIdx || p.upstreamIdx, p.attempts);
  }

  /** Ends the connection's in-flight row. */
  private finishConnRow(c: Conn, now: number, outcome: Outcome, status: number, replicaIdx: number, attempts: number): void {
    const seq = c.seq;
    if (seq < 0) return;
    c.seq = -1;
    this.busyCount--;
    this.finishRow(seq, now, outcome, status, replicaIdx, attempts);
  }

  private finishRow(seq: number, now: number, outcome: Outcome, status: number, replicaIdx: number, attempts: number): void {
    if (!this.ledger.completeIdx(seq, now, outcome, status, replicaIdx, attempts)) {
      this.anomalies++; // a row ended twice: our bookkeeping is wrong
      return;
    }
    this.stats.record(outcome, status, this.ledger.latencyUsOf(seq), attempts);
    if (this.templates[this.mix[seq % this.mix.length]!]!.render !== null) {
      if (outcome === Outcome.Ok) this.writes.acknowledged++;
      else this.writes.failed++;
    }
    if (this.draining && this.busyCount === 0) this.finish(now);
  }

  /** Takes a connection out of service (idempotent); the socket is destroyed. */
  private closeConn(c: Conn): void {
    if (c.state === C_CLOSED) return;
    if (c.seq >= 0) this.failInFlight(c, nowMs());
    c.state = C_CLOSED;
    this.openCount--;
    const last = this.conns.pop()!;
    if (last !== c) {
      this.conns[c.slot] = last;
      last.slot = c.slot;
    }
    c.slot = -1;
    c.socket.destroy();
  }

  // ---- time-driven work --------------------------------------------------------------------

  private sweep(): void {
    const now = nowMs();
    const timeout = this.cfg.timeoutMs;
    const conns = this.conns;
    for (let i = conns.length - 1; i >= 0; i--) {
      const c = conns[i];
      if (c === undefined) continue;
      if (c.seq >= 0 && now - c.sentAt >= timeout) {
        const p = c.parser;
        this.finishConnRow(c, now, Outcome.Timeout, p.status, p.replicaIdx || p.upstreamIdx, p.attempts);
        this.closeConn(c);
      } else if (c.state === C_IDLE && now - c.idleSince > c.idleLimitMs) {
        this.closeConn(c);
      }
    }
    if (this.finished) return;
    if (this.sending) this.pump(now);
    else if (this.draining && now >= this.drainDeadline) this.finish(now);
  }

  private endSending(now: number): void {
    if (!this.sending) return;
    this.sending = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.closedLoop) {
      this.sendingEndedAt = now;
    } else {
      const due = this.schedule.dueBy(now - this.start);
      this.unsent = Math.max(0, due - this.nextSeq);
      this.sendingEndedAt = this.nextSeq > 0 ? this.start + this.schedule.at(this.nextSeq - 1) : this.start;
    }
    for (const c of [...this.idle]) if (c.state === C_IDLE) this.closeConn(c);
    this.idle.length = 0;
    this.draining = true;
    this.drainDeadline = now + this.cfg.timeoutMs;
    if (this.busyCount === 0) this.finish(now);
  }

  private finish(now: number): void {
    if (this.finished) return;
    this.finished = true;
    this.draining = false;
    this.clearTimers();
    for (const c of [...this.conns]) {
      if (c.seq >= 0) {
        const p = c.parser;
        this.finishConnRowFinal(c, now, p);
      }
      this.closeConn(c);
    }
    // Every row is attached to a connection until it ends, so nothing should be left; if
    // something is, it is abandoned (never forgotten) and the mismatch below flags it.
    this.ledger.abandonPending(now);
    const summary: DriverSummary = {
      ...emptySummary(this.cfg, this.start),
      sendingEndedAt: this.sendingEndedAt,
      endedAt: now,
      interrupted: this.interrupted,
      unsent: this.unsent,
      connectionsOpened: this.connectionsOpened,
      maxOpenConnections: this.maxOpen,
      anomalies: this.anomalies,
    };
    const final = statsFromLedger({ ...this.ledger.columns, length: this.ledger.length }, this.cfg.maxLateMs, now);
    // The running count of writes, not the ledger scan: ledger.bookkeeping compares the two.
    summary.sent = this.stats.sent;
    summary.lateSends = final.lateSends;
    summary.maxScheduleLagMs = final.maxScheduleLagMs;
    summary.abandoned = final.abandoned;
    if (final.sent !== this.stats.sent || final.completed + final.abandoned !== this.stats.completed + this.stats.abandoned) {
      summary.anomalies++;
    }
    if (this.options.onProgress) {
      this.options.onProgress({
        ...final.progress(now, { inFlight: 0, openConnections: 0, scheduleLagMs: 0, targetRate: this.cfg.rate, final: true }),
        writes: { ...this.writes },
      });
    }
    this.resolveDone({ ledger: this.ledger, summary });
  }

  /** At the drain deadline: whatever is still in flight is abandoned (not a timeout: we gave up). */
  private finishConnRowFinal(c: Conn, now: number, p: ResponseParser): void {
    this.finishConnRow(c, now, Outcome.Abandoned, p.status, p.replicaIdx || p.upstreamIdx, p.attempts);
  }

  private emitProgress(final: boolean): void {
    const cb = this.options.onProgress;
    if (!cb || this.finished) return;
    const now = nowMs();
    let lag = 0;
    if (this.sending && !this.closedLoop) {
      const due = this.schedule.dueBy(now - this.start);
      if (this.nextSeq < due) lag = now - (this.start + this.schedule.at(this.nextSeq));
    }
    cb({
      ...this.stats.progress(now, { inFlight: this.busyCount, openConnections: this.openCount, scheduleLagMs: lag, targetRate: this.cfg.rate, final }),
      writes: { ...this.writes },
    });
  }

  private clearTimers(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    if (this.progressTimer !== null) clearInterval(this.progressTimer);
    this.timer = this.sweepTimer = this.progressTimer = null;
  }
}
