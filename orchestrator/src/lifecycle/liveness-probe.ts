/**
 * The liveness probe (Kubernetes livenessProbe), the kubelet's side of it: probed from the time
 * the replica serves (after the startup probe, if any), and failureThreshold failures in a row
 * make the kubelet restart it (terminated with its grace period, started again). It says
 * nothing about routing: that is readiness's job (and the data plane's health check's).
 */
import { httpProbe } from '../probe.js';
import type { HostPort } from '../runtime/types.js';
import type { ProbeSpec } from '../spec.js';
import type { GatedProber } from './startup-probe.js';

export class LivenessProbe implements GatedProber {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private failures = 0;
  private lastError: string | null = null;

  constructor(
    private readonly target: HostPort,
    private readonly spec: ProbeSpec,
    private readonly onFailed: (reason: string) => void,
  ) {}

  get lastFailure(): string | null {
    return this.lastError;
  }

  start(): void {
    this.schedule(this.spec.initialDelayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const r = await httpProbe(this.target, this.spec.path, this.spec.timeoutMs);
    if (this.stopped) return;
    if (r.ok) this.failures = 0;
    else {
      this.lastError = r.error;
      if (++this.failures >= this.spec.failureThreshold) {
        this.stopped = true;
        this.onFailed(`liveness probe ${this.spec.path} failed ${this.failures}× (${r.error ?? 'error'})`);
        return;
      }
    }
    this.schedule(Math.max(0, this.spec.periodMs - r.durationMs));
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
