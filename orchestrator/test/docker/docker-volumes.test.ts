/**
 * deployment.volume on the docker runtime: a named volume labelled with the run id, backed by the
 * run's 0700 host directory owned by the container's user; what one container wrote is there for
 * the next; the volume and its directory go with the run, and a dead run's are reaped.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { DockerRuntime } from '../../src/runtime/docker.js';
import { DockerVolumes, dockerVolumeName } from '../../src/runtime/docker-volumes.js';
import { LABELS, currentOwner, ownerLabels } from '../../src/runtime/docker-reaper.js';
import { HostVolumes, reapOrphanedVolumes } from '../../src/runtime/volumes.js';
import type { HostPort } from '../../src/runtime/types.js';
import { launchOf, probeEngine, removeRuns, sampleAppTemplate, testRunId, waitFor200 } from './support.js';

const engine = await probeEngine();
const docker = new Docker();
const runId = testRunId('volume');

function kv(target: HostPort, method: 'PUT' | 'GET', key: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: target.host, port: target.port, path: `/kv/${key}`, method, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const volumesOf = async (id: string): Promise<string[]> =>
  ((await docker.listVolumes({ filters: { label: [`${LABELS.runId}=${id}`] } })).Volumes ?? []).map((v) => v.Name);

describe('reaping volume directories of dead runs (no engine needed)', () => {
  it('removes a run directory whose owner is gone, keeps one whose owner is alive', () => {
    const root = mkdtempSync(join(tmpdir(), 'zd-volumes-'));
    const dead = join(root, 'dead-run');
    mkdirSync(dead);
    writeFileSync(join(dead, '.zerodrop-owner.json'), JSON.stringify({ runId: 'dead-run', pid: 999_999_999, startTime: '1' }));
    const live = new HostVolumes('live-run', { mountPath: '/data', perZone: false }, root);
    live.prepare();
    expect(reapOrphanedVolumes(root)).toEqual(['dead-run']);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live.runDir)).toBe(true);
  });
});

describe('host volumes (no engine needed)', () => {
  it('one 0700 directory for the Deployment, or one per zone with perZone; removed with the run', () => {
    const root = mkdtempSync(join(tmpdir(), 'zd-volumes-'));
    const shared = new HostVolumes('run-a', { mountPath: '/data', perZone: false }, root);
    shared.prepare();
    expect(shared.hostDir('a')).toBe(shared.hostDir('b'));
    expect(statSync(shared.hostDir('a')).mode & 0o777).toBe(0o700);
    const zonal = new HostVolumes('run-b', { mountPath: '/data', perZone: true }, root);
    zonal.prepare();
    expect(zonal.hostDir('a')).not.toBe(zonal.hostDir('b'));
    expect(
      zonal
        .dirs()
        .map((d) => d.slice(zonal.runDir.length + 1))
        .sort(),
    ).toEqual(['zone-a', 'zone-b']);
    zonal.remove();
    expect(existsSync(zonal.runDir)).toBe(false);
    expect(existsSync(shared.runDir)).toBe(true);
  });
});

describe.skipIf(!engine.ok)(`docker volumes (${engine.reason})`, () => {
  afterAll(async () => {
    await removeRuns(docker, [runId]);
  });

  it('a write survives its container: the next one on the same volume reads it; the volume and its directory go with the run', async () => {
    const host = new HostVolumes(runId, { mountPath: '/data', perZone: false });
    const runtime = new DockerRuntime({ volume: { host, keep: false } });
    await runtime.prepare(runId);
    try {
      const a = await runtime.start(launchOf(runId, 'web-1-a-1', sampleAppTemplate('v1'), 'a'));
      await waitFor200(a.endpoint, '/readyz');
      expect((await kv(a.endpoint, 'PUT', 'k1', 'written by a')).status).toBe(204);
      expect(await volumesOf(runId)).toEqual([dockerVolumeName(runId, 'data')]);
      const dir = join(host.runDir, 'data');
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      if (process.getuid?.() === 0) expect(statSync(dir).uid).toBe(65534);
      await runtime.kill('web-1-a-1');
      const b = await runtime.start(launchOf(runId, 'web-1-b-1', sampleAppTemplate('v2'), 'b'));
      await waitFor200(b.endpoint, '/readyz');
      expect(await kv(b.endpoint, 'GET', 'k1')).toEqual({ status: 200, body: 'written by a' });
    } finally {
      await runtime.close(2000);
    }
    expect(await volumesOf(runId)).toEqual([]);
    expect(existsSync(host.runDir)).toBe(false);
  });

  it("a dead run's volume (owner gone) is removed by the next run's reaper", async () => {
    const dead = testRunId('volume-dead');
    const name = dockerVolumeName(dead, 'data');
    await docker.createVolume({
      Name: name,
      Labels: { [LABELS.managed]: '1', [LABELS.runId]: dead, ...ownerLabels(currentOwner()), [LABELS.ownerStart]: '1' },
    });
    const live = testRunId('volume-live');
    await docker.createVolume({
      Name: dockerVolumeName(live, 'data'),
      Labels: { [LABELS.managed]: '1', [LABELS.runId]: live, ...ownerLabels(currentOwner()) },
    });
    try {
      await DockerVolumes.reapDead(docker);
      expect(await volumesOf(dead)).toEqual([]);
      expect(await volumesOf(live)).toEqual([dockerVolumeName(live, 'data')]);
    } finally {
      await docker
        .getVolume(dockerVolumeName(live, 'data'))
        .remove()
        .catch(() => undefined);
      await docker
        .getVolume(name)
        .remove()
        .catch(() => undefined);
    }
  });
});
