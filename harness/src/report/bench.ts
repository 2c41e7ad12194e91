/**
 * benchmark-action/github-action-benchmark input: `customBiggerIsBetter` and
 * `customSmallerIsBetter` are separate tools, so there are two files. Each is an array of
 * `{ name, unit, value, extra? }`. Names are stable across runs (scenario + quantity) so the
 * action can chart them; the run id, engine, target rate and verdict go in `extra`.
 * Counts are over the measured window (warm-up excluded), like the achieved rate.
 */
import type { RunResult } from '../result/types.js';

export interface BenchEntry {
  name: string;
  unit: string;
  value: number;
  range?: string;
  extra?: string;
}

export interface BenchFiles {
  bigger: BenchEntry[];
  smaller: BenchEntry[];
}

function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function renderBench(r: RunResult): BenchFiles {
  const scenario = r.run.scenario.name;
  const name = (q: string): string => `${scenario}: ${q}`;
  const extra = [
    `run ${r.run.id}`,
    `verdict ${r.verdict}`,
    `${r.load.engine} engine`,
    r.load.targetRate > 0 ? `target ${r.load.targetRate} req/s` : 'closed loop',
    `${r.run.runtime} runtime`,
    ...(r.run.gitSha ? [`sha ${r.run.gitSha}`] : []),
    ...(r.run.complete ? [] : ['INCOMPLETE']),
  ].join(' · ');
  const entry = (q: string, unit: string, value: number | null, digits = 3): BenchEntry[] =>
    value === null || !Number.isFinite(value) ? [] : [{ name: name(q), unit, value: round(value, digits), extra }];
  const l = r.load;
  const retries = Object.values(r.proxy.retries).reduce((a, b) => a + b, 0);
  return {
    bigger: [
      ...entry('achieved rate', 'req/s', l.achievedRate),
      // Six decimals: 99.999917 % must not print as 100.
      ...entry('success ratio', '%', l.sent > 0 ? (l.ok / l.sent) * 100 : null, 6),
    ],
    smaller: [
      ...entry('lost requests', 'requests', l.lost),
      ...entry('failed requests', 'requests', l.failed),
      ...entry('p50 latency', 'ms', l.latency.p50Ms),
      ...entry('p99 latency', 'ms', l.latency.p99Ms),
      ...entry('p99.9 latency', 'ms', l.latency.p999Ms),
      ...entry('longest gap', 'ms', r.disruption.longestGapMs),
      ...entry('proxy retries', 'requests', retries),
      ...entry('saved by retry', 'requests', r.disruption.savedByRetry),
    ],
  };
}
