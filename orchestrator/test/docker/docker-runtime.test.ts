/**
 * The docker runtime on a real engine, with real containers of the sample-app image (built offline
 * from the host's node binary). Everything created is removed in afterAll, even on failure.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { ZerodropError } from '../../../common/src/errors.js';
import { DockerRuntime } from '../../src/runtime/docker.js';
import { IMAGE_NODE_PATH, SAMPLE_APP_IMAGE, ensureSampleAppImage, nodeBaseImage } from '../../src/runtime/docker-image.js';
import { LABELS } from '../../src/runtime/docker-reaper.js';
import { cgroupOf, killInitFromHost, type ContainerCgroup } from '../../src/runtime/docker-cgroup.js';
import { DEFAULT_CPU_SHARES } from '../../src/runtime/docker-priority.js';
import { createRuntime } from '../../src/runtime/select.js';
import type { ReplicaExit, StartedReplica } from '../../src/runtime/types.js';
import { connectsButHangs, containersOfRun, httpGet, launchOf, probeEngine, removeRuns, sampleAppTemplate, testRunId, waitFor200 } from './support.js';

const engine = await probeEngine();
const docker = new Docker();
const runId = testRunId('runtime');
const directRunId = testRunId('direct');
const hostRunId = testRunId('host');
const USER_IMAGE = 'zerodrop-test/user-app:v1';

describe.skipIf(!engine.ok)(`docker runtime (${engine.reason})`, () => {
  let runtime: DockerRuntime;
  const exits: ReplicaExit[] = [];
  const log: string[] = [];

  beforeAll(async () => {
    const image = await ensureSampleAppImage(docker, { log: (l) => log.push(l) });
    console.info(`[docker] ${image.image}: ${image.built ? `built in ${Math.round(image.ms)} ms` : `current (checked in ${Math.round(image.ms)} ms)`}`);
    runtime = new DockerRuntime({ endpoint: 'published', log: (l) => log.push(l) });
    await runtime.prepare(runId);
    runtime.onExit((e) => exits.push(e));
  });

  afterAll(async () => {
    await runtime?.destroy().catch(() => undefined);
    await removeRuns(docker, [runId, directRunId, hostRunId]);
    await docker
      .getImage(USER_IMAGE)
      .remove()
      .catch(() => undefined);
  });

  it('createRuntime("docker") is the docker runtime', () => {
    expect(createRuntime('docker', { runId }).name).toBe('docker');
  });

  it('starts a sample-app container, serves through the published loopback port, then stops gracefully', async () => {
    const t0 = performance.now();
    const started = await runtime.start(launchOf(runId, 'web-1-a-1', sampleAppTemplate('v1'), 'a'));
    const startMs = performance.now() - t0;
    const readyMs = startMs + (await waitFor200(started.endpoint, '/readyz'));
    console.info(`[docker] start() resolved after ${Math.round(startMs)} ms (announce seen), /readyz 200 after ${Math.round(readyMs)} ms`);

    expect(started.endpoint.host).toBe('127.0.0.1');
    expect(started.adminEndpoint?.host).toBe('127.0.0.1');
    expect(started.containerId).toMatch(/^[0-9a-f]{64}$/);

    const res = await httpGet(started.endpoint, '/', { 'x-zerodrop-id': 'req-42' });
    expect(res.status).toBe(200);
    expect(res.headers['x-served-by']).toBe('web-1-a-1');
    expect(res.headers['x-zerodrop-id']).toBe('req-42');
    expect(JSON.parse(res.body)).toMatchObject({ version: 'v1', zone: 'a' });

    const metrics = await httpGet(started.adminEndpoint as StartedReplica['endpoint'], '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/http_requests_total\{[^}]*route="\/"[^}]*\} 1/);

    const lines = await runtime.logs('web-1-a-1', 50);
    expect(lines.some((l) => l.includes('"event":"listening"'))).toBe(true);
    expect(runtime.inspect('web-1-a-1')).toMatchObject({ state: 'running', containerId: started.containerId });

    // The lockdown, as the engine reports it.
    const info = await docker.getContainer(started.containerId as string).inspect();
    expect(info.Config.User).toBe('65534:65534');
    expect(info.HostConfig.CapDrop).toEqual(['ALL']);
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.Init).toBe(true);
    expect(info.HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(info.HostConfig.Memory).toBe(128 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(0.5e9);
    expect(info.HostConfig.Tmpfs).toHaveProperty('/tmp');
    expect(info.HostConfig.PidsLimit).toBe(512);
    expect(info.HostConfig.CpuShares).toBe(DEFAULT_CPU_SHARES.booting); // not Ready yet as far as the runtime knows
    // Each container its own cgroup under the root (cgroupfs): CPU weight like one process replica.
    const facts = await runtime.engineInfo();
    expect(info.HostConfig.CgroupParent ?? '').toBe(facts.cgroupDriver === 'cgroupfs' ? '/' : '');
    for (const bindings of Object.values(info.NetworkSettings.Ports ?? {})) {
      for (const b of bindings ?? []) expect(b.HostIp).toBe('127.0.0.1');
    }
    expect(info.Config.Labels).toMatchObject({
      [LABELS.managed]: '1',
      [LABELS.runId]: runId,
      [LABELS.zone]: 'a',
      [LABELS.version]: 'v1',
      [LABELS.replica]: 'web-1-a-1',
      [LABELS.ownerPid]: String(process.pid),
    });

    const t1 = performance.now();
    const exit = await runtime.stop('web-1-a-1', { graceMs: 8000 });
    const stopMs = performance.now() - t1;
    console.info(`[docker] graceful stop took ${Math.round(stopMs)} ms (drain delay 200 ms)`);
    expect(exit).toMatchObject({ replicaId: 'web-1-a-1', kind: 'graceful', code: 0, signal: null });
    expect(stopMs).toBeLessThan(5000);
    expect(exits.find((e) => e.replicaId === 'web-1-a-1')?.kind).toBe('graceful');
    expect(runtime.inspect('web-1-a-1').state).toBe('exited');
    // Idempotent, and the container is gone once its exit was recorded.
    expect(await runtime.stop('web-1-a-1', { graceMs: 1000 })).toBe(exit);
    await expect.poll(() => containersOfRun(docker, runId).then((ids) => ids.includes(started.containerId as string)), { timeout: 5000 }).toBe(false);
    // The log tail outlives the container.
    expect((await runtime.logs('web-1-a-1', 200)).some((l) => l.includes('"event":"listening"'))).toBe(true);
  });

  it('a replica that ignores SIGTERM is SIGKILLed when the grace period ends: killed', async () => {
    const started = await runtime.start(launchOf(runId, 'web-1-b-1', sampleAppTemplate('v1', ['--fault', 'ignore-sigterm']), 'b'));
    await waitFor200(started.endpoint, '/readyz');
    const t0 = performance.now();
    const exit = await runtime.stop('web-1-b-1', { graceMs: 1200 });
    const took = performance.now() - t0;
    expect(exit.kind).toBe('killed');
    expect(exit.code).toBe(137);
    expect(exit.signal).toBe('SIGKILL');
    expect(took).toBeGreaterThanOrEqual(1150);
    expect(took).toBeLessThan(4000);
  });

  it('kill → killed at once; an exit nobody asked for → crashed', async () => {
    const a = await runtime.start(launchOf(runId, 'web-1-c-1', sampleAppTemplate('v1'), 'c'));
    const t0 = performance.now();
    const exit = await runtime.kill('web-1-c-1');
    expect(exit).toMatchObject({ kind: 'killed', code: 137, signal: 'SIGKILL' });
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(await runtime.kill('web-1-c-1')).toBe(exit);
    void a;

    const b = await runtime.start(launchOf(runId, 'web-1-c-2', sampleAppTemplate('v1'), 'c'));
    await docker.getContainer(b.containerId as string).kill({ signal: 'SIGKILL' }); // behind the runtime's back
    await expect.poll(() => exits.find((e) => e.replicaId === 'web-1-c-2')?.kind, { timeout: 5000 }).toBe('crashed');
  });

  // As root only: a user in the docker group cannot signal a container's processes, and the runtime asks the engine.
  it.skipIf(process.getuid?.() !== 0)(
    'kill sends SIGKILL from the host before it yields: the containers of a zone die at one instant, and the engine sends no kill',
    async () => {
      const ids = ['web-1-b-7', 'web-1-b-8', 'web-1-b-9'];
      const started = await Promise.all(ids.map((id) => runtime.start(launchOf(runId, id, sampleAppTemplate('v1'), 'b'))));
      const pids = await Promise.all(started.map(async (s) => (await docker.getContainer(s.containerId as string).inspect()).State.Pid));
      // Never a pid the container's own cgroup does not vouch for: another container's id is refused.
      const cg = cgroupOf(pids[0] as number);
      expect(cg).not.toBeNull();
      expect(killInitFromHost(cg as ContainerCgroup, pids[0] as number, started[1]?.containerId as string)).toBe(false);
      expect((await docker.getContainer(started[0]?.containerId as string).inspect()).State.Running).toBe(true);
      const since = Math.floor(Date.now() / 1000) - 1;
      const kills = ids.map((id) => runtime.kill(id));
      // Before any kill() yielded, every init has SIGKILL pending (bit 9 of ShdPnd) or is already dead.
      const dying = pids.map((pid) => {
        let status: string;
        try {
          status = readFileSync(`/proc/${pid}/status`, 'utf8');
        } catch {
          return 'gone';
        }
        const state = /^State:\s+(\S)/m.exec(status)?.[1];
        const pending = BigInt(`0x${/^ShdPnd:\s+([0-9a-f]+)/m.exec(status)?.[1] ?? '0'}`);
        return state === 'Z' || state === 'X' || (pending & (1n << 8n)) !== 0n ? 'dying' : `alive (${state})`;
      });
      expect(
        dying.every((d) => d === 'gone' || d === 'dying'),
        dying.join(', '),
      ).toBe(true);
      const exits = await Promise.all(kills);
      for (const exit of exits) expect(exit).toMatchObject({ kind: 'killed', code: 137, signal: 'SIGKILL' });
      // The engine saw the containers die, and was never asked to kill them.
      const stream = await docker.getEvents({
        since,
        until: Math.ceil(Date.now() / 1000) + 1,
        filters: { type: ['container'], container: started.map((s) => s.containerId as string) },
      });
      let text = '';
      for await (const chunk of stream) text += String(chunk);
      const actions = text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => (JSON.parse(l) as { Action: string }).Action);
      expect(actions.filter((a) => a === 'die')).toHaveLength(3);
      expect(actions.filter((a) => a === 'kill')).toEqual([]);
    },
  );

  it('pause freezes the replica (TCP accepts, nothing answers), resume brings it back; kill of a paused replica works', async () => {
    const started = await runtime.start(launchOf(runId, 'web-1-a-2', sampleAppTemplate('v1'), 'a'));
    await waitFor200(started.endpoint, '/readyz');
    await runtime.pause('web-1-a-2');
    expect(runtime.inspect('web-1-a-2').state).toBe('paused');
    expect((await docker.getContainer(started.containerId as string).inspect()).State.Paused).toBe(true);
    const frozen = await connectsButHangs(started.endpoint, 1000);
    expect(frozen).toEqual({ connected: true, answered: false });
    await expect(httpGet(started.endpoint, '/', {}, 800)).rejects.toThrow(/no response within 800 ms/);

    await runtime.resume('web-1-a-2');
    expect(runtime.inspect('web-1-a-2').state).toBe('running');
    expect((await httpGet(started.endpoint, '/', { 'x-zerodrop-id': 'after-resume' })).status).toBe(200);

    // A hung zone that is then crashed: SIGKILL of a frozen container must still end it.
    await runtime.pause('web-1-a-2');
    const t0 = performance.now();
    const exit = await runtime.kill('web-1-a-2');
    expect(exit.kind).toBe('killed');
    expect(performance.now() - t0).toBeLessThan(3000);
  });

  it('stop of a paused replica thaws it and drains gracefully', async () => {
    const started = await runtime.start(launchOf(runId, 'web-1-b-2', sampleAppTemplate('v1'), 'b'));
    await waitFor200(started.endpoint, '/readyz');
    await runtime.pause('web-1-b-2');
    const exit = await runtime.stop('web-1-b-2', { graceMs: 5000 });
    expect(exit.kind).toBe('graceful');
    expect(exit.code).toBe(0);
  });

  it('a container that exits before announcing fails start with the log tail', async () => {
    const template = { ...sampleAppTemplate('v1'), command: ['--port', 'not-a-number'] };
    const err = await runtime.start(launchOf(runId, 'web-1-a-3', template, 'a')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZerodropError);
    const z = err as ZerodropError;
    expect(z.code).toBe('ZD_REPLICA_START_FAILED');
    expect(z.message).toMatch(/exited before announcing its port \(exit code 2/);
    expect(z.details.join('\n')).toMatch(/--port/);
  });

  it('a replica that never announces fails start after startTimeoutMs, with the log tail', async () => {
    // The bare node base image running a script that logs but never binds or announces.
    const template = {
      ...sampleAppTemplate('v1'),
      image: nodeBaseImage(process.version),
      command: [IMAGE_NODE_PATH, '-e', 'console.error("booting, slowly"); setInterval(() => {}, 1000)'],
      startTimeoutMs: 1500,
    };
    const t0 = performance.now();
    const err = await runtime.start(launchOf(runId, 'web-1-a-4', template, 'a')).catch((e: unknown) => e);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1500);
    expect(err).toBeInstanceOf(ZerodropError);
    const z = err as ZerodropError;
    expect(z.code).toBe('ZD_REPLICA_START_FAILED');
    expect(z.message).toMatch(/did not announce its port within 1500 ms/);
    expect(z.details.join('\n')).toContain('[stderr] booting, slowly');
    // It was killed and removed, not left running.
    expect(runtime.inspect('web-1-a-4').state).toBe('exited');
  });

  it('a user image: port from template.containerPort (env PORT), no announce needed', async () => {
    await docker.getImage(SAMPLE_APP_IMAGE).tag({ repo: 'zerodrop-test/user-app', tag: 'v1' });
    const template = {
      ...sampleAppTemplate('v1'),
      image: USER_IMAGE,
      command: ['--host', '0.0.0.0', '--admin-port', '0'],
      containerPort: 3000,
      port: { mode: 'env' as const, envVar: 'PORT' },
    };
    const started = await runtime.start(launchOf(runId, 'user-1-a-1', template, 'a'));
    expect(started.adminEndpoint).toBeNull();
    await waitFor200(started.endpoint, '/readyz');
    expect((await httpGet(started.endpoint, '/')).headers['x-served-by']).toBe('user-1-a-1');
    expect((await runtime.stop('user-1-a-1', { graceMs: 5000 })).kind).toBe('graceful');
  });

  it('endpoint mode auto reaches the replica on its bridge address; boot marks, CPU at Ready, shares raised', async () => {
    const direct = new DockerRuntime({ reap: false, endpoint: 'auto' });
    try {
      await direct.prepare(directRunId);
      const started = await direct.start(launchOf(directRunId, 'web-1-b-3', sampleAppTemplate('v1'), 'b'));
      expect(direct.choices().find((c) => c.what === 'endpoint')).toMatchObject({
        value: 'container (bridge address)',
        why: expect.stringMatching(/^auto: the first container answered a TCP connect/) as unknown,
      });
      const boot = started.boot!;
      expect(boot.createdAtMs).toBeGreaterThanOrEqual(boot.calledAtMs);
      expect(boot.runningAtMs).toBeGreaterThanOrEqual(boot.createdAtMs!);
      expect(boot.listeningAtMs).toBeGreaterThanOrEqual(boot.runningAtMs);
      expect(started.endpoint.host).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(started.endpoint.host).not.toBe('127.0.0.1');
      expect(started.endpoint.port).toBe(8080);
      expect(started.adminEndpoint).toEqual({ host: started.endpoint.host, port: 9091 });
      await waitFor200(started.endpoint, '/readyz');
      expect((await httpGet(started.endpoint, '/', { 'x-zerodrop-id': 'direct' })).headers['x-zerodrop-id']).toBe('direct');
      // Ready: the boot's CPU is read off its cgroup, and it is raised to the serving weight.
      const cgroup = cgroupOf((await docker.getContainer(started.containerId as string).inspect()).State.Pid);
      const cost = await direct.becameReady('web-1-b-3');
      expect(cost?.cpuMs).toBeGreaterThan(0);
      expect(cost?.priority).toMatchObject({ ...DEFAULT_CPU_SHARES, how: cgroup ? 'cgroup-file' : 'engine-update' });
      if (cgroup?.version === 1) expect(readFileSync(`${cgroup.cpuDir}/cpu.shares`, 'utf8').trim()).toBe(String(DEFAULT_CPU_SHARES.serving));
      // The published loopback ports still exist for people and tools.
      const info = await docker.getContainer(started.containerId as string).inspect();
      expect(info.NetworkSettings.Ports['8080/tcp']?.[0]?.HostIp).toBe('127.0.0.1');
      // Once the bridge is chosen, later containers publish nothing (no iptables rules, no docker-proxy).
      const later = await direct.start(launchOf(directRunId, 'web-1-b-4', sampleAppTemplate('v1'), 'b'));
      expect(later.endpoint).toEqual({ host: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/) as unknown, port: 8080 });
      const laterInfo = await docker.getContainer(later.containerId as string).inspect();
      expect(Object.values(laterInfo.NetworkSettings.Ports ?? {}).every((b) => b === null || b.length === 0)).toBe(true);
      await waitFor200(later.endpoint, '/readyz');
      await Promise.all(['web-1-b-3', 'web-1-b-4'].map(async (id) => expect((await direct.stop(id, { graceMs: 5000 })).kind).toBe('graceful')));
    } finally {
      await direct.destroy();
    }
  });

  it('endpoint mode host: no network namespace of its own; replicas on 127.0.0.1, each on the port it announced', async () => {
    const onHost = new DockerRuntime({ reap: false, endpoint: 'host' });
    const t = {
      ...sampleAppTemplate('v1'),
      command: ['--host', '{host}', '--port', '{port}', '--admin-port', '{admin-port}', '--drain-delay-ms', '200', '--drain-timeout-ms', '3000'],
    };
    try {
      await onHost.prepare(hostRunId);
      const [a, b] = await Promise.all([onHost.start(launchOf(hostRunId, 'web-1-a-1', t, 'a')), onHost.start(launchOf(hostRunId, 'web-1-b-2', t, 'b'))]);
      expect(onHost.choices().find((c) => c.what === 'endpoint')).toMatchObject({ value: "host (the host's network, 127.0.0.1)" });
      for (const s of [a, b]) {
        expect(s.endpoint.host).toBe('127.0.0.1');
        expect(s.adminEndpoint?.host).toBe('127.0.0.1');
        expect(s.adminEndpoint?.port).not.toBe(s.endpoint.port);
      }
      expect(a.endpoint.port).not.toBe(b.endpoint.port);
      const info = await docker.getContainer(a.containerId as string).inspect();
      expect(info.HostConfig.NetworkMode).toBe('host');
      expect(readlinkSync(`/proc/${info.State.Pid}/ns/net`), 'the container is in this network namespace').toBe(readlinkSync('/proc/self/ns/net'));
      await Promise.all([waitFor200(a.endpoint, '/readyz'), waitFor200(b.endpoint, '/readyz')]);
      expect((await httpGet(a.endpoint, '/', { 'x-zerodrop-id': 'on-host' })).headers['x-zerodrop-id']).toBe('on-host');
      // Killed, its port refuses at once, as a crashed process's does; the other keeps serving.
      expect((await onHost.kill('web-1-b-2')).kind).toBe('killed');
      await expect(httpGet(b.endpoint, '/readyz')).rejects.toThrow(/ECONNREFUSED/);
      expect((await onHost.stop('web-1-a-1', { graceMs: 5000 })).kind).toBe('graceful');
    } finally {
      await onHost.destroy();
    }
  });

  it('a missing user image is ZD_IMAGE_BUILD_FAILED naming the image and the fix', async () => {
    const template = { ...sampleAppTemplate('v1'), image: 'zerodrop-test/not-here:v9', command: null, port: { mode: 'env' as const, envVar: 'PORT' } };
    const err = await runtime.start(launchOf(runId, 'user-1-a-2', template, 'a')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZerodropError);
    const z = err as ZerodropError;
    expect(z.code).toBe('ZD_IMAGE_BUILD_FAILED');
    expect(z.message).toContain('zerodrop-test/not-here:v9');
    expect(z.fix).toMatch(/docker build -t zerodrop-test\/not-here:v9 .*docker load/);
  });

  it('close stops what is left and removes every container of the run', async () => {
    await runtime.start(launchOf(runId, 'web-1-c-3', sampleAppTemplate('v1'), 'c'));
    await runtime.start(launchOf(runId, 'web-1-a-5', sampleAppTemplate('v1', ['--fault', 'ignore-sigterm']), 'a'));
    await runtime.close(1000);
    expect(runtime.liveContainers()).toEqual([]);
    expect(await containersOfRun(docker, runId)).toEqual([]);
    expect(runtime.inspect('web-1-c-3').exit?.kind).toBe('graceful');
    expect(runtime.inspect('web-1-a-5').exit?.kind).toBe('killed');
    await expect(runtime.start(launchOf(runId, 'web-1-c-4', sampleAppTemplate('v1'), 'c'))).rejects.toThrow(/closing/);
  });
});

describe.skipIf(engine.ok)('docker runtime without an engine', () => {
  it('prepare() fails with ZD_RUNTIME_UNAVAILABLE and the fix', async () => {
    const err = await new DockerRuntime().prepare('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZerodropError);
    expect((err as ZerodropError).code).toBe('ZD_RUNTIME_UNAVAILABLE');
    expect((err as ZerodropError).fix).toMatch(/apt-get install -y docker.io/);
  });
});

describe('docker runtime against a socket with no engine behind it', () => {
  it('is ZD_RUNTIME_UNAVAILABLE with the fix', async () => {
    const runtime = new DockerRuntime({ docker: new Docker({ socketPath: '/nonexistent/docker.sock' }) });
    const err = await runtime.prepare('x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZerodropError);
    const z = err as ZerodropError;
    expect(z.code).toBe('ZD_RUNTIME_UNAVAILABLE');
    expect(z.message).toMatch(/no Docker socket at \/nonexistent\/docker.sock/);
    expect(z.fix).toMatch(/apt-get install -y docker.io/);
  });
});
