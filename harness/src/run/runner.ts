/**
 * plan → run → outputs → verdict (the k6 shape). The runner wires the parts together:
 *   runtime + proxy (worker thread) + controller → ready deployment
 *   driver (worker thread) + timed actions → ledger and timeline
 *   end-of-run counts (proxy, replicas, Prometheus) → verifier → reports
 * and tears everything down, whatever happened (SIGINT included).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { captureAnchor, monotonicMs, type ClockAnchor } from '../../../common/src/clock.js';
import { ZerodropError, errorMessage } from '../../../common/src/errors.js';
import {
  type DeploymentController,
  emptyProxyStats,
  preflightDataPlane,
  type ProxyControl,
  type ProxyStats,
  type Runtime,
} from '../../../orchestrator/index.js';
import { emptySummary } from '../driver/engine.js';
import { createDriverMetrics, startDriver, type DriverHandle } from '../driver/index.js';
import { Ledger, type LedgerData } from '../driver/ledger.js';
import type { DriverProgress, DriverSummary } from '../driver/types.js';
import { writeReports } from '../report/index.js';
import type { PrometheusResult, RunResult } from '../result/types.js';
import type { PlannedStep, RunPlan } from '../scenario/resolve.js';
import { actionOf, replicaStartsOf } from '../timeline/registry.js';
import { runTargetScenario } from './target-runner.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';
import { closeStack, destroyStack, startStack, type StackParts } from './stack.js';
import { HostVolumes, UNPRIVILEGED_USER, numericUser } from '../../../orchestrator/index.js';
import type { DataResult } from '../verify/checks/data.js';
import { findLeaks } from '../verify/checks/secrets.js';
import { RunSecrets, SecretsSession, filesUnder } from './secrets.js';
import { readBackPhase, secretsPhase } from './state-phases.js';
import { PrometheusSession, preflightPrometheus } from './prometheus.js';
import { MachineSampler } from './machine-sampler.js';
import { failedRequestRows, runIdentity, verifyRun, type StepRecord } from '../verify/verify.js';

export interface RunIo {
  /** Progress and logs (stderr in the CLI). */
  log: (line: string) => void;
  /** Live progress line (rewritten on a TTY). */
  progress: (line: string, final?: boolean) => void;
}

export interface RunOptions {
  plan: RunPlan;
  command: string;
  io: RunIo;
  /**
   * Aborted on SIGINT: stop the load early (or stop starting), tear down, write a report marked
   * incomplete (INVALID, exit 3) with whatever evidence exists; at any stage once the run id is printed.
   */
  signal: AbortSignal;
  /**
   * Aborted on a second SIGINT: SIGKILL everything started so far at once, write no report; the run
   * then rejects with ZD_INTERRUPTED.
   */
  kill?: AbortSignal;
  runId?: string;
}

export interface RunOutcome {
  result: RunResult;
  dir: string;
  artifacts: Record<string, string>;
  /** Every request of the run (one row each), for --ledger-out and API users. */
  ledger: LedgerData;
  /** The run's monotonic origin (ms): ledger times minus this = ms since the run started. */
  origin: number;
}

