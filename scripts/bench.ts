/**
 * `npm run bench` (issue 7): one invocation that measures, side by side on the same sample-app
 * replicas (processes started here, fast path on, 127.0.0.1):
 *   (a) direct: the replicas' own ceiling — one `wrk -t1 -c⌈C/N⌉` per replica, all in parallel
 *       (C connections in all), req/s summed;
 *   (b) proxy: `wrk -t1 -cC` → zerodrop's service proxy (startProxyWorker, in this process, the
 *       demo scenario's proxy config) → the replicas;
 *   (c) haproxy: the same through HAProxy (nbthread 1, keep-alive both sides, round-robin), when
 *       /usr/sbin/haproxy is installed;
 *   (d) driver vs wrk: `wrk -t1 -cC` and the zerodrop driver (open engine, closed loop, rate 0,
 *       C connections, its ledger checked) against the same target, replica 1;
 *   (e) ceiling: the highest fixed rate at which scenarios/demo.yaml (rollout + zone crash),
 *       shortened to --probe-duration, still PASSES, by bisection between --ceiling-low and
 *       --ceiling-high with at most --probes runs.
 * (a)–(d) are repeated --runs times, interleaved (a b c d, a b c d…), medians reported; each is
 * preceded by a --warmup wrk run on the same path. CPU per request comes from /proc/PID/stat
 * (utime+stime, all threads) of each process; the proxy and the driver are threads of this
 * process, so the whole process is counted (its main thread only waits). wrk's CPU comes from
 * /usr/bin/time.
 *
 * It prints a table and the ratios against the goals (proxy ≥ 0.8 × HAProxy, driver ≥ 0.95 ×
 * wrk, ceiling ≥ 20,000 req/s) and writes <out>/<timestamp>.json (benchmark-action
 * customBiggerIsBetter). It is a measurement: exit 0 when it measured (goals missed or not),
 * 2 on bad usage, 3 when something could not be measured, 130 on SIGINT. Everything it starts
 * is killed at the end and on SIGINT/SIGTERM; sample-app and HAProxy also die with it
 * (setpriv --pdeathsig).
 *
 *   npm run bench [-- --quick] [-- --no-ceiling] [-- --seconds 10 --runs 3 ...]   (--help)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { countByOutcome } from '../harness/src/driver/analysis.js';
import type { DriverHandle } from '../harness/src/driver/host.js';
import { projectRoot } from '../harness/src/paths.js';
import { writeFileAtomic } from '../harness/src/report/atomic.js';
import { loadScenarioFile } from '../harness/src/scenario/load.js';
import { resolvePlan } from '../harness/src/scenario/resolve.js';
import { errorMessage } from '../common/src/errors.js';
import { startProxyWorker } from '../orchestrator/index.js';
import { findCeiling } from './bench/ceiling.js';
import type { CeilingResult } from './bench/ceiling.js';
import { benchDriverConfig, drive } from './bench/drive.js';
import { haproxyAvailability, startHaproxy } from './bench/haproxy.js';
import { cpuSeconds, median, runWrk } from './bench/measure.js';
import type { WrkResult } from './bench/measure.js';
import { Reaper, startReplica } from './bench/procs.js';
import type { Replica } from './bench/procs.js';
import { DATA_PLANE_ENGINES, isDataPlaneEngine, type DataPlaneEngine } from '../orchestrator/index.js';

// ------------------------------------------------------------------ options

const HEADLINE_RATE = 20_000;
const GOALS = { proxyVsHaproxy: 0.8, driverVsWrk: 0.95, ceilingVsHeadline: 1 } as const;

const USAGE = `usage: npm run bench -- [options]      (or: node dist/scripts/bench.js [options])

  --quick                 short mode (< 2 min): --seconds 3 --warmup 1 --runs 1 --probes 3 --probe-duration 15
  --seconds S             length of each closed-loop measurement, whole seconds (default 10)
  --warmup S              wrk warm-up before each measurement, not recorded, whole seconds (default 2; 0 = none)
  --runs N                repeats of (a)–(d), interleaved; medians reported (default 3)
  --replicas N            sample-app replicas for (a)–(c) (default 2)
  --connections C         client connections for wrk and the driver (default 100)
  --no-haproxy            skip (c)
  --no-driver             skip (d)
  --no-ceiling            skip (e)
  --ceiling-low R         lowest rate probed (default 2000)
  --ceiling-high R        highest rate probed (default ${HEADLINE_RATE})
  --probes N              most ceiling probes (default 5)
  --probe-duration S      load duration of each probe; the demo timeline scales with it (default 30)
  --ceiling-scenario F    the scenario (e) bisects over (default scenarios/demo.yaml)
  --ceiling-proxy P       data plane of the ceiling probes: node | haproxy (default: the scenario's)
  --out DIR               where <timestamp>.json goes (default reports/bench)
  --verbose               print the scenario runner's log lines
  --help
`;

interface Options {
  quick: boolean;
  seconds: number;
  warmup: number;
  runs: number;
  replicas: number;
  connections: number;
  haproxy: boolean;
  driver: boolean;
  ceiling: boolean;
  /** The scenario whose zero-drop ceiling (e) looks for (default scenarios/demo.yaml). */
  ceilingScenario: string;
  /** The data plane of the ceiling probes (null: the scenario's own). */
  ceilingProxy: DataPlaneEngine | null;
  ceilingLow: number;
  ceilingHigh: number;
  probes: number;
  probeDuration: number;
  out: string;
  verbose: boolean;
}

