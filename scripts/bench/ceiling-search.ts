/**
 * The ceiling search, without the runs: which rate to probe next, given the verdicts so far. Pure
 * (the probe is a function it is given), so its order is tested with tables
 * (test/unit/bench-ceiling-search.test.ts).
 *
 * Order: the start rate when one is given (the docker row starts at the goal line, 0.8 × the
 * process ceiling, so its first probe answers the goal), else the low bound (a failure there ends
 * it: the ceiling is below it), then the high bound (a PASS settles it), then bisection until the
 * bracket is within `resolution` or the probes run out. An INVALID probe says the machine, not the
 * service, spoiled the judgement: that rate is probed once more when probes remain, and counts as
 * sustained if the repeat PASSes. FAIL and ERROR are final; so is a second INVALID.
 */
export type SearchVerdict = 'PASS' | 'FAIL' | 'INVALID' | 'ERROR';

export interface SearchBounds {
  low: number;
  high: number;
  maxProbes: number;
  /** Stop bisecting once hi − lo ≤ this (req/s). */
  resolution: number;
  /** Probe this rate first (clamped into [low, high]); null: start at the low bound. */
  start: number | null;
}

export interface SearchOutcome {
  /** Highest rate that passed; 0 when none did. */
  ceiling: number;
  /** "bracketed": between ceiling and firstFailing; "at-least": no probe failed (≥ ceiling); "below": no probe passed. */
  bound: 'bracketed' | 'at-least' | 'below';
  /** Lowest rate that did not pass (null when none failed). */
  firstFailing: number | null;
}

export const round100 = (x: number): number => Math.max(100, Math.round(x / 100) * 100);

/** Runs `probe` at the rates the search picks; `probe` resolves to the run's verdict. */
export async function searchCeiling(b: SearchBounds, probe: (rate: number) => Promise<SearchVerdict>): Promise<SearchOutcome> {
  let used = 0;
  const sustained = async (rate: number): Promise<boolean> => {
    used++;
    let verdict = await probe(rate);
    if (verdict === 'INVALID' && used < b.maxProbes) {
      used++;
      verdict = await probe(rate);
    }
    return verdict === 'PASS';
  };
  let high = round100(b.high);
  let low = Math.min(round100(b.low), high);
  let lowPassed = false;
  let highFailed = false;
  if (b.start !== null) {
    const start = Math.min(high, Math.max(low, round100(b.start)));
    if (await sustained(start)) {
      low = start;
      lowPassed = true;
    } else {
      high = start;
      highFailed = true;
      if (start === low) return { ceiling: 0, bound: 'below', firstFailing: low };
    }
  }
  if (!lowPassed) {
    if (used >= b.maxProbes) return { ceiling: 0, bound: 'below', firstFailing: high };
    if (!(await sustained(low))) return { ceiling: 0, bound: 'below', firstFailing: low };
  }
  if (!highFailed) {
    if (high === low || used >= b.maxProbes) return { ceiling: low, bound: 'at-least', firstFailing: null };
    if (await sustained(high)) return { ceiling: high, bound: 'at-least', firstFailing: null };
  }
  let lo = low;
  let hi = high;
  while (used < b.maxProbes && hi - lo > b.resolution) {
    const mid = round100((lo + hi) / 2);
    if (mid <= lo || mid >= hi) break;
    if (await sustained(mid)) lo = mid;
    else hi = mid;
  }
  return { ceiling: lo, bound: 'bracketed', firstFailing: hi };
}

/**
 * The docker search's bounds, from the process search of the same invocation: it starts at the goal
 * line (`goal` × the process ceiling, raised to `low` when below it), so its first probe answers
 * the goal, and goes no higher than the first rate the process search did not sustain. No start
 * when no process probe passed.
 */
export function dockerSearchBounds(
  processSearch: SearchOutcome | undefined,
  o: { low: number; high: number; goal: number },
): { goalLine: number | null; start: number | null; high: number } {
  const goalLine = processSearch && processSearch.ceiling > 0 ? Math.round(processSearch.ceiling * o.goal) : null;
  return {
    goalLine,
    start: goalLine === null ? null : Math.max(goalLine, o.low),
    high: processSearch?.firstFailing ? Math.min(o.high, processSearch.firstFailing) : o.high,
  };
}
