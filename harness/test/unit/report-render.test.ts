import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/result/types.js';
import { renderBench } from '../../src/report/bench.js';
import { downsample } from '../../src/report/charts.js';
import { renderFailedCsv } from '../../src/report/csv.js';
import { renderHtml } from '../../src/report/html.js';
import { renderJunit } from '../../src/report/junit.js';
import { STEP_SUMMARY_MAX_BYTES, renderMarkdown, renderStepSummary } from '../../src/report/markdown.js';
import { renderTerminalSummary } from '../../src/report/terminal.js';
import { HOSTILE, buildRun, failingRun, incompleteRun, passingRun } from '../fixtures/result.js';
import { findAll, parseXml, textOf } from '../fixtures/xml.js';

const fixtures: [string, () => RunResult][] = [
  ['passing', () => passingRun()],
  ['failing', () => failingRun()],
  ['incomplete', () => incompleteRun()],
];

function hostileRun(): RunResult {
  return failingRun({ scenarioName: `zone ${HOSTILE}`, replicaName: (id) => `${id}${HOSTILE}` });
}

/** Cells of a markdown table row, splitting on unescaped pipes. */
function mdCells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/);
}

describe('fixtures', () => {
  it('add up the way the verifier computes them', () => {
    for (const [, make] of fixtures) {
      const r = make();
      const tl = r.timeline;
      for (const k of ['ok', 'failed', 'retried', 'p50Ms', 'p99Ms', 'maxMs'] as const) expect(tl[k]).toHaveLength(tl.t.length);
      const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);
      expect(sum(r.failures.byStep)).toBe(r.failures.total);
      expect(sum(r.failures.byReplica)).toBe(r.failures.total);
      expect(sum(r.failures.byZone)).toBe(r.failures.total);
      expect(r.replicas.reduce((a, x) => a + x.proxy2xx, 0)).toBe(r.reconciliation.find((x) => x.quantity === '2xx responses')?.proxy);
      expect(r.load.sent).toBe(r.load.completed + r.load.lost);
    }
    const fail = buildRun('fail');
    expect(fail.failedRequests).toHaveLength(fail.result.failures.total);
    expect(new Set(fail.failedRequests.map((f) => f.id)).size).toBe(fail.failedRequests.length);
    expect(fail.result.bands.map((b) => b.kind)).toEqual(['warmup', 'rollout', 'zone-down']);
  });
});

