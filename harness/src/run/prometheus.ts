/**
 * A real Prometheus in the loop (issue 6).
 *
 *   start   after the deployment is ready, before the load: file_sd files for the driver, the proxy,
 *           the orchestrator and the replicas (the replicas' file follows the controller), then
 *           `auto`: the installed prometheus with a generated config (1 s scrapes), its TSDB under
 *           reports/<run-id>/prometheus/; `<url>`: the user's server, which must already watch
 *           <reports>/prometheus-sd (`zerodrop prometheus-config` prints the scrape config).
 *           Either way it waits until Prometheus scrapes the run's targets.
 *   verify  after the load (every in-process counter final): waits until Prometheus has scraped the
 *           final values, evaluates the proof's equalities with PromQL (raw last samples, never
 *           increase()), compares each with the in-process number; auto mode takes a TSDB snapshot.
 *   stop    at teardown: the server is stopped (auto), the run's file_sd files removed (url).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ZerodropError, errorMessage } from '../../../common/src/errors.js';
import { type DeploymentController, type ProxyControl, type ProxyStats, ReplicaFileSd, writeTargetGroups } from '../../../orchestrator/index.js';
import type { LedgerData } from '../driver/ledger.js';
import { PrometheusApi, type ActiveTarget } from '../prometheus/api.js';
import { buildQueries, evaluateWhenScraped, explainRows, inProcessNumbers, toResultQueries } from '../prometheus/checks.js';
import {
  COMPONENTS,
  DEFAULT_SCRAPE_INTERVAL_S,
  JOB_NAMES,
  prometheusConfigYaml,
  sdFile,
  sharedSdDir,
  urlTargetGroup,
  type Component,
} from '../prometheus/config.js';
import { INSTALL_FIX, PrometheusServer, findPrometheusBinary, prometheusVersion } from '../prometheus/server.js';
import type { PrometheusResult } from '../result/types.js';
import type { MetricsServer } from './metrics-server.js';

export interface PrometheusContext {
  runId: string;
  /** The run's report folder (reports/<run-id>). */
  dir: string;
  controller: DeploymentController;
  proxy: ProxyControl;
  metricsServer: MetricsServer;
  log: (line: string) => void;
  /** Default 1 s. */
  scrapeIntervalS?: number;
  /** How long start() waits for the first scrapes. Default 20 s. */
  targetsTimeoutMs?: number;
  /** Process-group registry directory (tests). */
  stateDir?: string;
}

export interface PrometheusEvidence {
  ledger: LedgerData;
  proxyStats: ProxyStats;
  controller: DeploymentController;
  origin: number;
  /** Epoch ms the load ended; default: when verify() is called. */
  loadEndedEpochMs?: number;
}

export type PrometheusMode = 'auto' | { url: string };

/**
 * Fails fast, before any replica starts: `auto` needs the binary. The runner should call this
 * while it checks the plan (it costs one PATH lookup).
 */
export function preflightPrometheus(mode: PrometheusMode | 'off'): void {
  if (mode !== 'auto') return;
  if (findPrometheusBinary() === null) {
    throw new ZerodropError('ZD_PROMETHEUS_UNAVAILABLE', '--prometheus auto: no prometheus binary found (PATH, or $ZERODROP_PROMETHEUS_BIN)', {
      fix: INSTALL_FIX,
    });
  }
}

export class PrometheusSession {
  private verified: PrometheusResult | null = null;
  private stopped = false;
  private readonly startedAtMs = Date.now();

  private constructor(
    private readonly mode: PrometheusMode,
    private readonly ctx: PrometheusContext,
    readonly api: PrometheusApi,
    private readonly server: PrometheusServer | null,
    private readonly sd: ReplicaFileSd,
    private readonly sdFiles: string[],
    readonly sdDir: string,
    readonly promDir: string,
    private readonly scrapeIntervalS: number,
    private readonly version: string,
  ) {}

