/**
 * What each scenario field accepts and how to fix it: the fix lines shown under every error
 * (FIELD_FIXES, then what the schema itself says a field accepts), and the known keys for "did
 * you mean". Reads the schema (schema.ts); owns no default and no validation.
 */
import { z } from 'zod';
import { STOP_SIGNALS } from '../../../orchestrator/index.js';
import { ACTION_FIXES, ACTION_NAMES } from '../timeline/registry.js';
import { formatDuration } from './duration.js';
import { duration } from './fields.js';
import { SAMPLE_APP_FAULTS, SIGTERM_FAULTS, scenarioSchema } from './schema.js';

/**
 * How to fix each field, by path ("*" = any array index). Shown under every error. A field with
 * no entry here still gets a fix line: describeField() reads what it accepts from the schema.
 */
export const FIELD_FIXES: Record<string, string> = {
  name: 'use a short slug, e.g. name: rolling-update',
  description: 'free text shown in the report, e.g. description: "rollout under 2k req/s"',
  runtime: 'use runtime: process (child processes, the default) or runtime: docker',
  'target.app': 'the only built-in app is "sample-app"; to bring your own service use target.command or target.image',
  'target.command': 'give argv as a list, e.g. command: ["node", "server.js", "--port", "{port}"]',
  'target.image': 'give an image reference, e.g. image: myapp:v1 (docker runtime)',
  'target.url': 'the URL of a deployment zerodrop does not start, e.g. url: http://127.0.0.1:8080/ (target mode: timeline steps are exec and http)',
  'target.allowRemote': 'allowRemote: true lets target.url be a host other than loopback (your own host, able to take the load)',
  'target.serverCounters':
    'target mode, with prometheus: <url>: { settle: 30s, queries: [{ name: requests, promql: \'sum(http_requests_total{route="/"})\', counts: answered, tolerance: 0 }] }',
  'target.serverCounters.settle': 'how long to wait after the load for Prometheus to scrape the last requests: a few scrape intervals, e.g. settle: 30s',
  'target.serverCounters.queries': 'a list of at least one { name, promql, counts, tolerance }',
  'target.serverCounters.queries.*.name': 'a slug naming the check server.<name>, e.g. name: ingress-requests',
  'target.serverCounters.queries.*.promql':
    'PromQL that gives one number, a counter not reset during the run, e.g. promql: \'sum(nginx_ingress_controller_requests{ingress="web"})\'',
  'target.serverCounters.queries.*.counts': 'what the counter counts: sent (every request received), answered (any status) or 2xx',
  'target.serverCounters.queries.*.tolerance': 'requests the counter may differ by (other traffic on it, e.g. health checks), e.g. tolerance: 0',
  'target.port': 'use port: announce (the service prints {"event":"listening","port":N}) or port: { env: PORT }',
  'target.env': 'a mapping of environment variables, e.g. env: { LOG_LEVEL: info } (names: letters, digits, _; not starting with a digit)',
  'target.appFaults': `sample-app switches: ${SAMPLE_APP_FAULTS.join(', ')} (error-rate=<0..1>, slow-start=<ms>; at most one of ${SIGTERM_FAULTS.join(', ')})`,
  'target.metricsPath': 'a path like /metrics, or null if the service has no Prometheus endpoint',
  'target.echoesId':
    'echoesId: false if the service does not send x-zerodrop-id back (the data plane then attests each id), true if it does; leave it out to detect it from the first 2xx',
  'target.stopSignal': `the signal that asks your service to drain: one of ${STOP_SIGNALS.join(', ')}, e.g. stopSignal: SIGQUIT (nginx)`,
  'target.preStop': 'exactly one of exec, httpGet, sleep, e.g. preStop: { sleep: { seconds: 2 } } or preStop: { exec: { command: ["nginx", "-s", "quit"] } }',
  'target.preStop.exec.command': 'argv as a list, run in the replica\'s environment, e.g. command: ["sh", "-c", "sleep 2"]',
  'target.preStop.httpGet.path': 'a path on the replica, e.g. path: /shutdown',
  'target.preStop.sleep.seconds': 'seconds to wait before the stop signal, e.g. seconds: 2',
  'target.readinessProbe':
    'Kubernetes fields: { httpGet: { path: /ready }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 3, successThreshold: 1, initialDelaySeconds: 0 }',
  'target.livenessProbe':
    'Kubernetes fields: { httpGet: { path: /live }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 3 } (successThreshold must be 1)',
  'target.startupProbe': 'Kubernetes fields: { httpGet: { path: /ready }, periodSeconds: 1, failureThreshold: 30 } (successThreshold must be 1)',
  'target.terminationGracePeriodSeconds': 'seconds from the start of termination (preStop included) to SIGKILL, e.g. terminationGracePeriodSeconds: 30',
  'deployment.replicas': 'a whole number from 1 to 64, e.g. replicas: 6',
  'deployment.zones': 'a list of zone names, e.g. zones: [a, b, c]',
  'deployment.strategy.maxSurge': 'a count or a percentage of replicas, e.g. maxSurge: 25% (Kubernetes default)',
  'deployment.strategy.maxUnavailable': 'a count or a percentage of replicas, e.g. maxUnavailable: 25% (Kubernetes default)',
  'deployment.strategy.progressDeadlineSeconds':
    'seconds a rollout may take before it is marked failed, more than minReadySeconds, e.g. progressDeadlineSeconds: 60',
  'deployment.termination.gracePeriod': 'a duration longer than preStop, e.g. gracePeriod: 10s',
  'proxy.retries': 'retries: true (retry on another replica when it is safe, counted) or retries: false (see what the service alone costs)',
  'proxy.idempotentWrites':
    'idempotentWrites: true lets the data plane replay PUT and DELETE after their first byte (your writes are idempotent, e.g. keyed); false (default) never replays a write',
  'proxy.maxAttempts': 'tries per request, the first one included: a whole number from 1 to 10, e.g. maxAttempts: 3 (1 = never retry)',
  'proxy.perTryTimeout': 'a duration well below load.timeout, e.g. perTryTimeout: 1s',
  'proxy.retryBudget.ratio': 'the most retries in flight as a fraction of requests in flight, from 0 to 1, e.g. ratio: 0.2',
  'load.engine': 'use engine: open (constant arrival rate, the default) or engine: autocannon (closed loop)',
  'load.rate': 'target requests per second, e.g. rate: 2000 (0 = as fast as possible, autocannon only)',
  'load.connections': 'a whole number from 1 to 10000, e.g. connections: 128',
  'load.duration': 'a duration such as 30s or 2m',
  'load.warmup': 'a duration shorter than load.duration, e.g. warmup: 3s',
  'load.rampUp': 'a duration no longer than load.warmup, e.g. rampUp: 2s (0s = full rate from the first request)',
  'load.timeout': 'per-request timeout, e.g. timeout: 10s',
  'load.requests': 'a list like [{ method: GET, path: / }]',
  'load.writes': 'the fraction of requests that write (PUT /kv/<request id>), from 0 to 1, e.g. writes: 0.2',
  'deployment.secrets':
    'a mapping of secret names, e.g. secrets: { token: { valueFrom: generated } } (the value is generated per run; "token" is the bearer token)',
  'deployment.volume': 'a volume that outlives the replicas, e.g. volume: { mountPath: /data } (perZone: true for one per zone), or null',
  'timeline.*': `each entry needs at: <duration> and action: ${ACTION_NAMES.join(' | ')}`,
  'timeline.*.at': 'a duration from the start of the load, e.g. at: 10s',
  'timeline.*.action': `one of: ${ACTION_NAMES.join(', ')}, e.g. { at: 10s, action: rollout, version: v2 }`,
  'timeline.*.zone': 'one of deployment.zones',
  'timeline.*.version': 'the new version label, e.g. version: v2',
  'timeline.*.env': 'a mapping of environment variables for the new version, e.g. env: { FEATURE_X: "on" }',
  'timeline.*.appFaults': `sample-app switches for the new version: ${SAMPLE_APP_FAULTS.join(', ')}`,
  ...ACTION_FIXES,
  'thresholds.maxFailed': 'client-visible failures allowed: a whole number ≥ 0; the zero-downtime contract is maxFailed: 0',
  'thresholds.maxRolloutRetries':
    'failed tries the proxy may retry because of a rollout, rollback or scale step (a retiring replica, or any replica during the change): a whole number ≥ 0; done right needs none, maxRolloutRetries: 0',
  'thresholds.maxSteadyRetries':
    'failed tries of Ready replicas the proxy may retry in steady state: a whole number ≥ 0; a healthy service needs none, maxSteadyRetries: 0',
  'thresholds.minAchievedRatio': 'a fraction from 0 to 1, e.g. minAchievedRatio: 0.99',
  prometheus: 'use auto (start the installed prometheus), off, or the URL of your server, e.g. http://127.0.0.1:9090',
};

