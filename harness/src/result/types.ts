/**
 * result.json: the single source of a run. report.md, report.html, junit.xml, the job summary
 * and the benchmark JSON are all rendered from this object alone (`zerodrop report <dir>`).
 * Times are ms relative to the run's origin (run.originEpochMs) unless named *Epoch*.
 */
import type { TimelineEvent } from '../../../orchestrator/index.js';
import type { DataResult } from '../verify/checks/data.js';

export const RESULT_SCHEMA_VERSION = 1;

/** PASS: every check held. FAIL: a check failed. INVALID: the load or the evidence was not good enough to judge. */
export type Verdict = 'PASS' | 'FAIL' | 'INVALID';

export type CheckStatus = 'pass' | 'fail' | 'invalid' | 'skip';

export type CheckGroup =
  'ledger' | 'counters' | 'load' | 'events' | 'disruption' | 'orchestrator' | 'replicas' | 'prometheus' | 'thresholds' | 'data' | 'secrets' | 'server';

export interface Check {
  /** Stable id, e.g. "ledger.no-lost-requests". One JUnit testcase each. */
  id: string;
  group: CheckGroup;
  title: string;
  status: CheckStatus;
  /** What must hold, in words with numbers: "lost = 0". */
  expected: string;
  /** What was measured: "lost = 17 (sent 120000, completed 119983)". */
  actual: string;
  /**
   * fail / invalid only: the broken condition in one phrase, which the headline states
   * ("target rate not reached: 9,465 of 20,000 req/s"). Absent in results written before it.
   */
  broken?: string;
  /** Why it failed and where to look, when it failed; for a skip, why it was not judged. */
  explanation?: string;
  numbers?: Record<string, number>;
}

export interface LatencySummary {
  count: number;
  p50Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  maxMs: number | null;
}

/**
 * The traffic of a window, by actual time: `sent` and `achievedRate` count requests actually
 * written in it, `ok` the successes answered in it; `failed`, `retried` and `latency` cover the
 * requests in flight during it (sent ≤ end, answered ≥ start). Latency runs from the intended
 * send time (coordinated-omission correct).
 */
export interface WindowStats {
  startMs: number;
  endMs: number;
  sent: number;
  ok: number;
  failed: number;
  retried: number;
  achievedRate: number;
  latency: LatencySummary;
}

/** One timeline action (rollout, zone fault...) and the traffic around it. */
export interface DisruptionEvent {
  id: string;
  kind: 'rollout' | 'rollback' | 'zone-crash' | 'zone-hang' | 'zone-recover' | 'scale' | 'rotate-secret' | 'exec' | 'http';
  label: string;
  startMs: number;
  /** When the event's effect ended (rollout complete, workload back to full strength), or null if never. */
  endMs: number | null;
  before: WindowStats;
  during: WindowStats;
  after: WindowStats;
  failed: number;
  /** Requests that only succeeded because the proxy retried them. */
  savedByRetry: number;
  /** Longest gap between two successful responses while the event lasted (ms). */
  longestGapMs: number;
  /** From the first failure to the last failure of the event, if any failed (ms). */
  timeToRecoverMs: number | null;
}

export interface Disruption {
  longestGapMs: number;
  longestGapAtMs: number | null;
  failed: number;
  savedByRetry: number;
  timeToRecoverMs: number | null;
  events: DisruptionEvent[];
}

export interface FailedRequestSample {
  id: string;
  /** Intended send time, ms from origin. */
  tMs: number;
  outcome: string;
  status: number;
  replica: string | null;
  zone: string | null;
  /** The rollout step or fault in progress at tMs, e.g. "rollout v2 · step 3 (v1 5→4)". */
  step: string | null;
  latencyMs: number;
  /**
   * The data plane's own account of the request, when it logged one (HAProxy: "haproxy 503 SC-- ·
   * 4 tries · last web-v1-c-14 · 10 ms"): what a client that saw only a reset cannot know.
   */
  dataPlane?: string;
}

export interface Failures {
  total: number;
  byOutcome: Record<string, number>;
  byStatus: Record<string, number>;
  byReplica: Record<string, number>;
  byZone: Record<string, number>;
  byStep: Record<string, number>;
  /** The first N failed requests, with the id the driver sent. */
  sample: FailedRequestSample[];
  /** Failed request ids listed in full in failed-requests.csv when there are more than `sample`. */
  listFile: string | null;
}

