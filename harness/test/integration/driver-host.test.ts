/**
 * The worker host: the engines in a worker thread, the ledger transferred back, the driver
 * metrics fed from progress messages. The worker runs from the compiled output (npm run build).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { countByOutcome } from '../../src/driver/analysis.js';
import { resolveWorkerEntry, startDriver } from '../../src/driver/host.js';
import { createDriverMetrics } from '../../src/driver/metrics.js';
import { startOpenEngine } from '../../src/driver/open.js';
import { statsFromLedger } from '../../src/driver/stats.js';
import type { DriverConfig, DriverProgress } from '../../src/driver/types.js';
import { startTargetServer, type TargetServer } from '../../../scripts/bench/target-server.js';

const servers: TargetServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

beforeAll(() => {
  const entry = fileURLToPath(resolveWorkerEntry());
  expect(existsSync(entry), `${entry} missing: run "npm run build"`).toBe(true);
});

function config(url: string, over: Partial<DriverConfig> = {}): DriverConfig {
  return {
    engine: 'open',
    url,
    runId: 'host',
    rate: 1000,
    connections: 32,
    durationMs: 1000,
    warmupMs: 0,
    timeoutMs: 2000,
    requests: [{ method: 'GET', path: '/', headers: {}, body: null, weight: 1 }],
    maxLateMs: 100,
    ...over,
  };
}

describe('driver worker host', () => {
  it('returns the same ledger as the engine in-thread, with metrics equal to it', async () => {
    const srv = await startTargetServer('mixed');
    servers.push(srv);
    const local = await startOpenEngine(config(srv.url)).done;
    const a = local.ledger.detachData();

    // a fresh server, so that its every-5th / every-7th pattern restarts at 1
    const srv2 = await startTargetServer('mixed');
    servers.push(srv2);
    const driver = startDriver(config(srv2.url));
    const metrics = createDriverMetrics({ runId: 'host' });
    const progress: DriverProgress[] = [];
    driver.on('progress', (p) => {
      progress.push(p);
      metrics.update(p);
    });
    const { ledger: b, summary } = await driver.done;
    expect(await driver.exited).toBe(0); // the worker ends by itself once it returned the ledger

    // Which arrival gets the every-5th 503 depends on arrival order, so rows are compared as
    // a whole: same length, same schedule, same outcome and status counts, same replicas.
    expect(b.length).toBe(a.length);
    expect(b.length).toBe(1000);
    expect(b.intended).toBeInstanceOf(Float64Array);
    expect(b.latencyUs).toBeInstanceOf(Uint32Array);
    expect(b.outcome).toBeInstanceOf(Uint8Array);
    expect(countByOutcome(b)).toEqual(countByOutcome(a));
    const hist = (x: Uint16Array): number[] => Array.from(x).sort((p, q) => p - q);
    expect(hist(b.status)).toEqual(hist(a.status));
    expect([...b.replicas].sort()).toEqual([...a.replicas].sort());
    for (let i = 0; i < b.length; i += 50) {
      expect(b.intended[i]! - b.intended[0]!).toBeCloseTo(a.intended[i]! - a.intended[0]!, 6);
    }
    // the transferred columns are the worker's own: its final progress (built from its ledger
    // before the transfer) matches a scan of what arrived, latency buckets included
    const scan = statsFromLedger(b, 100, 0).progress(0, { inFlight: 0, openConnections: 0, scheduleLagMs: 0, targetRate: 1000, final: true });
    expect(progress.at(-1)!.latency).toEqual(scan.latency);
    expect(progress.at(-1)!.byStatus).toEqual(scan.byStatus);
    expect(summary).toMatchObject({ engine: 'open', sent: 1000, interrupted: false, anomalies: 0, unsent: 0 });

    const c = countByOutcome(b);
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.at(-1)).toMatchObject({ final: true, sent: 1000, ok: c.ok, abandoned: 0 });
    expect(metrics.regressions).toBe(0);
    const json = await metrics.registry.getMetricsAsJSON();
    const val = (name: string, label?: [string, string]): number =>
      (json.find((m) => m.name === name)?.values as { value: number; labels: Record<string, unknown> }[]).find(
        (v) => label === undefined || v.labels[label[0]] === label[1],
      )?.value ?? -1;
    expect(val('zerodrop_driver_requests_sent_total')).toBe(c.sent);
    expect(val('zerodrop_driver_requests_completed_total', ['outcome', 'ok'])).toBe(c.ok);
    expect(val('zerodrop_driver_requests_completed_total', ['outcome', 'http_error'])).toBe(c.byOutcome['http_error']);
    expect(val('zerodrop_driver_responses_total', ['code', '503'])).toBe(200);
    expect(val('zerodrop_driver_requests_retried_total')).toBe(c.retried);
  });

  it('stop() through the worker ends early and returns an interrupted result', async () => {
    const srv = await startTargetServer('slow', { delayMs: 20 });
    servers.push(srv);
    const driver = startDriver(config(srv.url, { durationMs: 10_000 }));
    // stop once the load is flowing (worker start-up time varies on a shared box)
    await new Promise<void>((res) => {
      const on = (p: DriverProgress): void => {
        if (p.sent >= 200) {
          driver.off('progress', on);
          res();
        }
      };
      driver.on('progress', on);
    });
    driver.stop();
    const { ledger, summary } = await driver.done;
    expect(summary.interrupted).toBe(true);
    const c = countByOutcome(ledger);
    expect(c.sent).toBeGreaterThanOrEqual(200);
    expect(c.sent).toBeLessThan(5000);
    expect(c.ok).toBe(c.sent);
    await driver.exited;
  });

  it('ends when its parent thread goes away', async () => {
    const srv = await startTargetServer('plain', { record: true });
    servers.push(srv);
    const hostUrl = new URL('../../../dist/harness/src/driver/host.js', import.meta.url).href;
    // a parent thread that starts a 20 s driver and is then terminated
    const parent = new Worker(
      `import(${JSON.stringify(hostUrl)}).then((m) => {
         m.startDriver(${JSON.stringify(config(srv.url, { durationMs: 20_000, rate: 500 }))});
       });`,
      { eval: true },
    );
    const flowing = async (): Promise<number> => (await srv.stats()).received;
    const deadline = Date.now() + 10_000;
    while ((await flowing()) < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await flowing()).toBeGreaterThanOrEqual(100);
    await parent.terminate();
    await new Promise((r) => setTimeout(r, 300));
    const after = await flowing();
    await new Promise((r) => setTimeout(r, 700));
    expect(await flowing()).toBe(after); // no more load: the driver thread ended with its parent
  });

  it('runs the autocannon engine too', async () => {
    const srv = await startTargetServer('plain');
    servers.push(srv);
    const driver = startDriver(config(srv.url, { engine: 'autocannon', rate: 0, connections: 4, durationMs: 500 }));
    const { ledger, summary } = await driver.done;
    const c = countByOutcome(ledger);
    expect(c.sent).toBeGreaterThan(100);
    expect(c.ok).toBe(c.sent);
    expect(summary.autocannonReported?.completed).toBe(c.ok);
  });

  it('refuses a bad config before starting a thread, and reports worker failures with a code', async () => {
    expect(() => startDriver(config('http://8.8.8.8:80'))).toThrow(/loopback/);
    expect(() => startDriver(config('http://127.0.0.1:1', { durationMs: 0 }))).toThrow(/durationMs/);
    const missing = new URL('file:///nonexistent/worker-entry.js');
    const d = startDriver(config('http://127.0.0.1:1'), { entry: missing });
    await expect(d.done).rejects.toMatchObject({ code: 'ZD_DRIVER_FAILED' });
  });
});
