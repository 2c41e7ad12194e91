import { describe, expect, it } from 'vitest';
import type { ReplicaRecord } from '../../../orchestrator/src/controller.js';
import { emptyProxyStats, type EndpointStats, type ProxyStats } from '../../../orchestrator/src/proxy/types.js';
import type { PrometheusApi, QueryResult } from '../../src/prometheus/api.js';
import {
  buildFidelityQueries,
  buildQueries,
  evaluateQueries,
  evaluateWhenScraped,
  exactAlternation,
  explainRows,
  inProcessNumbers,
  promString,
  toResultQueries,
  type InProcessNumbers,
} from '../../src/prometheus/checks.js';

function ep(id: string, responses: Record<string, number>, failed = 0): EndpointStats {
  return {
    id,
    zone: 'a',
    version: 'v1',
    state: 'active',
    attempts: { response: 0, connect_error: failed, reset: 0, timeout: 0, other_error: 0 },
    responses,
    inFlight: 0,
    ejections: 0,
  };
}

function rec(id: string, o: { final?: number; last?: number; exit?: boolean; frozen?: boolean; started?: boolean }): ReplicaRecord {
  return {
    id,
    zone: 'a',
    version: 'v1',
    started:
      o.started === false ? null : { replicaId: id, endpoint: { host: '127.0.0.1', port: 1 }, adminEndpoint: null, pid: 1, containerId: null, startedAtMs: 0 },
    final: o.final === undefined ? null : { responses: o.final, atMs: 1 },
    lastScrape: o.last === undefined ? null : { responses: o.last, atMs: 1 },
    exit: o.exit ? { replicaId: id, kind: 'killed', code: null, signal: 'SIGKILL', atMs: 1 } : null,
    zoneFailedUnnoticed: o.frozen ?? false,
  } as unknown as ReplicaRecord;
}

const proxyStats: ProxyStats = {
  ...emptyProxyStats(),
  received: 100,
  responded: { '200': 97, '503': 3 },
  endpoints: [ep('old', { '200': 40 }), ep('live', { '200': 50 }), ep('dead', { '200': 7, '503': 3 }, 2)],
};

describe('inProcessNumbers', () => {
  const status = new Uint16Array(100);
  status.fill(200, 0, 97);
  status.fill(503, 97, 100);
  const n = inProcessNumbers({
    ledger: { length: 100, status },
    proxyStats,
    metricsPath: '/metrics',
    replicas: [
      rec('old', { final: 40, last: 35, exit: true }),
      rec('live', { last: 50 }),
      rec('dead', { last: 6, exit: true }),
      rec('frozen', { last: 3, frozen: true }),
      rec('never', { started: false }),
    ],
  });
  it('takes the driver numbers from the ledger and the proxy numbers from its stats', () => {
    expect(n).toMatchObject({ driverSent: 100, driver2xx: 97, proxyReceived: 100, proxy2xx: 97, proxyUpstreamResponses: 100 });
  });
  it('counts a retired replica by its final read, a live one by its last scrape, and keeps killed/frozen ones apart', () => {
    expect([...n.replicas!.exact]).toEqual([
      ['old', { count: 40, source: 'final' }],
      ['live', { count: 50, source: 'live' }],
    ]);
    expect([...n.replicas!.lowerBound]).toEqual([
      ['dead', 6],
      ['frozen', 3],
    ]);
    expect(n.replicas!.lowerBoundProxyCeiling).toBe(12); // dead: 10 responses + 2 failed attempts
  });
  it('has no replica rows when the service has no metrics', () => {
    expect(inProcessNumbers({ ledger: { length: 0, status: new Uint16Array(0) }, proxyStats, metricsPath: null, replicas: [] }).replicas).toBeNull();
  });
});

const numbers: InProcessNumbers = {
  driverSent: 100,
  driver2xx: 97,
  proxyReceived: 100,
  proxy2xx: 97,
  proxyUpstreamResponses: 100,
  replicas: {
    exact: new Map([
      ['old', { count: 40, source: 'final' as const }],
      ['web-v1.a', { count: 50, source: 'live' as const }],
    ]),
    lowerBound: new Map([['dead', 6]]),
    lowerBoundProxyCeiling: 12,
    unread: [],
  },
};

