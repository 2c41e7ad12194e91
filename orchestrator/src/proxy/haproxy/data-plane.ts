/**
 * HAProxy as zerodrop's data plane (issue 7): the ProxyControl contract implemented by an haproxy
 * process driven through its runtime API. HAProxy carries the traffic (≈ 15 µs of CPU per request
 * against ≈ 45 µs for the Node proxy, measured by `npm run bench -- proxy`); this module only adds,
 * drains and removes replicas, and reads counters. See config.ts for the exact semantics and
 * stats.ts for what each ProxyStats field is worth.
 *
 *   addEndpoint      add server … (in maintenance) → enable health → set server … state ready
 *   drainEndpoint    set server … state drain → wait until its streams (scur + qcur) reach 0, at
 *                    most timeoutMs → state maint (HAProxy closes its idle connections: client-side
 *                    close, no keep-alive race) → counters frozen → del server
 *   removeEndpoint   set server … state maint at once; the streams still on it end by themselves
 *                    (a dead replica: empty response/refused → retried on another replica; a hung
 *                    one: per-try timeout → retried when idempotent); then del server. Only if they
 *                    outlive every try: shutdown sessions server, del server.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monotonicMs } from '../../../../common/src/clock.js';
import { ZerodropError, errorMessage } from '../../../../common/src/errors.js';
import { freeLoopbackPort } from '../../runtime/supervised-child.js';
import { validateProxyConfig } from '../config.js';
import type { DrainResult, FailedTryLog, LoggedRequests, ProxyConfig, ProxyControl, ProxyEndpoint, ProxyEvent, ProxyStats } from '../types.js';
import { FAILED_TRY_POLL_MS, FailedTryTracker } from './failed-tries.js';
import { preflightHaproxy } from './binary.js';
import {
  BACKEND,
  COUNTERS_TABLE,
  ERRORS_MAP,
  FRONTEND,
  IDS_MODE_VAR,
  IDS_TABLE,
  addServerCommand,
  haproxyConfigProblems,
  renderDataPlaneConfig,
  serverNameFor,
} from './config.js';
import { HaproxyProcess } from './process.js';
import { RequestLog } from './request-log.js';
import { RuntimeApi, RuntimeApiError, parseGpc0, type StatRow } from './runtime-api.js';
import {
  addCounters,
  buildProxyStats,
  emptyCounters,
  endpointStats,
  idStatsOf,
  renderMetrics,
  serverCounters,
  type AdminState,
  type ServerCounters,
} from './stats.js';

export interface HaproxyDataPlaneOptions {
  /** nbthread. Default 1 (one core for HAProxy, the other for the replicas and the harness). */
  threads?: number;
  /** Global and frontend maxconn. Default 4096 (HAProxy needs ~2 fds per connection). */
  maxconn?: number;
  /** The haproxy binary. Default $ZERODROP_HAPROXY_BIN or /usr/sbin/haproxy. */
  binary?: string;
  /** Process-group registry directory (tests). */
  stateDir?: string;
  /** Expose HAProxy's own Prometheus exporter (haproxy_* metrics) on a loopback port. Default: when config.metricsPort is not null. */
  nativeMetrics?: boolean;
  /** Bound on close(): hard-stop-after. Default 10 s. */
  closeTimeoutMs?: number;
}

const START_TIMEOUT_MS = 10_000;
const DRAIN_POLL_MS = 20;
const MAX_EVENTS = 1000;

interface Book {
  id: string;
  zone: string;
  version: string;
  host: string;
  port: number;
  /** Current HAProxy server name, or null once deleted. */
  name: string | null;
  admin: AdminState;
  /** Counters of this replica's deleted servers (a re-added replica keeps its history). */
  carried: ServerCounters;
  /** Last counters read while its server existed (what stats() shows once it is deleted). */
  last: ServerCounters;
  /** Background deletion after removeEndpoint / an incomplete drain. */
  deleting: Promise<void> | null;
}

