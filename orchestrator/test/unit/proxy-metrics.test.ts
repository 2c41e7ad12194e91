/**
 * The proxy registry fills prom-client from plain counters at scrape time; the exposition must be
 * exactly what the hot path counted (including the hand-kept histogram, which writes into
 * prom-client's internal store: this test is what catches a prom-client upgrade breaking it).
 */
import { describe, expect, it } from 'vitest';
import { Endpoint } from '../../src/proxy/endpoints.js';
import { createProxyRegistry, DurationCounter, type ProxyMetricsSource } from '../../src/proxy/metrics.js';

function line(text: string, prefix: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(prefix));
}

describe('proxy metrics', () => {
  it('exposes the hot-path counters with run_id, per replica and per code', async () => {
    const ep = new Endpoint({ id: 'r1', zone: 'a', host: '127.0.0.1', port: 1, version: 'v1' });
    ep.attempts[0] = 10; // response
    ep.attempts[1] = 2; // connect_error
    ep.responses[200] = 9;
    ep.responses[503] = 1;
    const responded = new Float64Array(600);
    responded[200] = 11;
    responded[502] = 1;
    const d = new DurationCounter();
    d.observe(0.0002); // ≤ 0.00025
    d.observe(0.0003); // ≤ 0.0005
    d.observe(0.003); // ≤ 0.005
    d.observe(20); // +Inf only
    const src: ProxyMetricsSource = {
      received: () => 12,
      responded: () => responded,
      clientAborts: () => 1,
      malformed: () => 3,
      inFlight: () => 4,
      retries: () => ({ connect_error: 2, reset: 0, timeout: 1 }),
      retryBudgetExhausted: () => 5,
      savedByRetry: () => 2,
      zoneEjections: () => new Map([['b', 1]]),
      endpoints: () => [ep],
      durations: () => d,
    };
    const reg = createProxyRegistry('run-7', src);
    const text = await reg.metrics();
    expect(line(text, 'zerodrop_proxy_requests_received_total')).toBe('zerodrop_proxy_requests_received_total{run_id="run-7"} 12');
    expect(line(text, 'zerodrop_proxy_responses_total{code="502"')).toBe('zerodrop_proxy_responses_total{code="502",run_id="run-7"} 1');
    expect(text).toContain('zerodrop_proxy_upstream_attempts_total{replica="r1",zone="a",version="v1",outcome="response",run_id="run-7"} 10');
    expect(text).toContain('zerodrop_proxy_upstream_attempts_total{replica="r1",zone="a",version="v1",outcome="connect_error",run_id="run-7"} 2');
    expect(text).toContain('zerodrop_proxy_upstream_attempts_total{replica="r1",zone="a",version="v1",outcome="timeout",run_id="run-7"} 0');
    expect(text).toContain('zerodrop_proxy_upstream_responses_total{replica="r1",zone="a",version="v1",code="503",run_id="run-7"} 1');
    expect(text).toContain('zerodrop_proxy_retries_total{reason="timeout",run_id="run-7"} 1');
    expect(text).toContain('zerodrop_proxy_retry_budget_exhausted_total{run_id="run-7"} 5');
    expect(text).toContain('zerodrop_proxy_saved_by_retry_total{run_id="run-7"} 2');
    expect(text).toContain('zerodrop_proxy_client_aborts_total{run_id="run-7"} 1');
    expect(text).toContain('zerodrop_proxy_requests_in_flight{run_id="run-7"} 4');
    expect(text).toContain('zerodrop_proxy_endpoint_state{replica="r1",zone="a",version="v1",state="active",run_id="run-7"} 1');
    expect(text).toContain('zerodrop_proxy_endpoint_state{replica="r1",zone="a",version="v1",state="ejected",run_id="run-7"} 0');
    expect(text).toContain('zerodrop_proxy_zone_ejections_total{zone="b",run_id="run-7"} 1');
    // histogram: cumulative buckets, +Inf = count, sum
    expect(text).toContain('zerodrop_proxy_request_duration_seconds_bucket{le="0.00025",run_id="run-7"} 1');
    expect(text).toContain('zerodrop_proxy_request_duration_seconds_bucket{le="0.0005",run_id="run-7"} 2');
    expect(text).toContain('zerodrop_proxy_request_duration_seconds_bucket{le="0.005",run_id="run-7"} 3');
    expect(text).toContain('zerodrop_proxy_request_duration_seconds_bucket{le="10",run_id="run-7"} 3');
    expect(text).toContain('zerodrop_proxy_request_duration_seconds_bucket{le="+Inf",run_id="run-7"} 4');
    expect(text).toContain('zerodrop_proxy_request_duration_seconds_count{run_id="run-7"} 4');
    expect(line(text, 'zerodrop_proxy_request_duration_seconds_sum')).toMatch(/ 20\.0035\d*$/);

    // A second scrape reflects new counts (collect() resets before filling).
    ep.attempts[0] = 11;
    d.observe(0.0002);
    const again = await reg.metrics();
    expect(again).toContain('outcome="response",run_id="run-7"} 11');
    expect(again).toContain('zerodrop_proxy_request_duration_seconds_count{run_id="run-7"} 5');
  });
});
