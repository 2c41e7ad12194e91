/**
 * The Deployment + ReplicaSet controller: the reconcile loop. Each pass observes, asks the pure
 * planner for the next safe step (planner/plan.ts), and applies it; the kubelet (kubelet.ts)
 * starts, probes and terminates replicas, zones.ts injects and notices zone failures, counters.ts
 * scrapes the replicas' counters.
 *
 * State changes are applied synchronously (a replica is "starting" or "terminating" the moment
 * the action is taken), the slow parts (process start, drain, SIGTERM, grace) run in the
 * background and trigger another pass when they finish. Every change lands on the timeline.
 * Every timer runs on the injected clock.
 */
import { EventEmitter } from 'node:events';
import { delay, type Timer } from '../../../common/src/clock.js';
import { ZerodropError, errorMessage } from '../../../common/src/errors.js';
import { planStep } from '../planner/plan.js';
import { checkInvariants, deploymentStatus, fencepostsOf, hasProgressed, isRolloutComplete, progressDeadlineExceeded, wouldBreach } from '../planner/status.js';
import type { DeploymentStatus, DesiredState, ObservedReplica, ObservedState, PlannedAction } from '../planner/types.js';
import type { DeploymentSpec, PodTemplate } from '../spec.js';
import type { InvariantName, TimelineEvent, ZoneFailureMode } from '../timeline.js';
import { ControllerContext } from './context.js';
import { CounterScraper } from './counters.js';
import { Kubelet } from './kubelet.js';
import type { ActiveRollout, ControllerOptions, ControllerView, ReplicaRecord, RolloutHandle, RolloutResult } from './types.js';
import { controllerView } from './view.js';
import { ZoneLifecycle } from './zones.js';

export class DeploymentController extends EventEmitter {
  private readonly ctx: ControllerContext;
  private readonly counters: CounterScraper;
  private readonly kubelet: Kubelet;
  private readonly zoneLifecycle: ZoneLifecycle;
  /** Bounds currently broken (one invariant.breach event per episode), and whether the first rollout completed. */
  private readonly breached = new Set<InvariantName>();
  private everAvailable = false;
  /** A scale-up moved the availability floor: below it until the new replicas are up, through no fault of ours. */
  private scaleUpPending = false;
  /** A scale-down moved the ceiling: above it until the next pass has retired the excess. */
  private scaleDownPending = false;
  private desiredRevision = 0;
  private rollout: ActiveRollout | null = null;
  private reconciling = false;
  private dirty = false;
  private resyncTimer: Timer | null = null;
  private unsubscribeExit: (() => void) | null = null;
  private lastStatus: DeploymentStatus | null = null;
  private lastNotes = '';
  private availableCondition = { status: false, reason: 'MinimumReplicasUnavailable', lastUpdateMs: 0 };
  private progressingCondition = { status: true, reason: 'NewReplicaSetCreated', message: '', lastUpdateMs: 0 };

