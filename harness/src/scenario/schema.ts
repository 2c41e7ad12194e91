/**
 * The scenario schema: the ONE place that owns the shape, the defaults and the validation of a
 * scenario file (the fastify habit: defaults with units next to the field, unknown keys rejected).
 * Orchestrator and proxy defaults are imported from their own modules so no default is written twice.
 */
import { z } from 'zod';
import {
  DATA_PLANE_CHOICES,
  DEFAULT_DATA_PLANE_CHOICE,
  DEFAULT_PROXY_CONFIG,
  DEFAULT_RUNTIME,
  RUNTIME_NAMES,
  DEFAULT_READINESS,
  DEFAULT_RESOURCES,
  DEFAULT_STRATEGY,
  DEFAULT_TERMINATION,
  DEFAULT_UPSTREAM_CLIENT,
  DEFAULT_ZONES,
  STOP_SIGNALS,
} from '../../../orchestrator/index.js';
import { timelineActionSchema, type TimelineAction } from '../timeline/registry.js';
import { duration, envMap, intOrPercent, name, version } from './fields.js';

export { duration };

/**
 * sample-app's negative-control switches, spelled as its --fault flag takes them
 * (sample-app/src/config.ts FAULT_SWITCHES); error-rate and slow-start take a value.
 */
export const SAMPLE_APP_FAULTS = [
  'abrupt-exit',
  'ready-early',
  'no-drain',
  'ignore-sigterm',
  'close-idle',
  'error-rate',
  'slow-start',
  'ack-before-fsync',
  'volume-per-replica',
  'rotate-without-overlap',
  'log-secret',
] as const;
/** Switches that break the volume's rules: they need deployment.volume. */
export const STORAGE_FAULTS: readonly string[] = ['ack-before-fsync', 'volume-per-replica'];
/** Switches that break the secret's rules: they need deployment.secrets. */
export const SECRET_FAULTS: readonly string[] = ['rotate-without-overlap', 'log-secret'];
/** Switches that each replace what SIGTERM does: sample-app refuses two of them together. */
export const SIGTERM_FAULTS: readonly string[] = ['abrupt-exit', 'no-drain', 'ignore-sigterm', 'close-idle'];

/** An HTTP GET on the replica (Kubernetes HTTPGetAction): its serving port unless `port` is given. */
const httpGetSchema = z.strictObject({
  path: z.string().startsWith('/'),
  port: z.number().int().min(1).max(65535).optional(),
});

/** A probe with Kubernetes' field names; unset fields keep zerodrop's readiness defaults. */
const probeSchema = z.strictObject({
  httpGet: httpGetSchema.optional(),
  periodSeconds: z.number().positive().max(3600).optional(),
  timeoutSeconds: z.number().positive().max(3600).optional(),
  failureThreshold: z.number().int().min(1).max(1000).optional(),
  successThreshold: z.number().int().min(1).max(1000).optional(),
  initialDelaySeconds: z.number().min(0).max(3600).optional(),
});

/** Kubernetes lifecycle.preStop: exactly one of exec, httpGet, sleep (checked in scenario/lifecycle.ts). */
const preStopSchema = z.strictObject({
  exec: z.strictObject({ command: z.array(z.string().min(1)).min(1) }).optional(),
  httpGet: httpGetSchema.optional(),
  sleep: z.strictObject({ seconds: z.number().min(0).max(3600) }).optional(),
});

/**
 * Target mode: the server's own counters, read with PromQL from the scenario's Prometheus
 * (`prometheus: <url>`), reconciled with the ledger (verify/checks/server-counters.ts).
 */
export const SERVER_COUNTS = ['sent', 'answered', '2xx'] as const;
const serverCountersSchema = z.strictObject({
  /** How long to wait after the load for Prometheus to have scraped the last requests. */
  settle: duration.default(30_000),
  queries: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a slug: lower-case letters, digits and -'),
        /** One number: a counter (summed) that is not reset during the run. */
        promql: z.string().min(1),
        /** The ledger figure it must equal: requests sent, answered (any status), or answered 2xx. */
        counts: z.enum(SERVER_COUNTS).default('answered'),
        /** |server − client| allowed (other traffic on the same counter). */
        tolerance: z.number().int().min(0).default(0),
      }),
    )
    .min(1),
});

