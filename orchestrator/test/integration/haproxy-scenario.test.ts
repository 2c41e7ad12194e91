/**
 * The HAProxy data plane end to end through the runner (real replicas, real driver, real
 * verifier): `proxy: { engine: haproxy }` in a scenario. A rolling update PASSes with 0 retries;
 * a zone crash PASSes with its retries counted per request (x-zerodrop-attempts from HAProxy's
 * %rc) and in HAProxy's counters alike, and with a real Prometheus the PromQL proof agrees with
 * the translated zerodrop_proxy_* metrics. Skipped (reason in the suite name) without haproxy.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCli } from '../../../harness/src/cli/args.js';
import { findPrometheusBinary } from '../../../harness/src/prometheus/server.js';
import { parseScenarioText } from '../../../harness/src/scenario/load.js';
import { describePlan, resolvePlan } from '../../../harness/src/scenario/resolve.js';
import { ZerodropError } from '../../../common/src/errors.js';
import { haproxyAvailability } from '../../src/proxy/haproxy/binary.js';
import { hasDockerBridge } from '../../src/runtime/docker-endpoint.js';
import { checkOf, explain, processesOfRun, runYaml } from '../../../test/helpers/scenario-run.js';

const avail = haproxyAvailability();
const suite = `HAProxy data plane: scenarios through the runner${avail.ok ? ` (haproxy ${avail.version})` : ` — SKIPPED: ${avail.reason}; apt-get install -y haproxy to run it`}`;
const hasPrometheus = findPrometheusBinary() !== null;

/** haproxy processes of a run (their config lives in a temp dir named after the run). */
function haproxyOfRun(runId: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (cmd.includes('haproxy') && cmd.includes(`zd-haproxy-${runId}`)) pids.push(Number(name));
    } catch {
      // gone
    }
  }
  return pids;
}

describe('selecting the data plane', () => {
  it('--proxy and proxy.engine pick it (default node); a bad value is a usage error', () => {
    expect(parseCli(['demo', '--proxy', 'haproxy']).overrides.proxyEngine).toBe('haproxy');
    expect(parseCli(['demo']).overrides.proxyEngine).toBeUndefined();
    expect(() => parseCli(['demo', '--proxy', 'envoy'])).toThrow(/--proxy envoy/);
    const yaml = 'name: x\nload: { rate: 100, duration: 5s }\n';
    expect(resolvePlan(parseScenarioText(yaml, 'x.yaml')).dataPlane).toEqual({ engine: 'node', why: 'engine: node' });
    expect(resolvePlan(parseScenarioText(yaml, 'x.yaml'), { proxyEngine: 'haproxy' }).dataPlane).toEqual({
      engine: 'haproxy',
      threads: 1,
      why: 'engine: haproxy',
    });
    // auto: HAProxy when it is installed (CI=true requires it), on Docker too (bridge addresses).
    expect(resolvePlan(parseScenarioText(yaml, 'x.yaml'), { proxyEngine: 'auto' }).dataPlane).toMatchObject(
      avail.ok ? { engine: 'haproxy', why: expect.stringMatching(/^auto: HAProxy/) as unknown } : { engine: 'node' },
    );
    expect(resolvePlan(parseScenarioText(yaml, 'x.yaml'), { proxyEngine: 'auto', runtime: 'docker' }).dataPlane.engine).toBe(
      avail.ok && hasDockerBridge() ? 'haproxy' : 'node',
    );
    const two = resolvePlan(parseScenarioText(`${yaml}proxy: { engine: haproxy, haproxy: { threads: 2 } }\n`, 'x.yaml'));
    expect(two.dataPlane).toEqual({ engine: 'haproxy', threads: 2, why: 'engine: haproxy' });
    expect(describePlan(two).join('\n')).toMatch(/proxy +HAProxy \(2 threads\)/);
    expect(() => parseScenarioText(`${yaml}proxy: { engine: nginx }\n`, 'x.yaml')).toThrow();
  });

  it('a missing haproxy stops the run before anything starts, with the fix', async () => {
    const saved = process.env['ZERODROP_HAPROXY_BIN'];
    process.env['ZERODROP_HAPROXY_BIN'] = '/nonexistent/haproxy';
    try {
      const err = await runYaml('name: it-no-haproxy\nproxy: { engine: haproxy }\nload: { rate: 100, duration: 5s }\n').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ZerodropError);
      expect((err as ZerodropError).code).toBe('ZD_PROXY_FAILED');
      expect((err as ZerodropError).fix).toMatch(/apt-get install -y haproxy.*--proxy node/);
    } finally {
      if (saved === undefined) delete process.env['ZERODROP_HAPROXY_BIN'];
      else process.env['ZERODROP_HAPROXY_BIN'] = saved;
    }
  });
});

