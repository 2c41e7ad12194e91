/**
 * Waiting on a data plane's own counts instead of sleeping: on a busy box a fixed sleep can end
 * before the requests it waits for have reached the proxy. Works with every ProxyControl (the
 * Node proxy in-process or in its worker, HAProxy).
 */
import type { ProxyStats } from '../../orchestrator/src/proxy/types.js';

interface HasStats {
  stats(): Promise<ProxyStats>;
}

/** Polls stats() until `pred` holds; throws with the last stats after `timeoutMs`. */
export async function untilStats(p: HasStats, what: string, pred: (s: ProxyStats) => boolean, timeoutMs = 10_000): Promise<ProxyStats> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    const s = await p.stats();
    if (pred(s)) return s;
    if (performance.now() > end) throw new Error(`timed out waiting for: ${what}\n${JSON.stringify(s, null, 1)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Until the data plane holds `n` requests in flight: on endpoint `id`, or in all. */
export async function untilInFlight(p: HasStats, n: number, id?: string): Promise<ProxyStats> {
  const inFlight = (s: ProxyStats): number => (id === undefined ? s.inFlight : (s.endpoints.find((e) => e.id === id)?.inFlight ?? 0));
  return untilStats(p, `${n} requests in flight${id === undefined ? '' : ` on ${id}`}`, (s) => inFlight(s) >= n);
}