const DURATION_FIX = 'a duration: a number of milliseconds or text like 250ms, 10s, 2m';

/** What zod said about a value, as much as a fix line needs (a subset of a zod issue). */
export interface IssueHint {
  code: string;
  expected?: unknown;
  minimum?: unknown;
  maximum?: unknown;
  inclusive?: boolean;
  values?: readonly unknown[];
  prefix?: string;
}

/**
 * The fix line for a field path like ["timeline", 2, "at"]: the hand-written one, else what the
 * schema says the field accepts (bounds, choices, its default as the example), else the nearest
 * parent's, else a rule from the issue alone. undefined only for a path the schema does not know
 * and an issue that says nothing.
 */
export function fixFor(path: readonly PropertyKey[], message: string, issue?: IssueHint): string | undefined {
  const key = path.map((p) => (typeof p === 'number' ? '*' : String(p))).join('.');
  const exact = FIELD_FIXES[key];
  if (exact) return exact;
  const described = describeField(path);
  if (described) return described;
  if (message.includes('is not a duration')) return DURATION_FIX;
  // Fall back to the nearest parent that has a fix.
  const parts = key.split('.');
  for (let i = parts.length - 1; i > 0; i--) {
    const parent = FIELD_FIXES[parts.slice(0, i).join('.')];
    if (parent) return parent;
  }
  return issue ? fixFromIssue(issue) : undefined;
}

