/**
 * The autocannon engine: our own accounting on top of autocannon 8, against real servers.
 * These tests also pin down the autocannon flaws the design notes rely on (FIN-lost requests
 * missing from its counters, bursty rate limiter, phantom "sent").
 */
import { afterEach, describe, expect, it } from 'vitest';
import { countByOutcome } from '../../src/driver/analysis.js';
import { startAutocannonEngine } from '../../src/driver/autocannon.js';
import type { EngineResult } from '../../src/driver/engine.js';
import { type DriverConfig, type DriverProgress, Outcome } from '../../src/driver/types.js';
import { startTargetServer, type TargetMode, type TargetOptions, type TargetServer } from '../../../scripts/bench/target-server.js';

const servers: TargetServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function target(mode: TargetMode, options: TargetOptions = {}): Promise<TargetServer> {
  const s = await startTargetServer(mode, options);
  servers.push(s);
  return s;
}

function config(url: string, over: Partial<DriverConfig> = {}): DriverConfig {
  return {
    engine: 'autocannon',
    url,
    runId: 'ac',
    rate: 0,
    connections: 10,
    durationMs: 1500,
    warmupMs: 0,
    timeoutMs: 2000,
    requests: [{ method: 'GET', path: '/', headers: {}, body: null, weight: 1 }],
    maxLateMs: 100,
    ...over,
  };
}

async function run(cfg: DriverConfig, progress: DriverProgress[] = []): Promise<EngineResult> {
  return startAutocannonEngine(cfg, { onProgress: (p) => progress.push(p), progressIntervalMs: 100 }).done;
}

describe('autocannon engine', () => {
  it('numbers every request on the wire: distinct ids, each row matched by its own echo', async () => {
    const srv = await target('plain', { record: true });
    const progress: DriverProgress[] = [];
    const r = await run(config(srv.url), progress);
    const c = countByOutcome(r.ledger.detachData());
    const st = await srv.stats();
    expect(c.sent).toBeGreaterThan(1000);
    expect(c.ok).toBe(c.sent); // every response carried its own row's id
    expect(st.received).toBe(c.sent);
    expect(st.distinctIds).toBe(c.sent);
    expect(st.duplicateIds).toBe(0);
    expect(r.summary.anomalies).toBe(0);
    expect(c.pending).toBe(0);
    expect(progress.at(-1)).toMatchObject({ final: true, sent: c.sent, ok: c.ok });
    // what autocannon says about the same run, for comparison only
    expect(r.summary.autocannonReported).not.toBeNull();
    expect(r.summary.autocannonReported!.completed).toBe(c.ok);
  });

  it("records the requests a Connection: close server loses, which autocannon's own counters miss", async () => {
    const srv = await target('close');
    const progress: DriverProgress[] = [];
    const r = await run(config(srv.url), progress);
    const c = countByOutcome(r.ledger.detachData());
    const ac = r.summary.autocannonReported!;
    // autocannon writes the next request onto the closing socket; the FIN ends it unanswered
    expect(c.byOutcome['reset']).toBeGreaterThan(100);
    expect(c.sent).toBe(c.ok + c.failed + c.abandoned);
    expect(c.pending).toBe(0);
    expect(r.summary.anomalies).toBe(0);
    // ... and autocannon reports no error at all for them
    expect(ac.errors).toBe(0);
    expect(ac.timeouts).toBe(0);
    expect(ac.completed).toBe(c.ok);
    expect(ac.sent - ac.completed).toBeGreaterThanOrEqual(c.byOutcome['reset']!);
    expect((await srv.stats()).received).toBe(c.ok);
  });

  it("shows autocannon's per-second bursts in rate mode (what the open engine avoids)", async () => {
    const srv = await target('plain', { record: true });
    const r = await run(config(srv.url, { rate: 400, connections: 20, durationMs: 2000 }));
    const c = countByOutcome(r.ledger.detachData());
    expect(c.ok).toBe(c.sent);
    const buckets = (await srv.stats()).counts100ms.slice(0, 19);
    // each 1 s window's quota (20 per connection) goes out back to back: some 100 ms buckets
    // hold several times rate/10 = 40 and many hold none (the open engine: all near 40)
    expect(Math.max(...buckets), buckets.join(' ')).toBeGreaterThan(120);
    expect(buckets.filter((n) => n === 0).length, buckets.join(' ')).toBeGreaterThanOrEqual(5);
    // autocannon's requests.sent counts phantom sends under a rate limit
    expect(r.summary.autocannonReported!.sent).toBeGreaterThan(c.sent);
  });

  it('records Refused for a dead port and Timeout for a stalled server', async () => {
    const dead = await target('plain');
    await dead.close();
    const r1 = await run(config(dead.url, { durationMs: 300, connections: 2 }));
    const c1 = countByOutcome(r1.ledger.detachData());
    expect(c1.sent).toBeGreaterThan(10);
    expect(c1.byOutcome['refused']).toBe(c1.sent - c1.abandoned);
    expect(r1.summary.autocannonReported!.errors).toBeGreaterThan(0);

    const stall = await target('stall');
    const r2 = await run(config(stall.url, { durationMs: 300, connections: 3, timeoutMs: 1000 }));
    const d2 = r2.ledger.detachData();
    const c2 = countByOutcome(d2);
    expect(c2.sent).toBeGreaterThanOrEqual(3);
    expect(c2.byOutcome['timeout']).toBeGreaterThanOrEqual(3);
    for (let i = 0; i < d2.length; i++) if (d2.outcome[i] === Outcome.Timeout) expect(d2.latencyUs[i]!).toBeGreaterThanOrEqual(1_000_000);
    expect(c2.pending).toBe(0);
  });

  it('stop() ends the run early and says interrupted', async () => {
    const srv = await target('plain');
    const handle = startAutocannonEngine(config(srv.url, { durationMs: 10_000, rate: 500 }));
    await new Promise((res) => setTimeout(res, 400));
    const t = performance.now();
    handle.stop();
    const r = await handle.done;
    expect(performance.now() - t).toBeLessThan(2000);
    expect(r.summary.interrupted).toBe(true);
    const c = countByOutcome(r.ledger.detachData());
    expect(c.sent).toBeLessThan(1500);
    expect(c.ok).toBe(c.sent);
  });
});