describe('report.md', () => {
  it.each(fixtures)('%s: verdict and headline first, every check id, the reconciliation table', (_, make) => {
    const r = make();
    const md = renderMarkdown(r);
    const firstLines = md.split('\n').slice(0, 8).join('\n');
    expect(firstLines).toContain(r.verdict);
    expect(md.indexOf(r.headline.slice(0, 30))).toBeLessThan(md.indexOf('## Checks'));
    for (const c of r.checks) expect(md).toContain(`\`${c.id}\``);
    expect(md).toContain('| Quantity | Driver | Proxy | Replicas | Prometheus | Relation | Holds |');
    expect(md).toContain('## Disruption');
    expect(md).toContain('## Replicas');
    expect(md).toContain('## Run facts');
    expect(md).toContain(r.run.command);
    for (const e of r.disruption.events) expect(md).toContain(e.label);
  });

  it('marks failed checks and lists the failures by step, replica and zone with the first ids', () => {
    const r = failingRun();
    const md = renderMarkdown(r);
    expect(md).toMatch(/\| ✗ \| `ledger.no-failed-requests`/);
    expect(md).toMatch(/\| ✓ \| `counters.2xx-agree`/);
    expect(md).toContain('| Step | Failed | Share |');
    expect(md).toContain('| Replica | Failed | Share |');
    expect(md).toContain('| Zone | Failed | Share |');
    expect(md).toContain(r.failures.sample[0]!.id);
    expect(md).toContain('| before |');
    expect(md).toContain('| during |');
    expect(md).toContain('| after |');
  });

  it('puts an incomplete run loudly at the top', () => {
    const md = renderMarkdown(incompleteRun());
    const at = md.indexOf('INCOMPLETE RUN');
    expect(at).toBeGreaterThan(-1);
    expect(at).toBeLessThan(md.indexOf('## Checks'));
    expect(md.split('\n')[0]).toContain('INCOMPLETE');
    expect(md).toContain('> [!CAUTION]');
  });

  it('escapes user text: no raw HTML, tables keep their columns', () => {
    // (Without the backtick, so the naive code-span stripper below can find the spans.)
    const evil = HOSTILE.replace('`', '');
    const md = renderMarkdown(failingRun({ scenarioName: `zone ${evil}`, replicaName: (id) => `${id}${evil}` }));
    // Inside code spans and fenced blocks text is literal; everywhere else "<" must be escaped.
    const prose = md.replace(/^(`{3,})[^\n]*\n[\s\S]*?\n\1$/gm, '').replace(/(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, '');
    expect(prose).not.toMatch(/(?<!\\)<(?:script|img|\/script)/);
    expect(md).toContain('\\<script>');
    // Tables keep their columns even with backticks and pipes in names.
    const lines = [...md.split('\n'), '', ...renderMarkdown(hostileRun()).split('\n')];
    let head: number | null = null;
    for (const line of lines) {
      if (!line.startsWith('|')) {
        head = null;
        continue;
      }
      const n = mdCells(line).length;
      if (head === null) head = n;
      else expect(n, line).toBe(head);
    }
  });
});

describe('junit.xml', () => {
  it.each(fixtures)('%s: well-formed, one testcase per check, right counts', (_, make) => {
    const r = make();
    const doc = parseXml(renderJunit(r));
    expect(doc.name).toBe('testsuites');
    const suites = findAll(doc, 'testsuite');
    expect(suites).toHaveLength(1);
    const suite = suites[0]!;
    expect(suite.attrs['name']).toBe(`zerodrop:${r.run.scenario.name}`);
    const cases = findAll(suite, 'testcase');
    const extra = r.run.complete ? 0 : 1;
    expect(cases).toHaveLength(r.checks.length + extra);
    const n = (s: string): number => r.checks.filter((c) => c.status === s).length;
    expect(findAll(suite, 'failure')).toHaveLength(n('fail'));
    expect(findAll(suite, 'error')).toHaveLength(n('invalid') + extra);
    expect(findAll(suite, 'skipped')).toHaveLength(n('skip'));
    expect(suite.attrs['tests']).toBe(String(r.checks.length + extra));
    expect(suite.attrs['failures']).toBe(String(n('fail')));
    expect(suite.attrs['errors']).toBe(String(n('invalid') + extra));
    expect(suite.attrs['skipped']).toBe(String(n('skip')));
    for (const c of r.checks) {
      const tc = cases.find((x) => x.attrs['name'] === `${c.id}: ${c.title}`);
      expect(tc, c.id).toBeDefined();
      expect(tc!.attrs['classname']).toBe(`zerodrop.${c.group}`);
    }
    const props = Object.fromEntries(findAll(suite, 'property').map((p) => [p.attrs['name'], p.attrs['value']]));
    expect(props['run_id']).toBe(r.run.id);
    expect(props['verdict']).toBe(r.verdict);
    expect(props['target_rate']).toBe(String(r.load.targetRate));
    expect(props['achieved_rate']).toBe(String(r.load.achievedRate));
    expect(props['requests_sent']).toBe(String(r.load.sent));
    expect(props['requests_failed']).toBe(String(r.load.failed));
    expect(props['requests_lost']).toBe(String(r.load.lost));
    expect(props['requests_unsent']).toBe(r.load.unsent === undefined ? undefined : String(r.load.unsent));
  });

  it('puts expected and actual in the failure message and body', () => {
    const r = failingRun();
    const doc = parseXml(renderJunit(r));
    const failure = findAll(doc, 'failure')[0]!;
    const check = r.checks.find((c) => c.status === 'fail')!;
    expect(failure.attrs['message']).toBe(`expected ${check.expected}; actual ${check.actual}`);
    expect(textOf(failure)).toContain(check.explanation!);
  });

  it('stays well-formed with hostile names and control characters', () => {
    const r = hostileRun();
    const doc = parseXml(renderJunit(r));
    expect(findAll(doc, 'testsuite')[0]!.attrs['name']).toBe(`zerodrop:zone ${HOSTILE.replace('\u0001', '\uFFFD')}`);
  });
});

describe('report.html', () => {
  it.each(fixtures)('%s: self-contained, with the embedded data and the three charts', (_, make) => {
    const r = make();
    const html = renderHtml(r);
    expect(html).toMatch(/^<!DOCTYPE html>/);
    // One absolute link, to the run in Grafana: navigation only, never fetched (the browser test proves it).
    const grafana = /<a id="grafana-link" href="http:\/\/localhost:3000\/d\/zerodrop-run\/zerodrop\?[^"]*"/;
    expect(html).toMatch(grafana);
    expect(html.replace(grafana, '')).not.toMatch(/\b(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/<link\b|@import|fetch\(|XMLHttpRequest|url\(\s*["']?https?:/i);
    expect(html).toContain('Content-Security-Policy');
    const data = /<script type="application\/json" id="run-data">([\s\S]*?)<\/script>/.exec(html)?.[1];
    expect(data).toBeDefined();
    expect(JSON.parse(data!)).toEqual(r);
    for (const id of ['chart-throughput', 'chart-latency', 'chart-ready-zone', 'chart-ready-version']) expect(html).toContain(`id="${id}"`);
    for (const c of r.checks) expect(html).toContain(c.id);
    expect(html).toContain(r.verdict);
  });

  it('every inline SVG is well-formed XML; bands, markers and a point per failing bucket', () => {
    const r = failingRun();
    const html = renderHtml(r);
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).toHaveLength(4);
    const trees = svgs.map((s) => parseXml(s));
    const throughput = trees.find((t) => t.attrs['id'] === 'chart-throughput')!;
    const bands = findAll(throughput, 'rect').filter((x) => x.attrs['class'] === 'band');
    expect(bands).toHaveLength(r.bands.length);
    expect(bands.map((b) => textOf(b))).toEqual(r.bands.map((b) => b.label));
    for (const t of trees) expect(findAll(t, 'rect').filter((x) => x.attrs['class'] === 'band').length).toBe(r.bands.length);
    const badges = findAll(throughput, 'g').filter((g) => g.attrs['class'] === 'badge');
    expect(badges.length).toBeGreaterThanOrEqual(4); // rollout started/completed, zone down/up, ...
    const failedPoints = findAll(throughput, 'g').find((g) => g.attrs['class'] === 'points' && g.attrs['data-series'] === 'failed req/s');
    const failingBuckets = r.timeline.failed.filter((v) => v > 0).length;
    expect(findAll(failedPoints!, 'circle')).toHaveLength(failingBuckets);
  });

  it('a single failed request next to 20,000 ok is still drawn', () => {
    const r = passingRun();
    r.timeline.failed[30] = 1;
    const html = renderHtml(r);
    const svg = parseXml(/<svg[^>]*id="chart-throughput"[\s\S]*?<\/svg>/.exec(html)![0]);
    const pts = findAll(svg, 'g').find((g) => g.attrs['class'] === 'points' && g.attrs['data-series'] === 'failed req/s');
    const circles = findAll(pts!, 'circle');
    expect(circles).toHaveLength(1);
    expect(textOf(circles[0]!)).toContain('1 failed');
    // The right axis is log(1 + n): one failure sits well clear of the floor (y = 270) even
    // when the same axis shows 268 retries.
    expect(Number(circles[0]!.attrs['cy'])).toBeLessThan(270 - 15);
  });

  it('"</script>" in a replica or scenario name cannot break out', () => {
    const r = hostileRun();
    const html = renderHtml(r);
    expect(html.match(/<script\b/g)).toHaveLength(2); // run-data and the table sorter
    expect(html).not.toContain('<img');
    expect(html).not.toContain('alert("x")</script>');
    const data = /<script type="application\/json" id="run-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect(JSON.parse(data)).toEqual(r);
    for (const s of html.match(/<svg[\s\S]*?<\/svg>/g) ?? []) expect(() => parseXml(s)).not.toThrow();
    expect(html).toContain(`web-v2-c1&lt;/script&gt;&lt;script&gt;`);
  });

  it('merges buckets of long runs without averaging failures away', () => {
    const r = passingRun();
    const n = 6000;
    const tl = r.timeline;
    tl.bucketMs = 100;
    tl.t = Array.from({ length: n }, (_, i) => i * 100);
    tl.ok = tl.t.map(() => 2000);
    tl.failed = tl.t.map((_, i) => (i === 4321 ? 1 : 0));
    tl.retried = tl.t.map(() => 0);
    tl.p50Ms = tl.t.map(() => 1);
    tl.p99Ms = tl.t.map((_, i) => (i === 10 ? 900 : 5));
    tl.maxMs = tl.t.map(() => 20);
    tl.readyByZone = { a: tl.t.map((_, i) => (i === 77 ? 1 : 2)) };
    tl.readyByVersion = { v1: tl.t.map(() => 6) };
    const d = downsample(tl, 1200);
    expect(d.t.length).toBeLessThanOrEqual(1200);
    expect(d.failed.reduce((a, b) => a + b, 0)).toBe(1);
    expect(Math.max(...(d.p99Ms as number[]))).toBe(900);
    expect(Math.min(...d.readyByZone['a']!)).toBe(1);
    expect(d.ok.reduce((a, b) => a + b, 0)).toBe(2000 * n);
    const html = renderHtml(r);
    expect(html).toContain('merged into');
  });
});

describe('bench JSON', () => {
  it.each(fixtures)('%s: arrays of {name, unit, value, extra?} with stable names', (_, make) => {
    const r = make();
    const { bigger, smaller } = renderBench(r);
    for (const arr of [bigger, smaller]) {
      expect(Array.isArray(arr)).toBe(true);
      for (const e of arr) {
        expect(Object.keys(e).every((k) => ['name', 'unit', 'value', 'range', 'extra'].includes(k))).toBe(true);
        expect(typeof e.name).toBe('string');
        expect(typeof e.unit).toBe('string');
        expect(Number.isFinite(e.value)).toBe(true);
        expect(e.extra).toContain(r.run.id);
      }
      expect(new Set(arr.map((e) => e.name)).size).toBe(arr.length);
    }
    const names = (arr: { name: string }[]): string[] => arr.map((e) => e.name.replace(`${r.run.scenario.name}: `, ''));
    expect(names(bigger)).toEqual(['achieved rate', 'success ratio']);
    expect(names(smaller)).toEqual(
      expect.arrayContaining(['lost requests', 'failed requests', 'p99 latency', 'p99.9 latency', 'longest gap', 'proxy retries']),
    );
  });

  it('carries the numbers of the run', () => {
    const r = failingRun();
    const { bigger, smaller } = renderBench(r);
    const get = (arr: { name: string; value: number }[], q: string): number | undefined => arr.find((e) => e.name.endsWith(q))?.value;
    expect(get(bigger, 'achieved rate')).toBe(r.load.achievedRate);
    expect(get(bigger, 'success ratio')).toBeCloseTo((r.load.ok / r.load.sent) * 100, 5);
    expect(get(smaller, 'lost requests')).toBe(3);
    expect(get(smaller, 'failed requests')).toBe(r.load.failed);
    expect(get(smaller, 'p99 latency')).toBe(r.load.latency.p99Ms);
    expect(get(smaller, 'longest gap')).toBe(r.disruption.longestGapMs);
    expect(renderBench(passingRun()).smaller.find((e) => e.name.endsWith('proxy retries'))?.value).toBe(268);
  });
});

describe('failed-requests.csv', () => {
  it('one row per failure with a header, RFC 4180 quoting', () => {
    const r = hostileRun();
    const csv = renderFailedCsv(r.failures.sample);
    const lines = csv.trimEnd().split('\n');
    expect(lines[0]).toBe('id,t_ms,outcome,status,replica,zone,step,latency_ms,data_plane');
    expect(lines).toHaveLength(r.failures.sample.length + 1);
    expect(lines[1]).toContain(r.failures.sample[0]!.id);
  });

  it("the data plane's account of a request, where it kept one: a column in the CSV and the report's table", () => {
    const r = failingRun();
    const account = 'haproxy 503 SC-- · 6 tries · last web-v1-b-2 · 10 ms';
    const sample = r.failures.sample.map((s, i) => (i === 0 ? { ...s, dataPlane: account } : s));
    const lines = renderFailedCsv(sample).trimEnd().split('\n');
    expect(lines[1]!.endsWith(`,${account}`)).toBe(true);
    expect(lines[2]!.endsWith(',')).toBe(true);
    const withAccount = { ...r, failures: { ...r.failures, sample } };
    expect(renderMarkdown(withAccount)).toContain('| Data plane |');
    expect(renderMarkdown(withAccount)).toContain(account);
    expect(renderMarkdown(r)).not.toContain('| Data plane |');
  });
});

describe('job summary', () => {
  it('has the verdict, checks, reconciliation, latency and the report path, and is small', () => {
    const r = failingRun();
    const s = renderStepSummary(r, { htmlPath: 'reports/x/report.html' });
    expect(s.split('\n')[0]).toMatch(/^## ❌ zerodrop FAIL/);
    expect(s).toContain('### Checks');
    expect(s).toContain('| Quantity | Driver | Proxy | Replicas | Prometheus | Relation | Holds |');
    expect(s).toContain('### Latency');
    expect(s).toContain('p99.9');
    expect(s).toContain('`reports/x/report.html`');
    // Failed checks first.
    expect(s.indexOf('`thresholds.max-gap`')).toBeLessThan(s.indexOf('`counters.2xx-agree`'));
    expect(Buffer.byteLength(s)).toBeLessThan(STEP_SUMMARY_MAX_BYTES);
  });

  it('stays under the limit with thousands of long checks, keeping the failed ones', () => {
    const r = failingRun();
    const base = r.checks;
    r.checks = Array.from({ length: 3000 }, (_, i) => ({ ...base[i % base.length]!, id: `bulk.check-${i}`, actual: 'x'.repeat(400) }));
    const s = renderStepSummary(r, { htmlPath: 'report.html' });
    expect(Buffer.byteLength(s)).toBeLessThanOrEqual(STEP_SUMMARY_MAX_BYTES);
    expect(s).toContain('zerodrop FAIL');
    expect(s).toContain('Failed checks');
    expect(s).toContain('report.html');
  });
});

describe('terminal summary', () => {
  it('prints verdict, headline, failed checks with expected/actual and the report path', () => {
    const r = failingRun();
    const t = renderTerminalSummary(r, { reportPath: 'reports/abc/report.html' });
    expect(t.split('\n')[0]).toContain('FAIL');
    expect(t).toContain(r.headline);
    for (const c of r.checks.filter((x) => x.status === 'fail')) {
      expect(t).toContain(c.id);
      expect(t).toContain(c.expected);
      expect(t).toContain(c.actual);
    }
    expect(t).not.toContain('counters.2xx-agree');
    expect(t).toContain('reports/abc/report.html');
    expect(t).not.toContain('\x1b[');
  });

  it('defaults the report path, marks incomplete runs, colours on request, and strips escape sequences from user text', () => {
    const inc = renderTerminalSummary(incompleteRun());
    expect(inc).toContain('INCOMPLETE RUN');
    expect(inc).toContain(`reports/${incompleteRun().run.id}/report.html`);
    expect(renderTerminalSummary(passingRun(), { color: true })).toContain('\x1b[32m');
    const hostile = renderTerminalSummary(failingRun({ scenarioName: 'evil\x1b]0;pwned\x07name' }));
    expect(hostile).not.toContain('\x1b]');
    expect(hostile).not.toContain('\x07');
  });
});