  constructor(options: ControllerOptions) {
    super();
    this.ctx = new ControllerContext(
      options,
      (event) => this.emit('event', event),
      () => this.kick(),
    );
    this.counters = new CounterScraper(this.ctx);
    this.kubelet = new Kubelet(this.ctx, this.counters);
    this.zoneLifecycle = new ZoneLifecycle(this.ctx, this.kubelet);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Creates revision 1 and waits until every replica is available (or the progress deadline). */
  async start(): Promise<void> {
    await this.ctx.runtime.prepare(this.ctx.runId);
    this.unsubscribeExit = this.ctx.runtime.onExit((exit) => this.kubelet.onReplicaExit(exit));
    const first = this.beginRollout(this.ctx.spec.template);
    // Not unref'd: a running controller keeps its process alive (backoffs and deadlines are
    // acted on by this resync); close() and destroy() clear it.
    this.resyncTimer = this.ctx.clock.every(this.ctx.options.resyncIntervalMs ?? 200, () => this.kick());
    this.counters.start();
    const result = await Promise.race([first.done, this.crashLoop()]);
    if (result.outcome !== 'complete') {
      const failing = [...this.ctx.records.values()].filter((r) => r.startError !== null || (!r.ready && r.phase !== 'terminating'));
      const logs = failing[0] ? await this.ctx.runtime.logs(failing[0].id, 20).catch(() => []) : [];
      const startFailed = failing.some((r) => r.startError !== null);
      throw new ZerodropError(
        startFailed ? 'ZD_REPLICA_START_FAILED' : 'ZD_REPLICA_NOT_READY',
        `deployment ${this.ctx.spec.name} never became available: ${result.reason ?? result.outcome}`,
        {
          details: [
            ...failing.slice(0, 3).map((r) => `replica ${r.id}: ${r.startError ?? this.ctx.probers.get(r.id)?.lastFailure ?? 'not ready'}`),
            ...(logs.length ? [`last log lines of ${failing[0]?.id}:`, ...logs.map((l) => `  ${l}`)] : []),
          ],
          fix: startFailed
            ? 'the replica exits before it is listening: its own log lines above say why (bad flags, a missing file, a port in use)'
            : `check that the replica answers ${this.ctx.spec.template.readiness.path} with 200 once it can serve`,
        },
      );
    }
  }

  /**
   * Resolves as a failed rollout once replicas have failed to start 3 times with none ever
   * becoming Ready: a replica that exits at once (bad flags, a missing file) would otherwise be
   * retried until the progress deadline.
   */
  private crashLoop(): Promise<RolloutResult> {
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
    if (this.ctx.closed) return;
    this.ctx.closed = true;
    this.stopTimers();
    this.zoneLifecycle.close();
    const live = [...this.ctx.records.values()].filter((r) => r.phase !== 'terminating' && r.exit === null);
    for (const r of live) this.kubelet.terminate(r, 'shutdown');
    await this.ctx.settle();
    // Every replica has exited; the runtime releases the rest (docker: removes the containers,
    // including ones a zone crash killed, and reaps dead runs) before close() resolves.
    await this.ctx.runtime.close(this.ctx.spec.termination.gracePeriodMs);
    this.unsubscribeExit?.();
  }

  /**
   * Waits until every replica retired by a rollout or a scale-down has exited, each at most until
   * its grace period (from its draining) has run out plus `marginMs`: the load may end while one
   * is still draining, and it is judged on how it exits (orchestrator.graceful-exits).
   */
  async awaitRetiredExits(marginMs = 1000): Promise<void> {
    const { gracePeriodMs } = this.ctx.spec.termination;
    for (;;) {
      const pending = [...this.ctx.records.values()].filter(
        (r) => (r.deleteReason === 'rollout' || r.deleteReason === 'scale-down') && r.exitedMs === null && r.started !== null && r.drainingMs !== null,
      );
      const deadline = Math.max(0, ...pending.map((r) => (r.drainingMs ?? 0) + gracePeriodMs + marginMs));
      if (pending.length === 0 || this.ctx.now() >= deadline) return;
      await delay(Math.min(50, deadline - this.ctx.now()), this.ctx.clock);
    }
  }

  /** Kills everything now. */
  async destroy(): Promise<void> {
    this.ctx.closed = true;
    this.stopTimers();
    for (const prober of this.ctx.probers.values()) prober.stop();
    await this.ctx.runtime.destroy();
    this.unsubscribeExit?.();
  }

  /** Waits for every background action (starts, terminations) to finish. */
  settle(): Promise<void> {
    return this.ctx.settle();
  }

  // ---------------------------------------------------------------- operations

  /** Rolls out a new template (new revision), e.g. { version: 'v2' }. */
  rolloutTo(patch: Partial<PodTemplate>): RolloutHandle {
    const template: PodTemplate = { ...this.ctx.spec.template, ...patch };
    return this.beginRollout(template);
  }

  /** Rolls back to a revision (default: the one before the current). Explicit, as in Kubernetes. */
  rollback(toRevision?: number, automatic = false): RolloutHandle {
    const target =
      toRevision === undefined
        ? [...this.ctx.replicaSets].filter((rs) => rs.revision !== this.desiredRevision).sort((a, b) => b.revision - a.revision)[0]
        : this.ctx.replicaSets.find((rs) => rs.revision === toRevision);
    if (!target) {
      throw new ZerodropError('ZD_BAD_USAGE', `no revision ${toRevision ?? '(previous)'} to roll back to`, {
        fix: `revisions known: ${this.ctx.replicaSets.map((rs) => rs.revision).join(', ')}`,
      });
    }
    this.ctx.record({ t: this.ctx.now(), type: 'rollback.started', toRevision: target.revision, version: target.template.version, automatic });
    return this.beginRollout(target.template);
  }

  scale(replicas: number): void {
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new ZerodropError('ZD_BAD_USAGE', `replicas must be a whole number ≥ 0, got ${replicas}`);
    }
    const from = this.ctx.spec.replicas;
    this.ctx.spec = { ...this.ctx.spec, replicas };
    if (replicas > from) this.scaleUpPending = true;
    if (replicas < from) this.scaleDownPending = true;
    this.ctx.record({ t: this.ctx.now(), type: 'deployment.scaled', from, to: replicas });
    this.kick();
  }

