import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, HelpRequested, NO_FAULTS, parseConfig, usage, type Config } from '../../src/config.js';

const parse = (argv: string[], env: Record<string, string> = {}): Config => parseConfig(argv, env, { pid: 1234, hostname: 'host-a' });

function configError(argv: string[], env: Record<string, string> = {}): ConfigError {
  try {
    parse(argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected a ConfigError for ${argv.join(' ')}`);
}

describe('parseConfig', () => {
  it('has safe defaults', () => {
    expect(parse([])).toEqual({
      port: 0,
      host: '127.0.0.1',
      adminPort: null,
      version: 'v1',
      zone: DEFAULTS.zone,
      replica: 'host-a-1234',
      warmupMs: 0,
      drainDelayMs: 1500,
      drainTimeoutMs: 8000,
      exitLingerMs: 0,
      keepAliveTimeoutMs: 5000,
      fastPath: true,
      dataDir: null,
      secretsDir: null,
      faults: { ...NO_FAULTS },
      faultSpecs: [],
    });
  });

  it('reads every flag, in both --name value and --name=value forms', () => {
    const c = parse([
      '--port',
      '8080',
      '--host=0.0.0.0',
      '--admin-port',
      '0',
      '--version=v2',
      '--zone',
      'us-east-1a',
      '--replica',
      'web-2-a-1',
      '--warmup-ms',
      '250',
      '--drain-delay-ms=100',
      '--drain-timeout-ms',
      '900',
      '--exit-linger-ms',
      '50',
      '--keep-alive-timeout-ms',
      '700',
      '--no-fast-path',
    ]);
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      adminPort: 0,
      version: 'v2',
      zone: 'us-east-1a',
      replica: 'web-2-a-1',
      warmupMs: 250,
      drainDelayMs: 100,
      drainTimeoutMs: 900,
      exitLingerMs: 50,
      keepAliveTimeoutMs: 700,
      fastPath: false,
    });
  });

  it('reads env, and flags win over env', () => {
    const env = { PORT: '9000', APP_VERSION: 'v5', ZONE: 'b', REPLICA_ID: 'r-env' };
    expect(parse([], env)).toMatchObject({ port: 9000, version: 'v5', zone: 'b', replica: 'r-env' });
    expect(parse(['--port', '1', '--version', 'v6', '--zone', 'c', '--replica', 'r-flag'], env)).toMatchObject({
      port: 1,
      version: 'v6',
      zone: 'c',
      replica: 'r-flag',
    });
    expect(parse([], { PORT: '' }).port).toBe(0); // empty env = unset
  });

  it('turns an odd hostname into a valid replica id', () => {
    const c = parseConfig([], {}, { pid: 7, hostname: 'My Host/with spaces' });
    expect(c.replica).toMatch(/^[A-Za-z0-9][A-Za-z0-9._:+-]*$/);
    expect(c.replica.endsWith('-7')).toBe(true);
  });

  it.each([
    [['--port', 'abc'], '--port', /not a whole number/],
    [['--port', '65536'], '--port', /out of range/],
    [['--port', '-1'], '--port', /not a whole number/],
    [['--admin-port', 'x'], '--admin-port', /not a whole number/],
    [['--port', '8080', '--admin-port', '8080'], '--admin-port', /equals --port/],
    [['--warmup-ms', '1.5'], '--warmup-ms', /not a whole number/],
    [['--drain-timeout-ms', '0'], '--drain-timeout-ms', /out of range/],
    [['--drain-delay-ms', '8000'], '--drain-delay-ms', /not below the drain timeout/],
    [['--drain-delay-ms', '100', '--drain-timeout-ms', '100'], '--drain-delay-ms', /not below/],
    [['--version', ''], '--version', /not a valid value/],
    [['--zone', 'a b'], '--zone', /not a valid value/],
    [['--replica', '-x'], '--replica', /not a valid value/],
    [['--host', ''], '--host', /empty host/],
    [['--nope'], '--nope', /unknown flag/],
    [['--port'], '--port', /needs a value/],
    [['--port', '--zone', 'a'], '--port', /needs a value/],
    [['stray'], 'stray', /unexpected argument/],
    [['--no-fast-path=1'], '--no-fast-path', /takes no value/],
  ] as const)('%j is an error on %s', (argv, flag, message) => {
    const err = configError([...argv]);
    expect(err.flag).toBe(flag);
    expect(err.message).toMatch(message);
    expect(err.fix.length).toBeGreaterThan(5);
    expect(err.format()).toContain(flag);
    expect(err.format()).toContain('how to fix:');
  });

  it('names the env var when an env value is wrong', () => {
    expect(configError([], { PORT: 'x' }).flag).toBe('--port (env PORT)');
    expect(configError([], { ZONE: 'no spaces please' }).flag).toBe('--zone (env ZONE)');
  });

  it('--help asks for usage', () => {
    expect(() => parse(['--port', '1', '--help'])).toThrow(HelpRequested);
    expect(usage()).toMatch(/--fault S/);
  });
});

describe('fault switches', () => {
  it('parses each switch, repeatable, and from ZERODROP_FAULTS', () => {
    expect(parse(['--fault', 'abrupt-exit']).faults.abruptExit).toBe(true);
    expect(parse(['--fault', 'no-drain']).faults.noDrain).toBe(true);
    expect(parse(['--fault', 'ignore-sigterm']).faults.ignoreSigterm).toBe(true);
    expect(parse(['--fault', 'close-idle']).faults.closeIdle).toBe(true);
    expect(parse(['--warmup-ms', '10', '--fault', 'ready-early']).faults.readyEarly).toBe(true);
    const c = parse(['--fault', 'error-rate=0.25', '--fault=slow-start=3000']);
    expect(c.faults).toMatchObject({ errorRate: 0.25, slowStartMs: 3000 });
    expect(c.faultSpecs).toEqual(['error-rate=0.25', 'slow-start=3000']);
    const e = parse(['--fault', 'slow-start=10'], { ZERODROP_FAULTS: 'error-rate=1, no-drain' });
    expect(e.faults).toMatchObject({ errorRate: 1, noDrain: true, slowStartMs: 10 });
    expect(e.faultSpecs).toEqual(['no-drain', 'error-rate=1', 'slow-start=10']);
  });

  it.each([
    ['explode', /unknown fault switch/],
    ['no-drain=1', /takes no value/],
    ['error-rate', /fraction from 0 to 1/],
    ['error-rate=', /fraction from 0 to 1/],
    ['error-rate=1.5', /fraction from 0 to 1/],
    ['error-rate=-0.1', /fraction from 0 to 1/],
    ['error-rate=abc', /fraction from 0 to 1/],
    ['slow-start', /duration in ms/],
    ['slow-start=0', /duration in ms/],
    ['slow-start=1.5', /duration in ms/],
  ])('rejects %s', (spec, message) => {
    const err = configError(['--fault', spec]);
    expect(err.flag).toBe('--fault');
    expect(err.message).toMatch(message);
  });

  it('lists the valid switches for an unknown one', () => {
    const err = configError(['--fault', 'explode']);
    for (const s of ['abrupt-exit', 'ready-early', 'no-drain', 'ignore-sigterm', 'close-idle', 'error-rate=', 'slow-start=']) {
      expect(err.fix).toContain(s);
    }
  });

  it('names ZERODROP_FAULTS when the env var holds a bad switch', () => {
    expect(configError([], { ZERODROP_FAULTS: 'no-drain,wat' }).flag).toBe('ZERODROP_FAULTS');
  });

  it('refuses two switches that both decide what SIGTERM does', () => {
    expect(configError(['--fault', 'no-drain', '--fault', 'abrupt-exit']).message).toMatch(/abrupt-exit and no-drain/);
    expect(configError(['--fault', 'ignore-sigterm'], { ZERODROP_FAULTS: 'close-idle' }).flag).toBe('--fault');
  });

  it('ready-early needs a warm-up to lie about', () => {
    const err = configError(['--fault', 'ready-early']);
    expect(err.fix).toContain('--warmup-ms');
  });
});