export class HaproxyDataPlane implements ProxyControl {
  readonly url: string;
  /** HAProxy's own exporter (haproxy_* metrics), or null. */
  readonly nativeMetricsUrl: string | null;
  private readonly books = new Map<string, Book>();
  private readonly names = new Set<string>();
  private readonly events: ProxyEvent[] = [];
  private closing = false;
  private metricsServer: http.Server | null = null;
  private ownMetricsUrl: string | null = null;
  private lastStats: ProxyStats | null = null;
  private readonly failed = new FailedTryTracker();
  private pollTimer: NodeJS.Timeout | null = null;

  private constructor(
    readonly config: ProxyConfig,
    readonly version: string,
    private readonly proc: HaproxyProcess,
    readonly api: RuntimeApi,
    private readonly dir: string,
    port: number,
    nativeMetricsPort: number | null,
    private readonly closeTimeoutMs: number,
    private readonly requestLog: RequestLog,
  ) {
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    this.url = `http://${host}:${port}`;
    this.nativeMetricsUrl = nativeMetricsPort === null ? null : `http://127.0.0.1:${nativeMetricsPort}/metrics`;
  }

  /** zerodrop_proxy_* metrics translated from HAProxy's counters (config.metricsPort), or null. */
  get metricsUrl(): string | null {
    return this.ownMetricsUrl;
  }

  /** The haproxy process id. */
  get pid(): number | null {
    return this.proc.pid;
  }

  /** HAProxy's last stderr lines (alerts, health transitions). */
  logTail(lines = 20): string[] {
    return this.proc.stderrTail(lines);
  }

