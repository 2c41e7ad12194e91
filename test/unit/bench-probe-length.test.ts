/**
 * The bench's ceiling probes run the scenario at its own length unless told otherwise: the demo's
 * ceiling is the demo as users run it (60 s), not a compressed one whose rollout and zone recovery
 * crowd into half the time.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenarioFile } from '../../harness/src/scenario/load.js';
import { shortened } from '../../scripts/bench/ceiling.js';
import { parseOptions, UsageError } from '../../scripts/bench/options.js';

const demo = loadScenarioFile(join(import.meta.dirname, '../../scenarios/demo.yaml'));

describe('ceiling probe length', () => {
  it('defaults to the scenario own length; --quick and --probe-duration shorten it', () => {
    expect(parseOptions([])?.probeDuration).toBeNull();
    expect(parseOptions(['--quick'])?.probeDuration).toBe(15);
    expect(parseOptions(['--probe-duration', '40'])?.probeDuration).toBe(40);
    expect(() => parseOptions(['--probe-duration', '3'])).toThrow(UsageError);
    expect(() => parseOptions(['--probe-duration', '3'])).toThrow(/--probe-duration 3: expected a whole number in \[8, 120\]/);
  });

  it('at its own length the scenario is unchanged; shortened, its warm-up is cut to 10 % of the new length', () => {
    expect(demo.scenario.load.duration).toBe(60_000);
    expect(shortened(demo, 60_000)).toBe(demo);
    expect(shortened(demo, 30_000).scenario.load.warmup).toBe(3000);
    expect(shortened(demo, 15_000).scenario.load.warmup).toBe(1500);
  });
});
