/**
 * The cross-component PromQL rows (docs/architecture.md, the proof, point 2, "evaluated again with PromQL"):
 * the builders as tables, their evaluation against a fake server, and — where promtool is
 * installed — the real PromQL semantics, with `promtool test rules` (an in-process evaluator over
 * synthetic series: no server, no port, about 0.1 s).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PrometheusApi, QueryResult } from '../../src/prometheus/api.js';
import {
  buildCrossQueries,
  buildQueries,
  evaluateQueries,
  explainRows,
  toResultQueries,
  type InProcessNumbers,
  type QuerySpec,
} from '../../src/prometheus/checks.js';

const RUN = 'run-1';
const RANGE_S = 600;

const numbers: InProcessNumbers = {
  driverSent: 100,
  driver2xx: 97,
  proxyReceived: 97,
  proxy2xx: 97,
  proxyUpstreamResponses: 100,
  replicas: {
    exact: new Map([
      ['old', { count: 40, source: 'final' as const }],
      ['live', { count: 50, source: 'live' as const }],
    ]),
    lowerBound: new Map([['dead', 6]]),
    lowerBoundProxyCeiling: 12,
    unread: [],
  },
};

const byName = (specs: QuerySpec[]): Map<string, QuerySpec> => new Map(specs.map((q) => [q.name, q]));

describe('buildCrossQueries', () => {
  const cross = byName(buildCrossQueries(RUN, RANGE_S, numbers));

  it.each([
    [
      'sent-equals-received',
      [
        'zerodrop_driver_requests_sent_total',
        'zerodrop_driver_requests_completed_total{run_id="run-1",outcome="refused"}',
        'zerodrop_proxy_requests_received_total',
      ],
    ],
    ['2xx-agree', ['zerodrop_proxy_responses_total{run_id="run-1",code=~"2.."}', 'zerodrop_driver_responses_total{run_id="run-1",code=~"2.."}']],
    [
      'replicas-cover-proxy',
      [
        'zerodrop_orchestrator_replica_final_responses',
        'http_requests_total',
        'zerodrop_proxy_upstream_responses_total',
        'zerodrop_proxy_upstream_attempts_total{run_id="run-1",outcome!="response"}',
      ],
    ],
  ])('%s: reads %j from the latest raw samples, must be 0, no in-process number', (name, metrics) => {
    const q = cross.get(name)!;
    expect(q).toMatchObject({ kind: 'cross', expected: 0, inProcess: null, relation: '=' });
    for (const m of metrics) expect(q.promql).toContain(m);
    expect(q.promql).not.toMatch(/increase\(|rate\(|irate\(|delta\(/);
    expect(q.promql).toContain('last_over_time(');
    expect(q.promql).toContain(`[${RANGE_S}s]`);
    expect(q.what).toBeTruthy();
  });

  it('only the refused term may be missing: the main terms never default to 0', () => {
    const sent = cross.get('sent-equals-received')!.promql;
    expect(sent.match(/or vector\(0\)/g)).toHaveLength(1);
    expect(sent).toMatch(/outcome="refused"\}\[600s\]\)\) or vector\(0\)\)/);
    expect(cross.get('2xx-agree')!.promql).not.toContain('vector(0)');
    // The replicas row is 0 only when there are replica series to compare (count(all) * 0).
    expect(cross.get('replicas-cover-proxy')!.promql).toMatch(/^count\(.*\) or \(count\(.*\) \* 0\)$/);
  });

  it("keeps probe routes out of the replicas' counts and names the killed replicas exactly", () => {
    const q = cross.get('replicas-cover-proxy')!;
    expect(q.promql).toContain('replica=~"live",route!~"/healthz|/readyz|/metrics"');
    expect(q.promql).toContain('replica=~"dead",route!~"/healthz|/readyz|/metrics"');
    expect(q.byReplica).toBeDefined();
  });

  it.each<[string, InProcessNumbers['replicas'], string[]]>([
    ['no metrics (metricsPath: null)', null, ['sent-equals-received', '2xx-agree']],
    ['no replica ever read', { exact: new Map(), lowerBound: new Map(), lowerBoundProxyCeiling: 0, unread: ['x'] }, ['sent-equals-received', '2xx-agree']],
    [
      'only killed replicas',
      { exact: new Map(), lowerBound: new Map([['dead', 1]]), lowerBoundProxyCeiling: 3, unread: [] },
      ['sent-equals-received', '2xx-agree', 'replicas-cover-proxy'],
    ],
    [
      'only exact replicas',
      { exact: new Map([['old', { count: 1, source: 'final' as const }]]), lowerBound: new Map(), lowerBoundProxyCeiling: 0, unread: [] },
      ['sent-equals-received', '2xx-agree', 'replicas-cover-proxy'],
    ],
  ])('%s → rows %j', (_, replicas, names) => {
    expect(buildCrossQueries(RUN, RANGE_S, { ...numbers, replicas }).map((q) => q.name)).toEqual(names);
  });

  it('an only-killed run checks the upper bound alone (nothing was read exactly)', () => {
    const q = buildCrossQueries(RUN, RANGE_S, {
      ...numbers,
      replicas: { exact: new Map(), lowerBound: new Map([['dead', 1]]), lowerBoundProxyCeiling: 3, unread: [] },
    })[2]!;
    expect(q.promql).not.toContain('replica_final_responses');
    expect(q.promql).not.toContain(' < ');
  });

  it('buildQueries = the fidelity rows, then these', () => {
    const all = buildQueries(RUN, RANGE_S, numbers);
    expect(all.slice(-3).map((q) => q.name)).toEqual(['sent-equals-received', '2xx-agree', 'replicas-cover-proxy']);
    expect(all.slice(0, -3).every((q) => q.kind !== 'cross')).toBe(true);
  });
});

function fakeApi(answer: (expr: string) => QueryResult | Error): PrometheusApi {
  return {
    async query(expr: string): Promise<QueryResult> {
      const a = answer(expr);
      if (a instanceof Error) throw a;
      return a;
    },
  } as unknown as PrometheusApi;
}
const vec = (...values: [Record<string, string>, number][]): QueryResult => ({
  resultType: 'vector',
  vector: values.map(([metric, value]) => ({ metric, t: 0, value })),
});

describe('evaluateQueries on cross rows', () => {
  const specs = buildCrossQueries(RUN, RANGE_S, numbers);
  it.each<[string, QueryResult | Error, number | null, boolean | null, RegExp | null]>([
    ['0: the components agree', vec([{}, 0]), 0, true, null],
    ['a mismatch of 3', vec([{}, 3]), 3, false, /PromQL mismatch 3, must be 0/],
    ['a negative mismatch', vec([{}, -1]), -1, false, /PromQL mismatch -1/],
    ['no data (a component never scraped)', vec(), null, null, /no data/],
    ['a query error', new Error('bad_data: parse error'), null, null, /query failed: .*parse error/],
  ])('%s', async (_, answer, value, agree, problem) => {
    const rows = await evaluateQueries(
      fakeApi(() => answer),
      specs,
      0,
    );
    for (const r of rows) {
      expect(r).toMatchObject({ value, agree });
      if (problem) expect(r.problem).toMatch(problem);
      else expect(r.problem).toBeNull();
    }
  });

  it('the result rows say they are cross rows, and the note names the replicas out of bounds', async () => {
    const rows = await evaluateQueries(
      fakeApi((e) => (e.startsWith('count(') ? vec([{}, 1]) : e.startsWith('((') ? vec([{ replica: 'old' }, 39]) : vec([{}, 0]))),
      specs,
      0,
      true,
    );
    const q = toResultQueries(rows);
    expect(q.map((x) => [x.name, x.kind, x.expected, x.value, x.agree])).toEqual([
      ['sent-equals-received', 'cross', 0, 0, true],
      ['2xx-agree', 'cross', 0, 0, true],
      ['replicas-cover-proxy', 'cross', 0, 1, false],
    ]);
    expect(q[0]!.what).toBe('driver sent − refused connects − proxy received');
    expect(explainRows(rows, numbers)).toEqual([
      expect.stringMatching(/^replicas-cover-proxy: PromQL mismatch 1, must be 0 .*\[out of bounds: old \(replica count 39\)\]$/),
    ]);
  });
});

// ---- the real PromQL semantics ----------------------------------------------------------------

const hasPromtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

/** A value per series; 'gone': never scraped; 'stale': scraped, then its target went away (a stale marker). */
type Series = Record<string, number | 'gone' | 'stale'>;

