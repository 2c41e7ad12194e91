/**
 * Proxy benchmark: throughput and CPU per request of the zerodrop service proxy with each upstream
 * client (raw, undici) against HAProxy in the same role (1 thread, keep-alive both sides, the
 * same two plain upstreams), in one invocation; plus the upstreams hit directly.
 *
 *   npm run bench -- proxy [--runs 3] [--duration 10] [--connections 100]
 *       [--variants direct,raw,undici,haproxy] [--cpu-prof DIR]
 *
 * Each proxy runs in its own process (so /proc/PID/stat is its CPU alone); wrk -t1 drives it after
 * a 2 s warm-up; CPU = utime+stime delta over the measured run, divided by the requests wrk
 * completed. The box is shared and has 2 cores (wrk, the proxy and both upstreams share them), so
 * variants are interleaved and repeated, and medians reported; the load average is printed before
 * and after. The goal (issue 7): proxy ≥ 0.8 × HAProxy. Bounded: each run stops by itself; every
 * child is killed at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { freeLoopbackPort, proxyConfig, type ProxyConfigOverrides, type ProxyControl, startProxyWorker, startServiceProxy } from '../../orchestrator/index.js';
import { HAPROXY_BIN, haproxyAvailability, haproxyConfig } from './haproxy.js';
import { CLK_TCK, cpuSeconds, cpuTimes, killChild, median, runWrk as runWrkProcess, type WrkResult } from './measure.js';
import { waitForPort, withPdeathsig } from './procs.js';

interface Variant {
  name: string;
  what: string;
  kind: 'direct' | 'naive' | 'zerodrop' | 'zerodrop-worker' | 'haproxy';
  overrides?: ProxyConfigOverrides;
  handlerApi?: 'legacy' | 'controller';
  env?: Record<string, string>;
}

const raw = (o: ProxyConfigOverrides = {}): ProxyConfigOverrides => ({ ...o, upstream: { ...o.upstream, client: 'raw' } });
const undici = (o: ProxyConfigOverrides = {}): ProxyConfigOverrides => ({ ...o, upstream: { ...o.upstream, client: 'undici' } });

const VARIANTS: Variant[] = [
  { name: 'direct', what: 'wrk → upstream 1 directly (no proxy)', kind: 'direct' },
  { name: 'raw', what: 'zerodrop, raw upstream client (default), 32 conns/upstream', kind: 'zerodrop', overrides: raw() },
  { name: 'undici', what: 'zerodrop, undici Pool dispatch (legacy handler), 32 conns/upstream, pipelining 1', kind: 'zerodrop', overrides: undici() },
  { name: 'haproxy', what: 'HAProxy 1 thread, http-keep-alive, same 2 upstreams', kind: 'haproxy' },
  // extras (--variants)
  { name: 'naive', what: 'naive node:http + undici pool.request proxy, 64 conns (research baseline)', kind: 'naive' },
  { name: 'raw-worker', what: 'raw client, proxy in a worker thread (process CPU: both threads)', kind: 'zerodrop-worker', overrides: raw() },
  { name: 'undici-worker', what: 'undici client, proxy in a worker thread', kind: 'zerodrop-worker', overrides: undici() },
  {
    name: 'raw-stream',
    what: 'raw client, stream every response (responseBufferBytes 0)',
    kind: 'zerodrop',
    overrides: raw({ upstream: { responseBufferBytes: 0 } }),
  },
  { name: 'undici-stream', what: 'undici client, stream every response', kind: 'zerodrop', overrides: undici({ upstream: { responseBufferBytes: 0 } }) },
  { name: 'undici-controller', what: 'undici client, v7 controller handler API', kind: 'zerodrop', overrides: undici(), handlerApi: 'controller' },
  { name: 'undici-pipe8', what: 'undici client, pipelining 8', kind: 'zerodrop', overrides: undici({ upstream: { pipelining: 8 } }) },
  { name: 'raw-conns8', what: 'raw client, 8 connections per upstream', kind: 'zerodrop', overrides: raw({ upstream: { connectionsPerReplica: 8 } }) },
  { name: 'raw-conns128', what: 'raw client, 128 connections per upstream', kind: 'zerodrop', overrides: raw({ upstream: { connectionsPerReplica: 128 } }) },
];
const DEFAULT_VARIANTS = ['direct', 'raw', 'undici', 'haproxy'];

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
  const [file, ...rest] = withPdeathsig([process.execPath, ...args]);
  const child = spawn(file as string, rest, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
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

let wrkConnections = 100;
function runWrk(url: string, seconds: number): Promise<WrkResult> {
  return runWrkProcess({ url, seconds, connections: wrkConnections, id: 'bench' });
}

/** Load averages (1, 5, 15 min) and the core count: how busy the shared box was. */
function loadavg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}