  /** Injects a zone failure: crash = SIGKILL every replica in it, hang = freeze them. */
  failZone(zone: string, mode: ZoneFailureMode): Promise<void> {
    return this.zoneLifecycle.failZone(zone, mode);
  }

  recoverZone(zone: string): Promise<void> {
    return this.zoneLifecycle.recoverZone(zone);
  }

  // ---------------------------------------------------------------- views

  get timeline(): readonly TimelineEvent[] {
    return this.ctx.events;
  }

  get currentRevision(): number {
    return this.desiredRevision;
  }

  get rolloutInProgress(): boolean {
    return this.rollout !== null;
  }

  get allReplicas(): readonly ReplicaRecord[] {
    return [...this.ctx.records.values()];
  }

  get deploymentSpec(): DeploymentSpec {
    return this.ctx.spec;
  }

  view(): ControllerView {
    const status = this.lastStatus ?? deploymentStatus(this.desired(), this.observe());
    return controllerView(this.ctx, {
      status,
      revision: this.desiredRevision,
      conditions: [
        { type: 'Available', ...this.availableCondition, message: `${status.availableReplicas}/${this.ctx.spec.replicas} available` },
        { type: 'Progressing', ...this.progressingCondition },
      ],
      rolloutInProgress: this.rollout !== null,
    });
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
      const timer = this.ctx.clock.after(timeoutMs, () => {
        cleanup();
        reject(new ZerodropError('ZD_ROLLOUT_FAILED', `timed out after ${timeoutMs} ms waiting for ${what}`));
      });
      const poll = this.ctx.clock.every(50, check);
      const cleanup = (): void => {
        timer.cancel();
        poll.cancel();
        this.off('event', check);
      };
      this.on('event', check);
      check();
    });
  }

  // ---------------------------------------------------------------- reconcile

  private kick(): void {
    if (this.ctx.closed) return;
    if (this.reconciling) {
      this.dirty = true;
      return;
    }
    this.reconciling = true;
    try {
      this.reconcileOnce();
    } catch (err) {
      this.ctx.log(`reconcile failed: ${errorMessage(err)}`);
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
    const { actions, status, notes } = planStep(desired, observed);
    this.lastStatus = status;
    this.logNotes(notes);
    this.trackConditions(status);
    // Checked at every step: a step may never take the deployment below replicas − maxUnavailable
    // available or above replicas + maxSurge in total (or further past a bound an outage broke).
    // A zone outage may break them by itself; the planner may not.
    for (const breach of wouldBreach(desired, observed, actions)) {
      this.ctx.record({ t: this.ctx.now(), type: 'invariant.breach', ...breach, detail: `planner: ${breach.detail}` });
    }
    for (const action of actions) this.apply(action);
    const after = this.observe();
    this.checkObservedInvariants(desired, after);
    this.trackRollout(desired, after);
    this.zoneLifecycle.trackRecovery(this.lastStatus);
  }

  /** What the planner held back or could not place, logged when it changes (not every pass). */
  private logNotes(notes: readonly string[]): void {
    const joined = notes.join('\n');
    if (joined === this.lastNotes) return;
    this.lastNotes = joined;
    for (const note of notes) this.ctx.log(`planner: ${note}`);
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
    const floor = this.ctx.spec.replicas - maxUnavailable;
    const ceiling = this.ctx.spec.replicas + maxSurge;
    if (status.availableReplicas >= floor) this.scaleUpPending = false;
    if (status.replicas <= ceiling) this.scaleDownPending = false;
    // The bounds are rollout guarantees (rolling.go): judged while a rollout is under way, and
    // not while an outage or a resize has moved them.
    const exempt = this.rollout === null || !this.everAvailable || this.ctx.zoneFailures.size > 0 || this.ctx.zones.some((z) => !z.up);
    const found = exempt
      ? []
      : checkInvariants(desired, observed).filter(
          (b) => !(b.invariant === 'min-available' && this.scaleUpPending) && !(b.invariant === 'max-total' && this.scaleDownPending),
        );
    const now = new Set(found.map((b) => b.invariant));
    for (const b of found) {
      if (this.breached.has(b.invariant)) continue;
      const who = [...this.ctx.records.values()]
        .filter(
          (r) =>
            ((r.phase === 'running' || r.phase === 'starting') && !r.ready) ||
            (r.phase === 'failed' && r.exitedMs !== null && this.ctx.now() - r.exitedMs < RECENT_CRASH_MS),
        )
        .slice(0, 6)
        .map((r) => `${r.id} (${r.phase === 'failed' ? 'crashed' : r.phase === 'starting' ? 'starting' : 'not Ready'})`);
      this.ctx.record({ t: this.ctx.now(), type: 'invariant.breach', ...b, detail: `${b.detail}${who.length ? `; not available: ${who.join(', ')}` : ''}` });
    }
    for (const name of [...this.breached]) if (!now.has(name)) this.breached.delete(name);
    for (const name of now) this.breached.add(name);
  }

  private desired(): DesiredState {
    return { spec: this.ctx.spec, revision: this.desiredRevision };
  }

  private observe(): ObservedState {
    const replicas: ObservedReplica[] = [];
    for (const r of this.ctx.records.values()) {
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
    return { nowMs: this.ctx.now(), replicaSets: this.ctx.replicaSets.map((rs) => ({ ...rs })), replicas, zones: this.ctx.zones.map((z) => ({ ...z })) };
  }

  private apply(action: PlannedAction): void {
    switch (action.type) {
      case 'create-replicaset': {
        // beginRollout creates the ReplicaSet record itself; only its size can be new here.
        const rs = this.ctx.replicaSets.find((s) => s.revision === action.revision);
        if (rs) rs.replicas = action.replicas;
        return;
      }
      case 'scale-replicaset': {
        const rs = this.ctx.replicaSets.find((s) => s.revision === action.revision);
        if (!rs) return;
        rs.replicas = action.to;
        const step = this.rollout ? ++this.rollout.step : 0;
        this.ctx.record({
          t: this.ctx.now(),
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
        const backoff = this.ctx.startFailures.get(action.revision);
        if (backoff && this.ctx.now() < backoff.nextAllowedMs) return; // crash-loop backoff
        this.kubelet.createReplica(action.revision, action.zone);
        return;
      }
      case 'delete-replica': {
        const r = this.ctx.records.get(action.replicaId);
        if (!r || r.phase === 'terminating') return;
        if (action.reason === 'lost' || r.phase === 'failed' || r.exit !== null) this.kubelet.forget(r, action.reason);
        else this.kubelet.terminate(r, action.reason);
        return;
      }
    }
  }

  // ---------------------------------------------------------------- rollouts

  private beginRollout(template: PodTemplate): RolloutHandle {
    const existing = this.ctx.replicaSets.find((rs) => sameTemplate(rs.template, template));
    const fromVersion = this.desiredRevision === 0 ? null : this.ctx.spec.template.version;
    let revision: number;
    if (existing) {
      revision = existing.revision;
    } else {
      revision = Math.max(0, ...this.ctx.replicaSets.map((rs) => rs.revision)) + 1;
      this.ctx.replicaSets.push({ revision, template, replicas: 0, createdAtMs: this.ctx.now() });
      this.gcReplicaSets();
    }
    this.ctx.spec = { ...this.ctx.spec, template };
    this.desiredRevision = revision;
    if (this.rollout) {
      // Rollover (a new template mid-rollout): the previous rollout is superseded.
      this.rollout.resolve({ outcome: 'superseded', durationMs: this.ctx.now() - this.rollout.startedMs, reason: `superseded by revision ${revision}` });
    }
    const now = this.ctx.now();
    let resolve!: ActiveRollout['resolve'];
    const done = new Promise<RolloutResult>((r) => (resolve = r));
    this.rollout = { revision, version: template.version, startedMs: now, lastProgressMs: now, previous: null, maxUpdated: 0, step: 0, resolve };
    this.progressingCondition = {
      status: true,
      reason: existing ? 'FoundNewReplicaSet' : 'NewReplicaSetCreated',
      message: `revision ${revision}`,
      lastUpdateMs: now,
    };
    this.ctx.record({ t: now, type: 'rollout.started', revision, version: template.version, fromVersion });
    queueMicrotask(() => this.kick());
    return { revision, version: template.version, done };
  }

  private trackRollout(desired: DesiredState, observed: ObservedState): void {
    const rollout = this.rollout;
    if (!rollout) return;
    const now = this.ctx.now();
    const status = deploymentStatus(desired, observed);
    // DeploymentProgressing, against the most updated replicas seen in this rollout (hasProgressed).
    const previous = rollout.previous;
    const progressed = previous === null || hasProgressed(previous, status, rollout.maxUpdated);
    rollout.previous = status;
    rollout.maxUpdated = Math.max(rollout.maxUpdated, status.updatedReplicas);
    if (progressed) {
      rollout.lastProgressMs = now;
      const old = status.replicas - status.updatedReplicas;
      this.progressingCondition = {
        status: true,
        reason: 'ReplicaSetUpdated',
        message: `updated ${status.updatedReplicas}, old ${old}, ready ${status.readyReplicas}, available ${status.availableReplicas}`,
        lastUpdateMs: now,
      };
    }
    if (isRolloutComplete(desired, observed)) {
      this.everAvailable = true;
      this.rollout = null;
      const durationMs = now - rollout.startedMs;
      this.progressingCondition = { status: true, reason: 'NewReplicaSetAvailable', message: `revision ${rollout.revision} complete`, lastUpdateMs: now };
      this.ctx.record({ t: now, type: 'rollout.completed', revision: rollout.revision, version: rollout.version, durationMs });
      this.gcReplicaSets();
      rollout.resolve({ outcome: 'complete', durationMs, reason: null });
      return;
    }
    if (progressDeadlineExceeded(rollout.lastProgressMs, now, this.ctx.spec.strategy.progressDeadlineSeconds)) {
      this.rollout = null;
      const stuck = [...this.ctx.records.values()].filter((r) => r.revision === rollout.revision && r.phase !== 'terminating' && !r.ready);
      const why = stuck
        .slice(0, 3)
        .map((r) => `${r.id}: ${r.startError ?? this.ctx.probers.get(r.id)?.lastFailure ?? (r.phase === 'failed' ? 'failed' : 'not Ready')}`);
      const reason = `ProgressDeadlineExceeded: no progress for ${this.ctx.spec.strategy.progressDeadlineSeconds}s${why.length ? ` (${why.join('; ')})` : ''}`;
      const first = stuck.find((r) => r.started !== null);
      if (first) {
        // The service's own words are usually the answer (testcontainers shows the log tail too).
        void this.ctx.runtime.logs(first.id, 20).then(
          (lines) =>
            lines.length > 0 && this.ctx.log(`rollout to ${rollout.version} failed; last log lines of ${first.id}:\n${lines.map((l) => `  ${l}`).join('\n')}`),
          () => undefined,
        );
      }
      this.progressingCondition = { status: false, reason: 'ProgressDeadlineExceeded', message: reason, lastUpdateMs: now };
      this.ctx.record({ t: now, type: 'rollout.failed', revision: rollout.revision, version: rollout.version, reason });
      rollout.resolve({ outcome: 'failed', durationMs: now - rollout.startedMs, reason });
      // Kubernetes only reports; rolling back is an explicit action unless the scenario asks for it.
      if (this.ctx.spec.strategy.autoRollback && this.ctx.replicaSets.length > 1) this.rollback(undefined, true);
    }
  }

  private trackConditions(status: DeploymentStatus): void {
    const minAvailable = this.ctx.spec.replicas - this.maxUnavailable();
    const ok = status.availableReplicas >= minAvailable;
    if (ok !== this.availableCondition.status) {
      this.availableCondition = { status: ok, reason: ok ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', lastUpdateMs: this.ctx.now() };
    }
  }

  /** MaxUnavailable of the current spec (rounding down, both-0 ⇒ 1: the planner's own arithmetic). */
  private maxUnavailable(): number {
    return fencepostsOf(this.desired()).maxUnavailable;
  }

  /** revisionHistoryLimit (sync.go cleanupDeployment): drop empty old ReplicaSets beyond the limit. */
  private gcReplicaSets(): void {
    const old = this.ctx.replicaSets.filter((rs) => rs.revision !== this.desiredRevision && rs.replicas === 0).sort((a, b) => a.revision - b.revision);
    const excess = old.length - this.ctx.spec.revisionHistoryLimit;
    for (let i = 0; i < excess; i++) {
      const rs = old[i];
      if (!rs) continue;
      const hasReplicas = [...this.ctx.records.values()].some((r) => r.revision === rs.revision && r.exit === null);
      if (hasReplicas) continue;
      this.ctx.replicaSets.splice(this.ctx.replicaSets.indexOf(rs), 1);
    }
  }

  // ---------------------------------------------------------------- counters

  /** Reads every live replica's counters now (after the load: exact end-of-run counts). */
  async refreshCounts(): Promise<void> {
    await this.counters.scrapeAll();
  }

  // ---------------------------------------------------------------- helpers

  private stopTimers(): void {
    this.resyncTimer?.cancel();
    this.resyncTimer = null;
    this.counters.stop();
  }
}

/** A breach event names replicas that crashed this long ago or less among the ones short. */
const RECENT_CRASH_MS = 10_000;

function sameTemplate(a: PodTemplate, b: PodTemplate): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