  static async start(mode: PrometheusMode, ctx: PrometheusContext): Promise<PrometheusSession> {
    const promDir = join(ctx.dir, 'prometheus');
    const interval = ctx.scrapeIntervalS ?? DEFAULT_SCRAPE_INTERVAL_S;
    let binary: string | null = null;
    let sdDir: string;
    let api: PrometheusApi;
    if (mode === 'auto') {
      preflightPrometheus(mode);
      binary = findPrometheusBinary();
      sdDir = join(promDir, 'sd');
      api = new PrometheusApi('http://127.0.0.1:1'); // replaced once the server listens
    } else {
      sdDir = sharedSdDir(dirname(ctx.dir));
      api = new PrometheusApi(mode.url);
      if (!(await api.ready())) {
        throw new ZerodropError('ZD_PROMETHEUS_UNAVAILABLE', `--prometheus ${mode.url}: the server does not answer /-/ready`, {
          fix: 'start it (it must run on this machine: every target is on 127.0.0.1), or use --prometheus auto / off',
        });
      }
    }
    mkdirSync(promDir, { recursive: true });

    // file_sd: three fixed targets now, the replicas as they come and go.
    const files: string[] = [];
    const write = (c: Component, url: string | null): void => {
      const file = sdFile(sdDir, ctx.runId, c);
      writeTargetGroups(file, url ? [urlTargetGroup(url)] : []);
      files.push(file);
    };
    write('driver', `${ctx.metricsServer.url}/metrics/driver`);
    write('orchestrator', `${ctx.metricsServer.url}/metrics/orchestrator`);
    write('proxy', ctx.proxy.metricsUrl);
    if (!ctx.proxy.metricsUrl) ctx.log('prometheus: the proxy has no metrics endpoint; its checks will have no data');
    const replicasFile = sdFile(sdDir, ctx.runId, 'replicas');
    files.push(replicasFile);
    const sd = new ReplicaFileSd(ctx.controller, {
      file: replicasFile,
      runId: ctx.runId,
      metricsPath: ctx.controller.deploymentSpec.template.metricsPath,
      log: ctx.log,
    }).start();

    let server: PrometheusServer | null = null;
    let version = 'unknown';
    try {
      if (binary) {
        const configFile = join(promDir, 'prometheus.yml');
        writeFileSync(configFile, prometheusConfigYaml({ sdDir, runId: ctx.runId, scrapeIntervalS: interval }));
        // For replays of the snapshot (README): a config that scrapes nothing.
        writeFileSync(
          join(promDir, 'replay.yml'),
          '# Replay a snapshot: prometheus --config.file=replay.yml --storage.tsdb.path=<snapshot dir>\nglobal:\n  scrape_interval: 1m\n',
        );
        server = await PrometheusServer.start({
          binary,
          configFile,
          dataDir: join(promDir, 'data'),
          logFile: join(promDir, 'prometheus.log'),
          runId: ctx.runId,
          ...(ctx.stateDir ? { stateDir: ctx.stateDir } : {}),
        });
        api = server.api;
        version =
          prometheusVersion(binary)
            ?.replace(/^prometheus, version /, '')
            .split(' ')[0] ?? 'unknown';
        ctx.log(`prometheus ${version}: ${server.url} (data ${shortPath(promDir)})`);
      } else {
        version = await api.version().catch(() => 'unknown');
        ctx.log(`prometheus ${version}: ${api.baseUrl}, targets via ${sdDir}`);
      }
      const session = new PrometheusSession(mode, ctx, api, server, sd, files, sdDir, promDir, interval, version);
      await session.waitForTargets(ctx.targetsTimeoutMs ?? 20_000);
      return session;
    } catch (err) {
      sd.close({ remove: mode !== 'auto' });
      if (mode !== 'auto') for (const f of files) rmSync(f, { force: true });
      await server?.stop();
      throw err;
    }
  }

  get url(): string {
    return this.api.baseUrl;
  }

  /** The run's active targets (matched by the file_sd file they came from). */
  async targets(): Promise<ActiveTarget[]> {
    const mine = new Set(this.sdFiles);
    return (await this.api.activeTargets()).filter((t) => mine.has(t.discoveredLabels['__meta_filepath'] ?? ''));
  }

