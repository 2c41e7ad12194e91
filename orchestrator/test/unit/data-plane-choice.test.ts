import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chooseDataPlane } from '../../src/proxy/engines.js';
import { HAPROXY_BIN } from '../../src/proxy/haproxy/binary.js';

describe('proxy.engine: auto comes to an engine, and says why', () => {
  it('a named engine is taken as named', () => {
    expect(chooseDataPlane('node', 'process')).toEqual({ engine: 'node', why: 'engine: node' });
    expect(chooseDataPlane('haproxy', 'docker')).toEqual({ engine: 'haproxy', why: 'engine: haproxy' });
  });

  it('no usable HAProxy: the Node proxy, naming why', () => {
    const c = chooseDataPlane('auto', 'process', { ZERODROP_HAPROXY_BIN: '/nonexistent/haproxy' });
    expect(c.engine).toBe('node');
    expect(c.why).toMatch(/^auto: HAProxy not usable \(\/nonexistent\/haproxy is not installed/);
  });

  // CI=true makes HAProxy a prerequisite (test/requirements.ts): there this case always runs.
  it.skipIf(!existsSync(HAPROXY_BIN))('an installed HAProxy 2.6+: HAProxy, with its version and path', () => {
    const c = chooseDataPlane('auto', 'process', {});
    expect(c.engine).toBe('haproxy');
    expect(c.why).toMatch(new RegExp(`^auto: HAProxy 2\\.\\d+\\S* at ${HAPROXY_BIN}$`));
  });

  it.skipIf(!existsSync(HAPROXY_BIN))("on the Docker runtime: HAProxy too, on the containers' bridge address", () => {
    const linux = { platform: 'linux' as const, hasDockerBridge: () => true };
    expect(chooseDataPlane('auto', 'docker', {}, linux).engine).toBe('haproxy');
    expect(chooseDataPlane('auto', 'docker', { ZERODROP_DOCKER_ENDPOINT: 'container' }, linux).engine).toBe('haproxy');
    expect(chooseDataPlane('auto', 'docker', { ZERODROP_DOCKER_ENDPOINT: 'host' }, linux).engine).toBe('haproxy');
  });

  it('on the Docker runtime behind docker-proxy (published ports): the Node proxy (zone ejection), saying so', () => {
    const linux = { platform: 'linux' as const, hasDockerBridge: () => true };
    const c = chooseDataPlane('auto', 'docker', { ZERODROP_DOCKER_ENDPOINT: 'published' }, linux);
    expect(c.engine).toBe('node');
    expect(c.why).toContain('ZERODROP_DOCKER_ENDPOINT=published');
    // auto where the bridge cannot be reached: Docker Desktop's VM, a rootless engine (no docker0 here)
    const mac = chooseDataPlane('auto', 'docker', {}, { platform: 'darwin', hasDockerBridge: () => false });
    expect(mac).toMatchObject({ engine: 'node', why: expect.stringContaining('containers on darwin are reached through published ports') as unknown });
    const rootless = chooseDataPlane('auto', 'docker', {}, { platform: 'linux', hasDockerBridge: () => false });
    expect(rootless).toMatchObject({ engine: 'node', why: expect.stringContaining('no docker0 bridge') as unknown });
    // the bridge forced: HAProxy whatever the host looks like
    expect(chooseDataPlane('auto', 'docker', { ZERODROP_DOCKER_ENDPOINT: 'container' }, { platform: 'linux', hasDockerBridge: () => false }).engine).toBe(
      existsSync(HAPROXY_BIN) ? 'haproxy' : 'node',
    );
  });
});
