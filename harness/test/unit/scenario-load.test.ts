import { afterEach, describe, expect, it, vi } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ZerodropError } from '../../../common/src/errors.js';
import { loadScenarioFile, parseScenarioText } from '../../src/scenario/load.js';
import { applyOverrides, describePlan, resolvePlan } from '../../src/scenario/resolve.js';
import { parseDuration } from '../../src/scenario/duration.js';
import { parseCli } from '../../src/cli/args.js';

function problems(yaml: string): string[] {
  try {
    parseScenarioText(yaml, 'bad.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ZerodropError);
    const e = err as ZerodropError;
    expect(e.code).toBe('ZD_BAD_SCENARIO');
    expect(e.exitCode).toBe(2);
    return e.details;
  }
  throw new Error('expected the scenario to be rejected');
}

describe('scenario files', () => {
  it('every shipped scenario is valid and resolves to a plan', () => {
    const dir = join(import.meta.dirname, '../../../scenarios');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(expect.arrayContaining(['demo.yaml', 'rollout.yaml', 'zone-crash.yaml', 'zone-hang.yaml', 'byo-command.yaml']));
    for (const f of files) {
      const plan = resolvePlan(loadScenarioFile(join(dir, f)));
      expect(describePlan(plan).length).toBeGreaterThan(3);
    }
  });

  it('fills every default from one place', () => {
    const { scenario } = parseScenarioText('name: x');
    expect(scenario.deployment.replicas).toBe(6);
    expect(scenario.deployment.zones).toEqual(['a', 'b', 'c']);
    expect(scenario.deployment.strategy.maxSurge).toBe('25%');
    expect(scenario.deployment.strategy.maxUnavailable).toBe('25%');
    expect(scenario.load.engine).toBe('open');
    expect(scenario.thresholds.maxFailed).toBe(0);
    expect(scenario.proxy.retries).toBe(true);
  });

  it('health checks default per data plane; a value in the scenario wins on either', () => {
    const hc = (yaml: string) => resolvePlan(parseScenarioText(`name: x\n${yaml}`)).proxy.healthCheck;
    // node: tolerant of a CPU-starved replica (per-try timeouts catch a hung one first)
    expect(hc('')).toMatchObject({ intervalMs: 250, timeoutMs: 500, unhealthyThreshold: 3, healthyThreshold: 2 });
    // haproxy: its passive observation misses L7-retried tries, so the active check must be quick
    expect(hc('proxy: { engine: haproxy }')).toMatchObject({ intervalMs: 250, timeoutMs: 250, unhealthyThreshold: 2, healthyThreshold: 2 });
    expect(hc('proxy: { engine: haproxy, healthCheck: { timeout: 1s } }')).toMatchObject({ timeoutMs: 1000, unhealthyThreshold: 2 });
    expect(hc('proxy: { healthCheck: { unhealthyThreshold: 5 } }')).toMatchObject({ timeoutMs: 500, unhealthyThreshold: 5 });
  });

  it('tries per request default per data plane; a value in the scenario wins on either', () => {
    const tries = (yaml: string) => resolvePlan(parseScenarioText(`name: x\n${yaml}`)).proxy.retries.maxAttempts;
    expect(tries('')).toBe(3);
    // haproxy: a retry avoids only the server just tried, and a try on a stale pooled connection
    // marks nothing down, so a dead zone of k replicas can take k + 1 tries (HAPROXY_MAX_ATTEMPTS_DEFAULT)
    expect(tries('proxy: { engine: haproxy }')).toBe(6);
    expect(tries('proxy: { engine: haproxy, maxAttempts: 2 }')).toBe(2);
    expect(tries('proxy: { maxAttempts: 5 }')).toBe(5);
  });

  it('lists every problem at once, each with its field, its line and a fix', () => {
    const details = problems(
      [
        'name: Bad Name',
        'deployment:',
        '  replicas: -3',
        '  zones: [a, b]',
        'load:',
        '  rate: fast',
        '  duration: 10 minutes',
        '  conections: 10',
        'timeline:',
        '  - { at: 5s, action: explode }',
        '  - { at: 6s, action: crash-zone, zone: z }',
      ].join('\n'),
    );
    const text = details.join('\n');
    expect(text).toMatch(/bad\.yaml:1:\d+ +name:/);
    expect(text).toMatch(/bad\.yaml:3:\d+ +deployment\.replicas:/);
    expect(text).toMatch(/load\.rate: .*got "fast"/);
    expect(text).toMatch(/load\.duration: "10 minutes" is not a duration/);
    expect(text).toMatch(/load\.conections: unknown field "conections"[\s\S]*did you mean "connections"/);
    expect(text).toMatch(/timeline\[0\]\.action: action must be one of/);
    // One problem per bad field; all of them, not only the first.
    expect(details.length).toBeGreaterThanOrEqual(6);
    for (const d of details) expect(d).toMatch(/fix: /);
  });

  it('checks rules that span fields', () => {
    const details = problems(
      [
        'deployment: { zones: [a, b], strategy: { maxSurge: 0, maxUnavailable: 0 }, termination: { preStop: 5s, gracePeriod: 2s } }',
        'load: { duration: 10s, warmup: 20s }',
        'timeline:',
        '  - { at: 2s, action: crash-zone, zone: c }',
        '  - { at: 3s, action: recover-zone, zone: a }',
        '  - { at: 30s, action: rollout, version: v2 }',
      ].join('\n'),
    ).join('\n');
    expect(text(details)).toContain('maxSurge and maxUnavailable cannot both be 0');
    expect(details).toContain('gracePeriod: must be longer than preStop');
    expect(details).toContain('warm-up');
    expect(details).toContain('no zone "c"');
    expect(details).toContain('zone "a" is not down');
    expect(details).toContain('is not inside the load');
  });

  it('reports YAML syntax errors with their line', () => {
    const details = problems('load:\n  rate: 10\n   duration: 5s\n');
    expect(details[0]).toMatch(/bad\.yaml:\d+:\d+ +\(yaml\)/);
  });

  it('applies CLI overrides and rescales the timeline with --duration', () => {
    const loaded = parseScenarioText('load: { duration: 60s, warmup: 5s }\ntimeline:\n  - { at: 30s, action: rollout, version: v2 }');
    const s = applyOverrides(loaded, { durationMs: 20_000, rate: 500, noRetries: true, appFaults: ['abrupt-exit'] });
    expect(s.load.duration).toBe(20_000);
    expect(s.timeline[0]?.at).toBe(10_000);
    expect(s.load.rate).toBe(500);
    expect(s.proxy.retries).toBe(false);
    expect(s.target.appFaults).toEqual(['abrupt-exit']);
  });

  it('rejects a bad sample-app fault with the list of valid switches', () => {
    const details = problems('target: { appFaults: [explode] }').join('\n');
    expect(details).toContain('unknown sample-app fault "explode"');
    expect(details).toContain('abrupt-exit');
  });
});

describe('command line', () => {
  it.each([
    [['run', 'x.yaml', '--rate', 'abc'], '--rate abc'],
    [['run', 'x.yaml', '--duration', 'soon'], '--duration soon'],
    [['run', 'x.yaml', '--engine', 'wrk'], '--engine wrk'],
    [['run', 'x.yaml', '--runtime', 'k8s'], '--runtime k8s'],
    [['run', 'x.yaml', '--prometheus', 'maybe'], '--prometheus maybe'],
    [['frobnicate'], 'unknown command'],
    [['run', '--bogus'], 'bogus'],
  ])('%j is a usage error (exit 2) naming %s', (argv, needle) => {
    try {
      parseCli(argv);
      throw new Error('expected a usage error');
    } catch (err) {
      expect(err).toBeInstanceOf(ZerodropError);
      expect((err as ZerodropError).exitCode).toBe(2);
      expect((err as ZerodropError).format()).toContain(needle);
      expect((err as ZerodropError).fix).toBeTruthy();
    }
  });

  it('parses durations', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration(42)).toBe(42);
    expect(parseDuration('soon')).toBeNull();
    expect(parseDuration(-1)).toBeNull();
  });
});

