/**
 * Starts the built sample-app (dist/sample-app/src/main.js) as a real child process, reads its
 * {"event":"listening"} line, and keeps every process it started in a registry so tests can
 * kill them all in afterEach (`killAllSampleApps`), even when the test failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import { fileURLToPath } from 'node:url';

export const SAMPLE_APP_ENTRY = fileURLToPath(new URL('../../dist/sample-app/src/main.js', import.meta.url));

/** Env vars sample-app reads; never inherited from the test runner by accident. */
const APP_ENV = ['PORT', 'APP_VERSION', 'ZONE', 'REPLICA_ID', 'ZERODROP_FAULTS', 'ZERODROP_DATA_DIR', 'ZERODROP_SECRETS_DIR'];

export interface ListeningLine {
  event: 'listening';
  port: number;
  adminPort: number | null;
  pid: number;
  replica: string;
  version: string;
  zone: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** performance.now() of the exit. */
  atMs: number;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

const live = new Set<SampleAppProcess>();

function childEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of APP_ENV) delete env[k];
  return { ...env, ...extra };
}

export function assertBuilt(): void {
  if (!existsSync(SAMPLE_APP_ENTRY)) {
    throw new Error(`${SAMPLE_APP_ENTRY} is missing: run "npm run build" first`);
  }
}

export class SampleAppProcess {
  readonly child: ChildProcess;
  readonly args: readonly string[];
  listening: ListeningLine | null = null;
  readonly stdoutLines: string[] = [];
  private stderrText = '';
  exitInfo: ExitInfo | null = null;
  readonly exited: Promise<ExitInfo>;

  constructor(args: readonly string[], options: SpawnOptions = {}) {
    assertBuilt();
    this.args = args;
    this.child = spawn(process.execPath, [SAMPLE_APP_ENTRY, ...args], {
      env: childEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this);
    let partial = '';
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf('\n')) !== -1) {
        this.stdoutLines.push(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
      }
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderrText += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal, atMs: performance.now() };
        live.delete(this);
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error('sample-app did not start');
    return pid;
  }

  get stderr(): string {
    return this.stderrText;
  }

  get port(): number {
    if (this.listening === null) throw new Error('sample-app is not listening yet');
    return this.listening.port;
  }

  get adminPort(): number {
    const p = this.listening?.adminPort;
    if (p === null || p === undefined) throw new Error('sample-app was started without --admin-port');
    return p;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  adminUrl(path: string): string {
    return `http://127.0.0.1:${this.adminPort}${path}`;
  }

  /** Resolves with the listening line; rejects (and kills the process) on exit or timeout. */
  waitListening(timeoutMs: number): Promise<ListeningLine> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const tick = (): void => {
        for (const line of this.stdoutLines) {
          try {
            const parsed = JSON.parse(line) as Partial<ListeningLine>;
            if (parsed.event === 'listening') {
              this.listening = parsed as ListeningLine;
              resolve(this.listening);
              return;
            }
          } catch {
            /* not JSON: keep looking */
          }
        }
        if (this.exitInfo !== null) {
          reject(new Error(`sample-app exited (code ${this.exitInfo.code}) before listening:\n${this.stderrText}`));
          return;
        }
        if (Date.now() - started > timeoutMs) {
          this.child.kill('SIGKILL');
          reject(new Error(`sample-app did not listen within ${timeoutMs} ms:\n${this.stderrText}`));
          return;
        }
        setTimeout(tick, 10);
      };
      tick();
    });
  }

  signal(sig: NodeJS.Signals): void {
    if (this.exitInfo === null) this.child.kill(sig);
  }

  /** The exit, or null when the process is still running after timeoutMs. */
  async waitExit(timeoutMs: number): Promise<ExitInfo | null> {
    if (this.exitInfo !== null) return this.exitInfo;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL and wait for the exit. */
  async kill(): Promise<ExitInfo> {
    if (this.exitInfo !== null) return this.exitInfo;
    this.child.kill('SIGKILL');
    return this.exited;
  }

  isAlive(): boolean {
    return this.exitInfo === null;
  }
}

/** Spawns sample-app with `args` and waits for its listening line. */
export async function startSampleApp(args: readonly string[], options: SpawnOptions = {}): Promise<SampleAppProcess> {
  const app = new SampleAppProcess(args, options);
  try {
    await app.waitListening(options.startTimeoutMs ?? 10_000);
  } catch (err) {
    await app.kill();
    throw err;
  }
  return app;
}

/** Runs sample-app until it exits by itself (e.g. a usage error); SIGKILL after timeoutMs. */
export async function runSampleAppToExit(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const app = new SampleAppProcess(args, options.env === undefined ? {} : { env: options.env });
  const exit = await app.waitExit(options.timeoutMs ?? 10_000);
  if (exit === null) {
    await app.kill();
    throw new Error(`sample-app ${args.join(' ')} did not exit within ${options.timeoutMs ?? 10_000} ms:\n${app.stderr}`);
  }
  // Let the pipes drain.
  await new Promise((r) => setTimeout(r, 20));
  return { code: exit.code, signal: exit.signal, stdout: app.stdoutLines.join('\n'), stderr: app.stderr };
}

/** SIGKILLs every sample-app process this module started and waits for them. For afterEach. */
export async function killAllSampleApps(): Promise<void> {
  await Promise.all([...live].map((a) => a.kill()));
}

export interface SimpleResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One request on a fresh connection that closes after it (`Connection: close`): unlike fetch's
 * pooled keep-alive sockets, it leaves no idle connection behind to hold a draining replica open.
 */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(options.timeoutMs ?? 5000, () => req.destroy(new Error(`timeout after ${options.timeoutMs ?? 5000} ms: ${url}`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Polls `url` until it answers `status` (or throws after timeoutMs). */
export async function waitForStatus(url: string, status: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < until) {
    try {
      const res = await request(url, { timeoutMs: 1000 });
      if (res.status === status) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}
