/**
 * The startup probe (Kubernetes startupProbe): until it has succeeded, readiness is not probed;
 * failureThreshold failures in a row and the start has failed (the kubelet kills the container).
 * Slow starters get a long startup budget without loosening readiness.
 */
import { PeriodicProbe, type ProbeResult } from '../probe.js';
import type { HostPort } from '../runtime/types.js';
import type { ProbeSpec } from '../spec.js';

export interface GatedProber {
  start(): void;
  stop(): void;
  readonly lastFailure: string | null;
}

export class StartupGate extends PeriodicProbe implements GatedProber {
  private failures = 0;
  private successes = 0;
  private next: GatedProber | null = null;
  private lastError: string | null = null;

  constructor(
    target: HostPort,
    spec: ProbeSpec,
    /** Starts the readiness prober once the startup probe succeeded. */
    private readonly then: () => GatedProber,
    private readonly onFailed: (reason: string) => void,
  ) {
    super(target, spec);
  }

  get lastFailure(): string | null {
    return this.next?.lastFailure ?? this.lastError;
  }

  override stop(): void {
    super.stop();
    this.next?.stop();
  }

  protected onResult(r: ProbeResult): boolean {
    if (r.ok) {
      this.failures = 0;
      if (++this.successes >= this.spec.successThreshold) {
        this.next = this.then();
        this.next.start();
        return false;
      }
    } else {
      this.successes = 0;
      this.lastError = r.error;
      if (++this.failures >= this.spec.failureThreshold) {
        this.stopped = true;
        this.onFailed(`startup probe ${this.spec.path} failed ${this.failures}× (${r.error ?? 'error'})`);
        return false;
      }
    }
    return true;
  }
}
