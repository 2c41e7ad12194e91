/**
 * Processes the bench starts: a registry that kills them all (end of run, SIGINT), sample-app
 * replicas, and a bounded TCP wait. Long-lived children are exec'd under
 * `setpriv --pdeathsig SIGKILL` when available, so they die with the bench even if it is SIGKILLed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { sampleAppEntry } from '../../harness/src/paths.js';
import { parseAnnouncement } from '../../orchestrator/index.js';
import { withPdeathsig } from '../../common/src/session.js';
import { killChild, killChildGroup } from './measure.js';

/** The one pdeathsig prefix (orchestrator/src/runtime/supervised-child.ts), for the bench's own spawns. */
export { withPdeathsig };

/** Every child process and every async teardown the bench owns, stopped together. */
export class Reaper {
  /** child → spawned in its own process group (kill the group). */
  private readonly children = new Map<ChildProcess, boolean>();
  private readonly hooks = new Map<number, () => Promise<unknown>>();
  private nextHook = 0;

  /** Tracks a child until it exits. `group`: it was spawned detached; kill its process group. */
  track<C extends ChildProcess>(child: C, group = false): C {
    this.children.set(child, group);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Registers a teardown (a proxy worker, a driver); returns the function that unregisters it. */
  onCleanup(fn: () => Promise<unknown>): () => void {
    const id = this.nextHook++;
    this.hooks.set(id, fn);
    return () => this.hooks.delete(id);
  }

  /** SIGKILLs the children (wrk runs end at once) without running the teardown hooks. */
  killChildren(): Promise<void> {
    return Promise.all([...this.children].map(([c, group]) => (group ? killChildGroup(c) : killChild(c)))).then(() => undefined);
  }

  /** Runs every teardown hook and kills every child; bounded by timeoutMs. */
  async cleanup(timeoutMs = 10_000): Promise<void> {
    const hooks = [...this.hooks.values()];
    this.hooks.clear();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => {
      timer = setTimeout(r, timeoutMs);
      timer.unref();
    });
    await Promise.race([Promise.allSettled(hooks.map((h) => h())), deadline]);
    clearTimeout(timer);
    await this.killChildren();
  }
}

export interface Replica {
  id: string;
  zone: string;
  port: number;
  pid: number;
  url: string;
  child: ChildProcess;
  stderr(): string;
}

/** Starts one sample-app replica (fast path on: the default) on an ephemeral 127.0.0.1 port. */
export function startReplica(reaper: Reaper, id: string, zone: string, timeoutMs = 15_000): Promise<Replica> {
  const entry = sampleAppEntry();
  if (!existsSync(entry)) return Promise.reject(new Error(`${entry} is missing: run "npm run build" first`));
  return startAnnouncing(reaper, id, zone, [entry, '--port', '0', '--replica', id, '--zone', zone, '--version', 'v1'], 'sample-app', timeoutMs);
}

/** Starts the plain node:http floor (plain-http.ts), answering GET / as sample-app does. */
export function startPlainHttp(reaper: Reaper, id: string, zone: string, timeoutMs = 15_000): Promise<Replica> {
  const entry = fileURLToPath(new URL('./plain-http.js', import.meta.url));
  if (!existsSync(entry)) return Promise.reject(new Error(`${entry} is missing: run "npm run build" first`));
  return startAnnouncing(reaper, id, zone, [entry, '--replica', id, '--zone', zone, '--version', 'v1'], 'plain node:http', timeoutMs);
}

/** Spawns `node <args>` under pdeathsig and resolves once it printed sample-app's announcement line. */
export function startAnnouncing(reaper: Reaper, id: string, zone: string, nodeArgs: string[], what: string, timeoutMs: number): Promise<Replica> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['PORT', 'APP_VERSION', 'ZONE', 'REPLICA_ID', 'ZERODROP_FAULTS', 'ZERODROP_RUN_ID']) delete env[k];
  const [file, ...args] = withPdeathsig([process.execPath, ...nodeArgs]);
  const child = reaper.track(spawn(file!, args, { env, stdio: ['ignore', 'pipe', 'pipe'] }));
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      void killChild(child);
      reject(new Error(`${what} ${id}: ${why}\n${err}`));
    };
    const timer = setTimeout(() => fail(`did not listen within ${timeoutMs} ms`), timeoutMs);
    const onExit = (code: number | null, sig: NodeJS.Signals | null): void => fail(`exited (${String(code ?? sig)}) before listening`);
    child.once('exit', onExit);
    child.once('error', (e) => fail(e.message));
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl === -1) return;
      const line = parseAnnouncement(out.slice(0, nl));
      if (line === null) {
        fail(`unexpected first stdout line: ${out.slice(0, nl)}`);
        return;
      }
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve({ id, zone, port: line.port, pid: child.pid!, url: `http://127.0.0.1:${line.port}/`, child, stderr: () => err });
    });
  });
}

/** Resolves once a TCP connect to host:port succeeds; rejects after timeoutMs or when `alive()` turns false. */
export async function waitForPort(port: number, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`the process meant to listen on port ${port} exited`);
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
