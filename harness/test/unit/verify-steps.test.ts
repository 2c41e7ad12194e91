/**
 * Issue 11, item 2: each timeline step is judged by itself. Edited copies of the passing
 * fixture run: a rollout passes only when ITS revision completed (a deadline hit FAILs even if
 * a later rollout succeeds; a superseded rollout FAILs), rollback and scale steps get their own
 * checks and disruption windows, `events.final-version` follows a later rollback, and a step
 * that exercised nothing is INVALID (item 5). Each case asserts the verdict, the exit code and
 * exactly which checks did not pass.
 */
import { describe, expect, it } from 'vitest';
import type { TimelineEvent } from '../../../orchestrator/index.js';
import type { CheckStatus, RunResult, Verdict } from '../../src/result/types.js';
import type { PlannedStep } from '../../src/scenario/resolve.js';
import { verifyRun } from '../../src/verify/verify.js';
import { ORIGIN, ROLLOUT_AT, ROLLOUT_DONE, passingInput, type Fixture } from '../fixtures/verify-input.js';

function notPassing(r: RunResult): Record<string, CheckStatus> {
  return Object.fromEntries(r.checks.filter((c) => c.status !== 'pass').map((c) => [c.id, c.status]));
}

function checkOf(r: RunResult, id: string): RunResult['checks'][number] {
  const c = r.checks.find((x) => x.id === id);
  if (!c) throw new Error(`no check ${id} in ${r.checks.map((x) => x.id).join(', ')}`);
  return c;
}

/** Adds a planned step (in time order) that the runner executed at `atMs`, with its events. */
function addStep(f: Fixture, step: PlannedStep, events: TimelineEvent[], endedMs: number | null = null, outcome: 'done' | 'failed' = 'done'): void {
  const plan = f.input.plan;
  plan.steps.push(step);
  plan.steps.sort((a, b) => a.atMs - b.atMs);
  f.input.steps.push({ step, startedMs: step.atMs, endedMs: endedMs ?? step.atMs + 5, outcome, detail: null });
  f.timeline.push(...events.map((e) => ({ ...e, t: e.t + ORIGIN })));
  f.timeline.sort((a, b) => a.t - b.t);
}

function replaceEvent(f: Fixture, type: TimelineEvent['type'], by: TimelineEvent[]): void {
  const i = f.timeline.findIndex((e) => e.type === type);
  f.timeline.splice(i, 1, ...by.map((e) => ({ ...e, t: e.t + ORIGIN })));
  f.timeline.sort((a, b) => a.t - b.t);
}

/** The deployment ended with every replica on `version`. */
function endedOn(f: Fixture, version: string): void {
  const v = f.input.controller.view();
  f.input.controller = { ...f.input.controller, view: () => ({ ...v, version, replicas: v.replicas.map((x) => ({ ...x, version })) }) };
}

/** A manual rollback at 5 s (to revision 1, v1) that completed in 700 ms. */
function completedRollback(f: Fixture): void {
  addStep(
    f,
    { atMs: 5000, kind: 'rollback', label: 'rollback at 5s', toRevision: undefined },
    [
      { t: 5000, type: 'rollback.started', toRevision: 1, version: 'v1', automatic: false },
      { t: 5000, type: 'rollout.started', revision: 1, version: 'v1', fromVersion: 'v2' },
      { t: 5700, type: 'rollout.completed', revision: 1, version: 'v1', durationMs: 700 },
    ],
    5700,
  );
}

const rollout = (atMs: number, version: string): PlannedStep => ({ atMs, kind: 'rollout', label: `rollout ${version} at ${atMs / 1000}s`, patch: { version } });

type Case = [what: string, mutate: (f: Fixture) => void, caught: Record<string, CheckStatus>, verdict: Verdict];

