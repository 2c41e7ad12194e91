import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  JOB_NAMES,
  prometheusConfigYaml,
  scrapeConfigs,
  sdFile,
  sdPattern,
  sharedSdDir,
  urlTargetGroup,
  userScrapeConfigYaml,
} from '../../src/prometheus/config.js';
import { findPrometheusBinary } from '../../src/prometheus/server.js';
import { parseDurationMs, preflightPrometheus } from '../../src/run/prometheus.js';

const dir = mkdtempSync(join(tmpdir(), 'zd-promcfg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hasPromtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

describe('generated prometheus.yml', () => {
  const yaml = prometheusConfigYaml({ sdDir: join(dir, 'sd'), runId: 'r-1' });
  const doc = parse(yaml) as {
    global: Record<string, string>;
    scrape_configs: { job_name: string; scrape_interval: string; scrape_timeout: string; file_sd_configs: { files: string[] }[] }[];
  };

  it('scrapes every 1 s with a 1 s timeout', () => {
    expect(doc.global).toMatchObject({ scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' });
    for (const j of doc.scrape_configs) expect([j.scrape_interval, j.scrape_timeout]).toEqual(['1s', '1s']);
  });

  it('has one file_sd job per component, each watching *.<component>.json', () => {
    expect(doc.scrape_configs.map((j) => j.job_name)).toEqual(Object.values(JOB_NAMES));
    expect(doc.scrape_configs[3]?.file_sd_configs[0]?.files).toEqual([join(dir, 'sd', '*.replicas.json')]);
    // the run's own file matches its job's pattern
    const file = sdFile(join(dir, 'sd'), 'r-1', 'replicas');
    expect(file).toBe(join(dir, 'sd', 'r-1.replicas.json'));
    expect(sdPattern(join(dir, 'sd'), 'replicas').replace('*', 'r-1')).toBe(file);
  });

  it.skipIf(!hasPromtool)('passes promtool check config', () => {
    const f = join(dir, 'p.yml');
    writeFileSync(f, yaml);
    const r = spawnSync('promtool', ['check', 'config', f], { encoding: 'utf8' });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it.skipIf(!hasPromtool)('promtool rejects a broken config (the check can fail)', () => {
    const f = join(dir, 'bad.yml');
    writeFileSync(f, yaml.replace('scrape_timeout: 1s', 'scrape_timeout: 5s'));
    expect(spawnSync('promtool', ['check', 'config', f], { encoding: 'utf8' }).status).not.toBe(0);
  });
});

describe('user scrape config (`--prometheus <url>`)', () => {
  it('is a YAML list of the four jobs over <reports>/prometheus-sd, valid inside a whole config', () => {
    const text = userScrapeConfigYaml(join(dir, 'reports'));
    const list = parse(text) as { job_name: string; file_sd_configs: { files: string[] }[] }[];
    expect(list.map((j) => j.job_name)).toEqual(Object.values(JOB_NAMES));
    expect(list[0]?.file_sd_configs[0]?.files[0]).toBe(join(sharedSdDir(join(dir, 'reports')), '*.driver.json'));
    if (hasPromtool) {
      const f = join(dir, 'user.yml');
      writeFileSync(f, `global:\n  scrape_interval: 15s\nscrape_configs:\n${text}`);
      const r = spawnSync('promtool', ['check', 'config', f], { encoding: 'utf8' });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    }
  });
  it('keeps the scrape interval', () => {
    expect(scrapeConfigs({ sdDir: '/x', scrapeIntervalS: 2 })[0]).toMatchObject({ scrape_interval: '2s', scrape_timeout: '2s' });
  });
});

describe('urlTargetGroup', () => {
  it('turns a metrics URL into a target and a __metrics_path__', () => {
    expect(urlTargetGroup('http://127.0.0.1:4000/metrics/driver')).toEqual({ targets: ['127.0.0.1:4000'], labels: { __metrics_path__: '/metrics/driver' } });
    expect(urlTargetGroup('http://127.0.0.1:4000/metrics')).toEqual({ targets: ['127.0.0.1:4000'], labels: {} });
    expect(urlTargetGroup('http://[::1]:4000/metrics').targets).toEqual(['[::1]:4000']);
  });
  it('refuses anything but loopback http', () => {
    expect(() => urlTargetGroup('http://10.0.0.1:4000/metrics')).toThrow(/loopback/);
    expect(() => urlTargetGroup('https://127.0.0.1:4000/metrics')).toThrow(/http/);
  });
});

describe('binary lookup and preflight', () => {
  it('finds prometheus on PATH, honours ZERODROP_PROMETHEUS_BIN, and says so when missing', () => {
    expect(findPrometheusBinary({ PATH: join(dir, 'nowhere') })).toBeNull();
    expect(findPrometheusBinary({ ZERODROP_PROMETHEUS_BIN: join(dir, 'nope') })).toBeNull();
    const found = findPrometheusBinary({ PATH: '/usr/bin:/bin' });
    if (found) expect(found).toMatch(/prometheus$/);
  });
  it('auto without a binary is ZD_PROMETHEUS_UNAVAILABLE naming the fix', () => {
    const saved = process.env['PATH'];
    process.env['PATH'] = join(dir, 'nowhere');
    try {
      expect(() => preflightPrometheus('auto')).toThrow(
        expect.objectContaining({ code: 'ZD_PROMETHEUS_UNAVAILABLE', fix: expect.stringMatching(/apt-get install .*prometheus.*--prometheus off/) }),
      );
      expect(() => preflightPrometheus('off')).not.toThrow();
      expect(() => preflightPrometheus({ url: 'http://127.0.0.1:9090' })).not.toThrow();
    } finally {
      process.env['PATH'] = saved;
    }
  });
});

describe('parseDurationMs', () => {
  it.each([
    ['1s', 1000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['15s', 15_000],
    ['x', null],
    [undefined, null],
  ])('%s → %s', (s, want) => expect(parseDurationMs(s)).toBe(want));
});
