/**
 * A child process that is never left behind: every process zerodrop starts (replicas, HAProxy,
 * Prometheus, the bench's servers) goes through here. Two layers (process-registry.ts says why):
 *   - exec'd through `setpriv --pdeathsig SIGKILL` (util-linux) when it works on this machine: the
 *     kernel kills it when the thread that spawned it dies, SIGKILL of the harness included;
 *   - in its own process group (a Ctrl-C in the terminal reaches the harness only; grandchildren
 *     are reachable), recorded in the process-group registry so the next run reaps it if pdeathsig
 *     is unavailable and the harness was killed.
 * SupervisedChild adds the rest for a single long-lived server: killed synchronously on process
 * 'exit' if never stopped, and a bounded stop (a signal, SIGKILL after a timeout).
 * Also here: a free loopback port, and the `{"event":"listening","port":N}` announcement.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { createServer } from 'node:net';
import { withPdeathsig } from '../../../common/src/session.js';
import { inheritAutogroupNice } from './priorities.js';
import { ProcessGroupRegistry, reapOrphanedGroups } from './process-registry.js';

const LOOPBACK = '127.0.0.1';

/** Spawns argv under pdeathsig, in its own process group (detached). */
export function spawnInGroup(argv: readonly string[], options: { env: NodeJS.ProcessEnv; stdio: StdioOptions }): ChildProcess {
  const [file, ...args] = withPdeathsig(argv);
  const child = spawn(file as string, args, {
    env: options.env,
    detached: true, // own process group and session: a Ctrl-C in the terminal goes to the harness only
    stdio: options.stdio,
  });
  // A session of its own is an autogroup of its own: keep the harness's rank (priorities.ts).
  if (child.pid !== undefined) inheritAutogroupNice(child.pid);
  return child;
}

/** `signal` to the process group of `pid`, else to the process alone; never throws (it may be gone). */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** A free loopback port (bind to 0, read, release). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface Announcement {
  port: number;
  adminPort: number | null;
}

/** The line a service prints on stdout once bound: `{"event":"listening","port":N,"adminPort":M}`. */
export function parseAnnouncement(line: string): Announcement | null {
  if (!line.startsWith('{') || !line.includes('"listening"')) return null;
  try {
    const msg = JSON.parse(line) as { event?: unknown; port?: unknown; adminPort?: unknown };
    if (msg.event !== 'listening' || typeof msg.port !== 'number') return null;
    return { port: msg.port, adminPort: typeof msg.adminPort === 'number' ? msg.adminPort : null };
  } catch {
    return null;
  }
}

export interface ChildExit {
  code: number | null;
  signal: string | null;
}

export interface SupervisedChildOptions {
  argv: readonly string[];
  env: NodeJS.ProcessEnv;
  stdio: StdioOptions;
  /** Names its process-group registry entry, e.g. `${runId}.haproxy`. */
  registryName: string;
  /** Process-group registry directory (tests). */
  stateDir?: string;
}

/** One long-lived server process (HAProxy, Prometheus): supervised from spawn to exit. */
export class SupervisedChild {
  readonly exited: Promise<ChildExit>;
  private exitInfo: ChildExit | null = null;
  private readonly onProcessExit = (): void => this.killNow();

  private constructor(
    readonly child: ChildProcess,
    private readonly registry: ProcessGroupRegistry | null,
  ) {
    this.exited = new Promise<ChildExit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      child.once('error', () => {
        this.exitInfo ??= { code: null, signal: null };
        resolve(this.exitInfo);
      });
    });
    process.once('exit', this.onProcessExit);
  }

  /** Reaps the groups of dead runs first, then spawns and records the new group. */
  static spawn(o: SupervisedChildOptions): SupervisedChild {
    reapOrphanedGroups(o.stateDir);
    const child = spawnInGroup(o.argv, { env: o.env, stdio: o.stdio });
    let registry: ProcessGroupRegistry | null = null;
    if (child.pid !== undefined) {
      registry = new ProcessGroupRegistry(o.registryName, o.stateDir);
      registry.add(child.pid);
    }
    return new SupervisedChild(child, registry);
  }

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  get exit(): ChildExit | null {
    return this.exitInfo;
  }

  /** `sig` to the group, SIGKILL after timeoutMs; resolves at the exit. Idempotent. */
  async stop(sig: NodeJS.Signals, timeoutMs: number): Promise<ChildExit> {
    if (this.running) {
      this.signal(sig);
      const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    this.forget();
    return this.exited;
  }

  /** SIGKILL now, wait for the exit. */
  async kill(): Promise<ChildExit> {
    this.signal('SIGKILL');
    const exit = await this.exited;
    this.forget();
    return exit;
  }

  /** A signal to the group while it runs (once it exited, its group id may be reused: nothing). */
  signal(sig: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined || !this.running) return;
    signalGroup(pid, sig);
  }

  private killNow(): void {
    this.signal('SIGKILL');
    this.registry?.dispose();
  }

  private forget(): void {
    process.off('exit', this.onProcessExit);
    this.registry?.dispose();
  }
}