const targetSchema = z
  .strictObject({
    /** The built-in reference service (default when neither command nor image is given). */
    app: z.literal('sample-app').optional(),
    /** Bring your own service: argv; "{port}" is replaced by the port it must listen on. */
    command: z.array(z.string().min(1)).min(1).optional(),
    /** Bring your own image (docker runtime). */
    image: z.string().min(1).optional(),
    /** Target mode: a deployment zerodrop does not start (scenario/target-mode.ts). */
    url: z.url({ protocol: /^https?$/, message: 'must be an http URL like http://127.0.0.1:8080/' }).optional(),
    /** Target mode: the URL may be a host other than loopback (an explicit opt-in). */
    allowRemote: z.boolean().default(false),
    /** Target mode: server-side counters in the scenario's Prometheus, reconciled with the ledger. */
    serverCounters: serverCountersSchema.optional(),
    containerPort: z.number().int().min(1).max(65535).default(8080),
    /** How the port is learned: "announce" (a JSON line on stdout) or { env: PORT }. */
    port: z.union([z.literal('announce'), z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/) })]).optional(),
    env: envMap.default({}),
    readinessPath: z.string().startsWith('/').default(DEFAULT_READINESS.path),
    livenessPath: z.string().startsWith('/').default('/healthz'),
    metricsPath: z.union([z.string().startsWith('/'), z.null()]).default('/metrics'),
    /**
     * Whether the service echoes x-zerodrop-id. Unset: detected by the data plane from the first
     * 2xx; false: the data plane attests each id (orchestrator/src/proxy/id-attestation.ts).
     */
    echoesId: z.boolean().optional(),
    startTimeout: duration.default(15_000),
    /** sample-app only: negative-control switches (see sample-app --help). */
    appFaults: z.array(z.string()).default([]),
    /** sample-app only: readiness stays false this long after start. */
    warmup: duration.default(0),
    /** sample-app only: how long it keeps serving after SIGTERM. */
    drainDelay: duration.default(1500),
    // ---- Pod lifecycle, with Kubernetes' names (scenario/lifecycle.ts maps them; they take
    // precedence over readinessPath/livenessPath and deployment.termination/readiness).
    /** Kubernetes lifecycle.stopSignal, Docker STOPSIGNAL (nginx drains on SIGQUIT). Default SIGTERM. */
    stopSignal: z.enum(STOP_SIGNALS).optional(),
    preStop: preStopSchema.optional(),
    readinessProbe: probeSchema.optional(),
    /** The kubelet's restart rule (failureThreshold failures: terminated, started again) and the data plane's active health check. */
    livenessProbe: probeSchema.optional(),
    /** Readiness is not probed until it succeeds; failureThreshold failures in a row fail the start. */
    startupProbe: probeSchema.optional(),
    terminationGracePeriodSeconds: z.number().min(0).max(3600).optional(),
  })
  .prefault({});

const strategySchema = z
  .strictObject({
    maxSurge: intOrPercent.default(DEFAULT_STRATEGY.maxSurge),
    maxUnavailable: intOrPercent.default(DEFAULT_STRATEGY.maxUnavailable),
    minReadySeconds: z.number().min(0).default(DEFAULT_STRATEGY.minReadySeconds),
    progressDeadlineSeconds: z.number().positive().default(DEFAULT_STRATEGY.progressDeadlineSeconds),
    autoRollback: z.boolean().default(DEFAULT_STRATEGY.autoRollback),
  })
  .prefault({});

