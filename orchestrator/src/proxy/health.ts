/**
 * Active health checks (Envoy HTTP health checking, research C3): one small client per endpoint
 * (one keep-alive connection, like Envoy's checker: a new connection per check cost ~2% of the
 * proxy's CPU at 4 checks/s per replica, and left a TIME_WAIT each), a hard timeout covering
 * connect + headers + body. A SIGSTOPped replica still completes TCP handshakes into its accept
 * backlog, so only the timeout catches it; a timed-out check destroys its socket, so the next one
 * reconnects. The connection is checked every interval, far below the replica's keep-alive timeout,
 * and undici validates an idle socket before reusing it, so the keep-alive race is not in play.
 * Pass = status 200–399 (the Kubernetes HTTP probe rule).
 */
import { Client } from 'undici';
import type { Endpoint } from './endpoints.js';
import type { ProxyHealthCheckConfig } from './types.js';

export class HealthChecker {
  private client: Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;
  private inCheck: AbortController | null = null;
  private clientOrigin = '';

  constructor(
    private readonly endpoint: Endpoint,
    private readonly config: ProxyHealthCheckConfig,
    private readonly connectTimeoutMs: number,
    private readonly onResult: (endpoint: Endpoint, ok: boolean) => void,
  ) {}

  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops checking; an in-flight check is aborted and its result ignored. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.inCheck?.abort();
    const client = this.client;
    this.client = null;
    if (client) await client.destroy().catch(() => undefined);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runOnce();
    }, delayMs);
    this.timer.unref();
  }

  private async runOnce(): Promise<void> {
    const started = performance.now();
    const ok = await this.check();
    if (this.stopped) return;
    this.onResult(this.endpoint, ok);
    this.schedule(Math.max(0, this.config.intervalMs - (performance.now() - started)));
  }

  private clientFor(): Client {
    const origin = this.endpoint.origin;
    if (this.client && this.clientOrigin === origin) return this.client;
    const old = this.client;
    if (old) void old.destroy().catch(() => undefined);
    this.clientOrigin = origin;
    this.client = new Client(origin, {
      pipelining: 1,
      connect: { timeout: Math.min(this.connectTimeoutMs, this.config.timeoutMs) },
      headersTimeout: this.config.timeoutMs,
      bodyTimeout: this.config.timeoutMs,
      keepAliveTimeout: 2000,
      keepAliveMaxTimeout: 2000,
      keepAliveTimeoutThreshold: 1000,
    });
    return this.client;
  }

  private async check(): Promise<boolean> {
    const ac = new AbortController();
    this.inCheck = ac;
    const timer = setTimeout(() => ac.abort(), this.config.timeoutMs);
    timer.unref();
    try {
      const res = await this.clientFor().request({
        path: this.config.path,
        method: 'GET',
        signal: ac.signal,
        headers: { 'user-agent': 'zerodrop-proxy-healthcheck' },
      });
      await res.body.dump({ limit: 64 * 1024 });
      return res.statusCode >= 200 && res.statusCode < 400;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
      this.inCheck = null;
    }
  }
}
