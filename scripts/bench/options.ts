/**
 * The bench's flags: one parser, one usage text, defaults in one place. Bad flags throw UsageError
 * (exit 2 with the usage).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../../harness/src/paths.js';
import { DATA_PLANE_ENGINES, type DataPlaneEngine, isDataPlaneEngine } from '../../orchestrator/index.js';

export const HEADLINE_RATE = 20_000;
/**
 * Floors (≥) for throughput ratios; ceilings (≤) for costs: replicaVsPlainCpu (sample-app's CPU per
 * request ÷ plain node:http's) and bootCpuMs (a replica's CPU from spawn to Ready).
 */
export const GOALS = { proxyVsHaproxy: 0.8, driverVsWrk: 0.95, ceilingVsHeadline: 1, dockerVsProcess: 0.8, replicaVsPlainCpu: 1.3, bootCpuMs: 100 } as const;

/** Runtimes the ceiling (e) is searched on: each its own row, docker ÷ process against GOALS.dockerVsProcess. */
export const CEILING_RUNTIMES = ['process', 'docker', 'both'] as const;
export type CeilingRuntimes = (typeof CEILING_RUNTIMES)[number];

export const USAGE = `usage: npm run bench -- [options]      (or: node dist/scripts/bench.js [options])
       npm run bench -- proxy [--runs N] [--duration S] [--variants direct,raw,undici,haproxy]   the proxy's upstream clients vs HAProxy
       npm run bench -- driver [--runs N] [--seconds S] [--rates R1,R2]                          the driver's engines vs wrk
       npm run bench -- readme [reports/bench/<stamp>.json]                                   README's performance table from a bench run (default: the newest)

  --quick                 short mode (< 2 min): --seconds 3 --warmup 1 --runs 1 --boots 3 --probes 3 --probe-duration 15
  --seconds S             length of each closed-loop measurement, whole seconds (default 10)
  --warmup S              wrk warm-up before each measurement, not recorded, whole seconds (default 2; 0 = none)
  --runs N                repeats of (a)–(d), interleaved; medians reported (default 3)
  --replicas N            sample-app replicas for (a)–(c) (default 2)
  --connections C         client connections for wrk and the driver (default 100)
  --no-haproxy            skip (c)
  --no-driver             skip (d)
  --no-ceiling            skip (e)
  --boots N               (g) boot CPU: sample-app replicas and bare node processes started, alternated (default 5; 0 = skip)
  --ceiling-low R         lowest rate probed (default 2000)
  --ceiling-high R        highest rate probed (default ${HEADLINE_RATE})
  --probes N              most ceiling probes (default 5)
  --probe-duration S      load duration of each probe, at most the scenario's own: a shorter one scales its
                          timeline (default: the scenario's own length, 60 s for the demo; --quick: 15)
  --ceiling-scenario F    the scenario (e) bisects over (default scenarios/demo.yaml)
  --ceiling-proxy P       data plane of the ceiling probes: node | haproxy (default: the scenario's)
  --ceiling-runtime R     runtime of the ceiling probes: process | docker | both (default both when a Docker
                          engine answers, else process); both prints docker ÷ process against the goal ${GOALS.dockerVsProcess}
  --boot-containers N     (h) container boot: N containers started one by one, then N joining a pod sandbox; medians (default 3; 0 = skip)
  --out DIR               where <timestamp>.json goes (default reports/bench)
  --verbose               print the scenario runner's log lines
  --help
`;

export interface Options {
  quick: boolean;
  seconds: number;
  warmup: number;
  runs: number;
  replicas: number;
  connections: number;
  haproxy: boolean;
  driver: boolean;
  ceiling: boolean;
  /** Boots of (g); 0 skips it. */
  boots: number;
  /** The scenario whose zero-drop ceiling (e) looks for (default scenarios/demo.yaml). */
  ceilingScenario: string;
  /** The data plane of the ceiling probes (null: the scenario's own). */
  ceilingProxy: DataPlaneEngine | null;
  /** The runtimes (e) runs on; null: both when a Docker engine answers, else process. */
  ceilingRuntime: CeilingRuntimes | null;
  bootContainers: number;
  ceilingLow: number;
  ceilingHigh: number;
  probes: number;
  /** Seconds of load per ceiling probe; null: the scenario's own duration (the probe is the scenario as users run it). */
  probeDuration: number | null;
  out: string;
  verbose: boolean;
}

export class UsageError extends Error {}

function proxyEngine(raw: string | undefined): DataPlaneEngine | null {
  if (raw === undefined) return null;
  if (!isDataPlaneEngine(raw)) throw new UsageError(`--ceiling-proxy ${raw}: expected one of ${DATA_PLANE_ENGINES.join(', ')}`);
  return raw;
}

function ceilingRuntime(raw: string | undefined): CeilingRuntimes | null {
  if (raw === undefined) return null;
  if (!(CEILING_RUNTIMES as readonly string[]).includes(raw)) throw new UsageError(`--ceiling-runtime ${raw}: expected one of ${CEILING_RUNTIMES.join(', ')}`);
  return raw as CeilingRuntimes;
}

export function parseOptions(argv: string[]): Options | null {
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
      boots: { type: 'string' },
      'ceiling-low': { type: 'string' },
      'ceiling-high': { type: 'string' },
      probes: { type: 'string' },
      'probe-duration': { type: 'string' },
      'ceiling-scenario': { type: 'string' },
      'ceiling-proxy': { type: 'string' },
      'ceiling-runtime': { type: 'string' },
      'boot-containers': { type: 'string' },
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
    boots: num('boots', values.boots, quick ? 3 : 5, 0, 50),
    ceilingLow: num('ceiling-low', values['ceiling-low'], 2000, 100, 200_000),
    ceilingHigh: num('ceiling-high', values['ceiling-high'], HEADLINE_RATE, 100, 200_000),
    probes: num('probes', values.probes, quick ? 3 : 5, 1, 12),
    probeDuration: values['probe-duration'] === undefined && !quick ? null : num('probe-duration', values['probe-duration'], 15, 8, 120),
    out: values.out ?? join(projectRoot(), 'reports', 'bench'),
    verbose: values.verbose === true,
    ceilingScenario: values['ceiling-scenario'] ?? join(projectRoot(), 'scenarios', 'demo.yaml'),
    ceilingProxy: proxyEngine(values['ceiling-proxy']),
    ceilingRuntime: ceilingRuntime(values['ceiling-runtime']),
    bootContainers: num('boot-containers', values['boot-containers'], 3, 0, 20),
  };
  if (o.ceilingLow > o.ceilingHigh) throw new UsageError(`--ceiling-low ${o.ceilingLow} is above --ceiling-high ${o.ceilingHigh}`);
  return o;
}
