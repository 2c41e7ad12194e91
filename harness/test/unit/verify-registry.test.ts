/**
 * The checks are a table (issue 11, item 12): the README's checks table and the verifier's
 * registry name the same ids, and every id a run can emit is one the registry declares, so a
 * new check cannot be left undocumented (or emitted by a module that does not declare it).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/paths.js';
import type { RunResult } from '../../src/result/types.js';
import { matchesDeclared } from '../../src/verify/check.js';
import { CHECK_MODULES, declaredCheckIds } from '../../src/verify/registry.js';
import { takeSnapshot } from '../../src/verify/snapshot.js';
import { verifyRun } from '../../src/verify/verify.js';
import { ORIGIN, agreeingPrometheus, passingInput, type Fixture } from '../fixtures/verify-input.js';

/** Every `id` in the check column of the README's "What a run proves" table. */
function documentedIds(): string[] {
  const readme = readFileSync(join(projectRoot(), 'README.md'), 'utf8');
  const start = readme.indexOf('## What a run proves (the checks)');
  expect(start, 'README section "What a run proves (the checks)"').toBeGreaterThan(-1);
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| group') && !l.startsWith('|---'));
  expect(rows.length).toBeGreaterThan(10);
  return rows.flatMap((row) => {
    const cell = row.split(' | ')[1] ?? '';
    return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  });
}

describe('the checks table', () => {
  it('README documents exactly the ids the registry declares (no more, no fewer)', () => {
    const documented = documentedIds();
    const declared = declaredCheckIds();
    expect(new Set(documented).size, 'an id documented twice').toBe(documented.length);
    expect(new Set(declared).size, 'an id declared by two modules').toBe(declared.length);
    expect([...documented].sort()).toEqual([...declared].sort());
    // …and the comparison catches a module whose new check is not in the README.
    const undocumented = { name: 'ledger', ids: ['ledger.new-rule'], checks: () => [] };
    expect([...documented].sort()).not.toEqual(declaredCheckIds([...CHECK_MODULES, undocumented]).sort());
  });

  it('the snapshot the modules read is a frozen copy: a check cannot change it, a later change of the input does not reach it', () => {
    const f = passingInput();
    const run = takeSnapshot(f.input);
    expect(() => {
      (run.plan.thresholds as { maxFailed: number }).maxFailed = 99;
    }).toThrow(TypeError);
    expect(() => (run.events as unknown[]).push({})).toThrow(TypeError);
    expect(() => {
      (run.replicas[0] as { final: unknown }).final = null;
    }).toThrow(TypeError);
    f.timeline.push({ t: ORIGIN + 100, type: 'invariant.breach', invariant: 'min-available', detail: 'x', available: 0, total: 0 });
    f.record('web-v1-a').final = null;
    expect(run.events.some((e) => e.type === 'invariant.breach')).toBe(false);
    expect(run.replicas[0]!.final).not.toBeNull();
    expect(run.plan.steps[0]).toBe(run.stepOutcomes[0]!.step); // one copy, shared references kept
  });

  it('each module owns one group: its ids start with its name', () => {
    for (const m of CHECK_MODULES) for (const id of m.ids) expect(id.startsWith(`${m.name}.`), `${m.name}: ${id}`).toBe(true);
    for (const m of CHECK_MODULES) for (const id of [...(m.loadSensitive ?? []), ...(m.loadShortfall ?? [])]) expect(m.ids).toContain(id);
  });

  it('no drop or retry rule can be downgraded on a short load: only latency and gap gates are load-sensitive', () => {
    expect(CHECK_MODULES.flatMap((m) => m.loadSensitive ?? [])).toEqual(['thresholds.p99', 'thresholds.p999', 'thresholds.max-gap']);
  });

  it('the declared patterns match what they should, and only that', () => {
    expect(matchesDeclared('events.12-rollout', 'events.N-rollout')).toBe(true);
    expect(matchesDeclared('events.x-rollout', 'events.N-rollout')).toBe(false);
    expect(matchesDeclared('events.2-crash-zone-injected', 'events.N-rollout')).toBe(false);
    expect(matchesDeclared('prometheus.driver-sent', 'prometheus.<counter>')).toBe(true);
    expect(matchesDeclared('ledger.bookkeeping', 'ledger.bookkeeping')).toBe(true);
    expect(matchesDeclared('ledgerXbookkeeping', 'ledger.bookkeeping')).toBe(false);
  });

  const variants: [string, (f: Fixture) => void][] = [
    ['the passing run', () => undefined],
    ['with Prometheus in the loop', (f) => void (f.input.prometheus = agreeingPrometheus(f.input))],
    ['with every optional gate', (f) => Object.assign(f.input.plan.thresholds, { p99: 100, p999: 100, maxGap: 1000 })],
    [
      'with no metrics and no driver exposition',
      (f) => {
        f.input.plan.deployment.template.metricsPath = null;
        f.input.driverMetricsText = null;
      },
    ],
    ['a closed loop on autocannon', (f) => Object.assign(f.input.plan.driver, { engine: 'autocannon', rate: 0 })],
    ['a step that never ran', (f) => void f.input.steps.splice(2, 1)],
  ];

  it.each(variants)('%s: every emitted check id is declared by the module of its group', (_, mutate) => {
    const f = passingInput();
    mutate(f);
    const r: RunResult = verifyRun(f.input);
    for (const c of r.checks) {
      const owners = CHECK_MODULES.filter((m) => m.name === c.group);
      expect(owners.length, `group ${c.group} of ${c.id}`).toBeGreaterThan(0);
      expect(
        owners.some((m) => m.ids.some((p) => matchesDeclared(c.id, p))),
        `${c.id} is not declared by a ${c.group} module`,
      ).toBe(true);
    }
  });
});
