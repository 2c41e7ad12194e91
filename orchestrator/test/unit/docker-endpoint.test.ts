/**
 * Endpoint mode auto decides once, on the first container, and says why; a bad
 * ZERODROP_DOCKER_ENDPOINT is a coded usage error naming the variable and the fix.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EndpointChooser, hostNetworkRefusal, tcpReachable } from '../../src/runtime/docker-endpoint.js';
import { createRuntime } from '../../src/runtime/select.js';
import { sharesToWeight } from '../../src/runtime/docker-cgroup.js';
import { ZerodropError } from '../../../common/src/errors.js';

describe('EndpointChooser', () => {
  it('auto on Linux: the bridge address when a connect reaches it, decided once for every later container', async () => {
    const asked: string[] = [];
    const chooser = new EndpointChooser('auto', (host, port) => (asked.push(`${host}:${port}`), Promise.resolve(true)), 'linux');
    expect(chooser.current()).toBeNull();
    expect(await chooser.choose('172.17.0.2', 8080)).toEqual({ use: 'container', why: expect.stringContaining('172.17.0.2:8080') as unknown });
    expect((await chooser.choose('172.17.0.3', 8080)).use).toBe('container');
    expect(asked).toEqual(['172.17.0.2:8080']);
  });

  it('auto falls back to the published port: unreachable bridge, no address, or not Linux (negative controls)', async () => {
    expect(await new EndpointChooser('auto', () => Promise.resolve(false), 'linux').choose('172.17.0.2', 8080)).toEqual({
      use: 'published',
      why: expect.stringMatching(/^auto: no TCP connect to the first container's bridge address 172\.17\.0\.2:8080/) as unknown,
    });
    expect((await new EndpointChooser('auto', () => Promise.resolve(true), 'linux').choose(null, 8080)).use).toBe('published');
    expect((await new EndpointChooser('auto', () => Promise.resolve(true), 'darwin').choose('172.17.0.2', 8080)).why).toMatch(/darwin cannot route/);
  });

  it('explicit modes are used as given, without a probe', async () => {
    const never = (): Promise<boolean> => Promise.reject(new Error('no probe expected'));
    expect((await new EndpointChooser('published', never, 'linux').choose('172.17.0.2', 8080)).use).toBe('published');
    expect((await new EndpointChooser('container', never, 'linux').choose('172.17.0.2', 8080)).use).toBe('container');
    expect(await new EndpointChooser('host', never, 'linux').choose(null, 41234)).toEqual({
      use: 'host',
      why: expect.stringContaining('ZERODROP_DOCKER_ENDPOINT=host') as unknown,
    });
  });
});

describe('tcpReachable', () => {
  it('a listening port and a refused one are both routable; a closed server is refused, not a timeout', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as { port: number }).port;
    expect(await tcpReachable('127.0.0.1', port)).toBe(true);
    await new Promise((r) => server.close(r));
    expect(await tcpReachable('127.0.0.1', port)).toBe(true); // ECONNREFUSED: the route exists
  });
});

describe('ZERODROP_DOCKER_ENDPOINT', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('a value that is no mode is ZD_BAD_USAGE naming the variable and the modes', () => {
    vi.stubEnv('ZERODROP_DOCKER_ENDPOINT', 'bridge');
    const create = (): unknown => createRuntime('docker', { runId: 'r' });
    expect(create).toThrow(ZerodropError);
    expect(create).toThrow(
      expect.objectContaining({
        code: 'ZD_BAD_USAGE',
        exitCode: 2,
        message: expect.stringContaining('ZERODROP_DOCKER_ENDPOINT=bridge') as unknown,
        fix: expect.stringContaining('auto, published, container') as unknown,
      }) as unknown,
    );
  });
});

describe('sharesToWeight', () => {
  it('maps cgroup v1 shares to v2 weights as runc does', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(40);
    expect(sharesToWeight(128)).toBe(6);
    expect(sharesToWeight(262_144)).toBe(10_000);
  });
});

describe('ZERODROP_DOCKER_ENDPOINT=host is refused at plan time where it cannot work', () => {
  const host = { ZERODROP_DOCKER_ENDPOINT: 'host' };
  const told = { port: { mode: 'announce' as const }, command: ['--host', '{host}', '--port', '{port}'] };
  const fixed = { port: { mode: 'env' as const, envVar: 'PORT' }, command: null };
  const literal = { port: { mode: 'announce' as const }, command: ['--host', '0.0.0.0', '--port', '8080'] };
  it.each([
    // runtime, template, env, platform → refused because
    ['docker', told, host, 'linux', null],
    ['docker', fixed, host, 'linux', /listens on a fixed port/],
    ['docker', literal, host, 'linux', /listens on a fixed port/],
    ['docker', told, host, 'darwin', /on darwin the engine runs in a VM/],
    ['docker', fixed, {}, 'linux', null], // not asked for
    ['process', fixed, host, 'linux', null], // not a container run
  ] as const)('%s, %o, %o on %s', (runtime, template, env, platform, why) => {
    const refusal = hostNetworkRefusal({ runtime, template }, env, platform);
    if (why === null) expect(refusal).toBeNull();
    else expect(refusal).toMatch(why);
  });
});
