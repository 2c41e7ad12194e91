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
 *   (f) plain node:http: as (a), against minimal node:http servers answering GET / with
 *       sample-app's body and headers (bench/plain-http.ts): sample-app's CPU per request is
 *       reported as a ratio to theirs (goal ≤ 1.3);
 *   (g) boot CPU: a sample-app replica's CPU from spawn to its /readyz first answering 200, next
 *       to a bare `node -e` process's to its first line (bench/boot.ts), --boots times each;
 *   (e) ceiling: the highest fixed rate at which scenarios/demo.yaml (rollout + zone crash),
 *       at its own length or shortened to --probe-duration, still PASSES, by bisection between --ceiling-low and
 *       --ceiling-high with at most --probes runs; on the process runtime and, beside it, on
 *       Docker (--ceiling-runtime), with the ratio docker ÷ process;
 *   (h) container boot: --boot-containers sample-app containers started one by one (then as many joining a pod sandbox), create →
 *       running → listening → Ready and CPU (cgroup, shim, engine), medians (when Docker answers).
 * (a)–(d) and (f) are repeated --runs times, interleaved (a f b c d, a f b c d…), medians reported; each is
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
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DriverHandle } from '../harness/src/driver/host.js';
import { projectRoot } from '../harness/src/paths.js';
import { writeFileAtomic } from '../harness/src/report/atomic.js';
import { loadScenarioFile } from '../harness/src/scenario/load.js';
import { resolvePlan } from '../harness/src/scenario/resolve.js';
import { errorMessage } from '../common/src/errors.js';
import type { CeilingResult } from './bench/ceiling.js';
import { ceilingIntoRow, ceilingRuntimes } from './bench/ceiling-row.js';
import { dockerSearchBounds } from './bench/ceiling-search.js';
import { bootLines, measureDockerBoots, type DockerBootSummary } from './bench/docker-boot.js';
import { type BootResult, measureBoot } from './bench/boot.js';
import { driverEnginesMain } from './bench/driver-engines.js';
import { newestBenchFile, readBenchEntries, renderBenchTable, replaceBenchTable, sourceLabel } from './bench/readme-table.js';
import { proxyVariantsMain } from './bench/proxy-variants.js';
import { haproxyAvailability } from './bench/haproxy.js';
import { GOALS, HEADLINE_RATE, parseOptions, USAGE, type Options } from './bench/options.js';
import { Reaper, type Replica, startPlainHttp, startReplica } from './bench/procs.js';
import { ownSessionChangesRank, runInOwnSession } from '../harness/src/cli/own-session.js';
import { measureDirect, measureDriverPair, measureHaproxy, measureProxy, type Ctx } from './bench/rows.js';
import { benchEntries, fmt, fmtInt, pairedCpuRatio, pairedRatio, printTable, type Ratio, type Row, type RowKey, type Sample } from './bench/render.js';

function uptimeLine(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8', timeout: 2000 }).trim();
  } catch {
    return `load average: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(', ')}`;
  }
}

