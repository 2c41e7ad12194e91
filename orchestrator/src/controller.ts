/**
 * The reconcile loop: a compact Deployment + ReplicaSet controller, a kubelet (readiness probes,
 * termination sequence) and a node-lifecycle controller (zones) in one object.
 *
 * Each pass observes, asks the pure planner for the next safe step (planner/plan.ts), and applies
 * it. State changes are applied synchronously (a replica is "starting" or "terminating" the moment
 * the action is taken), the slow parts (process start, drain, SIGTERM, grace) run in the
 * background and trigger another pass when they finish. Every change lands on the timeline.
 */
import { StartupGate } from './lifecycle/startup-probe.js';
import { runPreStop } from './lifecycle/pre-stop.js';
import { DEFAULT_LIFECYCLE, type PodLifecycle, type PreStopHook } from './lifecycle/types.js';
import { EventEmitter } from 'node:events';
import { monotonicMs, systemClock, type Clock } from './common/clock.js';
import { settledWithin } from './common/async.js';
import { ZerodropError, errorMessage } from './common/errors.js';
import { planStep } from './planner/plan.js';
import { checkInvariants, deploymentStatus, fencepostsOf, hasProgressed, isRolloutComplete, wouldBreach } from './planner/status.js';
import type {
  DeploymentStatus,
  DesiredState,
  ObservedReplica,
  ObservedState,
  PlannedAction,
  ReplicaPhase,
  ReplicaSetState,
  ZoneState,
} from './planner/types.js';
import { ReadinessProber, type ReadinessListener } from './probe.js';
import type { ProxyControl } from './proxy/types.js';
import type { HostPort, ReplicaExit, Runtime, StartedReplica } from './runtime/types.js';
import type { DeploymentSpec, PodTemplate, ProbeSpec } from './spec.js';
import type { DeleteReason, InvariantName, TimelineEvent, ZoneFailureMode } from './timeline.js';

/** Reads a replica's served-traffic counter (sum of its responses to traffic routes), or null. */
export type CounterReader = (target: HostPort, path: string, final?: boolean) => Promise<number | null>;

export interface ControllerOptions {
  runId: string;
  spec: DeploymentSpec;
  runtime: Runtime;
  proxy: ProxyControl;
  clock?: Clock;
  /**
   * Emulated node-monitor grace period: how long the control plane takes to notice that the
   * replicas of a failed zone are gone (Kubernetes: --node-monitor-grace-period, 40 s + eviction).
   * Until then the data plane is on its own: retries, ejection, health checks.
   */
  zoneFailureDetectionMs: number;
  /** Periodic reconcile, on top of the event-driven passes. */
  resyncIntervalMs?: number;
  /** Live scrape of every replica's counters (for replicas that die without a final snapshot). */
  scrapeIntervalMs?: number;
  readCounts?: CounterReader;
  log?: (line: string) => void;
  /** CrashLoopBackOff between failed starts of one revision (default 0.5, 1, 2, 4, 8 s). */
  crashLoopBackoffMs?: readonly number[];
  /** How readiness is probed (default: HTTP GET, as the kubelet). Unit tests pass a fake. */
  prober?: ProberFactory;
}

/** A readiness prober of one replica: calls back on every Ready/not-Ready flip until stopped. */
export interface ReplicaProber {
  start(): void;
  stop(): void;
  readonly lastFailure: string | null;
}

export type ProberFactory = (replica: StartedReplica, spec: ProbeSpec, onChange: ReadinessListener) => ReplicaProber;

const httpProber: ProberFactory = (replica, spec, onChange) => new ReadinessProber(replica.endpoint, spec, onChange);

export interface ReplicaRecord {
  id: string;
  seq: number;
  revision: number;
  version: string;
  zone: string;
  phase: ReplicaPhase;
  ready: boolean;
  readySinceMs: number | null;
  createdAtMs: number;
  started: StartedReplica | null;
  /** Settles when runtime.start has finished (either way). */
  startTask: Promise<void>;
  routed: boolean;
  deleteReason: DeleteReason | null;
  firstReadyMs: number | null;
  drainingMs: number | null;
  exitedMs: number | null;
  exit: ReplicaExit | null;
  startError: string | null;
  lastScrape: { responses: number; atMs: number } | null;
  final: { responses: number; atMs: number } | null;
  /** Replica is in a failed zone whose failure the control plane has not noticed yet. */
  zoneFailedUnnoticed: boolean;
}

export type RolloutOutcome = 'complete' | 'failed' | 'superseded';

export interface RolloutHandle {
  revision: number;
  version: string;
  done: Promise<{ outcome: RolloutOutcome; durationMs: number; reason: string | null }>;
}

interface ActiveRollout {
  revision: number;
  version: string;
  startedMs: number;
  lastProgressMs: number;
  /** The status at the previous pass, and the most updated replicas seen (DeploymentProgressing). */
  previous: DeploymentStatus | null;
  maxUpdated: number;
  step: number;
  resolve: (r: { outcome: RolloutOutcome; durationMs: number; reason: string | null }) => void;
}

interface ZoneFailure {
  zone: string;
  mode: ZoneFailureMode;
  atMs: number;
  replicas: string[];
  detectionTimer: NodeJS.Timeout | null;
  noticed: boolean;
  zoneBackUp: boolean;
  recoveredReported: boolean;
}

export interface ControllerView {
  name: string;
  desiredReplicas: number;
  revision: number;
  version: string;
  status: DeploymentStatus;
  conditions: { type: string; status: boolean; reason: string; message: string; lastUpdateMs: number }[];
  replicaSets: { revision: number; version: string; replicas: number; active: number; ready: number }[];
  zones: { name: string; up: boolean; replicas: number; ready: number }[];
  replicas: {
    id: string;
    zone: string;
    version: string;
    revision: number;
    phase: ReplicaPhase;
    ready: boolean;
    endpoint: string | null;
  }[];
  rolloutInProgress: boolean;
}

