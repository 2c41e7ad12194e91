/**
 * `zerodrop up <scenario>`: the deployment and its proxy, left running for any load tool
 * (wrk, hey, k6...). The timeline is not played; drive the cluster with `zerodrop ctl` or the
 * admin API. Ctrl-C (or SIGTERM) drains and stops everything.
 */
import { ExitCode } from '../../../common/src/errors.js';
import { preflightDataPlane, startAdminApi, type TimelineEvent } from '../../../orchestrator/index.js';
import { loadScenarioFile } from '../scenario/load.js';
import { describePlan, resolvePlan, type CliOverrides } from '../scenario/resolve.js';
import { eventLine } from '../report/events.js';
import { newRunId } from './runner.js';
import { startStack } from './stack.js';

export interface UpOptions {
  overrides: CliOverrides;
  /** The admin API's port on 127.0.0.1 (null: any free one). */
  adminPort: number | null;
}

export async function runUp(options: UpOptions, file: string): Promise<number> {
  const plan = resolvePlan(loadScenarioFile(file), options.overrides);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  for (const line of describePlan(plan)) if (!line.startsWith('load') && !line.startsWith('timeline')) log(line);
  preflightDataPlane(plan.dataPlane.engine);
  const runId = newRunId(`${plan.scenario.name}-up`);
  log(`run ${runId}`);
  const { proxy, controller, orchestratorMetrics: metrics } = await startStack(plan, { runId, log });
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      log('stopping: draining replicas…');
      await controller.close();
      await proxy.close();
    })());
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (): void => void stop().then(resolve);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  try {
    await controller.start();
  } catch (err) {
    await controller.destroy();
    await proxy.destroy();
    throw err;
  }
  const admin = await startAdminApi(controller, proxy, metrics, options.adminPort ?? 0);
  controller.on('event', (e: TimelineEvent) => log(eventLine(e)));
  log('');
  log(`service   ${proxy.url}        ← point your load tool here (e.g. wrk -c100 -d30s ${proxy.url}/)`);
  log(`admin     ${admin.url}        ← zerodrop ctl --admin ${admin.url} status | rollout v2 | fail-zone b`);
  if (proxy.metricsUrl) log(`metrics   ${proxy.metricsUrl} (proxy) · ${admin.url}/metrics (orchestrator)`);
  log('Ctrl-C drains and stops everything.');
  await stopped;
  await admin.close();
  return ExitCode.Pass;
}