class UsageError extends Error {}

function proxyEngine(raw: string | undefined): DataPlaneEngine | null {
  if (raw === undefined) return null;
  if (!isDataPlaneEngine(raw)) throw new UsageError(`--ceiling-proxy ${raw}: expected one of ${DATA_PLANE_ENGINES.join(', ')}`);
  return raw;
}

function parseOptions(argv: string[]): Options | null {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      runs: { type: 'string' },
      replicas: { type: 'string' },
      connections: { type: 'string' },
      'no-haproxy': { type: 'boolean' },
      'no-driver': { type: 'boolean' },
      'no-ceiling': { type: 'boolean' },
      'ceiling-low': { type: 'string' },
      'ceiling-high': { type: 'string' },
      probes: { type: 'string' },
      'probe-duration': { type: 'string' },
      'ceiling-scenario': { type: 'string' },
      'ceiling-proxy': { type: 'string' },
      out: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return null;
  const quick = values.quick === true;
  const num = (name: string, raw: string | undefined, dflt: number, min: number, max: number): number => {
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`--${name} ${raw}: expected a whole number in [${min}, ${max}]`);
    }
    return n;
  };
  const o: Options = {
    quick,
    seconds: num('seconds', values.seconds, quick ? 3 : 10, 1, 120),
    warmup: num('warmup', values.warmup, quick ? 1 : 2, 0, 30),
    runs: num('runs', values.runs, quick ? 1 : 3, 1, 10),
    replicas: num('replicas', values.replicas, 2, 1, 8),
    connections: num('connections', values.connections, 100, 1, 1000),
    haproxy: values['no-haproxy'] !== true,
    driver: values['no-driver'] !== true,
    ceiling: values['no-ceiling'] !== true,
    ceilingLow: num('ceiling-low', values['ceiling-low'], 2000, 100, 200_000),
    ceilingHigh: num('ceiling-high', values['ceiling-high'], HEADLINE_RATE, 100, 200_000),
    probes: num('probes', values.probes, quick ? 3 : 5, 1, 12),
    probeDuration: num('probe-duration', values['probe-duration'], quick ? 15 : 30, 8, 120),
    out: values.out ?? join(projectRoot(), 'reports', 'bench'),
    verbose: values.verbose === true,
    ceilingScenario: values['ceiling-scenario'] ?? join(projectRoot(), 'scenarios', 'demo.yaml'),
    ceilingProxy: proxyEngine(values['ceiling-proxy']),
  };
  if (o.ceilingLow > o.ceilingHigh) throw new UsageError(`--ceiling-low ${o.ceilingLow} is above --ceiling-high ${o.ceilingHigh}`);
  return o;
}

// ------------------------------------------------------------------ rows

type RowKey = 'direct' | 'proxy' | 'haproxy' | 'wrk' | 'driver' | 'ceiling';

interface Sample {
  rps: number;
  requests: number;
  /** CPU µs per request of the load generator (wrk, or this process for the driver). */
  genUs: number | null;
  /** CPU µs per request of the component in the middle (proxy: this process; haproxy). */
  midUs: number | null;
  /** Σ replicas' CPU µs per request. */
  repUs: number | null;
  errors: number;
  p50ms: number;
  p99ms: number;
  load1: number;
  note: string | null;
}

