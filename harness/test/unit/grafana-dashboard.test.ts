import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  allPanels,
  dashboardProblems,
  dashboardQueries,
  loadDashboard,
  parseLabelValues,
  parseQueryResult,
  substitute,
  type Dashboard,
} from '../../src/prometheus/dashboard.js';

const root = (p: string): string => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const dashboard = loadDashboard(root('grafana/dashboards/zerodrop.json'));

describe('grafana/dashboards/zerodrop.json', () => {
  it('is structurally sound: unique ids, 24-column grid without overlaps, every target on ${DS_PROMETHEUS}, variables, annotations with a step', () => {
    expect(dashboardProblems(dashboard)).toEqual([]);
  });

  it('has the panels the issue asks for', () => {
    const panels = allPanels(dashboard);
    const stats = panels.filter((p) => p.type === 'stat').map((p) => p.title);
    expect(stats).toEqual(['Failed or lost requests', 'Success ratio', 'p99 latency (client, whole run)', 'Ready replicas', 'Proxy retries', 'Requests sent']);
    const series = panels.filter((p) => p.type === 'timeseries').map((p) => p.title);
    expect(series).toEqual(
      expect.arrayContaining([
        'Throughput by outcome (client)',
        'Per-replica share (proxy)',
        'Latency percentiles (client and proxy)',
        'Ready replicas by zone and version',
      ]),
    );
    const latency = panels.find((p) => p.title === 'Latency percentiles (client and proxy)')!;
    expect(latency.targets!.map((t) => t.expr).join('\n')).toMatch(
      /zerodrop_driver_request_duration_seconds_bucket[\s\S]*zerodrop_proxy_request_duration_seconds_bucket/,
    );
    expect(dashboard.annotations?.list?.map((a) => [(a as { name: string }).name, (a as { step: string }).step])).toEqual([
      ['Rolling update', '1s'],
      ['Zone down', '1s'],
    ]);
  });

  it('graphs use $__rate_interval and exact counts never come from increase()', () => {
    for (const q of dashboardQueries(dashboard)) {
      expect(q.expr, q.where).not.toMatch(/increase\(/);
      if (/rate\(/.test(q.expr)) expect(q.expr, q.where).toMatch(/rate\([^)]*\[\$__rate_interval\]\)/);
    }
  });

  it('lists every query: panels, annotations and the run_id variable', () => {
    const qs = dashboardQueries(dashboard);
    expect(qs.filter((q) => q.kind === 'annotation')).toHaveLength(2);
    const variables = qs.filter((q) => q.kind === 'variable');
    expect(variables.map((q) => parseLabelValues(q.expr))).toEqual([null]);
    expect(parseQueryResult(variables[0]!.expr)).toMatch(
      /^sort_desc\(max by \(run_id\) \(max_over_time\(zerodrop_orchestrator_event_timestamp_seconds\[\$__range\]\)\)\)$/,
    );
    expect(qs.filter((q) => q.kind === 'panel').length).toBeGreaterThanOrEqual(20);
  });

  it('the structural check fails on broken dashboards (it can fail)', () => {
    const broken = structuredClone(dashboard) as Dashboard & {
      panels: { id: number; gridPos: { x: number; w: number }; targets?: { datasource?: unknown }[] }[];
    };
    broken.panels[2]!.id = broken.panels[1]!.id;
    broken.panels[3]!.gridPos.x = 22;
    delete broken.panels[4]!.targets![0]!.datasource;
    (broken.annotations!.list![0] as { step?: string }).step = undefined;
    broken.templating!.list = broken.templating!.list!.filter((v) => v.name !== 'run_id');
    delete broken.__inputs;
    const problems = dashboardProblems(broken).join('\n');
    expect(problems).toMatch(/__inputs: a datasource input DS_PROMETHEUS/);
    expect(problems).toMatch(/duplicate id/);
    expect(problems).toMatch(/> 24 columns/);
    expect(problems).toMatch(/overlaps/);
    expect(problems).toMatch(/target datasource must be/);
    expect(problems).toMatch(/explicit step/);
    expect(problems).toMatch(/variable run_id/);
  });

  it('the run picker must list runs newest first (it can fail)', () => {
    const alphabetical = structuredClone(dashboard) as Dashboard & {
      templating: { list: { name?: string; sort?: number; query?: unknown; definition?: string }[] };
    };
    const run = alphabetical.templating.list.find((v) => v.name === 'run_id')!;
    run.query = { query: 'label_values(zerodrop_driver_requests_sent_total, run_id)' };
    run.sort = 2;
    expect(dashboardProblems(alphabetical).join('\n')).toMatch(/newest first/);
  });
});

describe('substitute', () => {
  it('replaces $var, ${var} and [[var]], and leaves unknown ones', () => {
    expect(
      substitute('rate(x{run_id="$run_id"}[$__rate_interval]) ${__interval} [[run_id]] $other', { run_id: 'r1', __rate_interval: '4s', __interval: '1s' }),
    ).toBe('rate(x{run_id="r1"}[4s]) 1s r1 $other');
  });
  it('does not replace a prefix of a longer name', () => {
    expect(substitute('$__interval_ms $__interval', { __interval: '1s' })).toBe('$__interval_ms 1s');
  });
});

describe('grafana/provisioning', () => {
  it('datasource: a Prometheus with a 1 s time interval (so $__rate_interval = 4 s)', () => {
    const doc = parse(readFileSync(root('grafana/provisioning/datasources/prometheus.yaml'), 'utf8')) as {
      apiVersion: number;
      datasources: { type: string; url: string; jsonData: { timeInterval: string } }[];
    };
    expect(doc.apiVersion).toBe(1);
    expect(doc.datasources[0]).toMatchObject({ type: 'prometheus', jsonData: { timeInterval: '1s' } });
    expect(doc.datasources[0]?.url).toMatch(/^http:\/\//);
    // Never forced to be the default: a Grafana with its own default data source keeps it.
    expect((doc.datasources[0] as { isDefault?: boolean }).isDefault).toBe(false);
  });
  it('dashboards: a file provider', () => {
    const doc = parse(readFileSync(root('grafana/provisioning/dashboards/zerodrop.yaml'), 'utf8')) as {
      apiVersion: number;
      providers: { type: string; options: { path: string } }[];
    };
    expect(doc.providers[0]).toMatchObject({ type: 'file', options: { path: expect.stringMatching(/^\//) } });
  });
});
