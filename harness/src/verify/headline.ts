/**
 * The one-line verdict. A PASS names what it went through; a FAIL or an INVALID states the
 * broken condition first ("target rate not reached: 9,465 of 20,000 req/s"), never a check's
 * title that reads as if it held. A run with no disruption in its timeline says so.
 */
import type { Check, Verdict } from '../result/types.js';
import { fmt } from './check.js';
import type { RunSnapshot } from './snapshot.js';
import { actionOf } from '../timeline/registry.js';

export const LOAD_ONLY = 'load only: no disruption exercised';

export function headline(verdict: Verdict, run: RunSnapshot, checks: readonly Check[]): string {
  const { tally } = run;
  const base = `${fmt(tally.sent)} requests at ${fmt(Math.round(run.achievedRate))} req/s, ${fmt(tally.sent - tally.completed)} lost, ${fmt(tally.failed)} failed`;
  const saved = tally.retriedOk > 0 ? ` (${fmt(tally.retriedOk)} saved by a retry)` : '';
  // Each action says whether it disrupts (a zone coming back does not; a command may be your deploy).
  const loadOnly = !run.plan.steps.some((s) => actionOf(s).disruptive !== false);
  if (verdict === 'PASS') {
    const what = run.steps.map((s) => s.step.label.replace(/ at .*$/, '')).join(', ');
    return `PASS: ${base}${saved}${loadOnly ? ` — ${LOAD_ONLY}` : what ? ` through ${what}` : ''}`;
  }
  const bad = checks.filter((c) => c.status === (verdict === 'FAIL' ? 'fail' : 'invalid'));
  const first = bad[0];
  const why = first ? `${first.broken ?? `${first.id}: ${first.actual}`}${bad.length > 1 ? ` (and ${bad.length - 1} more)` : ''} — ` : '';
  return `${verdict}: ${why}${base}${saved}${loadOnly ? ` — ${LOAD_ONLY}` : ''}`;
}
