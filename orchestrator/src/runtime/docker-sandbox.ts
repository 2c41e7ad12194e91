/**
 * Pod sandboxes, made before the load (docs/architecture.md, "Container networks"). Kubernetes gives
 * every pod a pause container that holds its network namespace, and the app's containers join it.
 * We do the same, ahead of time: a replica started during the load joins a waiting sandbox
 * (`NetworkMode: container:<id>`) instead of having the engine make a namespace, a veth pair, a
 * bridge port and an address for it. Measured on the 2-core VM (`docker run -d` of a container that
 * only sleeps, 5 each, two rounds): 800 ms of machine CPU per container on the bridge, 340 joined;
 * its removal 197 ms against 140. That work moves out of the load window, where it competed with
 * the driver and the data plane for the same two cores.
 *
 * - A sandbox is used by one replica, once (as a pod's). When the replica exits, its sandbox is
 *   retired: it keeps the address, where nothing listens, so a connection to it is refused at once
 *   (a crashed process's port behaves the same); retired sandboxes are removed at close(), or the
 *   oldest when more than MAX_RETIRED wait, so a long session does not pile them up.
 * - Only for replicas reached on their bridge address (endpoint 'container'): a joined container
 *   cannot publish ports, and on the host's network there is no namespace to make.
 * - The pool is a speed-up only: when it is empty a replica gets its own namespace as before.
 * - Sandboxes carry the run's labels (docker-reaper.ts), so a killed harness's are reaped with its
 *   containers.
 */
import type Docker from 'dockerode';
import { errorMessage } from '../../../common/src/errors.js';
import { engineCall } from './docker-engine.js';
import { containerName } from './docker-container-spec.js';
import { containerAddress } from './docker-inspect.js';
import { PAUSE_COMMAND } from './docker-pause-image.js';
import { LABELS, ownerLabels, removeContainer, type RunOwner } from './docker-reaper.js';

/** A waiting network namespace, with the bridge address its replica will be reached on. */
export interface Sandbox {
  id: string;
  name: string;
  address: string;
}

/** Retired sandboxes kept before the oldest is removed during the run. */
const MAX_RETIRED = 32;
/** Sandboxes made at once while filling: the engine serialises much of it anyway. */
const FILL_CONCURRENCY = 2;
export const SANDBOX_ROLE_LABEL = 'zerodrop.role';

export interface SandboxPoolOptions {
  runId: string;
  owner: RunOwner;
  cgroupParent: string | null;
  log?: (line: string) => void;
}

/** What the pool did, for the report's runtime choices. */
export interface SandboxCounts {
  made: number;
  /** Replicas that joined one. */
  used: number;
  /** Replicas started while the pool was empty (their own namespace). */
  missed: number;
}

export class SandboxPool {
  private readonly idle: Sandbox[] = [];
  private readonly retired: Sandbox[] = [];
  private readonly removals = new Set<Promise<void>>();
  private readonly counts: SandboxCounts = { made: 0, used: 0, missed: 0 };
  private serial = 0;
  private inFlight = 0;
  private closed = false;

  constructor(
    private readonly docker: Docker,
    private readonly options: SandboxPoolOptions,
  ) {}

  /** Makes sandboxes until `count` wait (image: ensurePauseImage's). */
  async fill(count: number, image: string): Promise<void> {
    const worker = async (): Promise<void> => {
      while (!this.closed && this.idle.length + this.inFlight < count) {
        this.inFlight++;
        try {
          const sandbox = await this.make(image);
          if (this.closed) this.remove(sandbox);
          else this.idle.push(sandbox);
        } finally {
          this.inFlight--;
        }
      }
    };
    await Promise.all(Array.from({ length: FILL_CONCURRENCY }, worker));
  }

  /** A waiting sandbox, or null (the replica makes its own namespace). */
  take(): Sandbox | null {
    const sandbox = this.idle.shift() ?? null;
    if (sandbox) this.counts.used++;
    else this.counts.missed++;
    return sandbox;
  }

  /** Its replica exited: the address stays refused until the sandbox is removed. */
  retire(sandbox: Sandbox): void {
    this.retired.push(sandbox);
    while (this.retired.length > MAX_RETIRED) this.remove(this.retired.shift() as Sandbox);
  }

  /** Sandboxes made and not taken yet. */
  waiting(): number {
    return this.idle.length;
  }

  summary(): SandboxCounts {
    return { ...this.counts };
  }

  /** Removes every sandbox (call after the replicas that joined them have exited). */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.idle.splice(0)) this.remove(s);
    for (const s of this.retired.splice(0)) this.remove(s);
    await Promise.allSettled([...this.removals]);
  }

  private async make(image: string): Promise<Sandbox> {
    const name = containerName(this.options.runId, `sandbox-${++this.serial}`);
    const container = await engineCall(this.docker, () =>
      this.docker.createContainer({
        name,
        Image: image,
        Cmd: PAUSE_COMMAND,
        Labels: { [LABELS.managed]: '1', [LABELS.runId]: this.options.runId, [SANDBOX_ROLE_LABEL]: 'sandbox', ...ownerLabels(this.options.owner) },
        HostConfig: {
          ...(this.options.cgroupParent ? { CgroupParent: this.options.cgroupParent } : {}),
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          ReadonlyRootfs: true,
          Memory: 16 * 1024 * 1024,
          MemorySwap: 16 * 1024 * 1024,
          PidsLimit: 4,
          NetworkMode: 'bridge',
          RestartPolicy: { Name: 'no' },
          LogConfig: { Type: 'none', Config: {} },
        },
      }),
    );
    try {
      await engineCall(this.docker, () => container.start());
      const address = containerAddress(await engineCall(this.docker, () => container.inspect()));
      if (address === null) throw new Error(`sandbox ${name} has no bridge address`);
      this.counts.made++;
      return { id: container.id, name, address };
    } catch (err) {
      await removeContainer(this.docker, container.id).catch(() => undefined);
      throw err;
    }
  }

  private remove(sandbox: Sandbox): void {
    const p = removeContainer(this.docker, sandbox.id).catch((err: unknown) => {
      this.options.log?.(`docker: could not remove sandbox ${sandbox.name}: ${errorMessage(err)}`);
    });
    this.removals.add(p);
    void p.finally(() => this.removals.delete(p));
  }
}
