/**
 * Proxy benchmark: throughput and CPU per request of the zerodrop service proxy against the same
 * two plain upstreams hit directly, and against a naive node:http + undici proxy (pool.request,
 * the research baseline: ~20k req/s at one core, ~50 µs CPU/request).
 *
 *   npm run build && node dist/scripts/proxy-bench.js [--runs 3] [--duration 10] [--variants a,b]
 *
 * Each variant runs in its own process (so /proc/PID/stat is its CPU alone); wrk -t1 -c100 drives
 * it after a 2 s warm-up; CPU = utime+stime delta over the measured run. The box is shared and
 * has 2 cores (wrk, proxy and two upstreams share them), so every variant is repeated and the
 * median reported. Bounded: each run stops by itself; every child is killed at the end.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { proxyConfig } from '../orchestrator/src/proxy/config.js';
import { startServiceProxy } from '../orchestrator/src/proxy/proxy.js';
import { startProxyWorker } from '../orchestrator/src/proxy/worker.js';
import type { ProxyConfigOverrides } from '../orchestrator/src/proxy/config.js';
import type { ProxyControl } from '../orchestrator/src/proxy/types.js';
import { cpuSeconds, cpuTimes, CLK_TCK, killChild, median, runWrk as runWrkProcess } from './bench/measure.js';
import type { WrkResult } from './bench/measure.js';

interface Variant {
  name: string;
  what: string;
  kind: 'direct' | 'naive' | 'zerodrop' | 'zerodrop-worker';
  overrides?: ProxyConfigOverrides;
  handlerApi?: 'legacy' | 'controller';
  env?: Record<string, string>;
}

const VARIANTS: Variant[] = [
  { name: 'direct', what: 'wrk → upstream 1 directly (no proxy)', kind: 'direct' },
  { name: 'naive', what: 'naive proxy: pool.request + buffer, 64 conns (research baseline)', kind: 'naive' },
  { name: 'zd', what: 'zerodrop: dispatch (legacy handler), buffer ≤64 KiB, 64 conns, pipelining 1', kind: 'zerodrop' },
  { name: 'zd-controller', what: 'zerodrop with the undici v7 controller handler API', kind: 'zerodrop', handlerApi: 'controller' },
  { name: 'zd-stream', what: 'zerodrop, stream every response (responseBufferBytes 0)', kind: 'zerodrop', overrides: { upstream: { responseBufferBytes: 0 } } },
  { name: 'zd-pipe8', what: 'zerodrop, pipelining 8', kind: 'zerodrop', overrides: { upstream: { pipelining: 8 } } },
  { name: 'zd-conns16', what: 'zerodrop, 16 connections per upstream', kind: 'zerodrop', overrides: { upstream: { connectionsPerReplica: 16 } } },
  { name: 'zd-conns128', what: 'zerodrop, 128 connections per upstream', kind: 'zerodrop', overrides: { upstream: { connectionsPerReplica: 128 } } },
  {
    name: 'zd-c16p8',
    what: 'zerodrop, 16 connections × pipelining 8 per upstream',
    kind: 'zerodrop',
    overrides: { upstream: { connectionsPerReplica: 16, pipelining: 8 } },
  },
  { name: 'zd-worker', what: 'zerodrop in a worker thread (process CPU: both threads)', kind: 'zerodrop-worker' },
];

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'test', 'helpers', 'proxy-upstream.mjs'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error('repository root not found (test/helpers/proxy-upstream.mjs)');
}

interface Started {
  child: ChildProcess;
  info: { url?: string; port?: number };
}

function startChild(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`child ${args.join(' ')} did not start`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl === -1) return;
      clearTimeout(timer);
      resolve({ child, info: JSON.parse(buf.slice(0, nl)) as { url?: string; port?: number } });
    });
    child.once('exit', (code) => reject(new Error(`child exited during start (${String(code)})`)));
  });
}

function runWrk(url: string, seconds: number): Promise<WrkResult> {
  return runWrkProcess({ url, seconds, connections: 100, id: 'bench' });
}

// ------------------------------------------------------------------ child mode: serve one proxy

async function serve(variant: Variant, upstreams: number[]): Promise<void> {
  let url: string;
  let control: ProxyControl | null = null;
  if (variant.kind === 'naive') {
    const pools = upstreams.map((p) => new Pool(`http://127.0.0.1:${p}`, { connections: 64, pipelining: 1 }));
    let i = 0;
    const server = http.createServer((req, res) => {
      const pool = pools[i++ % pools.length] as Pool;
      pool
        .request({ path: req.url ?? '/', method: (req.method ?? 'GET') as 'GET', headers: req.headers as Record<string, string> })
        .then(async (r) => {
          const body = Buffer.from(await r.body.arrayBuffer());
          res.writeHead(r.statusCode, r.headers as http.OutgoingHttpHeaders);
          res.end(body);
        })
        .catch(() => {
          res.writeHead(502);
          res.end();
        });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/`;
  } else {
    const cfg = proxyConfig('bench', variant.overrides ?? {});
    control =
      variant.kind === 'zerodrop-worker'
        ? await startProxyWorker(cfg, { handlerApi: variant.handlerApi ?? 'legacy' })
        : await startServiceProxy(cfg, { handlerApi: variant.handlerApi ?? 'legacy' });
    for (const [i, p] of upstreams.entries()) await control.addEndpoint({ id: `u${i + 1}`, host: '127.0.0.1', port: p, zone: 'a', version: 'v1' });
    url = `${control.url}/`;
  }
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  const quit = (): void => {
    void (control ? control.destroy() : Promise.resolve()).finally(() => process.exit(0));
  };
  process.stdin.on('end', quit);
  process.stdin.resume();
  if (process.argv.includes('--report-stats') && control) {
    process.on('SIGUSR2', () => {
      void control?.stats().then((s) => process.stderr.write(`${JSON.stringify({ received: s.received, responded: s.responded, retries: s.retries })}\n`));
    });
  }
}

// ------------------------------------------------------------------ main

interface Row {
  variant: Variant;
  rps: number[];
  usPerReq: number[];
  userUsPerReq: number[];
  cpuPct: number[];
  upstreamUsPerReq: number[];
  p50: number[];
  p99: number[];
  errors: number;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (name: string, dflt: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && i + 1 < argv.length ? (argv[i + 1] as string) : dflt;
  };
  if (argv[0] === '--serve') {
    const variant = JSON.parse(argv[1] as string) as Variant;
    const ups = (argv[2] as string).split(',').map(Number);
    await serve(variant, ups);
    return;
  }
  const runs = Number(arg('runs', '3'));
  const duration = Number(arg('duration', '10'));
  const wanted = arg('variants', VARIANTS.map((v) => v.name).join(',')).split(',');
  const variants = VARIANTS.filter((v) => wanted.includes(v.name));
  const root = repoRoot();
  const script = fileURLToPath(import.meta.url);
  const upstreamScript = path.join(root, 'test', 'helpers', 'proxy-upstream.mjs');
  const children: ChildProcess[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(children.map((c) => killChild(c)));
  };
  process.on('SIGINT', () => void cleanup().finally(() => process.exit(130)));

  try {
    const ups = await Promise.all(['u1', 'u2'].map((id) => startChild([upstreamScript, '--id', id, '--bench'])));
    for (const u of ups) children.push(u.child);
    const upPorts = ups.map((u) => u.info.port as number);
    const upPids = ups.map((u) => u.child.pid as number);
    console.error(`upstreams on ${upPorts.join(', ')}; ${runs} run(s) × ${duration} s per variant, wrk -t1 -c100; CLK_TCK ${CLK_TCK}`);
    const rows: Row[] = variants.map((variant) => ({ variant, rps: [], usPerReq: [], userUsPerReq: [], cpuPct: [], upstreamUsPerReq: [], p50: [], p99: [], errors: 0 }));
    // Interleave runs (A B C, A B C, ...) so a noisy neighbour hits every variant alike.
    for (let r = 0; r < runs; r++) {
      for (const row of rows) {
        const v = row.variant;
        let url: string;
        let pid: number;
        let proxyChild: ChildProcess | null = null;
        if (v.kind === 'direct') {
          url = `http://127.0.0.1:${upPorts[0]}/`;
          pid = upPids[0] as number;
        } else {
          const s = await startChild([script, '--serve', JSON.stringify(v), upPorts.join(',')], v.env);
          proxyChild = s.child;
          children.push(s.child);
          url = s.info.url as string;
          pid = s.child.pid as number;
        }
        await runWrk(url, 2); // warm-up (JIT, connection pools), not recorded
        const t0 = cpuTimes(pid);
        const c0 = t0[0] + t0[1];
        const u0 = upPids.map(cpuSeconds);
        const w = await runWrk(url, duration);
        const t1 = cpuTimes(pid);
        const c1 = t1[0] + t1[1];
        row.userUsPerReq.push(((t1[0] - t0[0]) * 1e6) / w.requests);
        const u1 = upPids.map(cpuSeconds);
        const cpu = c1 - c0;
        const upCpu = u1.reduce((a, b, i) => a + b - (u0[i] as number), 0);
        row.rps.push(w.rps);
        row.usPerReq.push((cpu * 1e6) / w.requests);
        row.cpuPct.push((cpu / w.seconds) * 100);
        row.upstreamUsPerReq.push((upCpu * 1e6) / w.requests);
        row.p50.push(w.p50ms);
        row.p99.push(w.p99ms);
        row.errors += w.errors;
        console.error(
          `run ${r + 1} ${v.name.padEnd(14)} ${w.rps.toFixed(0).padStart(6)} req/s  ${((cpu * 1e6) / w.requests).toFixed(1).padStart(5)} µs/req (user ${(((t1[0] - t0[0]) * 1e6) / w.requests).toFixed(1)})  cpu ${((cpu / w.seconds) * 100).toFixed(0)}%  p50 ${w.p50ms}ms p99 ${w.p99ms}ms  errors ${w.errors}`,
        );
        if (proxyChild) {
          await killChild(proxyChild);
          children.splice(children.indexOf(proxyChild), 1);
        }
      }
    }
    const fmt = (xs: number[], d = 0): string => `${median(xs).toFixed(d)} [${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}]`;
    console.log(`\n| variant | req/s median [min–max] | CPU µs/request (measured process) | of which user µs | CPU % | upstreams µs/req | p50 ms | p99 ms | errors |`);
    console.log(`|---|---|---|---|---|---|---|---|---|`);
    for (const row of rows) {
      console.log(
        `| ${row.variant.name}: ${row.variant.what} | ${fmt(row.rps)} | ${fmt(row.usPerReq, 1)} | ${fmt(row.userUsPerReq, 1)} | ${fmt(row.cpuPct)} | ${fmt(row.upstreamUsPerReq, 1)} | ${median(row.p50).toFixed(2)} | ${median(row.p99).toFixed(2)} | ${row.errors} |`,
      );
    }
    console.log(`\n(n=${runs} per variant, ${duration} s each, interleaved; medians. Shared 2-core box: wrk, the proxy and both upstreams compete for the cores.)`);
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 3;
});
