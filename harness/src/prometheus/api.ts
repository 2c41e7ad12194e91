/**
 * A small client for the Prometheus HTTP API (prometheus/prometheus@v2.42.0 docs/querying/api.md,
 * docs/management_api.md). Every call has a deadline. Values come back as strings and are parsed
 * with Number (so "NaN", "+Inf" are kept as such).
 *
 *   envelope {status: "success"|"error", data, errorType, error, warnings}; 400 bad parameters,
 *   422 the expression cannot be executed, 503 timeout or abort.
 */

export type Labels = Record<string, string>;

export interface VectorSample {
  metric: Labels;
  /** Unix seconds. */
  t: number;
  value: number;
}

export interface MatrixSeries {
  metric: Labels;
  values: { t: number; value: number }[];
}

export type QueryResult =
  | { resultType: 'vector'; vector: VectorSample[] }
  | { resultType: 'matrix'; matrix: MatrixSeries[] }
  | { resultType: 'scalar'; t: number; value: number }
  | { resultType: 'string'; t: number; value: string };

export interface ActiveTarget {
  job: string;
  labels: Labels;
  discoveredLabels: Labels;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  /** Epoch ms of the last scrape, or null before the first. */
  lastScrapeMs: number | null;
  lastError: string;
  lastScrapeDurationS: number;
}

export class PrometheusApiError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly errorType: string | null,
  ) {
    super(message);
    this.name = 'PrometheusApiError';
  }
}

export interface PrometheusApiOptions {
  /** Per-request deadline. Default 5 s. */
  timeoutMs?: number;
}

interface Envelope {
  status?: string;
  data?: unknown;
  errorType?: string;
  error?: string;
  warnings?: string[];
}

export class PrometheusApi {
  readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(baseUrl: string, options: PrometheusApiOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** GET /-/ready: true once the server serves queries (the TSDB is open). */
  async ready(): Promise<boolean> {
    try {
      const res = await fetch(`${this.baseUrl}/-/ready`, { signal: AbortSignal.timeout(this.timeoutMs) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** Instant query (POST, form-encoded: long expressions are fine). `time` in epoch ms; default now. */
  async query(expr: string, timeMs?: number): Promise<QueryResult> {
    const form = new URLSearchParams({ query: expr });
    if (timeMs !== undefined) form.set('time', (timeMs / 1000).toFixed(3));
    form.set('timeout', `${Math.max(1, Math.floor(this.timeoutMs / 1000))}s`);
    const data = await this.call('POST', '/api/v1/query', form);
    return parseQueryData(data);
  }

  /** Range query (for the dashboard check). Times in epoch ms, step in seconds. */
  async queryRange(expr: string, startMs: number, endMs: number, stepS: number): Promise<QueryResult> {
    const form = new URLSearchParams({
      query: expr,
      start: (startMs / 1000).toFixed(3),
      end: (endMs / 1000).toFixed(3),
      step: String(stepS),
    });
    return parseQueryData(await this.call('POST', '/api/v1/query_range', form));
  }

  /** GET /api/v1/label/<name>/values, optionally restricted by series selectors. */
  async labelValues(name: string, match: string[] = []): Promise<string[]> {
    const q = new URLSearchParams();
    for (const m of match) q.append('match[]', m);
    const data = await this.call('GET', `/api/v1/label/${encodeURIComponent(name)}/values${match.length ? `?${q.toString()}` : ''}`);
    if (!Array.isArray(data)) throw new PrometheusApiError('label values: not a list', null, 'bad_data');
    return data.map(String);
  }

  /** GET /api/v1/targets?state=active. */
  async activeTargets(): Promise<ActiveTarget[]> {
    const data = (await this.call('GET', '/api/v1/targets?state=active')) as { activeTargets?: unknown[] } | null;
    const list = Array.isArray(data?.activeTargets) ? data.activeTargets : [];
    return list.map((raw) => {
      const t = raw as Record<string, unknown>;
      const last = typeof t['lastScrape'] === 'string' ? Date.parse(t['lastScrape']) : NaN;
      const labels = (t['labels'] ?? {}) as Labels;
      return {
        job: labels['job'] ?? text(t['scrapePool']),
        labels,
        discoveredLabels: (t['discoveredLabels'] ?? {}) as Labels,
        scrapeUrl: text(t['scrapeUrl']),
        health: t['health'] === 'up' || t['health'] === 'down' ? t['health'] : 'unknown',
        // Go's zero time ("0001-01-01T00:00:00Z") before the first scrape.
        lastScrapeMs: Number.isFinite(last) && last > 0 ? last : null,
        lastError: text(t['lastError']),
        lastScrapeDurationS: Number(t['lastScrapeDuration'] ?? 0),
      };
    });
  }

  /** POST /api/v1/admin/tsdb/snapshot (needs --web.enable-admin-api): the snapshot's name under <data>/snapshots/. */
  async snapshot(): Promise<string> {
    const data = (await this.call('POST', '/api/v1/admin/tsdb/snapshot', new URLSearchParams())) as { name?: unknown } | null;
    if (typeof data?.name !== 'string') throw new PrometheusApiError('snapshot: no name in the answer', null, 'bad_data');
    return data.name;
  }

  /** GET /api/v1/status/buildinfo: the server's version. */
  async version(): Promise<string> {
    const data = (await this.call('GET', '/api/v1/status/buildinfo')) as { version?: unknown } | null;
    return typeof data?.version === 'string' ? data.version : 'unknown';
  }

  private async call(method: 'GET' | 'POST', path: string, form?: URLSearchParams): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        signal: AbortSignal.timeout(this.timeoutMs),
        ...(form ? { body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } } : {}),
      });
    } catch (err) {
      throw new PrometheusApiError(
        `${method} ${this.baseUrl}${path}: ${err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err)}`,
        null,
        'unreachable',
      );
    }
    const text = await res.text();
    let body: Envelope;
    try {
      body = JSON.parse(text) as Envelope;
    } catch {
      throw new PrometheusApiError(`${method} ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`, res.status, 'bad_response');
    }
    if (body.status !== 'success') {
      throw new PrometheusApiError(
        `${method} ${path}: ${body.errorType ?? 'error'}: ${body.error ?? `HTTP ${res.status}`}`,
        res.status,
        body.errorType ?? null,
      );
    }
    return body.data;
  }
}