export function newRunId(scenarioName: string): string {
  const d = new Date();
  const pad = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
  return `${scenarioName}-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Everything a run starts, so teardown can stop it in the right order whatever failed. */
class RunResources implements StackParts {
  runtime: Runtime | null = null;
  proxy: ProxyControl | null = null;
  controller: DeploymentController | null = null;
  driver: DriverHandle | null = null;
  metricsServer: MetricsServer | null = null;
  prometheus: PrometheusSession | null = null;
  timers: NodeJS.Timeout[] = [];
  secrets: RunSecrets | null = null;

  async teardown(log: (line: string) => void): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        log(`teardown: ${what} failed: ${errorMessage(err)}`);
      }
    };
    if (this.driver) await step('driver', () => this.driver!.terminate());
    await step('replicas and data plane', () => closeStack(this));
    if (this.prometheus) await step('prometheus', () => this.prometheus!.stop());
    if (this.metricsServer) await step('metrics server', () => this.metricsServer!.close());
    this.secrets?.remove();
  }

  async destroy(): Promise<void> {
    await Promise.allSettled([this.driver?.terminate(), destroyStack(this), this.prometheus?.stop(), this.metricsServer?.close()]);
    this.secrets?.remove();
  }
}

export async function runScenario(options: RunOptions): Promise<RunOutcome> {
  const { plan, io, signal } = options;
  // Nothing has started and no run id was shown: there is nothing to report on.
  if (signal.aborted) throw new ZerodropError('ZD_INTERRUPTED', 'interrupted before the run started: nothing was started');
  if (plan.targetUrl !== null) return runTargetScenario(options);
  const res = new RunResources();
  let killed = false;
  let onKill = (): void => undefined;
  // Settles only after a kill, once everything is dead; raced against the run and its teardown.
  const killedNow = new Promise<never>((_, reject) => {
    onKill = (): void => {
      killed = true;
      io.log('killing everything the run started (SIGKILL)');
      void res
        .destroy()
        .finally(() =>
          reject(new ZerodropError('ZD_INTERRUPTED', 'killed by a second interrupt: everything the run started was killed, no report was written')),
        );
    };
  });
  if (options.kill?.aborted) onKill();
  else options.kill?.addEventListener('abort', onKill, { once: true });
  try {
    return await Promise.race([execute(options, res, () => killed), killedNow]);
  } finally {
    // After a kill (before or during the teardown) everything is dead: a graceful teardown would only wait on it.
    if (!killed) await Promise.race([res.teardown(io.log), killedNow.catch(() => undefined)]);
    options.kill?.removeEventListener('abort', onKill);
  }
}

/** The run itself; `res` holds what it started so runScenario can tear it down whatever happens. */
async function execute(options: RunOptions, res: RunResources, isKilled: () => boolean): Promise<RunOutcome> {
  const { plan, io, signal } = options;
  const runId = options.runId ?? newRunId(plan.scenario.name);
  const dir = resolve(plan.outDir, runId);
  const startedAt = new Date();
  let interrupted = false;
  /** What the run is doing, for the incomplete report ("interrupted while starting the replicas"). */
  let stage = 'starting the data plane';
  let loadStarted = false;
  const onAbort = (): void => {
    interrupted = true;
    io.log(`interrupted while ${stage}: ${res.driver ? 'stopping the load, ' : ''}tearing down, writing an incomplete report…`);
    res.driver?.stop();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  /** Between start-up stages: an interrupt (or a kill) that came in while we awaited ends start-up here. */
  const checkpoint = (): void => {
    if (signal.aborted || isKilled()) throw new ZerodropError('ZD_INTERRUPTED', `interrupted while ${stage}`);
  };

  try {
    // 0. Refuse early what cannot work (a missing prometheus or haproxy binary), before anything starts.
    preflightPrometheus(plan.prometheus);
    preflightDataPlane(plan.dataPlane.engine);
    // 1. The data plane and the replicas. From here on an interrupt gets a report: the run id is shown.
    io.log(`run ${runId} → ${dir}`);
    const volume = plan.volume === null ? undefined : { host: new HostVolumes(runId, plan.volume), keep: plan.volume.keep };
    const secrets = startSecrets(plan, runId, res);
    const state = { ...(volume ? { volume } : {}), ...(secrets ? { secrets } : {}) };
    const { controller, proxy, orchestratorMetrics, cpuPriorities, runtime } = await startStack(plan, { runId, log: io.log, into: res, state });
    checkpoint();
    stage = 'starting the replicas';
    io.log(
      `starting ${plan.deployment.replicas} replicas of ${plan.deployment.template.version} over zones ${plan.deployment.zones.join(', ')} (${plan.runtime})…`,
    );
    // Abortable: the replicas may take long to become ready; whatever started is in res.controller.
    await abortable(controller.start(), signal, stage);
    io.log(`deployment ready: ${controller.view().status.availableReplicas}/${plan.deployment.replicas} available · proxy ${proxy.url}`);
    const starts = replicaStartsOf(plan.steps, { replicas: plan.deployment.replicas, zones: plan.deployment.zones.length });
    if (starts > 0 && runtime.prewarm) {
      stage = 'making pod sandboxes';
      await abortable(runtime.prewarm(starts), signal, stage);
      checkpoint();
    }

    // 2. Metrics endpoints and (optionally) a real Prometheus.
    stage = 'starting the metrics endpoints';
    res.metricsServer = await startMetricsServer();
    res.metricsServer.add('orchestrator', () => orchestratorMetrics.metrics());
    checkpoint();
    if (plan.prometheus !== 'off') {
      stage = 'starting Prometheus';
      res.prometheus = await PrometheusSession.start(plan.prometheus, { runId, dir, controller, proxy, metricsServer: res.metricsServer, log: io.log });
      checkpoint();
    }

    // 3. Load, and the timeline on the load's clock. From here on an interrupt stops the driver,
    // whose ledger then holds everything sent so far (the report covers the part that ran).
    stage = 'running the load';
    loadStarted = true;
    const authHeaders = secrets?.headers() ?? {};
    const driver = startDriver({
      ...plan.driver,
      requests: plan.driver.requests.map((r) => ({ ...r, headers: { ...r.headers, ...authHeaders } })),
      url: proxy.url,
      runId,
    });
    res.driver = driver;
    const driverMetrics = createDriverMetrics({ runId });
    res.metricsServer.add('driver', () => driverMetrics.registry.metrics());
    const anchor: ClockAnchor = captureAnchor();
    const origin = anchor.monotonicMs;
    const steps: StepRecord[] = [];
    for (const step of plan.steps) {
      const timer = setTimeout(() => steps.push(executeStep(controller, step, origin, io, { secrets, driver })), step.atMs);
      res.timers.push(timer);
    }
    let lastProgress: DriverProgress | null = null;
    const phase = (): string => phaseLabel(controller, steps, origin);
    let driverLoopDelay: number | null = null;
    let driverCpu: { ticks: number; t: number } | null = null;
    const plane = proxy as ProxyControl & { pid?: number | null; loopDelay?: () => Promise<{ loopDelayMaxMs: number; cpuTicks: number | null }> };
    const sampler = new MachineSampler({
      replicaPids: () =>
        controller.allReplicas.flatMap((r) => (r.started?.pid != null && r.exit === null ? [{ pid: r.started.pid, booting: r.firstReadyMs === null }] : [])),
      dataPlanePid: () => (typeof plane.pid === 'number' ? plane.pid : null),
      proxyLoad: typeof plane.loopDelay === 'function' ? () => plane.loopDelay!() : null,
      takeDriverLoad: () => {
        const v = driverLoopDelay;
        driverLoopDelay = null;
        return { loopDelayMaxMs: v, cpu: driverCpu };
      },
    });
    sampler.start();
    driver.on('progress', (p: DriverProgress) => {
      if (p.loopDelayMaxMs !== undefined) driverLoopDelay = Math.max(driverLoopDelay ?? 0, p.loopDelayMaxMs);
      if (p.cpuTicks !== undefined) driverCpu = { ticks: p.cpuTicks, t: p.t };
      driverMetrics.update(p);
      lastProgress = p;
      io.progress(progressLine(p, controller, origin, phase()));
    });

    if (signal.aborted) onAbort();
    const { ledger, summary } = await driver.done.finally(() => sampler.stop());
    const machine = sampler.stop();
    res.driver = null;
    if (lastProgress) io.progress(progressLine(lastProgress, controller, origin, 'load finished'), true);
    for (const t of res.timers) clearTimeout(t);
    // A replica retired late in the load may still be draining: it is judged on how it exits.
    stage = 'waiting for retired replicas to exit';
    await controller.awaitRetiredExits();

    // 4. End-of-run counts: nothing is sent any more, so every counter is final.
    stage = 'reading the final counts';
    const proxyStats = await proxy.stats();
    const failedTries = await proxy.failedTries();
    const logged = (await proxy.loggedRequests?.()) ?? null;
    if (logged && logged.dropped > 0) io.log(`data plane: ${logged.dropped} failed requests beyond the first ${logged.accounts.size} were not kept in its log`);
    await controller.refreshCounts();
    const prometheusResult = res.prometheus
      ? await res.prometheus.verify({ ledger, proxyStats, controller, origin })
      : { mode: 'off' as const, url: null, dataDir: null, queries: [], note: 'Prometheus was off (--prometheus auto to put a real one in the loop)' };

    // 4b. Writes: read every one back through the data plane, after every counter was read.
    let data: DataResult | null = null;
    // The proof's counts as they were before the read-back's requests (the replicas' are re-scraped).
    const counted = countsSnapshot(controller);
    if (plan.driver.requests.some((r) => r.keyedWrite === true) && !isKilled()) {
      stage = 'reading the writes back';
      data = await readBackPhase(plan, ledger, proxy.url, origin, steps, io, secrets?.headers() ?? {});
      driverMetrics.readBack({
        durable: data.durable,
        lost: data.missing + data.corrupt,
        phantom: data.phantom,
        landedUnacknowledged: data.landedUnacknowledged,
      });
    }

    // 5. Verdict and reports.
    stage = 'writing the reports';
    if (isKilled()) throw new ZerodropError('ZD_INTERRUPTED', 'killed: no report'); // what is left of a killed run writes nothing
    const driverMetricsText = await driverMetrics.registry.metrics();
    const secretsEvidence = secrets
      ? await secretsPhase(secrets, dir, ledger, controller, res.runtime!, [plan.scenario, prometheusResult, driverMetricsText, controller.timeline])
      : null;
    const result = verifyRun({
      ...runIdentity(plan, runId, options.command, anchor, startedAt),
      ledger,
      summary,
      proxyStats,
      controller: counted,
      steps,
      prometheus: prometheusResult,
      interrupted: interrupted || summary.interrupted,
      driverMetricsText,
      failedTries,
      ...(logged ? { loggedRequests: logged.accounts } : {}),
      machine,
      data,
      secrets: secretsEvidence,
      runtimeChoices: res.runtime?.choices?.() ?? [],
      cpuPriorities,
    });
    const outcome = await writeOutcome(dir, result, ledger, origin, io, logged?.accounts);
    if (secrets) {
      // Every report is rendered from result.json, whose inputs were scanned; this is the last word on disk.
      const leaked = findLeaks(filesUnder(dir), secrets.secrets.allValues);
      if (leaked.length > 0 && secretsEvidence?.leaks.length === 0) io.log(`✘ secrets: a secret value is in ${leaked.join(', ')} (written after the scan)`);
    }
    return outcome;
  } catch (err) {
    // Interrupted before the load: report what exists (the replicas that started, their events,
    // the proxy's counts: 0 sent). Any error that came with the interrupt is the interrupt's doing
    // (a Ctrl-C in a terminal reaches every process of its group) but is still shown.
    if (interrupted && !loadStarted && !isKilled() && res.proxy && res.controller) {
      if (!(err instanceof ZerodropError && err.code === 'ZD_INTERRUPTED')) io.log(`while interrupted: ${errorMessage(err)}`);
      const proxyStats = await res.proxy.stats().catch((e: unknown) => {
        io.log(`interrupted: the proxy's counts could not be read (${errorMessage(e)}); reporting 0`);
        return emptyProxyStats();
      });
      const { result, ledger, origin } = interruptedBeforeLoad({
        plan,
        runId,
        command: options.command,
        startedAt,
        controller: res.controller,
        proxyStats,
        stage,
      });
      return await writeOutcome(dir, result, ledger, origin, io);
    }
    if (err instanceof ZerodropError) throw err;
    throw new ZerodropError('ZD_INTERNAL', `the run broke: ${errorMessage(err)}`, { cause: err });
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