describe('buildQueries', () => {
  const qs = buildQueries('run"1', 120, numbers);
  const fidelity = buildFidelityQueries('run"1', 120, numbers);
  const by = new Map(qs.map((q) => [q.name, q]));
  it('reads the last raw sample over the run, never increase() or rate()', () => {
    for (const q of qs) {
      expect(q.promql).not.toMatch(/increase|rate\(/);
      expect(q.promql).toContain('last_over_time(');
      expect(q.promql).toContain('[120s]');
      expect(q.promql).toContain('run_id="run\\"1"');
    }
  });
  it('has the proof equalities with their in-process numbers, then the cross-component rows', () => {
    expect(fidelity.map((q) => q.name)).toEqual([
      'driver-sent',
      'proxy-received',
      'proxy-2xx',
      'driver-2xx',
      'proxy-upstream-responses',
      'replica-responses',
      'replica-responses-killed',
    ]);
    expect([...by.keys()]).toEqual([...fidelity.map((q) => q.name), 'sent-equals-received', '2xx-agree', 'replicas-cover-proxy']);
    expect(by.get('driver-sent')?.promql).toBe('sum(last_over_time(zerodrop_driver_requests_sent_total{run_id="run\\"1"}[120s]))');
    expect(by.get('proxy-2xx')?.promql).toContain('zerodrop_proxy_responses_total{run_id="run\\"1",code=~"2.."}');
    expect(by.get('driver-2xx')?.inProcess).toBe(97);
  });
  it('replicas: final reads `or` the last scrape of live replicas over traffic routes; killed ones apart as ≤', () => {
    const r = by.get('replica-responses')!;
    expect(r.promql).toBe(
      'sum(sum by (replica) (last_over_time(zerodrop_orchestrator_replica_final_responses{run_id="run\\"1"}[120s])) or sum by (replica) (last_over_time(http_requests_total{run_id="run\\"1",replica=~"web-v1\\\\.a",route!~"/healthz|/readyz|/metrics"}[120s])))',
    );
    expect(r).toMatchObject({ inProcess: 90, relation: '=', expectReplicas: ['old', 'web-v1.a'] });
    const k = by.get('replica-responses-killed')!;
    expect(k).toMatchObject({ inProcess: 6, relation: '≤', ceiling: 12, zeroWhenMissing: true });
    expect(k.promql).toMatch(/ or vector\(0\)$/);
  });
  it('escapes regex metacharacters and PromQL strings', () => {
    expect(exactAlternation(['a.b', 'c|d'])).toBe('a\\.b|c\\|d');
    expect(promString('a\\b"c')).toBe('"a\\\\b\\"c"');
  });
});

/** A fake server: expression → result (or an error). */
function fakeApi(answer: (expr: string, call: number) => QueryResult | Error): { api: PrometheusApi; calls: string[] } {
  const calls: string[] = [];
  const api = {
    async query(expr: string): Promise<QueryResult> {
      calls.push(expr);
      const a = answer(expr, calls.length);
      if (a instanceof Error) throw a;
      return a;
    },
  } as unknown as PrometheusApi;
  return { api, calls };
}
const vec = (...values: [Record<string, string>, number][]): QueryResult => ({
  resultType: 'vector',
  vector: values.map(([metric, value]) => ({ metric, t: 0, value })),
});

describe('evaluateQueries', () => {
  // The fidelity rows (the cross rows have their own tests: prometheus-cross.test.ts).
  const specs = buildFidelityQueries('r', 60, numbers);
  const truth = (expr: string): QueryResult => {
    if (expr.startsWith('sum by (replica) (last_over_time(http_requests_total')) return vec([{ replica: 'dead' }, 5]);
    if (expr.startsWith('sum by (replica)')) return vec([{ replica: 'old' }, 40], [{ replica: 'web-v1.a' }, 50]);
    if (expr.includes('replica_final')) return vec([{}, 90]);
    if (expr.includes('vector(0)')) return vec([{}, 5]);
    if (expr.includes('2..')) return vec([{}, 97]);
    return vec([{}, 100]);
  };
  it('agrees when every number matches', async () => {
    const rows = await evaluateQueries(fakeApi(truth).api, specs, 0);
    expect(rows.map((r) => [r.spec.name, r.value, r.agree])).toEqual([
      ['driver-sent', 100, true],
      ['proxy-received', 100, true],
      ['proxy-2xx', 97, true],
      ['driver-2xx', 97, true],
      ['proxy-upstream-responses', 100, true],
      ['replica-responses', 90, true],
      ['replica-responses-killed', 5, true],
    ]);
  });
  it('a different number is agree=false, with the difference in words', async () => {
    const rows = await evaluateQueries(fakeApi((e) => (e.includes('proxy_requests_received') ? vec([{}, 99]) : truth(e))).api, specs, 0, true);
    const row = rows.find((r) => r.spec.name === 'proxy-received')!;
    expect(row).toMatchObject({ value: 99, agree: false });
    expect(explainRows(rows, numbers)).toEqual(['proxy-received: PromQL 99 ≠ in-process 100']);
  });
  it('no data is value=null (INVALID), and so is a replica Prometheus never saw', async () => {
    const rows = await evaluateQueries(
      fakeApi((e) =>
        e.includes('driver_requests_sent')
          ? vec()
          : e.startsWith('sum by (replica) (last_over_time(zerodrop_orchestrator')
            ? vec([{ replica: 'old' }, 40])
            : truth(e),
      ).api,
      specs,
      0,
    );
    expect(rows.find((r) => r.spec.name === 'driver-sent')).toMatchObject({ value: null, agree: null });
    const rep = rows.find((r) => r.spec.name === 'replica-responses')!;
    expect(rep).toMatchObject({ value: null, agree: null });
    expect(rep.problem).toContain('web-v1.a');
    expect(toResultQueries(rows).find((q) => q.name === 'driver-sent')).toMatchObject({ value: null, agree: null, inProcess: 100 });
  });
  it('a killed replica counted above the proxy ceiling disagrees', async () => {
    const rows = await evaluateQueries(fakeApi((e) => (e.includes('vector(0)') ? vec([{}, 13]) : truth(e))).api, specs, 0);
    expect(rows.find((r) => r.spec.name === 'replica-responses-killed')).toMatchObject({ value: 13, agree: false });
  });
  it('a query error is a row with no value, not an exception', async () => {
    const rows = await evaluateQueries(fakeApi((e) => (e.includes('2..') ? new Error('boom') : truth(e))).api, specs, 0);
    expect(rows.find((r) => r.spec.name === 'proxy-2xx')).toMatchObject({ value: null, problem: expect.stringContaining('boom') });
  });
});

describe('evaluateWhenScraped', () => {
  const specs = buildQueries('r', 60, { ...numbers, replicas: null }).slice(0, 1);
  it('waits two scrape intervals, then polls until Prometheus has the final value', async () => {
    let now = 1000;
    const { api, calls } = fakeApi((_e, call) => vec([{}, call < 3 ? 90 : 100]));
    const res = await evaluateWhenScraped(api, specs, {
      loadEndedMs: 1000,
      scrapeIntervalMs: 1000,
      deadlineMs: 15_000,
      now: () => now,
      sleep: async (ms) => void (now += ms),
    });
    expect(res).toMatchObject({ converged: true, scraped: true });
    expect(res.readAfterMs).toBeGreaterThanOrEqual(2000);
    expect(calls).toHaveLength(3);
    expect(res.rows[0]).toMatchObject({ value: 100, agree: true });
  });
  it('gives up at the deadline with the disagreement as the answer', async () => {
    let now = 0;
    const res = await evaluateWhenScraped(fakeApi(() => vec([{}, 1])).api, specs, {
      loadEndedMs: 0,
      scrapeIntervalMs: 1000,
      deadlineMs: 5000,
      now: () => now,
      sleep: async (ms) => void (now += ms),
    });
    expect(res.converged).toBe(false);
    expect(now).toBeGreaterThanOrEqual(5000);
    expect(now).toBeLessThan(7000);
    expect(res.rows[0]).toMatchObject({ value: 1, agree: false });
  });
  it('does not stop on agreement before every target was scraped after the load ended', async () => {
    let now = 0;
    let scrapedChecks = 0;
    const res = await evaluateWhenScraped(fakeApi(() => vec([{}, 100])).api, specs, {
      loadEndedMs: 0,
      scrapeIntervalMs: 1000,
      deadlineMs: 15_000,
      now: () => now,
      sleep: async (ms) => void (now += ms),
      scrapedSinceLoadEnd: async () => ++scrapedChecks >= 3,
    });
    expect(res).toMatchObject({ converged: true, scraped: true });
    expect(scrapedChecks).toBe(3);
  });
});
