/**
 * The Deployment's secrets (deployment.secrets), generated per run and never written anywhere but
 * the secret volume: a directory per generation on a tmpfs (/dev/shm when there is one), 0700, one
 * 0400 file per secret, handed to replicas as ZERODROP_SECRETS_DIR (process runtime: the host path;
 * docker: the tree is bind-mounted read-only at SECRETS_MOUNT). A rotation writes the next
 * generation with the new value and the previous one beside it (`<name>.previous`): the overlap
 * window in which both are accepted. The directory goes with the run.
 */
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { monotonicMs } from '../../../common/src/clock.js';
import { join } from 'node:path';

const SECRETS_DIR_ENV = 'ZERODROP_SECRETS_DIR';
/** Where a container sees the run's secret tree (read-only). */
export const SECRETS_MOUNT = '/run/secrets/zerodrop';
/** The secret the driver sends as `Authorization: Bearer <value>`. */
export const BEARER_SECRET = 'token';

export function secretsRoot(): string {
  const shm = '/dev/shm';
  return join(existsSync(shm) ? shm : tmpdir(), `zerodrop-${process.getuid?.() ?? 'user'}`, 'secrets');
}

export class RunSecrets {
  readonly runDir: string;
  private generation = 0;
  private readonly current = new Map<string, string>();
  /** Every value ever generated in this run (what the leak scan looks for). */
  readonly allValues: string[] = [];

  constructor(
    readonly runId: string,
    readonly names: string[],
    /** Owner of the files (the container's user, docker as root), or null for ours. */
    private readonly owner: { uid: number; gid: number } | null,
    root: string = secretsRoot(),
  ) {
    this.runDir = join(root, runId);
    mkdirSync(root, { recursive: true, mode: 0o700 });
    mkdirSync(this.runDir, { mode: 0o700 });
    if (owner) chownSync(this.runDir, owner.uid, owner.gid);
    for (const n of names) this.current.set(n, this.generate());
    this.writeGeneration(new Map());
  }

  /** The generation directory replicas are given: host path, or the path inside a container. */
  dirFor(runtime: 'process' | 'docker'): string {
    return runtime === 'docker' ? `${SECRETS_MOUNT}/g${this.generation}` : join(this.runDir, `g${this.generation}`);
  }

  value(name: string): string | undefined {
    return this.current.get(name);
  }

  /** A new value for `name`, written with the old one beside it (overlap); returns the new generation. */
  rotate(name: string): number {
    const old = this.current.get(name);
    if (old === undefined) throw new Error(`no secret ${name}`);
    this.current.set(name, this.generate());
    this.writeGeneration(new Map([[name, old]]));
    return this.generation;
  }

  remove(): void {
    rmSync(this.runDir, { recursive: true, force: true });
  }

  private generate(): string {
    const v = randomBytes(24).toString('base64url');
    this.allValues.push(v);
    return v;
  }

  private writeGeneration(previous: Map<string, string>): void {
    this.generation++;
    const dir = join(this.runDir, `g${this.generation}`);
    mkdirSync(dir, { mode: 0o700 });
    const files: [string, string][] = [...this.current, ...[...previous].map(([n, v]): [string, string] => [`${n}.previous`, v])];
    for (const [file, value] of files) {
      const path = join(dir, file);
      writeFileSync(path, value, { mode: 0o400, flag: 'wx' });
      if (this.owner) chownSync(path, this.owner.uid, this.owner.gid);
    }
    if (this.owner) chownSync(dir, this.owner.uid, this.owner.gid);
  }
}

// ---------------------------------------------------------------------------------------------
// The run's side: mounting, the driver's token, rotation, and the leak scan's evidence.
// ---------------------------------------------------------------------------------------------

/** What the runner needs of the controller and the driver for a rotation. */
export interface RotationTargets {
  rolloutTo(patch: { env: Record<string, string> }): { revision: number; done: Promise<{ outcome: string; durationMs: number; reason: string | null }> };
  readonly allReplicas: readonly { id: string; revision: number; routed: boolean; firstReadyMs: number | null; exitedMs: number | null }[];
  readonly timeline: readonly { type: string; replica?: string }[];
}

