/**
 * Every scenario error at once: schema errors and cross-field errors in one pass, each with its
 * file:line:column and a fix line, and no cross-field error made up from a default standing in
 * for a value that did not parse.
 */
import { describe, expect, it } from 'vitest';
import { ZerodropError } from '../../../common/src/errors.js';
import { bestEffortView, parseScenarioText, usableFields } from '../../src/scenario/load.js';
import { describeField, fixFor, knownKeys } from '../../src/scenario/field-help.js';
import { SAMPLE_APP_FAULTS } from '../../src/scenario/schema.js';

function problems(yaml: string): string[] {
  try {
    parseScenarioText(yaml, 'bad.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ZerodropError);
    expect((err as ZerodropError).code).toBe('ZD_BAD_SCENARIO');
    expect((err as ZerodropError).exitCode).toBe(2);
    return (err as ZerodropError).details;
  }
  throw new Error('expected the scenario to be rejected');
}

/** "bad.yaml:3:13  deployment.replicas: …\n      fix: …" → { line, field, fix } */
function parsed(detail: string): { line: number; field: string; message: string; fix: string | null } {
  const m = /^bad\.yaml:(\d+):\d+ {2}(\S+): (.*?)(?:\n {6}fix: (.*))?$/s.exec(detail);
  if (!m) throw new Error(`unexpected problem format: ${detail}`);
  return { line: Number(m[1]), field: m[2]!, message: m[3]!, fix: m[4] ?? null };
}

const MIXED = [
  /* 1 */ 'name: mixed',
  /* 2 */ 'deployment:',
  /* 3 */ '  replicas: 70', //                                      schema: too big
  /* 4 */ '  zones: [a, b]',
  /* 5 */ '  termination: { preStop: 5s, gracePeriod: 2s }', //      cross: grace ≤ preStop
  /* 6 */ 'proxy:',
  /* 7 */ '  maxAttempts: 12', //                                   schema: too big (had no fix line)
  /* 8 */ '  perTryTimeout: 20s', //                                cross: ≥ load.timeout
  /* 9 */ '  engine: envoy', //                                     schema: enum
  /* 10 */ 'load:',
  /* 11 */ '  rate: fast', //                                       schema: type
  /* 12 */ '  duration: 10s',
  /* 13 */ '  warmup: 20s', //                                      cross: warm-up ≥ duration
  /* 14 */ '  timeout: 5s',
  /* 15 */ 'timeline:',
  /* 16 */ '  - { at: 8s, action: rollout, version: v2 }',
  /* 17 */ '  - { at: 2s, action: crash-zone, zone: c }', //        cross: out of order, unknown zone
  /* 18 */ '  - { at: 3s, action: explode }', //                    schema: bad action
  /* 19 */ '  - { at: 30s, action: scale, replicas: 3 }', //        cross: after the load (index kept)
  /* 20 */ 'thresholds: { maxFailed: -1, maxRolloutRetries: 0.5 }', // schema: min, int (had no fix line)
].join('\n');

describe('every scenario error at once', () => {
  it('lists schema and cross-field errors together, each at its line, each with a fix', () => {
    const all = problems(MIXED).map(parsed);
    const byField = (f: string): { line: number; message: string; fix: string | null }[] => all.filter((p) => p.field === f);
    // schema
    expect(byField('deployment.replicas')[0]).toMatchObject({ line: 3 });
    expect(byField('proxy.maxAttempts')[0]).toMatchObject({ line: 7 });
    expect(byField('proxy.engine')[0]).toMatchObject({ line: 9 });
    expect(byField('load.rate')[0]).toMatchObject({ line: 11 });
    expect(byField('timeline[2].action')[0]).toMatchObject({ line: 18 });
    expect(byField('thresholds.maxFailed')[0]).toMatchObject({ line: 20 });
    expect(byField('thresholds.maxRolloutRetries')[0]).toMatchObject({ line: 20 });
    // cross-field, in the same pass
    expect(byField('deployment.termination.gracePeriod')[0]).toMatchObject({ line: 5, message: expect.stringContaining('longer than preStop') });
    expect(byField('proxy.perTryTimeout')[0]).toMatchObject({ line: 8, message: expect.stringContaining('below load.timeout') });
    expect(byField('load.warmup')[0]).toMatchObject({ line: 13, message: expect.stringContaining('warm-up') });
    expect(byField('timeline[1].at')[0]).toMatchObject({ line: 17, message: expect.stringContaining('time order') });
    expect(byField('timeline[1].zone')[0]).toMatchObject({ line: 17, message: 'no zone "c"' });
    // the entry after the one that failed keeps its own index and line
    expect(byField('timeline[3].at')[0]).toMatchObject({ line: 19, message: expect.stringContaining('not inside the load') });
    for (const p of all) expect(p.fix, `${p.field} has no fix line`).toBeTruthy();
    // listed top to bottom
    const lines = all.map((p) => p.line);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
  });

  it('fix lines for number and choice errors come from the schema: bounds and an example', () => {
    const all = problems(MIXED).map(parsed);
    const fix = (f: string): string => all.find((p) => p.field === f)?.fix ?? '';
    expect(fix('proxy.maxAttempts')).toMatch(/1 to 10/);
    expect(fix('thresholds.maxFailed')).toMatch(/≥ 0/);
    expect(fix('proxy.engine')).toMatch(/node, haproxy/);
    expect(fix('deployment.replicas')).toMatch(/1 to 64/);
  });

  it('skips a cross-field rule whose inputs did not parse (no error made up from a default)', () => {
    const details = problems(
      [
        'deployment: { zones: [A, b] }', //                    bad zones: "no zone" would be checked against the default a, b, c
        'load: { duration: soon, warmup: 20s }', //           bad duration: warm-up ≥ duration cannot be judged
        'proxy: { perTryTimeout: 20s }', //                     load.timeout (default 10s) parsed: this one still runs
        'timeline:',
        '  - { at: 2s, action: crash-zone, zone: q }',
        '  - { at: 3s, action: crash-zone, zone: b, extra: 1 }',
      ].join('\n'),
    ).join('\n');
    expect(details).toContain('deployment.zones[0]');
    expect(details).toContain('load.duration: "soon" is not a duration');
    expect(details).toContain('proxy.perTryTimeout: must be well below load.timeout');
    expect(details).not.toContain('no zone');
    expect(details).not.toContain('warm-up');
    expect(details).not.toContain('not inside the load');
    expect(details).toMatch(/timeline\[1\]\.extra: unknown field[\s\S]*known fields here: at, action/);
  });

  it('a timeline entry that failed is left out of the zone sequence instead of guessed', () => {
    // The crash at [0] has a bad "at": the recover at [1] must not be called "not down".
    const details = problems(
      ['deployment: { zones: [a, b] }', 'timeline:', '  - { at: later, action: crash-zone, zone: a }', '  - { at: 3s, action: recover-zone, zone: a }'].join(
        '\n',
      ),
    ).join('\n');
    expect(details).toContain('timeline[0].at');
    expect(details).not.toContain('is not down');
  });

  it('bestEffortView: the fields that parsed, the defaults elsewhere, and which is which', () => {
    const view = bestEffortView({
      load: { rate: 'fast', duration: '20s' },
      timeline: [
        { at: 1, action: 'nope' },
        { at: 2000, action: 'scale', replicas: 2 },
      ],
    });
    expect(view).not.toBeNull();
    expect(view!.scenario.load.duration).toBe(20_000);
    expect(view!.scenario.load.rate).toBe(2000); // the default, standing in
    expect(view!.bad).toEqual(expect.arrayContaining(['load.rate', 'timeline.0']));
    expect(view!.scenario.timeline).toHaveLength(1);
    expect(view!.timelineIndex).toEqual([1]);
    const usable = usableFields(view!.bad);
    expect(usable('load.duration')).toBe(true);
    expect(usable('load.rate')).toBe(false);
    expect(usable('load')).toBe(false);
    expect(usable('timeline')).toBe(false);
    expect(bestEffortView('not a mapping')).toBeNull();
  });

  it('every field the schema knows has a fix line', () => {
    const leaves: (string | number)[][] = [];
    const walk = (path: (string | number)[]): void => {
      const keys = knownKeys(path);
      if (keys.length === 0) {
        leaves.push(path);
        return;
      }
      for (const k of keys) walk([...path, k]);
    };
    walk([]);
    walk(['timeline', 0]);
    walk(['load', 'requests', 0]);
    expect(leaves.length).toBeGreaterThan(60);
    const missing = leaves.filter((p) => !fixFor(p, ''));
    expect(missing.map((p) => p.join('.'))).toEqual([]);
  });

  it('describeField reads bounds, choices and defaults from the schema', () => {
    expect(describeField(['deployment', 'readiness', 'successThreshold'])).toBe('a whole number ≥ 1, e.g. successThreshold: 1');
    expect(describeField(['proxy', 'upstream', 'pipelining'])).toMatch(/^a whole number from 1 to 16, e.g. pipelining: \d+$/);
    expect(describeField(['deployment', 'strategy', 'progressDeadlineSeconds'])).toMatch(/^a number > 0/);
    expect(describeField(['proxy', 'upstream', 'client'])).toMatch(/^one of: raw, undici/);
    expect(describeField(['deployment', 'termination', 'routingLag'])).toMatch(/duration.*e\.g\. routingLag: 500ms/);
    expect(describeField(['thresholds', 'p99'])).toMatch(/duration.*or null/);
    expect(describeField(['timeline', 0, 'replicas'])).toBe('a whole number from 0 to 64');
    expect(describeField(['no', 'such'])).toBeUndefined();
  });
});

describe('sample-app faults', () => {
  it('accepts every switch sample-app has, close-idle included', () => {
    expect(SAMPLE_APP_FAULTS).toContain('close-idle');
    const { scenario } = parseScenarioText('target: { appFaults: [close-idle] }');
    expect(scenario.target.appFaults).toEqual(['close-idle']);
  });

  it('refuses what sample-app would refuse at start-up: two SIGTERM switches, a value on a plain switch, ready-early with no warm-up', () => {
    const details = problems(
      [
        'target: { appFaults: [close-idle, no-drain, abrupt-exit=1] }',
        'timeline:',
        '  - { at: 2s, action: rollout, version: v2, appFaults: [ready-early] }',
      ].join('\n'),
    ).join('\n');
    expect(details).toContain('switches close-idle, no-drain and abrupt-exit all change what SIGTERM does');
    expect(details).toContain('fault "abrupt-exit" takes no value');
    expect(details).toMatch(/timeline\[0\]\.appFaults: ready-early needs a warm-up/);
    // said once, at target.appFaults, not again for the rollout that inherits them
    expect(details.match(/change what SIGTERM does/g)).toHaveLength(1);
  });
});
