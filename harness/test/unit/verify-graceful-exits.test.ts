/**
 * orchestrator.graceful-exits: graceful means graceful. Each mutation of the passing run changes
 * how one retired replica ended; exactly that check FAILs (exit 1), in its own words.
 */
import { describe, expect, it } from 'vitest';
import type { ReplicaRecord } from '../../../orchestrator/index.js';
import type { CheckStatus, RunResult } from '../../src/result/types.js';
import { verifyRun } from '../../src/verify/verify.js';
import { ungracefulReason } from '../../src/verify/checks/graceful-exits.js';
import { passingInput } from '../fixtures/verify-input.js';

function notPassing(r: RunResult): Record<string, CheckStatus> {
  return Object.fromEntries(r.checks.filter((c) => c.status !== 'pass').map((c) => [c.id, c.status]));
}

const GRACE = 10_000; // the scenario default

const CASES: Array<[string, (r: ReplicaRecord) => void, RegExp]> = [
  [
    'exit code 0 while still routed (abrupt exit on SIGTERM, before its unroute)',
    (r) => {
      r.exit!.atMs = r.drainingMs! + 0.5;
      r.exitedMs = r.exit!.atMs;
    },
    /web-v1-b exited 1 ms before the proxy took it out of rotation/,
  ],
  ['a non-zero exit code after SIGTERM', (r) => void (r.exit!.code = 1), /web-v1-b exit code 1/],
  ['ended by a signal it did not handle', (r) => void ((r.exit!.code = null), (r.exit!.signal = 'SIGTERM')), /web-v1-b ended by signal SIGTERM/],
  ['crashed on its own before SIGTERM', (r) => void ((r.sigtermMs = null), (r.exit!.kind = 'crashed')), /web-v1-b crashed/],
  [
    'exited by itself but after the grace period',
    (r) => {
      r.exit!.atMs = r.drainingMs! + GRACE + 1;
      r.exitedMs = r.exit!.atMs;
    },
    /beyond the grace period/,
  ],
  [
    'still running when the run ended (waited for, up to its grace)',
    (r) => void ((r.exit = null), (r.exitedMs = null)),
    /web-v1-b still running 10000 ms after/,
  ],
];

describe('orchestrator.graceful-exits: one negative control per way to exit badly', () => {
  it.each(CASES)('%s → FAIL on orchestrator.graceful-exits', (_, mutate, words) => {
    const f = passingInput();
    mutate(f.record('web-v1-b'));
    // A killed-or-worse replica also leaves its final counts unread in some cases; here they were read.
    const r = verifyRun(f.input);
    expect(notPassing(r)).toEqual({ 'orchestrator.graceful-exits': 'fail' });
    expect(r.verdict).toBe('FAIL');
    expect(r.exitCode).toBe(1);
    expect(r.checks.find((c) => c.id === 'orchestrator.graceful-exits')!.actual).toMatch(words);
  });

  it('a replica a zone crash had killed before the rollout retired it is not judged (its zone.down lists it); unlisted, the same record FAILs', () => {
    const f = passingInput();
    const r = f.record('web-v1-b');
    r.exit = null;
    r.exitedMs = null;
    expect(notPassing(verifyRun(f.input))).toEqual({ 'orchestrator.graceful-exits': 'fail' });
    f.timeline.push({ t: r.drainingMs! - 1, type: 'zone.down', zone: 'b', mode: 'crash', replicas: ['web-v1-b'] });
    const res = verifyRun(f.input);
    expect(res.checks.find((c) => c.id === 'orchestrator.graceful-exits')).toMatchObject({
      status: 'pass',
      actual: expect.stringMatching(/^0 of /) as unknown,
    });
  });

  it('the passing run: drained, unrouted, SIGTERM, exit 0 after its unroute → graceful', () => {
    const f = passingInput();
    expect(notPassing(verifyRun(f.input))).toEqual({});
    expect(
      ungracefulReason({ id: 'x', drainingMs: 0, unroutedMs: 500, sigtermMs: 0, exit: { kind: 'graceful', code: 0, signal: null, atMs: 900 } }, GRACE),
    ).toBeNull();
  });
});