const CASES: Case[] = [
  [
    'v2 hits its progress deadline (auto-rolled back), then a good v3: the v2 step FAILs although v3 completed',
    (f) => {
      replaceEvent(f, 'rollout.completed', [
        { t: ROLLOUT_DONE, type: 'rollout.failed', revision: 2, version: 'v2', reason: 'ProgressDeadlineExceeded' },
        { t: ROLLOUT_DONE, type: 'rollback.started', toRevision: 1, version: 'v1', automatic: true },
        { t: ROLLOUT_DONE, type: 'rollout.started', revision: 1, version: 'v1', fromVersion: 'v2' },
        { t: ROLLOUT_DONE + 300, type: 'rollout.completed', revision: 1, version: 'v1', durationMs: 300 },
      ]);
      Object.assign(f.input.steps[0]!, { outcome: 'failed', detail: 'ProgressDeadlineExceeded' });
      addStep(
        f,
        rollout(5000, 'v3'),
        [
          { t: 5000, type: 'rollout.started', revision: 3, version: 'v3', fromVersion: 'v1' },
          { t: 5600, type: 'rollout.completed', revision: 3, version: 'v3', durationMs: 600 },
        ],
        5600,
      );
      endedOn(f, 'v3');
    },
    { 'events.1-rollout': 'fail' },
    'FAIL',
  ],
  [
    'a rollout superseded by the next one before it completed FAILs; the next one passes on its own',
    (f) => {
      replaceEvent(f, 'rollout.completed', []);
      Object.assign(f.input.steps[0]!, { outcome: 'failed', detail: 'superseded by revision 3' });
      addStep(
        f,
        rollout(4000, 'v3'),
        [
          { t: 4000, type: 'rollout.started', revision: 3, version: 'v3', fromVersion: 'v2' },
          { t: 4800, type: 'rollout.completed', revision: 3, version: 'v3', durationMs: 800 },
        ],
        4800,
      );
      endedOn(f, 'v3');
    },
    { 'events.1-rollout': 'fail' },
    'FAIL',
  ],
  [
    'a later revision completing with the same number does not rescue a failed rollout (the window ends at the next rollout)',
    (f) => {
      replaceEvent(f, 'rollout.completed', [
        { t: ROLLOUT_DONE, type: 'rollout.failed', revision: 2, version: 'v2', reason: 'ProgressDeadlineExceeded' },
        { t: ROLLOUT_DONE, type: 'rollback.started', toRevision: 1, version: 'v1', automatic: true },
        { t: ROLLOUT_DONE, type: 'rollout.started', revision: 1, version: 'v1', fromVersion: 'v2' },
        { t: ROLLOUT_DONE + 300, type: 'rollout.completed', revision: 1, version: 'v1', durationMs: 300 },
      ]);
      addStep(
        f,
        rollout(5000, 'v2'),
        [
          { t: 5000, type: 'rollout.started', revision: 2, version: 'v2', fromVersion: 'v1' },
          { t: 5600, type: 'rollout.completed', revision: 2, version: 'v2', durationMs: 600 },
        ],
        5600,
      );
    },
    { 'events.1-rollout': 'fail' },
    'FAIL',
  ],
  [
    'a rollback step that completes passes, and final-version expects the version rolled back to',
    (f) => {
      completedRollback(f);
      endedOn(f, 'v1');
    },
    {},
    'PASS',
  ],
  [
    'a rollback step whose replicas end on the rolled-out version: final-version FAILs (it follows the later rollback)',
    (f) => {
      completedRollback(f);
    },
    { 'events.final-version': 'fail' },
    'FAIL',
  ],
  [
    'a rollback that never completes FAILs its own check',
    (f) => {
      // After the zone crash: the retries it caused are not the rollback's.
      addStep(
        f,
        { atMs: 8500, kind: 'rollback', label: 'rollback at 8.5s', toRevision: undefined },
        [
          { t: 8500, type: 'rollback.started', toRevision: 1, version: 'v1', automatic: false },
          { t: 8500, type: 'rollout.started', revision: 1, version: 'v1', fromVersion: 'v2' },
        ],
        null,
        'failed',
      );
      endedOn(f, 'v1');
    },
    { 'events.4-rollback': 'fail' },
    'FAIL',
  ],
  [
    'a rollout of the revision already running exercised nothing: INVALID',
    (f) => {
      addStep(
        f,
        rollout(5000, 'v2'),
        [
          { t: 5000, type: 'rollout.started', revision: 2, version: 'v2', fromVersion: 'v2' },
          { t: 5001, type: 'rollout.completed', revision: 2, version: 'v2', durationMs: 1 },
        ],
        5001,
      );
    },
    { 'events.2-rollout': 'invalid' },
    'INVALID',
  ],
  [
    'a scale-up that reached its count passes',
    (f) => {
      addStep(f, { atMs: 5000, kind: 'scale', label: 'scale to 4 at 5s', replicas: 4 }, [
        { t: 5000, type: 'deployment.scaled', from: 3, to: 4 },
        { t: 5400, type: 'replica.ready', replica: 'web-v2-b2', zone: 'b', version: 'v2', revision: 2 },
      ]);
    },
    {},
    'PASS',
  ],
  [
    'a scale-up that never reached its count FAILs its own check',
    (f) => void addStep(f, { atMs: 5000, kind: 'scale', label: 'scale to 5 at 5s', replicas: 5 }, [{ t: 5000, type: 'deployment.scaled', from: 3, to: 5 }]),
    { 'events.2-scale': 'fail' },
    'FAIL',
  ],
  [
    'a scale to the current count exercised nothing: INVALID',
    (f) => void addStep(f, { atMs: 5000, kind: 'scale', label: 'scale to 3 at 5s', replicas: 3 }, [{ t: 5000, type: 'deployment.scaled', from: 3, to: 3 }]),
    { 'events.2-scale': 'invalid' },
    'INVALID',
  ],
  [
    'a zone failure in a zone with no replicas exercised nothing: INVALID (its recovery is skipped, with the reason)',
    (f) => {
      const down = f.timeline.find((e) => e.type === 'zone.down');
      if (down?.type === 'zone.down') down.replicas = [];
      // Nothing was killed, so no upstream try failed and no request needed a retry either.
      f.input.failedTries = { tries: [], dropped: 0, resolutionMs: 0 };
      f.ledger.attempts.fill(1);
    },
    { 'events.2-crash-zone-injected': 'invalid', 'events.2-crash-zone-recovered': 'skip' },
    'INVALID',
  ],
  [
    'recovering a zone that was not down exercised nothing: INVALID',
    (f) =>
      void f.timeline.splice(
        f.timeline.findIndex((e) => e.type === 'zone.up'),
        1,
      ),
    { 'events.3-recover-zone': 'invalid' },
    'INVALID',
  ],
];

