/**
 * Load-driver benchmark (issue 4): the open engine against wrk on the same plain node:http
 * target (a child process, 127.0.0.1), then the open model's accuracy at a fixed rate.
 *
 *   npm run bench -- driver [--runs 3] [--seconds 10] [--rates 20000,10000]
 *                                    [--connections 100] [--open-connections 100] [--autocannon] [--json]
 *
 * Per run, in this order: wrk -t1 -cN closed loop; the open engine closed loop (rate 0, N
 * connections) in its worker thread; the open engine at each of --rates. Optionally autocannon closed
 * loop. Reported: req/s, CPU µs per request of the load generator (wrk: /usr/bin/time; the
 * driver: this process's CPU, all threads — the main thread only waits), the target's CPU per
 * request, and for the open model: achieved rate, send lag, max schedule lag, late sends, latency
 * percentiles from the intended time. Medians over runs. The machine is shared: the 1-minute load
 * average before each step is printed next to its numbers.
 */
import os from 'node:os';
import { achievedRate, countByOutcome, latencyPercentiles, scheduleLag } from '../../harness/src/driver/analysis.js';
import type { EngineName } from '../../harness/src/driver/types.js';
import { benchDriverConfig as config, drive } from './drive.js';
import { cpuSeconds as procCpuSeconds, median, runWrk as runWrkProcess } from './measure.js';
import { startTargetServer, type TargetServer } from './target-server.js';

interface Args {
  runs: number;
  seconds: number;
  rates: number[];
  connections: number;
  /** Connections the open model may open (default: --connections). */
  openConnections: number;
  autocannon: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { runs: 3, seconds: 10, rates: [20_000], connections: 100, openConnections: 0, autocannon: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--runs' && v) {
      a.runs = Number(v);
      i++;
    } else if (k === '--seconds' && v) {
      a.seconds = Number(v);
      i++;
    } else if ((k === '--rate' || k === '--rates') && v) {
      a.rates = v.split(',').map(Number);
      i++;
    } else if (k === '--connections' && v) {
      a.connections = Number(v);
      i++;
    } else if (k === '--open-connections' && v) {
      a.openConnections = Number(v);
      i++;
    } else if (k === '--autocannon') a.autocannon = true;
    else if (k === '--json') a.json = true;
    else {
      process.stderr.write(
        `unknown argument ${k}\nusage: npm run bench -- driver [--runs N] [--seconds S] [--rates R1,R2] [--connections C] [--open-connections C] [--autocannon] [--json]\n`,
      );
      process.exit(2);
    }
  }
  if (a.openConnections === 0) a.openConnections = a.connections;
  return a;
}

interface ClosedResult {
  rps: number;
  /** Load generator CPU per request (the driver: steady state, see drive()). */
  cpuUsPerReq: number;
  /** The driver: over the whole run, worker start-up and hand-over included. */
  wholeRunCpuUsPerReq?: number;
  serverCpuUsPerReq: number;
  load1: number;
}

async function runWrk(url: string, seconds: number, connections: number, server: TargetServer): Promise<ClosedResult> {
  const load1 = os.loadavg()[0]!;
  const s0 = procCpuSeconds(server.pid);
  const w = await runWrkProcess({ url, seconds, connections, id: 'wrk-1', latency: false, timeCpu: true, strictExit: true });
  const s1 = procCpuSeconds(server.pid);
  return { rps: w.rps, cpuUsPerReq: ((w.cpuSeconds ?? Number.NaN) * 1e6) / w.requests, serverCpuUsPerReq: ((s1 - s0) * 1e6) / w.requests, load1 };
}

async function runDriverClosed(url: string, engine: EngineName, seconds: number, connections: number, server: TargetServer): Promise<ClosedResult> {
  const load1 = os.loadavg()[0]!;
  const s0 = procCpuSeconds(server.pid);
  const run = await drive(config(url, engine, 0, connections, seconds));
  const { ledger, summary } = run.result;
  const s1 = procCpuSeconds(server.pid);
  const c = countByOutcome(ledger);
  if (c.ok !== c.sent || summary.anomalies !== 0) throw new Error(`driver run not clean: ${JSON.stringify(c)} anomalies ${summary.anomalies}`);
  const secs = (summary.sendingEndedAt - summary.startedAt) / 1000;
  return {
    rps: c.ok / secs,
    cpuUsPerReq: run.steadyCpuUsPerReq,
    wholeRunCpuUsPerReq: run.wholeCpuUsPerReq,
    serverCpuUsPerReq: ((s1 - s0) * 1e6) / c.sent,
    load1,
  };
}