const CRASH_LOOP_BACKOFF_MS = [500, 1000, 2000, 4000, 8000];

export class DeploymentController extends EventEmitter {
  private spec: DeploymentSpec;
  private readonly runtime: Runtime;
  private readonly proxy: ProxyControl;
  private readonly clock: Clock;
  private readonly runId: string;
  private readonly options: ControllerOptions;
  private readonly replicaSets: ReplicaSetState[] = [];
  private readonly records = new Map<string, ReplicaRecord>();
  private readonly zones: ZoneState[];
  private readonly zoneFailures = new Map<string, ZoneFailure>();
  private readonly probers = new Map<string, ReplicaProber>();
  /** Bounds currently broken (one invariant.breach event per episode), and whether the first rollout completed. */
  private readonly breached = new Set<InvariantName>();
  private everAvailable = false;
  /** A scale-up moved the availability floor: below it until the new replicas are up, through no fault of ours. */
  private scaleUpPending = false;
  /** A scale-down moved the ceiling: above it until the next pass has retired the excess. */
  private scaleDownPending = false;
  private readonly background = new Set<Promise<unknown>>();
  private readonly events: TimelineEvent[] = [];
  private desiredRevision = 0;
  private seq = 0;
  private rollout: ActiveRollout | null = null;
  private reconciling = false;
  private dirty = false;
  private closed = false;
  private resyncTimer: NodeJS.Timeout | null = null;
  private scrapeTimer: NodeJS.Timeout | null = null;
  private unsubscribeExit: (() => void) | null = null;
  private startFailures = new Map<number, { count: number; nextAllowedMs: number }>();
  private lastStatus: DeploymentStatus | null = null;
  private availableCondition = { status: false, reason: 'MinimumReplicasUnavailable', lastUpdateMs: 0 };
  private progressingCondition = { status: true, reason: 'NewReplicaSetCreated', message: '', lastUpdateMs: 0 };

  constructor(options: ControllerOptions) {
    super();
    this.options = options;
    this.spec = options.spec;
    this.runtime = options.runtime;
    this.proxy = options.proxy;
    this.clock = options.clock ?? systemClock;
    this.runId = options.runId;
    this.zones = options.spec.zones.map((name) => ({ name, up: true }));
  }

  // ---------------------------------------------------------------- lifecycle

  /** Creates revision 1 and waits until every replica is available (or the progress deadline). */
  async start(): Promise<void> {
    await this.runtime.prepare(this.runId);
    this.unsubscribeExit = this.runtime.onExit((exit) => this.onReplicaExit(exit));
    const first = this.beginRollout(this.spec.template);
    // Not unref'd: a running controller keeps its process alive (backoffs and deadlines are
    // acted on by this resync); close() and destroy() clear it.
    this.resyncTimer = setInterval(() => this.kick(), this.options.resyncIntervalMs ?? 200);
    this.scrapeTimer = setInterval(() => void this.scrapeAll(), this.options.scrapeIntervalMs ?? 1000);
    this.scrapeTimer.unref();
    const result = await Promise.race([first.done, this.crashLoop()]);
    if (result.outcome !== 'complete') {
      const failing = [...this.records.values()].filter((r) => r.startError !== null || (!r.ready && r.phase !== 'terminating'));
      const logs = failing[0] ? await this.runtime.logs(failing[0].id, 20).catch(() => []) : [];
      const startFailed = failing.some((r) => r.startError !== null);
      throw new ZerodropError(startFailed ? 'ZD_REPLICA_START_FAILED' : 'ZD_REPLICA_NOT_READY', `deployment ${this.spec.name} never became available: ${result.reason ?? result.outcome}`, {
        details: [
          ...failing.slice(0, 3).map((r) => `replica ${r.id}: ${r.startError ?? this.probers.get(r.id)?.lastFailure ?? 'not ready'}`),
          ...(logs.length ? [`last log lines of ${failing[0]?.id}:`, ...logs.map((l) => `  ${l}`)] : []),
        ],
        fix: startFailed
          ? 'the replica exits before it is listening: its own log lines above say why (bad flags, a missing file, a port in use)'
          : `check that the replica answers ${this.spec.template.readiness.path} with 200 once it can serve`,
      });
    }
  }

  /**
   * Resolves as a failed rollout once replicas have failed to start 3 times with none ever
   * becoming Ready: a replica that exits at once (bad flags, a missing file) would otherwise be
   * retried until the progress deadline.
   */
  private crashLoop(): Promise<{ outcome: RolloutOutcome; durationMs: number; reason: string | null }> {
    return new Promise((resolve) => {
      let failures = 0;
      const onEvent = (e: TimelineEvent): void => {
        if (e.type === 'replica.ready') {
          this.off('event', onEvent);
          return;
        }
        if (e.type !== 'replica.start-failed') return;
        failures++;
        if (failures >= 3) {
          this.off('event', onEvent);
          resolve({ outcome: 'failed', durationMs: 0, reason: `replicas failed to start ${failures} times in a row: ${e.error}` });
        }
      };
      this.on('event', onEvent);
    });
  }

  /** Stops every replica the way a rollout would (drain, preStop, SIGTERM, grace). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    for (const failure of this.zoneFailures.values()) if (failure.detectionTimer) clearTimeout(failure.detectionTimer);
    const live = [...this.records.values()].filter((r) => r.phase !== 'terminating' && r.exit === null);
    for (const r of live) this.terminate(r, 'shutdown');
    await this.settle();
    // Every replica has exited; the runtime releases the rest (docker: removes the containers,
    // including ones a zone crash killed, and reaps dead runs) before close() resolves.
    await this.runtime.close(this.spec.termination.gracePeriodMs);
    this.unsubscribeExit?.();
  }

  /** Kills everything now. */
  async destroy(): Promise<void> {
    this.closed = true;
    this.stopTimers();
    for (const prober of this.probers.values()) prober.stop();
    await this.runtime.destroy();
    this.unsubscribeExit?.();
  }

