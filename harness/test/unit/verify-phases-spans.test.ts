import { describe, expect, it } from 'vitest';
import { buildPhases, spansMinus, zoneDisruptionSpans } from '../../src/verify/phases.js';
import type { TimelineEvent } from '../../../orchestrator/src/timeline.js';

describe('spans: what a rollout is held responsible for', () => {
  it.each([
    // spans, minus, result
    [[[0, 10]], [], [[0, 10]]],
    [
      [[0, 10]],
      [[3, 5]],
      [
        [0, 3],
        [5, 10],
      ],
    ],
    [
      [[0, 10]],
      [
        [-5, 2],
        [8, 20],
      ],
      [[2, 8]],
    ],
    [[[0, 10]], [[0, 10]], []],
    [
      [
        [0, 10],
        [20, 30],
      ],
      [[5, 25]],
      [
        [0, 5],
        [25, 30],
      ],
    ],
    [
      [[0, 10]],
      [
        [4, 6],
        [2, 3],
        [5, 7],
      ],
      [
        [0, 2],
        [3, 4],
        [7, 10],
      ],
    ],
    [
      [[0, 10]],
      [
        [12, 15],
        [5, 5],
      ],
      [[0, 10]],
    ],
  ] as [number, number][][][])('%j minus %j → %j', (spans, minus, out) => {
    expect(spansMinus(spans, minus)).toEqual(out);
  });

  it('a zone failure disrupts from zone.down until the workload recovered (else until the zone is up, else the end)', () => {
    const ev = (e: Partial<TimelineEvent> & { type: TimelineEvent['type']; t: number }): TimelineEvent => e as TimelineEvent;
    const phases = buildPhases([
      ev({ type: 'zone.down', t: 100, zone: 'b', mode: 'crash', replicas: [] }),
      ev({ type: 'workload.recovered', t: 2100, ready: 6, desired: 6, afterMs: 2000 }),
      ev({ type: 'zone.up', t: 5000, zone: 'b' }),
      ev({ type: 'zone.down', t: 6000, zone: 'c', mode: 'hang', replicas: [] }),
      ev({ type: 'zone.up', t: 7000, zone: 'c' }),
      ev({ type: 'zone.down', t: 8000, zone: 'a', mode: 'crash', replicas: [] }),
    ]);
    expect(zoneDisruptionSpans(phases, 9000)).toEqual([
      [100, 2100],
      [6000, 7000],
      [8000, 9000],
    ]);
  });
});
