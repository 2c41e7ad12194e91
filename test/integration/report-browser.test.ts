/**
 * report.html in a real browser: Debian's chromium, headless, driven by playwright-core (nothing
 * downloaded), opening the report of a real PASS run and of a real FAIL run (the sample-app
 * exiting abruptly on SIGTERM, retries off). No console error, no request leaves the page (CSP
 * and self-containment, seen by the browser itself), every chart has its series and event bands,
 * the verdict banner and the failed-request table are there, and a screenshot goes into the run's
 * report directory next to report.html.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { explain, runYaml, type ScenarioRun } from '../helpers/scenario-run.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Short and small: 3 replicas over 3 zones, a rollout and a zone crash, so every band kind shows. */
const SCENARIO = [
  'name: browser',
  'deployment: { replicas: 3, zones: [a, b, c], zoneFailureDetection: 1s }',
  'load: { rate: 300, connections: 32, duration: 9s, warmup: 1s }',
  'timeline:',
  '  - { at: 1500ms, action: rollout, version: v2 }',
  '  - { at: 5s, action: crash-zone, zone: c }',
].join('\n');

/**
 * What the page shows, read in the page. Plain JavaScript in a string: the test's own functions
 * are transpiled (and may carry helpers) and the project's types have no DOM.
 */
const FACTS_JS = `(() => {
  const charts = [...document.querySelectorAll('svg.chart')].map((svg) => {
    const series = [...svg.querySelectorAll('[data-series]')];
    return {
      id: svg.id,
      series: series.length,
      seriesWithData: series.filter((s) => (s.getAttribute('d') || '').length > 10 || s.children.length > 0).length,
      bands: svg.querySelectorAll('g.bands rect.band').length,
    };
  });
  const heading = document.querySelector('#first-failed');
  const table = heading && heading.nextElementSibling ? heading.nextElementSibling.querySelector('table') : null;
  const verdict = document.querySelector('.banner .verdict');
  const grafana = document.querySelector('#grafana-link');
  return {
    banner: verdict ? verdict.textContent : null,
    charts,
    failedRows: table ? table.querySelectorAll('tbody tr').length : 0,
    grafanaHref: grafana ? grafana.getAttribute('href') : null,
  };
})()`;

interface PageFacts {
  banner: string | null;
  charts: { id: string; series: number; seriesWithData: number; bands: number }[];
  failedRows: number;
  grafanaHref: string | null;
}

// Skipped on a developer machine without chromium; never in CI, where .ci/run installs it (a skip there would hide a hole).
describe.skipIf(!existsSync(CHROMIUM) && process.env['CI'] !== 'true')('report.html in headless Chromium', () => {
  let context: BrowserContext;
  const profile = mkdtempSync(join(tmpdir(), 'zd-chromium-'));
  let pass: ScenarioRun;
  let fail: ScenarioRun;
  let failedAny = false;

  beforeAll(async () => {
    pass = await runYaml(SCENARIO);
    fail = await runYaml(SCENARIO, { appFaults: ['abrupt-exit'], noRetries: true });
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, offline: true });
  }, 120_000);

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failedAny = true;
  });

  afterAll(async () => {
    await context?.close();
    rmSync(profile, { recursive: true, force: true });
    // Keep the reports (and their screenshots) of a failed test to look at; remove them otherwise.
    if (!failedAny) for (const run of [pass, fail]) if (run) rmSync(join(run.dir, '..'), { recursive: true, force: true });
  });

  async function open(run: ScenarioRun, shot: string): Promise<{ facts: PageFacts; consoleErrors: string[]; requests: string[]; screenshot: string }> {
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    const url = pathToFileURL(join(run.dir, 'report.html')).href;
    await page.goto(url, { waitUntil: 'load' });
    const facts = await page.evaluate<PageFacts>(FACTS_JS);
    const screenshot = join(run.dir, shot);
    await page.screenshot({ path: screenshot, fullPage: true });
    await page.close();
    // Requests other than the page itself (file://) would be network: none may happen.
    return { facts, consoleErrors, requests: requests.filter((u) => u !== url), screenshot };
  }

  function expectCharts(facts: PageFacts): void {
    expect(facts.charts.map((c) => c.id)).toEqual(expect.arrayContaining(['chart-throughput', 'chart-latency', 'chart-ready-zone', 'chart-ready-version']));
    for (const c of facts.charts) {
      expect(c.series, c.id).toBeGreaterThan(0);
      expect(c.seriesWithData, c.id).toBeGreaterThan(0);
      expect(c.bands, `${c.id}: warm-up, rollout and zone-down bands`).toBeGreaterThanOrEqual(3);
    }
  }

  function expectPng(file: string): void {
    expect(existsSync(file), file).toBe(true);
    expect(readFileSync(file).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  }

  it('a PASS run: banner, charts with series and bands, no console error, no request, a screenshot', async () => {
    expect(pass.result.verdict, explain(pass.result)).toBe('PASS');
    const { facts, consoleErrors, requests, screenshot } = await open(pass, 'report.png');
    expect(consoleErrors).toEqual([]);
    expect(requests).toEqual([]);
    expect(facts.banner).toBe('PASS');
    expectCharts(facts);
    expect(facts.failedRows).toBe(0);
    const grafana = new URL(facts.grafanaHref!);
    expect(grafana.searchParams.get('var-run_id')).toBe(pass.result.run.id);
    expectPng(screenshot);
  }, 60_000);

  it('a FAIL run: banner, charts, the failed-request table, no console error, no request, a screenshot', async () => {
    expect(fail.result.verdict, explain(fail.result)).toBe('FAIL');
    expect(fail.result.failures.sample.length).toBeGreaterThan(0);
    const { facts, consoleErrors, requests, screenshot } = await open(fail, 'report.png');
    expect(consoleErrors).toEqual([]);
    expect(requests).toEqual([]);
    expect(facts.banner).toBe('FAIL');
    expectCharts(facts);
    expect(facts.failedRows).toBe(fail.result.failures.sample.length);
    expectPng(screenshot);
  }, 60_000);

  it('the browser does see a request and a console error when there is one (the checks can fail)', async () => {
    const page = await context.newPage();
    const requests: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    // The report's own CSP blocks an injected image from the network, and says so on the console.
    await page.goto(pathToFileURL(join(pass.dir, 'report.html')).href);
    await page.evaluate("document.body.appendChild(Object.assign(document.createElement('img'), { src: 'http://127.0.0.1:9/x.png' }))");
    await page.waitForTimeout(300);
    // And a page without that policy does make the request, which the listener records.
    await page.setContent('<img src="http://127.0.0.1:9/y.png">');
    await page.waitForTimeout(300);
    await page.close();
    expect(errors.join('\n')).toMatch(/Content Security Policy|127\.0\.0\.1:9/);
    expect(requests).toContain('http://127.0.0.1:9/y.png');
  }, 30_000);
});