export interface InterruptedBeforeLoad {
  plan: RunPlan;
  runId: string;
  command: string;
  startedAt: Date;
  controller: VerifyController;
  proxyStats: ProxyStats;
  /** What the run was doing, e.g. "starting the replicas". */
  stage: string;
}
type VerifyController = Parameters<typeof verifyRun>[0]['controller'];

/**
 * The verdict of a run interrupted before its load started: the same verifier over an empty
 * ledger (0 sent: every load check is INVALID, no event happened), so the report has the same
 * shape as any other and says plainly where the run stopped. Pure apart from the clock.
 */
export function interruptedBeforeLoad(input: InterruptedBeforeLoad): { result: RunResult; ledger: LedgerData; origin: number } {
  const { plan, runId } = input;
  const anchor = captureAnchor();
  const origin = anchor.monotonicMs;
  const ledger = new Ledger(runId, 16).toData();
  const summary: DriverSummary = { ...emptySummary(plan.driver, origin), interrupted: true };
  const why = `interrupted (SIGINT) while ${input.stage}, before the load started: no request was sent`;
  const prometheus: PrometheusResult = {
    mode: plan.prometheus === 'off' ? 'off' : plan.prometheus === 'auto' ? 'auto' : 'url',
    url: typeof plan.prometheus === 'object' ? plan.prometheus.url : null,
    dataDir: null,
    queries: [],
    note: why,
  };
  const verified = verifyRun({
    ...runIdentity(plan, runId, input.command, anchor, input.startedAt),
    ledger,
    summary,
    proxyStats: input.proxyStats,
    controller: input.controller,
    steps: [],
    prometheus,
    interrupted: true,
    driverMetricsText: null,
    failedTries: { tries: [], dropped: 0, resolutionMs: 0 },
    machine: { sampleMs: 0, cpus: 0, samples: [] },
  });
  // The verifier's headline would name the first INVALID check ("the target rate was reached"):
  // true, but the reason is the interrupt. A real FAIL (e.g. an invariant broken while starting) keeps its own.
  const result: RunResult = {
    ...verified,
    run: { ...verified.run, incompleteReason: why },
    headline: verified.verdict === 'INVALID' ? `INVALID: ${why}` : verified.headline,
  };
  return { result, ledger, origin };
}

