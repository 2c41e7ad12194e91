/**
 * The bench's measured rows (a)–(d): each runs wrk or the driver against replicas started by
 * bench.ts, and reads the CPU of every process on the path from /proc. Rendering is render.ts's.
 */
import os from 'node:os';
import { countByOutcome } from '../../harness/src/driver/analysis.js';
import type { DriverHandle } from '../../harness/src/driver/host.js';
import { startProxyWorker } from '../../orchestrator/index.js';
import { benchDriverConfig, drive } from './drive.js';
import { startHaproxy } from './haproxy.js';
import { cpuSeconds, runWrk, type WrkResult } from './measure.js';
import type { Options } from './options.js';
import type { Reaper, Replica } from './procs.js';
import { fmt, fmtInt, type Sample } from './render.js';

export function load1(): number {
  return os.loadavg()[0] ?? Number.NaN;
}

export interface Ctx {
  o: Options;
  reaper: Reaper;
  replicas: Replica[];
  isInterrupted: () => boolean;
  /** Set while a driver runs, so SIGINT can stop it. */
  setDriver: (d: DriverHandle | null) => void;
  log: (line: string) => void;
}

const perReq = (cpuS: number | null, requests: number): number | null => (cpuS === null || requests <= 0 ? null : (cpuS * 1e6) / requests);

function replicasCpu(replicas: readonly Replica[]): number {
  return replicas.reduce((a, r) => a + cpuSeconds(r.pid), 0);
}

function assertAlive(ctx: Ctx, procs: readonly Replica[] = ctx.replicas): void {
  for (const r of procs) {
    if (r.child.exitCode !== null || r.child.signalCode !== null)
      throw new Error(`replica ${r.id} exited (${String(r.child.exitCode ?? r.child.signalCode)}):\n${r.stderr()}`);
  }
  if (ctx.isInterrupted()) throw new Error('interrupted');
}

function wrk(ctx: Ctx, url: string, seconds: number, connections: number, timeCpu: boolean): Promise<WrkResult> {
  return runWrk({ url, seconds, connections, timeCpu, group: true, onSpawn: (c) => ctx.reaper.track(c, true) });
}

/**
 * (a) one wrk per replica, in parallel; (f) the same against the plain node:http servers
 * (`replicas` = those), so the two rows' CPU per request compare like for like.
 */
export async function measureDirect(ctx: Ctx, replicas: readonly Replica[] = ctx.replicas): Promise<Sample> {
  const { o } = ctx;
  const per = Math.max(1, Math.ceil(o.connections / replicas.length));
  if (o.warmup > 0) await Promise.all(replicas.map((r) => wrk(ctx, r.url, o.warmup, per, false)));
  assertAlive(ctx, replicas);
  const l = load1();
  const r0 = replicasCpu(replicas);
  const ws = await Promise.all(replicas.map((r) => wrk(ctx, r.url, o.seconds, per, true)));
  const r1 = replicasCpu(replicas);
  assertAlive(ctx, replicas);
  const requests = ws.reduce((a, w) => a + w.requests, 0);
  const genCpu = ws.every((w) => w.cpuSeconds !== null) ? ws.reduce((a, w) => a + (w.cpuSeconds ?? 0), 0) : null;
  return {
    rps: ws.reduce((a, w) => a + w.rps, 0),
    requests,
    genUs: perReq(genCpu, requests),
    midUs: null,
    repUs: perReq(r1 - r0, requests),
    errors: ws.reduce((a, w) => a + w.errors, 0),
    p50ms: Math.max(...ws.map((w) => w.p50ms)),
    p99ms: Math.max(...ws.map((w) => w.p99ms)),
    load1: l,
    note: null,
  };
}

