/**
 * A small parser for the Prometheus text exposition format 0.0.4, and the sum the orchestrator
 * needs: how many traffic responses a replica served (its `http_requests_total` over every route
 * except the probe routes).
 *
 * Format (prometheus/docs content/docs/instrumenting/exposition_formats.md):
 *   # HELP name docstring          (escapes \\ and \n)
 *   # TYPE name counter|gauge|histogram|summary|untyped
 *   name{label="value",...} value [timestamp_ms]   (label values escape \\ \" \n)
 * Values are Go ParseFloat floats, including NaN, +Inf and -Inf (any case). Other `#` lines are comments.
 *
 * No dependencies: importing this does not load prom-client.
 */
import { SERVED_COUNTER } from './counters.js';
import { PROBE_ROUTES } from './probes.js';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name, e.g. `http_requests_total` or `http_request_duration_seconds_bucket`. */
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Milliseconds since the epoch, when the line carries one. */
  timestampMs?: number;
}

export interface Exposition {
  samples: Sample[];
  /** Family name → type, from `# TYPE` lines. */
  types: Map<string, MetricType>;
  /** Family name → docstring, from `# HELP` lines (unescaped). */
  help: Map<string, string>;
}

export class ExpositionParseError extends Error {
  readonly line: number;
  constructor(line: number, message: string, text: string) {
    super(`exposition line ${line}: ${message}: ${JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text)}`);
    this.name = 'ExpositionParseError';
    this.line = line;
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Parses exposition text into samples. Throws ExpositionParseError on malformed input. */
export function parseExposition(text: string): Sample[] {
  return parseExpositionFull(text).samples;
}

/** Like parseExposition, plus the `# TYPE` and `# HELP` metadata. */
export function parseExpositionFull(text: string): Exposition {
  const out: Exposition = { samples: [], types: new Map(), help: new Map() };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const lineNo = i + 1;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      parseComment(line, lineNo, out);
      continue;
    }
    out.samples.push(parseSampleLine(line, lineNo));
  }
  return out;
}

function parseComment(line: string, lineNo: number, out: Exposition): void {
  const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
  if (!m) return; // a plain comment
  const kind = m[1] as string;
  const name = m[2] as string;
  const rest = m[3] ?? '';
  if (!METRIC_NAME.test(name) || (METRIC_NAME.exec(name)?.[0] ?? '') !== name) {
    throw new ExpositionParseError(lineNo, `invalid metric name in # ${kind}`, line);
  }
  if (kind === 'TYPE') {
    const t = rest.trim();
    if (!TYPES.has(t)) throw new ExpositionParseError(lineNo, `unknown metric type "${t}"`, line);
    if (out.types.has(name)) throw new ExpositionParseError(lineNo, `second # TYPE for ${name}`, line);
    out.types.set(name, t as MetricType);
  } else {
    out.help.set(
      name,
      rest.replace(/\\(\\|n)/g, (_s, c: string) => (c === 'n' ? '\n' : '\\')),
    );
  }
}

