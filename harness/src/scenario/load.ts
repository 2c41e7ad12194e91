/**
 * Scenario loading: YAML → schema → cross-field checks. A bad file is reported with EVERY error
 * at once, each with file:line:column, the field path, what is wrong and how to fix it
 * (exit code 2, nothing started, nothing written).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, type Document } from 'yaml';
import { ZerodropError } from '../../../orchestrator/src/common/errors.js';
import { resolveFenceposts } from '../../../orchestrator/src/planner/fenceposts.js';
import type { IntOrPercent } from '../../../orchestrator/src/spec.js';
import { fixFor, knownKeys, SAMPLE_APP_FAULTS, scenarioSchema, type Scenario } from './schema.js';

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
    throw scenarioError(file, [{ field: '(root)', message: 'the scenario must be a YAML mapping (key: value lines)', fix: 'start from scenarios/rollout.yaml' }]);
  }
  const scenario = validateScenario(raw, (path) => locate(doc, lineCounter, path), file);
  return { scenario, file, sha256: createHash('sha256').update(text).digest('hex') };
}

/** Validates an already-parsed object (also used for CLI-built scenarios). */
export function validateScenario(
  raw: unknown,
  locateFn: (path: readonly PropertyKey[]) => { line: number; column: number } | null = () => null,
  file: string | null = null,
): Scenario {
  const parsed = scenarioSchema.safeParse(raw);
  const problems: ScenarioProblem[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
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
          ...optionalFix(fixFor(issue.path, issue.message)),
        }),
      );
    }
    throw scenarioError(file, problems);
  }
  const scenario = parsed.data;
  for (const p of crossFieldProblems(scenario)) problems.push(at(locateFn(p.path), { field: formatPath(p.path), message: p.message, ...optionalFix(p.fix) }));
  if (problems.length > 0) throw scenarioError(file, problems);
  return scenario;
}

interface CrossProblem {
  path: PropertyKey[];
  message: string;
  fix?: string;
}

