/**
 * The kubelet: starts replicas (CrashLoopBackOff between failed starts), probes their readiness
 * and routes them while Ready, reports exits nobody asked for, and runs the termination sequence
 * (unroute after routingLag, final counter read, preStop, SIGTERM, grace, SIGKILL) on the clock.
 */
import { settledWithin } from '../../../common/src/async.js';
import { delay } from '../../../common/src/clock.js';
import { errorMessage } from '../../../common/src/errors.js';
import { runPreStop } from '../lifecycle/pre-stop.js';
import { alongside, LivenessProbe } from '../lifecycle/liveness-probe.js';
import { StartupGate } from '../lifecycle/startup-probe.js';
import { DEFAULT_LIFECYCLE, type PodLifecycle, type PreStopHook } from '../lifecycle/types.js';
import { ReadinessProber } from '../probe.js';
import type { ReplicaExit, StartedReplica } from '../runtime/types.js';
import type { DeleteReason, ZoneFailureMode } from '../timeline.js';
import type { ControllerContext } from './context.js';
import type { CounterScraper } from './counters.js';
import type { ProberFactory, ReplicaProber, ReplicaRecord } from './types.js';

const httpProber: ProberFactory = (replica, spec, onChange) => new ReadinessProber(replica.endpoint, spec, onChange);

const CRASH_LOOP_BACKOFF_MS = [500, 1000, 2000, 4000, 8000];

export class Kubelet {
  private seq = 0;
  /** Liveness restarts owed, by `${revision}/${zone}`: the next replica created there is the restart. */
  private readonly restartsOwed = new Map<string, number>();

  constructor(
    private readonly ctx: ControllerContext,
    private readonly counters: CounterScraper,
  ) {}

  createReplica(revision: number, zone: string): void {
    const rs = this.ctx.replicaSets.find((s) => s.revision === revision);
    if (!rs) return;
    const seq = ++this.seq;
    const id = `${this.ctx.spec.name}-${rs.template.version}-${zone}-${seq}`;
    const slot = `${revision}/${zone}`;
    const restarts = this.restartsOwed.get(slot) ?? 0;
    this.restartsOwed.delete(slot);
    const record: ReplicaRecord = {
      id,
      seq,
      revision,
      version: rs.template.version,
      zone,
      phase: 'starting',
      ready: false,
      readySinceMs: null,
      createdAtMs: this.ctx.now(),
      started: null,
      startTask: Promise.resolve(),
      routed: false,
      deleteReason: null,
      firstReadyMs: null,
      drainingMs: null,
      unroutedMs: null,
      sigtermMs: null,
      exitedMs: null,
      exit: null,
      startError: null,
      readyCost: null,
      lastScrape: null,
      final: null,
      zoneFailedUnnoticed: false,
      restarts,
    };
    this.ctx.records.set(id, record);
    record.startTask = (async () => {
      try {
        const started = await this.ctx.runtime.start({
          runId: this.ctx.runId,
          replicaId: id,
          deployment: this.ctx.spec.name,
          zone,
          revision,
          template: rs.template,
          resources: this.ctx.spec.resources,
        });
        record.started = started;
        this.ctx.record({ t: this.ctx.now(), type: 'replica.started', ...this.ctx.ref(record), endpoint: `${started.endpoint.host}:${started.endpoint.port}` });
        if (record.phase === 'terminating' || this.ctx.closed) return; // terminate() stops it
        const failure = this.ctx.zoneFailures.get(zone);
        if (!this.ctx.zoneState(zone).up && failure) {
          // Started in a zone that failed meanwhile: it goes down with the zone.
          record.zoneFailedUnnoticed = !failure.noticed;
          await this.applyZoneFault(id, failure.mode);
          return;
        }
        record.phase = 'running';
        this.ctx.startFailures.delete(revision);
        this.startProber(record, started);
      } catch (err) {
        this.noteStartFailure(record, errorMessage(err));
      } finally {
        this.ctx.kick();
      }
    })();
    this.ctx.track(record.startTask);
  }

  /** A replica that never got to serve: back off before the next create (CrashLoopBackOff). */
  private noteStartFailure(record: ReplicaRecord, reason: string): void {
    record.phase = 'failed';
    record.startError = reason;
    const prev = this.ctx.startFailures.get(record.revision)?.count ?? 0;
    const backoff = this.ctx.options.crashLoopBackoffMs ?? CRASH_LOOP_BACKOFF_MS;
    this.ctx.startFailures.set(record.revision, {
      count: prev + 1,
      nextAllowedMs: this.ctx.now() + (backoff[Math.min(prev, backoff.length - 1)] ?? 8000),
    });
    this.ctx.record({ t: this.ctx.now(), type: 'replica.start-failed', ...this.ctx.ref(record), error: reason });
  }

  async applyZoneFault(replicaId: string, mode: ZoneFailureMode): Promise<void> {
    if (mode === 'crash') await this.ctx.runtime.kill(replicaId);
    else await this.ctx.runtime.pause(replicaId);
  }