/** A run whose counters all agree: 100 sent, 3 refused, 97 received and answered 2xx. */
const BASE: Series = {
  [`zerodrop_driver_requests_sent_total{run_id="${RUN}"}`]: 100,
  [`zerodrop_driver_requests_completed_total{run_id="${RUN}",outcome="ok"}`]: 97,
  [`zerodrop_driver_requests_completed_total{run_id="${RUN}",outcome="refused"}`]: 3,
  [`zerodrop_driver_responses_total{run_id="${RUN}",code="200"}`]: 97,
  [`zerodrop_proxy_requests_received_total{run_id="${RUN}"}`]: 97,
  [`zerodrop_proxy_responses_total{run_id="${RUN}",code="200"}`]: 90,
  [`zerodrop_proxy_responses_total{run_id="${RUN}",code="204"}`]: 7,
  // old: retired, final read 40; live: last scrape 50 (+ probes, not traffic); dead: killed, last scrape 6.
  [`zerodrop_orchestrator_replica_final_responses{run_id="${RUN}",replica="old",zone="a",version="v1"}`]: 40,
  [`http_requests_total{run_id="${RUN}",replica="old",route="/",code="200",method="GET"}`]: 38,
  [`http_requests_total{run_id="${RUN}",replica="live",route="/",code="200",method="GET"}`]: 50,
  [`http_requests_total{run_id="${RUN}",replica="live",route="/healthz",code="200",method="GET"}`]: 999,
  [`http_requests_total{run_id="${RUN}",replica="dead",route="/",code="200",method="GET"}`]: 6,
  [`zerodrop_proxy_upstream_responses_total{run_id="${RUN}",replica="old",zone="a",version="v1",code="200"}`]: 40,
  [`zerodrop_proxy_upstream_responses_total{run_id="${RUN}",replica="live",zone="b",version="v2",code="200"}`]: 50,
  [`zerodrop_proxy_upstream_responses_total{run_id="${RUN}",replica="dead",zone="c",version="v2",code="200"}`]: 7,
  [`zerodrop_proxy_upstream_responses_total{run_id="${RUN}",replica="dead",zone="c",version="v2",code="503"}`]: 3,
  ...attempts('old', 'a', 'v1', 40, 0),
  ...attempts('live', 'b', 'v2', 50, 0),
  ...attempts('dead', 'c', 'v2', 10, 2),
};