function text(s: string): string {
  return s;
}

describe('writes and the volume (issue 16)', () => {
  it('load.writes without a volume, with autocannon, and a storage fault without a volume: each refused with its field and fix (exit 2)', () => {
    const d = problems('load: { writes: 0.2, engine: autocannon }\ntarget: { appFaults: [ack-before-fsync] }\n');
    expect(d.some((l) => l.includes('load.writes: writes need the open engine') && l.includes('fix: set load.engine: open'))).toBe(true);
    expect(d.some((l) => l.includes("load.writes: the sample-app stores writes on the Deployment's volume") && l.includes('fix: add deployment.volume'))).toBe(
      true,
    );
    expect(d.some((l) => l.includes('target.appFaults: ack-before-fsync break') && l.includes('fix: add deployment.volume'))).toBe(true);
    expect(problems('load: { writes: 1.5 }\ndeployment: { volume: {} }\n').some((l) => l.includes('load.writes'))).toBe(true);
  });

  it('resolves writes into the mix, the volume and --keep-data into the plan', () => {
    const plan = resolvePlan(parseScenarioText('load: { writes: 0.25 }\ndeployment: { volume: { perZone: true } }\n', 's.yaml'), { keepData: true });
    expect(plan.driver.requests.map((r) => [r.method, r.path, r.weight, r.keyedWrite ?? false])).toEqual([
      ['GET', '/', 0.75, false],
      ['PUT', '/kv/', 0.25, true],
    ]);
    expect(plan.volume).toEqual({ mountPath: '/data', perZone: true, keep: true });
    expect(describePlan(plan).join('\n')).toContain('state     writes 25 % (PUT /kv/<id>), read back after the load · volume at /data (one per zone), kept');
    expect(parseCli(['run', 'x.yaml', '--keep-data']).overrides?.keepData).toBe(true);
  });
});

describe('ZERODROP_DOCKER_ENDPOINT=host at plan time', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('a user image on a fixed port is refused before anything starts: ZD_BAD_USAGE, exit 2, with the fix; the sample-app plans', () => {
    vi.stubEnv('ZERODROP_DOCKER_ENDPOINT', 'host');
    const image = parseScenarioText(
      'name: x\nruntime: docker\ntarget: { image: myapp:v1, containerPort: 8080 }\nload: { rate: 10, duration: 5s, warmup: 1s }\n',
    );
    expect(() => resolvePlan(image)).toThrow(ZerodropError);
    expect(() => resolvePlan(image)).toThrow(
      expect.objectContaining({
        code: 'ZD_BAD_USAGE',
        exitCode: 2,
        message: expect.stringMatching(/ZERODROP_DOCKER_ENDPOINT=host: .*fixed port/) as unknown,
        fix: expect.stringContaining('unset ZERODROP_DOCKER_ENDPOINT') as unknown,
      }) as unknown,
    );
    const sample = resolvePlan(parseScenarioText('name: y\nruntime: docker\nload: { rate: 10, duration: 5s, warmup: 1s }\n'));
    expect(sample.deployment.template.command?.slice(0, 6)).toEqual(['--host', '{host}', '--port', '{port}', '--admin-port', '{admin-port}']);
  });
});