  startProber(record: ReplicaRecord, started: StartedReplica): void {
    this.ctx.probers.get(record.id)?.stop();
    const { startupProbe: startup, livenessProbe } = this.lifecycleOf(record);
    // Liveness is probed alongside readiness, once the startup probe (if any) has succeeded.
    const readiness = (): ReplicaProber =>
      alongside(
        (this.ctx.options.prober ?? httpProber)(started, this.ctx.spec.template.readiness, (ready, reason) => this.onReadiness(record, ready, reason)),
        livenessProbe ? new LivenessProbe(started.endpoint, livenessProbe, (reason) => this.onLivenessFailed(record, reason)) : null,
      );
    const prober = startup ? new StartupGate(started.endpoint, startup, readiness, (reason) => this.onStartupProbeFailed(record, reason)) : readiness();
    this.ctx.probers.set(record.id, prober);
    prober.start();
  }

  private onReadiness(record: ReplicaRecord, ready: boolean, reason: string): void {
    if (record.phase === 'terminating' || record.phase === 'failed' || record.exit) return;
    const now = this.ctx.now();
    if (ready) {
      record.ready = true;
      record.readySinceMs = now;
      if (record.firstReadyMs === null) {
        record.firstReadyMs = now;
        this.onFirstReady(record);
      }
      this.ctx.record({ t: now, type: 'replica.ready', ...this.ctx.ref(record) });
      const started = record.started;
      if (started) {
        this.ctx.track(
          this.ctx.proxy
            .addEndpoint({ id: record.id, host: started.endpoint.host, port: started.endpoint.port, zone: record.zone, version: record.version })
            .then(() => {
              // It may have become unready or started terminating while the add was in flight.
              if (!(record.ready && record.phase === 'running')) return this.ctx.proxy.removeEndpoint(record.id);
              record.routed = true;
              const routedAt = this.ctx.now();
              this.ctx.record({ t: routedAt, type: 'replica.routed', ...this.ctx.ref(record), applyLagMs: Math.max(0, routedAt - now) });
              return undefined;
            }),
        );
      }
    } else {
      record.ready = false;
      record.readySinceMs = null;
      this.ctx.record({ t: now, type: 'replica.unready', ...this.ctx.ref(record), reason });
      if (record.routed) {
        record.routed = false;
        // Readiness failure only removes it from the endpoints (no restart), as in Kubernetes.
        this.ctx.track(this.ctx.proxy.drainEndpoint(record.id, this.ctx.spec.termination.gracePeriodMs).catch(() => undefined));
      }
    }
    this.ctx.kick();
  }