  /** Waits for every background action (starts, terminations) to finish. */
  async settle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  // ---------------------------------------------------------------- operations

  /** Rolls out a new template (new revision), e.g. { version: 'v2' }. */
  rolloutTo(patch: Partial<PodTemplate>): RolloutHandle {
    const template: PodTemplate = { ...this.spec.template, ...patch };
    return this.beginRollout(template);
  }

  /** Rolls back to a revision (default: the one before the current). Explicit, as in Kubernetes. */
  rollback(toRevision?: number, automatic = false): RolloutHandle {
    const target =
      toRevision === undefined
        ? [...this.replicaSets].filter((rs) => rs.revision !== this.desiredRevision).sort((a, b) => b.revision - a.revision)[0]
        : this.replicaSets.find((rs) => rs.revision === toRevision);
    if (!target) {
      throw new ZerodropError('ZD_BAD_USAGE', `no revision ${toRevision ?? '(previous)'} to roll back to`, {
        fix: `revisions known: ${this.replicaSets.map((rs) => rs.revision).join(', ')}`,
      });
    }
    this.record({ t: this.now(), type: 'rollback.started', toRevision: target.revision, version: target.template.version, automatic });
    return this.beginRollout(target.template);
  }

  scale(replicas: number): void {
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new ZerodropError('ZD_BAD_USAGE', `replicas must be a whole number ≥ 0, got ${replicas}`);
    }
    const from = this.spec.replicas;
    this.spec = { ...this.spec, replicas };
    if (replicas > from) this.scaleUpPending = true;
    if (replicas < from) this.scaleDownPending = true;
    this.record({ t: this.now(), type: 'deployment.scaled', from, to: replicas });
    this.kick();
  }

  /** Injects a zone failure: crash = SIGKILL every replica in it, hang = freeze them. */
  async failZone(zone: string, mode: ZoneFailureMode): Promise<void> {
    const state = this.zoneState(zone);
    if (!state.up) return;
    state.up = false;
    const inZone = [...this.records.values()].filter((r) => r.zone === zone && r.exit === null && r.phase !== 'terminating');
    const at = this.now();
    const failure: ZoneFailure = {
      zone,
      mode,
      atMs: at,
      replicas: inZone.map((r) => r.id),
      detectionTimer: null,
      noticed: false,
      zoneBackUp: false,
      recoveredReported: false,
    };
    this.zoneFailures.set(zone, failure);
    this.record({ t: at, type: 'zone.down', zone, mode, replicas: failure.replicas });
    // The zone's kubelets go down with it: nobody probes these replicas any more, and the control
    // plane keeps its last view of them until the node-monitor grace period ends.
    for (const r of inZone) {
      this.probers.get(r.id)?.stop();
      this.probers.delete(r.id);
      r.zoneFailedUnnoticed = true;
    }
    await Promise.all(inZone.filter((r) => r.started).map((r) => this.applyZoneFault(r.id, mode)));
    failure.detectionTimer = setTimeout(() => this.noticeZoneFailure(zone), this.options.zoneFailureDetectionMs);
    failure.detectionTimer.unref();
  }

  async recoverZone(zone: string): Promise<void> {
    const state = this.zoneState(zone);
    if (state.up) return;
    state.up = true;
    const failure = this.zoneFailures.get(zone);
    if (failure?.detectionTimer) clearTimeout(failure.detectionTimer);
    this.record({ t: this.now(), type: 'zone.up', zone });
    if (failure && !failure.noticed) {
      if (failure.mode === 'hang') {
        // Recovered before the control plane noticed: the frozen replicas simply resume.
        for (const r of this.records.values()) {
          if (r.zone !== zone || !r.zoneFailedUnnoticed || r.exit) continue;
          await this.runtime.resume(r.id);
          r.zoneFailedUnnoticed = false;
          if (r.started) this.startProber(r, r.started);
        }
      } else {
        // The zone's kubelets are back and report their replicas dead.
        this.noticeZoneFailure(zone);
      }
    }
    if (failure) {
      failure.zoneBackUp = true;
      if (failure.recoveredReported) this.zoneFailures.delete(zone);
    }
    this.kick();
  }

  // ---------------------------------------------------------------- views

  get timeline(): readonly TimelineEvent[] {
    return this.events;
  }

  get currentRevision(): number {
    return this.desiredRevision;
  }

  get rolloutInProgress(): boolean {
    return this.rollout !== null;
  }

  get allReplicas(): readonly ReplicaRecord[] {
    return [...this.records.values()];
  }

  get deploymentSpec(): DeploymentSpec {
    return this.spec;
  }

  view(): ControllerView {
    const status = this.lastStatus ?? deploymentStatus(this.desired(), this.observe());
    const active = [...this.records.values()].filter((r) => r.phase === 'starting' || r.phase === 'running');
    return {
      name: this.spec.name,
      desiredReplicas: this.spec.replicas,
      revision: this.desiredRevision,
      version: this.spec.template.version,
      status,
      conditions: [
        { type: 'Available', ...this.availableCondition, message: `${status.availableReplicas}/${this.spec.replicas} available` },
        { type: 'Progressing', ...this.progressingCondition },
      ],
      replicaSets: this.replicaSets.map((rs) => ({
        revision: rs.revision,
        version: rs.template.version,
        replicas: rs.replicas,
        active: active.filter((r) => r.revision === rs.revision).length,
        ready: active.filter((r) => r.revision === rs.revision && r.ready).length,
      })),
      zones: this.zones.map((z) => ({
        name: z.name,
        up: z.up,
        replicas: active.filter((r) => r.zone === z.name).length,
        ready: active.filter((r) => r.zone === z.name && r.ready).length,
      })),
      replicas: [...this.records.values()]
        .filter((r) => r.exitedMs === null)
        .map((r) => ({
          id: r.id,
          zone: r.zone,
          version: r.version,
          revision: r.revision,
          phase: r.phase,
          ready: r.ready,
          endpoint: r.started ? `${r.started.endpoint.host}:${r.started.endpoint.port}` : null,
        })),
      rolloutInProgress: this.rollout !== null,
    };
  }

  /** Resolves when `predicate(view)` holds, polling on every timeline event; rejects after timeoutMs. */
  waitFor(predicate: (view: ControllerView) => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (predicate(this.view())) {
          cleanup();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new ZerodropError('ZD_ROLLOUT_FAILED', `timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const poll = setInterval(check, 50);
      const cleanup = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.off('event', check);
      };
      this.on('event', check);
      check();
    });
  }

  // ---------------------------------------------------------------- reconcile

  private kick(): void {
    if (this.closed) return;
    if (this.reconciling) {
      this.dirty = true;
      return;
    }
    this.reconciling = true;
    try {
      this.reconcileOnce();
    } catch (err) {
      this.log(`reconcile failed: ${errorMessage(err)}`);
    } finally {
      this.reconciling = false;
    }
    if (this.dirty) {
      this.dirty = false;
      setImmediate(() => this.kick());
    }
  }

  private reconcileOnce(): void {
    const desired = this.desired();
    const observed = this.observe();
    const { actions, status } = planStep(desired, observed);
    this.lastStatus = status;
    this.trackConditions(status);
    // Checked at every step: a step may never take the deployment below replicas − maxUnavailable
    // available or above replicas + maxSurge in total (or further past a bound an outage broke).
    // A zone outage may break them by itself; the planner may not.
    for (const breach of wouldBreach(desired, observed, actions)) {
      this.record({ t: this.now(), type: 'invariant.breach', ...breach, detail: `planner: ${breach.detail}` });
    }
    for (const action of actions) this.apply(action);
    const after = this.observe();
    this.checkObservedInvariants(desired, after);
    this.trackRollout(desired, after);
    this.trackRecovery();
  }

  /**
   * The bounds on what is really running, after this pass's actions: a replica that fell over
   * (unready, crashed) during a rollout takes `available` below the floor as surely as a bad
   * step would. Judged only while a rollout is under way, and not while the bounds cannot hold
   * by construction: before the first rollout completed, while a zone is down or not yet
   * recovered from, right after a resize. One event per episode, naming the replicas short.
   */
  private checkObservedInvariants(desired: DesiredState, observed: ObservedState): void {
    const status = deploymentStatus(desired, observed);
    const { maxSurge, maxUnavailable } = fencepostsOf(desired);
    const floor = this.spec.replicas - maxUnavailable;
    const ceiling = this.spec.replicas + maxSurge;
    if (status.availableReplicas >= floor) this.scaleUpPending = false;
    if (status.replicas <= ceiling) this.scaleDownPending = false;
    // The bounds are rollout guarantees (rolling.go): judged while a rollout is under way, and
    // not while an outage or a resize has moved them.
    const exempt = this.rollout === null || !this.everAvailable || this.zoneFailures.size > 0 || this.zones.some((z) => !z.up);
    const found = exempt
      ? []
      : checkInvariants(desired, observed).filter((b) => !(b.invariant === 'min-available' && this.scaleUpPending) && !(b.invariant === 'max-total' && this.scaleDownPending));
    const now = new Set(found.map((b) => b.invariant));
    for (const b of found) {
      if (this.breached.has(b.invariant)) continue;
      const who = [...this.records.values()]
        .filter((r) => ((r.phase === 'running' || r.phase === 'starting') && !r.ready) || (r.phase === 'failed' && r.exitedMs !== null && this.now() - r.exitedMs < RECENT_CRASH_MS))
        .slice(0, 6)
        .map((r) => `${r.id} (${r.phase === 'failed' ? 'crashed' : r.phase === 'starting' ? 'starting' : 'not Ready'})`);
      this.record({ t: this.now(), type: 'invariant.breach', ...b, detail: `${b.detail}${who.length ? `; not available: ${who.join(', ')}` : ''}` });
    }
    for (const name of [...this.breached]) if (!now.has(name)) this.breached.delete(name);
    for (const name of now) this.breached.add(name);
  }

  private desired(): DesiredState {
    return { spec: this.spec, revision: this.desiredRevision };
  }

  private observe(): ObservedState {
    const replicas: ObservedReplica[] = [];
    for (const r of this.records.values()) {
      // Terminated replicas are history; everything else is in view (a replica that died with an
      // unnoticed zone is still "running and Ready" to the control plane: a stale view, as in a real outage).
      if (r.phase === 'terminating' && r.exitedMs !== null) continue;
      replicas.push({
        id: r.id,
        revision: r.revision,
        zone: r.zone,
        phase: r.phase,
        ready: r.ready,
        readySinceMs: r.readySinceMs,
        createdAtMs: r.createdAtMs,
        seq: r.seq,
      });
    }
    return { nowMs: this.now(), replicaSets: this.replicaSets.map((rs) => ({ ...rs })), replicas, zones: this.zones.map((z) => ({ ...z })) };
  }

  private apply(action: PlannedAction): void {
    switch (action.type) {
      case 'create-replicaset': {
        // beginRollout creates the ReplicaSet record itself; only its size can be new here.
        const rs = this.replicaSets.find((s) => s.revision === action.revision);
        if (rs) rs.replicas = action.replicas;
        return;
      }
      case 'scale-replicaset': {
        const rs = this.replicaSets.find((s) => s.revision === action.revision);
        if (!rs) return;
        rs.replicas = action.to;
        const step = this.rollout ? ++this.rollout.step : 0;
        this.record({
          t: this.now(),
          type: 'replicaset.scaled',
          revision: rs.revision,
          version: rs.template.version,
          from: action.from,
          to: action.to,
          step,
        });
        return;
      }
      case 'create-replica': {
        const backoff = this.startFailures.get(action.revision);
        if (backoff && this.now() < backoff.nextAllowedMs) return; // crash-loop backoff
        this.createReplica(action.revision, action.zone);
        return;
      }
      case 'delete-replica': {
        const r = this.records.get(action.replicaId);
        if (!r || r.phase === 'terminating') return;
        if (action.reason === 'lost' || r.phase === 'failed' || r.exit !== null) this.forget(r, action.reason);
        else this.terminate(r, action.reason);
        return;
      }
    }
  }

  // ---------------------------------------------------------------- replicas

  private createReplica(revision: number, zone: string): void {
    const rs = this.replicaSets.find((s) => s.revision === revision);
    if (!rs) return;
    const seq = ++this.seq;
    const id = `${this.spec.name}-${rs.template.version}-${zone}-${seq}`;
    const record: ReplicaRecord = {
      id,
      seq,
      revision,
      version: rs.template.version,
      zone,
      phase: 'starting',
      ready: false,
      readySinceMs: null,
      createdAtMs: this.now(),
      started: null,
      startTask: Promise.resolve(),
      routed: false,
      deleteReason: null,
      firstReadyMs: null,
      drainingMs: null,
      exitedMs: null,
      exit: null,
      startError: null,
      lastScrape: null,
      final: null,
      zoneFailedUnnoticed: false,
    };
    this.records.set(id, record);
    record.startTask = (async () => {
        try {
          const started = await this.runtime.start({
            runId: this.runId,
            replicaId: id,
            deployment: this.spec.name,
            zone,
            revision,
            template: rs.template,
            resources: this.spec.resources,
          });
          record.started = started;
          this.record({ t: this.now(), type: 'replica.started', ...this.ref(record), endpoint: `${started.endpoint.host}:${started.endpoint.port}` });
          if (record.phase === 'terminating' || this.closed) return; // terminate() stops it
          const failure = this.zoneFailures.get(zone);
          if (!this.zoneState(zone).up && failure) {
            // Started in a zone that failed meanwhile: it goes down with the zone.
            record.zoneFailedUnnoticed = !failure.noticed;
            await this.applyZoneFault(id, failure.mode);
            return;
          }
          record.phase = 'running';
          this.startFailures.delete(revision);
          this.startProber(record, started);
        } catch (err) {
          this.noteStartFailure(record, errorMessage(err));
        } finally {
          this.kick();
        }
      })();
    this.track(record.startTask);
  }

  /** A replica that never got to serve: back off before the next create (CrashLoopBackOff). */
  private noteStartFailure(record: ReplicaRecord, reason: string): void {
    record.phase = 'failed';
    record.startError = reason;
    const prev = this.startFailures.get(record.revision)?.count ?? 0;
    const backoff = this.options.crashLoopBackoffMs ?? CRASH_LOOP_BACKOFF_MS;
    this.startFailures.set(record.revision, {
      count: prev + 1,
      nextAllowedMs: this.now() + (backoff[Math.min(prev, backoff.length - 1)] ?? 8000),
    });
    this.record({ t: this.now(), type: 'replica.start-failed', ...this.ref(record), error: reason });
  }

  private async applyZoneFault(replicaId: string, mode: ZoneFailureMode): Promise<void> {
    if (mode === 'crash') await this.runtime.kill(replicaId);
    else await this.runtime.pause(replicaId);
  }

  private startProber(record: ReplicaRecord, started: StartedReplica): void {
    this.probers.get(record.id)?.stop();
    const readiness = (): ReplicaProber => (this.options.prober ?? httpProber)(started, this.spec.template.readiness, (ready, reason) => this.onReadiness(record, ready, reason));
    const startup = this.lifecycleOf(record).startupProbe;
    const prober = startup ? new StartupGate(started.endpoint, startup, readiness, (reason) => this.onStartupProbeFailed(record, reason)) : readiness();
    this.probers.set(record.id, prober);
    prober.start();
  }

  private onReadiness(record: ReplicaRecord, ready: boolean, reason: string): void {
    if (record.phase === 'terminating' || record.phase === 'failed' || record.exit) return;
    const now = this.now();
    if (ready) {
      record.ready = true;
      record.readySinceMs = now;
      record.firstReadyMs ??= now;
      this.record({ t: now, type: 'replica.ready', ...this.ref(record) });
      const started = record.started;
      if (started) {
        this.track(
          this.proxy
            .addEndpoint({ id: record.id, host: started.endpoint.host, port: started.endpoint.port, zone: record.zone, version: record.version })
            .then(() => {
              // It may have become unready or started terminating while the add was in flight.
              if (record.ready && record.phase === 'running') record.routed = true;
              else return this.proxy.removeEndpoint(record.id);
              return undefined;
            }),
        );
      }
    } else {
      record.ready = false;
      record.readySinceMs = null;
      this.record({ t: now, type: 'replica.unready', ...this.ref(record), reason });
      if (record.routed) {
        record.routed = false;
        // Readiness failure only removes it from the endpoints (no restart), as in Kubernetes.
        this.track(this.proxy.drainEndpoint(record.id, this.spec.termination.gracePeriodMs).catch(() => undefined));
      }
    }
    this.kick();
  }

  /**
   * The termination sequence (pod-lifecycle.md#pod-termination), with the endpoint-propagation
   * race of kubernetes/kubernetes#43576 made explicit by `routingLagMs`:
   *   t0            replica marked terminating (not Ready, in no count)
   *   t0+routingLag the proxy takes it out of rotation, waits for its in-flight requests,
   *                 closes its pool from the client side; then its final counters are read
   *   t0+preStop    SIGTERM; SIGKILL at t0+grace (the grace countdown includes preStop)
   * routingLag ≤ preStop (the preStop-sleep remedy, or both 0): we own the proxy too, so SIGTERM
   * waits until the replica has left the proxy and its final counters are read, exactly in the
   * order DESIGN.md gives. routingLag > preStop: Kubernetes without a preStop hook, SIGTERM
   * lands while traffic still arrives, which is what contract rule 2 must survive (the default:
   * it is the case that catches a service that stops serving on SIGTERM).
   */
  private terminate(record: ReplicaRecord, reason: DeleteReason): void {
    record.phase = 'terminating';
    record.deleteReason = reason;
    record.ready = false;
    record.readySinceMs = null;
    const t0 = this.now();
    record.drainingMs = t0;
    this.record({ t: t0, type: 'replica.draining', ...this.ref(record), reason });
    const { preStopMs, gracePeriodMs, routingLagMs } = this.spec.termination;
    const prober = this.probers.get(record.id);

    const unroute = (async () => {
      await delay(routingLagMs);
      if (record.routed) {
        record.routed = false;
        const drained = await this.proxy.drainEndpoint(record.id, gracePeriodMs).catch(() => null);
        this.record({ t: this.now(), type: 'replica.unrouted', ...this.ref(record), inFlightAtRemoval: drained?.inFlightAtRemoval ?? 0 });
      }
      await this.readFinalCounts(record);
    })();

    // Kubernetes gives a replica whose preStop overran the grace period a one-off 2 s after
    // SIGTERM; waiting for the unroute here is our preStop, so the same floor applies.
    const minGraceMs = Math.min(2000, gracePeriodMs);
    const stop = (async () => {
      await delay(preStopMs);
      if (routingLagMs <= preStopMs) await settledWithin(unroute, Math.max(0, gracePeriodMs - minGraceMs - (this.now() - t0)));
      await record.startTask;
      if (!record.started || record.exit) return record.exit;
      const lifecycle = this.lifecycleOf(record);
      // The hook may use what is left of the grace period (the kubelet's rule); the signal then gets at least minGraceMs.
      if (lifecycle.preStop) await this.runPreStopHook(record, lifecycle.preStop, Math.max(0, gracePeriodMs - (this.now() - t0)));
      return this.runtime.stop(record.id, { graceMs: Math.max(minGraceMs, gracePeriodMs - (this.now() - t0)), signal: lifecycle.stopSignal });
    })();

    this.track(
      (async () => {
        const [, exit] = await Promise.all([unroute, stop]);
        prober?.stop();
        this.probers.delete(record.id);
        if (exit) this.markExited(record, exit);
        else {
          record.exitedMs = this.now();
        }
        this.kick();
      })(),
    );
  }

  /** The startup probe gave up: a failed start (crash-loop backoff), and the replica is killed, as the kubelet does. */
  private onStartupProbeFailed(record: ReplicaRecord, reason: string): void {
    if (record.phase !== 'running') return;
    this.noteStartFailure(record, reason);
    this.forget(record, 'unhealthy');
  }

  /** The lifecycle settings of the revision a replica belongs to. */
  private lifecycleOf(record: ReplicaRecord): PodLifecycle {
    return this.replicaSets.find((rs) => rs.revision === record.revision)?.template.lifecycle ?? this.spec.template.lifecycle ?? DEFAULT_LIFECYCLE;
  }

  /** preStop exec/httpGet, bounded by what is left of the grace period; its outcome goes on the timeline (the signal follows either way, as the kubelet does). */
  private async runPreStopHook(record: ReplicaRecord, hook: PreStopHook, timeoutMs: number): Promise<void> {
    const started = record.started;
    if (!started) return;
    const runtime = this.runtime;
    const exec = runtime.exec ? (command: string[], ms: number) => runtime.exec!(record.id, command, ms) : null;
    const outcome = await runPreStop(hook, { endpoint: started.endpoint, exec, timeoutMs });
    this.record({ t: this.now(), type: 'replica.pre-stop', ...this.ref(record), ok: outcome.ok, detail: outcome.detail });
  }

  /** A replica that is gone (crashed, lost with its zone): unroute now, make sure it is dead. */
  private forget(record: ReplicaRecord, reason: DeleteReason): void {
    record.phase = 'terminating';
    record.deleteReason = reason;
    record.ready = false;
    record.readySinceMs = null;
    record.drainingMs ??= this.now();
    this.probers.get(record.id)?.stop();
    this.probers.delete(record.id);
    this.track(
      (async () => {
        await this.proxy.removeEndpoint(record.id).catch(() => undefined);
        record.routed = false;
        if (record.started && !record.exit) {
          const exit = await this.runtime.kill(record.id);
          this.markExited(record, exit);
        } else if (!record.exit) {
          record.exitedMs = this.now();
        }
        this.kick();
      })(),
    );
  }

  private markExited(record: ReplicaRecord, exit: ReplicaExit): void {
    if (record.exitedMs !== null && record.exit) return;
    record.exit = exit;
    record.exitedMs = exit.atMs;
    this.record({ t: exit.atMs, type: 'replica.terminated', ...this.ref(record), exit: exit.kind, code: exit.code, signal: exit.signal });
  }

  private onReplicaExit(exit: ReplicaExit): void {
    const record = this.records.get(exit.replicaId);
    if (!record) return;
    if (record.phase === 'terminating') return; // the termination sequence records it
    if (record.zoneFailedUnnoticed) {
      // Died with its zone: the control plane will notice when the grace period ends.
      record.exit = exit;
      return;
    }
    // An exit nobody asked for: the kubelet reports it at once.
    record.ready = false;
    record.readySinceMs = null;
    if (record.firstReadyMs === null) {
      this.probers.get(record.id)?.stop();
      this.noteStartFailure(record, `exited before it became ready (code ${exit.code}, signal ${exit.signal})`);
    }
    record.phase = 'failed';
    this.markExited(record, exit);
    if (record.routed) {
      record.routed = false;
      this.track(this.proxy.removeEndpoint(record.id).catch(() => undefined));
    }
    this.kick();
  }

  private noticeZoneFailure(zone: string): void {
    const failure = this.zoneFailures.get(zone);
    if (!failure) return;
    failure.noticed = true;
    const now = this.now();
    for (const r of this.records.values()) {
      if (r.zone !== zone || !r.zoneFailedUnnoticed) continue;
      r.zoneFailedUnnoticed = false;
      if (r.ready) {
        r.ready = false;
        r.readySinceMs = null;
        this.record({ t: now, type: 'replica.unready', ...this.ref(r), reason: `zone ${zone} is down (node not ready)` });
      }
      if (r.exit) {
        r.phase = 'failed';
        this.markExited(r, r.exit);
      }
      if (r.routed) {
        r.routed = false;
        this.track(this.proxy.removeEndpoint(r.id).catch(() => undefined));
      }
    }
    this.kick();
  }

  // ---------------------------------------------------------------- rollouts

  private beginRollout(template: PodTemplate): RolloutHandle {
    const existing = this.replicaSets.find((rs) => sameTemplate(rs.template, template));
    const fromVersion = this.desiredRevision === 0 ? null : this.spec.template.version;
    let revision: number;
    if (existing) {
      revision = existing.revision;
    } else {
      revision = Math.max(0, ...this.replicaSets.map((rs) => rs.revision)) + 1;
      this.replicaSets.push({ revision, template, replicas: 0, createdAtMs: this.now() });
      this.gcReplicaSets();
    }
    this.spec = { ...this.spec, template };
    this.desiredRevision = revision;
    if (this.rollout) {
      // Rollover (a new template mid-rollout): the previous rollout is superseded.
      this.rollout.resolve({ outcome: 'superseded', durationMs: this.now() - this.rollout.startedMs, reason: `superseded by revision ${revision}` });
    }
    const now = this.now();
    let resolve!: ActiveRollout['resolve'];
    const done = new Promise<{ outcome: RolloutOutcome; durationMs: number; reason: string | null }>((r) => (resolve = r));
    this.rollout = { revision, version: template.version, startedMs: now, lastProgressMs: now, previous: null, maxUpdated: 0, step: 0, resolve };
    this.progressingCondition = { status: true, reason: existing ? 'FoundNewReplicaSet' : 'NewReplicaSetCreated', message: `revision ${revision}`, lastUpdateMs: now };
    this.record({ t: now, type: 'rollout.started', revision, version: template.version, fromVersion });
    queueMicrotask(() => this.kick());
    return { revision, version: template.version, done };
  }

  private trackRollout(desired: DesiredState, observed: ObservedState): void {
    const rollout = this.rollout;
    if (!rollout) return;
    const now = this.now();
    const status = deploymentStatus(desired, observed);
    // DeploymentProgressing, against the most updated replicas seen in this rollout (hasProgressed).
    const previous = rollout.previous;
    const progressed = previous === null || hasProgressed(previous, status, rollout.maxUpdated);
    rollout.previous = status;
    rollout.maxUpdated = Math.max(rollout.maxUpdated, status.updatedReplicas);
    if (progressed) {
      rollout.lastProgressMs = now;
      const old = status.replicas - status.updatedReplicas;
      this.progressingCondition = { status: true, reason: 'ReplicaSetUpdated', message: `updated ${status.updatedReplicas}, old ${old}, ready ${status.readyReplicas}, available ${status.availableReplicas}`, lastUpdateMs: now };
    }
    if (isRolloutComplete(desired, observed)) {
      this.everAvailable = true;
      this.rollout = null;
      const durationMs = now - rollout.startedMs;
      this.progressingCondition = { status: true, reason: 'NewReplicaSetAvailable', message: `revision ${rollout.revision} complete`, lastUpdateMs: now };
      this.record({ t: now, type: 'rollout.completed', revision: rollout.revision, version: rollout.version, durationMs });
      this.gcReplicaSets();
      rollout.resolve({ outcome: 'complete', durationMs, reason: null });
      return;
    }
    const deadlineMs = this.spec.strategy.progressDeadlineSeconds * 1000;
    if (now - rollout.lastProgressMs > deadlineMs) {
      this.rollout = null;
      const stuck = [...this.records.values()].filter((r) => r.revision === rollout.revision && r.phase !== 'terminating' && !r.ready);
      const why = stuck.slice(0, 3).map((r) => `${r.id}: ${r.startError ?? this.probers.get(r.id)?.lastFailure ?? (r.phase === 'failed' ? 'failed' : 'not Ready')}`);
      const reason = `ProgressDeadlineExceeded: no progress for ${this.spec.strategy.progressDeadlineSeconds}s${why.length ? ` (${why.join('; ')})` : ''}`;
      const first = stuck.find((r) => r.started !== null);
      if (first) {
        // The service's own words are usually the answer (testcontainers shows the log tail too).
        void this.runtime.logs(first.id, 20).then(
          (lines) => lines.length > 0 && this.log(`rollout to ${rollout.version} failed; last log lines of ${first.id}:\n${lines.map((l) => `  ${l}`).join('\n')}`),
          () => undefined,
        );
      }
      this.progressingCondition = { status: false, reason: 'ProgressDeadlineExceeded', message: reason, lastUpdateMs: now };
      this.record({ t: now, type: 'rollout.failed', revision: rollout.revision, version: rollout.version, reason });
      rollout.resolve({ outcome: 'failed', durationMs: now - rollout.startedMs, reason });
      // Kubernetes only reports; rolling back is an explicit action unless the scenario asks for it.
      if (this.spec.strategy.autoRollback && this.replicaSets.length > 1) this.rollback(undefined, true);
    }
  }

  private trackConditions(status: DeploymentStatus): void {
    const minAvailable = this.spec.replicas - this.maxUnavailable();
    const ok = status.availableReplicas >= minAvailable;
    if (ok !== this.availableCondition.status) {
      this.availableCondition = { status: ok, reason: ok ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', lastUpdateMs: this.now() };
    }
  }

  /** MaxUnavailable of the current spec (rounding down, both-0 ⇒ 1: the planner's own arithmetic). */
  private maxUnavailable(): number {
    return fencepostsOf(this.desired()).maxUnavailable;
  }

  /** Back to full strength after a zone failure: on the surviving zones, or in the zone itself if it came back first. */
  private trackRecovery(): void {
    for (const failure of [...this.zoneFailures.values()]) {
      if (failure.recoveredReported || !(failure.noticed || failure.zoneBackUp)) continue;
      const status = this.lastStatus;
      if (status && status.availableReplicas >= this.spec.replicas) {
        failure.recoveredReported = true;
        this.record({ t: this.now(), type: 'workload.recovered', ready: status.readyReplicas, desired: this.spec.replicas, afterMs: this.now() - failure.atMs });
        if (failure.zoneBackUp) this.zoneFailures.delete(failure.zone);
      }
    }
  }

  /** revisionHistoryLimit (sync.go cleanupDeployment): drop empty old ReplicaSets beyond the limit. */
  private gcReplicaSets(): void {
    const old = this.replicaSets
      .filter((rs) => rs.revision !== this.desiredRevision && rs.replicas === 0)
      .sort((a, b) => a.revision - b.revision);
    const excess = old.length - this.spec.revisionHistoryLimit;
    for (let i = 0; i < excess; i++) {
      const rs = old[i];
      if (!rs) continue;
      const hasReplicas = [...this.records.values()].some((r) => r.revision === rs.revision && r.exit === null);
      if (hasReplicas) continue;
      this.replicaSets.splice(this.replicaSets.indexOf(rs), 1);
    }
  }

  // ---------------------------------------------------------------- counters

  /** Reads every live replica's counters now (after the load: exact end-of-run counts). */
  async refreshCounts(): Promise<void> {
    await this.scrapeAll();
  }

  private async scrapeAll(): Promise<void> {
    const reader = this.options.readCounts;
    const path = this.spec.template.metricsPath;
    if (!reader || !path) return;
    // Terminating replicas get exactly one more read: the final one, after they drained.
    const targets = [...this.records.values()].filter((r) => r.started && r.exit === null && r.phase !== 'terminating' && !this.runtimePaused(r));
    await Promise.all(
      targets.map(async (r) => {
        const started = r.started;
        if (!started) return;
        const responses = await reader(started.adminEndpoint ?? started.endpoint, path).catch(() => null);
        if (responses !== null) r.lastScrape = { responses, atMs: this.now() };
      }),
    );
  }

  private async readFinalCounts(record: ReplicaRecord): Promise<void> {
    const reader = this.options.readCounts;
    const path = this.spec.template.metricsPath;
    const started = record.started;
    if (!reader || !path || !started) return;
    const responses = await reader(started.adminEndpoint ?? started.endpoint, path, true).catch(() => null);
    if (responses !== null) record.final = { responses, atMs: this.now() };
    this.record({ t: this.now(), type: 'replica.final-counts', ...this.ref(record), ok: responses !== null, responses });
  }

  private runtimePaused(record: ReplicaRecord): boolean {
    try {
      return this.runtime.inspect(record.id).state === 'paused';
    } catch {
      return true;
    }
  }

  // ---------------------------------------------------------------- helpers

  private record(event: TimelineEvent): void {
    this.events.push(event);
    this.emit('event', event);
  }

  private ref(r: ReplicaRecord): { replica: string; zone: string; version: string; revision: number } {
    return { replica: r.id, zone: r.zone, version: r.version, revision: r.revision };
  }

  private zoneState(zone: string): ZoneState {
    const state = this.zones.find((z) => z.name === zone);
    if (!state) {
      throw new ZerodropError('ZD_BAD_USAGE', `no zone "${zone}"`, { fix: `zones are: ${this.zones.map((z) => z.name).join(', ')}` });
    }
    return state;
  }

  private track(p: Promise<unknown>): void {
    const guarded = p.catch((err: unknown) => this.log(`background action failed: ${errorMessage(err)}`));
    this.background.add(guarded);
    void guarded.finally(() => this.background.delete(guarded));
  }

  private stopTimers(): void {
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.scrapeTimer) clearInterval(this.scrapeTimer);
    this.resyncTimer = null;
    this.scrapeTimer = null;
  }

  private now(): number {
    return this.clock.now();
  }

  private log(line: string): void {
    this.options.log?.(line);
  }
}

/** A breach event names replicas that crashed this long ago or less among the ones short. */
const RECENT_CRASH_MS = 10_000;

function sameTemplate(a: PodTemplate, b: PodTemplate): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function delay(ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export { monotonicMs };
