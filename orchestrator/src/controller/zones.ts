/**
 * Zones, the node-lifecycle controller's part: injecting a zone failure (crash: SIGKILL every
 * replica in it; hang: freeze them), noticing it only after the node-monitor grace period
 * (zoneFailureDetectionMs, on the clock), recovery, and reporting the workload back to strength.
 */
import type { DeploymentStatus } from '../planner/types.js';
import type { ZoneFailureMode } from '../timeline.js';
import type { ControllerContext } from './context.js';
import type { Kubelet } from './kubelet.js';
import type { ZoneFailure } from './types.js';

export class ZoneLifecycle {
  constructor(
    private readonly ctx: ControllerContext,
    private readonly kubelet: Kubelet,
  ) {}

  /** Injects a zone failure: crash = SIGKILL every replica in it, hang = freeze them. */
  async failZone(zone: string, mode: ZoneFailureMode): Promise<void> {
    const state = this.ctx.zoneState(zone);
    if (!state.up) return;
    state.up = false;
    const inZone = [...this.ctx.records.values()].filter((r) => r.zone === zone && r.exit === null && r.phase !== 'terminating');
    const at = this.ctx.now();
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
    this.ctx.zoneFailures.set(zone, failure);
    this.ctx.record({ t: at, type: 'zone.down', zone, mode, replicas: failure.replicas });
    // The zone's kubelets go down with it: nobody probes these replicas any more, and the control
    // plane keeps its last view of them until the node-monitor grace period ends.
    for (const r of inZone) {
      this.ctx.probers.get(r.id)?.stop();
      this.ctx.probers.delete(r.id);
      r.zoneFailedUnnoticed = true;
    }
    await Promise.all(inZone.filter((r) => r.started).map((r) => this.kubelet.applyZoneFault(r.id, mode)));
    failure.detectionTimer = this.ctx.clock.after(this.ctx.options.zoneFailureDetectionMs, () => this.noticeZoneFailure(zone), { ref: false });
  }

  async recoverZone(zone: string): Promise<void> {
    const state = this.ctx.zoneState(zone);
    if (state.up) return;
    state.up = true;
    const failure = this.ctx.zoneFailures.get(zone);
    failure?.detectionTimer?.cancel();
    this.ctx.record({ t: this.ctx.now(), type: 'zone.up', zone });
    if (failure && !failure.noticed) {
      if (failure.mode === 'hang') {
        // Recovered before the control plane noticed: the frozen replicas simply resume.
        for (const r of this.ctx.records.values()) {
          if (r.zone !== zone || !r.zoneFailedUnnoticed || r.exit) continue;
          await this.ctx.runtime.resume(r.id);
          r.zoneFailedUnnoticed = false;
          if (r.started) this.kubelet.startProber(r, r.started);
        }
      } else {
        // The zone's kubelets are back and report their replicas dead.
        this.noticeZoneFailure(zone);
      }
    }
    if (failure) {
      failure.zoneBackUp = true;
      if (failure.recoveredReported) this.ctx.zoneFailures.delete(zone);
    }
    this.ctx.kick();
  }

  private noticeZoneFailure(zone: string): void {
    const failure = this.ctx.zoneFailures.get(zone);
    if (!failure) return;
    failure.noticed = true;
    const now = this.ctx.now();
    for (const r of this.ctx.records.values()) {
      if (r.zone !== zone || !r.zoneFailedUnnoticed) continue;
      r.zoneFailedUnnoticed = false;
      if (r.ready) {
        r.ready = false;
        r.readySinceMs = null;
        this.ctx.record({ t: now, type: 'replica.unready', ...this.ctx.ref(r), reason: `zone ${zone} is down (node not ready)` });
      }
      if (r.exit) {
        r.phase = 'failed';
        this.kubelet.markExited(r, r.exit);
      }
      if (r.routed) {
        r.routed = false;
        this.ctx.track(this.ctx.proxy.removeEndpoint(r.id).catch(() => undefined));
      }
    }
    this.ctx.kick();
  }

  /** Back to full strength after a zone failure: on the surviving zones, or in the zone itself if it came back first. */
  trackRecovery(status: DeploymentStatus | null): void {
    for (const failure of [...this.ctx.zoneFailures.values()]) {
      if (failure.recoveredReported || !(failure.noticed || failure.zoneBackUp)) continue;
      if (status && status.availableReplicas >= this.ctx.spec.replicas) {
        failure.recoveredReported = true;
        this.ctx.record({
          t: this.ctx.now(),
          type: 'workload.recovered',
          ready: status.readyReplicas,
          desired: this.ctx.spec.replicas,
          afterMs: this.ctx.now() - failure.atMs,
        });
        if (failure.zoneBackUp) this.ctx.zoneFailures.delete(failure.zone);
      }
    }
  }

  /** Stops the detection timers (the controller is closing). */
  close(): void {
    for (const failure of this.ctx.zoneFailures.values()) failure.detectionTimer?.cancel();
  }
}