  /** The runtime hears of it (a booting replica's CPU weight is raised) and reports the boot's CPU. */
  private onFirstReady(record: ReplicaRecord): void {
    const becameReady = this.ctx.runtime.becameReady?.bind(this.ctx.runtime);
    if (!becameReady) return;
    this.ctx.track(
      becameReady(record.id)
        .then((cost) => {
          record.readyCost = cost;
        })
        .catch((err: unknown) => this.ctx.log(`replica ${record.id}: raising it to the serving CPU weight failed: ${errorMessage(err)}`)),
    );
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
   * order docs/architecture.md's contract gives. routingLag > preStop: Kubernetes without a preStop hook, SIGTERM
   * lands while traffic still arrives, which is what contract rule 2 must survive (the default:
   * it is the case that catches a service that stops serving on SIGTERM).
   */
  terminate(record: ReplicaRecord, reason: DeleteReason): void {
    record.phase = 'terminating';
    record.deleteReason = reason;
    record.ready = false;
    record.readySinceMs = null;
    const t0 = this.ctx.now();
    record.drainingMs = t0;
    this.ctx.record({ t: t0, type: 'replica.draining', ...this.ctx.ref(record), reason });
    const { preStopMs, gracePeriodMs, routingLagMs } = this.ctx.spec.termination;
    const prober = this.ctx.probers.get(record.id);

    const unroute = (async () => {
      await delay(routingLagMs, this.ctx.clock);
      if (record.routed) {
        record.routed = false;
        const asked = (record.unroutedMs = this.ctx.now());
        const drained = await this.ctx.proxy.drainEndpoint(record.id, gracePeriodMs).catch(() => null);
        const applyLagMs = drained?.unroutedAt === undefined ? null : Math.max(0, drained.unroutedAt - asked);
        this.ctx.record({
          t: this.ctx.now(),
          type: 'replica.unrouted',
          ...this.ctx.ref(record),
          inFlightAtRemoval: drained?.inFlightAtRemoval ?? 0,
          applyLagMs,
        });
      }
      await this.counters.readFinalCounts(record);
    })();

    // Kubernetes gives a replica whose preStop overran the grace period a one-off 2 s after
    // SIGTERM; waiting for the unroute here is our preStop, so the same floor applies.
    const minGraceMs = Math.min(2000, gracePeriodMs);
    const stop = (async () => {
      await delay(preStopMs, this.ctx.clock);
      if (routingLagMs <= preStopMs) await settledWithin(unroute, Math.max(0, gracePeriodMs - minGraceMs - (this.ctx.now() - t0)), this.ctx.clock);
      await record.startTask;
      if (!record.started || record.exit) return record.exit;
      const lifecycle = this.lifecycleOf(record);
      // The hook may use what is left of the grace period (the kubelet's rule); the signal then gets at least minGraceMs.
      if (lifecycle.preStop) await this.runPreStopHook(record, lifecycle.preStop, Math.max(0, gracePeriodMs - (this.ctx.now() - t0)));
      record.sigtermMs = this.ctx.now();
      return this.ctx.runtime.stop(record.id, { graceMs: Math.max(minGraceMs, gracePeriodMs - (this.ctx.now() - t0)), signal: lifecycle.stopSignal });
    })();

    this.ctx.track(
      (async () => {
        const [, exit] = await Promise.all([unroute, stop]);
        prober?.stop();
        this.ctx.probers.delete(record.id);
        if (exit) this.markExited(record, exit);
        else {
          record.exitedMs = this.ctx.now();
        }
        this.ctx.kick();
      })(),
    );
  }

  /** The startup probe gave up: a failed start (crash-loop backoff), and the replica is killed, as the kubelet does. */
  private onStartupProbeFailed(record: ReplicaRecord, reason: string): void {
    if (record.phase !== 'running') return;
    this.noteStartFailure(record, reason);
    this.forget(record, 'unhealthy');
  }

  /**
   * The liveness probe gave up: the kubelet restarts the replica. It leaves the endpoints and is
   * terminated with its grace period (preStop, stop signal, SIGKILL at the end of the grace); the
   * ReplicaSet's next replica in its zone is the restart, with the restart count + 1.
   */
  private onLivenessFailed(record: ReplicaRecord, reason: string): void {
    if (record.phase !== 'running' || record.exit || this.ctx.closed) return;
    this.ctx.record({ t: this.ctx.now(), type: 'replica.unready', ...this.ctx.ref(record), reason: `${reason}: restarting it` });
    this.restartsOwed.set(`${record.revision}/${record.zone}`, record.restarts + 1);
    this.terminate(record, 'unhealthy');
    this.ctx.kick();
  }

  /** The lifecycle settings of the revision a replica belongs to. */
  private lifecycleOf(record: ReplicaRecord): PodLifecycle {
    return this.ctx.replicaSets.find((rs) => rs.revision === record.revision)?.template.lifecycle ?? this.ctx.spec.template.lifecycle ?? DEFAULT_LIFECYCLE;
  }

  /** preStop exec/httpGet, bounded by what is left of the grace period; its outcome goes on the timeline (the signal follows either way, as the kubelet does). */
  private async runPreStopHook(record: ReplicaRecord, hook: PreStopHook, timeoutMs: number): Promise<void> {
    const started = record.started;
    if (!started) return;
    const runtime = this.ctx.runtime;
    const exec = runtime.exec ? (command: string[], ms: number) => runtime.exec!(record.id, command, ms) : null;
    const outcome = await runPreStop(hook, { endpoint: started.endpoint, exec, timeoutMs });
    this.ctx.record({ t: this.ctx.now(), type: 'replica.pre-stop', ...this.ctx.ref(record), ok: outcome.ok, detail: outcome.detail });
  }

  /** A replica that is gone (crashed, lost with its zone): unroute now, make sure it is dead. */
  forget(record: ReplicaRecord, reason: DeleteReason): void {
    record.phase = 'terminating';
    record.deleteReason = reason;
    record.ready = false;
    record.readySinceMs = null;
    record.drainingMs ??= this.ctx.now();
    this.ctx.probers.get(record.id)?.stop();
    this.ctx.probers.delete(record.id);
    this.ctx.track(
      (async () => {
        await this.ctx.proxy.removeEndpoint(record.id).catch(() => undefined);
        record.routed = false;
        if (record.started && !record.exit) {
          const exit = await this.ctx.runtime.kill(record.id);
          this.markExited(record, exit);
        } else if (!record.exit) {
          record.exitedMs = this.ctx.now();
        }
        this.ctx.kick();
      })(),
    );
  }

  markExited(record: ReplicaRecord, exit: ReplicaExit): void {
    if (record.exitedMs !== null && record.exit) return;
    record.exit = exit;
    record.exitedMs = exit.atMs;
    this.ctx.record({ t: exit.atMs, type: 'replica.terminated', ...this.ctx.ref(record), exit: exit.kind, code: exit.code, signal: exit.signal });
  }

  onReplicaExit(exit: ReplicaExit): void {
    const record = this.ctx.records.get(exit.replicaId);
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
      this.ctx.probers.get(record.id)?.stop();
      this.noteStartFailure(record, `exited before it became ready (code ${exit.code}, signal ${exit.signal})`);
    }
    record.phase = 'failed';
    this.markExited(record, exit);
    if (record.routed) {
      record.routed = false;
      this.ctx.track(this.ctx.proxy.removeEndpoint(record.id).catch(() => undefined));
    }
    this.ctx.kick();
  }
}
