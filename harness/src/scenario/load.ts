/**
 * Scenario loading: YAML → schema → cross-field checks. A bad file is reported with EVERY error
 * at once, each with file:line:column, the field path, what is wrong and how to fix it
 * (exit code 2, nothing started, nothing written).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, type Document } from 'yaml';
import { ZerodropError } from '../../../common/src/errors.js';
import { type IntOrPercent, resolveFenceposts } from '../../../orchestrator/index.js';
import type { z } from 'zod';
import { lifecycleProblems } from './lifecycle.js';
import { targetModeProblems } from './target-mode.js';
import { fixFor, knownKeys, SAMPLE_APP_FAULTS, SIGTERM_FAULTS, STORAGE_FAULTS, SECRET_FAULTS, scenarioSchema, type Scenario } from './schema.js';

export interface ScenarioProblem {
  /** Dotted field path, e.g. "load.rate" or "timeline[2].zone". */
  field: string;
  message: string;
  fix?: string;
  line?: number;
  column?: number;
}

export interface LoadedScenario {
  scenario: Scenario;
  file: string | null;
  sha256: string | null;
}

export function loadScenarioFile(file: string): LoadedScenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ZerodropError('ZD_BAD_USAGE', `cannot read scenario file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
      fix: 'pass the path of a scenario YAML file, e.g. zerodrop run scenarios/rollout.yaml (see scenarios/)',
    });
  }
  return parseScenarioText(text, file);
}

/** Parses and validates scenario text; throws ZD_BAD_SCENARIO listing every problem. */
export function parseScenarioText(text: string, file: string | null = null): LoadedScenario {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const problems: ScenarioProblem[] = [];
  for (const err of doc.errors) {
    const pos = err.linePos?.[0];
    problems.push({
      field: '(yaml)',
      message: (err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, ''),
      fix: 'fix the YAML syntax at this line (indentation, a missing colon, an unclosed quote)',
      ...(pos ? { line: pos.line, column: pos.col } : {}),
    });
  }
  if (problems.length > 0) throw scenarioError(file, problems);

  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw scenarioError(file, [
      { field: '(root)', message: 'the scenario must be a YAML mapping (key: value lines)', fix: 'start from scenarios/rollout.yaml' },
    ]);
  }
  const scenario = validateScenario(raw, (path) => locate(doc, lineCounter, path), file);
  return { scenario, file, sha256: createHash('sha256').update(text).digest('hex') };
}

/**
 * Validates an already-parsed object (also used for CLI-built scenarios). Schema errors and
 * cross-field errors are reported together, so a user fixes a file in one round, not two: when
 * the schema fails, the cross-field rules run on a best-effort view (bestEffortView) and skip
 * every rule that would read a field that did not parse.
 */
export function validateScenario(
  raw: unknown,
  locateFn: (path: readonly PropertyKey[]) => { line: number; column: number } | null = () => null,
  file: string | null = null,
): Scenario {
  const parsed = scenarioSchema.safeParse(raw);
  const problems: ScenarioProblem[] = parsed.success ? [] : schemaProblems(parsed.error.issues, raw, locateFn);
  const view: ScenarioView | null = parsed.success
    ? { scenario: parsed.data, bad: [], timelineIndex: parsed.data.timeline.map((_, i) => i) }
    : bestEffortView(raw);
  if (view) {
    const usable = usableFields(view.bad);
    for (const p of crossFieldProblems(view.scenario, usable)) {
      const path = originalPath(p.path, view.timelineIndex);
      problems.push(at(locateFn(path), { field: formatPath(path), message: p.message, fix: p.fix ?? fixFor(path, '') ?? GENERIC_FIX }));
    }
  }
  if (problems.length > 0 || !parsed.success) throw scenarioError(file, inFileOrder(problems));
  return parsed.data;
}

/** The last line of defence for "every error has a fix": never shown for a field the schema knows. */
const GENERIC_FIX = 'see the Scenarios section of README.md for what this field takes (every field has a default)';

type Issue = z.core.$ZodIssue;

function schemaProblems(
  issues: readonly Issue[],
  raw: unknown,
  locateFn: (path: readonly PropertyKey[]) => { line: number; column: number } | null,
): ScenarioProblem[] {
  const problems: ScenarioProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        const known = knownKeys(issue.path);
        const guess = closest(key, known);
        problems.push(
          at(locateFn(path), {
            field: formatPath(path),
            message: `unknown field "${key}"`,
            fix: guess ? `did you mean "${guess}"? (known here: ${known.join(', ')})` : `known fields here: ${known.join(', ')}`,
          }),
        );
      }
      continue;
    }
    problems.push(
      at(locateFn(issue.path), {
        field: formatPath(issue.path),
        message: humanMessage(issue.message, raw, issue.path),
        fix: fixFor(issue.path, issue.message, issue) ?? GENERIC_FIX,
      }),
    );
  }
  return problems;
}

/** A scenario built from the parts of a file that parsed, and which fields it had to leave out. */
export interface ScenarioView {
  /** Every field that failed replaced by its default (see `bad`), every timeline entry that failed left out. */
  scenario: Scenario;
  /** Dotted paths whose value in `scenario` is NOT the user's (e.g. "load.rate", "timeline.2"). */
  bad: string[];
  /** view timeline index → index in the file. */
  timelineIndex: number[];
}

/**
 * The scenario as far as it parses: each failing field is removed (so its default stands in and
 * the field is marked bad), a failing timeline entry is left out, an array with a failing element
 * falls back to its default as a whole, unknown keys are dropped; then parse again. Pure; null
 * when nothing sensible is left (e.g. the root is not a mapping).
 */
export function bestEffortView(raw: unknown): ScenarioView | null {
  if (!isRecord(raw)) return null;
  const working = structuredClone(raw);
  const bad = new Set<string>();
  let timelineIndex = Array.isArray(working.timeline) ? working.timeline.map((_: unknown, i: number) => i) : [];
  for (let round = 0; round < 8; round++) {
    const r = scenarioSchema.safeParse(working);
    if (r.success) return { scenario: r.data, bad: [...bad], timelineIndex: Array.isArray(working.timeline) ? timelineIndex : [] };
    const dropSteps = new Set<number>();
    let progressed = false;
    for (const issue of r.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        // An unknown key feeds no rule: drop it without marking anything bad.
        for (const key of issue.keys) progressed = deleteAt(working, [...issue.path, key]) || progressed;
        continue;
      }
      const path = issue.path;
      if (path[0] === 'timeline' && typeof path[1] === 'number' && Array.isArray(working.timeline)) {
        dropSteps.add(path[1]);
        bad.add(`timeline.${timelineIndex[path[1]] ?? path[1]}`);
        progressed = true;
        continue;
      }
      // Cut at the first array (its default replaces it whole), then at the nearest value that exists.
      const firstIndex = path.findIndex((p) => typeof p === 'number');
      let cut: PropertyKey[] = firstIndex < 0 ? [...path] : path.slice(0, firstIndex);
      while (cut.length > 0 && !deleteAt(working, cut)) cut = cut.slice(0, -1);
      if (cut.length === 0) return null;
      bad.add(cut.map(String).join('.'));
      progressed = true;
    }
    if (dropSteps.size > 0 && Array.isArray(working.timeline)) {
      working.timeline = working.timeline.filter((_: unknown, i: number) => !dropSteps.has(i));
      timelineIndex = timelineIndex.filter((_: number, i: number) => !dropSteps.has(i));
    }
    if (!progressed) return null;
  }
  return null;
}

/** `usable("load.warmup", "load.duration")` is false when any of them (or a parent, or a child) did not parse. */
export function usableFields(bad: readonly string[]): (...fields: string[]) => boolean {
  const overlaps = (a: string, b: string): boolean => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
  return (...fields) => fields.every((f) => !bad.some((b) => overlaps(f, b)));
}

function originalPath(path: PropertyKey[], timelineIndex: readonly number[]): PropertyKey[] {
  if (path[0] !== 'timeline' || typeof path[1] !== 'number') return path;
  return ['timeline', timelineIndex[path[1]] ?? path[1], ...path.slice(2)];
}

/** Top to bottom, as a user fixes a file; problems with no position last, in their order. */
function inFileOrder(problems: ScenarioProblem[]): ScenarioProblem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? Infinity) - (b.p.line ?? Infinity) || (a.p.column ?? 0) - (b.p.column ?? 0) || a.i - b.i)
    .map(({ p }) => p);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deletes the value at a path if it exists; false when there was nothing to delete. */
function deleteAt(root: unknown, path: readonly PropertyKey[]): boolean {
  let cur: unknown = root;
  for (const p of path.slice(0, -1)) {
    if (cur === null || typeof cur !== 'object') return false;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  const last = path[path.length - 1];
  if (last === undefined || !isRecord(cur) || !Object.hasOwn(cur, last)) return false;
  delete (cur as Record<PropertyKey, unknown>)[last];
  return true;
}

interface CrossProblem {
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

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(root)';
}

export function formatProblem(file: string | null, p: ScenarioProblem): string {
  const where = file ? `${file}${p.line ? `:${p.line}:${p.column ?? 1}` : ''}` : p.line ? `line ${p.line}` : '';
  const head = `${where ? `${where}  ` : ''}${p.field}: ${p.message}`;
  return p.fix ? `${head}\n      fix: ${p.fix}` : head;
}

function scenarioError(file: string | null, problems: ScenarioProblem[]): ZerodropError {
  const n = problems.length;
  return new ZerodropError('ZD_BAD_SCENARIO', `${file ?? 'scenario'}: ${n} problem${n === 1 ? '' : 's'}`, {
    details: problems.map((p) => formatProblem(file, p)),
    fix: 'fix the fields above (every problem is listed); `zerodrop --help` shows a complete example',
  });
}

function at(pos: { line: number; column: number } | null, p: ScenarioProblem): ScenarioProblem {
  return pos ? { ...p, line: pos.line, column: pos.column } : p;
}

function humanMessage(message: string, raw: unknown, path: readonly PropertyKey[]): string {
  const value = valueAt(raw, path);
  if (value === undefined) return message.startsWith('Invalid input') ? 'is required' : message;
  const shown = JSON.stringify(value);
  const got = shown === undefined ? '' : ` (got ${shown.length > 60 ? `${shown.slice(0, 57)}...` : shown})`;
  return `${message}${got}`;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = raw;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

/** line/column of a field path in the YAML document, walking up to the nearest parent that exists. */
function locate(doc: Document, lc: LineCounter, path: readonly PropertyKey[]): { line: number; column: number } | null {
  for (let n = path.length; n >= 0; n--) {
    const sub = path.slice(0, n);
    if (n < path.length) {
      // The field itself is missing or unknown-but-present: point at the key if present in its map.
      const parent = n === 0 ? doc.contents : doc.getIn(sub as unknown[], true);
      if (isMap(parent)) {
        const key = path[n];
        const pair = parent.items.find((it) => (it.key as { value?: unknown } | null)?.value === key);
        const range = (pair?.key as { range?: [number, number, number] } | null)?.range;
        if (range) {
          const pos = lc.linePos(range[0]);
          return { line: pos.line, column: pos.col };
        }
      }
    }
    const node = n === 0 ? doc.contents : doc.getIn(sub as unknown[], true);
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (range) {
      const pos = lc.linePos(range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return null;
}

/** The closest known key by edit distance, if close enough to be a typo. */
function closest(word: string, candidates: string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j] ?? 0;
      prev[j] = Math.min((prev[j] ?? 0) + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length] ?? 0;
}
