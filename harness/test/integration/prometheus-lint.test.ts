/**
 * `promtool check metrics` on every component's live exposition: the proxy (worker), the
 * orchestrator, the driver and a sample-app replica. Metric names follow docs/architecture.md
 * (zerodrop_<component>_*, sample-app's http_requests_total) and every series carries run_id
 * (harness parts) or gets it from file_sd (replicas).
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExpositionFull } from '../../../contract/index.js';
import { startLoad } from '../../../test/helpers/http-load.js';
import { Ledger } from '../../src/driver/ledger.js';
import { createDriverMetrics } from '../../src/driver/metrics.js';
import { statsFromLedger } from '../../src/driver/stats.js';
import { Outcome } from '../../src/driver/types.js';
import { startStack, type Stack } from './prometheus-stack.js';

const hasPromtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

/** promtool's findings, one "metric_name problem" per line (exit 0 = clean, 3 = lint problems). */
function promtoolLint(text: string): { status: number | null; problems: string[]; error: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 10_000 });
  const lines = `${r.stdout}${r.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return { status: r.status, problems: lines.filter((l) => !/^error while linting/i.test(l)), error: lines.filter((l) => /^error/i.test(l)).join(' ') };
}

/**
 * Findings in code this project does not own, listed with the exact fix for their owners. The test
 * fails on anything new, and also once a listed finding is gone (so the list cannot go stale).
 * Empty today.
 */
const KNOWN: Record<string, string[]> = {
  proxy: [],
  orchestrator: [],
  driver: [],
  'sample-app': [],
};

describe.skipIf(!hasPromtool)('promtool check metrics on every component', () => {
  let stack: Stack;
  const texts: Record<string, string> = {};

  beforeAll(async () => {
    stack = await startStack(['name: lint', 'deployment: { replicas: 2, zones: [a, b] }', 'load: { rate: 100, duration: 5s }'].join('\n'), 'lint-run');
    // Some traffic so every labelled series exists (per replica, per code).
    const port = Number(new URL(stack.proxy.url).port);
    const load = await startLoad({ port, connections: 4, durationMs: 500, idPrefix: 'lint' }).done;
    expect(load.failed).toBe(0);
    await stack.controller.refreshCounts();
    texts['proxy'] = await stack.proxy.metrics();
    texts['orchestrator'] = await stack.orchestratorMetrics.metrics();
    // The driver's registry after a run (fed as the driver host feeds it: cumulative progress, then final).
    const ledger = new Ledger('lint-run', 64);
    for (let i = 0; i < 50; i++) {
      const s = ledger.add(i);
      ledger.markSent(s, i);
      ledger.complete(s, i + 1 + (i % 7), i % 10 === 9 ? Outcome.Reset : Outcome.Ok, i % 10 === 9 ? 0 : 200, 'r1', 1);
    }
    const data = ledger.detachData();
    const driver = createDriverMetrics({ runId: 'lint-run' });
    driver.update(statsFromLedger(data, 5, 0).progress(1, { inFlight: 0, openConnections: 2, scheduleLagMs: 0, targetRate: 100, final: true }));
    texts['driver'] = await driver.registry.metrics();
    const replica = stack.controller.allReplicas.find((r) => r.started)!.started!;
    const admin = replica.adminEndpoint ?? replica.endpoint;
    texts['sample-app'] = await (await fetch(`http://${admin.host}:${admin.port}${stack.plan.deployment.template.metricsPath ?? '/metrics'}`)).text();
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
  });

  it.each(['proxy', 'orchestrator', 'driver', 'sample-app'])('%s is clean (apart from findings reported upstream)', (component) => {
    const text = texts[component]!;
    expect(text.length).toBeGreaterThan(100);
    const r = promtoolLint(text);
    expect(r.error, `promtool could not parse the ${component} exposition`).toBe('');
    const known = KNOWN[component] ?? [];
    const unexpected = r.problems.filter((p) => !known.includes(p));
    const fixed = known.filter((k) => !r.problems.includes(k));
    expect(unexpected, `new lint findings in ${component}`).toEqual([]);
    expect(fixed, `fixed upstream: remove from KNOWN.${component}`).toEqual([]);
  });

  it('names follow docs/architecture.md: component prefix, run_id on every harness series, units in base form', () => {
    const prefix: Record<string, RegExp> = {
      proxy: /^zerodrop_proxy_/,
      orchestrator: /^zerodrop_orchestrator_/,
      driver: /^zerodrop_driver_/,
      'sample-app': /^(http_|sampleapp_|process_|nodejs_)/,
    };
    for (const [component, text] of Object.entries(texts)) {
      const { samples, types } = parseExpositionFull(text);
      expect(samples.length, component).toBeGreaterThan(0);
      for (const name of types.keys()) expect(name, component).toMatch(prefix[component]!);
      for (const [name, type] of types) {
        if (type === 'counter') expect(name, `${component}: counters end in _total`).toMatch(/_total$/);
        expect(name, `${component}: base units`).not.toMatch(/_(milliseconds|ms|microseconds|us|percent)(_|$)/);
      }
      if (component !== 'sample-app') {
        for (const s of samples) expect(s.labels['run_id'], `${component} ${s.name} has run_id`).toBe('lint-run');
      }
    }
    // The labels docs/architecture.md names, where they belong.
    const proxy = parseExpositionFull(texts['proxy']!).samples;
    expect(proxy.find((s) => s.name === 'zerodrop_proxy_upstream_responses_total')?.labels).toMatchObject({
      replica: expect.any(String),
      zone: expect.any(String),
      version: 'v1',
      code: '200',
    });
    const app = parseExpositionFull(texts['sample-app']!).samples;
    expect(app.find((s) => s.name === 'http_requests_total' && s.labels['route'] === '/')?.labels).toMatchObject({ code: '200', method: 'GET' });
  });

  it('the lint can fail: a gauge named _total and a counter without it are findings', () => {
    const r = promtoolLint('# HELP x_total a\n# TYPE x_total gauge\nx_total 1\n# HELP y a\n# TYPE y counter\ny 1\n');
    expect(r.status).not.toBe(0);
    expect(r.problems.join('\n')).toMatch(/x_total.*_total/);
    expect(r.problems.join('\n')).toMatch(/y.*counter.*_total/);
  });
});
