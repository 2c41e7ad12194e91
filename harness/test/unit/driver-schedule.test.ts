import { describe, expect, it } from 'vitest';
import { arrivalSchedule, SEND_BATCH, sendsOnResponse } from '../../src/driver/schedule.js';

describe('open-model arrival schedule', () => {
  it('no ramp: request i at i/rate, rate × duration in all, one due at t = 0', () => {
    const s = arrivalSchedule(1000, 10_000);
    expect(s.total).toBe(10_000);
    expect(s.at(0)).toBe(0);
    expect(s.at(1)).toBe(1);
    expect(s.at(2500)).toBe(2500);
    expect(s.dueBy(0)).toBe(1);
    expect(s.dueBy(0.999)).toBe(1);
    expect(s.dueBy(1)).toBe(2);
    expect(s.dueBy(9_999.5)).toBe(10_000);
    expect(s.dueBy(50_000)).toBe(10_000);
    expect(s.dueBy(-5)).toBe(0);
  });

  it.each([
    // rate/s, duration, ramp → total = rate × (duration − ramp / 2)
    [1000, 10_000, 2000, 9000],
    [20_000, 60_000, 5000, 1_150_000],
    [300, 12_000, 2000, 3300],
    [7, 1500, 1000, 7],
  ])('a linear ramp: %i req/s over %i ms, ramping %i ms → %i requests', (rate, duration, ramp, total) => {
    const s = arrivalSchedule(rate, duration, ramp);
    expect(s.total).toBe(total);
    // Due times are increasing, and dueBy is their inverse at every request.
    let prev = -1;
    for (let i = 0; i < s.total; i += Math.max(1, Math.floor(s.total / 997))) {
      const t = s.at(i);
      expect(t).toBeGreaterThan(prev);
      expect(s.dueBy(t)).toBe(i + 1);
      prev = t;
    }
    // After the ramp the rate is the target: spacing 1/rate.
    const after = Math.ceil((rate * ramp) / 2000) + 5;
    if (after + 1 < s.total) expect(s.at(after + 1) - s.at(after)).toBeCloseTo(1000 / rate, 6);
  });

  it('arrivals grow with t² in the ramp: a quarter of its requests fall in its first half', () => {
    const s = arrivalSchedule(10_000, 20_000, 4000);
    const inRamp = s.dueBy(3999.999);
    const firstHalf = s.dueBy(1999.999);
    expect(inRamp).toBeCloseTo(20_000, -1);
    expect(firstHalf / inRamp).toBeCloseTo(0.25, 2);
    expect(s.at(0)).toBe(0);
    // at the end of the ramp: rate × ramp / 2 requests were due
    expect(s.at(20_000)).toBeCloseTo(4000, 6);
  });

  it('a ramp longer than the run is cut at the run', () => {
    expect(arrivalSchedule(1000, 1000, 5000).total).toBe(500);
  });
});

describe('pacing: what a freed connection sends', () => {
  it.each([
    // timer armed, due and unsent → sends now
    [false, 0, true], // behind with every connection busy: nothing else would send
    [false, 1, true],
    [true, 0, false], // on schedule: the timer sends the next one when it is due
    [true, 1, false], // one due: the timer's next tick sends it with the others due by then
    [true, SEND_BATCH - 1, false],
    [true, SEND_BATCH, true], // a batch is due: one wake-up downstream serves several
    [true, 50, true],
  ])('timer armed %s, %i due → sends now: %s', (armed, due, sends) => {
    expect(sendsOnResponse(armed, due)).toBe(sends);
  });
});
