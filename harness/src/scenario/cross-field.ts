/**
 * The scenario rules that involve more than one field (a rollout to a version with no image, a
 * zone recovered before it failed, a fault that needs a volume…): what load.ts reports after the
 * schema, each with its path and fix.
 */
import { type IntOrPercent, resolveFenceposts } from '../../../orchestrator/index.js';
import { fixFor, formatPath } from './field-help.js';
import { lifecycleProblems } from './lifecycle.js';
import { targetModeProblems } from './target-mode.js';
import { SAMPLE_APP_FAULTS, SIGTERM_FAULTS, STORAGE_FAULTS, SECRET_FAULTS, type Scenario } from './schema.js';

export interface CrossProblem {
  path: PropertyKey[];
  message: string;
  fix?: string;
}

/**
 * Rules that involve more than one field. `usable` says whether fields parsed (see
 * validateScenario): a rule reading a field that did not is skipped, so a default standing in
 * for a bad value never produces an error of its own. "timeline" means the whole timeline
 * (rules that follow the zones up and down through every entry).
 */
export function crossFieldProblems(s: Scenario, usable: (...fields: string[]) => boolean = () => true): CrossProblem[] {
  const out: CrossProblem[] = [...lifecycleProblems(s, usable), ...targetModeProblems(s, usable)];
  const { target, deployment, load, timeline, proxy } = s;
  const sourcesOk = usable('target.app', 'target.command', 'target.image');

  const sources = [target.app !== undefined, target.command !== undefined, target.image !== undefined].filter(Boolean).length;
  if (sourcesOk && sources > 1) {
    out.push({ path: ['target'], message: 'give only one of target.app, target.command, target.image', fix: 'keep the one that describes your service' });
  }
  if (sourcesOk && usable('runtime') && s.runtime === 'process' && target.image !== undefined && target.command === undefined) {
    out.push({
      path: ['target', 'image'],
      message: 'an image needs the docker runtime',
      fix: 'set runtime: docker (or pass --runtime docker), or give target.command instead',
    });
  }
  if (sourcesOk && usable('runtime') && s.runtime === 'docker' && target.command !== undefined && target.image === undefined) {
    out.push({ path: ['target', 'command'], message: 'the docker runtime runs images, not host commands', fix: 'give target.image, or use runtime: process' });
  }
  const isSampleApp = target.command === undefined && target.image === undefined;
  const faultsOk = usable('target.appFaults');
  if (sourcesOk && faultsOk && !isSampleApp && target.appFaults.length > 0) {
    out.push({
      path: ['target', 'appFaults'],
      message: 'appFaults are switches of the built-in sample-app only',
      fix: 'remove appFaults, or drop target.command/target.image to test the sample-app',
    });
  }
  if (faultsOk) {
    target.appFaults.forEach((f, i) => {
      const problem = faultProblem(f);
      if (problem) out.push({ path: ['target', 'appFaults', i], message: problem, fix: fixFor(['target', 'appFaults'], '') });
    });
    out.push(...faultComboProblems(target.appFaults, ['target', 'appFaults'], usable('target.warmup') ? target.warmup : null));
  }
  const targetCombos = new Set(out.filter((p) => formatPath(p.path) === 'target.appFaults').map((p) => p.message));
  out.push(...stateProblems(s, usable, isSampleApp));

  if (usable('deployment.zones') && new Set(deployment.zones).size !== deployment.zones.length) {
    out.push({ path: ['deployment', 'zones'], message: 'zone names must be unique', fix: 'e.g. zones: [a, b, c]' });
  }
  const { maxSurge, maxUnavailable } = deployment.strategy;
  if (usable('deployment.strategy.maxSurge', 'deployment.strategy.maxUnavailable')) {
    if (isZero(maxSurge) && isZero(maxUnavailable)) {
      // Kubernetes validation: "may not be 0 when maxSurge is 0".
      out.push({
        path: ['deployment', 'strategy', 'maxUnavailable'],
        message: 'maxSurge and maxUnavailable cannot both be 0 (no step could ever be taken)',
        fix: 'set maxSurge: 1 (a replacement starts before an old replica stops)',
      });
    } else if (usable('deployment.replicas')) {
      try {
        resolveFenceposts(maxSurge as IntOrPercent, maxUnavailable as IntOrPercent, deployment.replicas);
      } catch (err) {
        out.push({
          path: ['deployment', 'strategy'],
          message: (err as Error).message,
          fix: 'give maxSurge and maxUnavailable as counts or percentages of replicas, e.g. { maxSurge: 25%, maxUnavailable: 25% }',
        });
      }
    }
  }
  if (
    usable('deployment.strategy.progressDeadlineSeconds', 'deployment.strategy.minReadySeconds') &&
    deployment.strategy.progressDeadlineSeconds <= deployment.strategy.minReadySeconds
  ) {
    out.push({
      path: ['deployment', 'strategy', 'progressDeadlineSeconds'],
      message: 'must be greater than minReadySeconds',
      fix: 'e.g. progressDeadlineSeconds: 60',
    });
  }
  const terminationOk = usable('deployment.termination.gracePeriod', 'deployment.termination.preStop');
  if (isSampleApp && sourcesOk && terminationOk && usable('target.drainDelay')) {
    // sample-app must finish its shutdown inside the grace period: its drain deadline is
    // gracePeriod − preStop − 1 s (resolve.ts sampleAppArgs), and the drain delay is part of it.
    const deadline = Math.max(1000, deployment.termination.gracePeriod - deployment.termination.preStop - 1000);
    if (target.drainDelay >= deadline) {
      out.push({
        path: ['target', 'drainDelay'],
        message: `the sample-app's drain delay (${target.drainDelay} ms) must be shorter than its shutdown deadline (${deadline} ms = gracePeriod − preStop − 1s)`,
        fix: 'shorten target.drainDelay or lengthen deployment.termination.gracePeriod',
      });
    }
  }
  if (terminationOk && deployment.termination.gracePeriod <= deployment.termination.preStop) {
    out.push({
      path: ['deployment', 'termination', 'gracePeriod'],
      message: `must be longer than preStop (${deployment.termination.preStop} ms): the grace countdown includes preStop`,
      fix: fixFor(['deployment', 'termination', 'gracePeriod'], ''),
    });
  }
  const durationOk = usable('load.duration');
  if (durationOk && usable('load.warmup') && load.warmup >= load.duration) {
    out.push({
      path: ['load', 'warmup'],
      message: `warm-up (${load.warmup} ms) must be shorter than the duration (${load.duration} ms)`,
      fix: fixFor(['load', 'warmup'], ''),
    });
  }
  if (load.rampUp !== undefined && usable('load.rampUp', 'load.warmup') && load.rampUp > load.warmup) {
    out.push({
      path: ['load', 'rampUp'],
      message: `ramp-up (${load.rampUp} ms) must fit in the warm-up (${load.warmup} ms): the measured window is at full rate`,
      fix: fixFor(['load', 'rampUp'], ''),
    });
  }
  if (load.rampUp !== undefined && load.rampUp > 0 && usable('load.rampUp', 'load.engine', 'load.rate') && (load.engine !== 'open' || load.rate === 0)) {
    out.push({
      path: ['load', 'rampUp'],
      message: 'only the open engine with a rate has a schedule to ramp',
      fix: 'remove rampUp, or use engine: open with a rate',
    });
  }
  if (durationOk && load.duration < 1000) out.push({ path: ['load', 'duration'], message: 'must be at least 1s', fix: fixFor(['load', 'duration'], '') });
  if (usable('load.rate', 'load.engine') && load.rate === 0 && load.engine === 'open') {
    out.push({
      path: ['load', 'rate'],
      message: 'the open model needs a rate (requests per second)',
      fix: 'set load.rate, or use engine: autocannon for a closed loop',
    });
  }
  if (usable('proxy.perTryTimeout', 'load.timeout') && proxy.perTryTimeout >= load.timeout) {
    out.push({
      path: ['proxy', 'perTryTimeout'],
      message: `must be well below load.timeout (${load.timeout} ms) so a retry can still succeed`,
      fix: 'e.g. perTryTimeout: 1s with load.timeout: 10s',
    });
  }

  // Following zones down and up needs every entry: with one left out, "not down" would be a guess.
  const zonesOk = usable('deployment.zones');
  const sequenceOk = zonesOk && usable('timeline');
  const down = new Set<string>();
  timeline.forEach((step, i) => {
    if (durationOk && step.at >= load.duration) {
      out.push({
        path: ['timeline', i, 'at'],
        message: `at ${step.at} ms is not inside the load (duration ${load.duration} ms)`,
        fix: 'move it earlier or make load.duration longer',
      });
    }
    if ('zone' in step && zonesOk) {
      if (!deployment.zones.includes(step.zone)) {
        out.push({ path: ['timeline', i, 'zone'], message: `no zone "${step.zone}"`, fix: `one of: ${deployment.zones.join(', ')}` });
      } else if (!sequenceOk) {
        // see above
      } else if (step.action === 'recover-zone') {
        if (!down.has(step.zone))
          out.push({
            path: ['timeline', i, 'zone'],
            message: `zone "${step.zone}" is not down at this point`,
            fix: 'recover a zone after a crash-zone or hang-zone step',
          });
        down.delete(step.zone);
      } else {
        if (down.has(step.zone)) out.push({ path: ['timeline', i, 'zone'], message: `zone "${step.zone}" is already down`, fix: 'recover it first' });
        down.add(step.zone);
      }
    }
    if (step.action === 'rollout') {
      if (sourcesOk && usable('runtime') && s.runtime === 'docker' && target.image !== undefined && step.image === undefined) {
        out.push({ path: ['timeline', i, 'image'], message: 'a rollout of an image target needs the new image', fix: 'e.g. image: myapp:v2' });
      }
      (step.appFaults ?? []).forEach((f, j) => {
        const problem = faultProblem(f);
        if (problem) out.push({ path: ['timeline', i, 'appFaults', j], message: problem, fix: fixFor(['target', 'appFaults'], '') });
      });
      // The new version runs with the scenario's switches and its own (resolve.ts planStep).
      if (step.appFaults && faultsOk) {
        const combos = faultComboProblems(
          [...target.appFaults, ...step.appFaults],
          ['timeline', i, 'appFaults'],
          usable('target.warmup') ? target.warmup : null,
        );
        out.push(...combos.filter((p) => !targetCombos.has(p.message))); // said once, at target.appFaults
      }
    }
    // Compared with the previous entry that parsed: a step left out does not make the order right.
    if (i > 0 && step.at < (timeline[i - 1]?.at ?? 0)) {
      out.push({ path: ['timeline', i, 'at'], message: 'timeline entries must be in time order', fix: 'sort the timeline by at' });
    }
  });
  if (sequenceOk && down.size === deployment.zones.length && deployment.zones.length > 0) {
    out.push({ path: ['timeline'], message: 'every zone would be down at once: nothing could serve', fix: 'leave at least one zone up' });
  }
  return out;
}

