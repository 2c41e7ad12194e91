/**
 * Starts test/helpers/driver-target-server.mjs as a child process (see its header for the modes)
 * and stops it by pid. For load-driver tests and benchmarks: real sockets on 127.0.0.1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { withPdeathsig } from '../../common/src/session.js';

export type TargetMode = 'plain' | 'close' | 'swap' | 'stall' | 'chunked' | 'slow' | 'mixed';

export interface TargetOptions {
  delayMs?: number;
  servedBy?: string;
  /** 0 = ephemeral (default). */
  port?: number;
  /** Record arrivals for /__stats. */
  record?: boolean;
  /** The child exits by itself after this long (default 300 s). */
  maxLifeMs?: number;
}

export interface TargetStats {
  received: number;
  distinctIds: number | null;
  duplicateIds: number;
  firstMs: number;
  counts100ms: number[];
  /** The target's own event-loop delay (monitorEventLoopDelay) since it started. */
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
}

export interface TargetServer {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (or null after a signal) once the child has exited. */
  exited: Promise<number | null>;
  stats(): Promise<TargetStats>;
  /** Sends a signal to this child only (by pid). */
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after 2 s; resolves once it exited. */
  close(): Promise<void>;
}

export function targetServerPath(): string {
  for (const rel of ['./driver-target-server.mjs', '../../../test/helpers/driver-target-server.mjs', '../../test/helpers/driver-target-server.mjs']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('test/helpers/driver-target-server.mjs not found');
}

export async function startTargetServer(mode: TargetMode, options: TargetOptions = {}): Promise<TargetServer> {
  const args = [targetServerPath(), '--mode', mode, '--served-by', options.servedBy ?? 'r1', '--port', String(options.port ?? 0)];
  if (options.delayMs !== undefined) args.push('--delay-ms', String(options.delayMs));
  if (options.record === true) args.push('--record');
  args.push('--max-life-ms', String(options.maxLifeMs ?? 300_000));
  // Under pdeathsig (setpriv execs in place: the pid is the server's), so it dies with its parent.
  const [file, ...rest] = withPdeathsig([process.execPath, ...args]);
  const child = spawn(file as string, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`target server (${mode}) did not start: ${out}`)), 10_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /LISTENING (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`target server (${mode}) exited with ${code}: ${out}`));
    });
  });
  const pid = child.pid!;
  const kill = (signal: NodeJS.Signals = 'SIGTERM'): void => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, signal);
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid,
    child,
    exited,
    kill,
    stats: () => getJson<TargetStats>(`http://127.0.0.1:${port}/__stats`),
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      kill('SIGTERM');
      const t = setTimeout(() => kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    },
  };
}

export function getJson<T>(url: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as T);
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}