  static async start(config: ProxyConfig, options: HaproxyDataPlaneOptions = {}): Promise<HaproxyDataPlane> {
    validateProxyConfig(config);
    const problems = haproxyConfigProblems(config);
    if (problems.length > 0) {
      throw new ZerodropError('ZD_BAD_SPEC', `proxy config cannot be served by HAProxy: ${problems[0]}`, {
        details: problems,
        fix: 'fix the field, or use --proxy node',
      });
    }
    const { binary, version } = preflightHaproxy(options.binary);
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
      throw new ZerodropError('ZD_BAD_SPEC', `proxy config: haproxy threads must be an integer in [1, 64], got ${String(threads)}`, {
        fix: 'set proxy.haproxy.threads to 1 (default) or 2',
      });
    }
    const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    let lastError: unknown = null;
    // A free port may be taken between the probe and HAProxy's bind: one more try on other ports.
    for (let attempt = 0; attempt < 3; attempt++) {
      const dir = mkdtempSync(join(tmpdir(), `zd-haproxy-${config.runId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80)}-`));
      const port = config.port > 0 ? config.port : await freeLoopbackPort();
      const wantNative = options.nativeMetrics ?? config.metricsPort !== null;
      const nativePort = wantNative ? await freeLoopbackPort() : null;
      const socketPath = join(dir, 'admin.sock');
      const configFile = join(dir, 'haproxy.cfg');
      const errorsMapPath = join(dir, 'errors.map');
      writeFileSync(errorsMapPath, ERRORS_MAP);
      writeFileSync(
        configFile,
        renderDataPlaneConfig({
          config,
          port,
          socketPath,
          threads,
          maxconn: options.maxconn ?? 4096,
          nativeMetricsPort: nativePort,
          hardStopAfterMs: closeTimeoutMs,
          errorsMapPath,
          requestLog: true,
        }),
      );
      let plane: HaproxyDataPlane | null = null;
      const requestLog = new RequestLog();
      const proc = HaproxyProcess.spawn({
        binary,
        configFile,
        runId: config.runId,
        ...(options.stateDir ? { stateDir: options.stateDir } : {}),
        onLine: (l) => {
          if (!requestLog.offer(l)) plane?.onLogLine(l);
        },
      });
      const api = new RuntimeApi(socketPath);
      try {
        await waitReady(proc, api, START_TIMEOUT_MS);
        plane = new HaproxyDataPlane(config, version, proc, api, dir, port, nativePort, closeTimeoutMs, requestLog);
        if (config.metricsPort !== null) await plane.serveMetrics(config.metricsPort);
        plane.pollFailedTries();
        return plane;
      } catch (err) {
        lastError = err;
        await proc.kill();
        rmSync(dir, { recursive: true, force: true });
        const bindFailure = /cannot bind|address already in use/i.test(proc.stderrTail(40).join('\n'));
        if (!bindFailure || config.port > 0) break;
      }
    }
    throw lastError;
  }

  // ---------------------------------------------------------------- ProxyControl

  async addEndpoint(spec: ProxyEndpoint): Promise<void> {
    validateEndpoint(spec);
    if (this.closing) throw new ZerodropError('ZD_PROXY_FAILED', `proxy is closing: cannot add endpoint ${spec.id}`);
    let book = this.books.get(spec.id);
    if (book !== undefined && book.zone !== spec.zone) {
      throw new ZerodropError('ZD_BAD_SPEC', `endpoint ${spec.id} is already known in zone ${book.zone}, not ${spec.zone}`, {
        fix: 'give every replica a unique id',
      });
    }
    if (book !== undefined && book.name !== null && book.host === spec.host && book.port === spec.port) {
      // Still a server (draining, or in maintenance waiting for its deletion): back in rotation.
      book.admin = 'ready';
      book.version = spec.version;
      await this.api.script([`enable health ${BACKEND}/${book.name}`, `set server ${BACKEND}/${book.name} state ready`], []);
      this.pushEvent('endpoint.added', book, null);
      return;
    }
    if (book !== undefined && book.name !== null) await this.deleteServer(book, true);
    if (book === undefined) {
      book = {
        id: spec.id,
        zone: spec.zone,
        version: spec.version,
        host: spec.host,
        port: spec.port,
        name: null,
        admin: 'ready',
        carried: emptyCounters(),
        last: emptyCounters(),
        deleting: null,
      };
      this.books.set(spec.id, book);
    } else {
      book.carried = addCounters(book.carried, book.last);
      book.last = emptyCounters();
      Object.assign(book, { version: spec.version, host: spec.host, port: spec.port, admin: 'ready' });
    }
    const name = this.uniqueName(spec.id);
    this.names.add(name);
    try {
      // One round trip: the name is new (uniqueName), so the two after it act on this server only.
      await this.api.script(
        [addServerCommand(name, spec, this.config), `enable health ${BACKEND}/${name}`, `set server ${BACKEND}/${name} state ready`],
        ['New server registered.'],
      );
      book.name = name;
    } catch (err) {
      // Registered, then a later command refused: the server exists, so it is ours to delete.
      if (err instanceof RuntimeApiError && err.answer.startsWith('New server registered.')) book.name = name;
      if (book.name === null) this.names.delete(name);
      throw new ZerodropError('ZD_PROXY_FAILED', `HAProxy could not add replica ${spec.id}: ${errorMessage(err)}`, {
        cause: err,
        details: this.proc.stderrTail(5),
      });
    }
    this.pushEvent('endpoint.added', book, null);
  }

  async drainEndpoint(id: string, timeoutMs: number): Promise<DrainResult> {
    const book = this.mustGet(id);
    if (book.admin === 'removed' || book.name === null) return { inFlightAtRemoval: 0, drainedInMs: 0, complete: true };
    const started = monotonicMs();
    const name = book.name;
    book.admin = 'draining';
    // The count at the moment it leaves rotation lies between the two reads: short requests can all
    // finish in the round trip after the drain command, so the read sent with it counts too. Sent
    // together, so the drain does not wait a round trip for a count.
    const [inFlightBefore, unroutedAt] = await Promise.all([
      this.serverInFlight(book),
      this.api.expect(`set server ${BACKEND}/${name} state drain`, '').then(() => monotonicMs()),
    ]);
    this.pushEvent('endpoint.draining', book, null);
    const deadline = started + Math.max(0, timeoutMs);
    let inFlight = await this.serverInFlight(book);
    const inFlightAtRemoval = Math.max(inFlightBefore, inFlight);
    while (inFlight > 0 && monotonicMs() < deadline && book.admin === 'draining' && book.name === name) {
      await sleep(Math.min(DRAIN_POLL_MS, Math.max(1, deadline - monotonicMs())));
      inFlight = await this.serverInFlight(book);
    }
    const drainedInMs = monotonicMs() - started;
    const complete = inFlight === 0;
    // Put back in rotation while we waited (addEndpoint): leave it alone.
    if (book.admin !== 'draining' || book.name !== name) return { inFlightAtRemoval, drainedInMs, complete, unroutedAt };
    book.admin = 'removed';
    this.pushEvent('endpoint.drained', book, complete ? null : 'deadline');
    await this.api.expect(`set server ${BACKEND}/${name} state maint`, '').catch(() => undefined);
    if (complete) await this.deleteServer(book, false);
    else this.deleteLater(book);
    return { inFlightAtRemoval, drainedInMs, complete, unroutedAt };
  }

  async removeEndpoint(id: string): Promise<void> {
    const book = this.mustGet(id);
    if (book.admin === 'removed' && (book.name === null || book.deleting !== null)) return;
    book.admin = 'removed';
    this.pushEvent('endpoint.removed', book, null);
    if (book.name === null) return;
    await this.api.expect(`set server ${BACKEND}/${book.name} state maint`, '').catch(() => undefined);
    this.deleteLater(book);
  }

  async stats(): Promise<ProxyStats> {
    if (!this.proc.running) {
      if (this.lastStats) return this.lastStats;
      throw new ZerodropError('ZD_PROXY_FAILED', `haproxy is not running (${exitText(this.proc)})`, { details: this.proc.stderrTail(10) });
    }
    const attesting = (this.config.ids ?? 'auto') !== 'echo';
    const [rows, table, idsTable, idsVar] = await Promise.all([
      this.api.showStat(),
      this.api.command(`show table ${COUNTERS_TABLE}`),
      attesting ? this.api.command(`show table ${IDS_TABLE}`) : Promise.resolve(''),
      this.config.ids === undefined || this.config.ids === 'auto' ? this.api.command(`get var ${IDS_MODE_VAR}`) : Promise.resolve(''),
    ]);
    const frontend = rows.find((r) => r['pxname'] === FRONTEND && r['svname'] === 'FRONTEND');
    const backend = rows.find((r) => r['pxname'] === BACKEND && r['svname'] === 'BACKEND');
    const servers = new Map<string, StatRow>();
    for (const r of rows) if (r['pxname'] === BACKEND && r['svname'] !== 'BACKEND' && r['svname']) servers.set(r['svname'], r);
    const endpoints = [...this.books.values()].map((b) => {
      const row = b.name !== null ? servers.get(b.name) : undefined;
      if (row !== undefined) this.noteCounters(b, serverCounters(row));
      return endpointStats({ id: b.id, zone: b.zone, version: b.version, admin: b.admin, counters: addCounters(b.carried, b.last) });
    });
    const stats = buildProxyStats({ frontend, backend, savedByRetry: parseGpc0(table), endpoints, events: [...this.events] });
    stats.ids = idStatsOf(this.config.ids ?? 'auto', parseGpc0(idsTable), idsVar);
    this.lastStats = stats;
    return stats;
  }

  async failedTries(): Promise<FailedTryLog> {
    if (this.proc.running && !this.closing) await this.readServers().catch(() => undefined);
    return this.failed.log();
  }

  /** HAProxy's account of each failed request, by request id (request-log.ts). */
  async loggedRequests(): Promise<LoggedRequests> {
    return this.requestLog.read();
  }

  async metrics(): Promise<string> {
    return renderMetrics(this.config.runId, await this.stats(), { engine: 'haproxy', version: this.version });
  }

  /** Soft stop: no new connections, in-flight requests finish (bounded by hard-stop-after), then exit. */
  async close(): Promise<void> {
    if (this.closing && !this.proc.running) return this.cleanup();
    this.closing = true;
    try {
      if (this.proc.running) this.lastStats = await this.stats().catch(() => this.lastStats);
    } finally {
      await this.proc.stop(this.closeTimeoutMs + 2000);
      await this.cleanup();
    }
  }

  async destroy(): Promise<void> {
    this.closing = true;
    await this.proc.kill();
    await this.cleanup();
  }

  // ---------------------------------------------------------------- internals

  /** A server's latest counters: kept for stats(), and any new failed try logged (failed-tries.ts). */
  private noteCounters(book: Book, counters: ServerCounters): void {
    book.last = counters;
    this.failed.observe(book.id, addCounters(book.carried, counters), monotonicMs());
  }

  /** Reads every server's counters (one `show stat` of the backend). */
  private async readServers(): Promise<void> {
    const rows = await this.api.showStat(`${BACKEND} 4 -1`);
    const byName = new Map(rows.map((r) => [r['svname'], r]));
    for (const b of this.books.values()) {
      const row = b.name !== null ? byName.get(b.name) : undefined;
      if (row !== undefined) this.noteCounters(b, serverCounters(row));
    }
  }

  private pollFailedTries(): void {
    const tick = (): void => {
      this.pollTimer = null;
      if (this.closing || !this.proc.running) return;
      void this.readServers()
        .catch(() => undefined)
        .finally(() => {
          if (this.closing || !this.proc.running) return;
          this.pollTimer = setTimeout(tick, FAILED_TRY_POLL_MS);
          this.pollTimer.unref();
        });
    };
    tick();
  }

  private async cleanup(): Promise<void> {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    const server = this.metricsServer;
    this.metricsServer = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private mustGet(id: string): Book {
    const b = this.books.get(id);
    if (!b) throw new ZerodropError('ZD_BAD_SPEC', `unknown endpoint ${JSON.stringify(id)}`, { fix: 'add it with addEndpoint first' });
    return b;
  }

  private uniqueName(id: string): string {
    const base = serverNameFor(id);
    if (!this.names.has(base)) return base;
    for (let i = 2; ; i++) {
      const n = `${base.slice(0, 90)}.${i}`;
      if (!this.names.has(n)) return n;
    }
  }

  /** Streams on the replica's server now (at it, or queued for it). */
  private async serverInFlight(book: Book): Promise<number> {
    if (book.name === null) return 0;
    const rows = await this.api.showStat(`${BACKEND} 4 -1`, true);
    const row = rows.find((r) => r['svname'] === book.name);
    if (row === undefined) return 0;
    this.noteCounters(book, serverCounters(row));
    return book.last.scur + book.last.qcur;
  }

  /**
   * Freezes the server's counters and deletes it (it must be in maintenance). HAProxy refuses
   * while it still has streams or connections: `force` then shuts its sessions down first.
   */
  private async deleteServer(book: Book, force: boolean): Promise<boolean> {
    const name = book.name;
    if (name === null) return true;
    await this.api.expect(`set server ${BACKEND}/${name} state maint`, '').catch(() => undefined);
    if (force) await this.api.command(`shutdown sessions server ${BACKEND}/${name}`).catch(() => '');
    for (let i = 0; i < 50; i++) {
      await this.serverInFlight(book).catch(() => 0);
      try {
        await this.api.expect(`del server ${BACKEND}/${name}`, 'Server deleted');
        book.name = null;
        this.names.delete(name);
        return true;
      } catch (err) {
        if (err instanceof RuntimeApiError && /No such server/i.test(err.answer)) {
          book.name = null;
          this.names.delete(name);
          return true;
        }
        if (!this.proc.running || !(err instanceof RuntimeApiError)) return false;
        await sleep(DRAIN_POLL_MS);
      }
    }
    return false;
  }

  /**
   * In the background: wait until the streams left on a server in maintenance have ended (each at
   * most every try: per-try timeout + connect timeout each), then delete it.
   */
  private deleteLater(book: Book): void {
    if (book.deleting !== null) return;
    const c = this.config;
    const bound = monotonicMs() + c.retries.maxAttempts * (c.retries.perTryTimeoutMs + c.upstream.connectTimeoutMs) + 1000;
    const name = book.name;
    book.deleting = (async () => {
      try {
        while (this.proc.running && book.name === name && book.admin === 'removed' && monotonicMs() < bound) {
          if ((await this.serverInFlight(book)) === 0) break;
          await sleep(50);
        }
        if (this.proc.running && book.name === name && book.admin === 'removed') await this.deleteServer(book, true);
      } catch {
        // haproxy is gone or closing: nothing left to delete
      } finally {
        book.deleting = null;
      }
    })();
  }

  private pushEvent(type: ProxyEvent['type'], book: Pick<Book, 'id' | 'zone'>, reason: string | null): void {
    this.events.push({ t: monotonicMs(), type, replica: book.id, zone: book.zone, reason });
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }

  /** HAProxy's own health transitions, from its stderr alerts. */
  private onLogLine(line: string): void {
    const m = /Server ([^/\s]+)\/(\S+) is (DOWN|UP)\b(.*)$/.exec(line);
    if (!m || m[1] !== BACKEND || /maintenance/i.test(m[4] ?? '')) return;
    const name = m[2] as string;
    const book = [...this.books.values()].find((b) => b.name === name);
    if (!book || book.admin !== 'ready') return;
    if (m[3] === 'DOWN') {
      const reason = /Health analyze/i.test(m[4] ?? '') ? 'consecutive_failures' : 'health_check';
      this.pushEvent('endpoint.ejected', book, reason);
    } else {
      this.pushEvent('endpoint.returned', book, null);
    }
  }

  private async serveMetrics(port: number): Promise<void> {
    const server = http.createServer((req, res) => {
      if (req.url !== '/metrics' && !req.url?.startsWith('/metrics?')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      this.metrics().then(
        (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text),
        (err: unknown) => res.writeHead(503, { 'content-type': 'text/plain' }).end(`${errorMessage(err)}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.unref();
    this.metricsServer = server;
    const a = server.address();
    this.ownMetricsUrl = a !== null && typeof a === 'object' ? `http://127.0.0.1:${a.port}/metrics` : null;
  }
}

/** Starts HAProxy as the data plane; resolves once it serves its runtime API and listens. */
export function startHaproxyDataPlane(config: ProxyConfig, options: HaproxyDataPlaneOptions = {}): Promise<HaproxyDataPlane> {
  return HaproxyDataPlane.start(config, options);
}

async function waitReady(proc: HaproxyProcess, api: RuntimeApi, timeoutMs: number): Promise<void> {
  const deadline = monotonicMs() + timeoutMs;
  let last = '';
  while (monotonicMs() < deadline) {
    if (!proc.running) {
      await proc.exited;
      throw new ZerodropError('ZD_PROXY_FAILED', `haproxy exited while starting (${exitText(proc)})`, {
        details: ['stderr:', ...proc.stderrTail(15).map((l) => `  ${l}`)],
        fix: 'see the HAProxy messages above; or use --proxy node',
      });
    }
    try {
      const info = await api.command('show info', false, 1000);
      if (/^Name: HAProxy/m.test(info)) return;
      last = info.slice(0, 200);
    } catch (err) {
      last = errorMessage(err);
    }
    await sleep(25);
  }
  throw new ZerodropError('ZD_PROXY_FAILED', `haproxy did not answer on its runtime API within ${timeoutMs} ms`, {
    details: [`last: ${last}`, 'stderr:', ...proc.stderrTail(15).map((l) => `  ${l}`)],
    fix: 'see the HAProxy messages above; or use --proxy node',
  });
}

function exitText(proc: HaproxyProcess): string {
  const e = proc.exit;
  if (!e) return 'running';
  return e.signal ? `signal ${e.signal}` : `exit code ${String(e.code)}`;
}

function validateEndpoint(spec: ProxyEndpoint): void {
  const bad = (why: string): never => {
    throw new ZerodropError('ZD_BAD_SPEC', `endpoint ${JSON.stringify(spec.id)}: ${why}`, {
      fix: 'pass {id, host, port, zone, version} with a non-empty id, an IP address and a port in 1..65535',
    });
  };
  if (typeof spec.id !== 'string' || spec.id === '') bad('id must be a non-empty string');
  if (typeof spec.host !== 'string' || !/^[0-9A-Fa-f.:]+$/.test(spec.host)) bad('host must be an IP address (HAProxy dynamic servers do not resolve names)');
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) bad(`port ${String(spec.port)} is not in 1..65535`);
  if (typeof spec.zone !== 'string' || spec.zone === '') bad('zone must be a non-empty string');
  if (typeof spec.version !== 'string') bad('version must be a string');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