/** Writes and the volume (issue 16): what load.writes and the storage faults need. */
function stateProblems(s: Scenario, usable: (...fields: string[]) => boolean, isSampleApp: boolean): CrossProblem[] {
  const out: CrossProblem[] = [];
  const { load, deployment, target } = s;
  if (usable('load.writes', 'load.engine') && load.writes > 0 && load.engine !== 'open') {
    out.push({
      path: ['load', 'writes'],
      message: 'writes need the open engine (each is keyed from its request id)',
      fix: 'set load.engine: open, or load.writes: 0',
    });
  }
  const volumeOk = usable('deployment.volume');
  if (volumeOk && usable('load.writes', 'target.command', 'target.image') && isSampleApp && load.writes > 0 && deployment.volume === null) {
    out.push({
      path: ['load', 'writes'],
      message: "the sample-app stores writes on the Deployment's volume, and there is none",
      fix: 'add deployment.volume: { mountPath: /data }',
    });
  }
  const secretNames = Object.keys(deployment.secrets);
  if (usable('deployment.secrets')) {
    s.timeline.forEach((t, i) => {
      if (t.action === 'rotate-secret' && !secretNames.includes(t.name)) {
        out.push({
          path: ['timeline', i, 'name'],
          message: `no secret "${t.name}" in deployment.secrets`,
          fix: secretNames.length > 0 ? `one of: ${secretNames.join(', ')}` : 'add deployment.secrets: { token: { valueFrom: generated } }',
        });
      }
    });
    const secretFaults = [...target.appFaults, ...s.timeline.flatMap((t) => (t.action === 'rollout' ? (t.appFaults ?? []) : []))].filter((f) =>
      SECRET_FAULTS.includes(f),
    );
    if (usable('target.appFaults') && secretFaults.length > 0 && !secretNames.includes('token')) {
      out.push({
        path: ['target', 'appFaults'],
        message: `${secretFaults.join(' and ')} break the bearer token's rules, and there is none`,
        fix: 'add deployment.secrets: { token: { valueFrom: generated } }',
      });
    }
  }
  const storage = [...target.appFaults, ...s.timeline.flatMap((t) => (t.action === 'rollout' ? (t.appFaults ?? []) : []))].filter((f) =>
    STORAGE_FAULTS.includes(f),
  );
  if (volumeOk && usable('target.appFaults') && storage.length > 0 && deployment.volume === null) {
    out.push({
      path: ['target', 'appFaults'],
      message: `${storage.join(' and ')} break the volume's rules, and there is no volume`,
      fix: 'add deployment.volume: { mountPath: /data }',
    });
  }
  return out;
}

