/**
 * Runs the installed Prometheus binary for one run (`--prometheus auto`), and never leaves it
 * behind: a SupervisedChild (orchestrator/src/runtime/supervised-child.ts: pdeathsig, its own
 * process group in the process-group registry, killed synchronously on process 'exit' if stop()
 * was never called).
 * Listens on 127.0.0.1 only, on a free port; logs to a file next to its data.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ZerodropError } from '../../../common/src/errors.js';
import { SupervisedChild, freeLoopbackPort } from '../../../orchestrator/index.js';
import { PrometheusApi } from './api.js';

export const INSTALL_FIX =
  'install it (Debian/Ubuntu: apt-get install -y --no-install-recommends prometheus; or .ci/install-prometheus.sh), set ZERODROP_PROMETHEUS_BIN to its path, or run with --prometheus off (in-process proof only)';

/** The prometheus binary: $ZERODROP_PROMETHEUS_BIN, else `prometheus` on PATH, else null. */
export function findPrometheusBinary(env: NodeJS.ProcessEnv = process.env): string | null {
  const explicit = env['ZERODROP_PROMETHEUS_BIN'];
  if (explicit) return isExecutable(explicit) ? explicit : null;
  for (const dir of (env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'prometheus');
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `prometheus --version` first line, e.g. "prometheus, version 2.42.0+ds (...)". */
export function prometheusVersion(binary: string): string | null {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 5000 });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]?.trim();
  return r.status === 0 && out ? out : null;
}

export interface PrometheusServerOptions {
  binary: string;
  configFile: string;
  /** --storage.tsdb.path */
  dataDir: string;
  /** stdout+stderr of the server. */
  logFile: string;
  /** Names the registry entry (the run id). */
  runId: string;
  /** 0 or omitted: a free port. */
  port?: number;
  /** Default 30 s. */
  readyTimeoutMs?: number;
  /** Process-group registry directory (tests). */
  stateDir?: string;
}

export class PrometheusServer {
  readonly url: string;
  readonly api: PrometheusApi;

  private constructor(
    private readonly supervised: SupervisedChild,
    readonly port: number,
    private readonly logFile: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.api = new PrometheusApi(this.url);
  }

  get pid(): number | null {
    return this.supervised.pid;
  }

  get running(): boolean {
    return this.supervised.running;
  }

  /** Starts the server and resolves once /-/ready answers 200 (or rejects with the log tail). */
  static async start(options: PrometheusServerOptions): Promise<PrometheusServer> {
    mkdirSync(options.dataDir, { recursive: true });
    let lastError: unknown = null;
    // The free port may be taken between the probe and the bind: one more try on another port.
    for (let attempt = 0; attempt < 2; attempt++) {
      const port = options.port && options.port > 0 ? options.port : await freeLoopbackPort();
      const server = PrometheusServer.spawn(options, port);
      try {
        await server.waitReady(options.readyTimeoutMs ?? 30_000);
        return server;
      } catch (err) {
        lastError = err;
        await server.stop();
        if (!/address already in use/i.test(server.logTail(20).join('\n')) || (options.port ?? 0) > 0) break;
      }
    }
    throw lastError;
  }

  private static spawn(options: PrometheusServerOptions, port: number): PrometheusServer {
    const argv = [
      options.binary,
      `--config.file=${options.configFile}`,
      `--storage.tsdb.path=${options.dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-admin-api',
      '--web.enable-lifecycle',
      // Nothing is evicted during a run; a replay keeps its data.
      '--storage.tsdb.retention.time=10y',
      '--log.level=info',
    ];
    const logFd = openSync(options.logFile, 'a');
    let supervised: SupervisedChild;
    try {
      supervised = SupervisedChild.spawn({
        argv,
        stdio: ['ignore', logFd, logFd],
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' },
        registryName: `${options.runId}.prometheus`,
        ...(options.stateDir ? { stateDir: options.stateDir } : {}),
      });
    } finally {
      closeSync(logFd);
    }
    return new PrometheusServer(supervised, port, options.logFile);
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new ZerodropError('ZD_PROMETHEUS_UNAVAILABLE', `prometheus exited while starting (${this.exitText()})`, {
          details: ['log tail:', ...this.logTail(15).map((l) => `  ${l}`)],
          fix: `see ${this.logFile}; or run with --prometheus off`,
        });
      }
      if (await this.api.ready()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new ZerodropError('ZD_PROMETHEUS_UNAVAILABLE', `prometheus was not ready after ${Math.round(timeoutMs / 1000)} s`, {
      details: ['log tail:', ...this.logTail(15).map((l) => `  ${l}`)],
      fix: `see ${this.logFile}; or run with --prometheus off`,
    });
  }

  /** SIGTERM to the group (Prometheus closes its TSDB cleanly), SIGKILL after timeoutMs. Idempotent. */
  async stop(timeoutMs = 10_000): Promise<void> {
    // Prometheus does not fork: once the leader is reaped the group is empty (and its id may be reused: no more signals).
    await this.supervised.stop('SIGTERM', timeoutMs);
  }

  /** The last lines of the server's log. */
  logTail(lines: number): string[] {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines);
    } catch {
      return [];
    }
  }

  private exitText(): string {
    const e = this.supervised.exit;
    if (!e) return 'running';
    return e.signal ? `signal ${e.signal}` : `exit code ${e.code}`;
  }
}