/**
 * What a field accepts, read from the schema itself, so the fix line cannot drift from the
 * validation: "a whole number from 1 to 10, e.g. maxAttempts: 3".
 */
export function describeField(path: readonly PropertyKey[]): string | undefined {
  const field = schemaAt(path);
  if (!field) return undefined;
  const name = [...path].reverse().find((p): p is string => typeof p === 'string') ?? 'value';
  let s: z.ZodType = field;
  let example: unknown;
  let nullable = false;
  for (let i = 0; i < 10; i++) {
    if (s === duration) {
      const eg = typeof example === 'number' ? `, e.g. ${name}: ${formatDuration(example)}` : '';
      return `${DURATION_FIX}${nullable ? ', or null (off)' : ''}${eg}`;
    }
    const def = defOf(s);
    if ((def.type === 'default' || def.type === 'prefault') && def.innerType) {
      if (example === undefined) example = def.defaultValue;
      s = def.innerType;
    } else if ((def.type === 'nullable' || def.type === 'optional') && def.innerType) {
      if (def.type === 'nullable') nullable = true;
      s = def.innerType;
    } else break;
  }
  const what = acceptedBy(s);
  if (!what) return undefined;
  const shown = exampleText(example);
  // "text" alone helps nobody: without an example, let a parent's hint speak (e.g. zones).
  if (what === 'text' && shown === null) return undefined;
  return `${what}${nullable ? ', or null' : ''}${shown !== null ? `, e.g. ${name}: ${shown}` : ''}`;
}

interface LooseDef {
  type?: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  checks?: { _zod: { def: { check?: string; value?: unknown; inclusive?: boolean; format?: string; prefix?: string; minimum?: unknown } } }[];
  entries?: Record<string, unknown>;
  values?: unknown[];
  element?: z.ZodType;
  options?: z.ZodType[];
  in?: z.ZodType;
}

function defOf(schema: z.ZodType): LooseDef {
  return (schema as unknown as { def?: LooseDef }).def ?? {};
}

