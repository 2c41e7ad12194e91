/**
 * Fake time for the controller: now() stands still until advance() moves it, firing every timer
 * that falls due in order and letting promises and setImmediate callbacks settle in between, so
 * a test can say "nothing at 1,999 ms, the zone is noticed at 2,000 ms" exactly.
 */
import type { SchedulingClock, Timer } from '../../../../common/src/clock.js';

interface Pending {
  due: number;
  fn: () => void;
  /** Repeat period (every), or null (after). */
  period: number | null;
}

export class FakeClock implements SchedulingClock {
  private t = 0;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): Timer {
    return this.schedule(ms, fn, null);
  }

  every(ms: number, fn: () => void): Timer {
    return this.schedule(ms, fn, Math.max(1, ms));
  }

  /** Moves time forward by `ms`, firing the timers that fall due, earliest (then oldest) first. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const next = this.earliest(end);
      if (!next) break;
      const [id, timer] = next;
      this.t = timer.due;
      if (timer.period === null) this.pending.delete(id);
      else timer.due += timer.period;
      timer.fn();
    }
    this.t = end;
    await settle();
  }

  private schedule(ms: number, fn: () => void, period: number | null): Timer {
    const id = ++this.nextId;
    this.pending.set(id, { due: this.t + Math.max(0, ms), fn, period });
    return { cancel: () => this.pending.delete(id) };
  }

  private earliest(end: number): [number, Pending] | null {
    let best: [number, Pending] | null = null;
    for (const entry of this.pending) if (entry[1].due <= end && (best === null || entry[1].due < best[1].due)) best = entry;
    return best;
  }
}

/** Lets queued promise callbacks and setImmediate callbacks (the controller's re-kick) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