const deploymentSchema = z
  .strictObject({
    name: name.default('web'),
    replicas: z.number().int().min(1).max(64).default(6),
    zones: z.array(name).min(1).max(8).default(DEFAULT_ZONES),
    version: version.default('v1'),
    strategy: strategySchema,
    termination: z
      .strictObject({
        preStop: duration.default(DEFAULT_TERMINATION.preStopMs),
        gracePeriod: duration.default(DEFAULT_TERMINATION.gracePeriodMs),
        routingLag: duration.default(DEFAULT_TERMINATION.routingLagMs),
      })
      .prefault({}),
    readiness: z
      .strictObject({
        period: duration.default(DEFAULT_READINESS.periodMs),
        timeout: duration.default(DEFAULT_READINESS.timeoutMs),
        successThreshold: z.number().int().min(1).default(DEFAULT_READINESS.successThreshold),
        failureThreshold: z.number().int().min(1).default(DEFAULT_READINESS.failureThreshold),
        initialDelay: duration.default(DEFAULT_READINESS.initialDelayMs),
      })
      .prefault({}),
    /** How long the control plane takes to notice a failed zone (node-monitor grace period). */
    zoneFailureDetection: duration.default(2000),
    revisionHistoryLimit: z.number().int().min(0).default(10),
    resources: z
      .strictObject({
        memoryMiB: z.number().int().min(0).default(DEFAULT_RESOURCES.memoryMiB),
        cpus: z.number().min(0).default(DEFAULT_RESOURCES.cpus),
      })
      .prefault({}),
    // ---- state (issue 16): a volume that outlives the replicas ----
    /** null = none. Process runtime: a 0700 host directory per run; docker: a named volume per run. */
    volume: z
      .strictObject({
        /** Where a container sees it (docker); replicas find it in $ZERODROP_DATA_DIR either way. */
        mountPath: z
          .string()
          .regex(/^\/[A-Za-z0-9._/-]*$/, { message: 'must be an absolute path of letters, digits, . _ - /' })
          .default('/data'),
        /** One volume per zone (a zonal persistent disk) instead of one for the Deployment. */
        perZone: z.boolean().default(false),
      })
      .nullable()
      .default(null),
    /**
     * Secrets generated per run, never written to the scenario, the reports or the logs; mounted
     * read-only (ZERODROP_SECRETS_DIR). One named `token` is the bearer token the driver sends.
     */
    secrets: z.record(name, z.strictObject({ valueFrom: z.literal('generated') })).default({}),
  })
  .prefault({});

const P = DEFAULT_PROXY_CONFIG;
const proxySchema = z
  .strictObject({
    /** The data plane: zerodrop's own proxy (node) or HAProxy driven through its runtime API (haproxy). */
    engine: z.enum(DATA_PLANE_CHOICES).default(DEFAULT_DATA_PLANE_CHOICE),
    /** engine: haproxy only. */
    haproxy: z.strictObject({ threads: z.number().int().min(1).max(64).default(1) }).prefault({}),
    retries: z.boolean().default(P.retries.enabled),
    /** Unset: the data plane's default (node: 3, haproxy: 6; see HAPROXY_MAX_ATTEMPTS_DEFAULT). */
    maxAttempts: z.number().int().min(1).max(10).optional(),
    perTryTimeout: duration.default(P.retries.perTryTimeoutMs),
    /** PUT and DELETE may be replayed after their first byte (RFC 9110 §9.2.2). Off: a write is never replayed. */
    idempotentWrites: z.boolean().default(false),
    /** New replicas get a share of first attempts growing from 10 % to full over this window (0 = off). */
    slowStart: duration.default(0),
    retryBudget: z
      .strictObject({
        ratio: z.number().min(0).max(1).default(P.retries.budgetRatio),
        minConcurrency: z.number().int().min(0).default(P.retries.budgetMinConcurrency),
      })
      .prefault({}),
    healthCheck: z
      .strictObject({
        interval: duration.default(P.healthCheck.intervalMs),
        /** Unset: the data plane's default (node: 500 ms × 3, haproxy: 250 ms × 2; see HAPROXY_HEALTH_CHECK_DEFAULTS). */
        timeout: duration.optional(),
        unhealthyThreshold: z.number().int().min(1).optional(),
        healthyThreshold: z.number().int().min(1).default(P.healthCheck.healthyThreshold),
      })
      .prefault({}),
    ejection: z
      .strictObject({
        consecutiveFailures: z.number().int().min(1).default(P.ejection.consecutiveFailures),
        minEjection: duration.default(P.ejection.minEjectionMs),
        zoneThreshold: z.number().int().min(0).default(P.ejection.zoneEjectionThreshold),
        zoneWindow: duration.default(P.ejection.zoneWindowMs),
      })
      .prefault({}),
    upstream: z
      .strictObject({
        /** raw: the proxy's own keep-alive connections (fastest); undici: undici Pools (can pipeline). */
        client: z.enum(['raw', 'undici']).default(P.upstream.client ?? DEFAULT_UPSTREAM_CLIENT),
        connectionsPerReplica: z.number().int().min(1).max(1024).default(P.upstream.connectionsPerReplica),
        pipelining: z.number().int().min(1).max(16).default(P.upstream.pipelining),
        keepAliveTimeout: duration.default(P.upstream.keepAliveTimeoutMs),
        connectTimeout: duration.default(P.upstream.connectTimeoutMs),
      })
      .superRefine((u, ctx) => {
        if (u.client === 'raw' && u.pipelining > 1) {
          ctx.addIssue({
            code: 'custom',
            path: ['pipelining'],
            message: 'the raw upstream client sends one request at a time per connection: set pipelining: 1, or client: undici to pipeline',
          });
        }
      })
      .prefault({}),
    /** Fixed port for the proxy (0 = any free port). */
    port: z.number().int().min(0).max(65535).default(0),
  })
  .prefault({});