function acceptedBy(schema: z.ZodType): string | undefined {
  const def = defOf(schema);
  const checks = (def.checks ?? []).map((c) => c._zod.def);
  switch (def.type) {
    case 'number': {
      const int = checks.some((c) => c.check === 'number_format' && /int/.test(c.format ?? ''));
      const lo = checks.find((c) => c.check === 'greater_than');
      const hi = checks.find((c) => c.check === 'less_than');
      const kind = int ? 'a whole number' : 'a number';
      if (lo && hi && lo.inclusive !== false && hi.inclusive !== false) return `${kind} from ${String(lo.value)} to ${String(hi.value)}`;
      const parts = [
        lo ? `${lo.inclusive === false ? '>' : '≥'} ${String(lo.value)}` : null,
        hi ? `${hi.inclusive === false ? '<' : '≤'} ${String(hi.value)}` : null,
      ].filter((x): x is string => x !== null);
      return parts.length > 0 ? `${kind} ${parts.join(' and ')}` : kind;
    }
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of: ${Object.values(def.entries ?? {})
        .map(String)
        .join(', ')}`;
    case 'literal':
      return `the only accepted value is ${(def.values ?? []).map(String).join(', ')}`;
    case 'string': {
      const prefix = checks.find((c) => c.format === 'starts_with')?.prefix;
      if (prefix !== undefined) return `a path starting with "${prefix}"`;
      return 'text';
    }
    case 'array':
      return 'a list';
    case 'record':
      return 'a mapping of name: value';
    case 'object': {
      const shape = objectShape(schema);
      return shape ? `a mapping with the fields ${Object.keys(shape).join(', ')}` : 'a mapping';
    }
    default:
      return undefined;
  }
}

/** A default as YAML a user could paste; null when it would not help (objects, null, empty). */
function exampleText(value: unknown): string | null {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return value === '' ? null : value;
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' || typeof v === 'number')) return `[${value.join(', ')}]`;
  return null;
}

/** The last resort: a rule from the zod issue alone (a path the schema walk could not follow). */
function fixFromIssue(issue: IssueHint): string | undefined {
  const bound = (v: unknown): string => (typeof v === 'bigint' || typeof v === 'number' ? String(v) : JSON.stringify(v));
  switch (issue.code) {
    case 'too_small':
      return `use a value ${issue.inclusive === false ? '>' : '≥'} ${bound(issue.minimum)}`;
    case 'too_big':
      return `use a value ${issue.inclusive === false ? '<' : '≤'} ${bound(issue.maximum)}`;
    case 'invalid_type':
      return `give ${typeof issue.expected === 'string' ? `a ${issue.expected}` : 'a value of the right type'}`;
    case 'invalid_value':
      return issue.values ? `one of: ${issue.values.map(String).join(', ')}` : undefined;
    case 'invalid_format':
      return issue.prefix !== undefined ? `start it with "${issue.prefix}"` : undefined;
    case 'invalid_key':
      return 'rename the key: names are letters, digits and underscores, not starting with a digit';
    default:
      return undefined;
  }
}

/** The schema of one field, e.g. ["proxy", "maxAttempts"] or ["timeline", 0, "zone"]. */
function schemaAt(path: readonly PropertyKey[]): z.ZodType | null {
  let schema: z.ZodType = scenarioSchema;
  for (const p of path) {
    const next = childSchema(schema, p);
    if (!next) return null;
    schema = next;
  }
  return schema;
}

/** Every key the schema knows at a path (for "did you mean" on unknown keys). */
export function knownKeys(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = scenarioSchema;
  for (const p of path) {
    const next = childSchema(schema, p);
    if (!next) return [];
    schema = next;
  }
  const shape = objectShape(schema);
  if (shape) return Object.keys(shape);
  // A timeline entry: the fields of every action (which one applies depends on `action`).
  const def = defOf(unwrap(schema));
  if (def.type !== 'union') return [];
  return [...new Set((def.options ?? []).flatMap((o) => Object.keys(objectShape(o) ?? {})))];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (let i = 0; i < 10; i++) {
    const def = (s as unknown as { def?: { innerType?: z.ZodType; in?: z.ZodType; type?: string } }).def;
    if (def?.innerType) s = def.innerType;
    else if (def?.type === 'pipe' && def.in) s = def.in;
    else break;
  }
  return s;
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | null {
  const s = unwrap(schema) as unknown as { shape?: Record<string, z.ZodType> };
  return s.shape ?? null;
}

function childSchema(schema: z.ZodType, key: PropertyKey): z.ZodType | null {
  const s = unwrap(schema) as unknown as { def?: { element?: z.ZodType; options?: z.ZodType[]; type?: string } };
  if (typeof key === 'number') return s.def?.element ?? null;
  const shape = objectShape(schema);
  if (shape) return shape[String(key)] ?? null;
  // A timeline entry (discriminated union): the first action that has this field.
  for (const option of s.def?.type === 'union' ? (s.def.options ?? []) : []) {
    const field = objectShape(option)?.[String(key)];
    if (field) return field;
  }
  return null;
}

/** A field path as the errors show it: load.rate, timeline[2].zone. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(root)';
}
