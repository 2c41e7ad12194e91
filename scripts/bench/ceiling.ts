/**
 * The zero-drop ceiling: the highest fixed rate at which the demo scenario (rolling update +
 * zone crash, at its own length, or shortened with --duration semantics: the timeline scales with
 * it) still PASSES,
 * found by bisection between a low and a high bound, with a bounded number of probes. Each probe
 * is a whole in-process run (runScenario: replicas, proxy worker, driver worker, verifier,
 * reports under <out>/<stamp>-probes/).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { errorMessage, isZerodropError } from '../../common/src/errors.js';
import { newRunId, type RunOutcome, runScenario } from '../../harness/src/run/runner.js';
import type { LoadedScenario } from '../../harness/src/scenario/load.js';
import { resolvePlan } from '../../harness/src/scenario/resolve.js';
import { cpuSecondsOrNull } from './measure.js';
import type { DataPlaneEngine, RuntimeName } from '../../orchestrator/index.js';
import type { CpuBudget } from '../../harness/src/result/types.js';
import { describeCpuBudget } from '../../harness/src/verify/cpu-budget.js';
import { searchCeiling, type SearchOutcome, type SearchVerdict } from './ceiling-search.js';

export type ProbeVerdict = SearchVerdict;

export interface Probe {
  rate: number;
  verdict: ProbeVerdict;
  /** The run's headline, or the error. */
  detail: string;
  /** Ids of the checks that did not pass. */
  failedChecks: string[];
  runId: string;
  dir: string | null;
  wallSeconds: number;
  achievedRate: number | null;
  /** Requests the proxy received over the whole run. */
  received: number | null;
  /** This process (proxy worker + driver worker + orchestrator) CPU µs per request, load window only. */
  harnessCpuUsPerReq: number | null;
  /** Σ replica processes' CPU µs per request (sampled every 500 ms; a killed replica counts to its last sample). */
  replicaCpuUsPerReq: number | null;
  /** Cores used over the load window (1 = one full core): this process, and the replicas together. */
  harnessCores: number | null;
  replicaCores: number | null;
  /** The run's CPU per request by part (result.load.cpuBudget). */
  cpuBudget: CpuBudget | null;
  /** The data plane's retries by kind (timeout, connect_error, reset). */
  retries: Record<string, number> | null;
  /** The rollout-retries check's figures: charged tries by cause, rollout and steady counts. */
  retryCauses: Record<string, number> | null;
  /** What the machine was doing (the load.machine-not-starved check's figures). */
  machine: string | null;
}

export interface CeilingOptions {
  scenario: LoadedScenario;
  low: number;
  high: number;
  maxProbes: number;
  durationMs: number;
  outDir: string;
  signal: AbortSignal;
  log: (line: string) => void;
  /** Pass the runner's log lines to `log` as they come. */
  verbose?: boolean;
  /** Stop bisecting once hi − lo ≤ this (req/s). */
  resolution: number;
  /** Overrides the scenario's data plane (--ceiling-proxy). */
  proxyEngine?: DataPlaneEngine;
  /** Overrides the scenario's runtime (--ceiling-runtime). */
  runtime?: RuntimeName;
  /** Probe this rate first (the docker row: the goal line, 0.8 × the process ceiling). */
  start?: number;
}

export interface CeilingResult extends SearchOutcome {
  probes: Probe[];
  /** The probe at the ceiling (its CPU figures go into the table). */
  atCeiling: Probe | null;
}

/** Replica processes of one run (env ZERODROP_RUN_ID), with their CPU sampled while the load runs. */
class RunCpuSampler {
  private readonly needle: string;
  private readonly notOurs = new Set<string>();
  /** pid → [cpu at first sight or window start, latest cpu]. */
  private readonly seen = new Map<number, [number, number]>();
  private timer: NodeJS.Timeout | null = null;

  constructor(runId: string) {
    this.needle = `ZERODROP_RUN_ID=${runId}`;
  }

  start(): void {
    this.timer = setInterval(() => this.sample(false), 500);
    this.timer.unref();
  }

  /** Window start: processes alive now are counted from their current CPU, later ones from 0. */
  markStart(): void {
    this.seen.clear();
    this.sample(true);
  }

  stop(): number | null {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample(false);
    if (this.seen.size === 0) return null;
    let total = 0;
    for (const [a, b] of this.seen.values()) total += b - a;
    return total;
  }

