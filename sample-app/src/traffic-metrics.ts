/**
 * sample-app's traffic metrics — http_requests_received_total, http_requests_total,
 * http_requests_aborted_total and the http_request_duration_seconds histogram — kept as plain
 * numbers per (route, method) and written as Prometheus text 0.0.4 at scrape time.
 *
 * Why not prom-client's Counter and Histogram: every `inc()`/`observe()` on a prom-client label
 * child hashes its label object again and validates it (a string built per request); on the
 * `GET /` hot path that was the largest cost after the socket write (profiled with
 * `node --cpu-prof`, issue 12). Here a request costs a few integer increments and a bucket found
 * by a short loop, with nothing allocated. The text written is the same families, names, labels
 * and zero-initialised series as before (the contract's parser reads it: contract/src/exposition.ts).
 */
import type { MethodLabel, RouteLabel } from './routes.js';

export const DURATION_BUCKETS = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const RECEIVED = { name: 'http_requests_received_total', help: 'HTTP requests received on the main port, counted when the request starts.' };
const RESPONSES = { name: 'http_requests_total', help: 'HTTP responses sent on the main port, counted when the response ends.' };
const ABORTED = { name: 'http_requests_aborted_total', help: 'HTTP requests whose connection closed before their response ended.' };
const DURATION = { name: 'http_request_duration_seconds', help: 'Time from request start to response end on the main port.' };

/** Prometheus text value (prom-client's spelling of the non-finite ones). */
function value(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return String(v);
}

/** One (route, method): its counts, bound once and reused by every request. */
export class RouteSeries {
  readonly route: RouteLabel;
  readonly method: MethodLabel;
  /** `route="…",method="…"`, built once. */
  readonly labelText: string;
  receivedCount = 0;
  abortedCount = 0;
  /** Responses by status code (100..599); a code gets its series the first time it happens. */
  readonly byCode: number[] = [];
  /** Per bucket (DURATION_BUCKETS, then +Inf), not cumulative. */
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);
  sum = 0;
  count = 0;
  private readonly onNewCode: (series: RouteSeries, code: number) => void;

  constructor(route: RouteLabel, method: MethodLabel, onNewCode: (series: RouteSeries, code: number) => void) {
    this.route = route;
    this.method = method;
    this.labelText = `route="${route}",method="${method}"`;
    this.onNewCode = onNewCode;
  }

  /** A request started (http_requests_received_total). */
  received(): void {
    this.receivedCount++;
  }

  /** A response ended (http_requests_total + http_request_duration_seconds). */
  responded(status: number, seconds: number): void {
    const n = this.byCode[status];
    if (n === undefined) {
      this.byCode[status] = 1;
      this.onNewCode(this, status);
    } else this.byCode[status] = n + 1;
    let i = 0;
    while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
    this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
  }

  /** The connection closed before the response ended (client gone, or shutdown deadline). */
  aborted(): void {
    this.abortedCount++;
  }

  /** Makes a code's series exist at zero (before any response with it). */
  zeroCode(code: number): void {
    if (this.byCode[code] !== undefined) return;
    this.byCode[code] = 0;
    this.onNewCode(this, code);
  }
}

/** Every route series of one replica, in creation order (so the text lists them in a stable order). */
export class TrafficMetrics {
  private readonly all: RouteSeries[] = [];
  private readonly byRoute = new Map<string, RouteSeries>();
  /** http_requests_total series in the order their code first happened. */
  private readonly codes: { series: RouteSeries; code: number }[] = [];
  private readonly noteCode = (series: RouteSeries, code: number): void => void this.codes.push({ series, code });

  /** The series of a (route, method), created at zero the first time. */
  series(route: RouteLabel, method: MethodLabel): RouteSeries {
    const key = `${method} ${route}`;
    let s = this.byRoute.get(key);
    if (s === undefined) {
      s = new RouteSeries(route, method, this.noteCode);
      this.byRoute.set(key, s);
      this.all.push(s);
    }
    return s;
  }

  /** The four families as Prometheus text 0.0.4, families separated by a blank line, no trailing newline. */
  exposition(): string {
    const out: string[] = [];
    const family = (f: { name: string; help: string }, type: string): void => void out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${type}`);
    family(RECEIVED, 'counter');
    for (const s of this.all) out.push(`${RECEIVED.name}{${s.labelText}} ${value(s.receivedCount)}`);
    out.push('');
    family(RESPONSES, 'counter');
    for (const { series, code } of this.codes) out.push(`${RESPONSES.name}{code="${code}",${series.labelText}} ${value(series.byCode[code] ?? 0)}`);
    out.push('');
    family(ABORTED, 'counter');
    for (const s of this.all) out.push(`${ABORTED.name}{${s.labelText}} ${value(s.abortedCount)}`);
    out.push('');
    family(DURATION, 'histogram');
    for (const s of this.all) {
      let acc = 0;
      for (let i = 0; i < DURATION_BUCKETS.length; i++) {
        acc += s.buckets[i]!;
        out.push(`${DURATION.name}_bucket{le="${DURATION_BUCKETS[i]!}",${s.labelText}} ${value(acc)}`);
      }
      out.push(`${DURATION.name}_bucket{le="+Inf",${s.labelText}} ${value(s.count)}`);
      out.push(`${DURATION.name}_sum{${s.labelText}} ${value(s.sum)}`);
      out.push(`${DURATION.name}_count{${s.labelText}} ${value(s.count)}`);
    }
    return out.join('\n');
  }
}
