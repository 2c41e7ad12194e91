/**
 * The haproxy process of one run, never left behind (the same two layers as the replicas and
 * Prometheus, orchestrator/src/runtime/process-registry.ts):
 *   - exec'd through `setpriv --pdeathsig SIGKILL`: the kernel kills it when the thread that
 *     spawned it dies, SIGKILL of the harness included (so start it from the main thread);
 *   - in its own process group, recorded in the process-group registry, so the next run reaps it
 *     if pdeathsig is unavailable; killed synchronously on process 'exit' if never stopped.
 * Foreground (-db): one process, its alerts ("Server replicas/x is DOWN") on stderr, read line by line.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ProcessGroupRegistry, reapOrphanedGroups } from '../../runtime/process-registry.js';

let setprivOk: boolean | null = null;
function hasSetprivPdeathsig(): boolean {
  if (setprivOk !== null) return setprivOk;
  if (process.platform !== 'linux' || !existsSync('/usr/bin/setpriv')) return (setprivOk = false);
  return (setprivOk = spawnSync('setpriv', ['--pdeathsig', 'SIGKILL', '--', 'true'], { stdio: 'ignore' }).status === 0);
}

export interface HaproxyProcessOptions {
  binary: string;
  configFile: string;
  runId: string;
  /** Process-group registry directory (tests). */
  stateDir?: string;
  /** Every stderr line, as it arrives. */
  onLine?: (line: string) => void;
}

export interface ProcessExit {
  code: number | null;
  signal: string | null;
}

export class HaproxyProcess {
  readonly exited: Promise<ProcessExit>;
  private exitInfo: ProcessExit | null = null;
  private tail: string[] = [];
  private partial = '';
  private readonly onProcessExit = (): void => this.signal('SIGKILL');

  private constructor(
    private readonly child: ChildProcess,
    private readonly registry: ProcessGroupRegistry | null,
    onLine: ((line: string) => void) | undefined,
  ) {
    this.exited = new Promise<ProcessExit>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      child.once('error', (err) => {
        this.exitInfo ??= { code: null, signal: null };
        this.pushLine(`spawn failed: ${err.message}`);
        resolve(this.exitInfo);
      });
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      const parts = (this.partial + d).split('\n');
      this.partial = parts.pop() ?? '';
      for (const line of parts) {
        if (line.length === 0) continue;
        this.pushLine(line);
        onLine?.(line);
      }
    });
    process.once('exit', this.onProcessExit);
  }

  static spawn(o: HaproxyProcessOptions): HaproxyProcess {
    reapOrphanedGroups(o.stateDir);
    const argv = [o.binary, '-db', '-f', o.configFile];
    const [file, ...args] = hasSetprivPdeathsig() ? ['setpriv', '--pdeathsig', 'SIGKILL', '--', ...argv] : argv;
    const child = spawn(file as string, args, {
      detached: true, // own process group: a Ctrl-C in the terminal reaches the harness only
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    let registry: ProcessGroupRegistry | null = null;
    if (child.pid !== undefined) {
      registry = new ProcessGroupRegistry(`${o.runId}.haproxy`, o.stateDir);
      registry.add(child.pid);
    }
    return new HaproxyProcess(child, registry, o.onLine);
  }

  get pid(): number | null {
    return this.child.pid ?? null;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  get exit(): ProcessExit | null {
    return this.exitInfo;
  }

  /** The last stderr lines. */
  stderrTail(lines = 20): string[] {
    return this.tail.slice(-lines);
  }

  /**
   * Soft stop (SIGUSR1): HAProxy stops listening, closes idle client connections, finishes what is
   * in flight (bounded by hard-stop-after), exits. SIGKILL after timeoutMs. Idempotent.
   */
  async stop(timeoutMs: number): Promise<ProcessExit> {
    if (this.running) {
      this.signal('SIGUSR1');
      const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    this.forget();
    return (await this.exited) ?? { code: null, signal: null };
  }

  /** SIGKILL now, wait for the exit. */
  async kill(): Promise<ProcessExit> {
    this.signal('SIGKILL');
    const exit = await this.exited;
    this.forget();
    return exit;
  }

  private forget(): void {
    process.off('exit', this.onProcessExit);
    this.registry?.dispose();
  }

  private pushLine(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 200) this.tail = this.tail.slice(-100);
  }

  private signal(sig: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined || !this.running) return;
    try {
      // The group: setpriv exec'd haproxy in place, and haproxy does not fork in -db mode.
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // gone
      }
    }
  }
}
