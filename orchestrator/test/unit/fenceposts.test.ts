import { describe, expect, it } from 'vitest';
import { parseIntOrPercent, resolveFenceposts, scaledValue, validateRollingUpdate } from '../../src/planner/fenceposts.js';
import type { IntOrPercent } from '../../src/spec.js';

describe('resolveFenceposts (ResolveFenceposts + MaxUnavailable)', () => {
  it.each<{ surge: IntOrPercent; unavail: IntOrPercent; replicas: number; maxSurge: number; maxUnavailable: number; why: string }>([
    { surge: '25%', unavail: '25%', replicas: 3, maxSurge: 1, maxUnavailable: 0, why: '0.75 rounds up to 1 and down to 0 (deployment.md)' },
    { surge: '25%', unavail: '25%', replicas: 6, maxSurge: 2, maxUnavailable: 1, why: '1.5 → 2 up, 1 down' },
    { surge: '25%', unavail: '25%', replicas: 10, maxSurge: 3, maxUnavailable: 2, why: '2.5 → 3 up, 2 down' },
    { surge: '25%', unavail: '25%', replicas: 4, maxSurge: 1, maxUnavailable: 1, why: 'exact percentages stay exact' },
    { surge: '0%', unavail: '0%', replicas: 5, maxSurge: 0, maxUnavailable: 1, why: 'both 0 ⇒ maxUnavailable 1' },
    { surge: '0%', unavail: '1%', replicas: 2, maxSurge: 0, maxUnavailable: 1, why: '1% of 2 floors to 0, then forced to 1' },
    { surge: '1%', unavail: '25%', replicas: 2, maxSurge: 1, maxUnavailable: 0, why: '1% of 2 ceils to 1' },
    { surge: '1%', unavail: '0%', replicas: 1, maxSurge: 1, maxUnavailable: 0, why: '1% of 1 ceils to 1' },
    { surge: 3, unavail: 2, replicas: 10, maxSurge: 3, maxUnavailable: 2, why: 'absolute numbers as is (rolling.go example)' },
    { surge: 0, unavail: 5, replicas: 3, maxSurge: 0, maxUnavailable: 3, why: 'maxUnavailable clamps to replicas' },
    { surge: '0%', unavail: '100%', replicas: 4, maxSurge: 0, maxUnavailable: 4, why: '100% is everything' },
    { surge: 2, unavail: 1, replicas: 0, maxSurge: 2, maxUnavailable: 0, why: '0 replicas ⇒ maxUnavailable 0; surge is not clamped' },
    { surge: '0%', unavail: '0%', replicas: 0, maxSurge: 0, maxUnavailable: 0, why: 'the forced 1 is clamped away at 0 replicas' },
    { surge: '29%', unavail: '29%', replicas: 100, maxSurge: 29, maxUnavailable: 29, why: 'no float error (0.29 * 100 = 28.999… in floats)' },
  ])('$surge/$unavail of $replicas → surge $maxSurge, unavailable $maxUnavailable ($why)', ({ surge, unavail, replicas, maxSurge, maxUnavailable }) => {
    expect(resolveFenceposts(surge, unavail, replicas)).toEqual({ maxSurge, maxUnavailable });
  });

  it.each([
    { value: '33%' as const, total: 10, up: true, expected: 4 },
    { value: '33%' as const, total: 10, up: false, expected: 3 },
    { value: 7, total: 10, up: false, expected: 7 },
  ])('scaledValue($value of $total, roundUp $up) = $expected', ({ value, total, up, expected }) => {
    expect(scaledValue(value, total, up)).toBe(expected);
  });
});

describe('parseIntOrPercent', () => {
  it.each([
    { input: 0, value: 0 },
    { input: 3, value: 3 },
    { input: '25%', value: '25%' },
    { input: '0%', value: '0%' },
    { input: '150%', value: '150%' },
  ])('accepts $input', ({ input, value }) => {
    expect(parseIntOrPercent(input)).toEqual({ ok: true, value });
  });

  it.each([
    { input: -1, problem: 'must not be negative, got -1' },
    { input: 1.5, problem: 'got 1.5' },
    { input: Number.NaN, problem: 'got NaN' },
    { input: '3', problem: 'got "3"' },
    { input: '2.5%', problem: 'got "2.5%"' },
    { input: '-5%', problem: 'got "-5%"' },
    { input: ' 5%', problem: 'got " 5%"' },
    { input: '%', problem: 'got "%"' },
    { input: null, problem: 'got null' },
    { input: true, problem: 'got boolean' },
  ])('refuses $input with a message naming the problem', ({ input, problem }) => {
    const parsed = parseIntOrPercent(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(problem);
  });
});

describe('validateRollingUpdate (ValidateRollingUpdateDeployment)', () => {
  it.each<{ surge: IntOrPercent; unavail: IntOrPercent; problems: string[] }>([
    { surge: '25%', unavail: '25%', problems: [] },
    { surge: 0, unavail: 1, problems: [] },
    { surge: '1%', unavail: '0%', problems: [] },
    { surge: 0, unavail: 0, problems: ['maxUnavailable may not be 0 when maxSurge is 0'] },
    { surge: '0%', unavail: 0, problems: ['maxUnavailable may not be 0 when maxSurge is 0'] },
    { surge: 1, unavail: '101%', problems: ['maxUnavailable must not be greater than 100%'] },
    { surge: '200%', unavail: '100%', problems: [] },
  ])('maxSurge $surge, maxUnavailable $unavail → $problems', ({ surge, unavail, problems }) => {
    const found = validateRollingUpdate(surge, unavail);
    expect(found).toHaveLength(problems.length);
    problems.forEach((p, i) => expect(found[i]).toContain(p));
  });
});
