/**
 * HAProxy logs only the server that finally answered a request, not the ones whose tries failed
 * before it. Its per-server counters do count each failed try on the server it failed on
 * (stats.ts: connect_error and reset, timeouts included in reset), so the data plane reads them
 * every FAILED_TRY_POLL_MS and turns each increase into a FailedTry stamped at that read: the
 * replica is exact, the time is known to within one read interval (FailedTryLog.resolutionMs).
 */
import { FAILED_TRY_LOG_MAX, type FailedTry, type FailedTryLog } from '../types.js';
import { attemptsOf, type ServerCounters } from './stats.js';

/** How often the data plane reads its servers' counters while it carries traffic. */
export const FAILED_TRY_POLL_MS = 100;

export class FailedTryTracker {
  private readonly seen = new Map<string, Record<'connect_error' | 'reset', number>>();
  private readonly tries: FailedTry[] = [];
  private dropped = 0;

  /** `total`: the replica's counters over its whole life (deleted servers' counts carried). */
  observe(replica: string, total: ServerCounters, t: number): void {
    const a = attemptsOf(total);
    const prev = this.seen.get(replica) ?? { connect_error: 0, reset: 0 };
    for (const reason of ['connect_error', 'reset'] as const) {
      const delta = a[reason] - prev[reason];
      if (delta <= 0) continue;
      prev[reason] = a[reason];
      this.push({ t, replica, reason: reason, count: delta });
    }
    this.seen.set(replica, prev);
  }

  log(): FailedTryLog {
    return { tries: this.tries.slice(), dropped: this.dropped, resolutionMs: FAILED_TRY_POLL_MS };
  }

  private push(t: FailedTry): void {
    if (this.tries.length < FAILED_TRY_LOG_MAX) this.tries.push(t);
    else this.dropped += t.count;
  }
}
