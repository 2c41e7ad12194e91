/**
 * A run in target mode (scenario/target-mode.ts): no replicas, no data plane of zerodrop's. The
 * target is checked reachable before any load (else ZD_TARGET_UNREACHABLE, exit 3), the driver
 * sends to target.url, the timeline's exec and http steps run on the load's clock, and the
 * verdict uses what the client sees; checks that need zerodrop's proxy or replicas are listed as
 * not applicable (verify/checks/target-mode.ts), never passed.
 */
import { request } from 'node:http';
import { resolve } from 'node:path';
import { captureAnchor, monotonicMs, type ClockAnchor } from '../../../common/src/clock.js';
import { ZerodropError, errorMessage } from '../../../common/src/errors.js';
import type { DeploymentController } from '../../../orchestrator/index.js';
import { emptyProxyStats } from '../../../orchestrator/index.js';
import { createDriverMetrics, startDriver } from '../driver/index.js';
import type { PrometheusResult } from '../result/types.js';
import type { RunPlan } from '../scenario/resolve.js';
import { actionOf, type PlannedStep } from '../timeline/registry.js';
import { runIdentity, verifyRun, type StepRecord } from '../verify/verify.js';
import { MachineSampler } from './machine-sampler.js';
import { ServerCounters } from './server-counters.js';
import { newRunId, writeOutcome, type RunOptions, type RunOutcome } from './runner.js';
import { requestDeadline } from '../../../common/src/http-deadline.js';

const REACHABLE_TIMEOUT_MS = 3000;

