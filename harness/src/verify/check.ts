/**
 * What a check module is, and the one way to write a check. A module is a pure function from
 * the run's snapshot (snapshot.ts) to its checks; registry.ts lists the modules, and the README's
 * checks table is tested against the ids they declare (docs/architecture.md, "Add a check").
 */
import type { Check, CheckGroup } from '../result/types.js';
import type { RunSnapshot } from './snapshot.js';

export interface CheckModule {
  /** The module's name (its file under checks/). */
  name: string;
  /**
   * Every check id the module can return, as the README's checks table writes it: `N` stands for
   * a timeline step's number, `<name>` for any name (e.g. `prometheus.<counter>`).
   */
  ids: readonly string[];
  /**
   * Ids that measure the harness as much as the service (latency, gaps): INVALID instead of
   * FAIL when the load was not what was asked. A drop or a retry rule is never one of them.
   */
  loadSensitive?: readonly string[];
  /** Ids that, when INVALID, say the load was not what was asked (the rate fell short…). */
  loadShortfall?: readonly string[];
  /**
   * Ids (patterns as in `ids`) that need zerodrop's own proxy or replicas: in target mode
   * (a deployment zerodrop did not start) they are listed as not applicable, never passed.
   */
  needsOwnDeployment?: readonly string[];
  checks(run: RunSnapshot): Check[];
}

/** A check as a module writes it: a `Check` whose `broken` phrase may be left to `check()` (id: actual). */
export type CheckSpec = Check;

export function check(spec: CheckSpec): Check {
  const c: Check = { id: spec.id, group: spec.group, title: spec.title, status: spec.status, expected: spec.expected, actual: spec.actual };
  if (spec.status === 'fail' || spec.status === 'invalid') c.broken = spec.broken ?? `${spec.id}: ${spec.actual}`;
  if (spec.explanation) c.explanation = spec.explanation;
  if (spec.numbers) c.numbers = spec.numbers;
  return c;
}

/** A check that could not be judged: listed with the reason, never left out. */
export function skipped(id: string, group: CheckGroup, title: string, expected: string, reason: string): Check {
  return check({ id, group, title, status: 'skip', expected, actual: `skipped: ${reason}` });
}

/** `id` matches a declared pattern (`N` = a step number, `<name>` = any name). */
export function matchesDeclared(id: string, pattern: string): boolean {
  const re = pattern
    .split(/(<[a-z-]+>|\bN\b)/)
    .map((part) => (part === 'N' ? '\\d+' : /^<[a-z-]+>$/.test(part) ? '[A-Za-z0-9_.-]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${re}$`).test(id);
}

export function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

export function fmtN(n: number | null): string {
  return n === null ? '—' : fmt(n);
}

export function sumWhere(rec: Readonly<Record<string, number>>, pred: (key: string) => boolean): number {
  let n = 0;
  for (const [k, v] of Object.entries(rec)) if (pred(k)) n += v;
  return n;
}

export function breakdown(rec: Readonly<Record<string, number>>): string {
  return Object.entries(rec)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ');
}
