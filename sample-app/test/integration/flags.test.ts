/**
 * The real binary's usage errors: exit code 2, the flag named on stderr, nothing on stdout.
 * (Every parsing rule is covered in unit/config.test.ts; this checks main.ts wires them.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { killAllSampleApps, runSampleAppToExit, startSampleApp } from '../../../test/helpers/sample-app-process.js';

afterEach(async () => {
  await killAllSampleApps();
});

describe('flag errors', () => {
  it.each([
    { args: ['--port', 'abc'], names: '--port' },
    { args: ['--port', '70000'], names: '--port' },
    { args: ['--drain-timeout-ms', '-5'], names: '--drain-timeout-ms' },
    { args: ['--drain-delay-ms', '9000', '--drain-timeout-ms', '8000'], names: '--drain-delay-ms' },
    { args: ['--warmup-ms'], names: '--warmup-ms' },
    { args: ['--bogus', '1'], names: '--bogus' },
    { args: ['--fault', 'explode'], names: 'abrupt-exit, ready-early, no-drain, ignore-sigterm' },
    { args: ['--fault', 'error-rate=2'], names: '--fault' },
    { args: ['--fault', 'ready-early'], names: '--warmup-ms' },
    { args: ['--replica', 'bad id!'], names: '--replica' },
  ])('$args → exit 2 naming $names', async ({ args, names }) => {
    const r = await runSampleAppToExit(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(names);
    expect(r.stderr).toMatch(/how to fix: /);
    expect(r.stdout).toBe('');
  });

  it('env values are checked too, and named by their variable', async () => {
    const bad = await runSampleAppToExit([], { env: { ZERODROP_FAULTS: 'no-drain,wat' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('ZERODROP_FAULTS');
    const port = await runSampleAppToExit([], { env: { PORT: 'x' } });
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('env PORT');
  });

  it('--help prints usage and exits 0', async () => {
    const r = await runSampleAppToExit(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--drain-delay-ms/);
  });

  it('a port in use is exit 1 with a clear line', async () => {
    const first = await startSampleApp([]);
    const r = await runSampleAppToExit(['--port', String(first.port)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot listen: .*EADDRINUSE.*the port is taken/);
  });

  it('env configures what flags do not, and flags win', async () => {
    const app = await startSampleApp(['--zone', 'from-flag'], { env: { ZONE: 'from-env', APP_VERSION: 'v9', REPLICA_ID: 'env-r' } });
    expect(app.listening).toMatchObject({ event: 'listening', zone: 'from-flag', version: 'v9', replica: 'env-r', adminPort: null });
    expect(app.listening?.pid).toBe(app.pid);
    expect(app.stdoutLines).toHaveLength(1);
  });
});