interface Row {
  key: RowKey;
  label: string;
  /** The benchmark entry name: stable across runs and machines (no versions in it). */
  stableName: string;
  what: string;
  genName: string | null;
  midName: string | null;
  samples: Sample[];
  skipped: string | null;
  error: string | null;
}

const fmtInt = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : Math.round(x).toLocaleString('en-US'));
const fmt = (x: number | null | undefined, d = 1): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
const medianOf = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length === 0 ? null : median(v);
};

function load1(): number {
  return os.loadavg()[0] ?? Number.NaN;
}

function uptimeLine(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8', timeout: 2000 }).trim();
  } catch {
    return `load average: ${os.loadavg().map((x) => x.toFixed(2)).join(', ')}`;
  }
}

function gitSha(): string | null {
  try {
    // "-dirty": the measured code has uncommitted changes (the sha alone would not say what ran).
    return execFileSync('git', ['describe', '--always', '--dirty', '--abbrev=7'], { cwd: projectRoot(), encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

function stamp(d = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

// ------------------------------------------------------------------ measurements

interface Ctx {
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

function assertAlive(ctx: Ctx): void {
  for (const r of ctx.replicas) {
    if (r.child.exitCode !== null || r.child.signalCode !== null) throw new Error(`replica ${r.id} exited (${String(r.child.exitCode ?? r.child.signalCode)}):\n${r.stderr()}`);
  }
  if (ctx.isInterrupted()) throw new Error('interrupted');
}

function wrk(ctx: Ctx, url: string, seconds: number, connections: number, timeCpu: boolean): Promise<WrkResult> {
  return runWrk({ url, seconds, connections, timeCpu, group: true, onSpawn: (c) => ctx.reaper.track(c, true) });
}

/** (a) one wrk per replica, in parallel. */
async function measureDirect(ctx: Ctx): Promise<Sample> {
  const { o, replicas } = ctx;
  const per = Math.max(1, Math.ceil(o.connections / replicas.length));
  if (o.warmup > 0) await Promise.all(replicas.map((r) => wrk(ctx, r.url, o.warmup, per, false)));
  assertAlive(ctx);
  const l = load1();
  const r0 = replicasCpu(replicas);
  const ws = await Promise.all(replicas.map((r) => wrk(ctx, r.url, o.seconds, per, true)));
  const r1 = replicasCpu(replicas);
  assertAlive(ctx);
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
async function measureProxy(ctx: Ctx, proxyTemplate: Parameters<typeof startProxyWorker>[0]): Promise<Sample> {
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

async function measureHaproxy(ctx: Ctx): Promise<Sample> {
  const h = await startHaproxy(ctx.reaper, ctx.replicas);
  try {
    return await measureThrough(ctx, h.url, h.pid, ctx.replicas);
  } finally {
    await h.stop();
  }
}

/** (d) wrk, then the driver, both closed loop with the same connections against replica 1. */
async function measureDriverPair(ctx: Ctx): Promise<{ wrk: Sample; driver: Sample }> {
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

interface Ratio {
  name: string;
  value: number | null;
  goal: number;
  why: string;
}

function rowValue(row: Row): number | null {
  return medianOf(row.samples.map((s) => s.rps));
}

/** The note of the run whose req/s is the median (one line, not one per run). */
function medianNote(row: Row): string {
  const v = rowValue(row);
  if (v === null) return '';
  const s = [...row.samples].sort((a, b) => Math.abs(a.rps - v) - Math.abs(b.rps - v))[0];
  return s?.note ?? '';
}

/** Median of per-run ratios a/b (the runs are interleaved, so each pair shared the same box conditions). */
function pairedRatio(a: Row, b: Row): number | null {
  const n = Math.min(a.samples.length, b.samples.length);
  const rs: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a.samples[i]!.rps;
    const y = b.samples[i]!.rps;
    if (Number.isFinite(x) && Number.isFinite(y) && y > 0) rs.push(x / y);
  }
  return rs.length === 0 ? null : median(rs);
}

function printTable(rows: Row[], ratios: Ratio[], ceiling: CeilingResult | null, header: string[], out: (s: string) => void): void {
  for (const h of header) out(h);
  out('');
  out('| row | what | req/s median [min–max] | load generator CPU µs/req | middle CPU µs/req | replicas CPU µs/req (Σ) | p99 ms | errors | notes |');
  out('|---|---|--:|--:|--:|--:|--:|--:|---|');
  for (const row of rows) {
    if (row.skipped !== null || row.error !== null) {
      out(`| ${row.label} | ${row.what} | ${row.error !== null ? 'NOT MEASURED' : 'skipped'} | | | | | | ${(row.error ?? row.skipped ?? '').split('\n')[0]} |`);
      continue;
    }
    const s = row.samples;
    const rps = s.map((x) => x.rps);
    const range = s.length > 1 ? ` [${fmtInt(Math.min(...rps))}–${fmtInt(Math.max(...rps))}]` : '';
    const gen = medianOf(s.map((x) => x.genUs));
    const mid = medianOf(s.map((x) => x.midUs));
    const rep = medianOf(s.map((x) => x.repUs));
    const notes = medianNote(row);
    out(
      `| ${row.label} | ${row.what} | **${fmtInt(rowValue(row))}**${range} | ${row.genName && gen !== null ? `${row.genName} ${fmt(gen)}` : '—'} | ${row.midName && mid !== null ? `${row.midName} ${fmt(mid)}` : '—'} | ${fmt(rep)} | ${fmt(medianOf(s.map((x) => x.p99ms)), 2)} | ${s.reduce((a, x) => a + x.errors, 0)} | ${notes} |`,
    );
  }
  if (ceiling !== null && ceiling.probes.length > 0) {
    out('');
    out(`Ceiling probes (${rows.find((r) => r.key === 'ceiling')?.what ?? 'demo scenario'}):`);
    for (const p of ceiling.probes) {
      const why = p.verdict === 'PASS' ? '' : p.failedChecks.length > 0 ? ` — ${p.failedChecks.slice(0, 4).join('; ')}` : '';
      const cpu =
        p.harnessCores === null
          ? ''
          : ` · CPU: harness ${fmt(p.harnessCores, 2)} cores (${fmt(p.harnessCpuUsPerReq)} µs/req), replicas ${fmt(p.replicaCores, 2)} cores (${fmt(p.replicaCpuUsPerReq)} µs/req)`;
      out(`  ${fmtInt(p.rate).padStart(7)} req/s  ${p.verdict.padEnd(7)} achieved ${fmtInt(p.achievedRate)} req/s${cpu} · ${p.detail.split('\n')[0]}${why}${p.dir ? ` · ${p.dir}` : ''}`);
    }
  }
  out('');
  out('Goals (proxy ÷ HAProxy and driver ÷ wrk: median of the per-run ratios, the runs being interleaved):');
  for (const r of ratios) {
    const verdict = r.value === null ? 'NOT MEASURED' : r.value >= r.goal ? 'met' : `MISSED (${fmt(r.value / r.goal * 100, 0)} % of the goal)`;
    out(`  ${r.name.padEnd(22)} ${fmt(r.value, 3).padStart(6)}   goal ≥ ${r.goal.toFixed(2)}   ${verdict}${r.why ? ` · ${r.why}` : ''}`);
  }
}

interface BenchEntry {
  name: string;
  unit: string;
  value: number;
  range?: string;
  extra?: string;
}

function benchEntries(rows: Row[], ratios: Ratio[], common: string): BenchEntry[] {
  const entries: BenchEntry[] = [];
  const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;
  for (const row of rows) {
    const v = rowValue(row);
    if (row.skipped !== null || row.error !== null || v === null) continue;
    const s = row.samples;
    const rps = s.map((x) => x.rps);
    const gen = medianOf(s.map((x) => x.genUs));
    const mid = medianOf(s.map((x) => x.midUs));
    const rep = medianOf(s.map((x) => x.repUs));
    const cpu = [
      row.genName && gen !== null ? `${row.genName} ${fmt(gen)} µs/req` : '',
      row.midName && mid !== null ? `${row.midName} ${fmt(mid)} µs/req` : '',
      rep !== null ? `replicas ${fmt(rep)} µs/req` : '',
    ].filter((x) => x !== '');
    const note = medianNote(row);
    const notes = note === '' ? [] : [note];
    entries.push({
      name: `${row.stableName}: ${row.key === 'ceiling' ? 'highest passing rate' : 'throughput'}`,
      unit: 'req/s',
      value: round(v, 0),
      ...(s.length > 1 ? { range: `${Math.round(Math.min(...rps))}–${Math.round(Math.max(...rps))}` } : {}),
      extra: [row.what, ...cpu, `errors ${s.reduce((a, x) => a + x.errors, 0)}`, ...notes, `load1 ${fmt(medianOf(s.map((x) => x.load1)), 2)}`, common].join(' · '),
    });
  }
  for (const r of ratios) {
    if (r.value === null) continue;
    entries.push({ name: `ratio: ${r.name}`, unit: 'ratio', value: round(r.value), extra: [`goal ≥ ${r.goal}`, r.value >= r.goal ? 'met' : 'missed', r.why, common].filter((x) => x !== '').join(' · ') });
  }
  return entries;
}

// ------------------------------------------------------------------ main

async function main(): Promise<number> {
  let o: Options | null;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${errorMessage(err)}\n\n${USAGE}`);
    return 2;
  }
  if (o === null) {
    process.stdout.write(USAGE);
    return 0;
  }
  const opts = o;
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const started = Date.now();
  const startedAt = new Date();
  const reaper = new Reaper();
  const ceilingAbort = new AbortController();
  let interrupted = false;
  let driver: DriverHandle | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) {
      log(`bench: second ${sig}: killing everything now`);
      void reaper.cleanup(2000).finally(() => process.exit(130));
      return;
    }
    interrupted = true;
    log(`bench: ${sig}: stopping the measurement, killing what it started…`);
    ceilingAbort.abort();
    driver?.stop();
    void reaper.killChildren();
    // The normal path tears down (a ceiling probe tears its replicas down itself); never hang.
    setTimeout(() => {
      void reaper.cleanup(2000).finally(() => process.exit(130));
    }, 45_000).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const rows: Row[] = [];
  const mkRow = (key: RowKey, label: string, what: string, genName: string | null, midName: string | null): Row => {
    const r: Row = { key, label, stableName: label, what, genName, midName, samples: [], skipped: null, error: null };
    rows.push(r);
    return r;
  };
  const n = opts.replicas;
  const per = Math.ceil(opts.connections / n);
  const direct = mkRow('direct', '(a) direct to replicas', `${n} × wrk -t1 -c${per}, one per replica, in parallel (${per * n} connections)`, 'wrk', null);
  const proxy = mkRow('proxy', '(b) zerodrop proxy', `wrk -t1 -c${opts.connections} → proxy worker thread → ${n} replicas`, 'wrk', 'harness process');
  const hap = mkRow('haproxy', '(c) HAProxy', `wrk -t1 -c${opts.connections} → haproxy nbthread 1 → ${n} replicas`, 'wrk', 'haproxy');
  const wrkRow = mkRow('wrk', '(d) wrk', `wrk -t1 -c${opts.connections} → replica 1`, 'wrk', null);
  const drv = mkRow('driver', '(d) zerodrop driver', `open engine, closed loop (rate 0), ${opts.connections} conns, ledger checked → replica 1`, 'harness process', null);
  const ceil = mkRow('ceiling', '(e) zero-drop ceiling', '', null, 'harness process (proxy + driver + orchestrator)');
  let ceiling: CeilingResult | null = null;
  let measureFailed = false;

  const uptimeStart = uptimeLine();
  const sha = gitSha();
  const cpus = os.cpus();
  const header = [
    `zerodrop bench · ${opts.quick ? 'quick' : 'full'} · ${startedAt.toISOString()} · ${sha ?? 'unknown commit'} · node ${process.version}`,
    `machine: ${cpus.length} × ${cpus[0]?.model ?? 'cpu'} · ${uptimeStart}`,
    `(a)–(d): ${n} sample-app replicas (fast path on) · ${opts.seconds} s per measurement after a ${opts.warmup} s warm-up · ${opts.runs} run(s), interleaved, medians`,
    `CPU µs/req = Δ(utime+stime) of each process ÷ requests of the row (proxy and driver are threads of the harness process: whole process counted; wrk via /usr/bin/time)`,
  ];
  log(header.join('\n'));

  if (!opts.haproxy) hap.skipped = '--no-haproxy';
  else {
    const h = haproxyAvailability();
    if (!h.ok) hap.skipped = h.reason;
    else {
      hap.label = `(c) HAProxy ${h.version.split('-')[0]}`;
      hap.what = `${hap.what} (HAProxy ${h.version})`;
    }
  }
  if (hap.skipped !== null) log(`(c) HAProxy skipped: ${hap.skipped}`);
  if (!opts.driver) wrkRow.skipped = drv.skipped = '--no-driver';

  const demoFile = join(projectRoot(), 'scenarios', 'demo.yaml');
  const ceilingFile = opts.ceilingScenario;
  const ceilingName = relative(projectRoot(), ceilingFile) || ceilingFile;
  let exitCode = 0;
  try {
    const demo = loadScenarioFile(demoFile);
    const demoPlan = resolvePlan(demo, { prometheus: 'off' });
    const up = demoPlan.proxy.upstream;
    proxy.what = `${proxy.what} (demo config: upstream client ${up.client ?? 'default'}, ${up.connectionsPerReplica} conns/replica, pipelining ${up.pipelining})`;
    const ceilingScenario = ceilingFile === demoFile ? demo : loadScenarioFile(ceilingFile);
    const ceilingPlan = resolvePlan(ceilingScenario, { prometheus: 'off', ...(opts.ceilingProxy ? { proxyEngine: opts.ceilingProxy } : {}) });
    ceil.what = `${ceilingName} (${ceilingPlan.deployment.replicas} replicas, proxy ${ceilingPlan.dataPlane.engine}) shortened to ${opts.probeDuration} s (timeline scaled), bisection ${fmtInt(opts.ceilingLow)}–${fmtInt(opts.ceilingHigh)} req/s, ≤ ${opts.probes} probes`;
    if (!opts.ceiling) ceil.skipped = '--no-ceiling';

    // (a)–(d)
    const replicas: Replica[] = [];
    const zones = demoPlan.deployment.zones;
    for (let i = 0; i < n; i++) replicas.push(await startReplica(reaper, `bench-r${i + 1}`, zones[i % zones.length] ?? 'a'));
    log(`replicas: ${replicas.map((r) => `${r.id} :${r.port} (pid ${r.pid})`).join(', ')}`);
    const ctx: Ctx = {
      o: opts,
      reaper,
      replicas,
      isInterrupted: () => interrupted,
      setDriver: (d) => (driver = d),
      log,
    };
    const attempt = async (row: Row, run: number, fn: () => Promise<Sample | void>): Promise<void> => {
      if (row.skipped !== null || row.error !== null || interrupted) return;
      try {
        const s = await fn();
        if (s) {
          row.samples.push(s);
          log(`run ${run} ${row.label.padEnd(22)} ${fmtInt(s.rps).padStart(7)} req/s · gen ${fmt(s.genUs)} · mid ${fmt(s.midUs)} · replicas ${fmt(s.repUs)} µs/req · errors ${s.errors} · load ${fmt(s.load1, 2)}${s.note ? ` · ${s.note}` : ''}`);
        }
      } catch (err) {
        if (interrupted) return;
        row.error = errorMessage(err);
        measureFailed = true;
        log(`run ${run} ${row.label}: could not measure: ${row.error}`);
      }
    };
    for (let r = 1; r <= opts.runs && !interrupted; r++) {
      await attempt(direct, r, () => measureDirect(ctx));
      await attempt(proxy, r, () => measureProxy(ctx, { ...demoPlan.proxy, runId: 'bench' }));
      await attempt(hap, r, () => measureHaproxy(ctx));
      if (wrkRow.skipped === null && wrkRow.error === null && drv.error === null) {
        let pair: { wrk: Sample; driver: Sample } | null = null;
        await attempt(wrkRow, r, async () => {
          pair = await measureDriverPair(ctx);
          return pair.wrk;
        });
        if (wrkRow.error !== null) drv.error = wrkRow.error;
        await attempt(drv, r, async () => (pair as { driver: Sample } | null)?.driver);
      }
    }
    // The replicas of (a)–(d) are not needed by the ceiling runs (they start their own).
    await reaper.killChildren();

    // (e)
    if (ceil.skipped === null && !interrupted) {
      log(`(e) zero-drop ceiling: ${ceil.what}`);
      try {
        const probesDir = resolve(opts.out, `${stamp(startedAt)}-probes`);
        ceiling = await findCeiling({
          scenario: ceilingScenario,
          ...(opts.ceilingProxy ? { proxyEngine: opts.ceilingProxy } : {}),
          low: opts.ceilingLow,
          high: opts.ceilingHigh,
          maxProbes: opts.probes,
          durationMs: opts.probeDuration * 1000,
          outDir: probesDir,
          signal: ceilingAbort.signal,
          log,
          verbose: opts.verbose,
          resolution: Math.max(500, Math.round(opts.ceilingHigh * 0.05)),
        });
        if (ceiling.probes.every((p) => p.verdict === 'ERROR')) throw new Error(`every probe broke: ${ceiling.probes[0]?.detail ?? ''}`);
        const at = ceiling.atCeiling;
        const bound =
          ceiling.bound === 'at-least'
            ? `≥ ${fmtInt(ceiling.ceiling)} (the high bound passed)`
            : ceiling.bound === 'below'
              ? `< ${fmtInt(ceiling.firstFailing)} (no probe passed)`
              : `between ${fmtInt(ceiling.ceiling)} (PASS) and ${fmtInt(ceiling.firstFailing)} (not PASS)`;
        ceil.samples.push({
          rps: ceiling.ceiling,
          requests: at?.received ?? 0,
          genUs: null,
          midUs: at?.harnessCpuUsPerReq ?? null,
          repUs: at?.replicaCpuUsPerReq ?? null,
          errors: 0,
          p50ms: Number.NaN,
          p99ms: Number.NaN,
          load1: load1(),
          note: `${bound}; ${ceiling.probes.length} probes: ${ceiling.probes.map((p) => `${fmtInt(p.rate)} ${p.verdict}`).join(', ')}`,
        });
      } catch (err) {
        if (!interrupted) {
          ceil.error = errorMessage(err);
          measureFailed = true;
          log(`(e) could not measure: ${ceil.error}`);
        }
      }
    }
  } catch (err) {
    if (!interrupted) {
      log(`bench: could not measure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      measureFailed = true;
    }
  } finally {
    await reaper.cleanup();
  }

  if (interrupted) {
    log('bench: interrupted; nothing written');
    return 130;
  }

  // Ratios and goals.
  const why = (row: Row): string => (row.skipped ?? row.error ?? '').split('\n')[0] ?? '';
  const ratios: Ratio[] = [
    { name: 'proxy ÷ HAProxy', value: pairedRatio(proxy, hap), goal: GOALS.proxyVsHaproxy, why: hap.samples.length === 0 ? `HAProxy: ${why(hap)}` : '' },
    { name: 'driver ÷ wrk', value: pairedRatio(drv, wrkRow), goal: GOALS.driverVsWrk, why: drv.samples.length === 0 ? why(drv) : '' },
    {
      name: `ceiling ÷ ${fmtInt(HEADLINE_RATE)}`,
      value: ceil.samples.length > 0 ? ceil.samples[0]!.rps / HEADLINE_RATE : null,
      goal: GOALS.ceilingVsHeadline,
      why: ceil.samples.length === 0 ? why(ceil) : ceiling?.bound === 'at-least' ? 'the high bound passed: the ceiling may be higher' : '',
    },
  ];
  const uptimeEnd = uptimeLine();
  out('');
  printTable(rows, ratios, ceiling, [`zerodrop bench (${opts.quick ? 'quick' : 'full'}) · ${sha ?? ''} · ${((Date.now() - started) / 1000).toFixed(0)} s`, `start: ${uptimeStart}`, `end:   ${uptimeEnd}`], out);

  const common = [`${opts.quick ? 'quick' : 'full'} mode`, `${opts.seconds} s × ${opts.runs} run(s)`, `${cpus.length} CPUs`, ...(sha ? [`sha ${sha}`] : []), `at start: ${uptimeStart.replace(/^.*load average/, 'load average')}`].join(' · ');
  const entries = benchEntries(rows, ratios, common);
  if (entries.length > 0) {
    mkdirSync(opts.out, { recursive: true });
    const file = join(resolve(opts.out), `${stamp(startedAt)}.json`);
    await writeFileAtomic(file, `${JSON.stringify(entries, null, 2)}\n`);
    out('');
    out(`wrote ${file}`);
  }
  if (measureFailed || entries.length === 0) exitCode = 3;
  return exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Worker threads and sockets are closed; leave nothing pending (a stray timer must not hold the exit).
    setTimeout(() => process.exit(code), 2000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(3);
  },
);
