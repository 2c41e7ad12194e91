/**
 * The negative controls that are not about the drain itself (no-drain, abrupt-exit and
 * close-idle are in shutdown.test.ts and keepalive.test.ts): each is shown to fail or lose
 * requests, next to a control run of the healthy replica in the same setup.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseExposition, sampleValue, sumTrafficResponses } from '../../../contract/index.js';
import { startLoad, waitForCounts, type LoadResult } from '../../../test/helpers/http-load.js';
import { killAllSampleApps, request, startSampleApp, waitForStatus, type SampleAppProcess } from '../../../test/helpers/sample-app-process.js';
import { mixedRequest } from './drain-scenario.js';

afterEach(async () => {
  await killAllSampleApps();
});

/** A client that does what a router does: wait for /readyz 200, then send traffic. */
async function loadOnceReady(app: SampleAppProcess, durationMs: number, requestTimeoutMs = 3000): Promise<LoadResult> {
  await waitForStatus(app.url('/readyz'), 200, 5000);
  return startLoad({ port: app.port, connections: 10, durationMs, requestTimeoutMs, idPrefix: 'ready' }).done;
}

const non2xx = (r: LoadResult): number => Object.entries(r.byStatus).reduce((s, [code, n]) => (code.startsWith('2') ? s : s + n), 0);

describe('readiness (contract rule 1)', () => {
  it('control: during warm-up /readyz is 503 and traffic gets 503; a client that waits for readiness meets no failure', async () => {
    const app = await startSampleApp(['--warmup-ms', '800']);
    const readyz = await request(app.url('/readyz'));
    expect(readyz.status).toBe(503);
    expect(JSON.parse(readyz.body)).toMatchObject({ ready: false, reason: 'warming up' });
    const early = await request(app.url('/'));
    expect(early.status).toBe(503);
    expect(JSON.parse(early.body)).toMatchObject({ error: 'warming up' });

    const r = await loadOnceReady(app, 500, 1000); // the same client as for slow-start below
    expect(r.written).toBeGreaterThan(0);
    expect(r.failed).toBe(0);
    expect(non2xx(r)).toBe(0);
    expect(r.answered).toBe(r.written);
  });

  it('fault ready-early: /readyz says 200 during warm-up, so a client that trusts it gets 503s', async () => {
    const app = await startSampleApp(['--warmup-ms', '1500', '--fault', 'ready-early']);
    expect((await request(app.url('/readyz'))).status).toBe(200);
    const r = await loadOnceReady(app, 400);
    expect(r.byStatus['503'] ?? 0).toBeGreaterThan(0);
    expect(non2xx(r)).toBeGreaterThan(0);
  });

  it('fault slow-start: ready but holding requests, so a client with a short timeout fails them (the control above had none)', async () => {
    const app = await startSampleApp(['--fault', 'slow-start=2500']);
    const r = await loadOnceReady(app, 500, 1000);
    expect(r.failed).toBeGreaterThan(0);
    expect(r.failureReasons.timeout).toBe(r.failed);
    // After the window the same replica serves at once.
    await new Promise((res) => setTimeout(res, 1500));
    const t0 = performance.now();
    expect((await request(app.url('/'))).status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('fault error-rate', () => {
  it('fails exactly floor(n x fraction) of n traffic requests with 500, and the replica counts the same', async () => {
    const app = await startSampleApp(['--admin-port', '0', '--fault', 'error-rate=0.25']);
    const r = await loadOnceReady(app, 600);
    expect(r.failed).toBe(0);
    expect(r.answered).toBe(r.written);
    expect(r.byStatus['500']).toBe(Math.floor(r.written * 0.25));
    expect(r.byStatus['200']).toBe(r.written - Math.floor(r.written * 0.25));
    const samples = parseExposition((await request(app.adminUrl('/metrics'))).body);
    expect(sampleValue(samples, 'http_requests_total', { code: '500', route: '/' })).toBe(r.byStatus['500']);
    expect(sumTrafficResponses(samples)).toBe(r.written);
    // Probes are not traffic: never failed on purpose.
    expect((await request(app.url('/healthz'))).status).toBe(200);
  });
});

describe('fault ignore-sigterm', () => {
  it('is still alive and serving after its drain timeout; only SIGKILL ends it, cutting requests in flight', async () => {
    const app = await startSampleApp(['--drain-delay-ms', '200', '--drain-timeout-ms', '1000', '--fault', 'ignore-sigterm']);
    const load = startLoad({ port: app.port, connections: 20, durationMs: 6000, idPrefix: 'ignore', request: mixedRequest(20) });
    try {
      await waitForCounts(load, (c) => c.written >= 300, 10_000);
      app.signal('SIGTERM');
      expect(await app.waitExit(2000)).toBeNull(); // twice its drain timeout
      expect(app.isAlive()).toBe(true);
      expect((await request(app.url('/readyz'))).status).toBe(200); // not even draining
      const before = load.counts().answered;
      await new Promise((r) => setTimeout(r, 200));
      expect(load.counts().answered).toBeGreaterThan(before);
      expect(load.counts().closeResponses).toBe(0);
      const exit = await app.kill();
      expect(exit.signal).toBe('SIGKILL');
      const r = await load.done;
      expect(r.failed).toBeGreaterThan(0); // the /work requests in flight at SIGKILL
      expect(app.stderr).toMatch(/SIGTERM ignored \(fault ignore-sigterm\)/);
    } finally {
      load.stop();
    }
  });
});