function parseSampleLine(line: string, lineNo: number): Sample {
  const nameMatch = METRIC_NAME.exec(line);
  if (!nameMatch) throw new ExpositionParseError(lineNo, 'expected a metric name', line);
  const name = nameMatch[0];
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === '{') {
    pos++;
    for (;;) {
      while (line[pos] === ' ') pos++;
      if (line[pos] === '}') {
        pos++;
        break;
      }
      const ln = LABEL_NAME.exec(line.slice(pos));
      if (!ln) throw new ExpositionParseError(lineNo, 'expected a label name', line);
      const labelName = ln[0];
      pos += labelName.length;
      while (line[pos] === ' ') pos++;
      if (line[pos] !== '=') throw new ExpositionParseError(lineNo, `expected = after label ${labelName}`, line);
      pos++;
      while (line[pos] === ' ') pos++;
      if (line[pos] !== '"') throw new ExpositionParseError(lineNo, `expected " to open the value of ${labelName}`, line);
      pos++;
      let value = '';
      for (;;) {
        const c = line[pos];
        if (c === undefined) throw new ExpositionParseError(lineNo, `unterminated value of label ${labelName}`, line);
        if (c === '"') {
          pos++;
          break;
        }
        if (c === '\\') {
          const e = line[pos + 1];
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else throw new ExpositionParseError(lineNo, `invalid escape \\${e ?? ''} in label ${labelName}`, line);
          pos += 2;
          continue;
        }
        value += c;
        pos++;
      }
      if (Object.prototype.hasOwnProperty.call(labels, labelName)) {
        throw new ExpositionParseError(lineNo, `duplicate label ${labelName}`, line);
      }
      labels[labelName] = value;
      while (line[pos] === ' ') pos++;
      if (line[pos] === ',') {
        pos++;
        continue;
      }
      if (line[pos] === '}') {
        pos++;
        break;
      }
      throw new ExpositionParseError(lineNo, 'expected , or } after a label', line);
    }
  }
  if (line[pos] !== ' ' && line[pos] !== '\t') throw new ExpositionParseError(lineNo, 'expected a space before the value', line);
  const fields = line
    .slice(pos)
    .trim()
    .split(/[ \t]+/);
  if (fields.length < 1 || fields.length > 2 || fields[0] === '') {
    throw new ExpositionParseError(lineNo, 'expected a value and an optional timestamp', line);
  }
  const value = parseValue(fields[0] as string);
  if (value === undefined) throw new ExpositionParseError(lineNo, `invalid value "${fields[0]}"`, line);
  const sample: Sample = { name, labels, value };
  if (fields.length === 2) {
    const ts = fields[1] as string;
    if (!/^-?\d+$/.test(ts)) throw new ExpositionParseError(lineNo, `invalid timestamp "${ts}"`, line);
    sample.timestampMs = Number(ts);
  }
  return sample;
}

function parseValue(s: string): number | undefined {
  // Go's ParseFloat ignores case for NaN, Inf and Infinity (prom-client writes "Nan").
  switch (s.toLowerCase()) {
    case 'nan':
      return Number.NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Number.POSITIVE_INFINITY;
    case '-inf':
    case '-infinity':
      return Number.NEGATIVE_INFINITY;
  }
  // Go ParseFloat: decimal or scientific notation, optional sign (hex floats are not produced by any client we read).
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

export interface TrafficSumOptions {
  /** Counter to sum; default `http_requests_total` (sample-app's name). */
  metric?: string;
  /** Routes that are not traffic; default /healthz, /readyz, /metrics. */
  probeRoutes?: readonly string[];
  /** Only count these status codes, e.g. (c) => c.startsWith('2'). Default: every code. */
  code?: (code: string) => boolean;
}

/**
 * A replica's served count: the sum of `http_requests_total` over every route that is not a
 * probe route (samples without a `route` label count as traffic).
 */
export function sumTrafficResponses(samples: readonly Sample[], options: TrafficSumOptions = {}): number {
  let sum = 0;
  for (const s of trafficSamples(samples, options)) sum += s.value;
  return sum;
}

/** The same sum, split by the `code` label ("" when a sample has none). */
export function trafficResponsesByCode(samples: readonly Sample[], options: TrafficSumOptions = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of trafficSamples(samples, options)) {
    const code = s.labels.code ?? '';
    out[code] = (out[code] ?? 0) + s.value;
  }
  return out;
}

function* trafficSamples(samples: readonly Sample[], options: TrafficSumOptions): Generator<Sample> {
  const metric = options.metric ?? SERVED_COUNTER;
  const probes = new Set<string>(options.probeRoutes ?? PROBE_ROUTES);
  for (const s of samples) {
    if (s.name !== metric) continue;
    const route = s.labels.route;
    if (route !== undefined && probes.has(route)) continue;
    if (options.code && !options.code(s.labels.code ?? '')) continue;
    yield s;
  }
}

/** The sum of the samples named `name` whose labels include `labels`, or undefined when none matches. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  let found: number | undefined;
  for (const s of samples) {
    if (s.name !== name) continue;
    let ok = true;
    for (const [k, v] of Object.entries(labels)) {
      if (s.labels[k] !== v) {
        ok = false;
        break;
      }
    }
    if (ok) found = (found ?? 0) + s.value;
  }
  return found;
}