interface RunningHaproxy {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** HAProxy (scripts/bench/haproxy.ts config: nbthread 1, http-keep-alive, round-robin) over the upstream ports. */
async function startHaproxy(upPorts: number[], children: ChildProcess[]): Promise<RunningHaproxy> {
  const port = await freeLoopbackPort();
  const dir = mkdtempSync(path.join(tmpdir(), 'zd-proxy-bench-haproxy-'));
  const cfg = path.join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    haproxyConfig(
      port,
      upPorts.map((p, i) => ({ id: `u${i + 1}`, port: p })),
    ),
  );
  const [file, ...args] = withPdeathsig([HAPROXY_BIN, '-db', '-f', cfg]);
  const child = spawn(file as string, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  const stop = async (): Promise<void> => {
    await killChild(child);
    children.splice(children.indexOf(child), 1);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, 5000, () => child.exitCode === null && child.signalCode === null);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}/`, pid: child.pid as number, stop };
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
        .request({ path: req.url ?? '/', method: req.method ?? 'GET', headers: req.headers as Record<string, string> })
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

/** `npm run bench -- proxy …`; `script` is the bench's entry file, which each proxy child runs with `proxy --serve`. */
export async function proxyVariantsMain(argv: readonly string[], script: string): Promise<number> {
  const arg = (name: string, dflt: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && i + 1 < argv.length ? (argv[i + 1] as string) : dflt;
  };
  if (argv[0] === '--serve') {
    const variant = JSON.parse(argv[1] as string) as Variant;
    const ups = (argv[2] as string).split(',').map(Number);
    await serve(variant, ups);
    return 0;
  }
  const runs = Number(arg('runs', '3'));
  const duration = Number(arg('duration', '10'));
  wrkConnections = Number(arg('connections', '100'));
  const wanted = arg('variants', DEFAULT_VARIANTS.join(',')).split(',');
  const unknown = wanted.filter((w) => !VARIANTS.some((v) => v.name === w));
  if (unknown.length > 0) throw new Error(`unknown variant(s) ${unknown.join(', ')}; known: ${VARIANTS.map((v) => v.name).join(', ')}`);
  const variants = wanted.map((w) => VARIANTS.find((v) => v.name === w) as Variant);
  const profDir = arg('cpu-prof', '');
  if (variants.some((v) => v.kind === 'haproxy')) {
    const h = haproxyAvailability();
    if (!h.ok) throw new Error(`the haproxy variant needs HAProxy: ${h.reason}`);
    console.error(`HAProxy ${h.version}`);
  }
  const root = repoRoot();
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
    const loadBefore = loadavg();
    console.error(
      `upstreams on ${upPorts.join(', ')}; ${runs} run(s) × ${duration} s per variant, wrk -t1 -c${wrkConnections}; CLK_TCK ${CLK_TCK}; load average ${loadBefore}`,
    );
    const rows: Row[] = variants.map((variant) => ({
      variant,
      rps: [],
      usPerReq: [],
      userUsPerReq: [],
      cpuPct: [],
      upstreamUsPerReq: [],
      p50: [],
      p99: [],
      errors: 0,
    }));
    // Interleave runs (A B C, A B C, ...) so a noisy neighbour hits every variant alike.
    for (let r = 0; r < runs; r++) {
      for (const row of rows) {
        const v = row.variant;
        let url: string;
        let pid: number;
        let proxyChild: ChildProcess | null = null;
        let haproxy: RunningHaproxy | null = null;
        if (v.kind === 'direct') {
          url = `http://127.0.0.1:${upPorts[0]}/`;
          pid = upPids[0] as number;
        } else if (v.kind === 'haproxy') {
          haproxy = await startHaproxy(upPorts, children);
          url = haproxy.url;
          pid = haproxy.pid;
        } else {
          const nodeFlags = profDir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${v.name}-${r + 1}.cpuprofile`];
          const s = await startChild([...nodeFlags, script, 'proxy', '--serve', JSON.stringify(v), upPorts.join(',')], v.env);
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
          if (profDir !== '') {
            // a clean exit writes the CPU profile
            const exited = new Promise((res) => proxyChild?.once('exit', res));
            proxyChild.stdin?.end();
            await Promise.race([exited, new Promise((res) => setTimeout(res, 10_000))]);
          }
          await killChild(proxyChild);
          children.splice(children.indexOf(proxyChild), 1);
        }
        if (haproxy) await haproxy.stop();
      }
    }
    const fmt = (xs: number[], d = 0): string => `${median(xs).toFixed(d)} [${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}]`;
    const ha = rows.find((row) => row.variant.kind === 'haproxy');
    const haRps = ha ? median(ha.rps) : NaN;
    const haUs = ha ? median(ha.usPerReq) : NaN;
    console.log(
      `\n| variant | req/s median [min–max] | CPU µs/request (its process) | of which user µs | CPU % | upstreams µs/req | p50 ms | p99 ms | errors | req/s ÷ HAProxy | HAProxy µs ÷ its µs |`,
    );
    console.log(`|---|---|---|---|---|---|---|---|---|---|---|`);
    for (const row of rows) {
      const isProxy = row.variant.kind !== 'direct' && row.variant.kind !== 'haproxy';
      const vsRps = ha && isProxy ? (median(row.rps) / haRps).toFixed(2) : '';
      const vsUs = ha && isProxy ? (haUs / median(row.usPerReq)).toFixed(2) : '';
      console.log(
        `| ${row.variant.name}: ${row.variant.what} | ${fmt(row.rps)} | ${fmt(row.usPerReq, 1)} | ${fmt(row.userUsPerReq, 1)} | ${fmt(row.cpuPct)} | ${fmt(row.upstreamUsPerReq, 1)} | ${median(row.p50).toFixed(2)} | ${median(row.p99).toFixed(2)} | ${row.errors} | ${vsRps} | ${vsUs} |`,
      );
    }
    console.log(
      `\n(n=${runs} per variant, ${duration} s each, wrk -t1 -c${wrkConnections}, interleaved; medians. Shared 2-core box: wrk, the proxy and both upstreams compete for the cores. Load average before: ${loadBefore}; after: ${loadavg()}. Goal (issue 7): proxy req/s ≥ 0.8 × HAProxy.)`,
    );
  } finally {
    await cleanup();
  }
  return 0;
}
