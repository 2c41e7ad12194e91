/**
 * The conventions people bring from k6 and Vegeta: Go-style durations, every flag and every
 * ZERODROP_* variable in --help, per-command help, colour only on a terminal and never with
 * NO_COLOR, JUnit testcases with real times and a hostname.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_OPTIONS, COMMANDS, parseCli } from '../../src/cli/args.js';
import { colorEnabled } from '../../src/cli/color.js';
import { COMMAND_DOCS, ENV_DOCS, commandHelp, globalHelp } from '../../src/cli/help.js';
import { DASHBOARD_UID, grafanaRunUrl } from '../../src/report/grafana-link.js';
import { renderHtml } from '../../src/report/html.js';
import { renderJunit } from '../../src/report/junit.js';
import { renderTerminalSummary } from '../../src/report/terminal.js';
import { formatDuration, parseDuration } from '../../src/scenario/duration.js';
import { failingRun, passingRun } from '../fixtures/result.js';
import { findAll, parseXml } from '../fixtures/xml.js';

const ROOT = join(import.meta.dirname, '../../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|mjs|js)$/.test(name) ? [p] : [];
  });
}

describe('durations', () => {
  it.each([
    ['1m30s', 90_000],
    ['1h2m3.5s', 3_723_500],
    ['2m', 120_000],
    ['1.5s', 1500],
    ['250ms', 250],
    ['1s500ms', 1500],
    [' 10s ', 10_000],
  ])('%s = %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['30s1m', '1m1m', '1m 30s', 'm', '10', '1d', '-1s', ''])('%j is not a duration', (text) => expect(parseDuration(text)).toBeNull());

  it('formats what it parses back', () => {
    for (const ms of [250, 1500, 10_000, 90_000, 120_000, 3_600_000, 5_400_000, 3_723_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
    expect(formatDuration(90_000)).toBe('1m30s');
  });

  it('--duration 1m30s is accepted on the command line', () => {
    expect(parseCli(['run', 'x.yaml', '--duration', '1m30s']).overrides.durationMs).toBe(90_000);
  });
});

describe('--help', () => {
  it('documents every flag parseArgs accepts', () => {
    const help = globalHelp();
    for (const flag of Object.keys(CLI_OPTIONS)) expect(help, flag).toMatch(new RegExp(`--${flag}\\b`));
  });

  it('documents every ZERODROP_* environment variable the code reads or sets', () => {
    const used = new Set<string>();
    for (const dir of ['common/src', 'contract/src', 'harness/src', 'orchestrator/src', 'sample-app/src', 'bin']) {
      for (const f of sources(join(ROOT, dir))) for (const m of readFileSync(f, 'utf8').matchAll(/ZERODROP_[A-Z_]+[A-Z]/g)) used.add(m[0]);
    }
    expect(used.size).toBeGreaterThanOrEqual(6);
    const help = globalHelp();
    for (const name of used) expect(help, name).toContain(name);
    // and nothing documented that no code reads
    for (const e of ENV_DOCS.filter((x) => x.name.startsWith('ZERODROP_'))) expect(used, e.name).toContain(e.name);
  });

  it('has a page per command: `zerodrop <command> --help` and `zerodrop help <command>`', () => {
    for (const c of COMMANDS) {
      expect(parseCli([c, '--help'])).toMatchObject({ command: 'help', positionals: c === 'help' ? [] : [c] });
      expect(parseCli(['help', c])).toMatchObject({ command: 'help', positionals: [c] });
      const page = commandHelp(c);
      expect(page).toContain(COMMAND_DOCS[c].usage);
      for (const o of COMMAND_DOCS[c].options) expect(page, `${c} --${o}`).toContain(`--${o}`);
    }
    expect(commandHelp('run')).toContain('--ledger-out');
    expect(commandHelp('ctl')).not.toContain('--rate');
  });

  it('an unknown command after help is a usage error', () => {
    expect(() => parseCli(['help', 'nope'])).toThrow(/not a command/);
  });
});

describe('colour', () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  it.each([
    [tty, {}, true],
    [pipe, {}, false],
    [tty, { NO_COLOR: '1' }, false],
    [tty, { NO_COLOR: '' }, true],
    [pipe, { FORCE_COLOR: '1' }, true],
    [tty, { NO_COLOR: '1', FORCE_COLOR: '1' }, false],
    [pipe, { FORCE_COLOR: '0' }, false],
    [tty, { TERM: 'dumb' }, false],
  ])('%j %j → %s', (stream, env, want) => expect(colorEnabled(stream, env)).toBe(want));

  it('the summary has ANSI sequences only when asked', () => {
    expect(renderTerminalSummary(failingRun(), { color: true })).toContain('\x1b[');
    // eslint-disable-next-line no-control-regex
    expect(renderTerminalSummary(failingRun(), { color: false })).not.toMatch(/\x1b/);
  });
});

describe('junit.xml times and hostname', () => {
  it('testcases carry the span they judged, the suite the run and the machine', () => {
    const r = failingRun();
    r.run.machine.hostname = 'ci-runner-7';
    // The verifier's ids: events.<n>-<kind> for both the disruption event and its checks.
    r.disruption.events.forEach((e, i) => (e.id = `${i + 1}-${e.kind === 'zone-crash' ? 'crash-zone' : e.kind}`));
    const suite = findAll(parseXml(renderJunit(r)), 'testsuite')[0]!;
    expect(suite.attrs['hostname']).toBe('ci-runner-7');
    expect(Number(suite.attrs['time'])).toBeCloseTo(r.run.durationMs / 1000, 3);
    const cases = findAll(suite, 'testcase');
    const windowS = (r.load.windowEndMs - r.load.windowStartMs) / 1000;
    expect(windowS).toBeGreaterThan(0);
    const ledger = cases.find((c) => c.attrs['classname'] === 'zerodrop.ledger')!;
    expect(Number(ledger.attrs['time'])).toBeCloseTo(windowS, 3);
    let matched = 0;
    for (const e of r.disruption.events) {
      const tc = cases.find((c) => c.attrs['name']?.startsWith(`events.${e.id}`));
      if (!tc) continue;
      matched++;
      expect(Number(tc.attrs['time']), e.id).toBeCloseTo(((e.endMs ?? r.load.windowEndMs) - e.startMs) / 1000, 3);
    }
    expect(matched).toBeGreaterThan(0);
    expect(cases.every((c) => c.attrs['time'] !== '0')).toBe(true);
  });

  it('a result without a recorded hostname says unknown', () => {
    const r = passingRun();
    delete r.run.machine.hostname;
    expect(findAll(parseXml(renderJunit(r)), 'testsuite')[0]!.attrs['hostname']).toBe('unknown');
  });
});

describe('the link from report.html to Grafana', () => {
  it('opens the dashboard (same uid as grafana/dashboards/zerodrop.json) on the run, over its time range', () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, 'grafana/dashboards/zerodrop.json'), 'utf8')) as { uid: string };
    expect(DASHBOARD_UID).toBe(dashboard.uid);
    const r = passingRun();
    const url = new URL(grafanaRunUrl(r, 'https://grafana.example/'));
    expect(url.origin + url.pathname).toBe(`https://grafana.example/d/${dashboard.uid}/zerodrop`);
    expect(url.searchParams.get('var-run_id')).toBe(r.run.id);
    const from = Number(url.searchParams.get('from'));
    const to = Number(url.searchParams.get('to'));
    expect(from).toBeLessThan(r.run.originEpochMs);
    expect(to).toBeGreaterThan(Date.parse(r.run.endedAt));
    expect(to - from).toBeLessThan(r.run.durationMs + 60_000);
    expect(renderHtml(r)).toContain(`href="${grafanaRunUrl(r).replaceAll('&', '&amp;')}"`);
  });
});
