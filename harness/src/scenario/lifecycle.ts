/**
 * The Pod lifecycle fields of a scenario's target, with Kubernetes' names (stopSignal, preStop,
 * readinessProbe, livenessProbe, startupProbe, terminationGracePeriodSeconds): their cross-field
 * rules, and how they map onto what the orchestrator already had. readinessProbe becomes
 * readinessPath + deployment.readiness, livenessProbe the data plane's active health check and
 * the kubelet's restart rule,
 * terminationGracePeriodSeconds and a preStop sleep deployment.termination; stopSignal, a preStop
 * exec/httpGet and the startup probe go to the template's lifecycle (orchestrator/src/lifecycle/).
 */
import { DEFAULT_STOP_SIGNAL, type PodLifecycle, type PreStopHook } from '../../../orchestrator/index.js';
import type { ProbeSpec } from '../../../orchestrator/index.js';
import type { Scenario } from './schema.js';

export interface LifecycleProblem {
  path: PropertyKey[];
  message: string;
  fix?: string;
}

type Probe = NonNullable<Scenario['target']['readinessProbe']>;

const secondsToMs = (s: number): number => Math.round(s * 1000);

export function lifecycleProblems(s: Scenario, usable: (...fields: string[]) => boolean = () => true): LifecycleProblem[] {
  const out: LifecycleProblem[] = [];
  const t = s.target;
  if (usable('target.preStop') && t.preStop !== undefined) {
    const kinds = (['exec', 'httpGet', 'sleep'] as const).filter((k) => t.preStop?.[k] !== undefined);
    if (kinds.length !== 1) {
      out.push({
        path: ['target', 'preStop'],
        message: kinds.length === 0 ? 'a preStop hook needs one of exec, httpGet, sleep' : `give only one of exec, httpGet, sleep (got ${kinds.join(', ')})`,
        fix: 'e.g. preStop: { sleep: { seconds: 2 } }, or preStop: { exec: { command: ["sh", "-c", "sleep 2"] } }',
      });
    }
    if (t.preStop.httpGet?.port !== undefined && usable('runtime') && s.runtime === 'docker') {
      out.push({
        path: ['target', 'preStop', 'httpGet', 'port'],
        message: 'the docker runtime publishes only the serving port (target.containerPort): another port cannot be reached',
        fix: 'leave port out (the serving port is used), or use preStop.exec with a command inside the container',
      });
    }
  }
  for (const name of ['livenessProbe', 'startupProbe'] as const) {
    const probe = t[name];
    if (usable(`target.${name}`) && probe?.successThreshold !== undefined && probe.successThreshold !== 1) {
      out.push({
        path: ['target', name, 'successThreshold'],
        message: `must be 1 for ${name} (as in Kubernetes)`,
        fix: 'successThreshold: 1, or leave it out',
      });
    }
  }
  for (const name of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
    const probe = t[name];
    if (usable(`target.${name}`) && probe?.timeoutSeconds !== undefined && probe.periodSeconds !== undefined && probe.timeoutSeconds > probe.periodSeconds) {
      out.push({
        path: ['target', name, 'timeoutSeconds'],
        message: `timeoutSeconds (${probe.timeoutSeconds}) must not exceed periodSeconds (${probe.periodSeconds})`,
        fix: `e.g. timeoutSeconds: ${probe.periodSeconds}`,
      });
    }
  }
  if (usable('target.terminationGracePeriodSeconds', 'target.preStop', 'deployment.termination.preStop')) {
    const grace = terminationOf(s);
    if (t.terminationGracePeriodSeconds !== undefined && grace.preStopMs >= grace.gracePeriodMs && grace.gracePeriodMs > 0) {
      out.push({
        path: ['target', 'terminationGracePeriodSeconds'],
        message: `the grace period (${grace.gracePeriodMs} ms) must be longer than the preStop sleep (${grace.preStopMs} ms): it counts from the start of termination`,
        fix: `e.g. terminationGracePeriodSeconds: ${Math.ceil(grace.preStopMs / 1000) + 10}`,
      });
    }
  }
  return out;
}

