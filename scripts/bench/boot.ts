/**
 * The bench's boot row (issue 12, item 4): the CPU a sample-app replica spends from spawn to
 * Ready — utime+stime of its process (/proc/PID/stat) when its /readyz first answers 200 — next
 * to a bare `node -e` process that prints one line and idles (the floor no Node service goes
 * under). Alternated, --boots times each; medians.
 */
import http from 'node:http';
import { cpuSecondsOrNull, killChild, median } from './measure.js';
import { type Reaper, type Replica, startAnnouncing, startReplica } from './procs.js';

export interface BootResult {
  /** Median CPU ms of a sample-app replica, spawn → /readyz 200. */
  readyMs: number;
  /** Median CPU ms of a sample-app replica, spawn → its announcement line (listening). */
  listeningMs: number;
  /** Median CPU ms of a bare `node -e` process, spawn → its first line. */
  bareMs: number;
  samples: { readyMs: number; listeningMs: number; bareMs: number }[];
}

const BARE = `process.stdout.write(JSON.stringify({ event: 'listening', port: 0 }) + '\\n'); setInterval(() => {}, 1e9);`;

function cpuMs(r: Replica): number {
  const s = cpuSecondsOrNull(r.pid);
  if (s === null) throw new Error(`${r.id} (pid ${r.pid}) exited during the boot measurement:\n${r.stderr()}`);
  return s * 1000;
}

function readyzStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/readyz', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** Polls /readyz every 5 ms until 200 (bounded), then reads the replica's CPU. */
async function cpuAtReady(r: Replica, timeoutMs = 10_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if ((await readyzStatus(r.port)) === 200) return cpuMs(r);
    if (Date.now() > until) throw new Error(`${r.id}: /readyz did not answer 200 within ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 5));
  }
}

export async function measureBoot(reaper: Reaper, boots: number, isInterrupted: () => boolean): Promise<BootResult> {
  const samples: BootResult['samples'] = [];
  for (let i = 1; i <= boots && !isInterrupted(); i++) {
    const bare = await startAnnouncing(reaper, `boot-bare${i}`, 'a', ['-e', BARE], 'bare node -e', 15_000);
    const bareMs = cpuMs(bare);
    await killChild(bare.child);
    const app = await startReplica(reaper, `boot-r${i}`, 'a');
    const listeningMs = cpuMs(app);
    const readyMs = await cpuAtReady(app);
    await killChild(app.child);
    samples.push({ readyMs, listeningMs, bareMs });
  }
  if (samples.length === 0) throw new Error('interrupted');
  return {
    readyMs: median(samples.map((s) => s.readyMs)),
    listeningMs: median(samples.map((s) => s.listeningMs)),
    bareMs: median(samples.map((s) => s.bareMs)),
    samples,
  };
}
