/**
 * Pod sandboxes (docker-sandbox.ts) on a real engine: made by prewarm(), joined by the replicas
 * started after it, retired on exit, removed at close; and none where a joined container could
 * not be reached (published ports).
 */
import { readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { DockerRuntime } from '../../src/runtime/docker.js';
import { ensureSampleAppImage } from '../../src/runtime/docker-image.js';
import { LABELS } from '../../src/runtime/docker-reaper.js';
import { SANDBOX_ROLE_LABEL } from '../../src/runtime/docker-sandbox.js';
import { containerAddress } from '../../src/runtime/docker-inspect.js';
import { containersOfRun, httpGet, launchOf, probeEngine, removeRuns, sampleAppTemplate, testRunId, waitFor200 } from './support.js';

const engine = await probeEngine();
const docker = new Docker();
const runId = testRunId('sandbox');
const publishedRunId = testRunId('sandbox-pub');

async function sandboxesOf(run: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABELS.runId}=${run}`, `${SANDBOX_ROLE_LABEL}=sandbox`] } });
}

describe.skipIf(!engine.ok)(`docker pod sandboxes (${engine.reason})`, () => {
  beforeAll(async () => {
    await ensureSampleAppImage(docker);
  });

  afterAll(async () => {
    await removeRuns(docker, [runId, publishedRunId]);
  });

  it('a replica started after prewarm joins a waiting sandbox (its namespace, its address); killed, its address refuses; close removes every sandbox', async () => {
    const rt = new DockerRuntime({ reap: false, endpoint: 'container' });
    try {
      await rt.prepare(runId);
      await rt.start(launchOf(runId, 'web-1-a-1', sampleAppTemplate('v1'), 'a'));
      expect(await rt.prewarm(1), 'sandboxes waiting').toBe(1);
      const sandboxes = await sandboxesOf(runId);
      expect(sandboxes).toHaveLength(1);
      const sandbox = await docker.getContainer(sandboxes[0]!.Id).inspect();
      expect(sandbox.State.Running).toBe(true);
      expect(sandbox.Config.User).toBe('65534:65534');
      expect(sandbox.HostConfig.CapDrop).toEqual(['ALL']);
      expect(sandbox.HostConfig.ReadonlyRootfs).toBe(true);
      expect(sandbox.Config.Labels).toMatchObject({ [LABELS.managed]: '1', [LABELS.ownerPid]: String(process.pid) });

      const address = containerAddress(sandbox);
      const joined = await rt.start(launchOf(runId, 'web-2-b-1', sampleAppTemplate('v2'), 'b'));
      const info = await docker.getContainer(joined.containerId as string).inspect();
      expect(info.HostConfig.NetworkMode).toBe(`container:${sandbox.Id}`);
      expect(readlinkSync(`/proc/${info.State.Pid}/ns/net`), 'the replica is in the sandbox network namespace').toBe(
        readlinkSync(`/proc/${sandbox.State.Pid}/ns/net`),
      );
      expect(joined.endpoint).toEqual({ host: address, port: 8080 });
      expect(joined.adminEndpoint).toEqual({ host: address, port: 9091 });
      await waitFor200(joined.endpoint, '/readyz');
      expect((await httpGet(joined.endpoint, '/', { 'x-zerodrop-id': 'joined' })).headers['x-served-by']).toBe('web-2-b-1');

      // The pool is empty now: the next replica makes its own namespace, and the count says so.
      const own = await rt.start(launchOf(runId, 'web-2-c-2', sampleAppTemplate('v2'), 'c'));
      expect((await docker.getContainer(own.containerId as string).inspect()).HostConfig.NetworkMode).toBe('bridge');
      expect(rt.choices().find((c) => c.what === 'pod sandboxes')).toMatchObject({
        value: '1 made before the load, 1 joined by a replica, 1 replica started with its own namespace (pool empty)',
      });

      // Killed, the replica's sandbox keeps the address where nothing listens: refused at once, as a crashed process's port.
      expect((await rt.kill('web-2-b-1')).kind).toBe('killed');
      await expect(httpGet(joined.endpoint, '/readyz')).rejects.toThrow(/ECONNREFUSED/);
      expect((await sandboxesOf(runId)).map((c) => c.Id)).toEqual([sandbox.Id]);

      await rt.close(5000);
      expect(await containersOfRun(docker, runId)).toEqual([]);
    } finally {
      await rt.destroy();
    }
  });

  it('on published ports no sandbox is made (a joined container cannot publish one), and the choices say why', async () => {
    const rt = new DockerRuntime({ reap: false, endpoint: 'published' });
    try {
      await rt.prepare(publishedRunId);
      await rt.start(launchOf(publishedRunId, 'web-1-a-1', sampleAppTemplate('v1'), 'a'));
      expect(await rt.prewarm(3), 'sandboxes waiting').toBe(0);
      expect(await sandboxesOf(publishedRunId)).toEqual([]);
      expect(rt.choices().find((c) => c.what === 'pod sandboxes')).toMatchObject({
        value: 'none',
        why: expect.stringMatching(/endpoint "published": a joined container cannot publish ports/) as unknown,
      });
    } finally {
      await rt.destroy();
    }
    expect(await containersOfRun(docker, publishedRunId)).toEqual([]);
  });
});