export interface LoadResult {
  engine: string;
  targetRate: number;
  achievedRate: number;
  connections: number;
  /** The measured window (warm-up excluded). */
  windowStartMs: number;
  windowEndMs: number;
  sent: number;
  completed: number;
  ok: number;
  failed: number;
  lost: number;
  abandoned: number;
  lateSends: number;
  maxScheduleLagMs: number;
  maxLateMsAllowed: number;
  latency: LatencySummary;
  /** autocannon engine: what autocannon itself reported, for comparison only. */
  autocannonReported: { sent: number; completed: number; errors: number; timeouts: number; non2xx: number } | null;
  /**
   * Requests that were due before the sending phase ended but never written (k6's
   * dropped_iterations). Not in `sent`: they lower the achieved rate. Absent in results written
   * before it was recorded.
   */
  unsent?: number;
  /** The driver's bookkeeping (check ledger.bookkeeping); absent in results written before it was checked. */
  bookkeeping?: BookkeepingCounts;
  /** Where the CPU went, per request (harness/src/verify/cpu-budget.ts); null without machine samples, absent in older results. */
  cpuBudget?: CpuBudget | null;
}

/**
 * CPU per request sent while the machine was sampled, in µs, by part. A part that was not
 * measured is null and its CPU is in kernelAndRestUs; totalUs is the machine's busy CPU.
 */
export interface CpuBudget {
  requests: number;
  spanMs: number;
  cpus: number;
  driverUs: number | null;
  dataPlaneUs: number | null;
  replicasUs: number | null;
  bootingUs: number | null;
  harnessRestUs: number | null;
  kernelAndRestUs: number;
  totalUs: number;
  goalUs: number;
}

/**
 * Driver bookkeeping anomalies: every one must be 0, else the ledger cannot be trusted to show
 * exactly one completion per request id (the run is INVALID, not PASS or FAIL on its own).
 */
export interface BookkeepingCounts {
  /**
   * What the engine itself detected (DriverSummary.anomalies: a row ended twice, a response with
   * nothing in flight, a write with no id, a request built twice, stats ≠ ledger at the end).
   * The engines keep one counter for all kinds.
   */
  engineAnomalies: number;
  /** Ledger rows still pending after the run (the engine must end every row, if only as abandoned). */
  pendingRows: number;
  /** Ledger rows with an outcome byte that is no Outcome. */
  unknownOutcomes: number;
  /** |writes the engine counted − ledger rows|: two independent counts of the requests sent disagree. */
  summaryLedgerMismatch: number;
}

/** One quantity seen from several places (the three-way reconciliation). */
export interface ReconciliationRow {
  /**
   * Stable key of the row ("sent-received", "2xx", "upstream", "retries"), which the PromQL
   * values are merged by. Absent in results written before rows had one.
   */
  id?: string;
  quantity: string;
  driver: number | null;
  proxy: number | null;
  replicas: number | null;
  prometheus: number | null;
  relation: string;
  holds: boolean;
  note?: string;
}

export interface ReplicaRow {
  id: string;
  zone: string;
  version: string;
  revision: number;
  startedMs: number | null;
  readyMs: number | null;
  drainingMs: number | null;
  exitedMs: number | null;
  exit: 'graceful' | 'killed' | 'crashed' | 'running' | 'start-failed';
  /** Upstream 2xx responses the proxy got from it. */
  proxy2xx: number;
  /** Traffic responses the replica itself counted (final snapshot or last scrape), or null. */
  replicaResponses: number | null;
  replicaCountSource: 'final' | 'last-scrape' | 'none';
  /** Driver requests served by it (x-served-by). */
  driverServed: number;
  retriesFrom: number;
  /** Liveness restarts before this replica in its slot (Kubernetes' restartCount); absent in older results. */
  restarts?: number;
  /** Where its start went, for runtimes that tell (docker); absent in older results. */
  boot?: ReplicaBoot | null;
}

/**
 * One replica's boot, in ms from the runtime's start call: create → running → listening (its
 * port announced or mapped) → Ready (first readiness pass); CPU read at Ready (null: not readable).
 */
export interface ReplicaBoot {
  createMs: number | null;
  runningMs: number;
  listeningMs: number;
  readyMs: number | null;
  /** The replica's own CPU from start to Ready (docker: its cgroup). */
  cpuMs: number | null;
  /** The runtime's per-replica helper's CPU (docker: containerd-shim). */
  helperCpuMs: number | null;
  /** Its CPU weight while booting and once Ready, and how the raise was made (ms it took). */
  priority: { booting: number; serving: number; how: string; ms: number } | null;
}