/** The termination timings with the Kubernetes fields applied. */
export function terminationOf(s: Scenario): { preStopMs: number; gracePeriodMs: number } {
  const t = s.target;
  return {
    preStopMs: t.preStop?.sleep !== undefined ? secondsToMs(t.preStop.sleep.seconds) : s.deployment.termination.preStop,
    gracePeriodMs: t.terminationGracePeriodSeconds !== undefined ? secondsToMs(t.terminationGracePeriodSeconds) : s.deployment.termination.gracePeriod,
  };
}

/**
 * Writes the Kubernetes-named fields over the ones they stand for (on a copy the caller owns),
 * so everything downstream reads one set of fields.
 */
export function applyLifecycleFields(s: Scenario): void {
  const t = s.target;
  const termination = terminationOf(s);
  s.deployment.termination.preStop = termination.preStopMs;
  s.deployment.termination.gracePeriod = termination.gracePeriodMs;
  const r = t.readinessProbe;
  if (r) {
    if (r.httpGet) t.readinessPath = r.httpGet.path;
    const d = s.deployment.readiness;
    if (r.periodSeconds !== undefined) d.period = secondsToMs(r.periodSeconds);
    if (r.timeoutSeconds !== undefined) d.timeout = secondsToMs(r.timeoutSeconds);
    if (r.failureThreshold !== undefined) d.failureThreshold = r.failureThreshold;
    if (r.successThreshold !== undefined) d.successThreshold = r.successThreshold;
    if (r.initialDelaySeconds !== undefined) d.initialDelay = secondsToMs(r.initialDelaySeconds);
  }
  const l = t.livenessProbe;
  if (l) {
    if (l.httpGet) t.livenessPath = l.httpGet.path;
    const h = s.proxy.healthCheck;
    if (l.periodSeconds !== undefined) h.interval = secondsToMs(l.periodSeconds);
    if (l.timeoutSeconds !== undefined) h.timeout = secondsToMs(l.timeoutSeconds);
    if (l.failureThreshold !== undefined) h.unhealthyThreshold = l.failureThreshold;
  }
}

/** The template's lifecycle (after applyLifecycleFields). */
export function podLifecycleOf(s: Scenario): PodLifecycle {
  const t = s.target;
  let preStop: PreStopHook | null = null;
  if (t.preStop?.exec) preStop = { kind: 'exec', command: [...t.preStop.exec.command] };
  else if (t.preStop?.httpGet) preStop = { kind: 'httpGet', path: t.preStop.httpGet.path, port: t.preStop.httpGet.port ?? null };
  return {
    stopSignal: t.stopSignal ?? DEFAULT_STOP_SIGNAL,
    preStop,
    startupProbe: t.startupProbe ? probeSpecOf(t.startupProbe, s, t.readinessPath) : null,
    livenessProbe: t.livenessProbe ? probeSpecOf(t.livenessProbe, s, t.livenessPath) : null,
  };
}

/** A Kubernetes probe as a ProbeSpec; unset fields take the readiness probe's values (the path: `defaultPath`). */
function probeSpecOf(p: Probe, s: Scenario, defaultPath: string): ProbeSpec {
  const d = s.deployment.readiness;
  return {
    path: p.httpGet?.path ?? defaultPath,
    periodMs: p.periodSeconds !== undefined ? secondsToMs(p.periodSeconds) : d.period,
    timeoutMs: p.timeoutSeconds !== undefined ? secondsToMs(p.timeoutSeconds) : d.timeout,
    successThreshold: p.successThreshold ?? 1,
    failureThreshold: p.failureThreshold ?? d.failureThreshold,
    initialDelayMs: p.initialDelaySeconds !== undefined ? secondsToMs(p.initialDelaySeconds) : d.initialDelay,
  };
}
