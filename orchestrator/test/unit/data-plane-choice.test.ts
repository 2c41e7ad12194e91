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
    expect(chooseDataPlane('auto', 'docker', {}).engine).toBe('haproxy');
    expect(chooseDataPlane('auto', 'docker', { ZERODROP_DOCKER_ENDPOINT: 'container' }).engine).toBe('haproxy');
  });

  it('on the Docker runtime behind docker-proxy (published ports): the Node proxy (zone ejection), saying so', () => {
    const c = chooseDataPlane('auto', 'docker', { ZERODROP_DOCKER_ENDPOINT: 'published' });
    expect(c.engine).toBe('node');
    expect(c.why).toContain('ZERODROP_DOCKER_ENDPOINT=published');
  });
});
