/**
 * The haproxy process of one run, never left behind: a SupervisedChild (runtime/supervised-child.ts:
 * pdeathsig, its own process group in the registry, killed on process 'exit' if never stopped).
 * Foreground (-db): one process, its alerts ("Server replicas/x is DOWN") on stderr, read line by line.
 */
import { LOG_TAG } from './request-log.js';
import { SupervisedChild, type ChildExit } from '../../runtime/supervised-child.js';

export interface HaproxyProcessOptions {
  binary: string;
  configFile: string;
  runId: string;
  /** Process-group registry directory (tests). */
  stateDir?: string;
  /** Every stderr line, as it arrives. */
  onLine?: (line: string) => void;
}

export type ProcessExit = ChildExit;

export class HaproxyProcess {
  readonly exited: Promise<ProcessExit>;
  private tail: string[] = [];
  private partial = '';

  private constructor(
    private readonly supervised: SupervisedChild,
    onLine: ((line: string) => void) | undefined,
  ) {
    this.exited = supervised.exited;
    const child = supervised.child;
    child.once('error', (err) => this.pushLine(`spawn failed: ${err.message}`));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      const parts = (this.partial + d).split('\n');
      this.partial = parts.pop() ?? '';
      for (const line of parts) {
        if (line.length === 0) continue;
        // Request-log lines (request-log.ts) are not alerts: kept out of the tail shown on errors.
        if (!line.startsWith(LOG_TAG)) this.pushLine(line);
        onLine?.(line);
      }
    });
  }

  static spawn(o: HaproxyProcessOptions): HaproxyProcess {
    const supervised = SupervisedChild.spawn({
      argv: [o.binary, '-db', '-f', o.configFile],
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      registryName: `${o.runId}.haproxy`,
      ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    });
    return new HaproxyProcess(supervised, o.onLine);
  }

  get pid(): number | null {
    return this.supervised.pid;
  }

  get running(): boolean {
    return this.supervised.running;
  }

  get exit(): ProcessExit | null {
    return this.supervised.exit;
  }

  /** The last stderr lines. */
  stderrTail(lines = 20): string[] {
    return this.tail.slice(-lines);
  }

  /**
   * Soft stop (SIGUSR1): HAProxy stops listening, closes idle client connections, finishes what is
   * in flight (bounded by hard-stop-after), exits. SIGKILL after timeoutMs. Idempotent.
   * (The group: setpriv exec'd haproxy in place, and haproxy does not fork in -db mode.)
   */
  stop(timeoutMs: number): Promise<ProcessExit> {
    return this.supervised.stop('SIGUSR1', timeoutMs);
  }

  /** SIGKILL now, wait for the exit. */
  kill(): Promise<ProcessExit> {
    return this.supervised.kill();
  }

  private pushLine(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 200) this.tail = this.tail.slice(-100);
  }
}
