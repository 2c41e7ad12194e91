/**
 * The startup probe (Kubernetes startupProbe): until it has succeeded, readiness is not probed;
 * failureThreshold failures in a row and the start has failed (the kubelet kills the container).
 * Slow starters get a long startup budget without loosening readiness.
 */
import { httpProbe } from '../probe.js';
import type { HostPort } from '../runtime/types.js';
import type { ProbeSpec } from '../spec.js';

export interface GatedProber {
  start(): void;
  stop(): void;
  readonly lastFailure: string | null;
}

export class StartupGate implements GatedProber {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private failures = 0;
  private successes = 0;
  private next: GatedProber | null = null;
  private lastError: string | null = null;

  constructor(
    private readonly target: HostPort,
    private readonly spec: ProbeSpec,
    /** Starts the readiness prober once the startup probe succeeded. */
    private readonly then: () => GatedProber,
    private readonly onFailed: (reason: string) => void,
  ) {}

  get lastFailure(): string | null {
    return this.next?.lastFailure ?? this.lastError;
  }

  start(): void {
    this.schedule(this.spec.initialDelayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.next?.stop();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const r = await httpProbe(this.target, this.spec.path, this.spec.timeoutMs);
    if (this.stopped) return;
    if (r.ok) {
      this.failures = 0;
      if (++this.successes >= this.spec.successThreshold) {
        this.next = this.then();
        this.next.start();
        return;
      }
    } else {
      this.successes = 0;
      this.lastError = r.error;
      if (++this.failures >= this.spec.failureThreshold) {
        this.stopped = true;
        this.onFailed(`startup probe ${this.spec.path} failed ${this.failures}× (${r.error ?? 'error'})`);
        return;
      }
    }
    this.schedule(Math.max(0, this.spec.periodMs - r.durationMs));
  }
}
