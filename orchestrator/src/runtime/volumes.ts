/**
 * The Deployment's volume (deployment.volume), with Kubernetes' semantics: it outlives every
 * replica, the next version mounts the same data, and it is removed with the run (unless kept).
 *
 *   process runtime  a host directory per run (per zone with perZone), mode 0700, handed to each
 *                    replica as ZERODROP_DATA_DIR;
 *   docker runtime   a named volume per run (per zone), labelled with the run id and its owner,
 *                    backed by that same host directory (local driver, bind), owned by the
 *                    container's user; mounted at mountPath, ZERODROP_DATA_DIR = mountPath.
 *
 * Nothing is left after a run, even a killed one: each run's directory holds an owner file (pid +
 * start time, the process registry's identity), and the next run removes the directories (and
 * the docker volumes, by label) of runs whose owner is dead.
 */
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive, processStartTime } from './process-registry.js';

/** The env var a replica finds its volume in (sample-app reads it as --data-dir). */
export const DATA_DIR_ENV = 'ZERODROP_DATA_DIR';
const OWNER_FILE = '.zerodrop-owner.json';

export interface VolumeSpec {
  /** Where a container sees the volume (docker); the process runtime uses the host directory. */
  mountPath: string;
  /** One volume per zone (a zonal persistent disk) instead of one for the Deployment. */
  perZone: boolean;
}

export function defaultVolumeRoot(): string {
  return join(tmpdir(), `zerodrop-${process.getuid?.() ?? 'user'}`, 'volumes');
}

/** Which volume a replica of `zone` mounts: "data", or "zone-<zone>" with perZone. */
export function volumeKey(spec: VolumeSpec, zone: string): string {
  return spec.perZone ? `zone-${zone}` : 'data';
}

/** What a runtime is given: the run's host volumes, and whether to keep them (--keep-data). */
export interface RunVolume {
  host: HostVolumes;
  keep: boolean;
}

/** The host side of a run's volumes: <root>/<runId>/<key>. */
export class HostVolumes {
  readonly runDir: string;
  private readonly created = new Set<string>();

  constructor(
    readonly runId: string,
    readonly spec: VolumeSpec,
    private readonly root: string = defaultVolumeRoot(),
  ) {
    this.runDir = join(root, runId);
  }

  /** Creates the run's directory (0700) with its owner file; idempotent. */
  prepare(): void {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    mkdirSync(this.runDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(this.runDir, OWNER_FILE), JSON.stringify({ runId: this.runId, pid: process.pid, startTime: processStartTime(process.pid) ?? '' }));
  }

  /**
   * The host directory of a zone's volume, created on first use (0700; owned by `owner` when
   * given and we may chown, else left to this user).
   */
  hostDir(zone: string, owner?: { uid: number; gid: number } | null): string {
    const dir = join(this.runDir, volumeKey(this.spec, zone));
    if (!this.created.has(dir)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(dir, 0o700);
      if (owner) chownSync(dir, owner.uid, owner.gid);
      this.created.add(dir);
    }
    return dir;
  }

  /** Every volume directory created so far (for the report and --keep-data). */
  dirs(): string[] {
    return [...this.created];
  }

  /** Removes the run's directory and everything in it. */
  remove(): void {
    rmSync(this.runDir, { recursive: true, force: true });
  }
}

/** Removes the volume directories of runs whose owner process is gone; returns the run ids. */
export function reapOrphanedVolumes(root: string = defaultVolumeRoot()): string[] {
  let runs: string[];
  try {
    runs = readdirSync(root);
  } catch {
    return [];
  }
  const reaped: string[] = [];
  for (const run of runs) {
    const dir = join(root, run);
    let owner: { pid?: unknown; startTime?: unknown } | null = null;
    try {
      owner = JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as { pid?: unknown; startTime?: unknown };
    } catch {
      owner = null; // no owner file: a run killed while creating it
    }
    const alive = owner !== null && typeof owner.pid === 'number' && typeof owner.startTime === 'string' && processAlive(owner.pid, owner.startTime);
    if (alive) continue;
    rmSync(dir, { recursive: true, force: true });
    reaped.push(run);
  }
  return reaped;
}

/** A numeric "uid[:gid]" user, or null (a user name: the volume directory stays ours). */
export function numericUser(user: string): { uid: number; gid: number } | null {
  const m = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!m) return null;
  const uid = Number(m[1]);
  return { uid, gid: m[2] === undefined ? uid : Number(m[2]) };
}