describe('verifyRun: each timeline step judged by itself', () => {
  it.each(CASES)('%s', (_, mutate, caught, verdict) => {
    const f = passingInput();
    mutate(f);
    const r = verifyRun(f.input);
    expect(notPassing(r)).toEqual(caught);
    expect(r.verdict).toBe(verdict);
    expect(r.exitCode).toBe(verdict === 'PASS' ? 0 : verdict === 'FAIL' ? 1 : 3);
  });

  it('the failed v2 step says why, and the headline states it', () => {
    const f = passingInput();
    CASES[0]![1](f);
    const r = verifyRun(f.input);
    expect(checkOf(r, 'events.1-rollout').actual).toBe('revision 2 (v2) failed: ProgressDeadlineExceeded');
    expect(checkOf(r, 'events.2-rollout').actual).toBe('revision 3 (v3) completed in 0.6 s');
    expect(r.headline).toMatch(/^FAIL: rollout v2 at 3s did not complete: revision 2 \(v2\) failed: ProgressDeadlineExceeded — 10,000 requests/);
  });

  it('rollback and scale steps get their own disruption windows (until their revision completed / the count was reached)', () => {
    const f = passingInput();
    CASES[3]![1](f);
    const rb = verifyRun(f.input).disruption.events.find((e) => e.kind === 'rollback')!;
    expect([rb.id, rb.startMs, rb.endMs]).toEqual(['2-rollback', 5000, 5700]);
    const g = passingInput();
    CASES[7]![1](g);
    const sc = verifyRun(g.input).disruption.events.find((e) => e.kind === 'scale')!;
    expect([sc.id, sc.startMs, sc.endMs]).toEqual(['2-scale', 5000, 5400]);
    expect(sc.during.sent).toBe(400);
  });

  it('the rollout window ends when its own revision completed', () => {
    const r = verifyRun(passingInput().input);
    const e = r.disruption.events.find((x) => x.kind === 'rollout')!;
    expect([e.startMs, e.endMs]).toEqual([ROLLOUT_AT, ROLLOUT_DONE]);
  });
});