  /** Until the proxy and orchestrator targets are up (the driver's appears when the load starts). */
  private async waitForTargets(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: ActiveTarget[] = [];
    while (Date.now() < deadline) {
      last = await this.targets().catch(() => []);
      const up = (job: string): boolean => last.some((t) => t.job === job && t.health === 'up');
      if (up(JOB_NAMES.orchestrator) && (up(JOB_NAMES.proxy) || !this.ctx.proxy.metricsUrl)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    const seen = last.map((t) => `${t.job} ${t.scrapeUrl} ${t.health}${t.lastError ? ` (${t.lastError})` : ''}`);
    throw new ZerodropError(
      'ZD_PROMETHEUS_UNAVAILABLE',
      `Prometheus at ${this.url} did not scrape the run's targets within ${Math.round(timeoutMs / 1000)} s`,
      {
        details: seen.length ? ['targets of this run:', ...seen] : [`no target of this run is known to it (file_sd directory ${this.sdDir})`],
        fix:
          this.mode === 'auto'
            ? `see ${join(this.promDir, 'prometheus.log')}; or run with --prometheus off`
            : `add the scrape config printed by \`zerodrop prometheus-config\` to your prometheus.yml and reload it; or use --prometheus auto / off`,
      },
    );
  }

  /** The scrape interval the server really uses for our jobs (url mode: read from its config). */
  private async effectiveIntervalMs(): Promise<number> {
    if (this.server) return this.scrapeIntervalS * 1000;
    try {
      const res = await fetch(`${this.url}/api/v1/status/config`, { signal: AbortSignal.timeout(3000) });
      const body = (await res.json()) as { data?: { yaml?: string } };
      const cfg = parseYaml(body.data?.yaml ?? '') as {
        global?: { scrape_interval?: string };
        scrape_configs?: { job_name?: string; scrape_interval?: string }[];
      };
      const job = cfg.scrape_configs?.find((j) => j.job_name === JOB_NAMES.proxy);
      return parseDurationMs(job?.scrape_interval ?? cfg.global?.scrape_interval) ?? 1000;
    } catch {
      return 1000;
    }
  }

  async verify(evidence: PrometheusEvidence): Promise<PrometheusResult> {
    if (this.verified) return this.verified;
    const loadEnded = evidence.loadEndedEpochMs ?? Date.now();
    const numbers = inProcessNumbers({
      ledger: evidence.ledger,
      proxyStats: evidence.proxyStats,
      replicas: evidence.controller.allReplicas,
      metricsPath: evidence.controller.deploymentSpec.template.metricsPath,
    });
    const intervalMs = await this.effectiveIntervalMs();
    // The range covers the whole run: from before the first scrape to now, with a margin.
    const rangeS = Math.ceil((Date.now() - this.startedAtMs) / 1000) + 60;
    const specs = buildQueries(this.ctx.runId, rangeS, numbers);
    const converged = await evaluateWhenScraped(this.api, specs, {
      loadEndedMs: loadEnded,
      scrapeIntervalMs: intervalMs,
      deadlineMs: Math.max(15_000, 10 * intervalMs),
      scrapedSinceLoadEnd: async () => {
        const ts = await this.targets();
        const harness = [JOB_NAMES.driver, JOB_NAMES.orchestrator, ...(this.ctx.proxy.metricsUrl ? [JOB_NAMES.proxy] : [])];
        const fresh = (t: ActiveTarget): boolean => t.lastScrapeMs !== null && t.lastScrapeMs >= loadEnded;
        return harness.every((job) => ts.some((t) => t.job === job && t.health === 'up' && fresh(t))) && ts.filter((t) => t.health === 'up').every(fresh);
      },
    });
    const targets = await this.targets().catch(() => []);

    let dataDir: string | null = null;
    let snapshotNote = '';
    if (this.server) {
      dataDir = join(this.promDir, 'data');
      try {
        const name = await this.api.snapshot();
        dataDir = join(this.promDir, 'data', 'snapshots', name);
        snapshotNote = ` TSDB snapshot: ${shortPath(dataDir)} (replay: prometheus --config.file=${shortPath(join(this.promDir, 'replay.yml'))} --storage.tsdb.path=<snapshot> --web.listen-address=127.0.0.1:9090, then open the Grafana dashboard).`;
      } catch (err) {
        snapshotNote = ` TSDB snapshot failed (${errorMessage(err)}); the data directory itself is kept.`;
      }
    }

    const byJob = new Map<string, number>();
    for (const t of targets) byJob.set(t.job, (byJob.get(t.job) ?? 0) + 1);
    const r = numbers.replicas;
    const parts = [
      `Prometheus ${this.version} (${this.server ? 'started by zerodrop' : 'your server'}) scraped every ${intervalMs / 1000} s via file_sd: ${COMPONENTS.map((c) => `${c} ${byJob.get(JOB_NAMES[c]) ?? 0}`).join(', ')} target(s) at the end.`,
      `Values read ${(converged.readAfterMs / 1000).toFixed(1)} s after the load ended${converged.scraped ? ', after every live target was scraped again' : ' (some targets had no scrape after the load ended)'}, as the last raw sample of each series over the run (last_over_time, never increase()).`,
    ];
    if (r) {
      const finals = [...r.exact.values()].filter((v) => v.source === 'final').length;
      parts.push(
        `Replicas: ${finals} retired ones counted by the orchestrator's final read (zerodrop_orchestrator_replica_final_responses), ${r.exact.size - finals} live ones by their last scrape of http_requests_total (traffic routes).`,
      );
      if (r.lowerBound.size > 0) {
        const killedRow = converged.rows.find((row) => row.spec.name === 'replica-responses-killed');
        const seen = killedRow?.perReplica ? [...r.lowerBound.keys()].filter((id) => killedRow.perReplica?.has(id)).length : null;
        parts.push(
          `${r.lowerBound.size} replica(s) killed or frozen before a final read (${[...r.lowerBound.keys()].slice(0, 4).join(', ')}${r.lowerBound.size > 4 ? '…' : ''}): their counts are lower bounds, checked as ≤ the proxy's responses + failed attempts to them (${r.lowerBoundProxyCeiling}), not as equalities` +
            (seen === null
              ? '.'
              : `; Prometheus scraped ${seen} of them (file_sd discovery takes up to 5 s, so a replica that lives less than ~6 s may never be scraped).`),
        );
      }
      if (r.unread.length) parts.push(`Left out (the orchestrator could not read them at the end): ${r.unread.join(', ')}.`);
    } else {
      parts.push('The service exposes no metrics (metricsPath: null): no replica rows.');
    }
    const problems = explainRows(converged.rows, numbers);
    if (problems.length) parts.push(`Problems: ${problems.join(' · ')}.`);
    if (!converged.converged && problems.length === 0) parts.push('Targets were not all scraped after the load ended before the deadline.');
    const result: PrometheusResult = {
      mode: this.server ? 'auto' : 'url',
      url: this.url,
      dataDir,
      queries: toResultQueries(converged.rows),
      note: `${parts.join(' ')}${snapshotNote}`,
    };
    this.verified = result;
    return result;
  }

  /** Idempotent. Auto: stops the server (the TSDB stays on disk). Url: removes the run's file_sd files. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const shared = this.server === null;
    this.sd.close({ remove: shared });
    if (shared) for (const f of this.sdFiles) rmSync(f, { force: true });
    await this.server?.stop();
  }
}

/** Relative to the working directory when below it, else absolute. */
function shortPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') ? rel : p;
}

/** "1s", "500ms", "1m30s" → ms (Prometheus duration syntax, the common units). */
export function parseDurationMs(s: string | undefined): number | null {
  if (!s) return null;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  let matched = '';
  for (const m of s.matchAll(/(\d+)(ms|s|m|h|d)/g)) {
    total += Number(m[1]) * (units[m[2] ?? 's'] ?? 1000);
    matched += m[0];
  }
  return matched === s && total > 0 ? total : null;
}
