/**
 * The liveness probe (Kubernetes livenessProbe), the kubelet's side of it: probed from the time
 * the replica serves (after the startup probe, if any), and failureThreshold failures in a row
 * make the kubelet restart it (terminated with its grace period, started again). It says
 * nothing about routing: that is readiness's job (and the data plane's health check's).
 */
import { PeriodicProbe, type ProbeResult } from '../probe.js';
import type { HostPort } from '../runtime/types.js';
import type { ProbeSpec } from '../spec.js';
import type { GatedProber } from './startup-probe.js';

export class LivenessProbe extends PeriodicProbe implements GatedProber {
  private failures = 0;
  private lastError: string | null = null;

  constructor(
    target: HostPort,
    spec: ProbeSpec,
    private readonly onFailed: (reason: string) => void,
  ) {
    super(target, spec);
  }

  get lastFailure(): string | null {
    return this.lastError;
  }

  protected onResult(r: ProbeResult): boolean {
    if (r.ok) {
      this.failures = 0;
      return true;
    }
    this.lastError = r.error;
    if (++this.failures < this.spec.failureThreshold) return true;
    this.stopped = true;
    this.onFailed(`liveness probe ${this.spec.path} failed ${this.failures}× (${r.error ?? 'error'})`);
    return false;
  }
}

/** Readiness and liveness probed side by side, stopped together (the replica's probers). */
export function alongside(readiness: GatedProber, liveness: GatedProber | null): GatedProber {
  if (liveness === null) return readiness;
  return {
    start: () => {
      readiness.start();
      liveness.start();
    },
    stop: () => {
      readiness.stop();
      liveness.stop();
    },
    get lastFailure() {
      return readiness.lastFailure ?? liveness.lastFailure;
    },
  };
}