/** How long clients wait, at most, for the old replicas to leave rotation before they switch anyway. */
const SWITCH_WAIT_MS = 30_000;

export class SecretsSession {
  /** The pod template's env as last rolled out (rotations and env rollouts keep it whole). */
  private env: Record<string, string>;
  rotations = 0;

  constructor(
    readonly secrets: RunSecrets,
    private readonly runtime: 'process' | 'docker',
    templateEnv: Record<string, string>,
  ) {
    this.env = { ...templateEnv, [SECRETS_DIR_ENV]: secrets.dirFor(runtime) };
  }

  /** The first version's env: the secret's directory added. */
  templateEnv(): Record<string, string> {
    return { ...this.env };
  }

  /** Docker: the host tree and where containers see it. */
  mount(): { source: string; target: string } | undefined {
    return this.runtime === 'docker' ? { source: this.secrets.runDir, target: SECRETS_MOUNT } : undefined;
  }

  /** What the driver (and the read-back) send: the bearer token, when there is one. */
  headers(): Record<string, string> {
    const token = this.secrets.value(BEARER_SECRET);
    return token === undefined ? {} : { authorization: `Bearer ${token}` };
  }

  /** A rollout that sets env keeps the secret's directory. */
  rolloutEnv(env: Record<string, string> | undefined): Record<string, string> | undefined {
    if (env === undefined) return undefined;
    this.env = { ...env, [SECRETS_DIR_ENV]: this.secrets.dirFor(this.runtime) };
    return { ...this.env };
  }

  /**
   * rotate-secret: a new value, rolled out with the old one still accepted (the overlap window);
   * once every replica that can still be sent a request has it (the rollout complete AND the old
   * replicas out of rotation: a draining one is still routed while routing converges), the
   * clients switch to the new value (`switchClients`).
   */
  async rotate(
    name: string,
    controller: RotationTargets,
    switchClients: (headers: Record<string, string>) => void,
  ): Promise<{ outcome: string; durationMs: number; reason: string | null }> {
    this.secrets.rotate(name);
    this.rotations++;
    this.env = { ...this.env, [SECRETS_DIR_ENV]: this.secrets.dirFor(this.runtime) };
    const handle = controller.rolloutTo({ env: { ...this.env } });
    const done = await handle.done;
    const deadline = monotonicMs() + SWITCH_WAIT_MS;
    // Out of rotation = the proxy applied the removal (replica.unrouted is recorded once drainEndpoint resolved).
    const unrouted = (id: string): boolean => controller.timeline.some((e) => e.type === 'replica.unrouted' && e.replica === id);
    const reachable = (r: RotationTargets['allReplicas'][number]): boolean => r.routed || (r.firstReadyMs !== null && r.exitedMs === null && !unrouted(r.id));
    while (controller.allReplicas.some((r) => r.revision < handle.revision && reachable(r)) && monotonicMs() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (name === BEARER_SECRET) switchClients(this.headers());
    return done;
  }
}

/** Every replica's log lines, one file each under <dir>/logs/ (artifacts of the run; scanned for leaks). */
export async function saveReplicaLogs(runDir: string, replicaIds: string[], logs: (id: string) => Promise<string[]>): Promise<void> {
  const dir = join(runDir, 'logs');
  mkdirSync(dir, { recursive: true });
  for (const id of replicaIds) {
    const lines = await logs(id).catch(() => [] as string[]);
    writeFileSync(join(dir, `${id}.log`), lines.length > 0 ? `${lines.join('\n')}\n` : '');
  }
}

/** Every file under `dir` (relative names) with its bytes. */
export function filesUnder(dir: string): { name: string; bytes: Buffer }[] {
  const out: { name: string; bytes: Buffer }[] = [];
  const walk = (sub: string): void => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(join(dir, sub), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const rel = sub === '' ? e.name : `${sub}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (e.isFile()) out.push({ name: rel, bytes: readFileSync(join(dir, rel)) });
    }
  };
  walk('');
  return out;
}
