/**
 * sample-app's Prometheus metrics, on its own Registry (never prom-client's global one).
 *
 * Names follow the Prometheus conventions (base units, `_total` counters, `_seconds` histograms)
 * and carry only bounded labels; replica/zone/version/run_id are target labels added by service
 * discovery, except on `sampleapp_build_info`, which exists to carry them.
 *
 * Hot path cost: the traffic counters and the latency histogram are plain numbers per (route,
 * method) (traffic-metrics.ts), written as text at scrape time, so a request allocates nothing
 * for them; the in-flight, ready and draining gauges are read from the app's state when scraped
 * (prom-client `collect`). prom-client keeps the rest (process and runtime metrics, build info,
 * the kv store's counters).
 *
 * Boot cost: prom-client with its default metrics is ~0.1 s of CPU to load (~60 ms the way
 * loadPromClient loads it), as much again as a bare node process. It is loaded (synchronously: it is CommonJS) on first use
 * of the registry, which app.ts makes at start, before Ready: loaded at the first scrape instead,
 * it stalled serving replicas (app.ts says how that went). The process and runtime metrics
 * (collectDefaultMetrics) start then; the ones that are totals since the process started
 * (process_cpu_seconds_total, process_start_time_seconds...) are unaffected.
 */
import { createRequire } from 'node:module';
import type { Registry } from 'prom-client';
import type { MethodLabel, RouteLabel } from './routes.js';
import { TrafficMetrics, type RouteSeries } from './traffic-metrics.js';

export { DURATION_BUCKETS } from './traffic-metrics.js';
export type { RouteSeries } from './traffic-metrics.js';

export interface BuildInfo {
  version: string;
  replica: string;
  zone: string;
}

/** What the gauges read at scrape time. */
export interface StateSource {
  inFlight(): number;
  /** What /readyz answers right now (1 = 200). */
  ready(): boolean;
  draining(): boolean;
}

export interface AppMetrics {
  readonly registry: Registry;
  /** The bound children for a (route, method), cached. */
  series(route: RouteLabel, method: MethodLabel): RouteSeries;
  /** Prometheus text 0.0.4 of the whole registry. */
  exposition(): Promise<string>;
  readonly contentType: string;
}

/** Series that exist from the start, at zero, so dashboards and rate() see them before traffic. */
export const ZERO_INITIALISED: readonly { route: RouteLabel; method: MethodLabel; codes: string[] }[] = [
  { route: '/', method: 'GET', codes: ['200'] },
  { route: '/work', method: 'GET', codes: ['200'] },
  { route: '/echo', method: 'POST', codes: ['201'] },
  { route: '/healthz', method: 'GET', codes: ['200'] },
  { route: '/readyz', method: 'GET', codes: ['200', '503'] },
  { route: '/metrics', method: 'GET', codes: ['200'] },
];

// Named requires so the image builder's import scan (orchestrator/src/runtime/docker-image.ts) sees prom-client.
const require = createRequire(import.meta.url);

/** The parts of prom-client the sample-app uses. */
export interface PromClientParts {
  Registry: typeof import('prom-client').Registry;
  Counter: typeof import('prom-client').Counter;
  Gauge: typeof import('prom-client').Gauge;
  Histogram: typeof import('prom-client').Histogram;
  collectDefaultMetrics: typeof import('prom-client').collectDefaultMetrics;
}
let promClient: PromClientParts | null = null;

/**
 * prom-client, loaded on first use (see the header): its own modules one by one, not its index,
 * which also loads the cluster aggregator (node:cluster), the Pushgateway (http, https), Summary
 * (tdigest) and more the sample-app never uses: ~40 ms of a replica's boot CPU (index + default
 * metrics 93–99 ms, these 54–64 ms, 3 runs each). The paths are prom-client 15's layout; its
 * version is pinned in package.json, and the metrics tests read every family this registers.
 */
export function loadPromClient(): PromClientParts {
  return (promClient ??= {
    Registry: require('prom-client/lib/registry') as PromClientParts['Registry'],
    Counter: require('prom-client/lib/counter') as PromClientParts['Counter'],
    Gauge: require('prom-client/lib/gauge') as PromClientParts['Gauge'],
    Histogram: require('prom-client/lib/histogram') as PromClientParts['Histogram'],
    collectDefaultMetrics: require('prom-client/lib/defaultMetrics') as PromClientParts['collectDefaultMetrics'],
  });
}

/** Prometheus text format 0.0.4 (prom-client's Registry.PROMETHEUS_CONTENT_TYPE). */
const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

export function createAppMetrics(info: BuildInfo, state: StateSource): AppMetrics {
  const traffic = new TrafficMetrics();
  for (const z of ZERO_INITIALISED) {
    const series = traffic.series(z.route, z.method);
    for (const code of z.codes) series.zeroCode(Number(code));
  }
  let registry: Registry | null = null;
  return {
    get registry() {
      return (registry ??= createRegistry(info, state));
    },
    contentType: PROMETHEUS_TEXT,
    series: (route, method) => traffic.series(route, method),
    async exposition() {
      // registry.metrics() ends with one newline; families are separated by a blank line.
      return `${await this.registry.metrics()}\n${traffic.exposition()}\n`;
    },
  };
}

/** The prom-client side: runtime metrics, the state gauges (read at scrape) and the build info. */
function createRegistry(info: BuildInfo, state: StateSource): Registry {
  const { Gauge, Registry, collectDefaultMetrics } = loadPromClient();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client's *_total gauges fail `promtool check metrics` (a _total suffix means counter);
  // the per-type gauges nodejs_active_{handles,requests,resources}{type} keep the data.
  for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(n);
  }

  new Gauge({
    name: 'http_requests_in_flight',
    help: 'HTTP requests on the main port whose response has not ended yet.',
    registers: [registry],
    collect() {
      this.set(state.inFlight());
    },
  });
  new Gauge({
    name: 'sampleapp_ready',
    help: '1 while /readyz answers 200, else 0.',
    registers: [registry],
    collect() {
      this.set(state.ready() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sampleapp_draining',
    help: '1 from SIGTERM until exit, else 0.',
    registers: [registry],
    collect() {
      this.set(state.draining() ? 1 : 0);
    },
  });
  const buildInfo = new Gauge({
    name: 'sampleapp_build_info',
    help: 'Always 1; labels identify the replica.',
    labelNames: ['version', 'replica', 'zone'] as const,
    registers: [registry],
  });
  buildInfo.set({ version: info.version, replica: info.replica, zone: info.zone }, 1);

  return registry;
}
