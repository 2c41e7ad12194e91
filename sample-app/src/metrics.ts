/**
 * sample-app's Prometheus metrics, on its own Registry (never prom-client's global one).
 *
 * Names follow the Prometheus conventions (base units, `_total` counters, `_seconds` histograms)
 * and carry only bounded labels; replica/zone/version/run_id are target labels added by service
 * discovery, except on `sampleapp_build_info`, which exists to carry them.
 *
 * Hot path cost: per (route, method) a RouteSeries holds pre-bound label children, so a request
 * costs two counter increments and one histogram observation (about 2 µs here); the in-flight,
 * ready and draining gauges are read from the app's state when scraped (prom-client `collect`).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { METHODS, type MethodLabel, type RouteLabel } from './routes.js';

export const DURATION_BUCKETS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

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

interface IncChild {
  inc(value?: number): void;
}
interface ObserveChild {
  observe(value: number): void;
}

/** The metric children of one (route, method): bound once, reused by every request. */
export class RouteSeries {
  readonly route: RouteLabel;
  readonly method: MethodLabel;
  private readonly receivedChild: IncChild;
  private readonly durationChild: ObserveChild;
  private readonly totals: Counter<'code' | 'route' | 'method'>;
  /** Indexed by status code (100..599); bound lazily, so only codes that happened exist. */
  private readonly byCode: (IncChild | undefined)[] = [];
  private readonly abortedChild: IncChild;

  constructor(m: Metrics, route: RouteLabel, method: MethodLabel) {
    this.route = route;
    this.method = method;
    this.receivedChild = m.received.labels(route, method);
    this.durationChild = m.duration.labels(route, method);
    this.totals = m.responses;
    this.abortedChild = m.aborted.labels(route, method);
  }

  /** A request started (http_requests_received_total). */
  received(): void {
    this.receivedChild.inc();
  }

  /** A response ended (http_requests_total + http_request_duration_seconds). */
  responded(status: number, seconds: number): void {
    let child = this.byCode[status];
    if (child === undefined) {
      child = this.totals.labels(String(status), this.route, this.method);
      this.byCode[status] = child;
    }
    child.inc();
    this.durationChild.observe(seconds);
  }

  /** The connection closed before the response ended (client gone, or shutdown deadline). */
  aborted(): void {
    this.abortedChild.inc();
  }
}

interface Metrics {
  received: Counter<'route' | 'method'>;
  responses: Counter<'code' | 'route' | 'method'>;
  aborted: Counter<'route' | 'method'>;
  duration: Histogram<'route' | 'method'>;
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

export function createAppMetrics(info: BuildInfo, state: StateSource): AppMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client's *_total gauges fail `promtool check metrics` (a _total suffix means counter);
  // the per-type gauges nodejs_active_{handles,requests,resources}{type} keep the data.
  for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(n);
  }

  const received = new Counter({
    name: 'http_requests_received_total',
    help: 'HTTP requests received on the main port, counted when the request starts.',
    labelNames: ['route', 'method'] as const,
    registers: [registry],
  });
  const responses = new Counter({
    name: 'http_requests_total',
    help: 'HTTP responses sent on the main port, counted when the response ends.',
    labelNames: ['code', 'route', 'method'] as const,
    registers: [registry],
  });
  const aborted = new Counter({
    name: 'http_requests_aborted_total',
    help: 'HTTP requests whose connection closed before their response ended.',
    labelNames: ['route', 'method'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request start to response end on the main port.',
    labelNames: ['route', 'method'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
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

  for (const z of ZERO_INITIALISED) {
    received.inc({ route: z.route, method: z.method }, 0);
    aborted.inc({ route: z.route, method: z.method }, 0);
    duration.zero({ route: z.route, method: z.method });
    for (const code of z.codes) responses.inc({ code, route: z.route, method: z.method }, 0);
  }

  const metrics: Metrics = { received, responses, aborted, duration };
  const cache = new Map<RouteLabel, (RouteSeries | undefined)[]>();
  const methodIndex = new Map<MethodLabel, number>(METHODS.map((m, i) => [m, i]));

  return {
    registry,
    contentType: registry.contentType,
    series(route, method) {
      let row = cache.get(route);
      if (row === undefined) {
        row = [];
        cache.set(route, row);
      }
      const i = methodIndex.get(method) ?? 0;
      let s = row[i];
      if (s === undefined) {
        s = new RouteSeries(metrics, route, method);
        row[i] = s;
      }
      return s;
    },
    exposition() {
      return registry.metrics();
    },
  };
}
