/**
 * The Pod lifecycle settings of a replica, with Kubernetes' names (Pod spec: lifecycle.stopSignal,
 * lifecycle.preStop, startupProbe, livenessProbe; Docker: STOPSIGNAL). Resolved: no optional knobs left.
 * readinessProbe maps onto PodTemplate.readiness, terminationGracePeriodSeconds onto
 * TerminationSpec.gracePeriodMs and a preStop `sleep` onto TerminationSpec.preStopMs, where they
 * always lived; what is new lives here.
 */
import type { ProbeSpec } from '../spec.js';

/** Signals a replica may be asked to stop with (SIGKILL and SIGSTOP cannot be handled, so they are no stop signal). */
export const STOP_SIGNALS = ['SIGTERM', 'SIGQUIT', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];
export const DEFAULT_STOP_SIGNAL: StopSignal = 'SIGTERM';

/** A preStop hook that runs something (a `sleep` hook is TerminationSpec.preStopMs). */
export type PreStopHook =
  /** A command in the replica's environment (process: its env; docker: `docker exec`). */
  | { kind: 'exec'; command: string[] }
  /** GET on the replica: its serving port unless `port` is given. */
  | { kind: 'httpGet'; path: string; port: number | null };

export interface PodLifecycle {
  stopSignal: StopSignal;
  preStop: PreStopHook | null;
  /** Until it succeeds, readiness is not probed; failureThreshold failures in a row fail the start. */
  startupProbe: ProbeSpec | null;
  /** failureThreshold failures in a row and the kubelet restarts the replica (grace period, then started again). */
  livenessProbe?: ProbeSpec | null;
}

export const DEFAULT_LIFECYCLE: PodLifecycle = { stopSignal: DEFAULT_STOP_SIGNAL, preStop: null, startupProbe: null, livenessProbe: null };

/** What a command run in a replica's environment did. */
export interface ExecResult {
  /** null when it did not exit by itself (timed out, or could not start). */
  exitCode: number | null;
  timedOut: boolean;
  /** The last lines of its stderr. */
  stderrTail: string[];
  /** Why it could not run at all (e.g. ENOENT: command not found). */
  error: string | null;
  durationMs: number;
}
