/**
 * A replica's container spec on the two networks: on the bridge the command's {host}, {port} and
 * {admin-port} become 0.0.0.0, the template's port and 9091, and those ports are exposed; on the
 * host's network (ZERODROP_DOCKER_ENDPOINT=host) they become 127.0.0.1 and ports the kernel picks,
 * nothing is exposed or published, and a container that listens on a fixed port is refused.
 */
import { describe, expect, it } from 'vitest';
import { ZerodropError } from '../../../common/src/errors.js';
import { containerSpec, type ContainerContext } from '../../src/runtime/docker-container-spec.js';
import { SAMPLE_APP_ADMIN_CONTAINER_PORT, SAMPLE_APP_CONTAINER_PORT, SAMPLE_APP_IMAGE } from '../../src/runtime/docker-image.js';
import type { PodTemplate } from '../../src/spec.js';
import type { ReplicaLaunch } from '../../src/runtime/types.js';
import { template as baseTemplate } from './support/fixtures.js';

const facts = { ref: SAMPLE_APP_IMAGE, id: 'sha256:x', exposedPorts: [SAMPLE_APP_CONTAINER_PORT, SAMPLE_APP_ADMIN_CONTAINER_PORT], user: 'node' };
const context = (network: ContainerContext['network'], publish = false): ContainerContext => ({
  baseEnv: undefined,
  owner: { pid: 1, startTime: '1', host: 'h', bootId: 'b' },
  cgroupParent: null,
  cpuShares: 0,
  publish,
  network,
});
const sampleApp = (): PodTemplate => ({
  ...baseTemplate('v1'),
  image: SAMPLE_APP_IMAGE,
  containerPort: SAMPLE_APP_CONTAINER_PORT,
  port: { mode: 'announce' },
  command: ['--host', '{host}', '--port', '{port}', '--admin-port', '{admin-port}', '--drain-delay-ms', '200'],
});
const launch = (t: PodTemplate): ReplicaLaunch => ({
  runId: 'r1',
  replicaId: 'web-1-a-1',
  deployment: 'web',
  zone: 'a',
  revision: 1,
  template: t,
  resources: { memoryMiB: 0, cpus: 0 },
});

/** The refusal: a coded usage error (exit 2) that names the variable and says how to do without it. */
const refusedHost = expect.objectContaining({
  code: 'ZD_BAD_USAGE',
  exitCode: 2,
  message: expect.stringContaining('ZERODROP_DOCKER_ENDPOINT=host') as unknown,
  fix: expect.stringContaining('unset ZERODROP_DOCKER_ENDPOINT') as unknown,
}) as unknown as ZerodropError;

describe('container spec per network', () => {
  it('bridge: the placeholders become 0.0.0.0, 8080 and 9091; both ports exposed, published on 127.0.0.1 when asked', () => {
    const { create, adminPort } = containerSpec(launch(sampleApp()), facts, context('bridge', true));
    expect(create.Cmd).toEqual(['--host', '0.0.0.0', '--port', '8080', '--admin-port', '9091', '--drain-delay-ms', '200']);
    expect(create.HostConfig?.NetworkMode).toBe('bridge');
    expect(adminPort).toBe(9091);
    expect(Object.keys(create.ExposedPorts ?? {})).toEqual(['8080/tcp', '9091/tcp']);
    expect(create.HostConfig?.PortBindings).toEqual({
      '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '0' }],
      '9091/tcp': [{ HostIp: '127.0.0.1', HostPort: '0' }],
    });
  });

  it('joined to a pod sandbox: its network mode, the bridge placeholders, nothing exposed or published (the engine refuses both)', () => {
    const { create, adminPort } = containerSpec(launch(sampleApp()), facts, { ...context('bridge', true), sandbox: 'abc123' });
    expect(create.HostConfig?.NetworkMode).toBe('container:abc123');
    expect(create.Cmd).toEqual(['--host', '0.0.0.0', '--port', '8080', '--admin-port', '9091', '--drain-delay-ms', '200']);
    expect(adminPort).toBe(9091);
    expect(create.ExposedPorts).toEqual({});
    expect(create.HostConfig?.PortBindings).toEqual({});
    // On the host's network there is no namespace to join: the sandbox is ignored.
    expect(containerSpec(launch(sampleApp()), facts, { ...context('host'), sandbox: 'abc123' }).create.HostConfig?.NetworkMode).toBe('host');
  });

  it('host: loopback and kernel-picked ports, announced; nothing exposed or published', () => {
    const { create, adminPort } = containerSpec(launch(sampleApp()), facts, context('host', true));
    expect(create.Cmd).toEqual(['--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--drain-delay-ms', '200']);
    expect(create.HostConfig?.NetworkMode).toBe('host');
    expect(adminPort).toBeNull();
    expect(create.ExposedPorts).toEqual({});
    expect(create.HostConfig?.PortBindings).toEqual({});
  });

  it('host: a container on a fixed port (port from env, the image CMD, a literal port) is ZD_BAD_USAGE with the fix (negative control)', () => {
    for (const t of [
      { ...sampleApp(), port: { mode: 'env' as const, envVar: 'PORT' } },
      { ...sampleApp(), command: null },
      { ...sampleApp(), command: ['--host', '0.0.0.0', '--port', '8080'] }, // literal: every replica's port, on every interface
    ]) {
      expect(() => containerSpec(launch(t), facts, context('host'))).toThrow(ZerodropError);
      expect(() => containerSpec(launch(t), facts, context('host'))).toThrow(refusedHost);
    }
  });
});
