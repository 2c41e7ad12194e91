/**
 * The ceiling search's order, against a fake probe that answers from a table and records the
 * rates it was asked: the low bound first (or the given start), the high bound, bisection, and
 * one repeat of an INVALID rate (never of a FAIL).
 */
import { describe, expect, it } from 'vitest';
import { dockerSearchBounds, searchCeiling, type SearchBounds, type SearchOutcome, type SearchVerdict } from '../../scripts/bench/ceiling-search.js';

/** A service that passes up to `limit` req/s; `invalidOnce` rates are INVALID the first time, `invalidAlways` every time. */
function fakeMachine(limit: number, invalidOnce: number[] = [], invalidAlways: number[] = []) {
  const asked: string[] = [];
  const seen = new Set<number>();
  const probe = async (rate: number): Promise<SearchVerdict> => {
    let v: SearchVerdict = rate <= limit ? 'PASS' : 'FAIL';
    if (invalidAlways.includes(rate) || (invalidOnce.includes(rate) && !seen.has(rate))) v = 'INVALID';
    seen.add(rate);
    asked.push(`${rate} ${v}`);
    return v;
  };
  return { probe, asked };
}

const bounds = (over: Partial<SearchBounds> = {}): SearchBounds => ({ low: 1000, high: 12_000, maxProbes: 6, resolution: 600, start: null, ...over });

const cases: { name: string; b: SearchBounds; limit: number; invalidOnce?: number[]; invalidAlways?: number[]; asked: string[]; out: SearchOutcome }[] = [
  {
    name: 'low, high, then bisection',
    b: bounds(),
    limit: 8000,
    asked: ['1000 PASS', '12000 FAIL', '6500 PASS', '9300 FAIL', '7900 PASS', '8600 FAIL'],
    out: { ceiling: 7900, bound: 'bracketed', firstFailing: 8600 },
  },
  {
    name: 'the low bound failing ends it',
    b: bounds(),
    limit: 500,
    asked: ['1000 FAIL'],
    out: { ceiling: 0, bound: 'below', firstFailing: 1000 },
  },
  {
    name: 'the high bound passing ends it',
    b: bounds(),
    limit: 20_000,
    asked: ['1000 PASS', '12000 PASS'],
    out: { ceiling: 12_000, bound: 'at-least', firstFailing: null },
  },
  {
    name: 'an INVALID rate is probed once more and counts if the repeat passes',
    b: bounds(),
    limit: 10_000,
    invalidOnce: [9300],
    asked: ['1000 PASS', '12000 FAIL', '6500 PASS', '9300 INVALID', '9300 PASS', '10700 FAIL'],
    out: { ceiling: 9300, bound: 'bracketed', firstFailing: 10_700 },
  },
  {
    name: 'a second INVALID at the same rate is final',
    b: bounds(),
    limit: 10_000,
    invalidAlways: [9300],
    asked: ['1000 PASS', '12000 FAIL', '6500 PASS', '9300 INVALID', '9300 INVALID', '7900 PASS'],
    out: { ceiling: 7900, bound: 'bracketed', firstFailing: 9300 },
  },
  {
    name: 'a FAIL is never repeated',
    b: bounds({ maxProbes: 3 }),
    limit: 5000,
    asked: ['1000 PASS', '12000 FAIL', '6500 FAIL'],
    out: { ceiling: 1000, bound: 'bracketed', firstFailing: 6500 },
  },
  {
    name: 'a start that passes stands for the low bound',
    b: bounds({ start: 8560 }),
    limit: 10_000,
    asked: ['8600 PASS', '12000 FAIL', '10300 FAIL', '9500 PASS', '9900 PASS'],
    out: { ceiling: 9900, bound: 'bracketed', firstFailing: 10_300 },
  },
  {
    name: 'a start that fails stands for the high bound',
    b: bounds({ start: 8560 }),
    limit: 6000,
    asked: ['8600 FAIL', '1000 PASS', '4800 PASS', '6700 FAIL', '5800 PASS', '6300 FAIL'],
    out: { ceiling: 5800, bound: 'bracketed', firstFailing: 6300 },
  },
  {
    name: 'a start outside the bounds is clamped into them',
    b: bounds({ start: 50_000, maxProbes: 2 }),
    limit: 20_000,
    asked: ['12000 PASS'],
    out: { ceiling: 12_000, bound: 'at-least', firstFailing: null },
  },
  {
    name: 'a start at the low bound that fails ends it',
    b: bounds({ start: 500 }),
    limit: 500,
    asked: ['1000 FAIL'],
    out: { ceiling: 0, bound: 'below', firstFailing: 1000 },
  },
  {
    name: 'a start that fails with no probe left: below, the start the first failing rate',
    b: bounds({ start: 8560, maxProbes: 1 }),
    limit: 6000,
    asked: ['8600 FAIL'],
    out: { ceiling: 0, bound: 'below', firstFailing: 8600 },
  },
  {
    name: 'a start that passes with no probe left: at least the start',
    b: bounds({ start: 8560, maxProbes: 2 }),
    limit: 10_000,
    invalidOnce: [8600],
    asked: ['8600 INVALID', '8600 PASS'],
    out: { ceiling: 8600, bound: 'at-least', firstFailing: null },
  },
  {
    name: 'the last probe is not repeated past the budget',
    b: bounds({ maxProbes: 2 }),
    limit: 10_000,
    invalidOnce: [12_000],
    asked: ['1000 PASS', '12000 INVALID'],
    out: { ceiling: 1000, bound: 'bracketed', firstFailing: 12_000 },
  },
];

describe('searchCeiling', () => {
  it.each(cases)('$name', async ({ b, limit, invalidOnce, invalidAlways, asked, out }) => {
    const m = fakeMachine(limit, invalidOnce, invalidAlways);
    expect(await searchCeiling(b, m.probe)).toEqual(out);
    expect(m.asked).toEqual(asked);
    expect(m.asked.length).toBeLessThanOrEqual(b.maxProbes);
  });
});

describe('dockerSearchBounds', () => {
  const o = { low: 8000, high: 15_000, goal: 0.8 };
  it.each<{ name: string; process: SearchOutcome | undefined; out: ReturnType<typeof dockerSearchBounds> }>([
    {
      name: 'starts at the goal line, capped at the process search first failing rate',
      process: { ceiling: 14_200, bound: 'bracketed', firstFailing: 15_000 },
      out: { goalLine: 11_360, start: 11_360, high: 15_000 },
    },
    {
      name: 'a process search that failed lower caps the high bound there',
      process: { ceiling: 11_000, bound: 'bracketed', firstFailing: 12_000 },
      out: { goalLine: 8800, start: 8800, high: 12_000 },
    },
    {
      name: 'a goal line below the low bound starts at the low bound',
      process: { ceiling: 9000, bound: 'bracketed', firstFailing: 10_000 },
      out: { goalLine: 7200, start: 8000, high: 10_000 },
    },
    {
      name: 'no process probe passed: no start, the given high bound',
      process: { ceiling: 0, bound: 'below', firstFailing: 8000 },
      out: { goalLine: null, start: null, high: 8000 },
    },
    { name: 'no process search: the given bounds', process: undefined, out: { goalLine: null, start: null, high: 15_000 } },
  ])('$name', ({ process, out }) => {
    expect(dockerSearchBounds(process, o)).toEqual(out);
  });
});