/** One GET to the target: any HTTP answer (its status) means it is there; else why not. */
function probeTarget(url: string, timeoutMs = REACHABLE_TIMEOUT_MS): Promise<{ status: number } | { why: string }> {
  return new Promise((done) => {
    const req = request(url, { method: 'GET', agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      done({ status: res.statusCode ?? 0 });
    });
    requestDeadline(req, timeoutMs, () => Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    req.on('error', (err: NodeJS.ErrnoException) => done({ why: err.code ?? err.message }));
    req.end();
  });
}

export async function runTargetScenario(options: RunOptions): Promise<RunOutcome> {
  const { plan, io, signal } = options;
  const url = plan.targetUrl as string;
  if (signal.aborted) throw new ZerodropError('ZD_INTERRUPTED', 'interrupted before the run started: nothing was started');
  // The server's counters are read before the probe, so the probe is counted with the load.
  const counterSpec = plan.scenario.target.serverCounters;
  const prometheusUrl = typeof plan.prometheus === 'object' ? plan.prometheus.url : null;
  const counters = counterSpec && prometheusUrl ? await ServerCounters.start(prometheusUrl, counterSpec) : null;
  const probe = await probeTarget(url);
  if ('why' in probe) {
    throw new ZerodropError('ZD_TARGET_UNREACHABLE', `target ${url} is unreachable (${probe.why}); no load was sent`, {
      fix: 'start the service (or the port-forward / tunnel to it) and check target.url',
      details: [`GET ${url}: ${probe.why}`],
    });
  }
  const runId = options.runId ?? newRunId(plan.scenario.name);
  const dir = resolve(plan.outDir, runId);
  const startedAt = new Date();
  if (counters) io.log(`target mode: ${counterSpec?.queries.length ?? 0} server-side counter(s) read from ${prometheusUrl}`);
  else if (plan.prometheus !== 'off') io.log('target mode: no target.serverCounters, so Prometheus is not read; the client-side proof stands alone');
  io.log(`run ${runId} → ${dir}`);
  io.log(`target mode: ${url} (a deployment zerodrop did not start)`);

  const driver = startDriver({ ...plan.driver, url, runId });
  const onAbort = (): void => driver.stop();
  signal.addEventListener('abort', onAbort, { once: true });
  const driverMetrics = createDriverMetrics({ runId });
  const anchor: ClockAnchor = captureAnchor();
  const origin = anchor.monotonicMs;
  const steps: StepRecord[] = [];
  const timers = plan.steps.map((step) => setTimeout(() => steps.push(runStep(step, origin, io.log)), step.atMs));
  // The machine is sampled as in a managed run: a starved harness is INVALID, not the target's fault.
  let driverLoopDelay: number | null = null;
  const sampler = new MachineSampler({
    replicaPids: () => [],
    dataPlanePid: () => null,
    proxyLoad: null,
    takeDriverLoad: () => {
      const v = driverLoopDelay;
      driverLoopDelay = null;
      return { loopDelayMaxMs: v, cpu: null };
    },
  });
  sampler.start();
  driver.on('progress', (p) => {
    if (p.loopDelayMaxMs !== undefined) driverLoopDelay = Math.max(driverLoopDelay ?? 0, p.loopDelayMaxMs);
    driverMetrics.update(p);
  });
  try {
    const { ledger, summary } = await driver.done.finally(() => sampler.stop());
    const machine = sampler.stop();
    for (const t of timers) clearTimeout(t);
    // Steps still running (a long until) are judged as they stand: the load is over.
    if (counters) io.log("target mode: waiting for Prometheus to scrape the server's counters…");
    const serverCounters = counters ? await counters.finish(ledger, probe.status, signal) : null;
    const controller: Pick<DeploymentController, 'timeline' | 'allReplicas' | 'view'> = { timeline: [], allReplicas: [], view: () => noDeploymentView(plan) };
    const prometheus: PrometheusResult = {
      mode: prometheusUrl && counters ? 'url' : 'off',
      url: counters ? prometheusUrl : null,
      dataDir: null,
      queries: [],
      note: counters
        ? "target mode: the server's own counters are reconciled by the server.* checks"
        : 'target mode: no Prometheus reconciliation (no target.serverCounters)',
    };
    const result = verifyRun({
      ...runIdentity(plan, runId, options.command, anchor, startedAt),
      ledger,
      summary,
      proxyStats: emptyProxyStats(),
      controller,
      steps,
      prometheus,
      interrupted: signal.aborted || summary.interrupted,
      driverMetricsText: await driverMetrics.registry.metrics(),
      // No data plane of zerodrop's: no failed tries it could log.
      failedTries: { tries: [], dropped: 0, resolutionMs: 0 },
      machine,
      serverCounters,
    });
    return await writeOutcome(dir, result, ledger, origin, io);
  } catch (err) {
    if (err instanceof ZerodropError) throw err;
    throw new ZerodropError('ZD_INTERNAL', `the run broke: ${errorMessage(err)}`, { cause: err });
  } finally {
    sampler.stop();
    for (const t of timers) clearTimeout(t);
    signal.removeEventListener('abort', onAbort);
  }
}

function runStep(step: PlannedStep, origin: number, log: (line: string) => void): StepRecord {
  const record: StepRecord = { step, startedMs: monotonicMs() - origin, endedMs: null, outcome: 'running', detail: null };
  log(`▶ ${step.label}`);
  const finish = (outcome: StepRecord['outcome'], detail: string | null): void => {
    record.endedMs = monotonicMs() - origin;
    record.outcome = outcome;
    record.detail = detail;
  };
  actionOf(step)
    .execute(step, { controller: null, log })
    .then((r) => finish(r.outcome, r.detail))
    .catch((err: unknown) => finish('failed', errorMessage(err)));
  return record;
}

function noDeploymentView(plan: RunPlan): ReturnType<DeploymentController['view']> {
  return {
    name: plan.deployment.name,
    desiredReplicas: 0,
    revision: 0,
    version: '',
    status: { replicas: 0, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0, unavailableReplicas: 0 } as ReturnType<
      DeploymentController['view']
    >['status'],
    conditions: [],
    replicaSets: [],
    zones: [],
    replicas: [],
    rolloutInProgress: false,
  };
}