function parseQueryData(data: unknown): QueryResult {
  const d = data as { resultType?: unknown; result?: unknown } | null;
  const num = (v: unknown): number => (typeof v === 'string' ? Number(v) : NaN);
  switch (d?.resultType) {
    case 'vector': {
      const list = Array.isArray(d.result) ? (d.result as { metric?: Labels; value?: [number, string] }[]) : [];
      return { resultType: 'vector', vector: list.map((s) => ({ metric: s.metric ?? {}, t: Number(s.value?.[0] ?? NaN), value: num(s.value?.[1]) })) };
    }
    case 'matrix': {
      const list = Array.isArray(d.result) ? (d.result as { metric?: Labels; values?: [number, string][] }[]) : [];
      return {
        resultType: 'matrix',
        matrix: list.map((s) => ({ metric: s.metric ?? {}, values: (s.values ?? []).map(([t, v]) => ({ t: Number(t), value: num(v) })) })),
      };
    }
    case 'scalar': {
      const v = d.result as [number, string];
      return { resultType: 'scalar', t: Number(v[0]), value: num(v[1]) };
    }
    case 'string': {
      const v = d.result as [number, string];
      return { resultType: 'string', t: Number(v[0]), value: String(v[1]) };
    }
    default:
      throw new PrometheusApiError(`unexpected resultType ${String(d?.resultType)}`, null, 'bad_data');
  }
}

/** How many series/points a result holds (0 = "no data"). */
export function resultSize(r: QueryResult): number {
  switch (r.resultType) {
    case 'vector':
      return r.vector.length;
    case 'matrix':
      return r.matrix.reduce((n, s) => n + s.values.length, 0);
    case 'scalar':
    case 'string':
      return 1;
  }
}

/** A string field of Prometheus's JSON, or '' when it is missing or not a string. */
function text(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
