/** The sample-app's registry keeps the contract: what prom-client writes parses with the contract's parser. */
import { describe, expect, it } from 'vitest';
import { parseExpositionFull, sampleValue, sumTrafficResponses, trafficResponsesByCode } from '../../../contract/index.js';
import { createAppMetrics } from '../../src/metrics.js';

describe('round trip with the app registry', () => {
  it('parses what prom-client writes, including histograms and zero-initialised series', async () => {
    const m = createAppMetrics({ version: 'v1', replica: 'r', zone: 'z' }, { inFlight: () => 3, ready: () => true, draining: () => false });
    const root = m.series('/', 'GET');
    for (let i = 0; i < 5; i++) {
      root.received();
      root.responded(200, 0.0003);
    }
    m.series('/readyz', 'GET').responded(503, 0.001);
    m.series('/work', 'GET').responded(500, 0.2);
    m.series('unmatched', 'DELETE').aborted();
    const { samples, types } = parseExpositionFull(await m.exposition());
    expect(types.get('http_request_duration_seconds')).toBe('histogram');
    expect(sumTrafficResponses(samples)).toBe(6);
    expect(trafficResponsesByCode(samples)).toMatchObject({ '200': 5, '500': 1, '201': 0 });
    expect(sampleValue(samples, 'http_requests_received_total', { route: '/', method: 'GET' })).toBe(5);
    expect(sampleValue(samples, 'http_request_duration_seconds_bucket', { route: '/', le: '0.00025' })).toBe(0);
    expect(sampleValue(samples, 'http_request_duration_seconds_bucket', { route: '/', le: '0.0005' })).toBe(5);
    expect(sampleValue(samples, 'http_request_duration_seconds_bucket', { route: '/work', le: '0.25' })).toBe(1);
    expect(sampleValue(samples, 'http_requests_aborted_total', { route: 'unmatched', method: 'DELETE' })).toBe(1);
    expect(sampleValue(samples, 'http_requests_in_flight')).toBe(3);
    expect(sampleValue(samples, 'sampleapp_ready')).toBe(1);
  });
});
