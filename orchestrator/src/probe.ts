/**
 * HTTP probes, as the kubelet does them: a fresh connection per probe (no keep-alive), a timeout,
 * and thresholds of consecutive results before the state flips
 * (configure-liveness-readiness-startup-probes: successThreshold / failureThreshold).
 */
import { request } from 'node:http';
import { monotonicMs } from '../../common/src/clock.js';
import type { HostPort } from './runtime/types.js';
import type { ProbeSpec } from './spec.js';

export interface ProbeResult {
  ok: boolean;
  status: number | null;
  error: string | null;
  durationMs: number;
}

/** One HTTP GET; 200–399 is success (the kubelet's rule). Never rejects. */
export function httpProbe(target: HostPort, path: string, timeoutMs: number): Promise<ProbeResult> {
  const started = monotonicMs();
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<ProbeResult, 'durationMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, durationMs: monotonicMs() - started });
    };
    const req = request({ host: target.host, port: target.port, path, method: 'GET', agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      done({ ok: status >= 200 && status < 400, status, error: status >= 400 ? `HTTP ${status}` : null });
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({ ok: false, status: null, error: `timeout after ${timeoutMs} ms` });
    }, timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, status: null, error: err.code ?? err.message }));
    req.end();
  });
}

export type ReadinessListener = (ready: boolean, reason: string) => void;

/**
 * The schedule every prober shares: the first probe after initialDelayMs, then one per periodMs
 * (the time a probe took counts against its period), nothing after stop().
 */
export abstract class PeriodicProbe {
  private timer: NodeJS.Timeout | null = null;
  protected stopped = false;

  constructor(
    protected readonly target: HostPort,
    protected readonly spec: ProbeSpec,
  ) {}

  start(): void {
    this.schedule(this.spec.initialDelayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Probes once and schedules the next, unless the result ended the schedule. */
  private async tick(): Promise<void> {
    const result = await httpProbe(this.target, this.spec.path, this.spec.timeoutMs);
    if (this.stopped) return;
    if (this.onResult(result)) this.schedule(Math.max(0, this.spec.periodMs - result.durationMs));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  /** Takes one result; false ends the schedule. */
  protected abstract onResult(result: ProbeResult): boolean;
}

/** Probes one replica every periodMs until stopped; calls back on every Ready/not-Ready flip. */
export class ReadinessProber extends PeriodicProbe {
  private successes = 0;
  private failures = 0;
  private ready = false;
  private lastError: string | null = null;

  constructor(
    target: HostPort,
    spec: ProbeSpec,
    private readonly onChange: ReadinessListener,
  ) {
    super(target, spec);
  }

  get isReady(): boolean {
    return this.ready;
  }

  get lastFailure(): string | null {
    return this.lastError;
  }

  protected onResult(result: ProbeResult): boolean {
    if (result.ok) {
      this.successes++;
      this.failures = 0;
      if (!this.ready && this.successes >= this.spec.successThreshold) {
        this.ready = true;
        this.onChange(true, `probe ${this.spec.path} succeeded ${this.successes}×`);
      }
    } else {
      this.failures++;
      this.successes = 0;
      this.lastError = result.error;
      if (this.ready && this.failures >= this.spec.failureThreshold) {
        this.ready = false;
        this.onChange(false, `probe ${this.spec.path} failed ${this.failures}× (${result.error ?? 'error'})`);
      }
    }
    return true;
  }
}