function attempts(replica: string, zone: string, version: string, response: number, connectError: number): Series {
  const l = `run_id="${RUN}",replica="${replica}",zone="${zone}",version="${version}"`;
  return {
    [`zerodrop_proxy_upstream_attempts_total{${l},outcome="response"}`]: response,
    [`zerodrop_proxy_upstream_attempts_total{${l},outcome="connect_error"}`]: connectError,
    [`zerodrop_proxy_upstream_attempts_total{${l},outcome="reset"}`]: 0,
  };
}

const key = (metric: string, replica: string, extra = ''): string =>
  Object.keys(BASE).find((k) => k.startsWith(`${metric}{`) && k.includes(`replica="${replica}"`) && k.includes(extra))!;

/** [case, series changes, expected value per row (null = no sample: INVALID)] */
const CASES: [string, Series, Record<string, number | null>][] = [
  [
    'every count agrees (refused connects excluded, probes excluded, a killed target stale)',
    { [key('http_requests_total', 'dead')]: 'stale' },
    { 'sent-equals-received': 0, '2xx-agree': 0, 'replicas-cover-proxy': 0 },
  ],
  [
    'the proxy counted one request fewer than the driver sent',
    { [`zerodrop_proxy_requests_received_total{run_id="${RUN}"}`]: 96 },
    { 'sent-equals-received': 1 },
  ],
  [
    'no refused connects: the whole ledger must reach the proxy',
    {
      [`zerodrop_driver_requests_completed_total{run_id="${RUN}",outcome="refused"}`]: 'gone',
      [`zerodrop_proxy_requests_received_total{run_id="${RUN}"}`]: 100,
    },
    { 'sent-equals-received': 0 },
  ],
  [
    'the proxy was never scraped: no value, not a pass',
    { [`zerodrop_proxy_requests_received_total{run_id="${RUN}"}`]: 'gone' },
    { 'sent-equals-received': null },
  ],
  ['the proxy sent a 2xx the driver never got', { [`zerodrop_driver_responses_total{run_id="${RUN}",code="200"}`]: 96 }, { '2xx-agree': 1 }],
  [
    'a 503 on both sides is not a 2xx',
    { [`zerodrop_driver_responses_total{run_id="${RUN}",code="503"}`]: 3, [`zerodrop_proxy_responses_total{run_id="${RUN}",code="503"}`]: 3 },
    { '2xx-agree': 0 },
  ],
  [
    'a retired replica counted fewer than the proxy got from it',
    { [key('zerodrop_orchestrator_replica_final_responses', 'old')]: 39 },
    { 'replicas-cover-proxy': 1 },
  ],
  ['a live replica counted more than it can have served', { [key('http_requests_total', 'live', 'route="/"')]: 51 }, { 'replicas-cover-proxy': 1 }],
  [
    '…unless failed attempts explain the excess',
    { [key('http_requests_total', 'live', 'route="/"')]: 52, ...attempts('live', 'b', 'v2', 50, 2) },
    { 'replicas-cover-proxy': 0 },
  ],
  ["a killed replica above the proxy's responses + failed attempts", { [key('http_requests_total', 'dead')]: 13 }, { 'replicas-cover-proxy': 1 }],
  ['a killed replica may fall short (its last scrape is a lower bound)', { [key('http_requests_total', 'dead')]: 0 }, { 'replicas-cover-proxy': 0 }],
  [
    'two replicas out of bounds are two',
    { [key('zerodrop_orchestrator_replica_final_responses', 'old')]: 1, [key('http_requests_total', 'dead')]: 99 },
    { 'replicas-cover-proxy': 2 },
  ],
  [
    'no replica series at all: no value',
    {
      [key('zerodrop_orchestrator_replica_final_responses', 'old')]: 'gone',
      [key('http_requests_total', 'old')]: 'gone',
      [key('http_requests_total', 'live', 'route="/"')]: 'gone',
      [key('http_requests_total', 'live', 'healthz')]: 'gone',
      [key('http_requests_total', 'dead')]: 'gone',
    },
    { 'replicas-cover-proxy': null },
  ],
];

