/**
 * Upstream replicas for proxy tests: test/helpers/proxy-upstream.mjs run as child processes, so a
 * test can SIGKILL, SIGSTOP and SIGCONT them for real. Always clean up with stopUpstreams().
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ProxyEndpoint } from '../../orchestrator/src/proxy/types.js';

export const UPSTREAM_SCRIPT = fileURLToPath(new URL('./proxy-upstream.mjs', import.meta.url));

export interface Upstream {
  id: string;
  host: string;
  port: number;
  pid: number;
  child: ChildProcess;
  zone: string;
  endpoint(version?: string): ProxyEndpoint;
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  exited(): boolean;
}

export interface UpstreamOptions {
  zone?: string;
  flaky?: boolean;
  bench?: boolean;
  port?: number;
}

export async function startUpstream(id: string, options: UpstreamOptions = {}): Promise<Upstream> {
  const args = [UPSTREAM_SCRIPT, '--id', id, '--port', String(options.port ?? 0)];
  if (options.flaky) args.push('--flaky');
  if (options.bench) args.push('--bench');
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let exited = false;
  const exit = once(child, 'exit').then(() => {
    exited = true;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`upstream ${id} did not start within 10 s`)), 10_000);
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl === -1) return;
      clearTimeout(timer);
      try {
        const msg = JSON.parse(buf.slice(0, nl)) as { port: number };
        resolve(msg.port);
      } catch (err) {
        reject(err);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`upstream ${id} exited during start (code ${String(code)})`));
    });
  });
  const zone = options.zone ?? 'a';
  const up: Upstream = {
    id,
    host: '127.0.0.1',
    port,
    pid: child.pid ?? -1,
    child,
    zone,
    endpoint: (version = 'v1') => ({ id, host: '127.0.0.1', port, zone, version }),
    signal: (sig) => {
      if (!exited) child.kill(sig);
    },
    kill: async () => {
      if (exited) return;
      child.kill('SIGCONT');
      child.kill('SIGKILL');
      await exit;
    },
    exited: () => exited,
  };
  return up;
}

export async function startUpstreams(specs: Array<[id: string, options?: UpstreamOptions]>): Promise<Upstream[]> {
  return Promise.all(specs.map(([id, o]) => startUpstream(id, o)));
}

/** SIGCONT + SIGKILL every upstream and wait for them to exit. */
export async function stopUpstreams(list: readonly Upstream[]): Promise<void> {
  await Promise.all(list.map((u) => u.kill()));
}