interface OpenResult {
  target: number;
  achieved: number;
  ok: number;
  failed: number;
  /** After the first second. */
  lateSends: number;
  lateSendsWholeRun: number;
  unsent: number;
  /** = connections: every connection was busy at some point (the target, not the driver, set the pace). */
  maxOpenConnections: number;
  /** After the first second. */
  maxScheduleLagMs: number;
  maxScheduleLagWholeRunMs: number;
  sendLagP50Ms: number;
  sendLagP99Ms: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  cpuUsPerReq: number;
  load1: number;
}

async function runOpen(url: string, rate: number, seconds: number, connections: number): Promise<OpenResult> {
  const load1 = os.loadavg()[0]!;
  const run = await drive(config(url, 'open', rate, connections, seconds));
  const { ledger, summary } = run.result;
  const c = countByOutcome(ledger);
  const from = summary.startedAt;
  const to = from + seconds * 1000;
  const lat = latencyPercentiles(ledger, from, to, [0.5, 0.99, 0.999]);
  // schedule lag after the first second (a fresh worker and target warm up their JIT first)
  const lag = scheduleLag(ledger, from + 1000, to, 5);
  return {
    target: rate,
    achieved: achievedRate(ledger, from, to).sentPerSecond,
    ok: c.ok,
    failed: c.failed + c.abandoned,
    lateSends: lag.late,
    lateSendsWholeRun: summary.lateSends,
    unsent: summary.unsent,
    maxOpenConnections: summary.maxOpenConnections,
    maxScheduleLagMs: lag.maxMs ?? Number.NaN,
    maxScheduleLagWholeRunMs: summary.maxScheduleLagMs,
    sendLagP50Ms: lag.p50Ms ?? Number.NaN,
    sendLagP99Ms: lag.p99Ms ?? Number.NaN,
    p50Ms: lat.values[0] ?? Number.NaN,
    p99Ms: lat.values[1] ?? Number.NaN,
    p999Ms: lat.values[2] ?? Number.NaN,
    maxMs: lat.maxMs ?? Number.NaN,
    cpuUsPerReq: run.steadyCpuUsPerReq,
    load1,
  };
}

const f = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : '-');