  private sample(baseline: boolean): void {
    let names: string[];
    try {
      names = readdirSync('/proc');
    } catch {
      return;
    }
    for (const name of names) {
      if (!/^\d+$/.test(name) || this.notOurs.has(name)) continue;
      const pid = Number(name);
      const known = this.seen.get(pid);
      if (known === undefined) {
        let env: string;
        try {
          env = readFileSync(`/proc/${name}/environ`, 'utf8');
        } catch {
          this.notOurs.add(name);
          continue;
        }
        if (!env.split('\0').includes(this.needle)) {
          this.notOurs.add(name);
          continue;
        }
      }
      const cpu = cpuSecondsOrNull(pid);
      if (cpu === null) continue;
      if (known === undefined) this.seen.set(pid, [baseline ? cpu : 0, cpu]);
      else known[1] = cpu;
    }
  }
}

/**
 * A shortened scenario gets its warm-up cut to 10 % of the new duration (at most its own), so the
 * first timeline step (the rollout, at 1/6 of the duration in demo.yaml) falls in the measured
 * window. The timeline itself is scaled by resolvePlan's durationMs, as `--duration` does.
 */
export function shortened(loaded: LoadedScenario, durationMs: number): LoadedScenario {
  const load = loaded.scenario.load;
  if (durationMs >= load.duration) return loaded; // at its own length: the scenario as users run it
  const warmup = Math.min(load.warmup, Math.max(1000, Math.round(durationMs / 10)));
  return { ...loaded, scenario: { ...loaded.scenario, load: { ...load, warmup } } };
}

async function probe(o: CeilingOptions, rate: number, index: number): Promise<Probe> {
  const runId = newRunId(`${o.scenario.scenario.name}-bench`);
  const started = Date.now();
  const base: Probe = {
    rate,
    verdict: 'ERROR',
    detail: '',
    failedChecks: [],
    runId,
    dir: null,
    wallSeconds: 0,
    achievedRate: null,
    received: null,
    harnessCpuUsPerReq: null,
    replicaCpuUsPerReq: null,
    harnessCores: null,
    replicaCores: null,
    cpuBudget: null,
    retries: null,
    retryCauses: null,
    machine: null,
  };
  const sampler = new RunCpuSampler(runId);
  let cpuStart: NodeJS.CpuUsage | null = null;
  let cpuWindow: number | null = null;
  let windowStart = 0;
  let windowMs: number | null = null;
  let replicaCpu: number | null = null;
  const logs: string[] = [];
  // A probe must end by itself: abort it (the runner tears down and reports) if it overruns.
  const ac = new AbortController();
  const onOuterAbort = (): void => ac.abort();
  o.signal.addEventListener('abort', onOuterAbort, { once: true });
  const watchdog = setTimeout(() => {
    logs.push('bench: probe overran its bound, aborting it');
    ac.abort();
  }, o.durationMs + 90_000);
  watchdog.unref();
  let outcome: RunOutcome;
  try {
    const plan = resolvePlan(shortened(o.scenario, o.durationMs), {
      rate,
      durationMs: o.durationMs,
      outDir: o.outDir,
      prometheus: 'off',
      ...(o.proxyEngine ? { proxyEngine: o.proxyEngine } : {}),
      ...(o.runtime ? { runtime: o.runtime } : {}),
    });
    sampler.start();
    outcome = await runScenario({
      plan,
      runId,
      command: `bench ceiling probe ${index} @ ${rate} req/s`,
      io: {
        log: (l) => {
          if (o.verbose === true) o.log(`    ${l}`);
          logs.push(l);
          if (logs.length > 400) logs.splice(0, logs.length - 400);
        },
        progress: (_line, final) => {
          if (cpuStart === null) {
            cpuStart = process.cpuUsage();
            windowStart = performance.now();
            sampler.markStart();
          } else if (final === true && cpuWindow === null) {
            const d = process.cpuUsage(cpuStart);
            cpuWindow = d.user + d.system;
            windowMs = performance.now() - windowStart;
            replicaCpu = sampler.stop();
          }
        },
      },
      signal: ac.signal,
    });
  } catch (err) {
    sampler.stop();
    // A bad scenario or option is not a measurement: stop the bisection.
    if (isZerodropError(err) && err.exitCode === 2) throw err;
    const tail = logs.slice(-8).map((l) => `    ${l}`);
    return {
      ...base,
      detail: `${isZerodropError(err) ? `${err.code}: ` : ''}${errorMessage(err)}${tail.length ? `\n${tail.join('\n')}` : ''}`,
      wallSeconds: (Date.now() - started) / 1000,
    };
  } finally {
    clearTimeout(watchdog);
    o.signal.removeEventListener('abort', onOuterAbort);
  }
  sampler.stop();
  const r = outcome.result;
  const received = r.proxy.received;
  return {
    ...base,
    verdict: r.verdict,
    detail: r.headline,
    failedChecks: r.checks.filter((c) => c.status === 'fail' || c.status === 'invalid').map((c) => `${c.id} (${c.actual})`),
    dir: outcome.dir,
    wallSeconds: (Date.now() - started) / 1000,
    achievedRate: r.load.achievedRate,
    received,
    harnessCpuUsPerReq: cpuWindow !== null && received > 0 ? cpuWindow / received : null,
    replicaCpuUsPerReq: replicaCpu !== null && received > 0 ? (replicaCpu * 1e6) / received : null,
    harnessCores: cpuWindow !== null && windowMs !== null && windowMs > 0 ? cpuWindow / 1000 / windowMs : null,
    replicaCores: replicaCpu !== null && windowMs !== null && windowMs > 0 ? (replicaCpu * 1000) / windowMs : null,
    cpuBudget: r.load.cpuBudget ?? null,
    retries: { ...r.proxy.retries },
    retryCauses: r.checks.find((c) => c.id === 'thresholds.rollout-retries')?.numbers ?? null,
    machine: r.checks.find((c) => c.id === 'load.machine-not-starved')?.actual ?? null,
  };
}

