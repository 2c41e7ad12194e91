/**
 * deployment.volume on the docker runtime: one named volume per run (or per zone), labelled like
 * the containers (zerodrop=1, the run id, the owner's identity), so the reaper removes the volumes
 * of a dead run too. Each is backed by the run's host directory (local driver, bind: the data is
 * on the host's disk and fsync means what it says), owned by the container's user, mode 0700.
 */
import { chmodSync } from 'node:fs';
import type Docker from 'dockerode';
import { errorMessage } from '../../../common/src/errors.js';
import { engineStatus } from './docker-engine.js';
import { LABELS, ownerLabels, ownerState, type RunOwner } from './docker-reaper.js';
import { numericUser, reapOrphanedVolumes, volumeKey, type RunVolume } from './volumes.js';

export interface VolumeMount {
  Type: 'volume';
  Source: string;
  Target: string;
}

/** Docker volume names: [a-zA-Z0-9][a-zA-Z0-9_.-]*. Run ids already are. */
export function dockerVolumeName(runId: string, key: string): string {
  return `zerodrop-${runId}-${key}`;
}

export class DockerVolumes {
  private readonly made = new Map<string, Promise<VolumeMount>>();

  constructor(
    private readonly docker: Docker,
    private readonly volume: RunVolume,
    private readonly owner: RunOwner,
    private readonly log?: (line: string) => void,
  ) {}

  prepare(): void {
    reapOrphanedVolumes();
    this.volume.host.prepare();
  }

  /** The mount of a zone's volume, created on first use. `user` is the container's. */
  mountFor(runId: string, zone: string, user: string): Promise<VolumeMount> {
    const key = volumeKey(this.volume.host.spec, zone);
    let p = this.made.get(key);
    if (p === undefined) {
      p = this.create(runId, zone, key, user);
      this.made.set(key, p);
    }
    return p;
  }

  private async create(runId: string, zone: string, key: string, user: string): Promise<VolumeMount> {
    const asRoot = process.getuid?.() === 0;
    const owner = asRoot ? numericUser(user) : null;
    const dir = this.volume.host.hostDir(zone, owner);
    if (owner === null) {
      // We cannot hand the directory to the container's user: let it write anyway, and say so.
      chmodSync(dir, 0o777);
      this.log?.(`docker: volume ${key} is mode 0777 (${asRoot ? `container user "${user}" is not numeric` : 'not running as root: cannot chown'})`);
    }
    const name = dockerVolumeName(runId, key);
    await this.docker.createVolume({
      Name: name,
      Driver: 'local',
      DriverOpts: { type: 'none', o: 'bind', device: dir },
      Labels: { [LABELS.managed]: '1', [LABELS.runId]: runId, [LABELS.zone]: this.volume.host.spec.perZone ? zone : '', ...ownerLabels(this.owner) },
    });
    return { Type: 'volume', Source: name, Target: this.volume.host.spec.mountPath };
  }

  /** After the containers are gone: removes the run's volumes and their directory, unless kept. */
  async release(runId: string): Promise<void> {
    if (this.volume.keep) {
      this.log?.(`docker: kept the volumes of ${runId} (--keep-data): ${this.volume.host.runDir}`);
      return;
    }
    await removeVolumes(this.docker, [`${LABELS.managed}=1`, `${LABELS.runId}=${runId}`]);
    this.volume.host.remove();
  }

  /** Removes the volumes of every dead run (their containers must be gone first: reapDeadRuns). */
  static async reapDead(docker: Docker, log?: (line: string) => void): Promise<number> {
    const listed = await docker.listVolumes({ filters: { label: [`${LABELS.managed}=1`] } });
    let n = 0;
    for (const v of listed.Volumes ?? []) {
      if (ownerState(v.Labels ?? undefined) !== 'dead') continue;
      try {
        await docker.getVolume(v.Name).remove();
        n++;
      } catch (err) {
        if (engineStatus(err) !== 404) log?.(`docker: could not remove volume ${v.Name} of a dead run: ${errorMessage(err)}`);
      }
    }
    if (n > 0) log?.(`docker: removed ${n} volume(s) of dead runs`);
    reapOrphanedVolumes();
    return n;
  }
}

async function removeVolumes(docker: Docker, label: string[]): Promise<void> {
  const listed = await docker.listVolumes({ filters: { label } });
  for (const v of listed.Volumes ?? []) {
    try {
      await docker.getVolume(v.Name).remove();
    } catch (err) {
      if (engineStatus(err) !== 404) throw err;
    }
  }
}