/** wrk through something (or straight at `replicas`), with the CPU of `midPid` and of the replicas. */
async function measureThrough(ctx: Ctx, url: string, midPid: number | null, replicas: readonly Replica[]): Promise<Sample> {
  const { o } = ctx;
  if (o.warmup > 0) await wrk(ctx, url, o.warmup, o.connections, false);
  assertAlive(ctx);
  const l = load1();
  const m0 = midPid === null ? 0 : cpuSeconds(midPid);
  const r0 = replicasCpu(replicas);
  const w = await wrk(ctx, url, o.seconds, o.connections, true);
  const m1 = midPid === null ? 0 : cpuSeconds(midPid);
  const r1 = replicasCpu(replicas);
  assertAlive(ctx);
  return {
    rps: w.rps,
    requests: w.requests,
    genUs: perReq(w.cpuSeconds, w.requests),
    midUs: midPid === null ? null : perReq(m1 - m0, w.requests),
    repUs: perReq(r1 - r0, w.requests),
    errors: w.errors,
    p50ms: w.p50ms,
    p99ms: w.p99ms,
    load1: l,
    note: null,
  };
}

/** (b) zerodrop's proxy in a worker thread of this process, configured as the demo runs it. */
export async function measureProxy(ctx: Ctx, proxyTemplate: Parameters<typeof startProxyWorker>[0]): Promise<Sample> {
  const proxy = await startProxyWorker({ ...proxyTemplate, runId: `bench${Date.now()}` });
  const unregister = ctx.reaper.onCleanup(() => proxy.destroy());
  try {
    for (const r of ctx.replicas) await proxy.addEndpoint({ id: r.id, host: '127.0.0.1', port: r.port, zone: r.zone, version: 'v1' });
    const s = await measureThrough(ctx, `${proxy.url}/`, process.pid, ctx.replicas);
    const st = await proxy.stats();
    const retries = Object.values(st.retries).reduce((a, b) => a + b, 0);
    const non2xx = Object.entries(st.responded).reduce((a, [code, n]) => a + (code.startsWith('2') ? 0 : n), 0);
    s.note = retries > 0 || non2xx > 0 ? `proxy: ${retries} retries, ${non2xx} non-2xx over the row` : null;
    return s;
  } finally {
    unregister();
    await proxy.close().catch(() => proxy.destroy());
  }
}

export async function measureHaproxy(ctx: Ctx): Promise<Sample> {
  const h = await startHaproxy(ctx.reaper, ctx.replicas);
  try {
    return await measureThrough(ctx, h.url, h.pid, ctx.replicas);
  } finally {
    await h.stop();
  }
}

/** (d) wrk, then the driver, both closed loop with the same connections against replica 1. */
export async function measureDriverPair(ctx: Ctx): Promise<{ wrk: Sample; driver: Sample }> {
  const { o } = ctx;
  const target = ctx.replicas[0]!;
  const w = await measureThrough(ctx, target.url, null, [target]);
  assertAlive(ctx);
  const l = load1();
  const r0 = cpuSeconds(target.pid);
  const cfg = benchDriverConfig(target.url, 'open', 0, o.connections, o.seconds);
  let run;
  try {
    run = await drive(cfg, (h) => ctx.setDriver(h));
  } finally {
    ctx.setDriver(null);
  }
  const r1 = cpuSeconds(target.pid);
  assertAlive(ctx);
  const { ledger, summary } = run.result;
  const c = countByOutcome(ledger);
  const secs = (summary.sendingEndedAt - summary.startedAt) / 1000;
  const problems = [
    c.ok !== c.sent ? `${c.sent - c.ok} of ${c.sent} not ok` : '',
    summary.anomalies !== 0 ? `${summary.anomalies} ledger anomalies` : '',
    summary.interrupted ? 'interrupted' : '',
  ].filter((x) => x !== '');
  return {
    wrk: w,
    driver: {
      rps: c.ok / secs,
      requests: c.sent,
      genUs: Number.isFinite(run.steadyCpuUsPerReq) ? run.steadyCpuUsPerReq : run.wholeCpuUsPerReq,
      midUs: null,
      repUs: perReq(r1 - r0, c.sent),
      errors: c.sent - c.ok,
      p50ms: Number.NaN,
      p99ms: Number.NaN,
      load1: l,
      note: [
        `steady ${fmtInt(run.steadyOkPerSecond)} req/s after 1 s`,
        `whole-run CPU ${fmt(run.wholeCpuUsPerReq)} µs/req`,
        `${summary.maxOpenConnections} conns`,
        ...problems,
      ].join(', '),
    },
  };
}

// ------------------------------------------------------------------ output