/**
 * Why the first rate that did not pass failed (issue 12 item 9): its verdict, the checks that did
 * not pass, the data plane's retries by kind and the charged tries by cause, where the CPU went per
 * request, and what the machine was doing. Empty when every probe passed.
 */
export function bindingCause(c: CeilingResult): string[] {
  // The last one at that rate: after an INVALID, the repeat is what decided it.
  const p = c.firstFailing === null ? null : c.probes.findLast((x) => x.rate === c.firstFailing && x.verdict !== 'PASS');
  if (!p) return [];
  const kv = (rec: Record<string, number> | null): string =>
    rec === null
      ? 'not recorded'
      : Object.entries(rec)
          .map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
          .join(', ') || 'none';
  return [
    `Why ${p.rate.toLocaleString('en-US')} req/s did not pass: ${p.verdict} · ${p.detail.split('\n')[0]}`,
    ...(p.failedChecks.length > 0 ? [`  checks not passed: ${p.failedChecks.join('; ')}`] : []),
    `  data plane retries by kind: ${kv(p.retries)}`,
    `  rollout retries check: ${kv(p.retryCauses)}`,
    `  CPU: ${p.cpuBudget ? describeCpuBudget(p.cpuBudget) : 'not measured'}`,
    `  machine: ${p.machine ?? 'not measured'}`,
    ...(p.dir ? [`  report: ${p.dir}/report.html`] : []),
  ];
}

/** Runs the search (ceiling-search.ts: its order, and what an INVALID probe gets) with real probes. */
export async function findCeiling(o: CeilingOptions): Promise<CeilingResult> {
  const probes: Probe[] = [];
  const run = async (rate: number): Promise<SearchVerdict> => {
    const n = probes.length + 1;
    const again = probes.some((p) => p.rate === rate) ? ' (again: the last one was INVALID)' : '';
    o.log(`  probe ${n}/${o.maxProbes} @ ${rate.toLocaleString('en-US')} req/s (${o.durationMs / 1000} s of demo scenario)${again}…`);
    const p = await probe(o, rate, n);
    probes.push(p);
    const why = p.verdict === 'PASS' ? '' : p.failedChecks.length > 0 ? ` — ${p.failedChecks.slice(0, 3).join('; ')}` : '';
    o.log(
      `  probe ${n}/${o.maxProbes} @ ${rate.toLocaleString('en-US')} req/s: ${p.verdict} in ${p.wallSeconds.toFixed(0)} s · ${p.detail.split('\n')[0]}${why}`,
    );
    if (p.verdict === 'ERROR' && p.detail.includes('\n')) o.log(p.detail.split('\n').slice(1).join('\n'));
    if (o.signal.aborted) throw new Error('interrupted');
    return p.verdict;
  };
  const outcome = await searchCeiling({ low: o.low, high: o.high, maxProbes: o.maxProbes, resolution: o.resolution, start: o.start ?? null }, run);
  const atCeiling = probes.find((p) => p.verdict === 'PASS' && p.rate === outcome.ceiling) ?? null;
  return { ...outcome, probes, atCeiling };
}