/** `npm run bench -- driver …`. */
export async function driverEnginesMain(argv: readonly string[]): Promise<number> {
  const args = parseArgs([...argv]);
  const server = await startTargetServer('plain', { maxLifeMs: (args.runs * args.seconds * 6 + 120) * 1000 });
  const url = `${server.url}/`;
  const log = (s: string): void => {
    if (!args.json) process.stdout.write(`${s}\n`);
  };
  try {
    log(`target ${url} (pid ${server.pid}); ${os.cpus().length} CPUs; ${args.runs} runs × ${args.seconds} s; shared machine`);
    await runWrk(url, 3, args.connections, server); // warm the target's JIT
    const wrk: ClosedResult[] = [];
    const drv: ClosedResult[] = [];
    const ac: ClosedResult[] = [];
    const open: OpenResult[] = [];
    for (let r = 1; r <= args.runs; r++) {
      const w = await runWrk(url, args.seconds, args.connections, server);
      wrk.push(w);
      log(
        `run ${r} wrk -t1 -c${args.connections}: ${f(w.rps)} req/s, ${f(w.cpuUsPerReq, 1)} µs CPU/req (target ${f(w.serverCpuUsPerReq, 1)}), load ${f(w.load1, 1)}`,
      );
      const d = await runDriverClosed(url, 'open', args.seconds, args.connections, server);
      drv.push(d);
      log(
        `run ${r} open engine closed loop c${args.connections}: ${f(d.rps)} req/s (${f(d.rps / w.rps, 3)} × wrk), ${f(d.cpuUsPerReq, 1)} µs CPU/req ` +
          `(whole run ${f(d.wholeRunCpuUsPerReq ?? Number.NaN, 1)}; target ${f(d.serverCpuUsPerReq, 1)}), load ${f(d.load1, 1)}`,
      );
      if (args.autocannon) {
        const a = await runDriverClosed(url, 'autocannon', args.seconds, args.connections, server);
        ac.push(a);
        log(`run ${r} autocannon engine closed loop c${args.connections}: ${f(a.rps)} req/s, ${f(a.cpuUsPerReq, 1)} µs CPU/req, load ${f(a.load1, 1)}`);
      }
      for (const rate of args.rates) {
        const o = await runOpen(url, rate, args.seconds, args.openConnections);
        open.push(o);
        log(
          `run ${r} open model @${rate}: achieved ${f(o.achieved)} req/s (${f((o.achieved / o.target) * 100, 2)} %), ok ${o.ok}, failed ${o.failed}, ` +
            `after 1 s: send lag p50 ${f(o.sendLagP50Ms, 3)} p99 ${f(o.sendLagP99Ms, 3)} max ${f(o.maxScheduleLagMs, 1)} ms, late(>5ms) ${o.lateSends}; ` +
            `whole run: max lag ${f(o.maxScheduleLagWholeRunMs, 1)} ms, late ${o.lateSendsWholeRun}; unsent ${o.unsent}, ` +
            `conns used ${o.maxOpenConnections}/${args.openConnections}, ` +
            `latency p50 ${f(o.p50Ms, 2)} p99 ${f(o.p99Ms, 2)} p99.9 ${f(o.p999Ms, 2)} max ${f(o.maxMs, 1)} ms, ${f(o.cpuUsPerReq, 1)} µs CPU/req, load ${f(o.load1, 1)}`,
        );
      }
    }
    const summary = {
      runs: args.runs,
      seconds: args.seconds,
      connections: args.connections,
      wrk: { rps: median(wrk.map((x) => x.rps)), cpuUsPerReq: median(wrk.map((x) => x.cpuUsPerReq)) },
      openClosedLoop: { rps: median(drv.map((x) => x.rps)), cpuUsPerReq: median(drv.map((x) => x.cpuUsPerReq)) },
      ratioToWrk: median(drv.map((x, i) => x.rps / wrk[i]!.rps)),
      autocannonClosedLoop: ac.length > 0 ? { rps: median(ac.map((x) => x.rps)), cpuUsPerReq: median(ac.map((x) => x.cpuUsPerReq)) } : null,
      openModel: args.rates.map((rate) => {
        const rs = open.filter((x) => x.target === rate);
        return {
          target: rate,
          achieved: median(rs.map((x) => x.achieved)),
          maxScheduleLagMs: median(rs.map((x) => x.maxScheduleLagMs)),
          sendLagP50Ms: median(rs.map((x) => x.sendLagP50Ms)),
          sendLagP99Ms: median(rs.map((x) => x.sendLagP99Ms)),
          lateSends: median(rs.map((x) => x.lateSends)),
          p50Ms: median(rs.map((x) => x.p50Ms)),
          p99Ms: median(rs.map((x) => x.p99Ms)),
          cpuUsPerReq: median(rs.map((x) => x.cpuUsPerReq)),
        };
      }),
      load1: median([...wrk, ...drv].map((x) => x.load1)),
    };
    if (args.json) process.stdout.write(`${JSON.stringify({ summary, wrk, drv, ac, open }, null, 2)}\n`);
    else {
      log('medians:');
      log(`  wrk                 ${f(summary.wrk.rps)} req/s, ${f(summary.wrk.cpuUsPerReq, 1)} µs CPU/req`);
      log(
        `  open closed loop    ${f(summary.openClosedLoop.rps)} req/s, ${f(summary.openClosedLoop.cpuUsPerReq, 1)} µs CPU/req; ratio to wrk ${f(summary.ratioToWrk, 3)} (goal ≥ 0.95)`,
      );
      if (summary.autocannonClosedLoop)
        log(`  autocannon          ${f(summary.autocannonClosedLoop.rps)} req/s, ${f(summary.autocannonClosedLoop.cpuUsPerReq, 1)} µs CPU/req`);
      for (const om of summary.openModel) {
        log(
          `  open model @${om.target}: achieved ${f(om.achieved)} req/s, send lag p50 ${f(om.sendLagP50Ms, 2)} p99 ${f(om.sendLagP99Ms, 2)} max ${f(om.maxScheduleLagMs, 1)} ms, ` +
            `late ${f(om.lateSends)}, latency p50 ${f(om.p50Ms, 2)} p99 ${f(om.p99Ms, 2)} ms, ${f(om.cpuUsPerReq, 1)} µs CPU/req`,
        );
      }
    }
  } finally {
    await server.close();
  }
  return 0;
}