function gitSha(): string | null {
  try {
    // "-dirty": the measured code has uncommitted changes (the sha alone would not say what ran).
    return (
      execFileSync('git', ['describe', '--always', '--dirty', '--abbrev=7'], {
        cwd: projectRoot(),
        encoding: 'utf8',
        timeout: 2000,
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() || null
    );
  } catch {
    return null;
  }
}

function stamp(d = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
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
  const plain = mkRow(
    'plain',
    '(f) plain node:http',
    `as (a), against ${n} minimal node:http servers answering GET / with sample-app's body and headers (scripts/bench/plain-http.ts)`,
    'wrk',
    null,
  );
  const proxy = mkRow('proxy', '(b) zerodrop proxy', `wrk -t1 -c${opts.connections} → proxy worker thread → ${n} replicas`, 'wrk', 'harness process');
  const hap = mkRow('haproxy', '(c) HAProxy', `wrk -t1 -c${opts.connections} → haproxy nbthread 1 → ${n} replicas`, 'wrk', 'haproxy');
  const wrkRow = mkRow('wrk', '(d) wrk', `wrk -t1 -c${opts.connections} → replica 1`, 'wrk', null);
  const drv = mkRow(
    'driver',
    '(d) zerodrop driver',
    `open engine, closed loop (rate 0), ${opts.connections} conns, ledger checked → replica 1`,
    'harness process',
    null,
  );
  const ceil = mkRow('ceiling', '(e) zero-drop ceiling', '', null, 'harness process (proxy + driver + orchestrator)');
  const ceilDocker = mkRow('ceiling-docker', '(e) zero-drop ceiling, docker', '', null, 'harness process (proxy + driver + orchestrator)');
  const ceilings: { row: Row; result: CeilingResult }[] = [];
  const processSearch = (): CeilingResult | undefined => ceilings.find((c) => c.row === ceil)?.result;
  let boots: DockerBootSummary | null = null;
  let bootsSkipped: string | null = null;
  let boot: BootResult | null = null;
  let bootError: string | null = opts.boots === 0 ? '--boots 0' : null;
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
  let probeMs = 0;
  try {
    const demo = loadScenarioFile(demoFile);
    const demoPlan = resolvePlan(demo, { prometheus: 'off' });
    const up = demoPlan.proxy.upstream;
    proxy.what = `${proxy.what} (demo config: upstream client ${up.client ?? 'default'}, ${up.connectionsPerReplica} conns/replica, pipelining ${up.pipelining})`;
    const ceilingScenario = ceilingFile === demoFile ? demo : loadScenarioFile(ceilingFile);
    const ceilingPlan = resolvePlan(ceilingScenario, { prometheus: 'off', ...(opts.ceilingProxy ? { proxyEngine: opts.ceilingProxy } : {}) });
    // A probe is never longer than the scenario: --probe-duration at or above its length is its own length.
    const ownMs = ceilingScenario.scenario.load.duration;
    probeMs = opts.probeDuration === null ? ownMs : Math.min(ownMs, opts.probeDuration * 1000);
    const length = probeMs >= ownMs ? `at its own length (${fmtInt(probeMs / 1000)} s)` : `shortened to ${probeMs / 1000} s (timeline scaled)`;
    ceil.what = `${ceilingName} (${ceilingPlan.deployment.replicas} replicas, proxy ${ceilingPlan.dataPlane.engine}) ${length}, bisection ${fmtInt(opts.ceilingLow)}–${fmtInt(opts.ceilingHigh)} req/s, ≤ ${opts.probes} probes`;
    // The data plane may differ by runtime (proxy.engine auto): each row names its own.
    const ceilingDockerPlan = resolvePlan(ceilingScenario, {
      prometheus: 'off',
      runtime: 'docker',
      ...(opts.ceilingProxy ? { proxyEngine: opts.ceilingProxy } : {}),
    });
    ceilDocker.what = `${ceil.what.replace(`proxy ${ceilingPlan.dataPlane.engine}`, `proxy ${ceilingDockerPlan.dataPlane.engine}`)}, --runtime docker`;
    ceil.what = `${ceil.what}, --runtime process`;
    const onRuntimes = await ceilingRuntimes(opts.ceilingRuntime);
    if (!opts.ceiling) ceil.skipped = ceilDocker.skipped = '--no-ceiling';
    if (!onRuntimes.runtimes.includes('process')) ceil.skipped ??= `--ceiling-runtime ${opts.ceilingRuntime ?? ''}`;
    if (onRuntimes.dockerSkipped !== null) ceilDocker.skipped ??= onRuntimes.dockerSkipped;
    if (opts.bootContainers === 0) bootsSkipped = '--boot-containers 0';
    else if (onRuntimes.dockerSkipped !== null && opts.ceilingRuntime === null) bootsSkipped = onRuntimes.dockerSkipped;

    // (a)–(d)
    const replicas: Replica[] = [];
    const zones = demoPlan.deployment.zones;
    for (let i = 0; i < n; i++) replicas.push(await startReplica(reaper, `bench-r${i + 1}`, zones[i % zones.length] ?? 'a'));
    log(`replicas: ${replicas.map((r) => `${r.id} :${r.port} (pid ${r.pid})`).join(', ')}`);
    const plainServers: Replica[] = [];
    for (let i = 0; i < n; i++) plainServers.push(await startPlainHttp(reaper, `bench-p${i + 1}`, zones[i % zones.length] ?? 'a'));
    log(`plain node:http: ${plainServers.map((r) => `${r.id} :${r.port} (pid ${r.pid})`).join(', ')}`);
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
          log(
            `run ${run} ${row.label.padEnd(22)} ${fmtInt(s.rps).padStart(7)} req/s · gen ${fmt(s.genUs)} · mid ${fmt(s.midUs)} · replicas ${fmt(s.repUs)} µs/req · errors ${s.errors} · load ${fmt(s.load1, 2)}${s.note ? ` · ${s.note}` : ''}`,
          );
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
      await attempt(plain, r, () => measureDirect(ctx, plainServers));
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

    // (g): on a machine as quiet as (a)–(d) left it, before the ceiling's load.
    if (opts.boots > 0 && !interrupted) {
      try {
        boot = await measureBoot(reaper, opts.boots, () => interrupted);
        for (const [i, b] of boot.samples.entries())
          log(`boot ${i + 1}: sample-app ${fmt(b.listeningMs, 0)} ms CPU to listening, ${fmt(b.readyMs, 0)} ms to Ready · bare node -e ${fmt(b.bareMs, 0)} ms`);
      } catch (err) {
        if (!interrupted) {
          bootError = errorMessage(err);
          measureFailed = true;
          log(`(g) boot CPU: could not measure: ${bootError}`);
        }
      }
    }

    // (h) before (e): a few containers on a quiet engine.
    if (bootsSkipped === null && !interrupted) {
      log(`(h) container boot: ${opts.bootContainers} sample-app containers, one by one`);
      try {
        const bootPlan = resolvePlan(demo, { prometheus: 'off', runtime: 'docker' });
        const runId = `bench-boot-${stamp(startedAt)}`;
        boots = await measureDockerBoots(
          (i) => ({
            runId,
            replicaId: `boot-${i + 1}`,
            deployment: 'bench',
            zone: 'a',
            revision: 1,
            template: bootPlan.deployment.template,
            resources: bootPlan.deployment.resources,
          }),
          opts.bootContainers,
          log,
        );
      } catch (err) {
        bootsSkipped = `NOT MEASURED: ${errorMessage(err).split('\n')[0] ?? ''}`;
        measureFailed = true;
        log(`(h) could not measure: ${errorMessage(err)}`);
      }
    }

    // (e), on each runtime, one after the other (each probe has the machine to itself).
    for (const [row, runtime] of [
      [ceil, 'process'],
      [ceilDocker, 'docker'],
    ] as const) {
      if (row.skipped !== null || interrupted) continue;
      // The docker search starts at the goal line, so its first probe answers the goal, and goes no
      // higher than the first rate the process runtime did not sustain.
      const { goalLine, start, high } =
        runtime === 'docker'
          ? dockerSearchBounds(processSearch(), { low: opts.ceilingLow, high: opts.ceilingHigh, goal: GOALS.dockerVsProcess })
          : { goalLine: null, start: null, high: opts.ceilingHigh };
      if (goalLine !== null && start !== null) {
        const pct = `${fmtInt(GOALS.dockerVsProcess * 100)} % of the process ceiling`;
        row.what = `${row.what}, ${start === goalLine ? `first probe at ${pct}` : `first probe at the low bound (${pct}, ${fmtInt(goalLine)}, is below it)`}`;
      }
      if (high !== opts.ceilingHigh)
        row.what = row.what.replace(`–${fmtInt(opts.ceilingHigh)} req/s`, `–${fmtInt(high)} req/s (the process search's first rate not sustained)`);
      log(`${row.label}: ${row.what}`);
      const result = await ceilingIntoRow(row, {
        ...(start !== null ? { start } : {}),
        scenario: ceilingScenario,
        ...(opts.ceilingProxy ? { proxyEngine: opts.ceilingProxy } : {}),
        runtime,
        low: opts.ceilingLow,
        high,
        maxProbes: opts.probes,
        durationMs: probeMs,
        outDir: resolve(opts.out, `${stamp(startedAt)}-probes${runtime === 'docker' ? '-docker' : ''}`),
        signal: ceilingAbort.signal,
        log,
        verbose: opts.verbose,
        resolution: Math.max(500, Math.round(opts.ceilingHigh * 0.05)),
      });
      if (row.error !== null) measureFailed = true;
      if (result) ceilings.push({ row, result });
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
    {
      name: 'sample-app ÷ node:http CPU/req',
      value: pairedCpuRatio(direct, plain),
      goal: GOALS.replicaVsPlainCpu,
      atMost: true,
      why: plain.samples.length === 0 ? `plain node:http: ${why(plain)}` : direct.samples.length === 0 ? `direct: ${why(direct)}` : '',
    },
    {
      name: '(g) replica boot CPU to Ready',
      value: boot?.readyMs ?? null,
      goal: GOALS.bootCpuMs,
      atMost: true,
      unit: 'ms',
      why:
        boot === null
          ? (bootError ?? '')
          : `median of ${boot.samples.length}; ${fmt(boot.listeningMs, 0)} ms to listening; a bare node -e process: ${fmt(boot.bareMs, 0)} ms`,
    },
    { name: 'proxy ÷ HAProxy', value: pairedRatio(proxy, hap), goal: GOALS.proxyVsHaproxy, why: hap.samples.length === 0 ? `HAProxy: ${why(hap)}` : '' },
    { name: 'driver ÷ wrk', value: pairedRatio(drv, wrkRow), goal: GOALS.driverVsWrk, why: drv.samples.length === 0 ? why(drv) : '' },
    {
      name: `ceiling ÷ ${fmtInt(HEADLINE_RATE)}`,
      value: ceil.samples.length > 0 ? ceil.samples[0]!.rps / HEADLINE_RATE : null,
      goal: GOALS.ceilingVsHeadline,
      why: ceil.samples.length === 0 ? why(ceil) : processSearch()?.bound === 'at-least' ? 'no probe failed: the ceiling may be higher' : '',
    },
    {
      name: 'ceiling docker ÷ process',
      value: ceil.samples.length > 0 && ceilDocker.samples.length > 0 && ceil.samples[0]!.rps > 0 ? ceilDocker.samples[0]!.rps / ceil.samples[0]!.rps : null,
      goal: GOALS.dockerVsProcess,
      why:
        ceilDocker.samples.length === 0
          ? `docker: ${why(ceilDocker)}`
          : ceil.samples.length === 0
            ? `process: ${why(ceil)}`
            : ceil.samples[0]!.rps === 0
              ? 'no process probe passed: nothing to compare with'
              : processSearch()?.bound === 'at-least'
                ? 'no process probe failed: its ceiling may be higher, and this ratio lower'
                : '',
    },
  ];
  const uptimeEnd = uptimeLine();
  out('');
  printTable(
    rows,
    ratios,
    ceilings,
    [
      `zerodrop bench (${opts.quick ? 'quick' : 'full'}) · ${sha ?? ''} · ${((Date.now() - started) / 1000).toFixed(0)} s`,
      `start: ${uptimeStart}`,
      `end:   ${uptimeEnd}`,
    ],
    out,
  );

  out('');
  for (const line of bootLines(boots, bootsSkipped, opts.bootContainers)) out(line);

  const common = [
    `${opts.quick ? 'quick' : 'full'} mode`,
    `${opts.seconds} s × ${opts.runs} run(s)`,
    `${cpus.length} CPUs`,
    ...(sha ? [`sha ${sha}`] : []),
    `at start: ${uptimeStart.replace(/^.*load average/, 'load average')}`,
  ].join(' · ');
  const entries = benchEntries(rows, ratios, common);
  if (entries.bigger.length > 0) {
    mkdirSync(opts.out, { recursive: true });
    const file = join(resolve(opts.out), `${stamp(startedAt)}.json`);
    await writeFileAtomic(file, `${JSON.stringify(entries.bigger, null, 2)}\n`);
    out('');
    out(`wrote ${file}`);
    if (entries.smaller.length > 0) {
      // Costs (CPU ratios, boot CPU): benchmark-action's customSmallerIsBetter, a file of their own.
      const smallerFile = join(resolve(opts.out), `${stamp(startedAt)}-smaller.json`);
      await writeFileAtomic(smallerFile, `${JSON.stringify(entries.smaller, null, 2)}\n`);
      out(`wrote ${smallerFile}`);
    }
  }
  if (measureFailed || entries.bigger.length === 0) exitCode = 3;
  return exitCode;
}

/** `npm run bench [-- proxy|driver] …`: one entry point; the whole bench unless a subcommand names a part. */
function entry(argv: readonly string[]): Promise<number> {
  const script = fileURLToPath(import.meta.url);
  if (argv[0] === 'proxy') return proxyVariantsMain(argv.slice(1), script);
  if (argv[0] === 'driver') return driverEnginesMain(argv.slice(1));
  if (argv[0] === 'readme') return readmeMain(argv.slice(1));
  // Its ceiling probes are whole runs in this process: ranked as the CLI ranks its harness.
  if (ownSessionChangesRank()) return runInOwnSession(script, argv);
  return main();
}

/** `npm run bench -- readme [file.json]`: the README's performance table from a bench run (the newest by default). */
async function readmeMain(args: readonly string[]): Promise<number> {
  const file = args[0] ?? newestBenchFile(join(projectRoot(), 'reports', 'bench'));
  if (file === null || file === undefined) {
    process.stderr.write(
      'bench readme: no bench output under reports/bench/\n  fix: run `npm run bench` first, or name a file: npm run bench -- readme reports/bench/<stamp>.json\n',
    );
    return 2;
  }
  let entries;
  try {
    // Costs (smaller is better) are in a sibling file of the same run.
    const smaller = file.replace(/\.json$/, '-smaller.json');
    entries = [...readBenchEntries(file), ...(existsSync(smaller) ? readBenchEntries(smaller) : [])];
  } catch (err) {
    process.stderr.write(`bench readme: ${errorMessage(err)}\n  fix: name the JSON file \`npm run bench\` wrote\n`);
    return 2;
  }
  const readmePath = join(projectRoot(), 'README.md');
  const next = replaceBenchTable(readFileSync(readmePath, 'utf8'), renderBenchTable(entries, sourceLabel(file)));
  await writeFileAtomic(readmePath, next);
  process.stdout.write(`README.md: performance table written from ${file} (${entries.length} entries)\n`);
  return 0;
}

const argv = process.argv.slice(2);
if (argv[0] === 'proxy' && argv[1] === '--serve') {
  // A proxy child of the proxy subcommand: it serves until its parent kills it, so no exit path here.
  void proxyVariantsMain(argv.slice(1), '');
} else {
  entry(argv).then(
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
}