describe.skipIf(!avail.ok)(suite, () => {
  it('the rollout scenario with proxy.engine haproxy PASSes: 0 failed, 0 retries, every count reconciled', async () => {
    const { result, logs } = await runYaml(`
name: it-haproxy-rollout
deployment: { replicas: 6, zones: [a, b, c], strategy: { maxSurge: 25%, maxUnavailable: 25% } }
proxy: { engine: haproxy }
load: { rate: 400, duration: 10s, warmup: 2s }
timeline:
  - { at: 3s, action: rollout, version: v2 }
`);
    expect(result.verdict, explain(result)).toBe('PASS');
    expect(logs.some((l) => /proxy http:\/\/127\.0\.0\.1:\d+/.test(l))).toBe(true);
    expect(result.load.failed).toBe(0);
    expect(result.load.lost).toBe(0);
    expect(
      Object.values(result.proxy.retries).reduce((a, b) => a + b, 0),
      'a rolling update done right needs no retries',
    ).toBe(0);
    expect(result.proxy.received).toBe(result.load.sent);
    expect(result.proxy.responded).toEqual({ '2xx': result.load.sent });
    for (const id of [
      'counters.sent-equals-received',
      'counters.2xx-agree',
      'counters.replicas-cover-proxy',
      'events.1-rollout',
      'events.final-version',
      'thresholds.rollout-retries',
    ]) {
      expect(checkOf(result, id).status, id).toBe('pass');
    }
    for (const r of result.replicas.filter((x) => x.version === 'v1')) {
      expect(r.exit).toBe('graceful');
      expect(r.replicaCountSource).toBe('final');
    }
    expect(processesOfRun(result.run.id)).toEqual([]);
    expect(haproxyOfRun(result.run.id)).toEqual([]);
  });

  // HAProxy's redispatch only avoids the previous server and its passive checks miss L7-retried
  // tries, so two hung replicas can take every try of a request until the active check marks them
  // down (worst case ≈ inter + 2 × timeout check = 750 ms, + scheduling): the per-try timeout must
  // leave the last try beyond that. With 3 tries, 2 × 400 ms failed 1 request in ~10 runs and
  // 2 × 700 ms passed; the default of 6 tries (HAPROXY_MAX_ATTEMPTS_DEFAULT) leaves 5 × 700 ms.
  it('a zone hang PASSes: frozen replicas found by per-try timeouts and health checks, retried, 0 failed', async () => {
    const { result } = await runYaml(`
name: it-haproxy-hang
deployment: { replicas: 6, zones: [a, b, c] }
proxy: { engine: haproxy, perTryTimeout: 700ms }
load: { rate: 300, duration: 10s, warmup: 2s, timeout: 10s }
timeline:
  - { at: 3s, action: hang-zone, zone: c }
  - { at: 7s, action: recover-zone, zone: c }
`);
    expect(result.verdict, explain(result)).toBe('PASS');
    expect(result.load.failed).toBe(0);
    // HAProxy counts a response timeout and an empty response in one counter (stats.ts): "reset"
    expect(result.proxy.retries['reset'] ?? 0, 'hung requests were retried after the per-try timeout').toBeGreaterThan(0);
    expect(result.disruption.savedByRetry).toBe(result.proxy.savedByRetry);
    const during = result.disruption.events.find((e) => e.kind === 'zone-hang');
    expect(during?.during.latency.maxMs ?? 0).toBeLessThan(3 * 700 + 700); // at most three timed-out tries, then an answer
    expect(haproxyOfRun(result.run.id)).toEqual([]);
  });

  it.skipIf(!hasPrometheus)('a zone crash PASSes: retries counted per request and by HAProxy alike; PromQL agrees with the translated metrics', async () => {
    const { result } = await runYaml(
      `
name: it-haproxy-crash
deployment: { replicas: 6, zones: [a, b, c], zoneFailureDetection: 2s }
proxy: { engine: haproxy }
load: { rate: 400, duration: 10s, warmup: 2s }
timeline:
  - { at: 3s, action: crash-zone, zone: b }
  - { at: 7s, action: recover-zone, zone: b }
`,
      { prometheus: 'auto' },
    );
    expect(result.verdict, explain(result)).toBe('PASS');
    expect(result.load.failed).toBe(0);
    const retries = Object.values(result.proxy.retries).reduce((a, b) => a + b, 0);
    expect(retries, 'the crash was absorbed by retries, and counted').toBeGreaterThan(0);
    // the driver's own count (x-zerodrop-attempts on each response) equals HAProxy's stick-table counter
    expect(result.disruption.savedByRetry).toBe(result.proxy.savedByRetry);
    expect(result.proxy.savedByRetry).toBeGreaterThan(0);
    const prom = result.checks.filter((c) => c.id.startsWith('prometheus.'));
    expect(prom.map((c) => c.id)).toEqual(expect.arrayContaining(['prometheus.proxy-received', 'prometheus.proxy-2xx', 'prometheus.proxy-upstream-responses']));
    for (const c of prom) expect(c.status, `${c.id}: ${c.actual}`).toBe('pass');
    expect(processesOfRun(result.run.id)).toEqual([]);
    expect(haproxyOfRun(result.run.id)).toEqual([]);
  });

  // Negative control, retries off: the requests sent to the crashed zone before HAProxy took it
  // out fail, and HAProxy's own account of each (request-log.ts) joins the ledger by request id.
  it("a zone crash without retries FAILs on ledger.no-failed-requests, each failed request with HAProxy's account of it", async () => {
    const { result, artifacts } = await runYaml(`
name: it-haproxy-crash-no-retries
deployment: { replicas: 3, zones: [a, b, c], zoneFailureDetection: 2s }
proxy: { engine: haproxy, retries: false }
load: { rate: 300, duration: 6s, warmup: 1s }
timeline:
  - { at: 2s, action: crash-zone, zone: b }
  - { at: 4s, action: recover-zone, zone: b }
`);
    expect(result.verdict, explain(result)).toBe('FAIL');
    expect(result.exitCode).toBe(1);
    expect(checkOf(result, 'ledger.no-failed-requests').status).toBe('fail');
    // The first request that needs a new connection to the dead replica is refused: a 503 (a
    // request sent on a connection it had kept idle may instead be a reset HAProxy never logs).
    const answered = result.failures.sample.filter((s) => s.status >= 500);
    expect(answered.length, explain(result)).toBeGreaterThan(0);
    // One try each (retries off), on the crashed replica.
    for (const s of answered) expect(s.dataPlane, s.id).toMatch(/^haproxy 5\d\d \S{4} · 1 try · last web-v1-b-\d+ · \d+ ms$/);
    const csv = readFileSync(artifacts['failed-requests.csv']!, 'utf8').trimEnd().split('\n');
    expect(csv[0]!.endsWith(',data_plane')).toBe(true);
    const answeredRows = csv.slice(1).filter((row) => /^[^,]+,[^,]+,http_error,5\d\d,/.test(row));
    expect(answeredRows).toHaveLength(answered.length);
    for (const row of answeredRows) expect(row).toMatch(/,haproxy 5\d\d [^,]+$/);
    expect(haproxyOfRun(result.run.id)).toEqual([]);
  });
});
