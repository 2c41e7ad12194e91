/** traffic-metrics.ts: the counts a request makes and the text a scrape reads (pure). */
import { describe, expect, it } from 'vitest';
import { parseExpositionFull, sampleValue } from '../../../contract/index.js';
import { DURATION_BUCKETS, TrafficMetrics } from '../../src/traffic-metrics.js';

describe('TrafficMetrics', () => {
  it('puts a duration equal to a bound in that bucket (le), cumulates buckets, counts +Inf, sum and count', () => {
    const t = new TrafficMetrics();
    const s = t.series('/', 'GET');
    s.responded(200, 0.00025); // == first bound
    s.responded(200, 0.0003);
    s.responded(200, 11); // above the last bound: +Inf only
    const { samples } = parseExpositionFull(`${t.exposition()}\n`);
    const bucket = (le: string): number | undefined => sampleValue(samples, 'http_request_duration_seconds_bucket', { route: '/', method: 'GET', le });
    expect(bucket('0.00025')).toBe(1);
    expect(bucket('0.0005')).toBe(2);
    expect(bucket(String(DURATION_BUCKETS[DURATION_BUCKETS.length - 1]))).toBe(2);
    expect(bucket('+Inf')).toBe(3);
    expect(sampleValue(samples, 'http_request_duration_seconds_count', { route: '/', method: 'GET' })).toBe(3);
    expect(sampleValue(samples, 'http_request_duration_seconds_sum', { route: '/', method: 'GET' })).toBeCloseTo(11.00055, 9);
    expect(sampleValue(samples, 'http_requests_total', { code: '200', route: '/', method: 'GET' })).toBe(3);
  });

  it('lists a zeroed code before any response, a new code once it happens, and series in creation order', () => {
    const t = new TrafficMetrics();
    t.series('/readyz', 'GET').zeroCode(503);
    const text0 = t.exposition();
    expect(text0).toContain('http_requests_total{code="503",route="/readyz",method="GET"} 0');
    expect(text0).not.toContain('code="500"');
    const w = t.series('/work', 'GET');
    w.received();
    w.responded(500, 0.2);
    w.aborted();
    expect(t.series('/work', 'GET')).toBe(w);
    const text = t.exposition();
    expect(text).toContain('http_requests_total{code="500",route="/work",method="GET"} 1');
    expect(text).toContain('http_requests_received_total{route="/work",method="GET"} 1');
    expect(text).toContain('http_requests_aborted_total{route="/work",method="GET"} 1');
    expect(text.indexOf('route="/readyz"')).toBeLessThan(text.indexOf('route="/work"'));
    expect(text).toMatch(/^# HELP http_requests_received_total .*\n# TYPE http_requests_received_total counter\n/);
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
  });
});
