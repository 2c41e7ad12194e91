import { systemClock, type SchedulingClock } from './clock.js';

/**
 * Waits for `p` to settle (resolve or reject), but no longer than `ms`: true if it settled in
 * time. Leaves no timer behind either way; `p` itself is not cancelled.
 */
export function settledWithin(p: Promise<unknown>, ms: number, clock: SchedulingClock = systemClock): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = clock.after(ms, () => resolve(false));
    const done = (): void => {
      timer.cancel();
      resolve(true);
    };
    p.then(done, done);
  });
}