const requestSchema = z.strictObject({
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']).default('GET'),
  path: z.string().startsWith('/').default('/'),
  headers: z.record(z.string(), z.string()).default({}),
  body: z.string().nullable().default(null),
  weight: z.number().positive().default(1),
});

const loadSchema = z
  .strictObject({
    engine: z.enum(['open', 'autocannon']).default('open'),
    rate: z.number().int().min(0).max(1_000_000).default(2000),
    connections: z.number().int().min(1).max(10_000).default(128),
    duration: duration.default(30_000),
    warmup: duration.default(3000),
    /**
     * Open model: the rate ramps linearly from 0 to `rate` over the first rampUp (≤ warmup, so the
     * measured window is at full rate). Unset: the whole warm-up for the open engine, 0 otherwise.
     */
    rampUp: duration.optional(),
    timeout: duration.default(10_000),
    maxLate: duration.default(250),
    requests: z
      .array(requestSchema)
      .min(1)
      .default([{ method: 'GET', path: '/', headers: {}, body: null, weight: 1 }]),
    /** Fraction of requests that are writes: PUT /kv/<request id> (issue 16; open engine). */
    writes: z.number().min(0).max(1).default(0),
  })
  .prefault({});

const thresholdsSchema = z
  .strictObject({
    /** Client-visible failures allowed (the contract: 0). */
    maxFailed: z.number().int().min(0).default(0),
    /** Failed upstream tries put down to a rollout, rollback or scale step ("done right needs none"). */
    maxRolloutRetries: z.number().int().min(0).default(0),
    /** Failed upstream tries of Ready replicas in steady state (no change, no zone failure under way). */
    maxSteadyRetries: z.number().int().min(0).default(0),
    /** Achieved ÷ target rate below this makes the run INVALID. */
    minAchievedRatio: z.number().min(0).max(1).default(0.99),
    /** The open model may fall behind its schedule by at most this much. */
    maxScheduleLag: duration.default(1000),
    /** Optional latency gates over the measured window. */
    p99: duration.nullable().default(null),
    p999: duration.nullable().default(null),
    /** Optional: longest gap between successful responses. */
    maxGap: duration.nullable().default(null),
  })
  .prefault({});

export const scenarioSchema = z.strictObject({
  name: name.default('scenario'),
  description: z.string().default(''),
  runtime: z.enum(RUNTIME_NAMES).default(DEFAULT_RUNTIME),
  target: targetSchema,
  deployment: deploymentSchema,
  proxy: proxySchema,
  load: loadSchema,
  timeline: z.array(timelineActionSchema).default([]),
  thresholds: thresholdsSchema,
  prometheus: z.union([z.enum(['auto', 'off']), z.url({ message: 'must be "auto", "off" or an http(s) URL' })]).default('off'),
  outputs: z.strictObject({ dir: z.string().min(1).default('reports') }).prefault({}),
});

export type Scenario = z.output<typeof scenarioSchema>;
export type { TimelineAction };