export async function writeOutcome(
  dir: string,
  result: RunResult,
  ledger: LedgerData,
  origin: number,
  io: RunIo,
  accounts?: ReadonlyMap<string, string>,
): Promise<RunOutcome> {
  mkdirSync(dir, { recursive: true });
  const written = await writeReports(dir, result, { failedRequests: failedRequestRows(ledger, origin, result.run.id, result, accounts) });
  for (const w of written.warnings) io.log(`report: ${w}`);
  pointLatestAt(dir);
  return { result: written.result, dir, artifacts: written.artifacts, ledger, origin };
}

/** reports/latest → the newest run (CI jobs and people can find it without the run id). */
function pointLatestAt(dir: string): void {
  const link = join(dirname(dir), 'latest');
  const tmp = `${link}.${process.pid}.tmp`;
  try {
    rmSync(tmp, { force: true });
    symlinkSync(basename(dir), tmp);
    renameSync(tmp, link);
  } catch {
    // best effort: a filesystem without symlinks just has no "latest"
  }
}

/** deployment.secrets: generated now, removed with the run (res.secrets). */
function startSecrets(plan: RunPlan, runId: string, res: RunResources): SecretsSession | null {
  if (plan.secrets.length === 0) return null;
  const owner = plan.runtime === 'docker' && process.getuid?.() === 0 ? numericUser(UNPRIVILEGED_USER) : null;
  res.secrets = new RunSecrets(runId, plan.secrets, owner);
  return new SecretsSession(res.secrets, plan.runtime, plan.deployment.template.env);
}

