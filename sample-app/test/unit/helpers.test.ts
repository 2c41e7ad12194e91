import { describe, expect, it } from 'vitest';
import { parseWorkMs, rawHeader } from '../../src/app.js';
import { ErrorRateGate } from '../../src/faults.js';
import { createAppMetrics } from '../../src/metrics.js';
import { isProbeRoute, PROBE_ROUTES } from '../../../contract/index.js';
import { methodLabel, routeLabel } from '../../src/routes.js';

describe('ErrorRateGate', () => {
  it.each([0, 0.1, 0.25, 0.29, 1 / 3, 0.5, 0.999, 1])('after n calls exactly floor(n x %d) failed, at every n', (f) => {
    const g = new ErrorRateGate(f);
    let failed = 0;
    for (let n = 1; n <= 1000; n++) {
      if (g.shouldFail()) failed++;
      expect(failed).toBe(Math.floor(n * f + 1e-9));
    }
    expect(g.calls).toBe(1000);
    expect(g.failed).toBe(failed);
  });

  it('spreads failures evenly (no burst)', () => {
    const g = new ErrorRateGate(0.25);
    const pattern = Array.from({ length: 8 }, () => (g.shouldFail() ? 'x' : '.')).join('');
    expect(pattern).toBe('...x...x');
  });

  it('refuses a fraction outside 0..1', () => {
    expect(() => new ErrorRateGate(1.1)).toThrow(RangeError);
    expect(() => new ErrorRateGate(Number.NaN)).toThrow(RangeError);
  });
});

describe('route and method labels', () => {
  it('maps paths to a closed set of route labels, ignoring the query', () => {
    expect(routeLabel('/')).toBe('/');
    expect(routeLabel('/?a=1')).toBe('/');
    expect(routeLabel('/work?ms=5')).toBe('/work');
    expect(routeLabel('/echo')).toBe('/echo');
    expect(routeLabel('/metrics')).toBe('/metrics');
    expect(routeLabel('/work/')).toBe('unmatched');
    expect(routeLabel('/users/12345')).toBe('unmatched');
    expect(routeLabel('')).toBe('unmatched');
  });

  it('maps methods to a closed set', () => {
    expect(methodLabel('GET')).toBe('GET');
    expect(methodLabel('POST')).toBe('POST');
    expect(methodLabel('PROPFIND')).toBe('OTHER');
    expect(methodLabel('get')).toBe('OTHER');
    expect(methodLabel(undefined)).toBe('OTHER');
  });

  it('knows the probe routes', () => {
    expect([...PROBE_ROUTES]).toEqual(['/healthz', '/readyz', '/metrics']);
    expect(PROBE_ROUTES.every(isProbeRoute)).toBe(true);
    expect(isProbeRoute('/')).toBe(false);
    expect(isProbeRoute('unmatched')).toBe(false);
  });
});

describe('rawHeader', () => {
  it('finds the first value case-insensitively', () => {
    const raw = ['Host', 'x', 'X-ZeroDrop-Id', 'abc', 'x-zerodrop-id', 'second'];
    expect(rawHeader(raw, 'x-zerodrop-id')).toBe('abc');
    expect(rawHeader(raw, 'host')).toBe('x');
    expect(rawHeader(raw, 'x-zerodrop-idx')).toBeUndefined();
    expect(rawHeader([], 'host')).toBeUndefined();
  });
});

describe('parseWorkMs', () => {
  it('accepts 0..10000 and defaults to 0', () => {
    expect(parseWorkMs(undefined)).toEqual({ ms: 0 });
    expect(parseWorkMs('0')).toEqual({ ms: 0 });
    expect(parseWorkMs('10000')).toEqual({ ms: 10000 });
  });
  it.each(['10001', '-1', '1.5', 'abc', '', '1e3', '9999999'])('rejects %j with the allowed range', (raw) => {
    const r = parseWorkMs(raw);
    expect('error' in r && r.error).toMatch(/from 0 to 10000/);
  });
  it('rejects a repeated parameter', () => {
    expect(parseWorkMs(['1', '2'])).toEqual({ error: expect.stringMatching(/repeated parameter/) });
  });
});

describe('createAppMetrics', () => {
  it('uses its own registry, never the global one', async () => {
    const { register } = await import('prom-client');
    const before = (await register.getMetricsAsJSON()).length;
    const a = createAppMetrics({ version: 'v', replica: 'a', zone: 'z' }, { inFlight: () => 0, ready: () => false, draining: () => true });
    const b = createAppMetrics({ version: 'v', replica: 'b', zone: 'z' }, { inFlight: () => 0, ready: () => false, draining: () => true });
    expect(a.registry).not.toBe(b.registry);
    expect((await register.getMetricsAsJSON()).length).toBe(before);
    expect(a.series('/', 'GET')).toBe(a.series('/', 'GET')); // bound once
    expect(await a.exposition()).toMatch(/^sampleapp_draining 1$/m);
  });
});
