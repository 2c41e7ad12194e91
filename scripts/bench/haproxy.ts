/**
 * HAProxy in the service proxy's role, as the comparison anchor: one thread, HTTP mode,
 * keep-alive on both sides, round-robin over the same replicas, on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultsSection, freeLoopbackPort, globalSection, HAPROXY_BIN, haproxyAvailability as sharedAvailability } from '../../orchestrator/index.js';
import { killChild } from './measure.js';
import { type Reaper, type Replica, waitForPort, withPdeathsig } from './procs.js';

export { HAPROXY_BIN };

/** The installed version ("2.6.12-1+deb12u4"), or why HAProxy cannot be used (shared with the HAProxy data plane). */
export function haproxyAvailability(): { ok: true; version: string } | { ok: false; reason: string } {
  return sharedAvailability(HAPROXY_BIN);
}

/**
 * 1 thread; keep-alive to clients and to the replicas (idle server connections reused by any
 * client, purged well before the replicas' 5 s keep-alive timeout); no logging; the same retry
 * intent as zerodrop's proxy (a connect failure is retried on another replica). maxconn 4096
 * keeps HAProxy's FD need (~2 × maxconn) under a 20k ulimit it cannot raise.
 */
export function haproxyConfig(port: number, replicas: readonly Pick<Replica, 'id' | 'port'>[], maxconn = 4096): string {
  return [
    ...globalSection({ threads: 1, maxconn }),
    '',
    ...defaultsSection({ connectMs: 1000, clientMs: 30_000, serverMs: 30_000, keepAliveMs: 30_000, retries: 2, redispatch: true }),
    '',
    'frontend fe',
    `  bind 127.0.0.1:${port}`,
    `  maxconn ${maxconn}`,
    '  default_backend replicas',
    '',
    'backend replicas',
    '  balance roundrobin',
    '  default-server pool-purge-delay 1s',
    ...replicas.map((r) => `  server ${r.id} 127.0.0.1:${r.port}`),
    '',
  ].join('\n');
}

export interface RunningHaproxy {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts HAProxy in the foreground (-db) and waits until it accepts connections. */
export async function startHaproxy(reaper: Reaper, replicas: readonly Replica[]): Promise<RunningHaproxy> {
  const port = await freeLoopbackPort();
  const dir = mkdtempSync(join(tmpdir(), 'zd-bench-haproxy-'));
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, haproxyConfig(port, replicas));
  const [file, ...args] = withPdeathsig([HAPROXY_BIN, '-db', '-f', cfg]);
  const child = reaper.track(spawn(file!, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-4000);
  });
  const stop = async (): Promise<void> => {
    await killChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, 5000, () => child.exitCode === null && child.signalCode === null);
  } catch (e) {
    await stop();
    throw new Error(`haproxy did not start: ${e instanceof Error ? e.message : String(e)}\n${err}`);
  }
  return { url: `http://127.0.0.1:${port}/`, pid: child.pid!, stop };
}