function executeStep(
  controller: DeploymentController,
  step: PlannedStep,
  origin: number,
  io: RunIo,
  ctx: { secrets: SecretsSession | null; driver: DriverHandle },
): StepRecord {
  const record: StepRecord = { step, startedMs: monotonicMs() - origin, endedMs: null, outcome: 'running', detail: null };
  io.log(`▶ ${step.label}`);
  const finish = (outcome: StepRecord['outcome'], detail: string | null): void => {
    record.endedMs = monotonicMs() - origin;
    record.outcome = outcome;
    record.detail = detail;
  };
  actionOf(step)
    .execute(step, { controller, log: io.log, secrets: ctx.secrets, setHeaders: (h) => ctx.driver.setHeaders(h) })
    .then((r) => finish(r.outcome, r.detail))
    .catch((err: unknown) => finish('failed', errorMessage(err)));
  return record;
}

/** What the verifier reads of the controller, frozen now: later scrapes must not move it. */
function countsSnapshot(controller: DeploymentController): VerifyController {
  const records = controller.allReplicas.map((r) => ({ ...r, lastScrape: r.lastScrape && { ...r.lastScrape }, final: r.final && { ...r.final } }));
  const timeline = [...controller.timeline];
  const view = controller.view();
  return { allReplicas: records, timeline, view: () => view };
}

function phaseLabel(controller: DeploymentController, steps: StepRecord[], origin: number): string {
  const now = monotonicMs() - origin;
  const running = steps.filter((s) => s.outcome === 'running').map((s) => s.step.label.replace(/ at .*$/, ''));
  const down = controller
    .view()
    .zones.filter((z) => !z.up)
    .map((z) => `zone ${z.name} down`);
  const parts = [...running, ...down];
  void now;
  return parts.length > 0 ? parts.join(' · ') : 'steady';
}

function progressLine(p: DriverProgress, controller: DeploymentController, origin: number, phase: string): string {
  const v = controller.view();
  const zones = v.zones.map((z) => `${z.name}:${z.up ? z.ready : 'down'}`).join(' ');
  const versions = v.replicaSets
    .filter((rs) => rs.active > 0)
    .map((rs) => `${rs.version}:${rs.ready}`)
    .join(' ');
  const t = ((p.t - origin) / 1000).toFixed(0).padStart(3);
  const rate = Math.round(p.rateLastInterval).toLocaleString('en-US').padStart(7);
  return `t=${t}s ${rate} req/s  p99 ${p.p99LastIntervalMs.toFixed(1)}ms  failed ${p.failed}  in flight ${p.inFlight}  ready ${zones} | ${versions} | ${phase}`;
}

async function abortable<T>(p: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) throw new ZerodropError('ZD_INTERRUPTED', `interrupted before ${what}`);
  return await new Promise<T>((resolvePromise, reject) => {
    const onAbort = (): void => reject(new ZerodropError('ZD_INTERRUPTED', `interrupted while ${what}`));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolvePromise, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export type { LedgerData, ProxyStats };
