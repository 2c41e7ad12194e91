/**
 * Scenario loading: YAML → schema → cross-field checks. A bad file is reported with EVERY error
 * at once, each with file:line:column, the field path, what is wrong and how to fix it
 * (exit code 2, nothing started, nothing written).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, type Document } from 'yaml';
import { ZerodropError } from '../../../common/src/errors.js';
import type { z } from 'zod';
import { crossFieldProblems } from './cross-field.js';
import { fixFor, formatPath, knownKeys } from './field-help.js';
import { scenarioSchema, type Scenario } from './schema.js';

export { crossFieldProblems, formatPath };

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