function faultProblem(fault: string): string | null {
  const [key, value] = fault.split('=', 2);
  if (!SAMPLE_APP_FAULTS.includes(key as (typeof SAMPLE_APP_FAULTS)[number])) return `unknown sample-app fault "${fault}"`;
  if (key === 'error-rate') {
    const v = Number(value);
    if (value === undefined || !(v >= 0 && v <= 1)) return 'error-rate needs a fraction, e.g. error-rate=0.01';
  } else if (key === 'slow-start') {
    const v = Number(value);
    if (value === undefined || !(v > 0)) return 'slow-start needs milliseconds, e.g. slow-start=3000';
  } else if (value !== undefined) {
    // sample-app refuses it at start-up (exit 2 of a replica, seen here as a start failure): say it now.
    return `fault "${key}" takes no value (got "${fault}")`;
  }
  return null;
}

/**
 * Combinations sample-app refuses at start (sample-app/src/config.ts parseConfig): caught here,
 * the user gets exit 2 and the field instead of a replica that will not start (exit 3).
 * `warmup` null = unknown (target.warmup did not parse).
 */
function faultComboProblems(faults: readonly string[], path: PropertyKey[], warmup: number | null): CrossProblem[] {
  const out: CrossProblem[] = [];
  const names = faults.map((f) => f.split('=', 1)[0] ?? f);
  const sigterm = [...new Set(names.filter((n) => SIGTERM_FAULTS.includes(n)))];
  if (sigterm.length > 1) {
    const list = `${sigterm.slice(0, -1).join(', ')} and ${sigterm[sigterm.length - 1]}`;
    out.push({
      path,
      message: `switches ${list} ${sigterm.length === 2 ? 'both' : 'all'} change what SIGTERM does`,
      fix: 'keep one of them (one negative control per run)',
    });
  }
  if (names.includes('ready-early') && warmup === 0) {
    out.push({ path, message: 'ready-early needs a warm-up to lie about', fix: 'set target.warmup, e.g. warmup: 1500ms' });
  }
  return out;
}

function isZero(v: number | string): boolean {
  return v === 0 || (typeof v === 'string' && parseFloat(v) === 0);
}