/** Rules that involve more than one field. */
export function crossFieldProblems(s: Scenario): CrossProblem[] {
  const out: CrossProblem[] = [];
  const { target, deployment, load, timeline, proxy } = s;

  const sources = [target.app !== undefined, target.command !== undefined, target.image !== undefined].filter(Boolean).length;
  if (sources > 1) {
    out.push({ path: ['target'], message: 'give only one of target.app, target.command, target.image', fix: 'keep the one that describes your service' });
  }
  if (s.runtime === 'process' && target.image !== undefined && target.command === undefined) {
    out.push({ path: ['target', 'image'], message: 'an image needs the docker runtime', fix: 'set runtime: docker (or pass --runtime docker), or give target.command instead' });
  }
  if (s.runtime === 'docker' && target.command !== undefined && target.image === undefined) {
    out.push({ path: ['target', 'command'], message: 'the docker runtime runs images, not host commands', fix: 'give target.image, or use runtime: process' });
  }
  const isSampleApp = target.command === undefined && target.image === undefined;
  if (!isSampleApp && target.appFaults.length > 0) {
    out.push({ path: ['target', 'appFaults'], message: 'appFaults are switches of the built-in sample-app only', fix: 'remove appFaults, or drop target.command/target.image to test the sample-app' });
  }
  target.appFaults.forEach((f, i) => {
    const problem = faultProblem(f);
    if (problem) out.push({ path: ['target', 'appFaults', i], message: problem, fix: fixFor(['target', 'appFaults'], '') });
  });

  if (new Set(deployment.zones).size !== deployment.zones.length) {
    out.push({ path: ['deployment', 'zones'], message: 'zone names must be unique', fix: 'e.g. zones: [a, b, c]' });
  }
  const { maxSurge, maxUnavailable } = deployment.strategy;
  if (isZero(maxSurge) && isZero(maxUnavailable)) {
    // Kubernetes validation: "may not be 0 when maxSurge is 0".
    out.push({ path: ['deployment', 'strategy', 'maxUnavailable'], message: 'maxSurge and maxUnavailable cannot both be 0 (no step could ever be taken)', fix: 'set maxSurge: 1 (a replacement starts before an old replica stops)' });
  } else {
    try {
      resolveFenceposts(maxSurge as IntOrPercent, maxUnavailable as IntOrPercent, deployment.replicas);
    } catch (err) {
      out.push({ path: ['deployment', 'strategy'], message: (err as Error).message });
    }
  }
  if (deployment.strategy.progressDeadlineSeconds <= deployment.strategy.minReadySeconds) {
    out.push({ path: ['deployment', 'strategy', 'progressDeadlineSeconds'], message: 'must be greater than minReadySeconds', fix: 'e.g. progressDeadlineSeconds: 60' });
  }
  if (isSampleApp) {
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
  if (deployment.termination.gracePeriod <= deployment.termination.preStop) {
    out.push({ path: ['deployment', 'termination', 'gracePeriod'], message: `must be longer than preStop (${deployment.termination.preStop} ms): the grace countdown includes preStop`, fix: fixFor(['deployment', 'termination', 'gracePeriod'], '') });
  }
  if (load.warmup >= load.duration) {
    out.push({ path: ['load', 'warmup'], message: `warm-up (${load.warmup} ms) must be shorter than the duration (${load.duration} ms)`, fix: fixFor(['load', 'warmup'], '') });
  }
  if (load.duration < 1000) out.push({ path: ['load', 'duration'], message: 'must be at least 1s', fix: fixFor(['load', 'duration'], '') });
  if (load.rate === 0 && load.engine === 'open') {
    out.push({ path: ['load', 'rate'], message: 'the open model needs a rate (requests per second)', fix: 'set load.rate, or use engine: autocannon for a closed loop' });
  }
  if (proxy.perTryTimeout >= load.timeout) {
    out.push({ path: ['proxy', 'perTryTimeout'], message: `must be well below load.timeout (${load.timeout} ms) so a retry can still succeed`, fix: 'e.g. perTryTimeout: 1s with load.timeout: 10s' });
  }

  const down = new Set<string>();
  timeline.forEach((step, i) => {
    if (step.at >= load.duration) {
      out.push({ path: ['timeline', i, 'at'], message: `at ${step.at} ms is not inside the load (duration ${load.duration} ms)`, fix: 'move it earlier or make load.duration longer' });
    }
    if ('zone' in step) {
      if (!deployment.zones.includes(step.zone)) {
        out.push({ path: ['timeline', i, 'zone'], message: `no zone "${step.zone}"`, fix: `one of: ${deployment.zones.join(', ')}` });
      } else if (step.action === 'recover-zone') {
        if (!down.has(step.zone)) out.push({ path: ['timeline', i, 'zone'], message: `zone "${step.zone}" is not down at this point`, fix: 'recover a zone after a crash-zone or hang-zone step' });
        down.delete(step.zone);
      } else {
        if (down.has(step.zone)) out.push({ path: ['timeline', i, 'zone'], message: `zone "${step.zone}" is already down`, fix: 'recover it first' });
        down.add(step.zone);
      }
    }
    if (step.action === 'rollout') {
      if (s.runtime === 'docker' && target.image !== undefined && step.image === undefined) {
        out.push({ path: ['timeline', i, 'image'], message: 'a rollout of an image target needs the new image', fix: 'e.g. image: myapp:v2' });
      }
      (step.appFaults ?? []).forEach((f, j) => {
        const problem = faultProblem(f);
        if (problem) out.push({ path: ['timeline', i, 'appFaults', j], message: problem, fix: fixFor(['target', 'appFaults'], '') });
      });
    }
    if (i > 0 && step.at < (timeline[i - 1]?.at ?? 0)) {
      out.push({ path: ['timeline', i, 'at'], message: 'timeline entries must be in time order', fix: 'sort the timeline by at' });
    }
  });
  if (down.size === deployment.zones.length && deployment.zones.length > 0) {
    out.push({ path: ['timeline'], message: 'every zone would be down at once: nothing could serve', fix: 'leave at least one zone up' });
  }
  return out;
}

function faultProblem(fault: string): string | null {
  const [key, value] = fault.split('=', 2);
  if (!SAMPLE_APP_FAULTS.includes(key as (typeof SAMPLE_APP_FAULTS)[number])) return `unknown sample-app fault "${fault}"`;
  if (key === 'error-rate') {
    const v = Number(value);
    if (value === undefined || !(v >= 0 && v <= 1)) return 'error-rate needs a fraction, e.g. error-rate=0.01';
  }
  if (key === 'slow-start') {
    const v = Number(value);
    if (value === undefined || !(v > 0)) return 'slow-start needs milliseconds, e.g. slow-start=3000';
  }
  return null;
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

function optionalFix(fix: string | undefined): { fix?: string } {
  return fix ? { fix } : {};
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