describe.skipIf(!hasPromtool)('the cross rows in real PromQL (promtool test rules)', () => {
  it("evaluate docs/architecture.md's equalities on synthetic series", () => {
    const specs = byName(buildCrossQueries(RUN, RANGE_S, numbers));
    const tests = CASES.map(([name, changes, expected]) => {
      const series = { ...BASE, ...changes };
      return {
        name,
        interval: '1m',
        // Samples at 0, 1m and 2m (or a stale marker at 2m); read at 3m.
        input_series: Object.entries(series)
          .filter(([, v]) => v !== 'gone')
          .map(([k, v]) => ({ series: k, values: v === 'stale' ? `${String(BASE[k])} ${String(BASE[k])} stale` : `${v} ${v} ${v}` })),
        promql_expr_test: Object.entries(expected).map(([row, value]) => ({
          expr: specs.get(row)!.promql,
          eval_time: '3m',
          exp_samples: value === null ? [] : [{ labels: '{}', value }],
        })),
      };
    });
    const dir = mkdtempSync(join(tmpdir(), 'zd-promtool-'));
    try {
      const file = join(dir, 'cross.test.yml');
      // JSON is YAML: no serializer needed.
      writeFileSync(file, JSON.stringify({ evaluation_interval: '1m', tests }, null, 1));
      const r = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8', timeout: 30_000 });
      expect(`${r.stdout}${r.stderr}`, 'promtool test rules').toContain('SUCCESS');
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