export interface TimelineSeries {
  /** Bucket width (ms). */
  bucketMs: number;
  /** Bucket start, ms from origin. */
  t: number[];
  /**
   * By actual time: successes in the bucket they were answered in, failures in the bucket they
   * ended in, retried requests in the bucket they ended in (answers after the last bucket are in
   * the last one). Latency (p50/p99/max) by intended send time, measured from it.
   */
  ok: number[];
  failed: number[];
  retried: number[];
  p50Ms: (number | null)[];
  p99Ms: (number | null)[];
  maxMs: (number | null)[];
  /** Ready replicas per zone at each bucket start. */
  readyByZone: Record<string, number[]>;
  /** Ready replicas per version at each bucket start. */
  readyByVersion: Record<string, number[]>;
}

export interface Band {
  kind: 'rollout' | 'zone-down' | 'warmup';
  label: string;
  startMs: number;
  endMs: number | null;
}

export interface PrometheusResult {
  mode: 'auto' | 'url' | 'off';
  url: string | null;
  /** Where the TSDB lives (auto mode), for replays in Grafana. */
  dataDir: string | null;
  /**
   * relation: '=' (must equal the in-process number) or '≤' (a bound, e.g. killed replicas).
   * kind: 'fidelity' (absent in older results) compares a PromQL value with the in-process counter
   * it was exported from; 'cross' evaluates one of the proof's equalities between components in
   * PromQL alone: `value` is the PromQL mismatch, which must equal `expected` (0), `inProcess` is null.
   */
  queries: {
    name: string;
    promql: string;
    value: number | null;
    inProcess: number | null;
    agree: boolean | null;
    relation?: '=' | '≤';
    kind?: 'fidelity' | 'cross';
    expected?: number;
    /** 'cross' rows: the equality in words, e.g. "driver sent − refused − proxy received". */
    what?: string;
  }[];
  note: string | null;
}

export interface RunResult {
  schemaVersion: typeof RESULT_SCHEMA_VERSION;
  tool: { name: 'zerodrop'; version: string; node: string };
  run: {
    id: string;
    scenario: { name: string; file: string | null; sha256: string | null };
    runtime: 'process' | 'docker';
    /** The data plane that carried the traffic, and how it was chosen (absent in older results). */
    dataPlane?: { engine: 'node' | 'haproxy'; threads: number | null; why: string };
    /** Epoch ms of time 0 in this file. */
    originEpochMs: number;
    startedAt: string;
    endedAt: string;
    durationMs: number;
    /** false when the run was interrupted (SIGINT) or broke; the verdict is then never PASS. */
    complete: boolean;
    incompleteReason: string | null;
    /** hostname: absent in results written before it was recorded (JUnit then says "unknown"). */
    machine: { cpus: number; cpuModel: string; memGiB: number; platform: string; release: string; hostname?: string };
    command: string;
    /** Choices the runtime made by itself (docker: endpoint mode and why, CPU shares); absent in older results. */
    runtimeChoices?: { what: string; value: string; why: string }[];
    /** Commit of the code under test, when known (reports, JUnit properties, benchmark `extra`). */
    gitSha?: string | null;
    /** Nice values used (issue 12): harness (driver, proxy, HAProxy), booting and serving replicas; null = unchanged. */
    cpuPriorities?: { harness: number | null; booting: number | null; serving: number | null; note: string | null; session?: 'own' | 'shared' };
  };
  verdict: Verdict;
  exitCode: 0 | 1 | 2 | 3;
  /** One line: "PASS: 1,200,000 requests, 0 lost, 0 failed, rollout v1→v2 and zone b crash survived". */
  headline: string;
  checks: Check[];
  load: LoadResult;
  reconciliation: ReconciliationRow[];
  disruption: Disruption;
  failures: Failures;
  replicas: ReplicaRow[];
  timeline: TimelineSeries;
  bands: Band[];
  /** Orchestrator events, t converted to ms from origin. */
  events: TimelineEvent[];
  proxy: {
    received: number;
    responded: Record<string, number>;
    retries: Record<string, number>;
    retryBudgetExhausted: number;
    savedByRetry: number;
    zoneEjections: number;
    retriesEnabled: boolean;
  };
  prometheus: PrometheusResult;
  /** load.writes: the read-back's figures (verify/checks/data.ts); absent without writes. */
  data?: DataResult;
  /** The resolved scenario (after defaults and CLI overrides). */
  scenario: unknown;
  artifacts: Record<string, string>;
}
